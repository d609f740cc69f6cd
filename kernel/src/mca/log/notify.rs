//! Subscribers to machine-check records: the kernel's counterpart of
//! /dev/mcelog readers and of mcelog's triggers. Each subscriber has a filter
//! (severity range, bank, error class, whether an address is needed); the
//! consumer hands every decoded record to each subscriber whose filter
//! matches. Recovery (memory failure, the error collector) subscribes the
//! same way as a trigger that only prints.

use crate::mca::decode::{classify, ErrorClass};
use crate::mca::record::{MceRecord, Severity};
use crate::mca::regs::{mcacod, status};
use alloc::vec::Vec;

/// Error classes, coarse enough for a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Memory-controller errors (compound code 000F 0000 1MMM CCCC).
    Memory,
    /// Cache hierarchy and generic cache errors.
    Cache,
    Tlb,
    Bus,
    /// Simple codes and anything unknown.
    Other,
}

impl Class {
    pub fn of(rec: &MceRecord) -> Class {
        match classify(mcacod(rec.status)) {
            ErrorClass::MemoryController { .. } => Class::Memory,
            ErrorClass::CacheHierarchy { .. } | ErrorClass::GenericCacheHierarchy { .. } => {
                Class::Cache
            }
            ErrorClass::Tlb { .. } => Class::Tlb,
            ErrorClass::Bus { .. } => Class::Bus,
            _ => Class::Other,
        }
    }
}

/// Which records a subscriber wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Severities `min..=max` (inclusive).
    pub min: Severity,
    pub max: Severity,
    pub bank: Option<u8>,
    pub class: Option<Class>,
    /// Only records with a valid address (ADDRV).
    pub needs_address: bool,
    /// Only corrected (`Some(false)`) or uncorrected (`Some(true)`) errors.
    pub uncorrected: Option<bool>,
}

impl Filter {
    /// Everything.
    pub const ALL: Filter = Filter {
        min: Severity::NoError,
        max: Severity::Panic,
        bank: None,
        class: None,
        needs_address: false,
        uncorrected: None,
    };

    pub fn matches(&self, rec: &MceRecord) -> bool {
        (self.min..=self.max).contains(&rec.severity)
            && self.bank.is_none_or(|b| b == rec.bank)
            && self.class.is_none_or(|c| c == Class::of(rec))
            && (!self.needs_address || rec.status & status::ADDRV != 0)
            && self
                .uncorrected
                .is_none_or(|uc| uc == (rec.status & status::UC != 0))
    }
}

/// One subscriber.
#[derive(Clone, Copy)]
pub struct Subscriber {
    pub name: &'static str,
    pub filter: Filter,
    pub handler: fn(&MceRecord),
}

/// The subscribers, in registration order, with how often each was called.
#[derive(Default)]
pub struct Registry {
    subs: Vec<(Subscriber, u64)>,
}

impl Registry {
    pub const fn new() -> Self {
        Registry { subs: Vec::new() }
    }

    pub fn subscribe(&mut self, s: Subscriber) {
        self.subs.push((s, 0));
    }

    /// Removes the subscriber called `name`; true if there was one.
    pub fn unsubscribe(&mut self, name: &str) -> bool {
        let n = self.subs.len();
        self.subs.retain(|(s, _)| s.name != name);
        self.subs.len() != n
    }

    /// Calls every matching subscriber; returns how many were called.
    pub fn notify(&mut self, rec: &MceRecord) -> usize {
        let mut n = 0;
        for (s, count) in &mut self.subs {
            if s.filter.matches(rec) {
                (s.handler)(rec);
                *count += 1;
                n += 1;
            }
        }
        n
    }

    /// (name, filter, times notified) of each subscriber.
    pub fn list(&self) -> impl Iterator<Item = (&'static str, Filter, u64)> + '_ {
        self.subs.iter().map(|(s, c)| (s.name, s.filter, *c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU32, Ordering};

    static HITS: AtomicU32 = AtomicU32::new(0);
    fn count(_: &MceRecord) {
        HITS.fetch_add(1, Ordering::SeqCst);
    }

    fn rec(st: u64, sev: Severity, bank: u8) -> MceRecord {
        MceRecord {
            status: st,
            severity: sev,
            bank,
            ..Default::default()
        }
    }

    #[test]
    fn filters() {
        let mem_ce = rec(status::VAL | status::ADDRV | 0x9f, Severity::Some, 9);
        let srar = rec(
            status::VAL | status::UC | status::S | status::AR | 0x134,
            Severity::ActionRequired,
            1,
        );
        assert_eq!(Class::of(&mem_ce), Class::Memory);
        assert_eq!(Class::of(&srar), Class::Cache);
        let mem = Filter {
            class: Some(Class::Memory),
            needs_address: true,
            ..Filter::ALL
        };
        assert!(mem.matches(&mem_ce) && !mem.matches(&srar));
        let uc = Filter {
            min: Severity::Deferred,
            uncorrected: Some(true),
            ..Filter::ALL
        };
        assert!(uc.matches(&srar) && !uc.matches(&mem_ce));
        let bank1 = Filter {
            bank: Some(1),
            ..Filter::ALL
        };
        assert!(bank1.matches(&srar) && !bank1.matches(&mem_ce));
        let no_addr = Filter {
            needs_address: true,
            ..Filter::ALL
        };
        assert!(!no_addr.matches(&srar));
    }

    #[test]
    fn registry_calls_matching_subscribers_and_counts() {
        let mut r = Registry::new();
        r.subscribe(Subscriber {
            name: "all",
            filter: Filter::ALL,
            handler: count,
        });
        r.subscribe(Subscriber {
            name: "panic-only",
            filter: Filter {
                min: Severity::Panic,
                ..Filter::ALL
            },
            handler: count,
        });
        let before = HITS.load(Ordering::SeqCst);
        assert_eq!(r.notify(&rec(status::VAL, Severity::Some, 0)), 1);
        assert_eq!(
            r.notify(&rec(status::VAL | status::PCC, Severity::Panic, 0)),
            2
        );
        assert_eq!(HITS.load(Ordering::SeqCst) - before, 3);
        let counts: Vec<u64> = r.list().map(|(_, _, c)| c).collect();
        assert_eq!(counts, [2, 1]);
        assert!(r.unsubscribe("all") && !r.unsubscribe("all"));
    }
}
