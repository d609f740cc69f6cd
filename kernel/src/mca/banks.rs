//! Programming and reading the machine-check banks of the calling CPU,
//! written against the [`Msr`] interface so the same code runs in the kernel
//! and against a simulated MSR space in host tests.

use super::msr::Msr;
use super::record::MceRecord;
use super::regs::{self, mcg_cap, status};
use super::vendor::quirks::{Action, Quirk};
use core::fmt;

/// IA32_MCG_CAP, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McgCap(pub u64);

impl McgCap {
    pub const fn banks(self) -> u8 {
        regs::bank_count(self.0)
    }
    pub const fn has(self, bit: u64) -> bool {
        self.0 & bit != 0
    }
    pub const fn ext_cnt(self) -> u8 {
        ((self.0 & mcg_cap::EXT_CNT_MASK) >> mcg_cap::EXT_CNT_SHIFT) as u8
    }
}

const CAP_BITS: [(u64, &str); 8] = [
    (mcg_cap::CTL_P, "CTL_P"),
    (mcg_cap::EXT_P, "EXT_P"),
    (mcg_cap::CMCI_P, "CMCI_P"),
    (mcg_cap::TES_P, "TES_P"),
    (mcg_cap::SER_P, "SER_P"),
    (mcg_cap::EMC_P, "EMC_P"),
    (mcg_cap::ELOG_P, "ELOG_P"),
    (mcg_cap::LMCE_P, "LMCE_P"),
];

impl fmt::Display for McgCap {
    /// `10 banks, MCG_CAP 0x100010a: CTL_P SER_P`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} banks, MCG_CAP {:#x}:", self.banks(), self.0)?;
        let mut any = false;
        for (bit, name) in CAP_BITS {
            if self.has(bit) {
                write!(f, " {name}")?;
                any = true;
            }
        }
        if !any {
            write!(f, " (none)")?;
        }
        if self.has(mcg_cap::EXT_P) {
            write!(f, " EXT_CNT={}", self.ext_cnt())?;
        }
        Ok(())
    }
}

/// What per-CPU bank initialisation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    /// Banks whose MCi_CTL was written (all ones, less quirk bits).
    pub enabled: u64,
    /// Banks left alone by a quirk.
    pub ignored: u64,
    /// Errors found left in banks from before boot (logged and cleared).
    pub boot_errors: u32,
}

/// Whether a quirk tells us to ignore `bank`.
pub fn ignored(quirks: &[&Quirk], bank: u8) -> bool {
    quirks
        .iter()
        .any(|q| q.action == Action::IgnoreBank { bank })
}

/// Reads one bank into a record built on `template` (which carries the CPU's
/// identity and the MCG_STATUS of the moment). `None` when the bank holds no
/// valid error. ADDR and MISC are read only when the status says they are
/// valid, as the SDM requires.
pub fn read_bank(msr: &impl Msr, bank: u8, template: &MceRecord) -> Option<MceRecord> {
    let st = msr.read(regs::mc_status(bank));
    if st & status::VAL == 0 {
        return None;
    }
    let mut rec = *template;
    rec.bank = bank;
    rec.status = st;
    rec.addr = if st & status::ADDRV != 0 {
        msr.read(regs::mc_addr(bank))
    } else {
        0
    };
    rec.misc = if st & status::MISCV != 0 {
        msr.read(regs::mc_misc(bank))
    } else {
        0
    };
    Some(rec)
}

/// Clears a bank after its error has been logged.
pub fn clear_bank(msr: &impl Msr, bank: u8) {
    msr.write(regs::mc_status(bank), 0);
}

/// Enables machine-check reporting on the calling CPU: MCG_CTL (when
/// present) and every bank's MCi_CTL, applying `quirks`. Before enabling, any
/// error left in a bank from before boot is handed to `log` (as a record with
/// `template`'s identity) and cleared.
pub fn init_banks(
    msr: &impl Msr,
    cap: McgCap,
    quirks: &[&Quirk],
    template: &MceRecord,
    mut log: impl FnMut(MceRecord),
) -> InitReport {
    let mut report = InitReport::default();
    for bank in 0..cap.banks().min(64) {
        if ignored(quirks, bank) {
            report.ignored |= 1 << bank;
            continue;
        }
        if let Some(rec) = read_bank(msr, bank, template) {
            report.boot_errors += 1;
            log(rec);
        }
        clear_bank(msr, bank);
    }
    if cap.has(mcg_cap::CTL_P) {
        msr.write(regs::IA32_MCG_CTL, u64::MAX);
    }
    for bank in 0..cap.banks().min(64) {
        if ignored(quirks, bank) {
            continue;
        }
        let mut ctl = u64::MAX;
        let mut skip = false;
        for q in quirks {
            match q.action {
                Action::SkipBankCtl { bank: b } if b == bank => skip = true,
                Action::ClearBankCtlBits { bank: b, bits } if b == bank => ctl &= !bits,
                _ => {}
            }
        }
        if !skip {
            msr.write(regs::mc_ctl(bank), ctl);
            report.enabled |= 1 << bank;
        }
    }
    report
}

/// Most banks MCG_CAP can announce that we track (one bit each).
pub const MAX_BANKS: u8 = 64;

/// A set of bank numbers (0..64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct BankSet(pub u64);

impl BankSet {
    pub const EMPTY: BankSet = BankSet(0);

    pub const fn contains(&self, bank: u8) -> bool {
        bank < MAX_BANKS && self.0 & (1u64 << bank) != 0
    }
    /// Adds `bank`; out-of-range numbers are ignored.
    pub fn insert(&mut self, bank: u8) {
        if bank < MAX_BANKS {
            self.0 |= 1u64 << bank;
        }
    }
    pub fn remove(&mut self, bank: u8) {
        if bank < MAX_BANKS {
            self.0 &= !(1u64 << bank);
        }
    }
    pub const fn len(&self) -> u32 {
        self.0.count_ones()
    }
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// Bank numbers in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u8> {
        let mut rest = self.0;
        core::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let bank = rest.trailing_zeros() as u8;
            rest &= rest - 1;
            Some(bank)
        })
    }
}

/// `1,3,5`, or `none`: the form the kernel's messages use.
impl core::fmt::Display for BankSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for bank in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "{bank}")?;
            first = false;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::msr::sim::SimMsr;
    use crate::mca::record::{CpuVendor, Source};
    use crate::mca::vendor::quirks;
    use alloc::format;
    use alloc::vec::Vec;

    const QEMU_CAP: u64 = 0x100010a;

    #[test]
    fn inventory_text() {
        assert_eq!(
            format!("{}", McgCap(QEMU_CAP)),
            "10 banks, MCG_CAP 0x100010a: CTL_P SER_P"
        );
        assert_eq!(format!("{}", McgCap(6)), "6 banks, MCG_CAP 0x6: (none)");
    }

    #[test]
    fn init_logs_and_clears_boot_errors_then_enables() {
        let m = SimMsr::new();
        m.set(regs::IA32_MCG_CAP, QEMU_CAP);
        m.set(
            regs::mc_status(3),
            status::VAL | status::EN | status::ADDRV | 0x9f,
        );
        m.set(regs::mc_addr(3), 0x1234_5000);
        m.set(regs::mc_misc(3), 0xdead); // not valid: must not be read
        let template = MceRecord {
            cpu: 2,
            source: Source::Boot,
            ..Default::default()
        };
        let mut got = Vec::new();
        let r = init_banks(&m, McgCap(QEMU_CAP), &[], &template, |rec| got.push(rec));
        assert_eq!(r.boot_errors, 1);
        assert_eq!(got[0].bank, 3);
        assert_eq!(got[0].cpu, 2);
        assert_eq!(got[0].addr, 0x1234_5000);
        assert_eq!(got[0].misc, 0);
        assert_eq!(m.get(regs::mc_status(3)), 0);
        assert_eq!(m.get(regs::IA32_MCG_CTL), u64::MAX);
        for b in 0..10 {
            assert_eq!(m.get(regs::mc_ctl(b)), u64::MAX);
        }
        assert_eq!(r.enabled, 0x3ff);
    }

    #[test]
    fn quirks_are_applied() {
        let m = SimMsr::new();
        let cap = McgCap(6); // no CTL_P
        let q: Vec<_> = quirks::for_cpu(CpuVendor::Intel, 6, 0x0f).collect();
        let r = init_banks(&m, cap, &q, &MceRecord::default(), |_| {});
        assert_eq!(
            m.writes
                .borrow()
                .iter()
                .filter(|w| w.0 == regs::mc_ctl(0))
                .count(),
            0
        );
        assert_eq!(r.enabled, 0b111110);
        assert_eq!(m.get(regs::IA32_MCG_CTL), 0, "no MCG_CTL without CTL_P");
        let k8: Vec<_> = quirks::for_cpu(CpuVendor::Amd, 0xf, 0x40).collect();
        let m = SimMsr::new();
        init_banks(&m, cap, &k8, &MceRecord::default(), |_| {});
        assert_eq!(m.get(regs::mc_ctl(4)), !(1u64 << 10));
        let fam15: Vec<_> = quirks::for_cpu(CpuVendor::Amd, 0x15, 0x02).collect();
        let m = SimMsr::new();
        m.set(regs::mc_status(4), status::VAL);
        let mut n = 0;
        let r = init_banks(&m, cap, &fam15, &MceRecord::default(), |_| n += 1);
        assert_eq!((n, r.ignored), (0, 1 << 4));
    }
}
