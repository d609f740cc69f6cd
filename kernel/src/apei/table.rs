//! The ACPI System Description Table header and bounds-checked little-endian
//! reading of firmware-supplied bytes.
//!
//! Every table and record we parse comes from firmware or from a previous boot
//! and is untrusted: all reads go through [`Reader`], which never indexes out
//! of bounds and reports where a short read happened.

use core::fmt;

/// Why a firmware structure could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The input ended at `offset` while `needed` more bytes were expected.
    Truncated { offset: usize, needed: usize },
    /// A length or count field holds a value that cannot be right.
    BadLength { field: &'static str, value: u64 },
    /// The signature is not the one expected.
    BadSignature { expected: [u8; 4], found: [u8; 4] },
    /// The bytes of the table do not sum to zero.
    BadChecksum { sum: u8 },
    /// A field holds a value outside its defined range.
    BadValue { field: &'static str, value: u64 },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::Truncated { offset, needed } => {
                write!(
                    f,
                    "truncated: {needed} more byte(s) needed at offset {offset}"
                )
            }
            ParseError::BadLength { field, value } => write!(f, "bad {field} {value:#x}"),
            ParseError::BadSignature { expected, found } => write!(
                f,
                "bad signature {:?} (expected {:?})",
                Sig(found),
                Sig(expected)
            ),
            ParseError::BadChecksum { sum } => write!(f, "bad checksum (bytes sum to {sum:#04x})"),
            ParseError::BadValue { field, value } => write!(f, "bad {field} {value:#x}"),
        }
    }
}

/// Prints a 4-byte signature as text, escaping anything not printable.
pub struct Sig(pub [u8; 4]);

impl fmt::Debug for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            if b.is_ascii_graphic() {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// A cursor over untrusted bytes; every read is bounds-checked.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }
    /// A reader positioned at `offset` (checked on the first read).
    pub const fn at(bytes: &'a [u8], offset: usize) -> Self {
        Reader { bytes, pos: offset }
    }
    pub const fn position(&self) -> usize {
        self.pos
    }
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError::Truncated {
            offset: self.pos,
            needed: n,
        })?;
        let s = self.bytes.get(self.pos..end).ok_or(ParseError::Truncated {
            offset: self.pos,
            needed: n,
        })?;
        self.pos = end;
        Ok(s)
    }
    pub fn skip(&mut self, n: usize) -> Result<(), ParseError> {
        self.bytes(n).map(|_| ())
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, ParseError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// The 36-byte header every ACPI System Description Table starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdtHeader {
    pub signature: [u8; 4],
    pub length: u32,
    pub revision: u8,
    pub checksum: u8,
    pub oem_id: [u8; 6],
    pub oem_table_id: [u8; 8],
    pub oem_revision: u32,
    pub creator_id: u32,
    pub creator_revision: u32,
}

impl SdtHeader {
    pub const LEN: usize = 36;

    /// Parses the header of `table`, checks that `table` holds at least the
    /// length the header claims and that the whole table sums to zero, and
    /// returns the header with the table cut to its length.
    pub fn parse_checked(table: &[u8]) -> Result<(SdtHeader, &[u8]), ParseError> {
        let mut r = Reader::new(table);
        let h = SdtHeader {
            signature: r.array()?,
            length: r.u32()?,
            revision: r.u8()?,
            checksum: r.u8()?,
            oem_id: r.array()?,
            oem_table_id: r.array()?,
            oem_revision: r.u32()?,
            creator_id: r.u32()?,
            creator_revision: r.u32()?,
        };
        let len = h.length as usize;
        if len < Self::LEN {
            return Err(ParseError::BadLength {
                field: "table length",
                value: h.length as u64,
            });
        }
        let body = table.get(..len).ok_or_else(|| ParseError::Truncated {
            offset: table.len(),
            needed: len - table.len(),
        })?;
        let sum = checksum(body);
        if sum != 0 {
            return Err(ParseError::BadChecksum { sum });
        }
        Ok((h, body))
    }

    /// Like [`SdtHeader::parse_checked`], and also requires `signature`.
    pub fn parse_expecting<'t>(
        table: &'t [u8],
        signature: &[u8; 4],
    ) -> Result<(SdtHeader, &'t [u8]), ParseError> {
        let (h, body) = Self::parse_checked(table)?;
        if &h.signature != signature {
            return Err(ParseError::BadSignature {
                expected: *signature,
                found: h.signature,
            });
        }
        Ok((h, body))
    }
}

/// The byte sum of `bytes` (an ACPI table is valid when it is 0).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b))
}

/// Builds a table from a signature and a body, with a correct length and
/// checksum. Used by host tests of every parser.
#[cfg(test)]
pub fn make_table(signature: &[u8; 4], revision: u8, body: &[u8]) -> alloc::vec::Vec<u8> {
    let mut t = alloc::vec::Vec::new();
    t.extend_from_slice(signature);
    t.extend_from_slice(&((SdtHeader::LEN + body.len()) as u32).to_le_bytes());
    t.push(revision);
    t.push(0);
    t.extend_from_slice(b"RASOS ");
    t.extend_from_slice(b"RASTABLE");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(b"RAS ");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(body);
    let sum = checksum(&t);
    t[9] = 0u8.wrapping_sub(sum);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_checksum() {
        let t = make_table(b"ERST", 1, &[1, 2, 3]);
        let (h, body) = SdtHeader::parse_expecting(&t, b"ERST").unwrap();
        assert_eq!(h.length as usize, t.len());
        assert_eq!(body.len(), 39);
        let mut bad = t.clone();
        bad[37] ^= 0xff;
        assert!(matches!(
            SdtHeader::parse_checked(&bad),
            Err(ParseError::BadChecksum { .. })
        ));
        assert!(matches!(
            SdtHeader::parse_expecting(&t, b"EINJ"),
            Err(ParseError::BadSignature { .. })
        ));
    }

    #[test]
    fn short_and_lying_lengths_are_rejected() {
        let t = make_table(b"BERT", 1, &[0; 12]);
        assert!(matches!(
            SdtHeader::parse_checked(&t[..20]),
            Err(ParseError::Truncated { .. })
        ));
        let mut lie = t.clone();
        lie[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(
            SdtHeader::parse_checked(&lie),
            Err(ParseError::Truncated { .. })
        ));
        lie[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(
            SdtHeader::parse_checked(&lie),
            Err(ParseError::BadLength { .. })
        ));
    }

    #[test]
    fn trailing_bytes_beyond_the_length_are_ignored() {
        let mut t = make_table(b"HEST", 1, &[0; 4]);
        let len = t.len();
        t.extend_from_slice(&[0xAA; 100]);
        let (_, body) = SdtHeader::parse_checked(&t).unwrap();
        assert_eq!(body.len(), len);
    }

    #[test]
    fn reader_never_overruns() {
        let b = [1u8, 2, 3];
        let mut r = Reader::new(&b);
        assert_eq!(r.u16().unwrap(), 0x0201);
        assert!(r.u16().is_err());
        assert_eq!(r.u8().unwrap(), 3);
        let mut far = Reader::at(&b, usize::MAX);
        assert!(far.u8().is_err());
    }
}
