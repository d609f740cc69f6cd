//! Corrected Machine Check Interrupt (Intel CMCI): which CPU owns which bank.
//!
//! A bank may be shared by several CPUs (e.g. all threads of a core, or a whole
//! package). Its IA32_MCi_CTL2 is shared with it, so the first CPU that sets
//! CMCI_EN and reads it back set owns the bank; the others see CMCI_EN already
//! set and leave the bank alone, so each corrected error interrupts and is
//! logged by one CPU only. A bank where CMCI_EN does not stick has no CMCI and
//! must be polled instead.

pub use crate::mca::banks::{BankSet, MAX_BANKS};
use crate::mca::msr::Msr;
use crate::mca::regs::{ctl2, mc_ctl2};

/// The corrected-error count at which a claimed bank interrupts by default.
pub const DEFAULT_THRESHOLD: u16 = 1;

/// What one discovery pass found, per bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DiscoverReport {
    /// Banks this pass claimed.
    pub claimed: BankSet,
    /// Banks this CPU already owned (left untouched).
    pub already_ours: BankSet,
    /// Banks another CPU owns: not ours to interrupt for.
    pub owned_elsewhere: BankSet,
    /// Banks where CMCI_EN does not stick: no CMCI, poll them.
    pub unsupported: BankSet,
}

/// A threshold as CTL2 holds it: 15 bits, and 0 taken as the default (a zero
/// threshold has no defined meaning).
fn threshold_bits(threshold: u16) -> u64 {
    match threshold as u64 & ctl2::THRESHOLD_MASK {
        0 => DEFAULT_THRESHOLD as u64,
        t => t,
    }
}

/// Claims CMCI ownership of every bank among `0..banks` that no CPU owns yet,
/// setting its interrupt threshold. Run on the CPU that `msr` reads and
/// writes for, with that CPU's `owned` set; banks already in `owned` are left
/// alone. Reads CTL2 before writing so a bank owned elsewhere is never
/// touched.
pub fn discover(msr: &impl Msr, banks: u8, threshold: u16, owned: &mut BankSet) -> DiscoverReport {
    let mut report = DiscoverReport::default();
    for bank in 0..banks.min(MAX_BANKS) {
        if owned.contains(bank) {
            report.already_ours.insert(bank);
            continue;
        }
        let reg = mc_ctl2(bank);
        let val = msr.read(reg);
        if val & ctl2::CMCI_EN != 0 {
            report.owned_elsewhere.insert(bank);
            continue;
        }
        let claim = (val & !ctl2::THRESHOLD_MASK) | ctl2::CMCI_EN | threshold_bits(threshold);
        msr.write(reg, claim);
        if msr.read(reg) & ctl2::CMCI_EN != 0 {
            owned.insert(bank);
            report.claimed.insert(bank);
        } else {
            report.unsupported.insert(bank);
        }
    }
    report
}

/// Run on every remaining CPU after one went offline (and so released its
/// banks): picks up the banks nobody owns any more. Same as [`discover`].
pub fn rediscover(
    msr: &impl Msr,
    banks: u8,
    threshold: u16,
    owned: &mut BankSet,
) -> DiscoverReport {
    discover(msr, banks, threshold, owned)
}

/// Gives up every bank this CPU owns (CPU going offline, or CMCI being turned
/// off), clearing CMCI_EN and the threshold so another CPU can claim them.
pub fn release_all(msr: &impl Msr, owned: &mut BankSet) {
    for bank in owned.iter() {
        let reg = mc_ctl2(bank);
        let val = msr.read(reg);
        msr.write(reg, val & !(ctl2::CMCI_EN | ctl2::THRESHOLD_MASK));
    }
    *owned = BankSet::EMPTY;
}

/// Sets the corrected-error count at which `bank` interrupts, keeping CMCI_EN
/// as it is. Storm control raises it while a bank is polled instead.
pub fn set_threshold(msr: &impl Msr, bank: u8, threshold: u16) {
    if bank >= MAX_BANKS {
        return;
    }
    let reg = mc_ctl2(bank);
    let val = msr.read(reg);
    msr.write(
        reg,
        (val & !ctl2::THRESHOLD_MASK) | threshold_bits(threshold),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::msr::sim::SimMsr;
    use alloc::boxed::Box;
    use std::vec::Vec;

    /// One CPU's view of the MSR space: CTL2 of a shared bank lives in the
    /// package-wide `shared` space, everything else in the CPU's own.
    struct CpuView<'a> {
        own: SimMsr,
        shared: &'a SimMsr,
        shared_banks: BankSet,
    }

    impl CpuView<'_> {
        fn space(&self, msr: u32) -> &SimMsr {
            let shared = (0..MAX_BANKS).any(|b| self.shared_banks.contains(b) && mc_ctl2(b) == msr);
            if shared {
                self.shared
            } else {
                &self.own
            }
        }
    }

    impl Msr for CpuView<'_> {
        fn read(&self, msr: u32) -> u64 {
            self.space(msr).read(msr)
        }
        fn write(&self, msr: u32, value: u64) {
            self.space(msr).write(msr, value)
        }
    }

    /// An MSR space where CMCI_EN never sticks on the `no_cmci` banks.
    fn space(no_cmci: BankSet) -> SimMsr {
        let mut m = SimMsr::new();
        m.filter = Some(Box::new(move |msr, _old, new| {
            if no_cmci.iter().any(|b| mc_ctl2(b) == msr) {
                new & !ctl2::CMCI_EN
            } else {
                new
            }
        }));
        m
    }

    const BANKS: u8 = 10;
    // Banks 0-3 are per CPU, 4-9 are shared; 3 and 7 have no CMCI.
    const SHARED: BankSet = BankSet(0b11_1111_0000);
    const NO_CMCI: BankSet = BankSet((1 << 3) | (1 << 7));

    fn cpus<'a>(shared: &'a SimMsr, n: usize) -> Vec<CpuView<'a>> {
        (0..n)
            .map(|_| CpuView {
                own: space(NO_CMCI),
                shared,
                shared_banks: SHARED,
            })
            .collect()
    }

    fn owner_count(owned: &[BankSet], bank: u8) -> usize {
        owned.iter().filter(|o| o.contains(bank)).count()
    }

    #[test]
    fn every_capable_bank_has_exactly_one_owner() {
        let shared = space(NO_CMCI);
        let cpus = cpus(&shared, 4);
        let mut owned = [BankSet::EMPTY; 4];
        let reports: Vec<DiscoverReport> = cpus
            .iter()
            .zip(owned.iter_mut())
            .map(|(c, o)| discover(c, BANKS, DEFAULT_THRESHOLD, o))
            .collect();

        // The first CPU takes all shared banks; the others see them taken.
        assert_eq!(reports[0].claimed, BankSet(0b11_0111_0111));
        for r in &reports[1..] {
            assert_eq!(r.claimed, BankSet(0b0111));
            assert_eq!(r.owned_elsewhere, BankSet(0b11_0111_0000));
        }
        for r in &reports {
            assert_eq!(r.unsupported, NO_CMCI);
        }
        for bank in 0..BANKS {
            let owners = match bank {
                3 | 7 => 0,
                b if SHARED.contains(b) => 1,
                _ => 4, // private to each CPU
            };
            assert_eq!(owner_count(&owned, bank), owners, "bank {bank}");
        }
        // Ownership is exclusive among the sharers.
        for a in 0..4 {
            for b in 0..4 {
                if a != b {
                    assert_eq!(owned[a].0 & owned[b].0 & SHARED.0, 0);
                }
            }
        }
        // Claimed banks carry CMCI_EN and the threshold; a second pass changes nothing.
        assert_eq!(shared.get(mc_ctl2(5)), ctl2::CMCI_EN | 1);
        let again = discover(&cpus[0], BANKS, DEFAULT_THRESHOLD, &mut owned[0]);
        assert!(again.claimed.is_empty());
        assert_eq!(again.already_ours, owned[0]);
    }

    #[test]
    fn owned_elsewhere_is_read_not_written() {
        let shared = space(BankSet::EMPTY);
        let cpus = cpus(&shared, 2);
        let (mut a, mut b) = (BankSet::EMPTY, BankSet::EMPTY);
        discover(&cpus[0], BANKS, 1, &mut a);
        let before = shared.writes.borrow().len();
        let r = discover(&cpus[1], BANKS, 1, &mut b);
        assert_eq!(shared.writes.borrow().len(), before);
        assert_eq!(r.owned_elsewhere, SHARED);
    }

    #[test]
    fn released_banks_go_to_another_cpu_on_rediscover() {
        let shared = space(NO_CMCI);
        let cpus = cpus(&shared, 3);
        let mut owned = [BankSet::EMPTY; 3];
        for (c, o) in cpus.iter().zip(owned.iter_mut()) {
            discover(c, BANKS, 1, o);
        }
        let first = owned[0];
        assert!(first.0 & SHARED.0 != 0);

        // CPU 0 goes offline.
        release_all(&cpus[0], &mut owned[0]);
        assert!(owned[0].is_empty());
        assert_eq!(
            shared.get(mc_ctl2(4)) & (ctl2::CMCI_EN | ctl2::THRESHOLD_MASK),
            0
        );

        let r1 = rediscover(&cpus[1], BANKS, 1, &mut owned[1]);
        let r2 = rediscover(&cpus[2], BANKS, 1, &mut owned[2]);
        assert_eq!(r1.claimed.0, first.0 & SHARED.0);
        assert!(r2.claimed.is_empty());
        for bank in SHARED.iter().filter(|b| !NO_CMCI.contains(*b)) {
            assert_eq!(owner_count(&owned, bank), 1);
            assert!(owned[1].contains(bank));
        }
    }

    #[test]
    fn threshold_is_programmed_and_adjusted() {
        let cpu = space(BankSet::EMPTY);
        let mut owned = BankSet::EMPTY;
        cpu.set(mc_ctl2(2), 0x5 | (1 << 20)); // stale threshold, an unrelated bit
        discover(&cpu, 4, 7, &mut owned);
        assert_eq!(cpu.get(mc_ctl2(2)), ctl2::CMCI_EN | (1 << 20) | 7);
        set_threshold(&cpu, 2, 0x7fff);
        assert_eq!(cpu.get(mc_ctl2(2)), ctl2::CMCI_EN | (1 << 20) | 0x7fff);
        set_threshold(&cpu, 2, 0);
        assert_eq!(cpu.get(mc_ctl2(2)), ctl2::CMCI_EN | (1 << 20) | 1);
        set_threshold(&cpu, 200, 5); // out of range: ignored, no panic
        discover(&cpu, 200, 1, &mut owned);
        assert_eq!(owned.len(), 64);
    }

    #[test]
    fn bank_set_basics() {
        let mut s = BankSet::EMPTY;
        s.insert(0);
        s.insert(63);
        s.insert(64);
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 63]);
        assert_eq!(s.len(), 2);
        s.remove(0);
        assert!(!s.contains(0) && s.contains(63) && !s.contains(200));
    }
}
