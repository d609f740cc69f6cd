//! The GHES half of the record consumer (normal context, the bootstrap
//! processor's idle loop, called from `mca::log::glue::consumer::drain`):
//! each published slot is printed in the words of Linux's `ghes`/`cper`
//! code, kept for `log`, counted for `stats`, and acted on by severity
//! (corrected memory errors to the corrected-error collector, recoverable
//! ones to memory_failure); problems found on the way are said here.

use super::notify::retry_deferred;
use super::{sources, Slot, Source, Via, POOL};
use crate::apei::cper::{self, describe_status_block, guids, ErrorStatusBlock};
use crate::apei::ghes::{self, Acked, Action, Cleared, Grade};
use crate::config::LogLevel;
use crate::mca::record::Severity;
use crate::mm::frame::{RetireResult, Retired, PAGE_SIZE};
use crate::{error, klog, warn};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use spin::Mutex;

/// A block kept for the console's `log`.
#[derive(Clone)]
pub struct RecentBlock {
    pub time_us: u64,
    pub source_id: u16,
    pub cpu: u32,
    pub via: Via,
    pub bytes: Vec<u8>,
}

static RECENT: Mutex<VecDeque<RecentBlock>> = Mutex::new(VecDeque::new());
const RECENT_CAPACITY: usize = 64;

/// Record numbers, as Linux's `{N}` before `[Hardware Error]`.
static SEQ: AtomicU32 = AtomicU32::new(0);

/// Handles every published slot, then takes blocks left in place for lack
/// of a slot. Normal context only.
pub fn drain() {
    let Some(pool) = POOL.get() else {
        return;
    };
    while pool.consume(handle) {}
    retry_deferred();
    while pool.consume(handle) {}
}

/// The last `n` blocks kept for `log`, oldest first.
pub fn recent(n: usize) -> Vec<RecentBlock> {
    let r = RECENT.lock();
    r.iter().skip(r.len().saturating_sub(n)).cloned().collect()
}

/// One kept block as `log` shows it: when and where it was found, then
/// the block in Linux's words.
pub fn write_recent(b: &RecentBlock, w: &mut dyn Write) -> fmt::Result {
    writeln!(
        w,
        "[{:5}.{:06}] GHES source {} (found by {} on cpu{}):",
        b.time_us / 1_000_000,
        b.time_us % 1_000_000,
        b.source_id,
        b.via.name(),
        b.cpu
    )?;
    writeln!(
        w,
        "[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: {}",
        b.source_id
    )?;
    match cper::parse_error_status_block(&b.bytes) {
        Ok(block) => {
            let mut p = LinePrefix {
                out: w,
                prefix: "[Hardware Error]: ",
                at_start: true,
            };
            describe_status_block(&block, &mut p)
        }
        Err(e) => writeln!(w, "(not a valid error status block: {e})"),
    }
}

/// Writes `prefix` at the start of every line.
struct LinePrefix<'a> {
    out: &'a mut dyn Write,
    prefix: &'a str,
    at_start: bool,
}

impl Write for LinePrefix<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for piece in s.split_inclusive('\n') {
            if self.at_start {
                self.out.write_str(self.prefix)?;
            }
            self.out.write_str(piece)?;
            self.at_start = piece.ends_with('\n');
        }
        Ok(())
    }
}

/// A `str` in a fixed buffer (for a per-line prefix without the heap).
struct StackStr {
    buf: [u8; 40],
    len: usize,
}

impl Write for StackStr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Prints a block as Linux's `__ghes_print_estatus` does: every line
/// prefixed `{N}[Hardware Error]: `, the source first, then the block.
/// Never allocates (the panic path prints from NMI context).
pub fn print_block(source_id: u16, block: &[u8], level: LogLevel) {
    let seq = SEQ.fetch_add(1, Relaxed) + 1;
    let mut pfx = StackStr {
        buf: [0; 40],
        len: 0,
    };
    let _ = write!(pfx, "{{{seq}}}[Hardware Error]: ");
    let pfx = core::str::from_utf8(&pfx.buf[..pfx.len]).unwrap_or("[Hardware Error]: ");
    klog::log_with(level, pfx, |w| {
        let _ = writeln!(
            w,
            "Hardware error from APEI Generic Hardware Error Source: {source_id}"
        );
        let _ = match cper::parse_error_status_block(block) {
            Ok(b) => describe_status_block(&b, w),
            Err(e) => writeln!(w, "(not a valid error status block: {e})"),
        };
    });
}

/// The console level of a block of grade `g` (Linux: warning up to
/// corrected, error above).
fn level(g: Grade) -> LogLevel {
    if g <= Grade::Corrected {
        LogLevel::Warn
    } else {
        LogLevel::Error
    }
}

fn handle(slot: &Slot) {
    let Some(s) = sources().get(slot.source) else {
        return;
    };
    let id = s.cfg.source_id;
    let copy = &slot.bytes[..slot.len.min(slot.bytes.len())];
    match &slot.problem {
        Some(p) => {
            error!(
                "ghes: source {id}: {p} (found by {} on cpu{}); {}",
                slot.via.name(),
                slot.cpu,
                if slot.cleared.is_some() {
                    "given back to the firmware unused"
                } else {
                    "said once, counted after (stats)"
                }
            );
            if !copy.is_empty() {
                klog::log_with(LogLevel::Warn, "ghes:   ", |w| {
                    let _ = cper::hex_dump(w, 0, &copy[..copy.len().min(64)]);
                });
            }
        }
        None => match cper::parse_error_status_block(copy) {
            Ok(b) => taken(s, slot, &b, copy),
            Err(e) => error!("ghes: source {id}: copy does not parse: {e}"),
        },
    }
    match slot.cleared {
        Some(Cleared::Stuck(v)) => error!(
            "ghes: source {id}: block status at {:#x} does not clear (reads {v:#x} after writing 0): the firmware's memory does not take the write; this block is not logged again while it stays",
            slot.paddr
        ),
        Some(Cleared::Failed(e)) => error!(
            "ghes: source {id}: cannot clear the block status at {:#x}: {e}",
            slot.paddr
        ),
        _ => {}
    }
    if let Some(Acked::Failed(e)) = slot.acked {
        error!(
            "ghes: source {id}: read ack register cannot be written: {e}; the firmware may hold back further errors"
        );
    }
}

/// A valid block: printed, kept, acted on.
fn taken(s: &Source, slot: &Slot, b: &ErrorStatusBlock<'_>, copy: &[u8]) {
    let id = s.cfg.source_id;
    let grade = ghes::block_grade(b);
    print_block(id, copy, level(grade));
    let unknown = b
        .entries
        .iter()
        .filter(|e| guids::section_type_name(&e.section_type).is_none())
        .count();
    s.counters
        .unknown_sections
        .fetch_add(unknown as u64, Relaxed);
    {
        let mut r = RECENT.lock();
        if r.len() == RECENT_CAPACITY {
            r.pop_front();
        }
        r.push_back(RecentBlock {
            time_us: slot.time_us,
            source_id: id,
            cpu: slot.cpu,
            via: slot.via,
            bytes: copy.to_vec(),
        });
    }
    for (i, e) in b.entries.iter().enumerate() {
        match ghes::entry_action(grade, &e) {
            Action::CountCorrected { addr } => {
                crate::mca::corrected::glue::cec::count_address(addr)
            }
            Action::Offline { addr } => offline(id, addr),
            Action::Poison { addr } => crate::mca::recovery::glue::memory_failure::memory_failure_as(
                addr,
                "recoverable (GHES)",
                Severity::ActionOptional,
            ),
            Action::NoAddress => warn!(
                "ghes: source {id}: error {i}: {} memory error without a valid physical address; no page to act on",
                Grade::of(e.error_severity).name()
            ),
            Action::LogOnly => {}
        }
    }
}

/// The firmware says a page's corrected errors crossed its threshold.
fn offline(id: u16, addr: u64) {
    let what = match crate::boot::FRAMES.lock().retire(addr, Retired::Offlined) {
        RetireResult::WasFree => "it was free and is taken out of the allocator",
        RetireResult::InUse => "it is in use; it will not be reused when freed",
        RetireResult::AlreadyRetired => "it was already out of use",
    };
    warn!(
        "ghes: source {id}: page {:#x} offlined (the firmware says its corrected errors crossed the threshold): {what}",
        addr / PAGE_SIZE
    );
}

/// Lines for `stats`: totals, then each source's counts.
pub fn summary() -> Vec<alloc::string::String> {
    let mut out = Vec::new();
    let list = sources();
    if list.is_empty() {
        out.push("ghes: no GHES sources serviced".into());
        return out;
    }
    let pool = POOL.get();
    out.push(alloc::format!(
        "ghes: {} source(s); record slots: {} published, {} refused (block left for later)",
        list.len(),
        pool.map_or(0, |p| p.published()),
        pool.map_or(0, |p| p.refused())
    ));
    for s in list {
        let c = &s.counters;
        let g = |i: usize| c.by_grade[i].load(Relaxed);
        out.push(alloc::format!(
            "ghes:   source {}: corrected {} recoverable {} fatal {} info {}; too long {} malformed {} unreadable {} unknown sections {}; status stuck {} (found again {}) clear failed {} ack failed {}; deferred {}",
            s.cfg.source_id,
            g(1),
            g(2),
            g(3),
            g(0),
            c.too_long.load(Relaxed),
            c.malformed.load(Relaxed),
            c.unreadable.load(Relaxed),
            c.unknown_sections.load(Relaxed),
            c.stuck.load(Relaxed),
            c.stuck_repeats.load(Relaxed),
            c.clear_failed.load(Relaxed),
            c.ack_failed.load(Relaxed),
            c.deferred.load(Relaxed),
        ));
    }
    out
}
