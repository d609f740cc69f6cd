//! AMD: the severity table (AMD signals recoverability with the deferred and
//! poison bits of MCA_STATUS, not with SER_P's S/AR; AMD APM vol. 2 §9.3 and
//! Linux's `mce_severity_amd`) and AMD's quirks.

use super::quirks::{Action, Quirk};
use crate::mca::exception::severity::{Contexts, Rule};
use crate::mca::record::{CpuVendor, Severity};
use crate::mca::regs::status;
use core::sync::atomic::{AtomicU32, Ordering};

use status::{AMD_DEFERRED, AMD_POISON, EN, OVER, PCC, UC, VAL};
use Severity::{
    ActionRequired as AR_SEV, Deferred, Keep, NoError, Panic, Some as SOME, Uncorrected,
};

/// CPUID Fn8000_0007 EBX, "RAS capabilities" (AMD PPR; Linux's
/// `mce_flags.overflow_recov`, `.succor` and `.smca` come from it).
pub mod ras_cap {
    pub const LEAF: u32 = 0x8000_0007;
    /// McaOverflowRecov: an overflowed uncorrected error can still be
    /// contained (the lost one was no worse).
    pub const OVERFLOW_RECOV: u32 = 1 << 0;
    /// SUCCOR: software uncorrectable error containment and recovery; without
    /// it nothing promises an uncorrected error did not spread.
    pub const SUCCOR: u32 = 1 << 1;
    /// ScalableMca: banks at MSR 0xC0002000 + 0x10*bank with IPID, SYND, ...
    pub const SMCA: u32 = 1 << 3;
    /// The bits the grader and the bank code look at.
    pub const MASK: u32 = OVERFLOW_RECOV | SUCCOR | SMCA;
}

/// The boot CPU's RAS capabilities (0 on other vendors), read by the grader
/// in #MC context: an atomic, never a lock.
static RAS_CAP: AtomicU32 = AtomicU32::new(0);

/// Records CPUID Fn8000_0007 EBX of an AMD CPU (Linux sets `mce_flags` once
/// for all CPUs the same way).
pub fn set_ras_cap(ebx: u32) {
    RAS_CAP.store(ebx & ras_cap::MASK, Ordering::Relaxed);
}

/// The RAS capabilities recorded by [`set_ras_cap`].
pub fn ras_cap() -> u32 {
    RAS_CAP.load(Ordering::Relaxed)
}

/// Whether the banks are Scalable MCA banks.
pub fn smca() -> bool {
    ras_cap() & ras_cap::SMCA != 0
}

/// CPUID Fn8000_0007 EBX as the boot log shows it:
/// `RAS: SUCCOR no, McaOverflowRecov no, Scalable MCA no (uncorrected errors panic)`.
pub struct RasCap(pub u32);

impl core::fmt::Display for RasCap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let yn = |bit: u32| if self.0 & bit != 0 { "yes" } else { "no" };
        write!(
            f,
            "RAS: SUCCOR {}, McaOverflowRecov {}, Scalable MCA {}",
            yn(ras_cap::SUCCOR),
            yn(ras_cap::OVERFLOW_RECOV),
            yn(ras_cap::SMCA)
        )?;
        if self.0 & ras_cap::SUCCOR == 0 {
            f.write_str(" (uncorrected errors panic)")?;
        }
        Ok(())
    }
}

use ras_cap::{OVERFLOW_RECOV, SUCCOR};

/// In the order of Linux's `mce_severity_amd`: PCC, deferred, corrected,
/// overflow without overflow recovery, no SUCCOR, kernel context, else kill
/// the consumer. Messages are Linux's where it has them.
#[rustfmt::skip]
pub static RULES: [Rule; 13] = [
    Rule::new(NoError, "Invalid").clear(VAL),
    // Reporting was not enabled for it, so it did not raise this #MC (e.g.
    // QEMU's broadcast filler on the CPUs that were not targeted).
    Rule::new(NoError, "Not enabled").excp().clear(EN),
    Rule::new(Panic, "Processor Context Corrupt").set(PCC),
    // Deferred: the poller hands these to memory recovery.
    Rule::new(Deferred, "Deferred error").set(AMD_DEFERRED),
    Rule::new(Keep, "Corrected error").excp().clear(UC),
    Rule::new(SOME, "Corrected error").poll().clear(UC),
    // Found by polling (at boot, or left by firmware): logged; #MC decides the rest.
    Rule::new(Uncorrected, "Uncorrected error").poll().set(UC),
    // An error was lost: only McaOverflowRecov says it was no worse.
    Rule::new(Panic, "Overflowed uncorrected error without MCA Overflow Recovery").set(OVER | UC).ras(OVERFLOW_RECOV, 0),
    Rule::new(Panic, "Uncorrected error without MCA Recovery").set(UC).ras(SUCCOR, 0),
    Rule::new(AR_SEV, "Action required: poison consumed by a user process").ctx(Contexts::USER).set(UC | AMD_POISON),
    Rule::new(AR_SEV, "Action required: poison consumed in recoverable area of kernel").ctx(Contexts::KERNEL_RECOVERABLE).set(UC | AMD_POISON),
    Rule::new(Panic, "Uncorrected unrecoverable error in kernel context").ctx(Contexts::KERNEL).set(UC),
    // Like Linux: kill whoever was running rather than the machine.
    Rule::new(AR_SEV, "Action required: uncorrected error, kill the current task").ctx(Contexts::USER.or(Contexts::KERNEL_RECOVERABLE)).set(UC),
];

/// AMD's quirks (Linux `__mcheck_cpu_apply_quirks`). There is none for bank 4
/// of family 15h: that bank reports DRAM ECC errors and is logged like any
/// other. What Linux treats specially there is only the threshold interrupt
/// block of the legacy NB bank 4, shared by the cores of a node
/// (`is_shared_bank` in mce/amd.c), which this kernel does not program.
pub static QUIRKS: &[Quirk] = &[Quirk {
    vendor: CpuVendor::Amd,
    family: 0xf,
    models: (0, 0xff),
    action: Action::ClearBankCtlBits {
        bank: 4,
        bits: 1 << 10,
    },
    why: "K8 GART TLB walk errors are reported spuriously by AGP/IOMMU use",
}];

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn ras_cap_line() {
        assert_eq!(
            format!("{}", RasCap(0)),
            "RAS: SUCCOR no, McaOverflowRecov no, Scalable MCA no (uncorrected errors panic)"
        );
        assert_eq!(
            format!("{}", RasCap(0xb)),
            "RAS: SUCCOR yes, McaOverflowRecov yes, Scalable MCA yes"
        );
    }
}
