//! ACPI in the kernel: raw tables by signature through our own walk (for
//! the MADT and APEI parsers), read through the physical-memory mapping.

use crate::apei::table::{ParseError, Sig};
use crate::boot::{phys_to_virt, platform};
use crate::firmware::madt::{self, Processor};
use crate::firmware::tables::{self, Rsdp};
use alloc::vec::Vec;

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

/// What the MADT says about the processors, seen from the boot CPU.
pub struct Processors {
    /// Enabled processors other than the boot CPU, in MADT order.
    pub aps: Vec<Processor>,
    /// The boot CPU's entry, if the MADT lists it.
    pub bsp: Option<Processor>,
    /// Entries marked disabled (not startable; hot-pluggable at most).
    pub disabled: usize,
    /// Meaningless or repeated entries skipped.
    pub skipped: usize,
}

/// Reads the MADT (types 0 and 9, bounds-checked by our parser);
/// `bsp_apic_id` is the calling (boot) CPU's id.
pub fn processors(bsp_apic_id: u32) -> Result<Processors, alloc::string::String> {
    let t = find(b"APIC").ok_or("no MADT")?;
    let m = madt::parse(t.bytes).map_err(|e| alloc::format!("MADT: {e}"))?;
    let mut p = Processors {
        aps: Vec::new(),
        bsp: None,
        disabled: 0,
        skipped: m.skipped,
    };
    for c in m.processors {
        if c.apic_id == bsp_apic_id {
            p.bsp = Some(c);
        } else if c.enabled() {
            p.aps.push(c);
        } else {
            p.disabled += 1;
        }
    }
    Ok(p)
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
