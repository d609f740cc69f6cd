//! What each CPU found in its banks during one #MC, kept where the panic
//! path can read it.
//!
//! A CPU copies every valid bank here as soon as it enters the handler
//! (phase 0), before it waits for anyone. When it later logs a bank it
//! takes the copy; whatever is still here when the machine goes down (the
//! CPU was waiting for its turn, or its corrected and UCNA errors were left
//! to the poller) the panic path takes and prints. Each copy is taken once,
//! by one of them, so a record is never lost to a panic that cut a CPU off
//! and never printed twice.
//!
//! Lock-free and allocation-free after construction: the owner writes only
//! from its own #MC, any CPU takes with a compare-and-swap.

use crate::mca::record::MceRecord;
use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU8, Ordering::SeqCst};

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const FOUND: u8 = 2;
const READING: u8 = 3;
const TAKEN: u8 = 4;

struct Slot {
    state: AtomicU8,
    rec: UnsafeCell<MceRecord>,
}

/// One CPU's copies, a slot per bank.
pub struct FoundBanks {
    slots: Box<[Slot]>,
}

// SAFETY: a slot's record is written only by the owner between claiming the
// slot (EMPTY/TAKEN/FOUND -> WRITING) and publishing it (-> FOUND), and read
// only by the one CPU that moved it FOUND -> READING; the state's SeqCst
// operations order those accesses.
unsafe impl Sync for FoundBanks {}

impl FoundBanks {
    pub fn new(banks: usize) -> Self {
        Self {
            slots: (0..banks)
                .map(|_| Slot {
                    state: AtomicU8::new(EMPTY),
                    rec: UnsafeCell::new(MceRecord::default()),
                })
                .collect(),
        }
    }

    pub fn banks(&self) -> usize {
        self.slots.len()
    }

    /// Owner: keeps a copy of what `rec.bank` holds. A slot being read by
    /// the panic path right now keeps its old copy (it is being printed).
    pub fn put(&self, rec: &MceRecord) {
        let Some(slot) = self.slots.get(rec.bank as usize) else {
            return;
        };
        for from in [EMPTY, TAKEN, FOUND] {
            if slot
                .state
                .compare_exchange(from, WRITING, SeqCst, SeqCst)
                .is_ok()
            {
                // SAFETY: WRITING excludes every other access (see Sync).
                unsafe { *slot.rec.get() = *rec };
                slot.state.store(FOUND, SeqCst);
                return;
            }
        }
    }

    /// Takes the copy of `bank` if nobody has; the taker logs or prints it.
    pub fn take(&self, bank: u8) -> Option<MceRecord> {
        let slot = self.slots.get(bank as usize)?;
        slot.state
            .compare_exchange(FOUND, READING, SeqCst, SeqCst)
            .ok()?;
        // SAFETY: READING excludes every other access (see Sync).
        let rec = unsafe { *slot.rec.get() };
        slot.state.store(TAKEN, SeqCst);
        Some(rec)
    }

    /// Owner, at the end of its #MC: forgets the copies nobody took (their
    /// errors stay in the banks for the poller).
    pub fn forget(&self) {
        for slot in self.slots.iter() {
            let _ = slot.state.compare_exchange(FOUND, EMPTY, SeqCst, SeqCst);
            let _ = slot.state.compare_exchange(TAKEN, EMPTY, SeqCst, SeqCst);
        }
    }

    /// Takes every copy nobody has taken, in bank order.
    pub fn take_all(&self, mut f: impl FnMut(MceRecord)) {
        for bank in 0..self.slots.len() {
            if let Some(rec) = self.take(bank as u8) {
                f(rec);
            }
        }
    }
}

/// Errors already printed, by bank and contents, so a bank shared by
/// several CPUs is printed once. Remembers the first `N`; beyond that every
/// record counts as new (printed twice rather than lost).
pub struct Seen<const N: usize> {
    keys: [(u8, u64, u64, u64, u32); N],
    len: usize,
}

impl<const N: usize> Seen<N> {
    pub const fn new() -> Self {
        Self {
            keys: [(0, 0, 0, 0, 0); N],
            len: 0,
        }
    }

    /// The CPU that first showed the same error in the same bank, if one
    /// did; otherwise remembers `rec` and returns None.
    pub fn first_cpu_with(&mut self, rec: &MceRecord) -> Option<u32> {
        let key = (rec.bank, rec.status, rec.addr, rec.misc);
        if let Some(k) = self.keys[..self.len]
            .iter()
            .find(|k| (k.0, k.1, k.2, k.3) == key && k.4 != rec.cpu)
        {
            return Some(k.4);
        }
        if self.len < N {
            self.keys[self.len] = (rec.bank, rec.status, rec.addr, rec.misc, rec.cpu);
            self.len += 1;
        }
        None
    }
}

impl<const N: usize> Default for Seen<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::vec::Vec;

    fn rec(bank: u8, status: u64) -> MceRecord {
        MceRecord {
            bank,
            status,
            ..Default::default()
        }
    }

    #[test]
    fn a_copy_is_taken_once() {
        let f = FoundBanks::new(4);
        f.put(&rec(1, 0x11));
        f.put(&rec(3, 0x33));
        assert_eq!(f.take(1).map(|r| r.status), Some(0x11));
        assert_eq!(f.take(1), None, "taken already");
        let mut rest = Vec::new();
        f.take_all(|r| rest.push(r.bank));
        assert_eq!(rest, [3]);
        f.put(&rec(9, 1)); // no such bank: ignored
        f.forget();
        assert_eq!(f.take(3), None);
        f.put(&rec(3, 0x34));
        assert_eq!(
            f.take(3).map(|r| r.status),
            Some(0x34),
            "reusable after forget"
        );
    }

    #[test]
    fn forgotten_copies_are_gone() {
        let f = FoundBanks::new(2);
        f.put(&rec(0, 5));
        f.forget();
        let mut n = 0;
        f.take_all(|_| n += 1);
        assert_eq!(n, 0);
    }

    #[test]
    fn a_shared_bank_is_seen_once() {
        let mut seen = Seen::<2>::new();
        let a = MceRecord {
            cpu: 0,
            ..rec(3, 0x55)
        };
        let b = MceRecord {
            cpu: 1,
            ..rec(3, 0x55)
        };
        let c = MceRecord {
            cpu: 1,
            ..rec(4, 0x55)
        };
        assert_eq!(seen.first_cpu_with(&a), None);
        assert_eq!(seen.first_cpu_with(&b), Some(0), "the sibling's copy");
        assert_eq!(seen.first_cpu_with(&c), None, "another bank");
        assert_eq!(
            seen.first_cpu_with(&a),
            None,
            "the same CPU twice is two records"
        );
        let d = MceRecord {
            cpu: 2,
            ..rec(7, 1)
        };
        assert_eq!(seen.first_cpu_with(&d), None, "full: new");
        assert_eq!(seen.first_cpu_with(&MceRecord { cpu: 3, ..d }), None);
    }

    #[test]
    fn racing_takers_get_each_copy_exactly_once() {
        for _ in 0..200 {
            let f = Arc::new(FoundBanks::new(8));
            for b in 0..8 {
                f.put(&rec(b, b as u64 + 1));
            }
            let got = Arc::new(AtomicUsize::new(0));
            let sum = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let (f, got, sum) = (f.clone(), got.clone(), sum.clone());
                    std::thread::spawn(move || {
                        f.take_all(|r| {
                            got.fetch_add(1, SeqCst);
                            sum.fetch_add(r.status as usize, SeqCst);
                        })
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(got.load(SeqCst), 8);
            assert_eq!(sum.load(SeqCst), (1..=8).sum::<usize>());
        }
    }
}
