//! Sets of logical CPUs, and the one limit on how many CPUs the kernel
//! manages ([`MAX_CPUS`]). Linux's `cpumask_t`: a fixed array of words, so
//! a set is `Copy`, never allocates and can be read and written from #MC
//! and NMI context ([`AtomicCpuSet`] for sets shared between CPUs).
//!
//! Pure logic, host-tested.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

/// The most CPUs this kernel manages; more are reported and left offline.
pub const MAX_CPUS: usize = 1024;

const WORDS: usize = MAX_CPUS.div_ceil(64);

/// A set of logical CPU numbers below [`MAX_CPUS`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CpuSet {
    words: [u64; WORDS],
}

impl CpuSet {
    pub const EMPTY: Self = Self { words: [0; WORDS] };

    /// The set holding only `cpu` (empty if `cpu` is out of range).
    pub fn single(cpu: u32) -> Self {
        let mut s = Self::EMPTY;
        s.insert(cpu);
        s
    }

    /// CPUs `0..n` (capped at [`MAX_CPUS`]).
    pub fn first_n(n: usize) -> Self {
        let mut s = Self::EMPTY;
        for cpu in 0..n.min(MAX_CPUS) {
            s.insert(cpu as u32);
        }
        s
    }

    /// Adds `cpu`; returns false when it is out of range.
    pub fn insert(&mut self, cpu: u32) -> bool {
        match index(cpu) {
            Some((w, bit)) => {
                self.words[w] |= bit;
                true
            }
            None => false,
        }
    }

    pub fn remove(&mut self, cpu: u32) {
        if let Some((w, bit)) = index(cpu) {
            self.words[w] &= !bit;
        }
    }

    pub fn contains(&self, cpu: u32) -> bool {
        index(cpu).is_some_and(|(w, bit)| self.words[w] & bit != 0)
    }

    pub fn count(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The lowest CPU in the set.
    pub fn first(&self) -> Option<u32> {
        self.iter().next()
    }

    pub fn union(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    pub fn intersection(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    /// The CPUs of `self` that are not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        self.zip(other, |a, b| a & !b)
    }

    /// True when every CPU of `other` is in `self`.
    pub fn is_superset(&self, other: &Self) -> bool {
        other.difference(self).is_empty()
    }

    /// The CPUs in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            (0..64u32)
                .filter(move |b| word & (1 << b) != 0)
                .map(move |b| w as u32 * 64 + b)
        })
    }

    fn zip(&self, other: &Self, f: impl Fn(u64, u64) -> u64) -> Self {
        let mut out = Self::EMPTY;
        for (i, w) in out.words.iter_mut().enumerate() {
            *w = f(self.words[i], other.words[i]);
        }
        out
    }
}

impl FromIterator<u32> for CpuSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut s = Self::EMPTY;
        for cpu in iter {
            s.insert(cpu);
        }
        s
    }
}

fn index(cpu: u32) -> Option<(usize, u64)> {
    ((cpu as usize) < MAX_CPUS).then(|| (cpu as usize / 64, 1u64 << (cpu % 64)))
}

/// `0,2-3,8-287`, or `none`: runs of consecutive CPUs as ranges, the form
/// of Linux's CPU lists (`%*pbl`, /sys/devices/system/cpu/online), so a
/// line about hundreds of CPUs stays one short line.
impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut run: Option<(u32, u32)> = None;
        let mut first = true;
        let mut put = |f: &mut fmt::Formatter<'_>, (lo, hi): (u32, u32)| {
            let sep = if first { "" } else { "," };
            first = false;
            if lo == hi {
                write!(f, "{sep}{lo}")
            } else {
                write!(f, "{sep}{lo}-{hi}")
            }
        };
        for cpu in self.iter() {
            run = match run {
                Some((lo, hi)) if cpu == hi + 1 => Some((lo, cpu)),
                Some(r) => {
                    put(f, r)?;
                    Some((cpu, cpu))
                }
                None => Some((cpu, cpu)),
            };
        }
        match run {
            Some(r) => put(f, r),
            None => f.write_str("none"),
        }
    }
}

impl fmt::Debug for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CpuSet({self})")
    }
}

/// A [`CpuSet`] that CPUs update concurrently, lock-free. Each word is
/// updated atomically; a [`load`](Self::load) of a set wider than one word
/// is not a snapshot of all words at one instant, which the users (online
/// CPUs, NMI stops, broadcast requests) do not need.
pub struct AtomicCpuSet {
    words: [AtomicU64; WORDS],
}

impl AtomicCpuSet {
    pub const fn new() -> Self {
        Self {
            words: [const { AtomicU64::new(0) }; WORDS],
        }
    }

    /// Adds `cpu`; returns whether it was already in the set.
    pub fn insert(&self, cpu: u32) -> bool {
        match index(cpu) {
            Some((w, bit)) => self.words[w].fetch_or(bit, Ordering::SeqCst) & bit != 0,
            None => false,
        }
    }

    /// Removes `cpu`; returns whether it was in the set.
    pub fn remove(&self, cpu: u32) -> bool {
        match index(cpu) {
            Some((w, bit)) => self.words[w].fetch_and(!bit, Ordering::SeqCst) & bit != 0,
            None => false,
        }
    }

    pub fn contains(&self, cpu: u32) -> bool {
        index(cpu).is_some_and(|(w, bit)| self.words[w].load(Ordering::SeqCst) & bit != 0)
    }

    /// Adds every CPU of `set`.
    pub fn insert_all(&self, set: &CpuSet) {
        for (w, &bits) in set.words.iter().enumerate() {
            if bits != 0 {
                self.words[w].fetch_or(bits, Ordering::SeqCst);
            }
        }
    }

    pub fn load(&self) -> CpuSet {
        let mut s = CpuSet::EMPTY;
        for (i, w) in s.words.iter_mut().enumerate() {
            *w = self.words[i].load(Ordering::SeqCst);
        }
        s
    }

    /// Replaces the set, word by word.
    pub fn store(&self, set: &CpuSet) {
        for (i, w) in self.words.iter().enumerate() {
            w.store(set.words[i], Ordering::SeqCst);
        }
    }

    pub fn clear(&self) {
        for w in &self.words {
            w.store(0, Ordering::SeqCst);
        }
    }
}

impl Default for AtomicCpuSet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_contains_count() {
        let mut s = CpuSet::EMPTY;
        assert!(s.is_empty());
        assert!(s.insert(0));
        assert!(s.insert(3));
        assert!(s.insert(MAX_CPUS as u32 - 1));
        assert!(!s.insert(MAX_CPUS as u32), "out of range is refused");
        assert_eq!(s.count(), 3);
        assert!(s.contains(3) && !s.contains(2));
        s.remove(3);
        assert!(!s.contains(3));
        assert_eq!(s.first(), Some(0));
    }

    #[test]
    fn set_algebra() {
        let a: CpuSet = [0, 1, 2].into_iter().collect();
        let b: CpuSet = [2, 3].into_iter().collect();
        assert_eq!(a.union(&b), [0, 1, 2, 3].into_iter().collect());
        assert_eq!(a.intersection(&b), CpuSet::single(2));
        assert_eq!(a.difference(&b), [0, 1].into_iter().collect());
        assert!(a.is_superset(&CpuSet::single(1)) && !a.is_superset(&b));
        assert_eq!(CpuSet::first_n(3), a);
    }

    #[test]
    fn display_as_the_kernel_prints_it() {
        assert_eq!(CpuSet::EMPTY.to_string(), "none");
        let s: CpuSet = [0, 2, 3].into_iter().collect();
        assert_eq!(s.to_string(), "0,2-3");
        assert_eq!(CpuSet::single(7).to_string(), "7");
        let mut many = CpuSet::first_n(288);
        many.remove(5);
        many.insert(1023);
        assert_eq!(many.to_string(), "0-4,6-287,1023");
        let odd: CpuSet = (0..9).filter(|c| c % 2 == 1).collect();
        assert_eq!(odd.to_string(), "1,3,5,7");
    }

    #[test]
    fn atomic_set_matches_plain_set() {
        let a = AtomicCpuSet::new();
        assert!(!a.insert(5));
        assert!(a.insert(5), "second insert sees it");
        a.insert_all(&[1, 7].into_iter().collect());
        assert_eq!(a.load(), [1, 5, 7].into_iter().collect());
        assert!(a.remove(5) && !a.remove(5));
        assert!(a.contains(7) && !a.contains(5));
        a.clear();
        assert!(a.load().is_empty());
    }
}
