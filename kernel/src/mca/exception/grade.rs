//! Grading a record in its context: the interrupted code (from its CS and
//! whether its RIP has a fixup) and the vendor, for #MC and for polling.

use crate::mca::exception::severity::{self, Context, GradeInput};
use crate::mca::record::{MceRecord, Severity};
use crate::mca::regs::mcg_status;

/// The context of the interrupted code (Linux's `error_context()`): user
/// mode by its CS; kernel code is recoverable where its RIP has a
/// machine-check fixup (the recoverable copy routines), unless MCG_STATUS
/// says the saved IP is where the error happened but not a place to go on
/// from (EIPV without RIPV, Linux's `mc_recoverable`). With neither bit
/// set a fixup still recovers: it replaces the IP.
pub fn context_of(cs: u16, has_fixup: bool, mcgstatus: u64) -> Context {
    let eipv_only = mcgstatus & (mcg_status::RIPV | mcg_status::EIPV) == mcg_status::EIPV;
    if cs & 3 == 3 {
        Context::User
    } else if has_fixup && !eipv_only {
        Context::KernelRecoverable
    } else {
        Context::Kernel
    }
}

/// Grades a record found inside #MC. Also returns the index of the rule that
/// matched (in the vendor's table), so CPUs can tell each other which
/// message applies without sharing pointers.
pub fn grade_exception(rec: &MceRecord, ctx: Context) -> (severity::Grade, Option<usize>) {
    let input = GradeInput {
        status: rec.status,
        mcgstatus: rec.mcgstatus,
        mcgcap: rec.mcgcap,
        vendor: rec.cpuvendor,
        context: ctx,
        exception: true,
        // Set on AMD only, and read only by AMD's rules.
        ras_cap: crate::mca::vendor::amd::ras_cap(),
    };
    match severity::matching_rule(&input) {
        Some(i) => (severity::rules_for(rec.cpuvendor)[i].grade(), Some(i)),
        None => (severity::NO_MATCH, None),
    }
}

/// The message of rule `index` in `vendor`'s table.
pub fn rule_message(vendor: crate::mca::record::CpuVendor, index: usize) -> Option<&'static str> {
    severity::rules_for(vendor).get(index).map(|r| r.msg)
}

/// Grades a record found by polling, CMCI or at boot (no interrupted context).
pub fn grade_polled(rec: &MceRecord) -> Severity {
    severity::grade(&GradeInput {
        status: rec.status,
        mcgstatus: rec.mcgstatus,
        mcgcap: rec.mcgcap,
        vendor: rec.cpuvendor,
        context: Context::Kernel,
        exception: false,
        ras_cap: crate::mca::vendor::amd::ras_cap(),
    })
    .severity
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcg_status::{EIPV, MCIP, RIPV};

    #[test]
    fn context_follows_cs_fixup_and_mcg_status() {
        for mcg in [0, RIPV, EIPV, RIPV | EIPV] {
            assert_eq!(context_of(0x33, false, mcg | MCIP), Context::User);
            assert_eq!(context_of(0x33, true, mcg | MCIP), Context::User);
            assert_eq!(context_of(0x08, false, mcg | MCIP), Context::Kernel);
        }
        // A fixup recovers unless the error's IP is known and not restartable.
        assert_eq!(
            context_of(0x08, true, RIPV | EIPV | MCIP),
            Context::KernelRecoverable
        );
        assert_eq!(
            context_of(0x08, true, RIPV | MCIP),
            Context::KernelRecoverable
        );
        assert_eq!(context_of(0x08, true, MCIP), Context::KernelRecoverable);
        assert_eq!(context_of(0x08, true, EIPV | MCIP), Context::Kernel);
    }
}
