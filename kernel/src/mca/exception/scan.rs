//! One pass over a CPU's banks inside #MC (Linux's `__mc_scan_banks`):
//! grade every valid bank, and log, clear or leave it as the [`Policy`]
//! says. Written against the [`Msr`] interface, so host tests run it over
//! simulated banks.

use crate::mca::banks::{self, BankSet};
use crate::mca::exception::grade::grade_exception;
use crate::mca::exception::severity::Context;
use crate::mca::msr::Msr;
use crate::mca::record::{MceRecord, Severity};
use crate::mca::recovery::address::usable_address;
use crate::mca::regs::status::{S, UC};

/// What a logging pass does with what it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Log corrected and UCNA errors too (the machine is going down).
    /// Otherwise they stay in their banks for the poller or CMCI.
    pub log_all: bool,
    /// Clear each bank once logged. Not when the machine is going down: the
    /// banks keep the error for the firmware, the BMC and the next boot
    /// (Linux leaves them when `no_way_out` is set).
    pub clear: bool,
}

impl Policy {
    /// The policy for a scan that knows whether the machine goes down.
    pub const fn going_down(down: bool) -> Self {
        Self {
            log_all: down,
            clear: !down,
        }
    }
}

/// What one pass found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    pub worst: Severity,
    pub msg: &'static str,
    /// The severity-table rule of the worst error, if any.
    pub rule: Option<usize>,
    /// The usable physical address of the worst error (Linux's
    /// `mce_usable_address`), if the bank gave one.
    pub addr: Option<u64>,
    /// Banks logged by this pass.
    pub logged: BankSet,
    /// Banks logged and left as they were (the policy said not to clear).
    pub left: BankSet,
    /// Banks holding an error whose reporting was not enabled (QEMU's
    /// broadcast filler), logged as records of their own.
    pub not_enabled: u32,
    /// Valid banks this pass read (for the bank accounting).
    pub read: u32,
    /// Of those, left in the bank for the poller or CMCI, which log them
    /// (corrected and UCNA errors while the machine goes on).
    pub for_poller: u32,
}

impl Scan {
    const NOTHING: Scan = Scan {
        worst: Severity::NoError,
        msg: "No error found",
        rule: None,
        addr: None,
        logged: BankSet::EMPTY,
        left: BankSet::EMPTY,
        not_enabled: 0,
        read: 0,
        for_poller: 0,
    };
}

/// The banks a CPU scans.
#[derive(Clone, Copy, Debug)]
pub struct Banks {
    pub count: u8,
    /// Banks left alone (quirks, banks the firmware owns).
    pub ignored: u64,
}

impl Banks {
    fn each(self) -> impl Iterator<Item = u8> {
        (0..self.count.min(banks::MAX_BANKS)).filter(move |b| self.ignored & (1 << b) == 0)
    }
}

/// Grades every valid bank without touching it (phase 0, Linux's
/// `mce_no_way_out`); `found` sees each record, graded.
pub fn grade_banks(
    msr: &impl Msr,
    which: Banks,
    template: &MceRecord,
    ctx: Context,
    mut found: impl FnMut(&MceRecord),
) -> Scan {
    let mut s = Scan::NOTHING;
    for bank in which.each() {
        if let Some(rec) = graded(msr, bank, template, ctx, &mut s) {
            found(&rec);
        }
    }
    s
}

/// Grades, logs and clears (or leaves) every valid bank as `policy` says.
pub fn log_banks(
    msr: &impl Msr,
    which: Banks,
    template: &MceRecord,
    ctx: Context,
    policy: Policy,
    mut log: impl FnMut(MceRecord),
) -> Scan {
    let mut s = Scan::NOTHING;
    for bank in which.each() {
        let Some(rec) = graded(msr, bank, template, ctx, &mut s) else {
            continue;
        };
        s.read += 1;
        // An error whose reporting was not enabled did not raise this #MC
        // (QEMU's broadcast puts one on every CPU it did not target), but
        // it is an error record all the same (Linux's poller logs these
        // "not enabled" errors): logged here, graded "Not enabled".
        if rec.severity == Severity::NoError {
            s.not_enabled += 1;
        }
        // Corrected and UCNA errors belong to the poller unless the machine
        // is going down (then everything is logged now). A signaled error
        // graded "keep" (an SRAR seen by a thread it did not affect, RIPV
        // set and EIPV clear) is logged here: the poller leaves signaled
        // errors to #MC, so it would stay in the bank unseen.
        let signaled = rec.status & (UC | S) == UC | S;
        if matches!(rec.severity, Severity::Keep | Severity::Deferred)
            && !signaled
            && !policy.log_all
        {
            s.for_poller += 1;
            continue;
        }
        log(rec);
        s.logged.insert(bank);
        if policy.clear {
            banks::clear_bank(msr, bank);
        } else {
            s.left.insert(bank);
        }
    }
    s
}

/// Clears banks logged earlier with `clear: false`, once it is known that
/// the machine goes on.
pub fn clear_banks(msr: &impl Msr, which: BankSet) {
    for bank in which.iter() {
        banks::clear_bank(msr, bank);
    }
}

fn graded(
    msr: &impl Msr,
    bank: u8,
    template: &MceRecord,
    ctx: Context,
    s: &mut Scan,
) -> Option<MceRecord> {
    let mut rec = banks::read_bank(msr, bank, template)?;
    let (g, rule) = grade_exception(&rec, ctx);
    rec.severity = g.severity;
    if g.severity > s.worst {
        s.worst = g.severity;
        s.msg = g.msg;
        s.rule = rule;
        s.addr = usable_address(&rec).ok();
    }
    Some(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::msr::sim::SimMsr;
    use crate::mca::record::CpuVendor;
    use crate::mca::regs::{self, mcg_cap, mcg_status, status::*};
    use std::vec::Vec;

    const PCC_UC: u64 = VAL | UC | EN | PCC | 0x0134;
    const CE: u64 = VAL | EN | 0x0017;
    const UCNA: u64 = VAL | UC | EN | ADDRV | MISCV | 0x009f;
    const FILLER: u64 = VAL | UC;

    fn machine(banks: &[(u8, u64)]) -> SimMsr {
        let msr = SimMsr::new();
        for &(b, st) in banks {
            msr.set(regs::mc_status(b), st);
            msr.set(regs::mc_addr(b), 0x1000);
            msr.set(regs::mc_misc(b), 0x86);
        }
        msr
    }

    fn template() -> MceRecord {
        MceRecord {
            mcgstatus: mcg_status::MCIP | mcg_status::RIPV,
            mcgcap: mcg_cap::SER_P | 10,
            cpuvendor: CpuVendor::Intel,
            ..Default::default()
        }
    }

    const ALL: Banks = Banks {
        count: 10,
        ignored: 0,
    };

    fn status_of(msr: &SimMsr, b: u8) -> u64 {
        msr.get(regs::mc_status(b))
    }

    #[test]
    fn phase_zero_touches_nothing() {
        let msr = machine(&[(1, PCC_UC), (2, CE)]);
        let mut seen = Vec::new();
        let s = grade_banks(&msr, ALL, &template(), Context::Kernel, |r| {
            seen.push(r.bank)
        });
        assert_eq!(seen, [1, 2]);
        assert_eq!(s.worst, Severity::Panic);
        assert!(msr.writes.borrow().is_empty());
    }

    #[test]
    fn going_down_logs_everything_and_leaves_the_banks() {
        let msr = machine(&[(1, PCC_UC), (2, CE), (3, UCNA), (4, FILLER)]);
        let mut logged = Vec::new();
        let s = log_banks(
            &msr,
            ALL,
            &template(),
            Context::Kernel,
            Policy::going_down(true),
            |r| logged.push((r.bank, r.severity)),
        );
        assert_eq!(
            logged,
            [
                (1, Severity::Panic),
                (2, Severity::Keep),
                (3, Severity::Deferred),
                (4, Severity::NoError)
            ]
        );
        assert_eq!((s.read, s.for_poller, s.not_enabled), (4, 0, 1));
        assert_eq!(s.left.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(msr.writes.borrow().is_empty(), "banks left as they were");
        for (b, st) in [(1, PCC_UC), (2, CE), (3, UCNA), (4, FILLER)] {
            assert_eq!(status_of(&msr, b), st);
        }
    }

    #[test]
    fn going_on_logs_uncorrected_clears_them_and_leaves_the_rest_to_the_poller() {
        let srao = VAL | UC | EN | S | ADDRV | MISCV | 0x00c0;
        let msr = machine(&[(2, CE), (3, UCNA), (4, FILLER), (9, srao)]);
        let mut logged = Vec::new();
        let s = log_banks(
            &msr,
            ALL,
            &template(),
            Context::Kernel,
            Policy::going_down(false),
            |r| logged.push(r.bank),
        );
        assert_eq!(logged, [4, 9], "the not-enabled filler is a record too");
        assert_eq!((s.read, s.for_poller), (4, 2));
        assert_eq!(s.worst, Severity::ActionOptional);
        assert_eq!(s.addr, Some(0x1000));
        assert_eq!(s.not_enabled, 1);
        assert_eq!((status_of(&msr, 9), status_of(&msr, 4)), (0, 0));
        assert_eq!(
            (status_of(&msr, 2), status_of(&msr, 3)),
            (CE, UCNA),
            "the poller's"
        );
        assert!(s.left.is_empty());
    }

    #[test]
    fn ignored_banks_are_not_read_and_late_clears_clear() {
        let msr = machine(&[(1, PCC_UC), (5, PCC_UC)]);
        let which = Banks {
            count: 10,
            ignored: 1 << 5,
        };
        let policy = Policy {
            log_all: false,
            clear: false,
        };
        let s = log_banks(&msr, which, &template(), Context::Kernel, policy, |_| {});
        assert_eq!(s.logged.iter().collect::<Vec<_>>(), [1]);
        clear_banks(&msr, s.logged);
        assert_eq!((status_of(&msr, 1), status_of(&msr, 5)), (0, PCC_UC));
    }

    /// Any sequence of #MC passes: every valid bank read is logged, or left
    /// for the poller, which logs it on its next pass (the poller's rule,
    /// `poll_policy::should_log`); a full ring counts the drop. Includes
    /// the EN-clear UC and the SRAR with RIPV set and EIPV clear in kernel.
    #[test]
    fn every_bank_read_is_accounted_for() {
        use crate::mca::corrected::poll_policy::should_log;
        use crate::mca::log::accounting::BankAccount;
        use crate::mca::log::ring::RecordRing;
        let srar = 0xbd80000000100134;
        let srao = VAL | UC | EN | S | ADDRV | MISCV | 0x00c0;
        let rounds: &[(&[(u8, u64)], u64)] = &[
            (&[(1, FILLER)], mcg_status::RIPV),
            (&[(2, srar)], mcg_status::RIPV),
            (&[(3, CE), (4, UCNA), (5, FILLER)], mcg_status::RIPV),
            (
                &[(6, srao), (7, FILLER), (8, CE)],
                mcg_status::RIPV | mcg_status::EIPV,
            ),
            (&[(1, srar), (2, FILLER)], mcg_status::RIPV),
        ];
        let ring = RecordRing::<MceRecord>::new(4);
        let acct = BankAccount::new();
        let msr = SimMsr::new();
        let mut logged = Vec::new();
        for (banks, mcg) in rounds {
            for &(b, st) in *banks {
                msr.set(regs::mc_status(b), st);
            }
            let t = MceRecord {
                mcgstatus: mcg_status::MCIP | mcg,
                ..template()
            };
            let s = log_banks(
                &msr,
                ALL,
                &t,
                Context::Kernel,
                Policy::going_down(false),
                |r| {
                    logged.push((r.bank, r.severity));
                    acct.stored(ring.push(r).is_ok());
                },
            );
            acct.scanned(s.read as u64, s.for_poller as u64);
            assert_ne!(s.worst, Severity::Panic, "nothing here is fatal");
            // The poller's pass: what #MC left, it takes.
            let (mut read, mut left) = (0, 0);
            for b in 0..10 {
                let st = status_of(&msr, b);
                if st & VAL == 0 {
                    continue;
                }
                read += 1;
                if should_log(st, t.mcgcap, false) {
                    acct.stored(
                        ring.push(MceRecord {
                            bank: b,
                            status: st,
                            ..t
                        })
                        .is_ok(),
                    );
                    msr.set(regs::mc_status(b), 0);
                } else {
                    left += 1;
                }
            }
            acct.scanned(read, left);
            assert!(acct.totals().balanced(), "{:?}", acct.totals());
        }
        let t = acct.totals();
        assert_eq!((t.read, t.left), (13, 3), "{t:?}");
        assert_eq!(t.logged, 4, "the ring holds four");
        assert_eq!(t.dropped, 6);
        assert!(
            logged.contains(&(2, Severity::Keep)),
            "the continuable SRAR is logged by #MC"
        );
        assert_eq!(
            logged.iter().filter(|r| r.1 == Severity::NoError).count(),
            4
        );
        for b in 0..10 {
            assert_eq!(status_of(&msr, b), 0, "bank {b} left unseen");
        }
    }
}
