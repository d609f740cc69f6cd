//! Corrected-error collector for predictive failure analysis.
//!
//! A memory page that keeps producing corrected errors is likely to produce an
//! uncorrected one soon; taking it offline while its data can still be moved
//! is cheap. Like mcelog's "N errors per 24 h" page trigger (and Linux's
//! `cec`, which counts per page frame in a bounded array), each page frame
//! number gets a counter:
//!
//! - A page's window opens at its first error; errors count while
//!   `now - window_start < window_us`. The first error at or after the end of
//!   the window starts a new window with a count of 1. So a page is offlined
//!   only if `threshold` errors fall within one `window_us`.
//! - [`ErrorCollector::decay`] drops every page whose window has ended, which
//!   frees table slots (run it periodically, e.g. hourly).
//! - The table has a fixed capacity. When it is full, a new page evicts the
//!   entry with the lowest count (on equal counts, the one seen least
//!   recently): it is the least likely to reach the threshold.
//! - A page that crosses the threshold is reported once, removed from the
//!   table and remembered in a list of offlined pages (same capacity); later
//!   errors on it answer `AlreadyOffline`.
//!
//! All memory is reserved in `new`; `add` and `decay` never allocate.

use alloc::vec::Vec;

/// What one corrected error on a page led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Counted; `count` errors in the page's current window.
    Counted { count: u32 },
    /// The page just crossed the threshold: offline it (soft offline).
    Offline { pfn: u64, count: u32 },
    /// The page was reported for offlining before.
    AlreadyOffline,
}

/// Counters for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CollectorStats {
    /// Pages currently counted.
    pub tracked: usize,
    /// Errors seen, all pages.
    pub errors: u64,
    /// Entries pushed out of a full table.
    pub evictions: u64,
    /// Entries dropped because their window ended.
    pub expired: u64,
    /// Pages reported for offlining.
    pub offlines: u64,
    /// Offline reports that did not fit the offlined list (the page may be
    /// reported again later).
    pub offline_list_full: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    pfn: u64,
    count: u32,
    window_start_us: u64,
    last_us: u64,
}

/// Counts corrected errors per 4 KiB page frame.
pub struct ErrorCollector {
    /// Sorted by `pfn`, never longer than its reserved capacity.
    table: Vec<Entry>,
    /// Sorted offlined page frame numbers.
    offlined: Vec<u64>,
    capacity: usize,
    threshold: u32,
    window_us: u64,
    stats: CollectorStats,
}

impl ErrorCollector {
    /// A collector that tracks up to `capacity` pages (at least 1) and
    /// reports a page once it has `threshold` errors (at least 1) within
    /// `window_us`.
    pub fn new(capacity: usize, threshold: u32, window_us: u64) -> Self {
        let capacity = capacity.max(1);
        Self {
            table: Vec::with_capacity(capacity),
            offlined: Vec::with_capacity(capacity),
            capacity,
            threshold: threshold.max(1),
            window_us,
            stats: CollectorStats::default(),
        }
    }

    /// Counts one corrected error on page frame `pfn` at `now_us`.
    pub fn add(&mut self, pfn: u64, now_us: u64) -> Verdict {
        self.stats.errors += 1;
        if self.offlined.binary_search(&pfn).is_ok() {
            return Verdict::AlreadyOffline;
        }
        let idx = match self.table.binary_search_by_key(&pfn, |e| e.pfn) {
            Ok(i) => {
                let e = &mut self.table[i];
                if now_us.saturating_sub(e.window_start_us) >= self.window_us {
                    e.count = 0;
                    e.window_start_us = now_us;
                }
                e.count = e.count.saturating_add(1);
                e.last_us = now_us;
                i
            }
            Err(mut i) => {
                if self.table.len() >= self.capacity {
                    let victim = self.victim();
                    self.table.remove(victim);
                    self.stats.evictions += 1;
                    if victim < i {
                        i -= 1;
                    }
                }
                self.table.insert(
                    i,
                    Entry {
                        pfn,
                        count: 1,
                        window_start_us: now_us,
                        last_us: now_us,
                    },
                );
                i
            }
        };

        let count = self.table[idx].count;
        if count < self.threshold {
            return Verdict::Counted { count };
        }
        self.table.remove(idx);
        self.stats.offlines += 1;
        match self.offlined.binary_search(&pfn) {
            Err(at) if self.offlined.len() < self.capacity => self.offlined.insert(at, pfn),
            _ => self.stats.offline_list_full += 1,
        }
        Verdict::Offline { pfn, count }
    }

    /// The entry to push out of a full table.
    fn victim(&self) -> usize {
        self.table
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| (e.count, e.last_us))
            .map_or(0, |(i, _)| i)
    }

    /// Drops every page whose window has ended by `now_us`; their next error
    /// would start from 1 anyway. Returns how many were dropped.
    pub fn decay(&mut self, now_us: u64) -> usize {
        let before = self.table.len();
        let window = self.window_us;
        self.table
            .retain(|e| now_us.saturating_sub(e.window_start_us) < window);
        let dropped = before - self.table.len();
        self.stats.expired += dropped as u64;
        dropped
    }

    /// Errors counted for `pfn` in its current window (0 when not tracked).
    pub fn count(&self, pfn: u64) -> u32 {
        self.table
            .binary_search_by_key(&pfn, |e| e.pfn)
            .map_or(0, |i| self.table[i].count)
    }

    /// Pages reported for offlining, in ascending order.
    pub fn offlined(&self) -> impl Iterator<Item = u64> + '_ {
        self.offlined.iter().copied()
    }

    pub fn stats(&self) -> CollectorStats {
        CollectorStats {
            tracked: self.table.len(),
            ..self.stats
        }
    }

    pub const fn capacity(&self) -> usize {
        self.capacity
    }
    pub const fn threshold(&self) -> u32 {
        self.threshold
    }
    pub const fn window_us(&self) -> u64 {
        self.window_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const HOUR: u64 = 3_600_000_000;
    const DAY: u64 = 24 * HOUR;

    #[test]
    fn crossing_the_threshold_offlines_once() {
        let mut c = ErrorCollector::new(16, 3, DAY);
        assert_eq!(c.add(0x1234, 0), Verdict::Counted { count: 1 });
        assert_eq!(c.add(0x1234, HOUR), Verdict::Counted { count: 2 });
        assert_eq!(c.add(0x9999, HOUR), Verdict::Counted { count: 1 });
        assert_eq!(
            c.add(0x1234, 2 * HOUR),
            Verdict::Offline {
                pfn: 0x1234,
                count: 3
            }
        );
        for i in 0..10 {
            assert_eq!(c.add(0x1234, 3 * HOUR + i), Verdict::AlreadyOffline);
        }
        assert_eq!(c.offlined().collect::<Vec<_>>(), [0x1234]);
        let s = c.stats();
        assert_eq!((s.offlines, s.tracked, s.errors), (1, 1, 14));
        assert_eq!(c.count(0x1234), 0);
    }

    #[test]
    fn errors_spread_wider_than_the_window_never_offline() {
        let mut c = ErrorCollector::new(16, 2, DAY);
        // mcelog's "2 per 24 h": one error a day, for a year.
        for d in 0..365 {
            assert_eq!(c.add(42, d * DAY), Verdict::Counted { count: 1 });
        }
        // 10 per day against a threshold of 11, spread evenly.
        let mut c = ErrorCollector::new(16, 11, DAY);
        for i in 0..1000u64 {
            let v = c.add(7, i * (DAY / 10));
            assert!(
                matches!(v, Verdict::Counted { count } if count <= 10),
                "{v:?}"
            );
        }
        assert_eq!(c.offlined().count(), 0);
        // The same errors packed into one window do offline.
        let mut c = ErrorCollector::new(16, 11, DAY);
        let offline = (0..11u64).filter(|i| matches!(c.add(7, i * HOUR), Verdict::Offline { .. }));
        assert_eq!(offline.count(), 1);
    }

    #[test]
    fn decay_drops_expired_pages() {
        let mut c = ErrorCollector::new(16, 5, DAY);
        c.add(1, 0);
        c.add(1, HOUR);
        c.add(2, 12 * HOUR);
        assert_eq!(c.decay(DAY - 1), 0);
        assert_eq!(c.decay(DAY), 1);
        assert_eq!(c.count(1), 0);
        assert_eq!(c.count(2), 1);
        assert_eq!(c.decay(DAY + 12 * HOUR), 1);
        let s = c.stats();
        assert_eq!((s.tracked, s.expired), (0, 2));
        // After decay the page starts from 1 again.
        assert_eq!(c.add(1, 2 * DAY), Verdict::Counted { count: 1 });
    }

    #[test]
    fn full_table_evicts_lowest_then_oldest() {
        let mut c = ErrorCollector::new(3, 100, DAY);
        c.add(10, 0);
        c.add(10, 1);
        c.add(20, 2);
        c.add(30, 3);
        c.add(30, 4);
        // 20 has the lowest count.
        c.add(40, 5);
        assert_eq!(c.count(20), 0);
        assert_eq!((c.count(10), c.count(30), c.count(40)), (2, 2, 1));
        // Now 40 is lowest; then among equal counts 10 (older) before 30.
        c.add(50, 6);
        assert_eq!(c.count(40), 0);
        c.add(50, 7);
        c.add(60, 8);
        assert_eq!(c.count(10), 0);
        assert_eq!((c.count(30), c.count(50), c.count(60)), (2, 2, 1));
        let s = c.stats();
        assert_eq!((s.evictions, s.tracked), (3, 3));
    }

    #[test]
    fn many_pages_stay_bounded() {
        let cap = 512;
        let mut c = ErrorCollector::new(cap, 4, DAY);
        let mut offline = Vec::new();
        // 4096 pages with one error each, and a few hot pages hit repeatedly.
        for i in 0..4096u64 {
            c.add(0x10_0000 + i * 7919 % 4096, i);
            for hot in [3u64, 0xdead, 0xbeef] {
                if i.is_multiple_of(64) {
                    if let Verdict::Offline { pfn, .. } = c.add(hot, i) {
                        offline.push(pfn);
                    }
                }
            }
            assert!(c.stats().tracked <= cap);
        }
        offline.sort();
        assert_eq!(offline, [3, 0xbeef, 0xdead]);
        assert_eq!(c.offlined().collect::<Vec<_>>(), offline);
        let s = c.stats();
        assert_eq!(s.tracked, cap);
        assert_eq!(s.offlines, 3);
        assert!(s.evictions >= 4096 - cap as u64);
        assert_eq!(c.table.capacity(), cap);
    }

    #[test]
    fn degenerate_parameters_do_not_panic() {
        let mut c = ErrorCollector::new(0, 0, 0);
        assert_eq!((c.capacity(), c.threshold()), (1, 1));
        assert!(matches!(c.add(1, 0), Verdict::Offline { pfn: 1, count: 1 }));
        assert!(matches!(c.add(2, 0), Verdict::Offline { pfn: 2, count: 1 }));
        // The offlined list is full: page 2 was not remembered.
        assert!(matches!(c.add(2, 0), Verdict::Offline { pfn: 2, count: 1 }));
        assert_eq!(c.stats().offline_list_full, 2);
    }
}
