//! Host tests of banks shared by sibling CPUs (simulated: QEMU gives every
//! vCPU its own banks, so sharing cannot be shown there). Real CPUs share
//! banks per core or package; with CMCI ownership honoured at all times one
//! error gives one record, and the corrected-error collector counts it once.
//! The scan below is the poller's and CMCI handler's (`glue/poll.rs`) made of
//! the same pure parts: `skipped_banks`, `read_bank`, `should_log`.

use crate::mca::banks::{self, BankSet};
use crate::mca::corrected::cmci::{self, DiscoverReport, DEFAULT_THRESHOLD};
use crate::mca::corrected::collector::{ErrorCollector, Verdict};
use crate::mca::corrected::poll_policy::{should_log, skipped_banks};
use crate::mca::msr::sim::{Sibling, SimMsr};
use crate::mca::msr::Msr;
use crate::mca::record::MceRecord;
use crate::mca::regs::{ctl2, mc_addr, mc_ctl2, mc_misc, mc_status, mcg_cap};
use alloc::boxed::Box;
use std::vec::Vec;

const BANKS: u8 = 4;
const CAP: u64 = mcg_cap::CMCI_P | mcg_cap::SER_P | BANKS as u64;
/// Banks 0 and 3 are per CPU; 1 and 2 are shared by both threads; 2 has no CMCI.
const SHARED: BankSet = BankSet(0b0110);
const NO_CMCI: u8 = 2;
/// VAL|EN|MISCV|ADDRV, corrected, memory read.
const CE: u64 = 0x9c00_0040_0000_0092;
const PAGE: u64 = 0x1234_5000;

/// An MSR space where CMCI_EN does not stick on bank 2.
fn space() -> SimMsr {
    let mut m = SimMsr::new();
    m.filter = Some(Box::new(|msr, _old, new| {
        if msr == mc_ctl2(NO_CMCI) {
            new & !ctl2::CMCI_EN
        } else {
            new
        }
    }));
    m
}

/// One simulated CPU: its MSR view and the CMCI state the glue keeps.
struct Cpu<'a> {
    msr: Sibling<'a>,
    owned: BankSet,
    elsewhere: BankSet,
}

impl<'a> Cpu<'a> {
    fn new(shared: &'a SimMsr) -> Self {
        Cpu {
            msr: Sibling {
                own: space(),
                shared,
                shared_banks: SHARED,
            },
            owned: BankSet::EMPTY,
            elsewhere: BankSet::EMPTY,
        }
    }

    /// CMCI setup (or rediscovery): what `glue/init.rs` and
    /// `glue/offline.rs` store.
    fn discover(&mut self) -> DiscoverReport {
        let r = cmci::discover(&self.msr, BANKS, DEFAULT_THRESHOLD, &mut self.owned);
        self.elsewhere = r.owned_elsewhere;
        r
    }

    /// What one tick (`cmci == false`) or CMCI interrupt logs, before it
    /// clears those banks (see [`Cpu::clear`]).
    fn look(&self, cmci: bool) -> Vec<MceRecord> {
        let skip = skipped_banks(cmci, self.owned.0, self.elsewhere.0, 0);
        (0..BANKS)
            .filter(|b| skip & (1 << b) == 0)
            .filter_map(|b| banks::read_bank(&self.msr, b, &MceRecord::default()))
            .filter(|r| should_log(r.status, CAP, false))
            .collect()
    }

    fn clear(&self, logged: &[MceRecord]) {
        logged
            .iter()
            .for_each(|r| banks::clear_bank(&self.msr, r.bank));
    }

    /// One tick or CMCI interrupt on its own: the records logged.
    fn scan(&self, cmci: bool) -> Vec<MceRecord> {
        let recs = self.look(cmci);
        self.clear(&recs);
        recs
    }
}

/// A corrected error at `PAGE` in `bank`, seen through `cpu`'s view.
fn error(cpu: &Cpu, bank: u8) {
    cpu.msr.write(mc_status(bank), CE);
    cpu.msr.write(mc_addr(bank), PAGE + 0x80);
    cpu.msr.write(mc_misc(bank), 0x8c);
}

/// Every CPU ticks and the one owning `bank` takes its CMCI, all at the
/// same moment (each reads before any clears, the worst case on real
/// hardware): the records logged.
fn everyone_looks(cpus: &[Cpu], bank: u8) -> Vec<(usize, MceRecord)> {
    let mut seen = Vec::new();
    for (i, c) in cpus.iter().enumerate() {
        seen.extend(c.look(false).into_iter().map(|r| (i, r)));
        if c.owned.contains(bank) {
            seen.extend(c.look(true).into_iter().map(|r| (i, r)));
        }
    }
    for (i, r) in &seen {
        cpus[*i].clear(core::slice::from_ref(r));
    }
    seen
}

#[test]
fn siblings_claim_each_shared_bank_once() {
    let shared = space();
    let mut cpus = [Cpu::new(&shared), Cpu::new(&shared)];
    let r0 = cpus[0].discover();
    let r1 = cpus[1].discover();
    assert_eq!(r0.claimed, BankSet(0b1011));
    assert_eq!(r1.claimed, BankSet(0b1001), "banks 0 and 3 are private");
    assert_eq!(r1.owned_elsewhere, BankSet(0b0010));
    assert_eq!(r0.unsupported, BankSet(1 << NO_CMCI));
    assert_eq!(r1.unsupported, BankSet(1 << NO_CMCI));
    assert_eq!(cpus[1].elsewhere, BankSet(0b0010));
}

#[test]
fn one_error_in_a_shared_bank_gives_one_record() {
    let shared = space();
    let mut cpus = [Cpu::new(&shared), Cpu::new(&shared)];
    cpus.iter_mut().for_each(|c| {
        c.discover();
    });
    // The CMCI bank: cpu0's interrupt logs it, nobody's tick reads it.
    error(&cpus[1], 1);
    let recs = everyone_looks(&cpus, 1);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        (recs[0].0, recs[0].1.bank, recs[0].1.addr),
        (0, 1, PAGE + 0x80)
    );
    // Without the "owned elsewhere" set (written only at an offline before),
    // cpu1's tick would read the bank too and log the error a second time.
    error(&cpus[0], 1);
    assert!(cpus[1].scan(false).is_empty());
    assert_eq!(cpus[0].scan(true).len(), 1);
    // Private banks: each CPU's own error is its own record.
    error(&cpus[0], 0);
    error(&cpus[1], 0);
    assert_eq!(everyone_looks(&cpus, 0).len(), 2);
}

#[test]
fn a_shared_bank_without_cmci_is_polled_and_cleared_once() {
    let shared = space();
    let mut cpus = [Cpu::new(&shared), Cpu::new(&shared)];
    cpus.iter_mut().for_each(|c| {
        c.discover();
    });
    // No CMCI: every sharer's tick polls it (as Linux's mce_poll_banks);
    // the first to log clears it, so the next finds it empty.
    error(&cpus[0], NO_CMCI);
    assert_eq!(cpus[1].scan(false).len(), 1);
    assert!(cpus[0].scan(false).is_empty());
}

#[test]
fn the_collector_offlines_at_the_threshold_not_half_of_it() {
    let shared = space();
    let mut cpus = [Cpu::new(&shared), Cpu::new(&shared)];
    cpus.iter_mut().for_each(|c| {
        c.discover();
    });
    const THRESHOLD: u32 = 10;
    let mut cec = ErrorCollector::new(16, THRESHOLD, 86_400_000_000);
    let mut offlined_at = None;
    for n in 1..=THRESHOLD {
        error(&cpus[(n % 2) as usize], 1);
        for (_, rec) in everyone_looks(&cpus, 1) {
            if let Verdict::Offline { pfn, count } = cec.add(rec.addr >> 12, n as u64) {
                assert_eq!((pfn, count), (PAGE >> 12, THRESHOLD));
                offlined_at.get_or_insert(n);
            }
        }
    }
    assert_eq!(
        offlined_at,
        Some(THRESHOLD),
        "offlined after {offlined_at:?} errors"
    );
    assert_eq!(cec.offlined().collect::<Vec<_>>(), [PAGE >> 12]);
}

#[test]
fn an_offline_owner_hands_its_shared_banks_to_the_sibling() {
    let shared = space();
    let mut cpus = [Cpu::new(&shared), Cpu::new(&shared)];
    cpus.iter_mut().for_each(|c| {
        c.discover();
    });
    // cpu0 goes offline: releases its banks, then the others rediscover.
    let [c0, c1] = &mut cpus;
    cmci::release_all(&c0.msr, &mut c0.owned);
    let r = c1.discover();
    assert_eq!(r.claimed, BankSet(0b0010));
    assert_eq!(r.already_ours, BankSet(0b1001));
    assert_eq!(c1.owned, BankSet(0b1011));
    assert_eq!(c1.elsewhere, BankSet::EMPTY);
    assert!(c1.msr.read(mc_ctl2(1)) & ctl2::CMCI_EN != 0);
    // An error there is now cpu1's, by CMCI; one record.
    error(c1, 1);
    let recs = c1.scan(true);
    assert_eq!(recs.len(), 1);
    assert!(c1.scan(false).is_empty());
}
