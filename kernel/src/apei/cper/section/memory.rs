//! The platform memory error section (UEFI spec N.2.5), in its UEFI 2.1/2.2
//! and 2.3 layouts.

use core::fmt;

use crate::apei::cper::CperError;
use crate::apei::table::Reader;

/// Platform memory error section (UEFI N.2.5), the fields useful in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MemoryError {
    pub validation_bits: u64,
    pub error_status: u64,
    pub physical_address: u64,
    pub physical_address_mask: u64,
    pub node: u16,
    pub card: u16,
    pub module: u16,
    pub bank: u16,
    pub device: u16,
    /// Row, with the two extension bits (18:16) when they are valid.
    pub row: u32,
    pub column: u16,
    pub bit_position: u16,
    pub requestor_id: u64,
    pub responder_id: u64,
    pub target_id: u64,
    pub error_type: u8,
    pub rank: u16,
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
    pub const ROW_EXT: u64 = 1 << 18;
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
            rank: 0,
        };
        if b.len() < Self::LEN {
            // Bits for fields the old layout does not have mean nothing.
            m.validation_bits &= mem_valid::RANK - 1;
        } else {
            let extended = r.u8()?;
            m.rank = r.u16()?;
            if m.validation_bits & mem_valid::ROW_EXT != 0 {
                m.row |= ((extended & 3) as u32) << 16;
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
            11 => "mirror broken",
            12 => "memory sparing",
            13 => "scrub corrected error",
            14 => "scrub uncorrected error",
            15 => "physical memory map-out event",
            _ => "reserved",
        }
    }
}

impl fmt::Display for MemoryError {
    /// Only the fields whose validation bit is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory error:")?;
        if self.has(mem_valid::ERROR_TYPE) {
            write!(f, " {}", Self::error_type_name(self.error_type))?;
        }
        if let Some(a) = self.address() {
            write!(f, " physical address {a:#x}")?;
        }
        if self.has(mem_valid::PA_MASK) {
            write!(f, " mask {:#x}", self.physical_address_mask)?;
        }
        let fields: [(u64, &str, u32); 9] = [
            (mem_valid::NODE, "node", self.node as u32),
            (mem_valid::CARD, "card", self.card as u32),
            (mem_valid::MODULE, "module", self.module as u32),
            (mem_valid::RANK, "rank", self.rank as u32),
            (mem_valid::BANK, "bank", self.bank as u32),
            (mem_valid::DEVICE, "device", self.device as u32),
            (mem_valid::ROW | mem_valid::ROW_EXT, "row", self.row),
            (mem_valid::COLUMN, "column", self.column as u32),
            (mem_valid::BIT_POSITION, "bit", self.bit_position as u32),
        ];
        for (bit, name, v) in fields {
            if self.has(bit) {
                write!(f, " {name} {v}")?;
            }
        }
        if self.has(mem_valid::ERROR_STATUS) {
            write!(f, " status {:#x}", self.error_status)?;
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
        assert_eq!(old.row, 0x1234);
        assert!(MemoryError::parse(&m[..72]).is_err());
        assert!(ProcessorGenericError::parse(&[0; 191]).is_err());
    }
}
