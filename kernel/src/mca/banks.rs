//! Programming and reading the machine-check banks of the calling CPU,
//! written against the [`Msr`] interface so the same code runs in the kernel
//! and against a simulated MSR space in host tests.

use super::msr::Msr;
use super::record::MceRecord;
use super::regs::{self, mcg_cap, status, BankReg, SmcaReg};
use super::vendor::quirks::{Action, Quirk};
use super::vendor::smca;
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
/// valid, as the SDM requires. On AMD Scalable MCA the bank is read at its
/// own addresses with MCA_IPID and (when SyndV) MCA_SYND; when MCA_STATUS is
/// empty, a deferred error kept only in MCA_DESTAT is read instead, with its
/// address from MCA_DEADDR (as Linux's `amd_deferred_error_interrupt` logs it).
pub fn read_bank(msr: &impl Msr, bank: u8, template: &MceRecord) -> Option<MceRecord> {
    let smca = msr.smca();
    let reg = |r| regs::bank_reg(smca, bank, r);
    let st = msr.read(reg(BankReg::Status));
    let (st, addr_reg) = if st & status::VAL != 0 {
        (st, reg(BankReg::Addr))
    } else if smca {
        let de = msr.read(regs::smca_reg(bank, SmcaReg::Destat));
        if de & status::VAL == 0 || de & status::AMD_DEFERRED == 0 {
            return None;
        }
        (de, regs::smca_reg(bank, SmcaReg::Deaddr))
    } else {
        return None;
    };
    let mut rec = *template;
    rec.bank = bank;
    rec.status = st;
    rec.addr = if st & status::ADDRV != 0 {
        msr.read(addr_reg)
    } else {
        0
    };
    rec.misc = if st & status::MISCV != 0 {
        msr.read(reg(BankReg::Misc))
    } else {
        0
    };
    if smca {
        if rec.addr != 0 {
            let config = msr.read(regs::smca_reg(bank, SmcaReg::Config));
            rec.addr = smca::error_addr(rec.addr, st, config & smca::config::LSB_IN_STATUS != 0);
        }
        rec.ipid = msr.read(regs::smca_reg(bank, SmcaReg::Ipid));
        if st & status::SMCA_SYNDV != 0 {
            rec.synd = msr.read(regs::smca_reg(bank, SmcaReg::Synd));
        }
    }
    Some(rec)
}

/// Clears a bank after its error has been logged. On SMCA a deferred error is
/// also kept in MCA_DESTAT: that copy is cleared with it (or alone when it was
/// what [`read_bank`] read), but a deferred error behind another error in
/// MCA_STATUS stays for the next read, so none is lost.
pub fn clear_bank(msr: &impl Msr, bank: u8) {
    if !msr.smca() {
        msr.write(regs::mc_status(bank), 0);
        return;
    }
    let st_reg = regs::bank_reg(true, bank, BankReg::Status);
    let st = msr.read(st_reg);
    msr.write(st_reg, 0);
    if st & status::VAL == 0 || st & status::AMD_DEFERRED != 0 {
        msr.write(regs::smca_reg(bank, SmcaReg::Destat), 0);
    }
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
        if msr.smca() {
            // McaX: tell the CPU the OS uses the SMCA registers.
            let cfg = regs::smca_reg(bank, SmcaReg::Config);
            msr.write(cfg, msr.read(cfg) | smca::config::MCAX);
        }
        if !skip {
            msr.write(regs::bank_reg(msr.smca(), bank, BankReg::Ctl), ctl);
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
        // Family 15h bank 4 (the NB bank with DRAM ECC errors) is logged and
        // enabled like any other: Linux has no quirk for it.
        let fam15: Vec<_> = quirks::for_cpu(CpuVendor::Amd, 0x15, 0x02).collect();
        assert!(fam15.is_empty());
        let m = SimMsr::new();
        m.set(regs::mc_status(4), status::VAL | status::UC);
        let mut n = 0;
        let r = init_banks(&m, cap, &fam15, &MceRecord::default(), |_| n += 1);
        assert_eq!((n, r.ignored, r.enabled), (1, 0, 0b111111));
        assert_eq!(m.get(regs::mc_status(4)), 0);
    }

    /// A Zen-like CPU: banks only at the SMCA addresses.
    fn smca_msr() -> SimMsr {
        SimMsr {
            smca: true,
            ..SimMsr::new()
        }
    }

    #[test]
    fn smca_banks_are_read_at_their_own_addresses() {
        use regs::{bank_reg, smca_reg, BankReg::*, SmcaReg::*};
        let m = smca_msr();
        let st =
            status::VAL | status::UC | status::ADDRV | status::MISCV | status::SMCA_SYNDV | 0x9a;
        m.set(bank_reg(true, 5, Status), st);
        // ErrorAddrLsb 12 in MCA_ADDR[61:56].
        m.set(bank_reg(true, 5, Addr), 0x0c00_0000_1234_5abc);
        m.set(bank_reg(true, 5, Misc), 0xd000_0000_0100_0000);
        m.set(smca_reg(5, Ipid), 0x0001_0096_0050_0000);
        m.set(smca_reg(5, Synd), 0x5a5a_0000_0017);
        // The legacy addresses are not where this CPU's bank is: a valid
        // status left there must not be what is read.
        m.set(regs::mc_status(5), status::VAL | status::UC | 0x17);
        let rec = read_bank(&m, 5, &MceRecord::default()).expect("valid SMCA bank");
        assert_eq!(
            (rec.bank, rec.status, rec.addr, rec.misc, rec.ipid, rec.synd),
            (
                5,
                st,
                0x1234_5000,
                0xd000_0000_0100_0000,
                0x0001_0096_0050_0000,
                0x5a5a_0000_0017
            )
        );
        assert_eq!(bank_reg(true, 5, Status), 0xC000_2051);
        assert_eq!(smca_reg(5, Deaddr), 0xC000_2059);
        // Without SyndV the syndrome is not read.
        m.set(bank_reg(true, 5, Status), st & !status::SMCA_SYNDV);
        assert_eq!(read_bank(&m, 5, &MceRecord::default()).unwrap().synd, 0);
        clear_bank(&m, 5);
        assert_eq!(m.get(bank_reg(true, 5, Status)), 0);
        assert!(m.writes.borrow().iter().all(|w| w.0 >= 0xC000_2000));
        // With LsbInStatusSupported the LSB comes from MCA_STATUS[29:24].
        m.set(smca_reg(5, Config), smca::config::LSB_IN_STATUS);
        m.set(bank_reg(true, 5, Status), st | 6 << 24);
        m.set(bank_reg(true, 5, Addr), 0x1234_5abc);
        assert_eq!(
            read_bank(&m, 5, &MceRecord::default()).unwrap().addr,
            0x1234_5a80
        );
    }

    #[test]
    fn smca_deferred_error_only_in_destat_is_read_from_destat_and_deaddr() {
        use regs::{bank_reg, smca_reg, BankReg::*, SmcaReg::*};
        let m = smca_msr();
        let de = status::VAL | status::AMD_DEFERRED | status::ADDRV | 0x9f;
        m.set(smca_reg(2, Destat), de);
        m.set(smca_reg(2, Deaddr), 0x7700_1000);
        m.set(bank_reg(true, 2, Addr), 0xdead_0000);
        m.set(smca_reg(2, Ipid), 0x0000_0096_0000_0001);
        let rec = read_bank(&m, 2, &MceRecord::default()).expect("deferred in DESTAT");
        assert_eq!((rec.status, rec.addr), (de, 0x7700_1000));
        clear_bank(&m, 2);
        assert_eq!(m.get(smca_reg(2, Destat)), 0);
        assert_eq!(read_bank(&m, 2, &MceRecord::default()), None);
        // A non-deferred error in STATUS and a deferred one in DESTAT: the
        // first clear leaves DESTAT, so the second read still finds it.
        let ce = status::VAL | 0x11b;
        m.set(bank_reg(true, 2, Status), ce);
        m.set(smca_reg(2, Destat), de);
        assert_eq!(read_bank(&m, 2, &MceRecord::default()).unwrap().status, ce);
        clear_bank(&m, 2);
        assert_eq!(read_bank(&m, 2, &MceRecord::default()).unwrap().status, de);
        clear_bank(&m, 2);
        assert_eq!(read_bank(&m, 2, &MceRecord::default()), None);
        // A deferred error in STATUS is also in DESTAT: one record, both cleared.
        m.set(bank_reg(true, 2, Status), de);
        m.set(smca_reg(2, Destat), de);
        assert!(read_bank(&m, 2, &MceRecord::default()).is_some());
        clear_bank(&m, 2);
        assert_eq!(read_bank(&m, 2, &MceRecord::default()), None);
    }

    #[test]
    fn smca_init_enables_and_clears_at_smca_addresses() {
        use regs::{bank_reg, smca_reg, BankReg::*, SmcaReg::*};
        let m = smca_msr();
        m.set(bank_reg(true, 1, Status), status::VAL | 0x11b);
        let mut got = Vec::new();
        let r = init_banks(&m, McgCap(4), &[], &MceRecord::default(), |rec| {
            got.push(rec.bank)
        });
        assert_eq!((got, r.boot_errors, r.enabled), (alloc::vec![1], 1, 0xf));
        for b in 0..4 {
            assert_eq!(m.get(bank_reg(true, b, Ctl)), u64::MAX, "bank {b}");
            assert_eq!(m.get(bank_reg(true, b, Status)), 0);
            assert_eq!(
                m.get(smca_reg(b, Config)),
                smca::config::MCAX,
                "McaX, bank {b}"
            );
        }
        assert!(m.writes.borrow().iter().all(|w| w.0 >= 0xC000_2000));
    }
}
