//! The ACPI root: the RSDP and the RSDT/XSDT list of table addresses.
//!
//! Done here rather than with the `acpi` crate, which drops a table whose
//! checksum is wrong without saying why: a RAS kernel must report a
//! malformed table precisely and keep booting, so the listing (and the MADT,
//! `super::madt`) is parsed here, on untrusted bytes, every length checked.

use crate::apei::table::{checksum, ParseError, Reader, SdtHeader};
use alloc::vec::Vec;

/// What the RSDP says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    pub revision: u8,
    pub rsdt: u32,
    /// Present from revision 2 on.
    pub xsdt: Option<u64>,
}

/// Parses an RSDP ("RSD PTR "), checking the ACPI 1.0 checksum over the
/// first 20 bytes and, from revision 2, the extended checksum over `length`.
pub fn parse_rsdp(bytes: &[u8]) -> Result<Rsdp, ParseError> {
    let mut r = Reader::new(bytes);
    let sig: [u8; 8] = r.array()?;
    if &sig != b"RSD PTR " {
        return Err(ParseError::BadSignature {
            expected: *b"RSD ",
            found: [sig[0], sig[1], sig[2], sig[3]],
        });
    }
    let v1 = bytes.get(..20).ok_or(ParseError::Truncated {
        offset: bytes.len(),
        needed: 20,
    })?;
    if checksum(v1) != 0 {
        return Err(ParseError::BadChecksum { sum: checksum(v1) });
    }
    r.skip(1 + 6)?; // checksum, OEM id
    let revision = r.u8()?;
    let rsdt = r.u32()?;
    if revision < 2 {
        return Ok(Rsdp {
            revision,
            rsdt,
            xsdt: None,
        });
    }
    let length = r.u32()? as usize;
    let xsdt = r.u64()?;
    if length < 36 {
        return Err(ParseError::BadLength {
            field: "RSDP length",
            value: length as u64,
        });
    }
    let full = bytes.get(..length).ok_or(ParseError::Truncated {
        offset: bytes.len(),
        needed: length.saturating_sub(bytes.len()),
    })?;
    if checksum(full) != 0 {
        return Err(ParseError::BadChecksum {
            sum: checksum(full),
        });
    }
    Ok(Rsdp {
        revision,
        rsdt,
        xsdt: Some(xsdt),
    })
}

/// The table addresses listed by an RSDT (4-byte entries) or XSDT (8-byte).
pub fn root_entries(table: &[u8]) -> Result<Vec<u64>, ParseError> {
    let (h, body) = SdtHeader::parse_checked(table)?;
    let width = match &h.signature {
        b"XSDT" => 8,
        b"RSDT" => 4,
        _ => {
            return Err(ParseError::BadSignature {
                expected: *b"XSDT",
                found: h.signature,
            })
        }
    };
    let entries = &body[SdtHeader::LEN..];
    let mut r = Reader::new(entries);
    let mut out = Vec::with_capacity(entries.len() / width);
    while r.remaining() >= width {
        out.push(if width == 8 {
            r.u64()?
        } else {
            r.u32()? as u64
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::table::make_table;

    fn rsdp(rev: u8, rsdt: u32, xsdt: u64) -> alloc::vec::Vec<u8> {
        let mut b = alloc::vec::Vec::new();
        b.extend_from_slice(b"RSD PTR ");
        b.push(0);
        b.extend_from_slice(b"RASOS ");
        b.push(rev);
        b.extend_from_slice(&rsdt.to_le_bytes());
        let c = checksum(&b[..20]);
        b[8] = 0u8.wrapping_sub(c);
        if rev >= 2 {
            b.extend_from_slice(&36u32.to_le_bytes());
            b.extend_from_slice(&xsdt.to_le_bytes());
            b.extend_from_slice(&[0, 0, 0, 0]);
            let c = checksum(&b);
            b[32] = 0u8.wrapping_sub(c);
        }
        b
    }

    #[test]
    fn rsdp_versions() {
        assert_eq!(
            parse_rsdp(&rsdp(0, 0x1234, 0)).unwrap(),
            Rsdp {
                revision: 0,
                rsdt: 0x1234,
                xsdt: None
            }
        );
        assert_eq!(parse_rsdp(&rsdp(2, 1, 0xabcd)).unwrap().xsdt, Some(0xabcd));
        let mut bad = rsdp(0, 0x1234, 0);
        bad[15] ^= 1;
        assert!(matches!(
            parse_rsdp(&bad),
            Err(ParseError::BadChecksum { .. })
        ));
        assert!(parse_rsdp(b"RSD PTR").is_err());
        assert!(parse_rsdp(&rsdp(2, 1, 2)[..30]).is_err());
    }

    #[test]
    fn root_tables() {
        let mut body = alloc::vec::Vec::new();
        body.extend_from_slice(&0x1000u32.to_le_bytes());
        body.extend_from_slice(&0x2000u32.to_le_bytes());
        assert_eq!(
            root_entries(&make_table(b"RSDT", 1, &body)).unwrap(),
            [0x1000, 0x2000]
        );
        let x = make_table(b"XSDT", 1, &0x1_0000_0000u64.to_le_bytes());
        assert_eq!(root_entries(&x).unwrap(), [0x1_0000_0000]);
        assert!(root_entries(&make_table(b"FACP", 1, &[])).is_err());
    }
}
