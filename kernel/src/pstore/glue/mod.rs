//! The kernel's pstore: the log tail every console byte goes into, and the
//! panic path's write of that tail to ERST after the machine-check records
//! (which so have the store's room first). No allocation and no waiting in
//! the panic path: the buffers are made at boot and taken with `try_lock`.

use crate::firmware::glue::erst::next_record_id;
use crate::firmware::glue::fatal::save;
use crate::pstore::record::{encode_dmesg, split_parts, PART_LINE_MAX, PSTORE_HEADER_LEN};
use crate::pstore::tail::LogTail;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::{Mutex, Once};

static TAIL: Once<LogTail> = Once::new();

/// The panic path's copies: the tail snapshot and one record slot.
struct Buffers {
    snapshot: Vec<u8>,
    record: Vec<u8>,
}

static BUFFERS: Mutex<Option<Buffers>> = Mutex::new(None);
/// Panics of this boot (Linux's `oopscount`): the N of `Panic#N`.
static PANICS: AtomicU32 = AtomicU32::new(0);

/// Makes the tail (`kib` KiB); boot time, once.
pub fn init(kib: u32) {
    let cap = kib as usize * 1024;
    TAIL.call_once(|| LogTail::new(cap));
    let mut b = BUFFERS.lock();
    *b = Some(Buffers {
        snapshot: alloc::vec![0; cap],
        record: Vec::new(),
    });
}

/// The store's record slot is `slot` bytes (its error log range): the
/// panic path's record buffer is made that large now.
pub fn set_record_slot(slot: usize) {
    if let Some(b) = BUFFERS.lock().as_mut() {
        b.record = alloc::vec![0; slot];
    }
}

/// Keeps printed bytes (from the console's sinks; any context).
pub fn keep(bytes: &[u8]) {
    if let Some(t) = TAIL.get() {
        super::tail::text_runs(bytes, |run| t.write(run));
    }
}

/// Bytes kept so far and the tail's size (for `stats`-like reports).
pub fn kept() -> Option<(u64, usize)> {
    TAIL.get().map(|t| (t.written(), t.capacity()))
}

/// From a panic path, after the machine-check records were saved and the
/// other CPUs stopped: the log tail to ERST as `Panic#N Part1`, `Part2`, …
/// (newest text first). Says what could not be saved.
pub fn write_panic_log() {
    let Some(tail) = TAIL.get() else { return };
    let count = PANICS.fetch_add(1, Ordering::SeqCst) + 1;
    let Some(mut guard) = BUFFERS.try_lock() else {
        crate::error!("pstore: log buffers busy; the console log was not saved");
        return;
    };
    let Some(b) = guard.as_mut() else { return };
    if b.record.len() <= PSTORE_HEADER_LEN + PART_LINE_MAX {
        crate::error!("pstore: no ERST record slot; the console log was not saved");
        return;
    }
    let t0 = crate::arch::x86_64::tsc::now_us();
    let n = tail.copy_tail(&mut b.snapshot);
    let body_max = b.record.len() - PSTORE_HEADER_LEN - PART_LINE_MAX;
    let log = &b.snapshot[..n];
    let total = split_parts(log, body_max).count();
    let unix = crate::firmware::glue::erst::BOOT_UNIX.load(Ordering::Relaxed);
    let now = (unix != 0).then(|| u64::from(unix) + crate::arch::x86_64::tsc::now_us() / 1_000_000);
    let (mut saved, mut saved_bytes) = (0usize, 0usize);
    for (i, range) in split_parts(log, body_max).enumerate() {
        let part = i as u32 + 1;
        let id = next_record_id();
        let Some(len) = encode_dmesg(count, part, &log[range.clone()], id, now, &mut b.record)
        else {
            break;
        };
        if !save(&b.record[..len]) {
            break;
        }
        saved += 1;
        saved_bytes += range.len();
        crate::error!(
            "pstore: Panic#{count} Part{part} ({} bytes of log) written as record {id:#018x}",
            range.len()
        );
    }
    let took = crate::arch::x86_64::tsc::now_us().saturating_sub(t0);
    if saved == total {
        crate::error!("pstore: console log of Panic#{count} saved: {saved} part(s), {saved_bytes} bytes in {took} us");
    } else {
        crate::error!(
            "pstore: console log of Panic#{count}: parts {}..{total} not saved ({} bytes of log lost); the machine-check records came first",
            saved + 1,
            n - saved_bytes
        );
    }
}

/// One line for `erst list` when `bytes` is a pstore log record (or a
/// malformed one); `None` for other records.
pub fn summary(bytes: &[u8]) -> Option<alloc::string::String> {
    use crate::pstore::record::{parse_pstore, PstoreError, PstoreLog};
    Some(match parse_pstore(bytes) {
        Ok(None) | Err(PstoreError::Cper(_)) => return None,
        Ok(Some(PstoreLog::Dmesg { part, text, .. })) => alloc::format!(
            "dmesg {} {} bytes of log",
            part.map(|p| alloc::format!("{p}"))
                .unwrap_or_else(|| "(no Panic#N PartM line)".into()),
            text.len()
        ),
        Ok(Some(PstoreLog::Compressed { len, .. })) => {
            alloc::format!("dmesg-Z compressed {len} bytes (Linux's; not decoded)")
        }
        Err(e) => alloc::format!("bad log record: {e}"),
    })
}

/// Prints a pstore log record read from the store (its last `lines` lines
/// of text, or all); false when `bytes` is no log record (a malformed
/// CPER record is left to the general describer).
pub fn print_log(id: u64, bytes: &[u8], lines: Option<usize>) -> bool {
    use crate::pstore::record::{parse_pstore, PstoreError, PstoreLog};
    match parse_pstore(bytes) {
        Ok(None) | Err(PstoreError::Cper(_)) => false,
        Err(e) => {
            crate::warn!("erst: record {id:#018x}: {e}; skipped");
            true
        }
        Ok(Some(PstoreLog::Compressed { len, unix_time })) => {
            crate::info!(
                "erst: record {id:#018x}: Linux pstore compressed console log (dmesg-Z), {len} bytes{}; not decoded",
                time_note(unix_time)
            );
            true
        }
        Ok(Some(PstoreLog::Dmesg {
            part,
            text,
            unix_time,
        })) => {
            let total = text.lines().count();
            let skip = lines.map_or(0, |n| total.saturating_sub(n));
            crate::info!(
                "erst: record {id:#018x}: console log from an earlier boot (pstore dmesg{}), {} bytes, {total} line(s){}{}:",
                part.map(|p| alloc::format!(" {p}")).unwrap_or_default(),
                text.len(),
                time_note(unix_time),
                if skip > 0 {
                    alloc::format!("; its last {} ('erst show {id:#x}' for all)", total - skip)
                } else {
                    alloc::string::String::new()
                }
            );
            crate::klog::log_with(crate::config::LogLevel::Info, "erst:   | ", |w| {
                for l in text.lines().skip(skip) {
                    let _ = writeln!(w, "{l}");
                }
            });
            true
        }
    }
}

fn time_note(unix: Option<u64>) -> alloc::string::String {
    match unix {
        Some(t) => alloc::format!(", written at Unix time {t}"),
        None => alloc::string::String::new(),
    }
}
