//! ERST record ids as the kernel makes them (Linux's scheme): wall-clock
//! seconds in the upper half, a boot-wide counter in the lower half, never
//! 0. Ids therefore sort by the time they were made, which is what the
//! store-full policy relies on: the oldest exported record goes first.

use alloc::collections::BTreeSet;
use core::sync::atomic::{AtomicU32, Ordering};

/// Wall-clock seconds `uptime_us` after a boot at `boot_unix` (RTC seconds;
/// 0 when unknown, giving seconds since boot).
pub fn wall_seconds(boot_unix: u32, uptime_us: u64) -> u64 {
    boot_unix as u64 + uptime_us / 1_000_000
}

/// The id for the `seq`-th record (counting from 1) made at `wall_secs`.
pub fn record_id(wall_secs: u64, seq: u64) -> u64 {
    (wall_secs << 32) | seq
}

/// The boot's record counter; any context may take the next id (lock-free).
pub struct RecordIds {
    seq: AtomicU32,
}

impl RecordIds {
    pub const fn new() -> Self {
        RecordIds {
            seq: AtomicU32::new(0),
        }
    }

    /// A new id for a record made at `wall_secs`.
    pub fn next(&self, wall_secs: u64) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) as u64 + 1;
        record_id(wall_secs, seq)
    }
}

impl Default for RecordIds {
    fn default() -> Self {
        Self::new()
    }
}

/// The record to clear when the store is full: the oldest of the exported
/// ones (their contents are already on the console) that `reclaimed` does
/// not hold yet; it is added there. The set itself is left alone: the
/// panic path reclaims, and removing from it could free memory.
pub fn take_oldest_exported<const N: usize>(
    exported: &BTreeSet<u64>,
    reclaimed: &mut Reclaimed<N>,
) -> Option<u64> {
    let id = exported
        .iter()
        .copied()
        .find(|id| !reclaimed.contains(*id))?;
    reclaimed.push(id).then_some(id)
}

/// Ids cleared to make room, remembered in a fixed array (at most `N`).
pub struct Reclaimed<const N: usize> {
    ids: [u64; N],
    len: usize,
}

impl<const N: usize> Reclaimed<N> {
    pub const fn new() -> Self {
        Self {
            ids: [0; N],
            len: 0,
        }
    }

    pub fn contains(&self, id: u64) -> bool {
        self.ids[..self.len].contains(&id)
    }

    /// Remembers `id`; false when full (then nothing more is reclaimed).
    fn push(&mut self, id: u64) -> bool {
        match self.ids.get_mut(self.len) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

impl<const N: usize> Default for Reclaimed<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_seconds_above_a_counter() {
        assert_eq!(wall_seconds(1_700_000_000, 2_500_000), 1_700_000_002);
        assert_eq!(wall_seconds(0, 999_999), 0);
        let ids = RecordIds::new();
        let a = ids.next(wall_seconds(1_700_000_000, 0));
        let b = ids.next(wall_seconds(1_700_000_000, 10));
        assert_eq!(a, (1_700_000_000u64 << 32) | 1);
        assert_eq!(b, (1_700_000_000u64 << 32) | 2);
        // Never 0, even with no clock at all.
        let c = ids.next(0);
        assert_eq!(c, 3);
        assert_eq!(record_id(7, 9), (7 << 32) | 9);
    }

    #[test]
    fn later_records_sort_after_earlier_ones() {
        let ids = RecordIds::default();
        let early = ids.next(100);
        let same_second = ids.next(100);
        let later = ids.next(101);
        assert!(early < same_second && same_second < later);
        // A record from a later second sorts after one of an earlier second
        // even when the counter has moved on in between (new boot).
        assert!(record_id(100, 50) < record_id(101, 1));
    }

    #[test]
    fn the_oldest_exported_record_is_reclaimed_first() {
        let exported: BTreeSet<u64> = [record_id(300, 1), record_id(100, 7), record_id(200, 2)]
            .into_iter()
            .collect();
        let mut r = Reclaimed::<8>::new();
        assert_eq!(
            take_oldest_exported(&exported, &mut r),
            Some(record_id(100, 7))
        );
        assert_eq!(
            take_oldest_exported(&exported, &mut r),
            Some(record_id(200, 2))
        );
        assert_eq!(
            take_oldest_exported(&exported, &mut r),
            Some(record_id(300, 1))
        );
        assert_eq!(take_oldest_exported(&exported, &mut r), None);
        assert_eq!(exported.len(), 3, "the set is left alone");
        let mut small = Reclaimed::<1>::new();
        assert!(take_oldest_exported(&exported, &mut small).is_some());
        assert_eq!(take_oldest_exported(&exported, &mut small), None, "full");
    }
}
