//! A software bank overlay for the injector: where writing the bank MSRs is
//! not allowed (real CPUs fault on non-zero MCi_STATUS writes), injected
//! values are kept here and the #MC handler and poller read them through
//! [`OverlayMsr`] as if the hardware held them, as Linux's mce-inject does.
//!
//! One injected bank (and MCG_STATUS) per CPU; all state is atomic so the
//! #MC path reads it without locks. Clearing the bank's status (what the
//! handler does after logging) ends the overlay.

use crate::mca::msr::Msr;
use crate::mca::regs::{self, BankReg};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

/// The injected values of one CPU.
#[derive(Default)]
pub struct BankOverlay {
    active: AtomicBool,
    bank: AtomicU8,
    status: AtomicU64,
    addr: AtomicU64,
    misc: AtomicU64,
    /// MCG_STATUS while `mcg_active`.
    mcg_active: AtomicBool,
    mcgstatus: AtomicU64,
}

impl BankOverlay {
    pub const fn new() -> Self {
        BankOverlay {
            active: AtomicBool::new(false),
            bank: AtomicU8::new(0),
            status: AtomicU64::new(0),
            addr: AtomicU64::new(0),
            misc: AtomicU64::new(0),
            mcg_active: AtomicBool::new(false),
            mcgstatus: AtomicU64::new(0),
        }
    }

    /// Makes `bank` read as (status, addr, misc).
    pub fn set_bank(&self, bank: u8, status: u64, addr: u64, misc: u64) {
        self.active.store(false, Ordering::SeqCst);
        self.bank.store(bank, Ordering::SeqCst);
        self.status.store(status, Ordering::SeqCst);
        self.addr.store(addr, Ordering::SeqCst);
        self.misc.store(misc, Ordering::SeqCst);
        self.active.store(true, Ordering::SeqCst);
    }

    /// Makes MCG_STATUS read as `value` until it is written.
    pub fn set_mcgstatus(&self, value: u64) {
        self.mcgstatus.store(value, Ordering::SeqCst);
        self.mcg_active.store(true, Ordering::SeqCst);
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst) || self.mcg_active.load(Ordering::SeqCst)
    }

    pub fn clear(&self) {
        self.active.store(false, Ordering::SeqCst);
        self.mcg_active.store(false, Ordering::SeqCst);
    }

    /// The overlaid value of `msr`, if the overlay covers it.
    fn read(&self, msr: u32, smca: bool) -> Option<u64> {
        if msr == regs::IA32_MCG_STATUS && self.mcg_active.load(Ordering::SeqCst) {
            return Some(self.mcgstatus.load(Ordering::SeqCst));
        }
        if !self.active.load(Ordering::SeqCst) {
            return None;
        }
        let b = self.bank.load(Ordering::SeqCst);
        let at = |r| regs::bank_reg(smca, b, r) == msr;
        if at(BankReg::Status) {
            Some(self.status.load(Ordering::SeqCst))
        } else if at(BankReg::Addr) {
            Some(self.addr.load(Ordering::SeqCst))
        } else if at(BankReg::Misc) {
            Some(self.misc.load(Ordering::SeqCst))
        } else {
            None
        }
    }

    /// Takes a write the overlay covers; returns true if it did.
    fn write(&self, msr: u32, value: u64, smca: bool) -> bool {
        if msr == regs::IA32_MCG_STATUS && self.mcg_active.load(Ordering::SeqCst) {
            self.mcgstatus.store(value, Ordering::SeqCst);
            if value == 0 {
                self.mcg_active.store(false, Ordering::SeqCst);
            }
            return true;
        }
        if self.active.load(Ordering::SeqCst)
            && regs::bank_reg(smca, self.bank.load(Ordering::SeqCst), BankReg::Status) == msr
        {
            self.status.store(value, Ordering::SeqCst);
            if value == 0 {
                self.active.store(false, Ordering::SeqCst);
            }
            return true;
        }
        false
    }
}

/// MSR access through an overlay: overlaid registers come from it, the rest
/// from the CPU.
pub struct OverlayMsr<'a, M: Msr> {
    pub inner: &'a M,
    pub overlay: &'a BankOverlay,
}

impl<M: Msr> Msr for OverlayMsr<'_, M> {
    fn read(&self, msr: u32) -> u64 {
        self.overlay
            .read(msr, self.inner.smca())
            .unwrap_or_else(|| self.inner.read(msr))
    }
    fn write(&self, msr: u32, value: u64) {
        if !self.overlay.write(msr, value, self.inner.smca()) {
            self.inner.write(msr, value)
        }
    }
    fn smca(&self) -> bool {
        self.inner.smca()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::msr::sim::SimMsr;

    #[test]
    fn overlaid_bank_reads_until_cleared() {
        let hw = SimMsr::new();
        hw.set(regs::mc_status(2), 0x1111);
        let ov = BankOverlay::new();
        let m = OverlayMsr {
            inner: &hw,
            overlay: &ov,
        };
        assert_eq!(m.read(regs::mc_status(2)), 0x1111);
        ov.set_bank(2, 0xbd00_0000_0000_00c0, 0x1000, 0x8c);
        ov.set_mcgstatus(0x5);
        assert_eq!(m.read(regs::mc_status(2)), 0xbd00_0000_0000_00c0);
        assert_eq!(m.read(regs::mc_addr(2)), 0x1000);
        assert_eq!(m.read(regs::mc_misc(2)), 0x8c);
        assert_eq!(m.read(regs::IA32_MCG_STATUS), 0x5);
        assert_eq!(m.read(regs::mc_status(3)), 0, "other banks from the CPU");
        // The handler clears the bank and MCG_STATUS: the overlay ends and
        // the hardware was never written.
        m.write(regs::mc_status(2), 0);
        m.write(regs::IA32_MCG_STATUS, 0);
        assert!(!ov.is_active());
        assert_eq!(m.read(regs::mc_status(2)), 0x1111);
        assert!(hw.writes.borrow().is_empty());
        // Writes the overlay does not cover reach the CPU.
        m.write(regs::mc_ctl(2), u64::MAX);
        assert_eq!(hw.get(regs::mc_ctl(2)), u64::MAX);
    }

    #[test]
    fn overlay_follows_smca_bank_addresses() {
        use crate::mca::banks;
        use crate::mca::record::MceRecord;
        use regs::{bank_reg, BankReg::*};
        let hw = SimMsr {
            smca: true,
            ..SimMsr::new()
        };
        let ov = BankOverlay::new();
        let m = OverlayMsr {
            inner: &hw,
            overlay: &ov,
        };
        assert!(m.smca());
        ov.set_bank(3, 0xbd00_0000_0000_00c0, 0x1000, 0x8c);
        // The bank reader, reading at SMCA addresses, sees the overlay.
        let rec = banks::read_bank(&m, 3, &MceRecord::default()).expect("overlaid");
        assert_eq!(
            (rec.status, rec.addr, rec.misc),
            (0xbd00_0000_0000_00c0, 0x1000, 0x8c)
        );
        assert_eq!(
            m.read(regs::mc_status(3)),
            0,
            "legacy address is not the bank"
        );
        banks::clear_bank(&m, 3);
        assert!(!ov.is_active());
        assert!(hw
            .writes
            .borrow()
            .iter()
            .all(|w| w.0 != bank_reg(true, 3, Status)));
    }
}
