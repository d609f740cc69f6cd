//! A lock-free pool of preallocated record slots, for records too large to
//! move by value through a ring (a GHES error status block can be 64 KiB).
//!
//! Producers in any context (NMI, #MC, interrupts, normal) claim a free
//! slot, fill it in place and publish it; the consumer takes the oldest
//! published slot, reads it in place and frees it. Nothing allocates after
//! construction and nobody waits: a producer that finds no free slot is told
//! so (and the refusal counted), so the caller can leave the error where the
//! firmware put it and try again later. This is the role of Linux's NMI-safe
//! `ghes_estatus_pool` with its lock-less list.
//!
//! Each slot's state word holds who may touch it:
//! `FREE` → (producer's CAS) `WRITING` → publish as `READY | seq << 2` →
//! (consumer's CAS) `READING` → `FREE`. Only the thread that won the CAS
//! into `WRITING` or `READING` touches the payload; the Release store of
//! the next state orders its accesses before the next owner's.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

const FREE: u64 = 0;
const WRITING: u64 = 1;
const READING: u64 = 2;
const READY: u64 = 3;

struct Slot<T> {
    state: AtomicU64,
    value: UnsafeCell<T>,
}

/// A fixed set of `T` slots handed between producers and a consumer.
pub struct SlotPool<T> {
    slots: Box<[Slot<T>]>,
    /// Publication order (starts at 1).
    seq: AtomicU64,
    published: AtomicU64,
    refused: AtomicU64,
}

// SAFETY: a slot's value is only touched by the one thread whose CAS moved
// its state to WRITING or READING, and the state's Release/Acquire pairs
// order those accesses; `T: Send` because values are filled on one CPU and
// read on another.
unsafe impl<T: Send> Sync for SlotPool<T> {}

impl<T> SlotPool<T> {
    /// `capacity` slots, each built by `init` (allocated here, once).
    pub fn new(capacity: usize, mut init: impl FnMut() -> T) -> Self {
        let slots: Vec<Slot<T>> = (0..capacity)
            .map(|_| Slot {
                state: AtomicU64::new(FREE),
                value: UnsafeCell::new(init()),
            })
            .collect();
        SlotPool {
            slots: slots.into_boxed_slice(),
            seq: AtomicU64::new(1),
            published: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Claims a free slot and lets `fill` write it in place. `fill` returns
    /// whether to publish the slot (otherwise it is freed at once) and a
    /// result for the caller. `None` when every slot is taken (counted in
    /// [`refused`](Self::refused)). Never blocks or allocates.
    pub fn produce<R>(&self, fill: impl FnOnce(&mut T) -> (bool, R)) -> Option<R> {
        for slot in self.slots.iter() {
            if slot
                .state
                .compare_exchange(FREE, WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS into WRITING makes this the only thread
                // allowed to touch the value until the state is stored below.
                let (publish, r) = fill(unsafe { &mut *slot.value.get() });
                if publish {
                    let seq = self.seq.fetch_add(1, Ordering::Relaxed);
                    slot.state.store(READY | (seq << 2), Ordering::Release);
                    self.published.fetch_add(1, Ordering::Relaxed);
                } else {
                    slot.state.store(FREE, Ordering::Release);
                }
                return Some(r);
            }
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Takes the oldest published slot, hands it to `read` and frees it.
    /// Returns false when none is published.
    pub fn consume(&self, read: impl FnOnce(&T)) -> bool {
        loop {
            let mut oldest: Option<(usize, u64)> = None;
            for (i, slot) in self.slots.iter().enumerate() {
                let st = slot.state.load(Ordering::Acquire);
                if st & 3 == READY && oldest.is_none_or(|(_, o)| st < o) {
                    oldest = Some((i, st));
                }
            }
            let Some((i, st)) = oldest else {
                return false;
            };
            let slot = &self.slots[i];
            if slot
                .state
                .compare_exchange(st, READING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS from the published state into READING
                // makes this the only reader; the producer's Release store
                // of that state ordered its writes before this read.
                read(unsafe { &*slot.value.get() });
                slot.state.store(FREE, Ordering::Release);
                return true;
            }
            // Another consumer took it first: look again.
        }
    }

    /// Slots published and not yet consumed (a snapshot).
    pub fn ready(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state.load(Ordering::Relaxed) & 3 == READY)
            .count()
    }

    /// Slots ever published.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Claims refused because every slot was taken.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_refusal_and_abort() {
        let p: SlotPool<[u8; 64]> = SlotPool::new(2, || [0; 64]);
        assert!(!p.consume(|_| {}));
        assert_eq!(p.produce(|v| (false, v[0] = 9)), Some(()));
        assert_eq!(p.ready(), 0, "an aborted fill publishes nothing");
        for n in [1u8, 2] {
            assert_eq!(
                p.produce(|v| {
                    v[0] = n;
                    (true, n)
                }),
                Some(n)
            );
        }
        assert_eq!(p.produce(|_| (true, ())), None);
        assert_eq!(p.refused(), 1);
        let mut got = Vec::new();
        while p.consume(|v| got.push(v[0])) {}
        assert_eq!(got, [1, 2]);
        // Slots are reused in publication order, whichever slot they sit in.
        for n in [3u8, 4, 5] {
            p.produce(|v| (true, v[0] = n));
            if n == 4 {
                assert!(p.consume(|v| assert_eq!(v[0], 3)));
            }
        }
        let mut got = Vec::new();
        while p.consume(|v| got.push(v[0])) {}
        assert_eq!(got, [4, 5]);
        assert_eq!(p.published(), 5);
    }

    #[test]
    fn empty_pool_refuses_everything() {
        let p: SlotPool<u8> = SlotPool::new(0, || 0);
        assert_eq!(p.produce(|_| (true, ())), None);
        assert!(!p.consume(|_| {}));
    }

    /// Producers on several threads, one consumer: every published value
    /// arrives exactly once, whole, and refusals are the only losses.
    #[test]
    fn concurrent_producers_lose_nothing_silently() {
        let p = Arc::new(SlotPool::new(4, || [0u64; 16]));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    let mut sent = 0;
                    for i in 0..2000u64 {
                        let v = (t << 32) | i;
                        if p.produce(|s| (true, s.fill(v))).is_some() {
                            sent += 1;
                        }
                    }
                    sent
                })
            })
            .collect();
        let mut got = std::collections::BTreeSet::new();
        let mut done = false;
        while !done {
            done = threads.iter().all(|t| t.is_finished());
            while p.consume(|s| {
                assert!(s.iter().all(|&w| w == s[0]), "torn slot");
                assert!(got.insert(s[0]), "duplicate");
            }) {}
        }
        let sent: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(got.len() as u64, sent);
        assert_eq!(sent + p.refused(), 8000);
    }
}
