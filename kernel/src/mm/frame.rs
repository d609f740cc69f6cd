//! The physical frame allocator.
//!
//! Free memory is a sorted list of page ranges built from the boot memory map.
//! Besides handing out frames it is where memory-error recovery ends: a frame
//! that is poisoned (uncorrected error) or offlined (too many corrected
//! errors) is taken out of circulation for good, whether it is free at the
//! time or still in use (then it is simply never taken back).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

pub const PAGE_SIZE: u64 = 4096;

/// Why a frame left circulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retired {
    /// Holds an uncorrected error (memory_failure).
    Poisoned,
    /// Crossed the corrected-error threshold (predictive offlining).
    Offlined,
}

/// What taking a frame out of circulation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetireResult {
    /// The frame was free; it is now gone from the free list.
    WasFree,
    /// The frame is in use (allocated, or never managed by this allocator:
    /// the kernel image, the heap, firmware); it will not come back when freed.
    InUse,
    /// It was already retired.
    AlreadyRetired,
}

#[derive(Default)]
pub struct FrameAllocator {
    /// Sorted, disjoint, non-empty `[start, end)` page-aligned ranges.
    free: Vec<(u64, u64)>,
    retired: BTreeSet<u64>,
    retired_kind: Vec<(u64, Retired)>,
    allocated: u64,
    managed: u64,
}

impl FrameAllocator {
    pub const fn new() -> Self {
        FrameAllocator {
            free: Vec::new(),
            retired: BTreeSet::new(),
            retired_kind: Vec::new(),
            allocated: 0,
            managed: 0,
        }
    }

    /// Adds usable memory `[start, end)`, trimmed inward to whole pages.
    pub fn add_region(&mut self, start: u64, end: u64) {
        let s = start.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let e = end / PAGE_SIZE * PAGE_SIZE;
        if s >= e {
            return;
        }
        self.managed += (e - s) / PAGE_SIZE;
        self.insert(s, e);
    }

    fn insert(&mut self, s: u64, e: u64) {
        let i = self.free.partition_point(|&(fs, _)| fs < s);
        self.free.insert(i, (s, e));
        // Merge with neighbours.
        if i + 1 < self.free.len() && self.free[i].1 >= self.free[i + 1].0 {
            self.free[i].1 = self.free[i].1.max(self.free[i + 1].1);
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].1 >= self.free[i].0 {
            self.free[i - 1].1 = self.free[i - 1].1.max(self.free[i].1);
            self.free.remove(i);
        }
    }

    /// Removes `[start, end)` from the free memory (firmware registers,
    /// tables, the AP trampoline), so it is never handed out.
    pub fn reserve(&mut self, start: u64, end: u64) {
        let s = start / PAGE_SIZE * PAGE_SIZE;
        let e = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let mut out = Vec::with_capacity(self.free.len() + 1);
        for &(fs, fe) in &self.free {
            if fe <= s || fs >= e {
                out.push((fs, fe));
                continue;
            }
            if fs < s {
                out.push((fs, s));
            }
            if fe > e {
                out.push((e, fe));
            }
        }
        self.free = out;
    }

    /// One free frame's physical address.
    pub fn alloc(&mut self) -> Option<u64> {
        self.alloc_below(u64::MAX)
    }

    /// One free frame whose address is below `limit` (e.g. 1 MiB for the AP
    /// start-up trampoline).
    pub fn alloc_below(&mut self, limit: u64) -> Option<u64> {
        let i = self
            .free
            .iter()
            .position(|&(s, _)| s + PAGE_SIZE <= limit)?;
        let (s, e) = self.free[i];
        if s + PAGE_SIZE == e {
            self.free.remove(i);
        } else {
            self.free[i].0 = s + PAGE_SIZE;
        }
        self.allocated += 1;
        Some(s)
    }

    /// Returns a frame. A retired frame is kept out (that is the point).
    pub fn free(&mut self, addr: u64) {
        let a = addr / PAGE_SIZE * PAGE_SIZE;
        self.allocated = self.allocated.saturating_sub(1);
        if self.retired.contains(&(a / PAGE_SIZE)) {
            return;
        }
        self.insert(a, a + PAGE_SIZE);
    }

    /// Takes the frame holding `addr` out of circulation for good.
    pub fn retire(&mut self, addr: u64, why: Retired) -> RetireResult {
        let pfn = addr / PAGE_SIZE;
        if !self.retired.insert(pfn) {
            return RetireResult::AlreadyRetired;
        }
        self.retired_kind.push((pfn, why));
        let a = pfn * PAGE_SIZE;
        let was_free = self.free.iter().any(|&(s, e)| s <= a && a < e);
        if was_free {
            self.reserve(a, a + PAGE_SIZE);
            RetireResult::WasFree
        } else {
            RetireResult::InUse
        }
    }

    pub fn is_retired(&self, addr: u64) -> bool {
        self.retired.contains(&(addr / PAGE_SIZE))
    }

    /// Retired frames (page frame number, reason) in the order retired.
    pub fn retired(&self) -> &[(u64, Retired)] {
        &self.retired_kind
    }

    pub fn free_frames(&self) -> u64 {
        self.free.iter().map(|&(s, e)| (e - s) / PAGE_SIZE).sum()
    }

    pub fn managed_frames(&self) -> u64 {
        self.managed
    }

    pub fn allocated_frames(&self) -> u64 {
        self.allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_trimmed_and_merged() {
        let mut f = FrameAllocator::new();
        f.add_region(0x1001, 0x5000);
        f.add_region(0x5000, 0x8000);
        assert_eq!(f.free, alloc::vec![(0x2000, 0x8000)]);
        assert_eq!(f.free_frames(), 6);
    }

    #[test]
    fn alloc_free_reserve() {
        let mut f = FrameAllocator::new();
        f.add_region(0x10_0000, 0x10_4000);
        f.add_region(0x1000, 0x3000);
        assert_eq!(f.alloc_below(0x10_0000), Some(0x1000));
        f.reserve(0x10_1000, 0x10_2000);
        let mut got = alloc::vec![];
        while let Some(a) = f.alloc() {
            got.push(a);
        }
        assert_eq!(got, alloc::vec![0x2000, 0x10_0000, 0x10_2000, 0x10_3000]);
        f.free(0x2000);
        assert_eq!(f.alloc(), Some(0x2000));
    }

    #[test]
    fn retired_frames_never_come_back() {
        let mut f = FrameAllocator::new();
        f.add_region(0, 0x4000);
        assert_eq!(f.retire(0x1234, Retired::Poisoned), RetireResult::WasFree);
        assert_eq!(
            f.retire(0x1000, Retired::Offlined),
            RetireResult::AlreadyRetired
        );
        let a = f.alloc().unwrap();
        assert_eq!(f.retire(a, Retired::Offlined), RetireResult::InUse);
        f.free(a);
        let mut all = alloc::vec![];
        while let Some(x) = f.alloc() {
            all.push(x);
        }
        assert!(!all.contains(&0x1000) && !all.contains(&a), "{all:x?}");
        assert_eq!(f.retired().len(), 2);
        assert!(f.is_retired(0x1fff));
    }
}
