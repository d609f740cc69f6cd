//! The ACPI Generic Error Status Block and its Generic Error Data Entries
//! (ACPI spec 18.3.2.7, Generic Hardware Error Source; layout in 18.3.2.7.1),
//! through which BERT and GHES hand over CPER section bodies without a
//! record header.

use core::fmt;

use super::section::{write_section, Indent};
use super::{CperError, CperSeverity, CperTimestamp};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorDataEntry<'a> {
    pub section_type: Guid,
    pub error_severity: CperSeverity,
    pub revision: u16,
    pub validation_bits: u8,
    /// The section flags (`section_flags`: primary, containment warning,
    /// reset, threshold exceeded, ...).
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
        let t = core::str::from_utf8(&self.fru_text[..end]).ok()?;
        t.chars().all(|c| !c.is_control()).then_some(t)
    }
}

/// The Generic Error Data Entries of a block, read in place (no
/// allocation: the GHES NMI path walks them). The block's parse checked
/// that they tile its data area exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entries<'a> {
    /// The block up to the end of its data area.
    area: &'a [u8],
    count: usize,
}

impl<'a> Entries<'a> {
    pub const fn len(&self) -> usize {
        self.count
    }
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }
    pub fn iter(&self) -> EntryIter<'a> {
        EntryIter {
            area: self.area,
            pos: ErrorStatusBlock::HEADER_LEN,
            index: 0,
        }
    }
}

impl<'a> IntoIterator for &Entries<'a> {
    type Item = ErrorDataEntry<'a>;
    type IntoIter = EntryIter<'a>;
    fn into_iter(self) -> EntryIter<'a> {
        self.iter()
    }
}

/// Iterates the entries of a checked block.
#[derive(Clone)]
pub struct EntryIter<'a> {
    area: &'a [u8],
    pos: usize,
    index: usize,
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = ErrorDataEntry<'a>;
    fn next(&mut self) -> Option<ErrorDataEntry<'a>> {
        if self.pos >= self.area.len() {
            return None;
        }
        let (e, next) = read_entry(self.area, self.pos, self.index).ok()?;
        self.pos = next;
        self.index += 1;
        Some(e)
    }
}

/// Reads the entry at `pos` of `area` (the block up to its data end);
/// returns it and where the next one starts.
fn read_entry(
    area: &[u8],
    pos: usize,
    index: usize,
) -> Result<(ErrorDataEntry<'_>, usize), CperError> {
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
            end: area.len(),
        })?;
    let e = ErrorDataEntry {
        section_type,
        error_severity,
        revision,
        validation_bits,
        flags,
        fru_id,
        fru_text,
        timestamp,
        payload,
    };
    Ok((e, start + length as usize))
}

/// A Generic Error Status Block (ACPI 18.3.2.7.1) and its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorStatusBlock<'a> {
    pub block_status: u32,
    pub raw_data_offset: u32,
    pub raw_data_length: u32,
    pub data_length: u32,
    pub error_severity: CperSeverity,
    pub entries: Entries<'a>,
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

/// The length a block claims in its header (Linux `cper_estatus_len`): the
/// header and data area, or up to the end of the raw data when that lies
/// beyond. `None` when `header` is shorter than a block header. Used to
/// check a block against the room it has before copying it.
pub fn claimed_block_len(header: &[u8]) -> Option<u64> {
    if header.len() < ErrorStatusBlock::HEADER_LEN {
        return None;
    }
    let mut r = Reader::new(header);
    let _status = r.u32().ok()?;
    let raw_off = r.u32().ok()? as u64;
    let raw_len = r.u32().ok()? as u64;
    let data_len = r.u32().ok()? as u64;
    let data_end = ErrorStatusBlock::HEADER_LEN as u64 + data_len;
    Some(if raw_off != 0 {
        data_end.max(raw_off + raw_len)
    } else {
        data_end
    })
}

/// Parses a Generic Error Status Block at the start of `bytes` (which may
/// be longer), checking as Linux's `cper_estatus_check` does that the
/// entries tile the data area exactly and that the raw data lies after it,
/// inside `bytes`. Never allocates.
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
    let area = &bytes[..data_end];
    let mut count = 0;
    let mut pos = hl;
    while pos < data_end {
        let (_, next) = read_entry(area, pos, count)?;
        pos = next;
        count += 1;
    }
    Ok(ErrorStatusBlock {
        block_status,
        raw_data_offset,
        raw_data_length,
        data_length,
        error_severity,
        entries: Entries { area, count },
        raw_data,
    })
}

/// Prints one status block and its entries in the words of Linux's
/// `cper_estatus_print` (`event severity: recoverable`, `Error 0, type:
/// ...`, `section_type: memory error`, ...), one space of indentation per
/// level as Linux prints them after its `[Hardware Error]: ` prefix. Never
/// allocates.
pub fn describe_status_block(b: &ErrorStatusBlock<'_>, out: &mut dyn fmt::Write) -> fmt::Result {
    if b.error_severity == CperSeverity::Corrected {
        writeln!(
            out,
            "It has been corrected by h/w and requires no further action"
        )?;
    }
    writeln!(out, "event severity: {}", b.error_severity.linux_name())?;
    for (i, e) in b.entries.iter().enumerate() {
        describe_entry(out, 1, i, &e)?;
    }
    if b.claimed_entry_count() as usize != b.entries.len() {
        writeln!(
            out,
            " (block status claims {} entr(ies); {} found)",
            b.claimed_entry_count(),
            b.entries.len()
        )?;
    }
    if !b.raw_data.is_empty() {
        writeln!(out, " raw data: {} byte(s)", b.raw_data.len())?;
    }
    Ok(())
}

/// One Generic Error Data Entry (Linux `cper_estatus_print_section`).
fn describe_entry(
    out: &mut dyn fmt::Write,
    ind: usize,
    i: usize,
    e: &ErrorDataEntry<'_>,
) -> fmt::Result {
    let pfx = Indent(ind);
    if let Some(ts) = e.timestamp {
        if e.validation_bits & entry_valid::TIMESTAMP != 0 {
            match ts.to_datetime() {
                Some(dt) => writeln!(
                    out,
                    "{pfx}{}tstamp: {dt}",
                    if dt.precise { "precise " } else { "imprecise " }
                )?,
                None => writeln!(out, "{pfx}tstamp: {ts}")?,
            }
        }
    }
    writeln!(
        out,
        "{pfx}Error {i}, type: {}",
        e.error_severity.linux_name()
    )?;
    if e.validation_bits & entry_valid::FRU_ID != 0 {
        writeln!(out, "{pfx}fru_id: {}", e.fru_id)?;
    }
    if let Some(t) = e.fru_text() {
        writeln!(out, "{pfx}fru_text: {t}")?;
    }
    write_section(out, ind + 1, &e.section_type, e.payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::{block, entry, memory_block};
    use crate::apei::cper::{guids, MemoryError};
    use alloc::string::String;
    use alloc::vec::Vec;

    #[test]
    fn status_block_with_zero_one_two_entries() {
        let empty = block(0, 3, &[]);
        let b = parse_error_status_block(&empty).unwrap();
        assert!(b.entries.is_empty());
        assert_eq!(b.total_len(), 20);
        assert_eq!(claimed_block_len(&empty), Some(20));

        let one = memory_block(0x1_2345_6000);
        let b = parse_error_status_block(&one).unwrap();
        assert_eq!(b.claimed_entry_count(), 1);
        assert_eq!(b.error_severity, CperSeverity::Fatal);
        assert_eq!(b.entries.len(), 1);
        let e = b.entries.iter().next().unwrap();
        assert_eq!(e.section_type, guids::SEC_PLATFORM_MEM);
        assert_eq!(e.fru_text(), Some("DIMM0"));
        assert_eq!(e.timestamp.unwrap().to_datetime().unwrap().year, 2024);
        let m = MemoryError::parse(e.payload).unwrap();
        assert_eq!(m.address(), Some(0x1_2345_6000));
        assert_eq!(m.row, 0x1_1234);
        let mut s = String::new();
        describe_status_block(&b, &mut s).unwrap();
        assert_eq!(
            s,
            "event severity: fatal\n precise tstamp: 2024-02-29 12:34:56\n Error 0, type: fatal\n fru_text: DIMM0\n  section_type: memory error\n  physical_address: 0x0000000123456000\n  node:1 bank:5 row:70196 \n  error_type: 3, multi-bit ECC\n"
        );

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
        let es: Vec<_> = b.entries.iter().collect();
        assert_eq!(es[0].timestamp, None);
        assert_eq!(es[0].payload.len(), 192);
        assert_eq!(es[1].payload, &[1, 2, 3]);
        let mut s = String::new();
        describe_status_block(&b, &mut s).unwrap();
        assert!(s.starts_with(
            "It has been corrected by h/w and requires no further action\nevent severity: corrected\n"
        ));
        assert!(s.contains(" Error 0, type: corrected\n  section_type: general processor error\n"));
        assert!(s.contains(" Error 1, type: corrected\n"));
        assert!(s.contains("  section type: unknown, 07070707-"));
        assert!(s.contains("  section length: 0x3\n  00000000: 030201"));
        assert!(!s.contains("claims"));
        // A count that disagrees with the entries found is said.
        let mut lie = two.clone();
        lie[0..4].copy_from_slice(&(0x2u32 | (5 << 4)).to_le_bytes());
        let b = parse_error_status_block(&lie).unwrap();
        let mut s = String::new();
        describe_status_block(&b, &mut s).unwrap();
        assert!(s.contains(" (block status claims 5 entr(ies); 2 found)"));
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
        assert_eq!(claimed_block_len(&big), Some(20 + u32::MAX as u64));
        assert_eq!(claimed_block_len(&big[..19]), None);
        // Leftover bytes after the last entry that cannot hold another.
        let mut extra = one.clone();
        let dl = (one.len() - 20 + 8) as u32;
        extra[12..16].copy_from_slice(&dl.to_le_bytes());
        extra.extend_from_slice(&[0; 8]);
        assert!(parse_error_status_block(&extra).is_err());
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
        assert_eq!(claimed_block_len(&with_raw), Some(with_raw.len() as u64));
    }
}
