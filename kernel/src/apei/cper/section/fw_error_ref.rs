//! The firmware error record reference section (UEFI spec N.2.10): points at
//! a record the firmware keeps elsewhere, by a 64-bit identifier (revision
//! 0) or a GUID (revision 2); bytes after the defined fields are vendor data.

use core::fmt;

use super::{hex_dump, Indent};
use crate::apei::cper::CperError;
use crate::apei::guid::Guid;
use crate::apei::table::Reader;

/// The firmware error record reference (16 bytes, 32 from revision 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FirmwareErrorRef {
    /// 0 IPF SAL error record, 1 SOC type 1 (legacy CrashLog), 2 SOC type 2.
    pub record_type: u8,
    pub revision: u8,
    pub record_identifier: u64,
    /// Revision 2 on, when the section is long enough to hold it.
    pub record_guid: Option<Guid>,
}

impl FirmwareErrorRef {
    pub const MIN_LEN: usize = 16;
    pub const LEN_V2: usize = 32;

    pub fn parse(b: &[u8]) -> Result<Self, CperError> {
        if b.len() < Self::MIN_LEN {
            return Err(CperError::SectionTooShort {
                what: "firmware error record reference",
                length: b.len(),
                needed: Self::MIN_LEN,
            });
        }
        let mut r = Reader::new(b);
        let record_type = r.u8()?;
        let revision = r.u8()?;
        r.skip(6)?;
        let record_identifier = r.u64()?;
        let record_guid = if revision >= 2 {
            r.array().ok().map(Guid)
        } else {
            None
        };
        Ok(FirmwareErrorRef {
            record_type,
            revision,
            record_identifier,
            record_guid,
        })
    }

    pub const fn record_type_name(t: u8) -> &'static str {
        match t {
            0 => "IPF SAL Error Record",
            1 => "SOC Firmware Error Record Type1 (Legacy CrashLog Support)",
            2 => "SOC Firmware Error Record Type2",
            _ => "unknown",
        }
    }

    /// Where vendor data starts: after the fields this revision defines.
    fn defined_len(&self) -> usize {
        match self.revision {
            0 | 1 => Self::MIN_LEN,
            _ => Self::LEN_V2,
        }
    }

    /// The fields in Linux's words (`cper_print_fw_err`), then any
    /// trailing bytes of `data` (the whole section) as a hex dump.
    pub fn write_fields(&self, out: &mut dyn fmt::Write, ind: usize, data: &[u8]) -> fmt::Result {
        let pfx = Indent(ind);
        writeln!(
            out,
            "{pfx}Firmware Error Record Type: {}",
            Self::record_type_name(self.record_type)
        )?;
        writeln!(out, "{pfx}Revision: {}", self.revision)?;
        match (self.revision, self.record_guid) {
            (0, _) => writeln!(
                out,
                "{pfx}Record Identifier: {:08x}",
                self.record_identifier
            )?,
            (2.., Some(g)) => writeln!(out, "{pfx}Record Identifier: {g}")?,
            _ => {}
        }
        match data.get(self.defined_len()..) {
            Some(rest) if !rest.is_empty() => hex_dump(out, ind, rest),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn revisions_zero_and_two() {
        let mut b = [0u8; 36];
        b[0] = 2;
        b[8..16].copy_from_slice(&0xabcdu64.to_le_bytes());
        b[32..36].copy_from_slice(b"tail");
        let r = FirmwareErrorRef::parse(&b[..16]).unwrap();
        let mut s = String::new();
        r.write_fields(&mut s, 0, &b[..16]).unwrap();
        assert_eq!(
            s,
            "Firmware Error Record Type: SOC Firmware Error Record Type2\nRevision: 0\nRecord Identifier: 0000abcd\n"
        );
        b[1] = 2;
        b[16..32].copy_from_slice(&[0x11; 16]);
        let r = FirmwareErrorRef::parse(&b).unwrap();
        let mut s = String::new();
        r.write_fields(&mut s, 0, &b).unwrap();
        assert!(s.contains("Record Identifier: 11111111-1111-1111-1111-111111111111\n"));
        assert!(s.contains("00000000: 6c696174"), "{s}");
        assert!(FirmwareErrorRef::parse(&b[..15]).is_err());
    }
}
