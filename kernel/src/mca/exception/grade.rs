//! Grading a record in its context: the interrupted code (from its CS and
//! whether its RIP has a fixup) and the vendor, for #MC and for polling.

use crate::mca::exception::severity::{self, Context, GradeInput};
use crate::mca::record::{MceRecord, Severity};

/// The context of the interrupted code, from its CS and whether its RIP has
/// a machine-check fixup (recoverable copy routines).
pub fn context_of(cs: u16, recoverable: bool) -> Context {
    if cs & 3 == 3 {
        Context::User
    } else if recoverable {
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
