//! The ACPI Generic Error Status Block and its Generic Error Data Entries
//! (ACPI spec 18.3.2.7, Generic Hardware Error Source; layout in 18.3.2.7.1),
//! through which BERT and GHES hand over CPER section bodies without a
//! record header.

use alloc::vec::Vec;
use core::fmt;

use super::guids::Named;
use super::section::write_section_body;
use super::{section_type_name, CperError, CperSeverity, CperTimestamp};
use crate::apei::guid::Guid;
use crate::apei::table::Reader;

/// Block status bits of a Generic Error Status Block.
pub mod block_status {
    pub const UNCORRECTABLE_VALID: u32 = 1 << 0;
    pub const CORRECTABLE_VALID: u32 = 1 << 1;
    pub const MULTIPLE_UNCORRECTABLE: u32 = 1 << 2;
    pub const MULTIPLE_CORRECTABLE: u32 = 1 << 3;
    pub const ENTRY_COUNT_SHIFT: u32 = 4;
    /// Bits 13:4.
    pub const ENTRY_COUNT_MASK: u32 = 0x3ff << ENTRY_COUNT_SHIFT;
}

/// Validation bits of a Generic Error Data Entry.
pub mod entry_valid {
    pub const FRU_ID: u8 = 1 << 0;
    pub const FRU_TEXT: u8 = 1 << 1;
    pub const TIMESTAMP: u8 = 1 << 2;
}

/// One Generic Error Data Entry with its payload (a CPER section body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDataEntry<'a> {
    pub section_type: Guid,
    pub error_severity: CperSeverity,
    pub revision: u16,
    pub validation_bits: u8,
    pub flags: u8,
    pub fru_id: Guid,
    pub fru_text: [u8; 20],
    /// Present from revision 0x300 on.
    pub timestamp: Option<CperTimestamp>,
    pub payload: &'a [u8],
}

impl ErrorDataEntry<'_> {
    pub const LEN: usize = 64;
    pub const LEN_V300: usize = 72;

    /// The FRU text up to its first NUL, when valid and printable.
    pub fn fru_text(&self) -> Option<&str> {
        if self.validation_bits & entry_valid::FRU_TEXT == 0 {
            return None;
        }
        let end = self.fru_text.iter().position(|&b| b == 0).unwrap_or(20);
        core::str::from_utf8(&self.fru_text[..end]).ok()
    }
}

/// A Generic Error Status Block (ACPI 18.3.2.7.1) and its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorStatusBlock<'a> {
    pub block_status: u32,
    pub raw_data_offset: u32,
    pub raw_data_length: u32,
    pub data_length: u32,
    pub error_severity: CperSeverity,
    pub entries: Vec<ErrorDataEntry<'a>>,
    pub raw_data: &'a [u8],
}

impl ErrorStatusBlock<'_> {
    pub const HEADER_LEN: usize = 20;

    /// The entry count firmware claims in the block status (bits 13:4).
    pub const fn claimed_entry_count(&self) -> u32 {
        (self.block_status & block_status::ENTRY_COUNT_MASK) >> block_status::ENTRY_COUNT_SHIFT
    }

    /// Bytes this block occupies, to find the next block in a region: as
    /// Linux counts them (up to the end of the raw data when there is a raw
    /// data offset), but never less than the header and entries.
    pub fn total_len(&self) -> usize {
        let data_end = Self::HEADER_LEN + self.data_length as usize;
        if self.raw_data_offset != 0 {
            data_end.max(self.raw_data_offset as usize + self.raw_data_length as usize)
        } else {
            data_end
        }
    }
}

/// Parses a Generic Error Status Block at the start of `bytes` (which may
/// be longer), checking that every entry and the raw data lie inside it.
pub fn parse_error_status_block(bytes: &[u8]) -> Result<ErrorStatusBlock<'_>, CperError> {
    let mut r = Reader::new(bytes);
    let block_status = r.u32()?;
    let raw_data_offset = r.u32()?;
    let raw_data_length = r.u32()?;
    let data_length = r.u32()?;
    let error_severity = CperSeverity::from_u32(r.u32()?);
    let hl = ErrorStatusBlock::HEADER_LEN;
    let data_end = hl as u64 + data_length as u64;
    if data_end > bytes.len() as u64 {
        return Err(CperError::BadStatusBlock {
            field: "data length",
            value: data_length as u64,
        });
    }
    let data_end = data_end as usize;
    let raw_data = if raw_data_length == 0 {
        &[][..]
    } else {
        let start = raw_data_offset as usize;
        let end = raw_data_offset as u64 + raw_data_length as u64;
        if start < data_end || end > bytes.len() as u64 {
            return Err(CperError::BadStatusBlock {
                field: "raw data offset",
                value: raw_data_offset as u64,
            });
        }
        &bytes[start..end as usize]
    };
    let mut entries = Vec::new();
    let mut pos = hl;
    while pos < data_end {
        let index = entries.len();
        let area = &bytes[..data_end];
        let mut r = Reader::at(area, pos);
        let section_type = Guid(r.array()?);
        let error_severity = CperSeverity::from_u32(r.u32()?);
        let revision = r.u16()?;
        let validation_bits = r.u8()?;
        let flags = r.u8()?;
        let length = r.u32()?;
        let fru_id = Guid(r.array()?);
        let fru_text = r.array()?;
        let timestamp = if revision >> 8 >= 3 {
            Some(CperTimestamp(r.u64()?))
        } else {
            None
        };
        let start = r.position();
        let payload = r
            .bytes(length as usize)
            .map_err(|_| CperError::EntryOutOfBounds {
                index,
                offset: pos,
                length,
                end: data_end,
            })?;
        entries.push(ErrorDataEntry {
            section_type,
            error_severity,
            revision,
            validation_bits,
            flags,
            fru_id,
            fru_text,
            timestamp,
            payload,
        });
        pos = start + length as usize;
    }
    Ok(ErrorStatusBlock {
        block_status,
        raw_data_offset,
        raw_data_length,
        data_length,
        error_severity,
        entries,
        raw_data,
    })
}

/// Prints one status block and its entries readably.
pub fn describe_status_block(b: &ErrorStatusBlock<'_>, out: &mut dyn fmt::Write) -> fmt::Result {
    write!(out, "error status block: severity {}", b.error_severity)?;
    for (bit, name) in [
        (block_status::UNCORRECTABLE_VALID, ", uncorrectable"),
        (block_status::CORRECTABLE_VALID, ", correctable"),
        (
            block_status::MULTIPLE_UNCORRECTABLE,
            ", multiple uncorrectable",
        ),
        (block_status::MULTIPLE_CORRECTABLE, ", multiple correctable"),
    ] {
        if b.block_status & bit != 0 {
            out.write_str(name)?;
        }
    }
    writeln!(out, ", {} entr(ies)", b.entries.len())?;
    for (i, e) in b.entries.iter().enumerate() {
        writeln!(
            out,
            "  entry {i}: {}, severity {}, {} byte(s)",
            Named(&e.section_type, section_type_name(&e.section_type)),
            e.error_severity,
            e.payload.len()
        )?;
        if let Some(ts) = e.timestamp {
            if e.validation_bits & entry_valid::TIMESTAMP != 0 {
                writeln!(out, "    time: {ts}")?;
            }
        }
        if e.validation_bits & entry_valid::FRU_ID != 0 {
            writeln!(out, "    FRU id: {}", e.fru_id)?;
        }
        if let Some(t) = e.fru_text() {
            writeln!(out, "    FRU: {t}")?;
        }
        write_section_body(out, "    ", &e.section_type, e.payload)?;
    }
    if !b.raw_data.is_empty() {
        writeln!(out, "  raw data: {} byte(s)", b.raw_data.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::{block, entry, memory_block};
    use crate::apei::cper::{guids, MemoryError};
    use alloc::string::String;

    #[test]
    fn status_block_with_zero_one_two_entries() {
        let empty = block(0, 3, &[]);
        let b = parse_error_status_block(&empty).unwrap();
        assert!(b.entries.is_empty());
        assert_eq!(b.total_len(), 20);

        let one = memory_block(0x1_2345_6000);
        let b = parse_error_status_block(&one).unwrap();
        assert_eq!(b.claimed_entry_count(), 1);
        assert_eq!(b.error_severity, CperSeverity::Fatal);
        assert_eq!(b.entries.len(), 1);
        let e = &b.entries[0];
        assert_eq!(e.section_type, guids::SEC_PLATFORM_MEM);
        assert_eq!(e.fru_text(), Some("DIMM0"));
        assert_eq!(e.timestamp.unwrap().to_datetime().unwrap().year, 2024);
        let m = MemoryError::parse(e.payload).unwrap();
        assert_eq!(m.address(), Some(0x1_2345_6000));
        assert_eq!(m.row, 0x1_1234);
        let text = alloc::format!("{m}");
        assert!(text.contains("multi-bit ECC physical address 0x123456000 node 1 bank 5"));

        let two = block(
            0x2 | (2 << 4),
            2,
            &[
                entry(guids::SEC_PROC_GENERIC, 2, 0x0201, &[0u8; 192]),
                entry(Guid([7; 16]), 2, 0x0300, &[1, 2, 3]),
            ],
        );
        let b = parse_error_status_block(&two).unwrap();
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].timestamp, None);
        assert_eq!(b.entries[0].payload.len(), 192);
        assert_eq!(b.entries[1].payload, &[1, 2, 3]);
        let mut s = String::new();
        describe_status_block(&b, &mut s).unwrap();
        assert!(s.contains("severity corrected, correctable, 2 entr(ies)"));
        assert!(s.contains("generic processor error"));
        assert!(s.contains("unknown (07070707-"));
    }

    #[test]
    fn status_block_truncations_and_lies() {
        let one = memory_block(0x1000);
        for n in 0..one.len() {
            assert!(parse_error_status_block(&one[..n]).is_err(), "prefix {n}");
        }
        // Entry claims more payload than the data area holds.
        let mut lie = one.clone();
        lie[20 + 24..20 + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_error_status_block(&lie),
            Err(CperError::EntryOutOfBounds { index: 0, .. })
        ));
        // Data length smaller than the entry: entry header runs past it.
        let mut short = one.clone();
        short[12..16].copy_from_slice(&40u32.to_le_bytes());
        assert!(parse_error_status_block(&short).is_err());
        // Data length beyond the buffer.
        let mut big = one.clone();
        big[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_error_status_block(&big),
            Err(CperError::BadStatusBlock {
                field: "data length",
                ..
            })
        ));
        // Raw data overlapping the entries, or past the end.
        let mut raw = one.clone();
        raw[4..8].copy_from_slice(&20u32.to_le_bytes());
        raw[8..12].copy_from_slice(&4u32.to_le_bytes());
        assert!(parse_error_status_block(&raw).is_err());
        raw[4..8].copy_from_slice(&(one.len() as u32 - 2).to_le_bytes());
        assert!(parse_error_status_block(&raw).is_err());
        raw[4..8].copy_from_slice(&(one.len() as u32 - 4).to_le_bytes());
        // Raw data must not overlap the entries: this one does.
        assert!(parse_error_status_block(&raw).is_err());
        let mut with_raw = one.clone();
        with_raw.extend_from_slice(&[9, 9]);
        with_raw[4..8].copy_from_slice(&(one.len() as u32).to_le_bytes());
        with_raw[8..12].copy_from_slice(&2u32.to_le_bytes());
        let b = parse_error_status_block(&with_raw).unwrap();
        assert_eq!(b.raw_data, &[9, 9]);
        assert_eq!(b.total_len(), with_raw.len());
    }
}
