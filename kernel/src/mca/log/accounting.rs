//! Per-CPU bank accounting: every valid bank a logging pass reads (#MC,
//! poller, CMCI, boot scan) is either stored as a record, counted as dropped
//! (ring full), or left in its bank for a named consumer that reads it again
//! later (the poller for corrected and UCNA errors, #MC for an error that
//! will signal). So, per CPU, at any quiet moment:
//!
//! `read == logged + dropped + left`
//!
//! Lock-free counters; written from any context, #MC included.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One CPU's counters.
pub struct BankAccount {
    /// Valid banks read by a logging pass.
    pub read: AtomicU64,
    /// Of those, stored in a ring.
    pub logged: AtomicU64,
    /// Of those, lost to a full ring (counted, reported by the consumer).
    pub dropped: AtomicU64,
    /// Of those, left in the bank for the consumer that owns them.
    pub left: AtomicU64,
}

/// A snapshot of one CPU's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub read: u64,
    pub logged: u64,
    pub dropped: u64,
    pub left: u64,
}

impl Totals {
    /// Whether every bank read is accounted for.
    pub fn balanced(&self) -> bool {
        self.read == self.logged + self.dropped + self.left
    }
}

impl BankAccount {
    pub const fn new() -> Self {
        Self {
            read: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            left: AtomicU64::new(0),
        }
    }

    /// A pass read `read` valid banks and left `left` of them in place.
    pub fn scanned(&self, read: u64, left: u64) {
        self.read.fetch_add(read, Relaxed);
        self.left.fetch_add(left, Relaxed);
    }

    /// One record handed to the ring: stored, or dropped when full.
    pub fn stored(&self, ok: bool) {
        if ok {
            self.logged.fetch_add(1, Relaxed);
        } else {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    pub fn totals(&self) -> Totals {
        Totals {
            read: self.read.load(Relaxed),
            logged: self.logged.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            left: self.left.load(Relaxed),
        }
    }
}

impl Default for BankAccount {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_after_reads_stores_and_leaves() {
        let a = BankAccount::new();
        assert!(a.totals().balanced());
        a.scanned(3, 1);
        a.stored(true);
        assert!(!a.totals().balanced(), "one record not yet handed on");
        a.stored(false);
        let t = a.totals();
        assert_eq!((t.read, t.logged, t.dropped, t.left), (3, 1, 1, 1));
        assert!(t.balanced());
    }
}
