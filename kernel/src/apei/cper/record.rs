//! The CPER record codec (UEFI spec appendix N): the record header (N.2.1)
//! with its validation bits and flags, the section descriptor (N.2.2) with its
//! flags, error severities, the errors a record is rejected with, and
//! [`parse_record`], which checks a whole record before anything reads its
//! sections.

use alloc::vec::Vec;
use core::fmt;

use super::guids::Named;
use super::{section_type_name, CperTimestamp};
use crate::apei::guid::Guid;
use crate::apei::table::{ParseError, Reader};

/// "CPER", the first four bytes of every record.
pub const SIGNATURE: [u8; 4] = *b"CPER";
/// Fixed value of the header's Signature End field.
pub const SIGNATURE_END: u32 = 0xFFFF_FFFF;
/// Header revision we write (UEFI 2.1 layout, what Linux writes).
pub const RECORD_REVISION: u16 = 0x0100;
/// Section descriptor revision we write.
pub const SECTION_REVISION: u16 = 0x0100;

/// Header validation bits: which optional header fields hold data.
pub mod validation {
    pub const PLATFORM_ID: u32 = 1 << 0;
    pub const TIMESTAMP: u32 = 1 << 1;
    pub const PARTITION_ID: u32 = 1 << 2;
}

/// Header flags.
pub mod flags {
    /// The error has been recovered.
    pub const RECOVERED: u32 = 1 << 0;
    /// The error is from a previous boot.
    pub const PREVIOUS_ERROR: u32 = 1 << 1;
    /// The error was injected for testing.
    pub const SIMULATED: u32 = 1 << 2;
}

/// Section descriptor flags.
pub mod section_flags {
    pub const PRIMARY: u32 = 1 << 0;
    pub const CONTAINMENT_WARNING: u32 = 1 << 1;
    pub const RESET: u32 = 1 << 2;
    pub const ERROR_THRESHOLD_EXCEEDED: u32 = 1 << 3;
    pub const RESOURCE_NOT_ACCESSIBLE: u32 = 1 << 4;
    pub const LATENT_ERROR: u32 = 1 << 5;
}

/// Error severity of a record, section, status block or data entry.
/// Unknown values are kept, not rejected: they come from firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CperSeverity {
    Recoverable,
    Fatal,
    Corrected,
    /// "Informational" in CPER; "none" in a Generic Error Status Block.
    Informational,
    Unknown(u32),
}

impl CperSeverity {
    pub const fn from_u32(v: u32) -> Self {
        match v {
            0 => CperSeverity::Recoverable,
            1 => CperSeverity::Fatal,
            2 => CperSeverity::Corrected,
            3 => CperSeverity::Informational,
            v => CperSeverity::Unknown(v),
        }
    }
    pub const fn as_u32(self) -> u32 {
        match self {
            CperSeverity::Recoverable => 0,
            CperSeverity::Fatal => 1,
            CperSeverity::Corrected => 2,
            CperSeverity::Informational => 3,
            CperSeverity::Unknown(v) => v,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            CperSeverity::Recoverable => "recoverable",
            CperSeverity::Fatal => "fatal",
            CperSeverity::Corrected => "corrected",
            CperSeverity::Informational => "informational",
            CperSeverity::Unknown(_) => "unknown",
        }
    }
    /// Linux's word (`cper_severity_str`): as [`name`](Self::name), but
    /// "info" for informational.
    pub const fn linux_name(self) -> &'static str {
        match self {
            CperSeverity::Informational => "info",
            s => s.name(),
        }
    }
}

impl fmt::Display for CperSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CperSeverity::Unknown(v) => write!(f, "unknown ({v})"),
            s => f.write_str(s.name()),
        }
    }
}

/// Why a CPER record or status block was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CperError {
    /// A read ran past the end of the input.
    Parse(ParseError),
    BadSignature([u8; 4]),
    BadSignatureEnd(u32),
    /// Only major revision 1 is defined.
    BadRevision(u16),
    /// Record length shorter than its header and descriptors, or longer
    /// than the bytes we have.
    BadRecordLength {
        record_length: u32,
        minimum: u64,
        available: usize,
    },
    /// A section's offset/length leaves the record (or overlaps its header).
    SectionOutOfBounds {
        index: usize,
        offset: u32,
        length: u32,
        record_length: u32,
    },
    /// A valid record, but no section of Linux's MCE type.
    NotMce {
        section_types: Vec<Guid>,
    },
    /// A section or payload too short for the structure it should hold.
    SectionTooShort {
        what: &'static str,
        length: usize,
        needed: usize,
    },
    /// A Generic Error Status Block field that cannot be right.
    BadStatusBlock {
        field: &'static str,
        value: u64,
    },
    /// A Generic Error Data Entry's payload leaves the block's data area.
    EntryOutOfBounds {
        index: usize,
        offset: usize,
        length: u32,
        end: usize,
    },
}

impl From<ParseError> for CperError {
    fn from(e: ParseError) -> Self {
        CperError::Parse(e)
    }
}

impl fmt::Display for CperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CperError::Parse(e) => write!(f, "{e}"),
            CperError::BadSignature(s) => {
                write!(f, "bad signature {:?} (expected \"CPER\")", crate::apei::table::Sig(*s))
            }
            CperError::BadSignatureEnd(v) => write!(f, "bad signature end {v:#x}"),
            CperError::BadRevision(r) => write!(f, "unsupported revision {r:#06x}"),
            CperError::BadRecordLength {
                record_length,
                minimum,
                available,
            } => write!(
                f,
                "bad record length {record_length} (minimum {minimum}, {available} byte(s) available)"
            ),
            CperError::SectionOutOfBounds {
                index,
                offset,
                length,
                record_length,
            } => write!(
                f,
                "section {index} (offset {offset}, length {length}) is outside the record (length {record_length})"
            ),
            CperError::NotMce { section_types } => {
                f.write_str("not an MCE record (section types:")?;
                if section_types.is_empty() {
                    f.write_str(" none")?;
                }
                for (i, g) in section_types.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{}", Named(g, section_type_name(g)))?;
                }
                f.write_str(")")
            }
            CperError::SectionTooShort {
                what,
                length,
                needed,
            } => write!(
                f,
                "{what} is {length} byte(s), at least {needed} needed"
            ),
            CperError::BadStatusBlock { field, value } => {
                write!(f, "bad status block {field} {value:#x}")
            }
            CperError::EntryOutOfBounds {
                index,
                offset,
                length,
                end,
            } => write!(
                f,
                "error data entry {index} at offset {offset} (data length {length}) runs past the data area end {end}"
            ),
        }
    }
}

/// The 128-byte record header (UEFI N.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CperHeader {
    pub revision: u16,
    pub section_count: u16,
    pub error_severity: u32,
    pub validation_bits: u32,
    pub record_length: u32,
    pub timestamp: CperTimestamp,
    pub platform_id: Guid,
    pub partition_id: Guid,
    pub creator_id: Guid,
    pub notification_type: Guid,
    pub record_id: u64,
    pub flags: u32,
    pub persistence_information: u64,
}

impl CperHeader {
    pub const LEN: usize = 128;

    pub const fn severity(&self) -> CperSeverity {
        CperSeverity::from_u32(self.error_severity)
    }

    /// The header bytes (signature, signature end and reserved filled in).
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&SIGNATURE);
        b[4..6].copy_from_slice(&self.revision.to_le_bytes());
        b[6..10].copy_from_slice(&SIGNATURE_END.to_le_bytes());
        b[10..12].copy_from_slice(&self.section_count.to_le_bytes());
        b[12..16].copy_from_slice(&self.error_severity.to_le_bytes());
        b[16..20].copy_from_slice(&self.validation_bits.to_le_bytes());
        b[20..24].copy_from_slice(&self.record_length.to_le_bytes());
        b[24..32].copy_from_slice(&self.timestamp.0.to_le_bytes());
        b[32..48].copy_from_slice(&self.platform_id.0);
        b[48..64].copy_from_slice(&self.partition_id.0);
        b[64..80].copy_from_slice(&self.creator_id.0);
        b[80..96].copy_from_slice(&self.notification_type.0);
        b[96..104].copy_from_slice(&self.record_id.to_le_bytes());
        b[104..108].copy_from_slice(&self.flags.to_le_bytes());
        b[108..116].copy_from_slice(&self.persistence_information.to_le_bytes());
        b
    }

    /// Parses and checks the header alone (signature, revision, signature
    /// end); [`parse_record`] checks lengths and sections too.
    pub fn parse(bytes: &[u8]) -> Result<Self, CperError> {
        let mut r = Reader::new(bytes);
        let sig: [u8; 4] = r.array()?;
        if sig != SIGNATURE {
            return Err(CperError::BadSignature(sig));
        }
        let revision = r.u16()?;
        if revision >> 8 != 1 {
            return Err(CperError::BadRevision(revision));
        }
        let end = r.u32()?;
        if end != SIGNATURE_END {
            return Err(CperError::BadSignatureEnd(end));
        }
        let h = CperHeader {
            revision,
            section_count: r.u16()?,
            error_severity: r.u32()?,
            validation_bits: r.u32()?,
            record_length: r.u32()?,
            timestamp: CperTimestamp(r.u64()?),
            platform_id: Guid(r.array()?),
            partition_id: Guid(r.array()?),
            creator_id: Guid(r.array()?),
            notification_type: Guid(r.array()?),
            record_id: r.u64()?,
            flags: r.u32()?,
            persistence_information: r.u64()?,
        };
        r.skip(12)?;
        Ok(h)
    }
}

/// The 72-byte section descriptor (UEFI N.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SectionDescriptor {
    pub section_offset: u32,
    pub section_length: u32,
    pub revision: u16,
    pub validation_bits: u8,
    pub flags: u32,
    pub section_type: Guid,
    pub fru_id: Guid,
    pub section_severity: u32,
    pub fru_text: [u8; 20],
}

impl SectionDescriptor {
    pub const LEN: usize = 72;

    pub const fn severity(&self) -> CperSeverity {
        CperSeverity::from_u32(self.section_severity)
    }

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&self.section_offset.to_le_bytes());
        b[4..8].copy_from_slice(&self.section_length.to_le_bytes());
        b[8..10].copy_from_slice(&self.revision.to_le_bytes());
        b[10] = self.validation_bits;
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..32].copy_from_slice(&self.section_type.0);
        b[32..48].copy_from_slice(&self.fru_id.0);
        b[48..52].copy_from_slice(&self.section_severity.to_le_bytes());
        b[52..72].copy_from_slice(&self.fru_text);
        b
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, CperError> {
        let mut r = Reader::new(bytes);
        let d = SectionDescriptor {
            section_offset: r.u32()?,
            section_length: r.u32()?,
            revision: r.u16()?,
            validation_bits: r.u8()?,
            flags: {
                r.skip(1)?;
                r.u32()?
            },
            section_type: Guid(r.array()?),
            fru_id: Guid(r.array()?),
            section_severity: r.u32()?,
            fru_text: r.array()?,
        };
        Ok(d)
    }
}

/// A validated record: every section lies inside `bytes`.
#[derive(Clone, Debug)]
pub struct CperRecord<'a> {
    pub header: CperHeader,
    pub sections: Vec<SectionDescriptor>,
    /// The record, cut to its record length.
    pub bytes: &'a [u8],
}

impl<'a> CperRecord<'a> {
    /// The body of section `i` (bounds were checked by [`parse_record`]).
    pub fn section_data(&self, i: usize) -> Option<&'a [u8]> {
        let d = self.sections.get(i)?;
        let start = d.section_offset as usize;
        self.bytes
            .get(start..start.checked_add(d.section_length as usize)?)
    }
}

/// Parses and validates a whole record at the start of `bytes` (which may
/// be longer than the record).
pub fn parse_record(bytes: &[u8]) -> Result<CperRecord<'_>, CperError> {
    let header = CperHeader::parse(bytes)?;
    let count = header.section_count as usize;
    let min = CperHeader::LEN as u64 + count as u64 * SectionDescriptor::LEN as u64;
    let len = header.record_length as usize;
    if (header.record_length as u64) < min || len > bytes.len() {
        return Err(CperError::BadRecordLength {
            record_length: header.record_length,
            minimum: min,
            available: bytes.len(),
        });
    }
    let bytes = &bytes[..len];
    let mut sections = Vec::with_capacity(count);
    for i in 0..count {
        let at = CperHeader::LEN + i * SectionDescriptor::LEN;
        let d = SectionDescriptor::parse(&bytes[at..])?;
        let end = d.section_offset as u64 + d.section_length as u64;
        if (d.section_offset as u64) < min || end > len as u64 {
            return Err(CperError::SectionOutOfBounds {
                index: i,
                offset: d.section_offset,
                length: d.section_length,
                record_length: header.record_length,
            });
        }
        sections.push(d);
    }
    Ok(CperRecord {
        header,
        sections,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::sample;
    use crate::apei::cper::{decode_mce, describe, encode_mce};
    use alloc::string::String;

    #[test]
    fn every_truncation_is_rejected() {
        let b = encode_mce(&sample(), 1, None);
        for n in 0..b.len() {
            assert!(decode_mce(&b[..n]).is_err(), "prefix {n} accepted");
            assert!(parse_record(&b[..n]).is_err());
            let mut s = String::new();
            describe(&b[..n], &mut s).unwrap();
            assert!(s.starts_with("invalid CPER record"));
        }
        // A longer buffer (e.g. an ERST read buffer) is fine.
        let mut long = b.clone();
        long.extend_from_slice(&[0xaa; 50]);
        assert_eq!(decode_mce(&long).unwrap().1, sample());
    }

    #[test]
    fn corrupt_headers_are_rejected() {
        let good = encode_mce(&sample(), 1, None);
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            decode_mce(&b).unwrap_err()
        };
        assert_eq!(with(&|b| b[0] = b'X'), CperError::BadSignature(*b"XPER"));
        assert_eq!(with(&|b| b[7] = 0), CperError::BadSignatureEnd(0xffff_00ff));
        assert_eq!(with(&|b| b[5] = 2), CperError::BadRevision(0x0200));
        // Huge section count: descriptors cannot fit in the record.
        assert!(matches!(
            with(&|b| b[10..12].copy_from_slice(&[0xff, 0xff])),
            CperError::BadRecordLength { minimum, .. } if minimum == 128 + 0xffff * 72
        ));
        // Record length larger than the buffer, or smaller than header.
        assert!(matches!(
            with(&|b| b[20..24].copy_from_slice(&u32::MAX.to_le_bytes())),
            CperError::BadRecordLength { .. }
        ));
        assert!(matches!(
            with(&|b| b[20..24].copy_from_slice(&100u32.to_le_bytes())),
            CperError::BadRecordLength { .. }
        ));
        // Sections out of bounds, overflowing, or over the header.
        for (off, len) in [
            (300u32, 128u32),
            (200, 129),
            (u32::MAX, 2),
            (200, u32::MAX),
            (0, 128),
        ] {
            let e = with(&|b| {
                b[128..132].copy_from_slice(&off.to_le_bytes());
                b[132..136].copy_from_slice(&len.to_le_bytes());
            });
            assert!(
                matches!(e, CperError::SectionOutOfBounds { index: 0, .. }),
                "{e:?}"
            );
        }
        // A section of the right type but too short for struct mce.
        let e = with(&|b| b[132..136].copy_from_slice(&64u32.to_le_bytes()));
        assert!(matches!(e, CperError::SectionTooShort { needed: 128, .. }));
        assert!(alloc::format!("{e}").contains("struct mce"));
    }
}
