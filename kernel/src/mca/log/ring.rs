//! Per-CPU rings of machine-check records.
//!
//! Records are written from #MC, NMI, the poll timer and interrupts, which
//! can interrupt each other on one CPU, and during a rendezvous one CPU may
//! log for another. So a ring is a bounded multi-producer queue that never
//! blocks and never allocates after construction: a producer that finds it
//! full gets its record back and the drop is counted.
//!
//! The algorithm is Vyukov's bounded queue: every slot carries a sequence
//! stamp that says whose turn it is. For position `p` (counted from 0, never
//! wrapped in practice: 2^63 records) landing in slot `p % capacity`:
//!
//! - stamp `2p`: free for the producer of position `p`;
//! - stamp `2p + 1`: holds the record of position `p`, ready for the consumer;
//! - the consumer then frees it for the next lap with `2(p + capacity)`.
//!
//! Doubling keeps "ready" (odd) and "free" (even) stamps apart, so any
//! capacity works, including 1 and non-powers of two.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU64, Ordering};

struct Slot<T> {
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded lock-free ring of `T` (multi-producer; see [`RecordRing::pop`]).
pub struct RecordRing<T> {
    slots: Box<[Slot<T>]>,
    /// Next position to claim for writing.
    tail: AtomicU64,
    /// Next position to claim for reading.
    head: AtomicU64,
    pushed: AtomicU64,
    dropped: AtomicU64,
}

// SAFETY: a slot's payload is only touched by the one thread that won the
// CAS on `tail` (writer) or `head` (reader) for that position, and the stamp's
// Release store / Acquire load orders the write before the read and the read
// before the next lap's write. `T: Send` because records move between CPUs.
unsafe impl<T: Copy + Send> Sync for RecordRing<T> {}

impl<T: Copy> RecordRing<T> {
    /// A ring holding up to `capacity` records, allocated here once. A ring of
    /// capacity 0 is allowed and drops every record.
    pub fn new(capacity: usize) -> Self {
        let slots: Vec<Slot<T>> = (0..capacity as u64)
            .map(|i| Slot {
                stamp: AtomicU64::new(i.wrapping_mul(2)),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        RecordRing {
            slots: slots.into_boxed_slice(),
            tail: AtomicU64::new(0),
            head: AtomicU64::new(0),
            pushed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn slot(&self, pos: u64) -> Option<&Slot<T>> {
        let n = self.slots.len() as u64;
        if n == 0 {
            return None;
        }
        self.slots.get((pos % n) as usize)
    }

    /// Append a record. Never blocks or allocates; safe from any context,
    /// including an #MC or NMI that interrupted another `push` on this CPU.
    /// When the ring is full (or the slot is still being read), the record
    /// is handed back and counted in [`dropped`](Self::dropped).
    pub fn push(&self, value: T) -> Result<(), T> {
        let mut pos = self.tail.load(Ordering::Relaxed);
        while let Some(slot) = self.slot(pos) {
            let stamp = slot.stamp.load(Ordering::Acquire);
            let diff = stamp.wrapping_sub(pos.wrapping_mul(2)) as i64;
            if diff == 0 {
                match self.tail.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: winning the CAS for `pos` while the stamp
                        // said "free for `pos`" makes this thread the only
                        // one allowed to touch the payload until the stamp
                        // is published below.
                        unsafe { slot.value.get().write(MaybeUninit::new(value)) };
                        slot.stamp
                            .store(pos.wrapping_mul(2).wrapping_add(1), Ordering::Release);
                        self.pushed.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                // The slot still holds (or is handing out) the previous lap.
                break;
            } else {
                // Another producer took `pos`; catch up.
                pos = self.tail.load(Ordering::Relaxed);
            }
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        Err(value)
    }

    /// Take the oldest published record. Claiming goes through a CAS on the
    /// head, so concurrent consumers are safe too (each record is returned
    /// once), though the design has a single consumer in normal context.
    /// Returns `None` when empty, or when the oldest position is claimed but
    /// not yet published by an interrupted producer (it shows up later).
    pub fn pop(&self) -> Option<T> {
        let mut pos = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(pos)?;
            let stamp = slot.stamp.load(Ordering::Acquire);
            let ready = pos.wrapping_mul(2).wrapping_add(1);
            let diff = stamp.wrapping_sub(ready) as i64;
            if diff == 0 {
                match self.head.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the Acquire load saw the producer's
                        // Release of `ready`, so the payload is initialized;
                        // winning the CAS makes this the only reader, and
                        // no producer writes until the stamp is freed below.
                        let value = unsafe { slot.value.get().read().assume_init() };
                        let next = pos.wrapping_add(self.slots.len() as u64).wrapping_mul(2);
                        slot.stamp.store(next, Ordering::Release);
                        return Some(value);
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                return None;
            } else {
                pos = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Records claimed and not yet taken (a snapshot; may be stale at once).
    pub fn len(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        (tail.saturating_sub(head) as usize).min(self.capacity())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records refused because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records accepted since construction.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }
}

/// One [`RecordRing`] per CPU, drained together by the consumer.
pub struct PerCpuRings<T> {
    rings: Box<[RecordRing<T>]>,
    /// Pushes naming a CPU that has no ring.
    out_of_range: AtomicU64,
}

impl<T: Copy> PerCpuRings<T> {
    pub fn new(cpus: usize, capacity_per_cpu: usize) -> Self {
        let rings: Vec<RecordRing<T>> = (0..cpus)
            .map(|_| RecordRing::new(capacity_per_cpu))
            .collect();
        PerCpuRings {
            rings: rings.into_boxed_slice(),
            out_of_range: AtomicU64::new(0),
        }
    }

    pub fn cpus(&self) -> usize {
        self.rings.len()
    }

    pub fn ring(&self, cpu: usize) -> Option<&RecordRing<T>> {
        self.rings.get(cpu)
    }

    /// Push onto `cpu`'s ring; an unknown CPU counts as a drop.
    pub fn push(&self, cpu: usize, value: T) -> Result<(), T> {
        match self.rings.get(cpu) {
            Some(r) => r.push(value),
            None => {
                self.out_of_range.fetch_add(1, Ordering::Relaxed);
                Err(value)
            }
        }
    }

    /// Hand every queued record to `f(cpu, record)`, CPU by CPU, oldest first.
    /// At most one ring's capacity is taken per CPU per call, so a storm of
    /// new records cannot keep the consumer here forever.
    pub fn drain(&self, mut f: impl FnMut(usize, T)) {
        for (cpu, ring) in self.rings.iter().enumerate() {
            for _ in 0..ring.capacity() {
                match ring.pop() {
                    Some(v) => f(cpu, v),
                    None => break,
                }
            }
        }
    }

    /// `(cpu, dropped)` for every CPU's ring.
    pub fn dropped_per_cpu(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.rings.iter().map(RecordRing::dropped).enumerate()
    }

    /// Pushes to an unknown CPU.
    pub fn dropped_out_of_range(&self) -> u64 {
        self.out_of_range.load(Ordering::Relaxed)
    }

    /// All drops: every ring's plus those for unknown CPUs.
    pub fn total_dropped(&self) -> u64 {
        self.rings
            .iter()
            .map(RecordRing::dropped)
            .fold(self.dropped_out_of_range(), u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn fifo_single_thread() {
        let r = RecordRing::new(8);
        assert!(r.is_empty());
        for i in 0..5u32 {
            r.push(i).unwrap();
        }
        assert_eq!(r.len(), 5);
        for i in 0..5u32 {
            assert_eq!(r.pop(), Some(i));
        }
        assert_eq!(r.pop(), None);
        assert_eq!((r.pushed(), r.dropped()), (5, 0));
    }

    #[test]
    fn wraps_many_times() {
        for cap in [1usize, 2, 3, 5, 7, 8, 13] {
            let r = RecordRing::new(cap);
            let mut next_in = 0u64;
            let mut next_out = 0u64;
            for round in 0..1000u64 {
                let n = round % (cap as u64 + 1) + 1;
                for _ in 0..n {
                    if r.push(next_in).is_ok() {
                        next_in += 1;
                    }
                }
                for _ in 0..(round % 3 + 1) {
                    if let Some(v) = r.pop() {
                        assert_eq!(v, next_out);
                        next_out += 1;
                    }
                }
                assert!(r.len() <= cap);
            }
            while let Some(v) = r.pop() {
                assert_eq!(v, next_out);
                next_out += 1;
            }
            assert_eq!(next_out, next_in);
            assert_eq!(r.pushed(), next_in);
        }
    }

    #[test]
    fn full_ring_returns_record_and_counts_drops() {
        let r = RecordRing::new(3);
        for i in 0..3 {
            r.push(i).unwrap();
        }
        for i in 10..17 {
            assert_eq!(r.push(i), Err(i));
        }
        assert_eq!((r.pushed(), r.dropped(), r.len()), (3, 7, 3));
        assert_eq!(r.pop(), Some(0));
        r.push(3).unwrap();
        assert_eq!(r.push(4), Err(4));
        assert_eq!(r.dropped(), 8);
        assert_eq!(
            [r.pop(), r.pop(), r.pop(), r.pop()],
            [Some(1), Some(2), Some(3), None]
        );
    }

    #[test]
    fn capacity_one_and_zero() {
        let r = RecordRing::new(1);
        assert_eq!(r.capacity(), 1);
        r.push(7u8).unwrap();
        assert_eq!(r.push(8), Err(8));
        assert_eq!(r.pop(), Some(7));
        assert_eq!(r.pop(), None);
        r.push(9).unwrap();
        assert_eq!(r.pop(), Some(9));

        let z = RecordRing::new(0);
        assert_eq!(z.push(1u8), Err(1));
        assert_eq!((z.pop(), z.len(), z.dropped()), (None, 0, 1));
    }

    /// 4 producers × 100k into a small ring while one consumer pops: every
    /// push is accounted for, every accepted item is popped exactly once,
    /// and each producer's items come out in its order.
    fn stress(capacity: usize, consumers: usize) {
        const PRODUCERS: u64 = 4;
        const PER: u64 = 100_000;
        let ring = Arc::new(RecordRing::<u64>::new(capacity));
        let done = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let consumer_threads: Vec<_> = (0..consumers)
            .map(|_| {
                let (ring, done) = (ring.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    loop {
                        match ring.pop() {
                            Some(v) => seen.push(v),
                            None if done.load(Ordering::Acquire) => match ring.pop() {
                                Some(v) => seen.push(v),
                                None => break,
                            },
                            None => std::hint::spin_loop(),
                        }
                    }
                    seen
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (ring, accepted) = (ring.clone(), accepted.clone());
                std::thread::spawn(move || {
                    for i in 0..PER {
                        if ring.push((p << 32) | i).is_ok() {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in producers {
            t.join().unwrap();
        }
        done.store(true, Ordering::Release);
        let all: Vec<Vec<u64>> = consumer_threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let ok = accepted.load(Ordering::Relaxed);
        assert_eq!(ring.pushed(), ok);
        assert_eq!(ring.pushed() + ring.dropped(), PRODUCERS * PER);
        let mut count = 0u64;
        let mut set = std::collections::HashSet::new();
        for seen in &all {
            let mut last = [None::<u64>; PRODUCERS as usize];
            for &v in seen {
                assert!(set.insert(v), "item {v:#x} popped twice");
                let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                if consumers == 1 {
                    assert!(last[p].is_none_or(|l| l < i), "producer {p} reordered");
                }
                last[p] = Some(i);
                count += 1;
            }
        }
        assert_eq!(count, ok);
        assert!(ring.pop().is_none());
    }

    #[test]
    fn concurrent_producers_one_consumer() {
        stress(16, 1);
        stress(5, 1);
    }

    #[test]
    fn concurrent_producers_two_consumers() {
        stress(7, 2);
    }

    #[test]
    fn per_cpu_rings() {
        let rings = PerCpuRings::new(3, 2);
        assert_eq!(rings.cpus(), 3);
        rings.push(2, 20u32).unwrap();
        rings.push(0, 1).unwrap();
        rings.push(0, 2).unwrap();
        assert_eq!(rings.push(0, 3), Err(3));
        assert_eq!(rings.push(3, 30), Err(30));
        assert_eq!(rings.push(usize::MAX, 31), Err(31));
        assert_eq!(rings.ring(1).map(|r| r.capacity()), Some(2));
        assert!(rings.ring(3).is_none());
        let mut out = Vec::new();
        rings.drain(|cpu, v| out.push((cpu, v)));
        assert_eq!(out, [(0, 1), (0, 2), (2, 20)]);
        assert_eq!(
            rings.dropped_per_cpu().collect::<Vec<_>>(),
            [(0, 1), (1, 0), (2, 0)]
        );
        assert_eq!(
            (rings.dropped_out_of_range(), rings.total_dropped()),
            (2, 3)
        );
    }
}
