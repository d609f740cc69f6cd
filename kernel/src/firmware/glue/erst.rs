//! The ERST store in the kernel: finding and taking over the table at boot
//! (its register pages and error log range kept from the frame allocator),
//! listing and exporting the records earlier boots left, showing one, and
//! the record ids this boot writes under.

use super::access::{HwAccess, MappedLog};
use super::acpi::{find, phys_bytes};
use crate::apei::cper;
use crate::apei::erst::{Erst, ErstTable};
use crate::apei::gas::AddressSpace;
use crate::apei::record_id::{self, RecordIds};
use crate::arch::x86_64::tsc;
use crate::boot::{phys_to_virt, FRAMES};
use crate::clock::TscClock;
use crate::{error, info, warn};
use alloc::collections::BTreeSet;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

pub type Store = Erst<HwAccess, TscClock, MappedLog>;

/// The ERST store, once probed.
pub static ERST: Mutex<Option<Store>> = Mutex::new(None);
/// Record ids found at boot: printed (exported) then, so they may be
/// reclaimed when the store is full.
pub static EXPORTED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

/// Wall-clock seconds at boot (RTC), 0 when unknown.
pub static BOOT_UNIX: AtomicU32 = AtomicU32::new(0);
static RECORD_IDS: RecordIds = RecordIds::new();

/// A new record id: wall-clock seconds in the upper half, a counter in the
/// lower (Linux's scheme, [`crate::apei::record_id`]), never 0.
pub fn next_record_id() -> u64 {
    let secs = record_id::wall_seconds(BOOT_UNIX.load(Ordering::Relaxed), tsc::now_us());
    RECORD_IDS.next(secs)
}

/// Reserves the physical pages an APEI table's registers live in, so the
/// frame allocator never hands them out.
fn reserve_registers(entries: &[crate::apei::interp::InstructionEntry]) {
    let mut frames = FRAMES.lock();
    for e in entries {
        if e.register.space == AddressSpace::SystemMemory && e.register.address != 0 {
            frames.reserve(e.register.address, e.register.address + 8);
        }
    }
}

/// Finds, checks and takes over the ERST; lists the previous boots' records.
pub fn init() {
    let Some(t) = find(b"ERST") else {
        info!("erst: no ERST table; fatal errors will not survive a reboot");
        return;
    };
    let table = match ErstTable::parse(t.bytes) {
        Ok(tab) => tab,
        Err(e) => {
            error!(
                "erst: ERST table at {:#x} is malformed ({e}); ignored",
                t.phys
            );
            return;
        }
    };
    reserve_registers(&table.entries);
    let range = match Store::probe_error_log_range(&table, &mut HwAccess, &TscClock) {
        Ok(r) => r,
        Err(e) => {
            error!("erst: cannot get the error log address range: {e}");
            return;
        }
    };
    let len = range.length as usize;
    if phys_bytes(range.address, len).is_none() || len == 0 || len > 16 << 20 {
        error!(
            "erst: error log range {:#x}+{:#x} is not usable memory; ignored",
            range.address, range.length
        );
        return;
    }
    FRAMES
        .lock()
        .reserve(range.address, range.address + range.length);
    // SAFETY: the range lies in the physical mapping (checked above), which
    // is never unmapped, and its frames are now reserved for the firmware.
    let log = unsafe { MappedLog::new(phys_to_virt(range.address), len) };
    let mut store = match Store::new(table, HwAccess, TscClock, log) {
        Ok(s) => s,
        Err(e) => {
            error!("erst: {e}");
            return;
        }
    };
    let count = store.record_count();
    info!(
        "erst: {} entries, error log range {:#x} ({} bytes), {} record(s) in the store",
        store.table().entries.len(),
        range.address,
        range.length,
        match count {
            Ok(n) => alloc::format!("{n}"),
            Err(e) => alloc::format!("unknown ({e})"),
        }
    );
    list_previous(&mut store);
    crate::pstore::glue::set_record_slot(len);
    *ERST.lock() = Some(store);
}

/// Prints every record in the store (decoded MCE records as on the live
/// path, others described) with a machine-readable hex copy, and marks them
/// exported.
fn list_previous(store: &mut Store) {
    let ids = match store.ids() {
        Ok(ids) => ids,
        Err(e) => {
            error!("erst: cannot enumerate records: {e}");
            return;
        }
    };
    let mut buf = alloc::vec![0u8; store.error_log_range().length as usize];
    let mut exported = EXPORTED.lock();
    for id in ids {
        match store.read(id, &mut buf) {
            Ok(len) => {
                print_record(id, &buf[..len], Some(BOOT_LOG_LINES));
                exported.insert(id);
            }
            Err(e) => warn!("erst: record {id:#018x}: cannot read: {e}"),
        }
    }
    if !exported.is_empty() {
        info!(
            "erst: {} record(s) from earlier boots listed and exported; they stay until 'erst clear'",
            exported.len()
        );
    }
}

/// Lines of a saved console log shown at boot (its end); `erst show`
/// prints all of it.
const BOOT_LOG_LINES: usize = 12;

/// Prints one stored record: decoded if it is a machine-check record, its
/// text if it is a pstore log (the last `log_lines` lines, or all),
/// described otherwise; then the raw bytes as hex (the export format).
pub fn print_record(id: u64, bytes: &[u8], log_lines: Option<usize>) {
    if crate::pstore::glue::print_log(id, bytes, log_lines) {
        export_hex(id, bytes);
        return;
    }
    match cper::decode_mce(bytes) {
        Ok((_, rec)) => {
            info!("erst: record {id:#018x}: machine check from an earlier boot:");
            crate::mca::log::glue::consumer::print_record(&rec);
        }
        Err(e) => {
            info!("erst: record {id:#018x}: {e}");
            crate::klog::log_with(crate::config::LogLevel::Info, "erst:   ", |w| {
                let _ = cper::describe(bytes, w);
            });
        }
    }
    export_hex(id, bytes);
}

/// `erst-export <id> <offset> <hex>` lines, 32 bytes each.
pub fn export_hex(id: u64, bytes: &[u8]) {
    crate::klog::log_with(crate::config::LogLevel::Info, "", |w| {
        for (i, chunk) in bytes.chunks(32).enumerate() {
            let _ = write!(w, "erst-export {id:016x} {:04x} ", i * 32);
            for b in chunk {
                let _ = write!(w, "{b:02x}");
            }
            let _ = writeln!(w);
        }
    });
}
