//! The platform memory error section (UEFI spec N.2.5), in its UEFI 2.1/2.2
//! and 2.3 layouts.

use core::fmt;

use super::Indent;
use crate::apei::cper::CperError;
use crate::apei::table::Reader;

/// Platform memory error section (UEFI N.2.5), the fields useful in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MemoryError {
    /// The validation bits that apply to the layout read (see `ignored_bits`).
    pub validation_bits: u64,
    /// Bits set for fields the (old, 73-byte) layout does not have: a
    /// firmware bug, said when printed.
    pub ignored_bits: u64,
    pub error_status: u64,
    pub physical_address: u64,
    pub physical_address_mask: u64,
    pub node: u16,
    pub card: u16,
    pub module: u16,
    /// Bank, or (with the bank group/address bits) group in 15:8, address in 7:0.
    pub bank: u16,
    pub device: u16,
    /// Row, with the two extension bits (17:16) when they are valid.
    pub row: u32,
    pub column: u16,
    pub bit_position: u16,
    pub requestor_id: u64,
    pub responder_id: u64,
    pub target_id: u64,
    pub error_type: u8,
    /// Bits 1:0 row extension, 7:5 chip id (UEFI 2.7).
    pub extended: u8,
    pub rank: u16,
    pub card_handle: u16,
    pub module_handle: u16,
}

/// Validation bits of the memory error section.
pub mod mem_valid {
    pub const ERROR_STATUS: u64 = 1 << 0;
    pub const PA: u64 = 1 << 1;
    pub const PA_MASK: u64 = 1 << 2;
    pub const NODE: u64 = 1 << 3;
    pub const CARD: u64 = 1 << 4;
    pub const MODULE: u64 = 1 << 5;
    pub const BANK: u64 = 1 << 6;
    pub const DEVICE: u64 = 1 << 7;
    pub const ROW: u64 = 1 << 8;
    pub const COLUMN: u64 = 1 << 9;
    pub const BIT_POSITION: u64 = 1 << 10;
    pub const REQUESTOR_ID: u64 = 1 << 11;
    pub const RESPONDER_ID: u64 = 1 << 12;
    pub const TARGET_ID: u64 = 1 << 13;
    pub const ERROR_TYPE: u64 = 1 << 14;
    pub const RANK: u64 = 1 << 15;
    pub const CARD_HANDLE: u64 = 1 << 16;
    pub const MODULE_HANDLE: u64 = 1 << 17;
    pub const ROW_EXT: u64 = 1 << 18;
    pub const BANK_GROUP: u64 = 1 << 19;
    pub const BANK_ADDRESS: u64 = 1 << 20;
    pub const CHIP_ID: u64 = 1 << 21;
}

impl MemoryError {
    /// UEFI 2.1/2.2 layout; fields from `rank` on came with UEFI 2.3.
    pub const OLD_LEN: usize = 73;
    pub const LEN: usize = 80;

    pub fn parse(b: &[u8]) -> Result<Self, CperError> {
        if b.len() < Self::OLD_LEN {
            return Err(CperError::SectionTooShort {
                what: "memory error section",
                length: b.len(),
                needed: Self::OLD_LEN,
            });
        }
        let mut r = Reader::new(b);
        let mut m = MemoryError {
            validation_bits: r.u64()?,
            ignored_bits: 0,
            error_status: r.u64()?,
            physical_address: r.u64()?,
            physical_address_mask: r.u64()?,
            node: r.u16()?,
            card: r.u16()?,
            module: r.u16()?,
            bank: r.u16()?,
            device: r.u16()?,
            row: r.u16()? as u32,
            column: r.u16()?,
            bit_position: r.u16()?,
            requestor_id: r.u64()?,
            responder_id: r.u64()?,
            target_id: r.u64()?,
            error_type: r.u8()?,
            ..Default::default()
        };
        if b.len() < Self::LEN {
            // Bits for fields the old layout does not have mean nothing.
            m.ignored_bits = m.validation_bits & !(mem_valid::RANK - 1);
            m.validation_bits &= mem_valid::RANK - 1;
        } else {
            m.extended = r.u8()?;
            m.rank = r.u16()?;
            m.card_handle = r.u16()?;
            m.module_handle = r.u16()?;
            if m.validation_bits & mem_valid::ROW_EXT != 0 {
                m.row |= ((m.extended & 3) as u32) << 16;
            }
        }
        Ok(m)
    }

    fn has(&self, bit: u64) -> bool {
        self.validation_bits & bit != 0
    }

    /// The physical address, when valid.
    pub fn address(&self) -> Option<u64> {
        self.has(mem_valid::PA).then_some(self.physical_address)
    }

    /// Linux's names of the error types (`cper_mem_err_type_str`).
    pub const fn error_type_name(t: u8) -> &'static str {
        match t {
            0 => "unknown",
            1 => "no error",
            2 => "single-bit ECC",
            3 => "multi-bit ECC",
            4 => "single-symbol chipkill ECC",
            5 => "multi-symbol chipkill ECC",
            6 => "master abort",
            7 => "target abort",
            8 => "parity error",
            9 => "watchdog timeout",
            10 => "invalid address",
            11 => "mirror Broken",
            12 => "memory sparing",
            13 => "scrub corrected error",
            14 => "scrub uncorrected error",
            15 => "physical memory map-out event",
            _ => "unknown",
        }
    }

    /// The meaning of the error status's type field (bits 15:8), as the
    /// UEFI spec's table of error status types (Linux `cper_mem_err_status_str`).
    pub const fn error_status_name(status: u64) -> &'static str {
        match (status >> 8) & 0xff {
            1 => "Error detected internal to the component",
            4 => "Storage error in DRAM memory",
            5 => "Storage error in TLB",
            6 => "Storage error in cache",
            7 => "Error in one or more functional units",
            8 => "Component failed self test",
            9 => "Overflow or undervalue of internal queue",
            16 => "Error detected in the bus",
            17 => "Virtual address not found on IO-TLB or IO-PDIR",
            18 => "Improper access error",
            19 => "Access to a memory address which is not mapped to any component",
            20 => "Loss of Lockstep",
            21 => "Response not associated with a request",
            22 => "Bus parity error - must also set the A, C, or D Bits",
            23 => "Detection of a protocol error",
            24 => "Detection of a PATH_ERROR",
            25 => "Bus operation timeout",
            26 => "A read was issued to data that has been poisoned",
            _ => "Reserved",
        }
    }

    /// The fields whose validation bit is set, one per line, in Linux's
    /// words and order (`cper_print_mem`), each line indented by `ind`.
    pub fn write_fields(&self, out: &mut dyn fmt::Write, ind: usize) -> fmt::Result {
        let pfx = Indent(ind);
        if self.ignored_bits != 0 {
            writeln!(
                out,
                "{pfx}valid bits set for fields beyond structure ({:#x}, ignored)",
                self.ignored_bits
            )?;
        }
        if self.has(mem_valid::ERROR_STATUS) {
            writeln!(
                out,
                "{pfx}error_status: {} ({:#018x})",
                Self::error_status_name(self.error_status),
                self.error_status
            )?;
        }
        if let Some(a) = self.address() {
            writeln!(out, "{pfx}physical_address: {a:#018x}")?;
        }
        if self.has(mem_valid::PA_MASK) {
            writeln!(
                out,
                "{pfx}physical_address_mask: {:#018x}",
                self.physical_address_mask
            )?;
        }
        let location: [(u64, &str, u32); 12] = [
            (mem_valid::NODE, "node", self.node as u32),
            (mem_valid::CARD, "card", self.card as u32),
            (mem_valid::MODULE, "module", self.module as u32),
            (mem_valid::RANK, "rank", self.rank as u32),
            (mem_valid::BANK, "bank", self.bank as u32),
            (mem_valid::BANK_GROUP, "bank_group", (self.bank >> 8) as u32),
            (
                mem_valid::BANK_ADDRESS,
                "bank_address",
                (self.bank & 0xff) as u32,
            ),
            (mem_valid::DEVICE, "device", self.device as u32),
            (mem_valid::ROW | mem_valid::ROW_EXT, "row", self.row),
            (mem_valid::COLUMN, "column", self.column as u32),
            (
                mem_valid::BIT_POSITION,
                "bit_position",
                self.bit_position as u32,
            ),
            (mem_valid::CHIP_ID, "chip_id", (self.extended >> 5) as u32),
        ];
        let ids: [(u64, &str, u64); 3] = [
            (mem_valid::REQUESTOR_ID, "requestor_id", self.requestor_id),
            (mem_valid::RESPONDER_ID, "responder_id", self.responder_id),
            (mem_valid::TARGET_ID, "target_id", self.target_id),
        ];
        let any =
            location.iter().any(|(b, ..)| self.has(*b)) || ids.iter().any(|(b, ..)| self.has(*b));
        if any {
            write!(out, "{pfx}")?;
            for (bit, name, v) in location {
                if self.has(bit) {
                    write!(out, "{name}:{v} ")?;
                }
            }
            for (bit, name, v) in ids {
                if self.has(bit) {
                    write!(out, "{name}:{v:#018x} ")?;
                }
            }
            writeln!(out)?;
        }
        if self.has(mem_valid::ERROR_TYPE) {
            writeln!(
                out,
                "{pfx}error_type: {}, {}",
                self.error_type,
                Self::error_type_name(self.error_type)
            )?;
        }
        if self.has(mem_valid::MODULE_HANDLE) {
            writeln!(
                out,
                "{pfx}DIMM location: not present. DMI handle: 0x{:04x}",
                self.module_handle
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::memory_error_payload;
    use crate::apei::cper::ProcessorGenericError;

    #[test]
    fn old_memory_section_ignores_new_bits() {
        let mut m = memory_error_payload(0x2000);
        m[0..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let old = MemoryError::parse(&m[..MemoryError::OLD_LEN]).unwrap();
        assert_eq!(old.validation_bits, 0x7fff);
        assert_eq!(old.ignored_bits, !0x7fff);
        assert_eq!(old.row, 0x1234);
        let mut s = alloc::string::String::new();
        old.write_fields(&mut s, 0).unwrap();
        assert!(s.starts_with("valid bits set for fields beyond structure"));
        assert!(MemoryError::parse(&m[..72]).is_err());
        assert!(ProcessorGenericError::parse(&[0; 191]).is_err());
    }

    #[test]
    fn fields_in_linux_words() {
        let m = MemoryError::parse(&memory_error_payload(0x1_2345_6000)).unwrap();
        let mut s = alloc::string::String::new();
        m.write_fields(&mut s, 3).unwrap();
        assert_eq!(
            s,
            "   physical_address: 0x0000000123456000\n   node:1 bank:5 row:70196 \n   error_type: 3, multi-bit ECC\n"
        );
        let mut all = memory_error_payload(0x1000);
        all[0..8].copy_from_slice(&0x3f_ffffu64.to_le_bytes());
        all[8..16].copy_from_slice(&0x0400u64.to_le_bytes());
        all[73] = 0xa1;
        all[78..80].copy_from_slice(&0x1234u16.to_le_bytes());
        let m = MemoryError::parse(&all).unwrap();
        let mut s = alloc::string::String::new();
        m.write_fields(&mut s, 0).unwrap();
        assert!(s.contains("error_status: Storage error in DRAM memory (0x0000000000000400)"));
        assert!(s.contains("physical_address_mask: 0x"));
        assert!(s.contains("bank:5 bank_group:0 bank_address:5 device:0 row:70196 "));
        assert!(s.contains("chip_id:5 requestor_id:0x0000000000000000 "));
        assert!(s.contains("DIMM location: not present. DMI handle: 0x1234"));
    }
}
