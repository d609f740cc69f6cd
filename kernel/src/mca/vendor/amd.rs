//! AMD: the severity table (AMD signals recoverability with the deferred and
//! poison bits of MCA_STATUS, not with SER_P's S/AR; AMD APM vol. 2 §9.3 and
//! Linux's `mce_severity_amd`) and AMD's quirks.

use super::quirks::{Action, Quirk};
use crate::mca::exception::severity::{Contexts, Rule};
use crate::mca::record::{CpuVendor, Severity};
use crate::mca::regs::{mcg_status, status};

use status::{AMD_DEFERRED, AMD_POISON, EN, OVER, PCC, UC, VAL};
use Severity::{
    ActionRequired as AR_SEV, Deferred, Keep, NoError, Panic, Some as SOME, Uncorrected,
};

const RIPV: u64 = mcg_status::RIPV;

#[rustfmt::skip]
pub static RULES: [Rule; 14] = [
    Rule::new(NoError, "Invalid").clear(VAL),
    // Reporting was not enabled for it, so it did not raise this #MC (e.g.
    // QEMU's broadcast filler on the CPUs that were not targeted).
    Rule::new(NoError, "Not enabled").excp().clear(EN),
    Rule::new(Panic, "Processor context corrupt").set(PCC),
    // Deferred: the poller hands these to memory recovery.
    Rule::new(Deferred, "Deferred error").set(AMD_DEFERRED),
    Rule::new(Keep, "Corrected error").excp().clear(UC),
    Rule::new(SOME, "Corrected error").poll().clear(UC),
    Rule::new(Panic, "In kernel and no restart IP").excp().ctx(Contexts::ANY_KERNEL).set(UC).mcg(RIPV, 0),
    // Assumes no MCA overflow recovery feature (CPUID 0x80000007 EBX[0]): lost errors are fatal.
    Rule::new(Panic, "Overflowed uncorrected error").set(OVER | UC),
    Rule::new(AR_SEV, "Action required: poison consumed by a user process").excp().ctx(Contexts::USER).set(UC | AMD_POISON),
    Rule::new(AR_SEV, "Action required: poison consumed in recoverable area of kernel").excp().ctx(Contexts::KERNEL_RECOVERABLE).set(UC | AMD_POISON),
    Rule::new(Panic, "Poison consumed in unrecoverable area of kernel").excp().ctx(Contexts::KERNEL).set(UC | AMD_POISON),
    Rule::new(Panic, "Uncorrected unrecoverable error in kernel context").excp().ctx(Contexts::KERNEL).set(UC),
    // Like Linux: kill whoever was running rather than the machine.
    Rule::new(AR_SEV, "Action required: uncorrected error, kill the current task").excp().ctx(Contexts::USER.or(Contexts::KERNEL_RECOVERABLE)).set(UC),
    Rule::new(Uncorrected, "Uncorrected error").set(UC),
];

/// AMD's quirks (Linux `__mcheck_cpu_apply_quirks`).
pub static QUIRKS: &[Quirk] = &[
    Quirk {
        vendor: CpuVendor::Amd,
        family: 0xf,
        models: (0, 0xff),
        action: Action::ClearBankCtlBits {
            bank: 4,
            bits: 1 << 10,
        },
        why: "K8 GART TLB walk errors are reported spuriously by AGP/IOMMU use",
    },
    Quirk {
        vendor: CpuVendor::Amd,
        family: 0x15,
        models: (0, 0x1f),
        action: Action::IgnoreBank { bank: 4 },
        why:
            "family 15h models 00h-1fh bank 4 (NB) is shared and handled by the northbridge driver",
    },
];
