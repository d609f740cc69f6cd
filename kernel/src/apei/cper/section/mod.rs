//! CPER section bodies (UEFI spec N.2.4 onwards) that we decode, one file per
//! section type, and [`write_section`], the single dispatch by section type
//! GUID shared by every reader of error records: whole CPER records (ERST,
//! `describe`), Generic Error Status Blocks (BERT, GHES). A new section type
//! gets its own file here and one arm in [`write_section`].
//!
//! The words are those of Linux's `cper.c` (`section_type: memory error`,
//! `physical_address: 0x...`, `error_type: 3, multi-bit ECC`), so a console
//! log reads like Linux's `[Hardware Error]` output. Writing never allocates:
//! the GHES panic path prints from NMI context.

use core::fmt;

use super::mce::write_mce;
use super::{guids, LinuxMce};
use crate::apei::guid::Guid;

mod fw_error_ref;
mod memory;
mod pcie;
mod processor_generic;

pub use fw_error_ref::FirmwareErrorRef;
pub use memory::{mem_valid, MemoryError};
pub use pcie::{pcie_valid, PcieError};
pub use processor_generic::ProcessorGenericError;

const SPACES: &str = "                                ";

/// `n` spaces: the indentation of one nesting level of the output (Linux
/// adds one space per level).
#[derive(Clone, Copy)]
pub struct Indent(pub usize);

impl fmt::Display for Indent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&SPACES[..self.0.min(SPACES.len())])
    }
}

/// Writes a section body readably: its `section_type:` line, then the
/// fields of the types we decode; any other type by its GUID and length
/// with a hex dump (Linux's words for unknown sections).
pub fn write_section(out: &mut dyn fmt::Write, ind: usize, ty: &Guid, data: &[u8]) -> fmt::Result {
    let pfx = Indent(ind);
    let res = match *ty {
        guids::SEC_LINUX_MCE => {
            writeln!(out, "{pfx}section_type: Linux machine check (struct mce)")?;
            LinuxMce::parse(data).map(|m| write_mce(out, &SPACES[..ind.min(SPACES.len())], &m))
        }
        guids::SEC_PLATFORM_MEM => {
            writeln!(out, "{pfx}section_type: memory error")?;
            MemoryError::parse(data).map(|m| m.write_fields(out, ind))
        }
        guids::SEC_PROC_GENERIC => {
            writeln!(out, "{pfx}section_type: general processor error")?;
            ProcessorGenericError::parse(data).map(|p| p.write_fields(out, ind))
        }
        guids::SEC_PCIE => {
            writeln!(out, "{pfx}section_type: PCIe error")?;
            PcieError::parse(data).map(|p| p.write_fields(out, ind))
        }
        guids::SEC_FW_ERR_REC_REF => {
            writeln!(out, "{pfx}section_type: Firmware Error Record Reference")?;
            FirmwareErrorRef::parse(data).map(|r| r.write_fields(out, ind, data))
        }
        _ => {
            match guids::section_type_name(ty) {
                Some(name) => writeln!(out, "{pfx}section_type: {name} ({ty})")?,
                None => writeln!(out, "{pfx}section type: unknown, {ty}")?,
            }
            writeln!(out, "{pfx}section length: {:#x}", data.len())?;
            return hex_dump(out, ind, data);
        }
    };
    match res {
        Ok(r) => r,
        Err(e) => writeln!(out, "{pfx}error section length is too small: {e}"),
    }
}

/// The longest hex dump printed of one section; the rest is counted.
pub const HEX_DUMP_MAX: usize = 256;

/// Linux's `print_hex_dump(DUMP_PREFIX_OFFSET, 16, 4, ascii)`: offset, four
/// little-endian 32-bit groups, the bytes as text. At most [`HEX_DUMP_MAX`]
/// bytes.
pub fn hex_dump(out: &mut dyn fmt::Write, ind: usize, data: &[u8]) -> fmt::Result {
    let shown = &data[..data.len().min(HEX_DUMP_MAX)];
    for (row, chunk) in shown.chunks(16).enumerate() {
        write!(out, "{}{:08x}:", Indent(ind), row * 16)?;
        for group in chunk.chunks(4) {
            out.write_str(" ")?;
            for b in group.iter().rev() {
                write!(out, "{b:02x}")?;
            }
        }
        // Pad short rows so the text column lines up.
        let missing = 16 - chunk.len();
        for _ in 0..(missing * 2 + missing.div_ceil(4)) {
            out.write_str(" ")?;
        }
        out.write_str("  ")?;
        for &b in chunk {
            let c = if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            };
            write!(out, "{c}")?;
        }
        writeln!(out)?;
    }
    if data.len() > shown.len() {
        writeln!(
            out,
            "{}({} more byte(s) not shown)",
            Indent(ind),
            data.len() - shown.len()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn unknown_sections_are_dumped_by_guid_and_length() {
        let mut s = String::new();
        let data: alloc::vec::Vec<u8> = (0u8..20).collect();
        write_section(&mut s, 2, &Guid([7; 16]), &data).unwrap();
        let lines: alloc::vec::Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[0],
            "  section type: unknown, 07070707-0707-0707-0707-070707070707"
        );
        assert_eq!(lines[1], "  section length: 0x14");
        assert!(lines[2].starts_with("  00000000: 03020100 07060504 0b0a0908 0f0e0d0c  "));
        assert!(lines[3].starts_with("  00000010: 13121110"));
        // Named but undecoded types say their name.
        let mut s = String::new();
        write_section(&mut s, 0, &guids::SEC_PROC_IA, &[]).unwrap();
        assert!(s.starts_with("section_type: IA32/X64 processor error ("));
        // A long body is cut.
        let mut s = String::new();
        hex_dump(&mut s, 0, &[0u8; 300]).unwrap();
        assert_eq!(s.lines().count(), HEX_DUMP_MAX / 16 + 1);
        assert!(s.ends_with("(44 more byte(s) not shown)\n"));
    }

    #[test]
    fn short_known_sections_are_reported() {
        let mut s = String::new();
        write_section(&mut s, 1, &guids::SEC_PLATFORM_MEM, &[0; 10]).unwrap();
        assert!(s.contains(" section_type: memory error\n"));
        assert!(s.contains(" error section length is too small: memory error section is 10"));
    }
}
