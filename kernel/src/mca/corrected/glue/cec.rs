//! The corrected-error collector in the kernel (Linux's RAS CEC, mcelog's
//! page-error triggers): a subscriber that counts corrected memory errors
//! per page and takes a page offline for good when it crosses the
//! threshold within the window (`cec.threshold`, `cec.window_s`).

use crate::arch::x86_64::tsc;
use crate::boot::FRAMES;
use crate::mca::corrected::collector::{ErrorCollector, Verdict};
use crate::mca::log::notify::{Class, Filter, Subscriber};
use crate::mca::record::{MceRecord, Severity};
use crate::mm::frame::{RetireResult, Retired, PAGE_SIZE};
use crate::{info, warn};
use spin::Mutex;

/// Pages tracked at once (the table never grows; the least useful entry is
/// evicted and counted).
const CAPACITY: usize = 512;

pub static COLLECTOR: Mutex<Option<ErrorCollector>> = Mutex::new(None);

pub fn init(threshold: u32, window_s: u64) {
    *COLLECTOR.lock() = Some(ErrorCollector::new(
        CAPACITY,
        threshold,
        window_s.saturating_mul(1_000_000),
    ));
    info!("cec: offline a page after {threshold} corrected errors within {window_s} s ({CAPACITY} pages tracked)");
}

/// Corrected memory-controller errors that carry an address.
pub fn subscriber() -> Subscriber {
    Subscriber {
        name: "cec",
        filter: Filter {
            min: Severity::NoError,
            max: Severity::Some,
            class: Some(Class::Memory),
            uncorrected: Some(false),
            needs_address: true,
            ..Filter::ALL
        },
        handler: count,
    }
}

fn count(rec: &MceRecord) {
    match crate::mca::recovery::address::usable_address(rec) {
        Ok(addr) => count_address(addr),
        Err(why) => info!(
            "cec: cpu{} bank {} ADDR {:#x}: address not usable: {}; not counted",
            rec.cpu,
            rec.bank,
            rec.addr,
            why.reason()
        ),
    }
}

/// Counts one corrected memory error at physical `addr` (from a machine
/// check record, or from a GHES memory error section).
pub fn count_address(addr: u64) {
    let pfn = addr / PAGE_SIZE;
    let verdict = match COLLECTOR.lock().as_mut() {
        Some(c) => c.add(pfn, tsc::now_us()),
        None => return,
    };
    if let Verdict::Offline { pfn, count } = verdict {
        let what = match FRAMES.lock().retire(pfn * PAGE_SIZE, Retired::Offlined) {
            RetireResult::WasFree => "it was free and is taken out of the allocator",
            RetireResult::InUse => "it is in use; it will not be reused when freed",
            RetireResult::AlreadyRetired => "it was already out of use",
        };
        warn!("cec: page {pfn:#x} offlined after {count} corrected errors: {what}");
    }
}

/// Drops expired counts (called now and then by the consumer).
pub fn decay() {
    if let Some(c) = COLLECTOR.lock().as_mut() {
        c.decay(tsc::now_us());
    }
}

/// A one-line summary for `stats`.
pub fn summary() -> alloc::string::String {
    match COLLECTOR.lock().as_ref() {
        Some(c) => {
            let s = c.stats();
            alloc::format!(
                "cec: {} page(s) tracked, {} error(s) counted, {} offlined, {} evicted, threshold {} per {} s",
                s.tracked,
                s.errors,
                s.offlines,
                s.evictions,
                c.threshold(),
                c.window_us() / 1_000_000
            )
        }
        None => "cec: off".into(),
    }
}
