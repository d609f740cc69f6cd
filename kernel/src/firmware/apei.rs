//! APEI in the kernel: the hardware side of the register interface (system
//! memory through the physical mapping, system I/O through ports), the ERST
//! record store with its export and reclaim policy, the machine-check panic
//! path's write, and the boot-time reports of BERT and HEST.

use super::acpi::{find, phys_bytes};
use crate::apei::cper;
use crate::apei::erst::{Erst, ErstError, ErstTable, LogBuffer};
use crate::apei::gas::{AccessError, AddressSpace, RegisterAccess};
use crate::arch::x86_64::tsc;
use crate::boot::{phys_to_virt, FRAMES};
use crate::clock::TscClock;
use crate::mca::record::MceRecord;
use crate::{error, info, warn};
use alloc::collections::BTreeSet;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;
use x86_64::instructions::port::Port;

/// Register access for the APEI interpreter on this machine.
pub struct HwAccess;

impl RegisterAccess for HwAccess {
    fn read(&mut self, space: AddressSpace, address: u64, bits: u8) -> Result<u64, AccessError> {
        match space {
            AddressSpace::SystemMemory => {
                let bytes = bits as usize / 8;
                phys_bytes(address, bytes).ok_or(AccessError::Fault { space, address })?;
                let p = phys_to_virt(address);
                // SAFETY: the range was checked to lie in the physical
                // mapping; APEI registers are read with the declared width.
                Ok(unsafe {
                    match bits {
                        8 => core::ptr::read_volatile(p as *const u8) as u64,
                        16 => core::ptr::read_volatile(p as *const u16) as u64,
                        32 => core::ptr::read_volatile(p as *const u32) as u64,
                        _ => core::ptr::read_volatile(p as *const u64),
                    }
                })
            }
            AddressSpace::SystemIo => {
                let port =
                    u16::try_from(address).map_err(|_| AccessError::Fault { space, address })?;
                // SAFETY: the firmware's table names this port as an APEI
                // register; reading it is the protocol.
                Ok(unsafe {
                    match bits {
                        8 => Port::<u8>::new(port).read() as u64,
                        16 => Port::<u16>::new(port).read() as u64,
                        _ => Port::<u32>::new(port).read() as u64,
                    }
                })
            }
            _ => Err(AccessError::Fault { space, address }),
        }
    }

    fn write(
        &mut self,
        space: AddressSpace,
        address: u64,
        bits: u8,
        v: u64,
    ) -> Result<(), AccessError> {
        match space {
            AddressSpace::SystemMemory => {
                phys_bytes(address, bits as usize / 8)
                    .ok_or(AccessError::Fault { space, address })?;
                let p = phys_to_virt(address);
                // SAFETY: as in `read`; the firmware designated this
                // register for the OS to write.
                unsafe {
                    match bits {
                        8 => core::ptr::write_volatile(p as *mut u8, v as u8),
                        16 => core::ptr::write_volatile(p as *mut u16, v as u16),
                        32 => core::ptr::write_volatile(p as *mut u32, v as u32),
                        _ => core::ptr::write_volatile(p as *mut u64, v),
                    }
                }
                Ok(())
            }
            AddressSpace::SystemIo => {
                let port =
                    u16::try_from(address).map_err(|_| AccessError::Fault { space, address })?;
                // SAFETY: as in `read`.
                unsafe {
                    match bits {
                        8 => Port::<u8>::new(port).write(v as u8),
                        16 => Port::<u16>::new(port).write(v as u16),
                        _ => Port::<u32>::new(port).write(v as u32),
                    }
                }
                Ok(())
            }
            _ => Err(AccessError::Fault { space, address }),
        }
    }

    fn stall_us(&mut self, us: u64) {
        tsc::delay_us(us);
    }

    fn flush_cacheline(&mut self, address: u64) {
        if phys_bytes(address, 1).is_some() {
            // SAFETY: clflush of a mapped address has no other effect.
            unsafe { core::arch::asm!("clflush [{}]", in(reg) phys_to_virt(address)) };
        }
    }
}

/// The error log address range, read and written through the mapping.
pub struct MappedLog {
    virt: u64,
    len: usize,
}

impl LogBuffer for MappedLog {
    fn size(&self) -> usize {
        self.len
    }
    fn read_at(&mut self, offset: usize, out: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(out.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: inside the mapped range (checked above).
            *b =
                unsafe { core::ptr::read_volatile((self.virt + (offset + i) as u64) as *const u8) };
        }
        true
    }
    fn write_at(&mut self, offset: usize, data: &[u8]) -> bool {
        let Some(end) = offset.checked_add(data.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            // SAFETY: inside the mapped range (checked above).
            unsafe { core::ptr::write_volatile((self.virt + (offset + i) as u64) as *mut u8, *b) };
        }
        true
    }
}

pub type Store = Erst<HwAccess, TscClock, MappedLog>;

/// The ERST store, once probed.
pub static ERST: Mutex<Option<Store>> = Mutex::new(None);
/// Record ids found at boot: printed (exported) then, so they may be
/// reclaimed when the store is full.
pub static EXPORTED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

/// Wall-clock seconds at boot (RTC), 0 when unknown.
pub static BOOT_UNIX: AtomicU32 = AtomicU32::new(0);
static RECORD_SEQ: AtomicU32 = AtomicU32::new(0);

/// A new record id: wall-clock seconds in the upper half, a counter in the
/// lower (Linux's scheme), never 0.
pub fn next_record_id() -> u64 {
    let secs = BOOT_UNIX.load(Ordering::Relaxed) as u64 + tsc::now_us() / 1_000_000;
    let seq = RECORD_SEQ.fetch_add(1, Ordering::Relaxed) as u64 + 1;
    (secs << 32) | seq
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
pub fn init_erst() {
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
    let log = MappedLog {
        virt: phys_to_virt(range.address),
        len,
    };
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
                print_record(id, &buf[..len]);
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

/// Prints one stored record: decoded if it is a machine-check record,
/// described otherwise; then the raw bytes as hex (the export format).
pub fn print_record(id: u64, bytes: &[u8]) {
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

/// Writes a fatal record from the machine-check panic path: no allocation,
/// no waiting for locks. When the store is full, the oldest exported record
/// is cleared to make room (and that is said).
pub fn write_fatal(rec: &MceRecord) {
    let Some(mut guard) = ERST.try_lock() else {
        error!("erst: store busy; record not saved");
        return;
    };
    let Some(store) = guard.as_mut() else { return };
    let id = next_record_id();
    let bytes = cper::encode_mce_array(rec, id, rec_walltime(rec));
    for _ in 0..8 {
        match store.write(&bytes) {
            Ok(()) => {
                error!(
                    "erst: cpu{} bank {} saved as record {id:#018x}",
                    rec.cpu, rec.bank
                );
                return;
            }
            Err(ErstError::NotEnoughSpace) => {
                let Some(victim) = EXPORTED.try_lock().and_then(|mut e| e.pop_first()) else {
                    error!("erst: store full and no exported record to reclaim; record not saved");
                    return;
                };
                match store.clear(victim) {
                    Ok(()) => error!(
                        "erst: store full: cleared exported record {victim:#018x} (oldest) to make room"
                    ),
                    Err(e) => error!("erst: store full; clearing {victim:#018x} failed: {e}"),
                }
            }
            Err(e) => {
                error!("erst: saving the record failed: {e}");
                return;
            }
        }
    }
}

fn rec_walltime(rec: &MceRecord) -> Option<u64> {
    (rec.walltime != 0).then_some(rec.walltime)
}

/// Reports BERT's boot error region (errors the firmware saw before us).
pub fn report_bert() {
    let Some(t) = find(b"BERT") else {
        info!("bert: no BERT table");
        return;
    };
    let bert = match crate::apei::bert::parse_bert(t.bytes) {
        Ok(b) => b,
        Err(e) => {
            error!(
                "bert: BERT table at {:#x} is malformed ({e}); ignored",
                t.phys
            );
            return;
        }
    };
    let Some(region) = phys_bytes(bert.region_address, bert.region_length as usize) else {
        error!(
            "bert: boot error region {:#x}+{:#x} is not readable memory; ignored",
            bert.region_address, bert.region_length
        );
        return;
    };
    // The region belongs to the firmware; never hand its pages out.
    FRAMES.lock().reserve(
        bert.region_address,
        bert.region_address + bert.region_length as u64,
    );
    info!(
        "bert: boot error region {:#x} ({} bytes):",
        bert.region_address, bert.region_length
    );
    crate::klog::log_with(crate::config::LogLevel::Warn, "bert: ", |w| {
        let _ = crate::apei::bert::describe_boot_errors(region, w);
    });
}

/// Lists HEST's error sources; returns the banks the firmware handles first.
pub fn report_hest() -> u64 {
    let Some(t) = find(b"HEST") else {
        info!("hest: no HEST table; the OS handles every bank");
        return 0;
    };
    let hest = match crate::apei::hest::parse_hest(t.bytes) {
        Ok(h) => h,
        Err(e) => {
            error!(
                "hest: HEST table at {:#x} is malformed ({e}); ignored",
                t.phys
            );
            return 0;
        }
    };
    info!("hest: {} error source(s)", hest.sources.len());
    for s in &hest.sources {
        info!("hest:   {s}");
    }
    if let Some(e) = &hest.error {
        error!("hest: parsing stopped early: {e}; sources before it are used");
    }
    let mut mask = 0u64;
    for b in crate::apei::hest::firmware_first_banks(&hest) {
        if b < 64 {
            mask |= 1 << b;
        }
    }
    if mask != 0 {
        info!(
            "hest: banks handled firmware-first, left to the firmware: {}",
            crate::mca::banks::BankSet(mask)
        );
    }
    mask
}

/// All table signatures, for the boot log.
pub fn tables_line() {
    info!("acpi: tables: {}", super::acpi::summary());
}
