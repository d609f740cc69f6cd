//! Finding a source's errors: the tick's polls (bootstrap processor), the
//! NMI check (any CPU), and the consumer's retry of blocks left in place for
//! lack of a free record slot. All three run the same [`service`]: claim
//! the source (a flag, never waited for), peek, copy into a slot, give the
//! block back, publish. A fatal block goes to the panic path from here.
//!
//! No allocation, no lock: this runs in NMI and interrupt context.

use super::{sources, Slot, Source, Via, HAS_NMI, POOL};
use crate::apei::cper::{self, guids};
use crate::apei::ghes::{self, Acked, Cleared, Delivery, Grade, Problem};
use crate::arch::x86_64::{percpu, tsc};
use crate::firmware::glue::access::HwAccess;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// What one look at a source did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Nothing,
    /// A record (a block, or a problem to report) went to the consumer.
    Queued,
    /// Someone else is servicing the source right now.
    Busy,
    /// A block is there but no slot was free: left in place for later.
    Deferred,
    /// The block that would not clear, found again: not logged again.
    Repeat,
    /// A problem already reported, found again: counted only.
    Counted,
}

/// The timer tick of `cpu`: the bootstrap processor polls every polled and
/// fallback source whose interval has passed.
pub fn on_tick(cpu: usize) {
    if cpu != 0 {
        return;
    }
    let now = tsc::now_us();
    let mut queued = false;
    for (i, s) in sources().iter().enumerate() {
        let Some(ms) = s.cfg.delivery.poll_interval_ms() else {
            continue;
        };
        if now < s.next_poll_us.load(Relaxed) {
            continue;
        }
        s.next_poll_us.store(now + ms as u64 * 1000, Relaxed);
        queued |= service(i, s, Via::Poll) == Outcome::Queued;
    }
    if queued {
        crate::mca::log::glue::consumer::wake();
    }
}

/// The NMI handler's check of the NMI-notified sources (Linux's
/// `ghes_notify_nmi`). True when an NMI source had something (or was being
/// serviced by another CPU the same NMI reached), so the NMI is claimed.
pub fn nmi() -> bool {
    if !HAS_NMI.load(Relaxed) {
        return false;
    }
    let (mut claimed, mut queued) = (false, false);
    for (i, s) in sources().iter().enumerate() {
        if s.cfg.delivery != Delivery::Nmi {
            continue;
        }
        let o = service(i, s, Via::Nmi);
        claimed |= o != Outcome::Nothing;
        queued |= o == Outcome::Queued;
    }
    if queued {
        crate::mca::log::glue::consumer::wake();
    }
    claimed
}

/// Takes blocks left in place for lack of a slot (consumer, normal context,
/// after it freed slots).
pub(super) fn retry_deferred() {
    for (i, s) in sources().iter().enumerate() {
        if s.deferred.swap(false, SeqCst) {
            service(i, s, Via::Retry);
        }
    }
}

fn service(i: usize, s: &Source, via: Via) -> Outcome {
    if s.busy.swap(true, Acquire) {
        return Outcome::Busy;
    }
    let o = service_claimed(i, s, via);
    s.busy.store(false, Release);
    o
}

/// A problem kind, to say a persistent problem once.
fn kind(p: &Problem) -> u8 {
    match p {
        Problem::AddressUnreadable(_) => 1,
        Problem::BlockUnreadable { .. } => 2,
        Problem::BlockTooLong { .. } => 3,
        Problem::Malformed { .. } => 4,
    }
}

fn count_problem(s: &Source, p: &Problem) {
    let c = &s.counters;
    match p {
        Problem::AddressUnreadable(_) | Problem::BlockUnreadable { .. } => &c.unreadable,
        Problem::BlockTooLong { .. } => &c.too_long,
        Problem::Malformed { .. } => &c.malformed,
    }
    .fetch_add(1, Relaxed);
}

fn fill_meta(slot: &mut Slot, i: usize, via: Via, paddr: u64) {
    slot.source = i;
    slot.cpu = percpu::current().index;
    slot.time_us = tsc::now_us();
    slot.via = via;
    slot.paddr = paddr;
    slot.len = 0;
    slot.problem = None;
    slot.cleared = None;
    slot.acked = None;
}

fn service_claimed(i: usize, s: &Source, via: Via) -> Outcome {
    let Some(pool) = POOL.get() else {
        return Outcome::Nothing;
    };
    let mut a = HwAccess;
    let pending = match ghes::peek(&s.cfg, &mut a) {
        Ok(Some(p)) => p,
        Ok(None) => {
            s.last_problem.store(0, Relaxed);
            s.stuck.store(0, Relaxed);
            return Outcome::Nothing;
        }
        Err(p) => {
            // The register or block cannot be read: say it once (one slot
            // with the problem), count every time.
            count_problem(s, &p);
            if s.last_problem.swap(kind(&p), Relaxed) == kind(&p) {
                return Outcome::Counted;
            }
            return match pool.produce(|slot| {
                fill_meta(slot, i, via, 0);
                slot.problem = Some(p);
                (true, ())
            }) {
                Some(()) => Outcome::Queued,
                None => Outcome::Counted,
            };
        }
    };
    let r = pool.produce(|slot| {
        fill_meta(slot, i, via, pending.paddr);
        let (n, checked) = ghes::copy_block(&s.cfg, &mut a, &pending, &mut slot.bytes);
        slot.len = n;
        let fp = ghes::fingerprint(&slot.bytes[..n]);
        if fp == s.stuck.load(Relaxed) {
            s.counters.stuck_repeats.fetch_add(1, Relaxed);
            return (false, Outcome::Repeat);
        }
        s.last_problem.store(0, Relaxed);
        match checked {
            Err(p) => {
                count_problem(s, &p);
                slot.problem = Some(p);
            }
            Ok(()) => {
                let grade = cper::parse_error_status_block(&slot.bytes[..n])
                    .map_or(Grade::None, |b| ghes::block_grade(&b));
                s.counters.by_grade[grade as usize].fetch_add(1, Relaxed);
                if grade == Grade::Panic {
                    ghes::clear_and_ack(&s.cfg, &mut a, pending.paddr);
                    fatal(s, slot);
                }
            }
        }
        let (cleared, acked) = ghes::clear_and_ack(&s.cfg, &mut a, pending.paddr);
        let c = &s.counters;
        match cleared {
            Cleared::Yes => s.stuck.store(0, Relaxed),
            Cleared::Stuck(_) => {
                c.stuck.fetch_add(1, Relaxed);
                s.stuck.store(fp, Relaxed);
            }
            Cleared::Failed(_) => {
                c.clear_failed.fetch_add(1, Relaxed);
            }
        }
        if let Acked::Failed(_) = acked {
            c.ack_failed.fetch_add(1, Relaxed);
        }
        slot.cleared = Some(cleared);
        slot.acked = Some(acked);
        (true, Outcome::Queued)
    });
    r.unwrap_or_else(|| {
        // Left as the firmware wrote it (not cleared, not acknowledged): the
        // firmware keeps it, and the consumer takes it once slots are free.
        s.deferred.store(true, SeqCst);
        s.counters.deferred.fetch_add(1, Relaxed);
        crate::mca::log::glue::consumer::wake();
        Outcome::Deferred
    })
}

/// A fatal block: print it, save it in ERST, and stop the machine through
/// the machine-check panic path (which also prints and saves any
/// machine-check records still queued). Runs where the block was found
/// (NMI or tick); the other CPUs are stopped first.
fn fatal(s: &Source, slot: &Slot) -> ! {
    crate::panic::claim();
    crate::panic::stop_other_cpus();
    crate::console::force_unlock();
    let block = &slot.bytes[..slot.len];
    super::consume::print_block(s.cfg.source_id, block, crate::config::LogLevel::Error);
    let notification = if slot.via == Via::Nmi {
        guids::NOTIFY_NMI
    } else {
        guids::NOTIFY_MCE
    };
    let boot = crate::firmware::glue::erst::BOOT_UNIX.load(Relaxed);
    let time = (boot != 0).then(|| boot as u64 + slot.time_us / 1_000_000);
    crate::firmware::glue::fatal::write_fatal_block(s.cfg.source_id, block, notification, time);
    crate::mca::log::glue::panic_dump::panic_dump_and_stop("Fatal hardware error!", None)
}
