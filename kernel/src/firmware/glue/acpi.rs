//! ACPI in the kernel: the processors of the MADT through the `acpi` crate,
//! and raw tables by signature (for the APEI parsers) through our own walk,
//! all read through the physical-memory mapping.

use crate::apei::table::{ParseError, Sig};
use crate::boot::{phys_to_virt, platform};
use crate::firmware::tables::{self, Rsdp};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use alloc::vec::Vec;
use core::ptr::NonNull;

/// Maps physical memory by the bootloader's offset mapping (nothing to map
/// or unmap).
#[derive(Clone, Copy)]
struct DirectMap;

impl AcpiHandler for DirectMap {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = phys_to_virt(phys as u64) as *mut T;
        // SAFETY: the physical-memory mapping covers every physical address
        // below `platform().max_phys` (checked by callers of the walk), so
        // `virt` is mapped for `size` bytes and never unmapped.
        unsafe {
            PhysicalMapping::new(
                phys,
                NonNull::new(virt).expect("mapped address is not null"),
                size,
                size,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Bytes of physical memory, if the range lies inside the mapping.
pub fn phys_bytes(phys: u64, len: usize) -> Option<&'static [u8]> {
    let end = phys.checked_add(len as u64)?;
    if phys == 0 || end > platform().max_phys {
        return None;
    }
    // SAFETY: the range is inside the physical-memory mapping (checked
    // above), which is never unmapped; firmware tables are only read.
    Some(unsafe { core::slice::from_raw_parts(phys_to_virt(phys) as *const u8, len) })
}

/// The processors the MADT lists.
pub struct Processors {
    pub bsp_apic_id: u32,
    /// APIC ids of the enabled application processors, in MADT order.
    pub aps: Vec<u32>,
    /// Entries marked disabled (not startable).
    pub disabled: usize,
}

/// Reads the MADT (local APIC and x2APIC entries) with the `acpi` crate.
pub fn processors() -> Result<Processors, alloc::string::String> {
    let rsdp = platform().rsdp.ok_or("no RSDP from the bootloader")?;
    // SAFETY: the bootloader found the RSDP at this address.
    let tables = unsafe { AcpiTables::from_rsdp(DirectMap, rsdp as usize) }
        .map_err(|e| alloc::format!("ACPI tables: {e:?}"))?;
    let info = tables
        .platform_info()
        .map_err(|e| alloc::format!("MADT: {e:?}"))?;
    let pi = info.processor_info.ok_or("MADT lists no processors")?;
    let mut aps = Vec::new();
    let mut disabled = 0;
    for p in pi.application_processors.iter() {
        match p.state {
            acpi::platform::ProcessorState::Disabled => disabled += 1,
            _ => aps.push(p.local_apic_id),
        }
    }
    Ok(Processors {
        bsp_apic_id: pi.boot_processor.local_apic_id,
        aps,
        disabled,
    })
}

fn rsdp() -> Result<Rsdp, ParseError> {
    let phys = platform().rsdp.ok_or(ParseError::BadValue {
        field: "RSDP address",
        value: 0,
    })?;
    let bytes = phys_bytes(phys, 36).ok_or(ParseError::BadValue {
        field: "RSDP address",
        value: phys,
    })?;
    tables::parse_rsdp(bytes)
}

/// Reads a whole table at `phys` (length from its header, at most 1 MiB).
fn table_at(phys: u64) -> Result<&'static [u8], ParseError> {
    let head = phys_bytes(phys, 36).ok_or(ParseError::BadValue {
        field: "table address",
        value: phys,
    })?;
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if !(36..=1 << 20).contains(&len) {
        return Err(ParseError::BadLength {
            field: "table length",
            value: len as u64,
        });
    }
    phys_bytes(phys, len).ok_or(ParseError::BadValue {
        field: "table address",
        value: phys,
    })
}

/// One table listed by the RSDT/XSDT.
pub struct TableRef {
    pub signature: [u8; 4],
    pub phys: u64,
    pub bytes: &'static [u8],
}

/// Root entries that could not be read: (address, why).
pub type Unreadable = Vec<(u64, ParseError)>;

/// Every table the root lists, with problems (unreadable entries) reported
/// as (address, error). Checksums are checked by each table's parser.
pub fn list() -> Result<(Vec<TableRef>, Unreadable), ParseError> {
    let r = rsdp()?;
    let root_phys = r.xsdt.unwrap_or(r.rsdt as u64);
    let root = table_at(root_phys)?;
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for phys in tables::root_entries(root)? {
        match table_at(phys) {
            Ok(bytes) => ok.push(TableRef {
                signature: [bytes[0], bytes[1], bytes[2], bytes[3]],
                phys,
                bytes,
            }),
            Err(e) => bad.push((phys, e)),
        }
    }
    Ok((ok, bad))
}

/// The first table with `signature`, if listed.
pub fn find(signature: &[u8; 4]) -> Option<TableRef> {
    list()
        .ok()?
        .0
        .into_iter()
        .find(|t| &t.signature == signature)
}

/// A one-line summary of the tables, e.g. `FACP APIC HPET MCFG WAET ERST`.
pub fn summary() -> alloc::string::String {
    use core::fmt::Write;
    let mut s = alloc::string::String::new();
    match list() {
        Ok((tables, bad)) => {
            for t in &tables {
                let _ = write!(s, "{:?} ", Sig(t.signature));
            }
            for (phys, e) in &bad {
                let _ = write!(s, "[unreadable entry at {phys:#x}: {e}] ");
            }
        }
        Err(e) => {
            let _ = write!(s, "no usable RSDP/RSDT: {e}");
        }
    }
    s.trim_end().into()
}
