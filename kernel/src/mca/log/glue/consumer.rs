//! The record consumer: runs in normal context (the bootstrap processor's
//! idle loop), drains every CPU's ring, prints each record decoded and as
//! `mcelog --ascii` lines, counts it, and hands it to the subscribers whose
//! filters match (recovery, the error collector, triggers). Producers in
//! #MC, NMI, poll or interrupt context wake it with an IPI, so records are
//! handled at once rather than on the next tick.

use crate::arch::x86_64::apic::{self, Delivery, Dest};
use crate::arch::x86_64::idt::vector;
use crate::arch::x86_64::percpu;
use crate::arch::x86_64::tsc;
use crate::config::LogLevel;
use crate::cpuset::MAX_CPUS;
use crate::klog;
use crate::mca::decode::{self, ASCII_LINE_PREFIX};
use crate::mca::glue::state;
use crate::mca::log::notify::{Registry, Subscriber};
use crate::mca::record::{MceRecord, Severity};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

/// The CPU that runs the consumer.
const CONSUMER_CPU: u32 = 0;

static PENDING: AtomicBool = AtomicBool::new(false);

/// The record the consumer is handling right now, if any.
pub(super) static IN_FLIGHT: Mutex<Option<MceRecord>> = Mutex::new(None);

/// Subscribers to decoded records.
pub static SUBSCRIBERS: Mutex<Registry> = Mutex::new(Registry::new());

/// Counts kept by the consumer (normal context only).
pub struct Stats {
    /// Records per severity (index = Severity as u8).
    pub by_severity: [u64; 8],
    pub by_cpu: [u64; MAX_CPUS],
    pub total: u64,
    /// Records of banks in a storm kept off the console (still logged,
    /// counted and handed to subscribers).
    pub storm_suppressed: u64,
    /// Drops already reported, per CPU.
    reported_drops: [u64; MAX_CPUS],
}

pub static STATS: Mutex<Stats> = Mutex::new(Stats {
    by_severity: [0; 8],
    by_cpu: [0; MAX_CPUS],
    total: 0,
    storm_suppressed: 0,
    reported_drops: [0; MAX_CPUS],
});

/// "Machine check events logged", at most twice a minute (as Linux).
static NOTICE_WINDOW_START_US: AtomicU64 = AtomicU64::new(0);
static NOTICES_IN_WINDOW: AtomicU64 = AtomicU64::new(0);
const NOTICE_WINDOW_US: u64 = 60_000_000;
const NOTICE_BURST: u64 = 2;

/// Marks records as waiting and wakes the consumer CPU (any context).
/// Takes the wake-up vector (before the first IDT load): the interrupt only
/// ends the consumer CPU's `hlt`; the idle loop then drains.
pub fn register() {
    use crate::arch::x86_64::idt::{self, vector, Eoi};
    idt::set_handler(vector::WAKE, |_| {}, Eoi::After);
}

pub fn wake() {
    PENDING.store(true, Ordering::SeqCst);
    if percpu::current().index != CONSUMER_CPU {
        if let Some(apic_id) = crate::smp::apic_id_of(CONSUMER_CPU) {
            // An online CPU's id is addressable; the idle loop drains anyway.
            let _ = apic::send_ipi(Dest::Apic(apic_id), Delivery::Fixed(vector::WAKE));
        }
    }
}

pub fn pending() -> bool {
    PENDING.load(Ordering::SeqCst)
}

pub fn subscribe(s: Subscriber) {
    SUBSCRIBERS.lock().subscribe(s);
}

/// Drains every ring and handles each record. Normal context only.
pub fn drain() {
    PENDING.store(false, Ordering::SeqCst);
    let mut handled = 0;
    for rings in state::ring_sets() {
        rings.drain(|_, rec| {
            // If the machine is stopped while this record is being handled,
            // the panic path still finds it here.
            *IN_FLIGHT.lock() = Some(rec);
            handle(&rec);
            *IN_FLIGHT.lock() = None;
            handled += 1;
        });
    }
    if handled > 0 {
        notice();
    }
    // Firmware-first errors (GHES): their blocks, printed and acted on.
    crate::firmware::glue::ghes::drain();
    report_storms();
    report_drops();
    report_rendezvous();
    decay_now_and_then();
}

static LAST_DECAY_US: AtomicU64 = AtomicU64::new(0);

fn decay_now_and_then() {
    let now = tsc::now_us();
    if now.saturating_sub(LAST_DECAY_US.load(Ordering::Relaxed)) > 1_000_000 {
        LAST_DECAY_US.store(now, Ordering::Relaxed);
        crate::mca::corrected::glue::cec::decay();
    }
}

/// "Storm detected" and "storm subsided", once each per storm.
fn report_storms() {
    use crate::mca::corrected::glue::storm::{BEGAN, ENDED, STORM_ERRORS};
    for cpu in crate::smp::online().iter() {
        let cpu = cpu as usize;
        let began = BEGAN[cpu].swap(0, Ordering::SeqCst);
        let ended = ENDED[cpu].swap(0, Ordering::SeqCst);
        for bank in 0..64u8 {
            let bit = 1u64 << bank;
            if began & bit != 0 {
                crate::warn!(
                    "mce: cpu{cpu} bank {bank}: corrected-error storm detected; polling it every {} ms, its records kept off the console (see 'log')",
                    crate::mca::corrected::glue::storm::poll_interval_us(cpu).unwrap_or(0) / 1000
                );
            }
            if ended & bit != 0 {
                crate::info!(
                    "mce: cpu{cpu} bank {bank}: storm subsided; {} error(s) during the storm",
                    STORM_ERRORS[cpu][bank as usize].load(Ordering::Relaxed)
                );
            }
        }
    }
}

static REPORTED_RENDEZVOUS: AtomicU64 = AtomicU64::new(0);

/// One line per completed rendezvous: who met and how long it took; each
/// CPU's arrival and exit at debug level.
fn report_rendezvous() {
    let r = &crate::mca::exception::glue::handler::RENDEZVOUS;
    let st = r.stats();
    if st.completed == REPORTED_RENDEZVOUS.swap(st.completed, Ordering::SeqCst) {
        return;
    }
    crate::info!(
        "mce: rendezvous {}: CPUs {} met and were released; {} us from first arrival to last exit{}",
        st.completed,
        st.last_participants,
        st.last_duration_us,
        if st.timed_out > 0 {
            alloc::format!(" ({} rendezvous with timeouts so far)", st.timed_out)
        } else {
            alloc::string::String::new()
        }
    );
    for cpu in st.last_participants.iter() {
        crate::debug!(
            "mce: rendezvous: cpu{cpu} arrived at {} us, left at {} us",
            r.arrival_us(cpu).unwrap_or(0),
            r.exit_us(cpu).unwrap_or(0)
        );
    }
}

/// The most recent records, for the console's `log` command.
pub static RECENT: Mutex<alloc::collections::VecDeque<MceRecord>> =
    Mutex::new(alloc::collections::VecDeque::new());
pub const RECENT_CAPACITY: usize = 256;

fn handle(rec: &MceRecord) {
    {
        let mut r = RECENT.lock();
        if r.len() == RECENT_CAPACITY {
            r.pop_front();
        }
        r.push_back(*rec);
    }
    {
        let mut s = STATS.lock();
        s.total += 1;
        s.by_severity[rec.severity as usize] += 1;
        if let Some(c) = s.by_cpu.get_mut(rec.cpu as usize) {
            *c += 1;
        }
    }
    // A storm's corrected errors would drown the console: count them; the
    // storm's start and end are reported instead.
    let quiet = !rec.uncorrected()
        && crate::mca::corrected::glue::storm::in_storm(rec.cpu as usize, rec.bank);
    if quiet {
        STATS.lock().storm_suppressed += 1;
    } else {
        print_record(rec);
    }
    // Subscribers run with the registry locked; they must not subscribe.
    SUBSCRIBERS.lock().notify(rec);
    super::readers::deliver(rec);
}

/// Prints a record decoded, then as `mcelog --ascii` input.
pub fn print_record(rec: &MceRecord) {
    let level = match rec.severity {
        Severity::NoError | Severity::Keep | Severity::Some => LogLevel::Info,
        Severity::Deferred | Severity::ActionOptional => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    klog::log_with(level, "mce: ", |w| {
        let _ = decode::write_decoded(rec, w);
    });
    klog::log_with(level, ASCII_LINE_PREFIX, |w| {
        let _ = decode::write_ascii(rec, w);
    });
}

fn notice() {
    let now = tsc::now_us();
    let start = NOTICE_WINDOW_START_US.load(Ordering::Relaxed);
    if now.saturating_sub(start) >= NOTICE_WINDOW_US || start == 0 {
        NOTICE_WINDOW_START_US.store(now.max(1), Ordering::Relaxed);
        NOTICES_IN_WINDOW.store(0, Ordering::Relaxed);
    }
    if NOTICES_IN_WINDOW.fetch_add(1, Ordering::Relaxed) < NOTICE_BURST {
        crate::info!("mce: [Hardware Error]: Machine check events logged");
    }
}

/// Reports records that could not be stored since the last report.
fn report_drops() {
    let capacity = state::RINGS
        .get()
        .and_then(|r| r.ring(0))
        .map_or(0, |r| r.capacity());
    let mut s = STATS.lock();
    for cpu in 0..MAX_CPUS {
        let dropped = state::dropped_on(cpu);
        let seen = &mut s.reported_drops[cpu];
        if dropped > *seen {
            crate::warn!(
                "mce: cpu{cpu}: {} record(s) lost: ring full (capacity {capacity}, {dropped} lost in all)",
                dropped - *seen
            );
            *seen = dropped;
        }
    }
}
