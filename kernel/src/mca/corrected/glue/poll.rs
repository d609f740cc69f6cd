//! Periodic polling of the banks for corrected and UCNA errors, on every
//! CPU from its timer tick, with an adaptive interval: halved after errors,
//! doubled when quiet, between one tick and `mce.poll_ms`. The CMCI handler
//! uses the same bank scan.

use crate::arch::x86_64::percpu;
use crate::arch::x86_64::tsc;
use crate::cpuset::MAX_CPUS;
use crate::mca::msr::Msr;
use crate::mca::record::Source;
use crate::mca::{
    banks, corrected::glue::storm, corrected::poll_policy, exception::grade, glue::state, regs,
};
use core::sync::atomic::{AtomicU64, Ordering};

static NEXT_POLL_US: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static INTERVAL_US: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Polls done and errors found, per CPU.
pub static POLLS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
pub static FOUND: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The shortest interval: one tick.
const MIN_INTERVAL_US: u64 = crate::timer::TICK_MS * 1000;

fn max_interval_us() -> u64 {
    state::POLL_MS.load(Ordering::Relaxed) * 1000
}

/// Reads the banks of the calling CPU that are its to poll and logs what
/// the poller may log (see [`poll_policy::should_log`]). As in Linux, the
/// tick leaves out banks taken by CMCI (its own, unless in a storm, and
/// those another CPU owns); the CMCI handler reads the banks it owns.
/// Returns the number of records logged.
pub fn poll_banks(cpu: usize, source: Source) -> u32 {
    let slot = &state::CPUS[cpu];
    let owned = slot.cmci_owned.load(Ordering::Relaxed);
    let elsewhere = slot.cmci_elsewhere.load(Ordering::Relaxed);
    let in_storm = storm::IN_STORM[cpu].load(Ordering::Relaxed);
    let skip = poll_policy::skipped_banks(source == Source::Cmci, owned, elsewhere, in_storm);
    scan(cpu, source, skip)
}

/// Reads every bank of the calling CPU but quirk- and firmware-first ones
/// (the injector's POLL, which names the bank itself).
pub fn poll_all_banks(cpu: usize, source: Source) -> u32 {
    scan(cpu, source, 0)
}

fn scan(cpu: usize, source: Source, skip: u64) -> u32 {
    let slot = &state::CPUS[cpu];
    if !slot.ready.load(Ordering::Relaxed) {
        return 0;
    }
    let msr = state::cpu_msr(cpu);
    let cap = state::mcgcap(cpu);
    let ignored = state::poll_ignored_banks(cpu) | skip;
    let template = state::template(cpu, msr.read(regs::IA32_MCG_STATUS), source);
    let mut n = 0;
    let (mut polled, mut found) = (0u64, 0u64);
    // Valid banks read, and those left for #MC (an error that will signal).
    let (mut read, mut left) = (0u64, 0u64);
    for bank in 0..cap.banks().min(64) {
        if ignored & (1 << bank) != 0 {
            continue;
        }
        polled |= 1 << bank;
        if let Some(mut rec) = banks::read_bank(&msr, bank, &template) {
            read += 1;
            if !poll_policy::should_log(rec.status, cap.0, false) {
                left += 1;
            } else {
                rec.severity = grade::grade_polled(&rec);
                state::log(cpu, rec);
                banks::clear_bank(&msr, bank);
                found |= 1 << bank;
                n += 1;
            }
        }
    }
    state::scanned(cpu, read, left);
    storm::observe(cpu, polled, found, template.time_us);
    POLLS[cpu].fetch_add(1, Ordering::Relaxed);
    if n > 0 {
        FOUND[cpu].fetch_add(n as u64, Ordering::Relaxed);
        crate::mca::log::glue::consumer::wake();
    }
    n
}

/// Called on every tick of `cpu`: polls when its interval has passed.
pub fn on_tick(cpu: usize) {
    let now = tsc::now_us();
    let Some(next) = NEXT_POLL_US.get(cpu) else {
        return;
    };
    if now < next.load(Ordering::Relaxed) {
        return;
    }
    let found = poll_banks(cpu, Source::Poll) > 0;
    let cur = match INTERVAL_US[cpu].load(Ordering::Relaxed) {
        0 => max_interval_us(),
        v => v,
    };
    // During a storm the interval is fixed; otherwise it adapts.
    let iv = storm::poll_interval_us(cpu).unwrap_or_else(|| {
        poll_policy::next_interval(cur, found, MIN_INTERVAL_US, max_interval_us())
    });
    INTERVAL_US[cpu].store(iv, Ordering::Relaxed);
    next.store(now + iv, Ordering::Relaxed);
}

/// The current polling interval of `cpu` in microseconds.
pub fn interval_us(cpu: usize) -> u64 {
    INTERVAL_US
        .get(cpu)
        .map_or(0, |v| v.load(Ordering::Relaxed))
}

/// The CMCI interrupt: an owned bank holds a corrected error. The scan is
/// the poller's (banks are cheap to read, and a CMCI raised in software on
/// a machine without CMCI ownership must still find its error).
/// Takes the CMCI vector (before the first IDT load).
pub fn register() {
    use crate::arch::x86_64::idt::{self, vector, Eoi};
    idt::set_handler(vector::CMCI, |_| cmci_interrupt(), Eoi::After);
}

pub fn cmci_interrupt() {
    let cpu = percpu::current().index as usize;
    poll_banks(cpu, Source::Cmci);
}
