//! Recovery in normal context: the kernel's memory_failure(). Uncorrected
//! memory errors whose address is usable (`usable_address`: SRAO found by
//! #MC, UCNA found by polling, SRAR after the rendezvous) poison their page:
//! the frame allocator never hands it out again, and user tasks that map it
//! lose it (`task::memory_failure`: killed late, on their next touch, or at
//! once with `mce.early_kill=on`).

use crate::boot::FRAMES;
use crate::mca::log::notify::{Filter, Subscriber};
use crate::mca::record::{MceRecord, Severity};
use crate::mca::recovery::address::usable_address;
use crate::mm::frame::{RetireResult, Retired, PAGE_SIZE};
use crate::{info, warn};

/// The subscription: uncorrected errors from deferred to action-required
/// severity that carry an address.
pub fn subscriber() -> Subscriber {
    Subscriber {
        name: "memory-failure",
        filter: Filter {
            min: Severity::Deferred,
            max: Severity::ActionRequired,
            uncorrected: Some(true),
            needs_address: true,
            ..Filter::ALL
        },
        handler: memory_failure_record,
    }
}

fn memory_failure_record(rec: &MceRecord) {
    // "Keep": an SRAR seen by a thread it did not affect (logged so it is
    // not lost); the consuming CPU's own record carries the action, as in
    // Linux, where only AO/UCNA records reach memory_failure from the log.
    if rec.severity == Severity::Keep {
        return;
    }
    match usable_address(rec) {
        Ok(addr) => memory_failure(addr, rec.severity),
        Err(why) => warn!(
            "Memory failure: cpu{} bank {} ADDR {:#x} MISC {:#x}: address not usable: {}; no page poisoned",
            rec.cpu,
            rec.bank,
            rec.addr,
            rec.misc,
            why.reason()
        ),
    }
}

/// Poisons the page holding `addr`.
pub fn memory_failure(addr: u64, severity: Severity) {
    memory_failure_as(addr, severity.name(), severity)
}

/// Poisons the page holding `addr` for an error named `what` (e.g. a GHES
/// recoverable memory error, which has no machine-check severity name).
pub fn memory_failure_as(addr: u64, what: &str, severity: Severity) {
    let pfn = addr / PAGE_SIZE;
    let result = FRAMES.lock().retire(addr, Retired::Poisoned);
    let done = match result {
        RetireResult::WasFree => "free page poisoned, never to be allocated",
        RetireResult::InUse => "page in use poisoned; it will not be reused when freed",
        RetireResult::AlreadyRetired => "page already poisoned",
    };
    info!("Memory failure: {pfn:#x}: recovery action for {what} error: {done}");
    // User tasks mapping the page lose it and are killed.
    crate::task::memory_failure(addr, severity);
}
