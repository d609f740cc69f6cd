//! The Boot Error Record Table (ACPI spec 18.3.1): where firmware left the
//! errors it could not hand to an OS before the last reset. The region holds
//! Generic Error Status Blocks (see [`super::cper`]); a zero block status
//! ends the list.

use core::fmt;

use super::cper::{self, ErrorStatusBlock};
use super::table::{ParseError, Reader, SdtHeader};

/// The BERT fields after the ACPI header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bert {
    pub region_length: u32,
    pub region_address: u64,
}

/// Parses a BERT. A region too short for one status block header is
/// rejected, as Linux does.
pub fn parse_bert(table: &[u8]) -> Result<Bert, ParseError> {
    let (_, t) = SdtHeader::parse_expecting(super::hest::cut_to_length(table), b"BERT")?;
    let mut r = Reader::at(t, SdtHeader::LEN);
    let bert = Bert {
        region_length: r.u32()?,
        region_address: r.u64()?,
    };
    if (bert.region_length as usize) < ErrorStatusBlock::HEADER_LEN {
        return Err(ParseError::BadLength {
            field: "boot error region length",
            value: bert.region_length as u64,
        });
    }
    Ok(bert)
}

/// Prints every status block in the (mapped) boot error region. Stops at
/// a zero block status, at the end of the region, or at the first invalid
/// block (reported, not trusted further).
pub fn describe_boot_errors(region: &[u8], out: &mut dyn fmt::Write) -> fmt::Result {
    let mut at = 0usize;
    let mut blocks = 0usize;
    while region.len().saturating_sub(at) >= ErrorStatusBlock::HEADER_LEN {
        let rest = &region[at..];
        if Reader::new(rest).u32() == Ok(0) {
            break;
        }
        let block = match cper::parse_error_status_block(rest) {
            Ok(b) => b,
            Err(e) => {
                writeln!(out, "BERT: invalid error status block at offset {at}: {e}")?;
                return Ok(());
            }
        };
        if blocks == 0 {
            writeln!(out, "BERT: errors from the previous boot:")?;
        }
        cper::describe_status_block(&block, out)?;
        blocks += 1;
        // A block always takes at least its header, so this moves on.
        at = at.saturating_add(block.total_len().max(ErrorStatusBlock::HEADER_LEN));
    }
    if blocks == 0 {
        writeln!(out, "BERT: no boot errors")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::memory_block;
    use crate::apei::table::make_table;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn bert(len: u32, addr: u64) -> Vec<u8> {
        let mut body = len.to_le_bytes().to_vec();
        body.extend_from_slice(&addr.to_le_bytes());
        make_table(b"BERT", 1, &body)
    }

    fn describe(region: &[u8]) -> String {
        let mut s = String::new();
        describe_boot_errors(region, &mut s).unwrap();
        s
    }

    #[test]
    fn table_parses() {
        assert_eq!(
            parse_bert(&bert(0x1000, 0x7fff_0000)).unwrap(),
            Bert {
                region_length: 0x1000,
                region_address: 0x7fff_0000
            }
        );
        let mut long = bert(0x1000, 1);
        long.extend_from_slice(&[0; 64]);
        assert!(parse_bert(&long).is_ok());
    }

    #[test]
    fn bad_tables() {
        let t = bert(0x1000, 1);
        for n in 0..t.len() {
            assert!(parse_bert(&t[..n]).is_err());
        }
        assert!(matches!(
            parse_bert(&bert(19, 1)),
            Err(ParseError::BadLength { .. })
        ));
        assert!(matches!(
            parse_bert(&make_table(b"BERT", 1, &[0; 8])),
            Err(ParseError::Truncated { .. })
        ));
        // Length field bigger than the bytes.
        let mut lie = t.clone();
        lie[4] = 0xff;
        assert!(parse_bert(&lie).is_err());
        assert!(matches!(
            parse_bert(&make_table(b"HEST", 1, &[0; 12])),
            Err(ParseError::BadSignature { .. })
        ));
    }

    #[test]
    fn region_with_one_memory_error() {
        let mut region = memory_block(0x1_2345_6000);
        region.resize(4096, 0);
        let s = describe(&region);
        assert!(s.starts_with("BERT: errors from the previous boot:\n"));
        assert!(s.contains("\nevent severity: fatal\n"));
        assert!(s.contains("\n Error 0, type: fatal\n"));
        assert!(s.contains("\n  section_type: memory error\n"));
        assert!(s.contains(" precise tstamp: 2024-02-29 12:34:56\n"));
        assert!(s.contains(" fru_text: DIMM0\n"));
        assert!(s.contains("  physical_address: 0x0000000123456000\n"));
        assert!(!s.contains("no boot errors"));
        // Two blocks back to back, then the zero terminator.
        let mut two = memory_block(0x1000);
        two.extend_from_slice(&memory_block(0x2000));
        two.resize(400, 0);
        let s = describe(&two);
        assert_eq!(s.matches("event severity:").count(), 2, "{s}");
        assert!(s.contains("0x0000000000001000") && s.contains("0x0000000000002000"));
    }

    #[test]
    fn empty_region() {
        assert_eq!(describe(&[0; 4096]), "BERT: no boot errors\n");
        assert_eq!(describe(&[]), "BERT: no boot errors\n");
        assert_eq!(describe(&[1, 0, 0]), "BERT: no boot errors\n");
    }

    #[test]
    fn truncated_and_lying_regions() {
        let block = memory_block(0x1000);
        for n in 20..block.len() {
            let s = describe(&block[..n]);
            assert!(
                s.starts_with("BERT: invalid error status block at offset 0"),
                "{n}: {s}"
            );
        }
        let mut lie = block.clone();
        lie[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(describe(&lie).contains("bad status block data length"));
        // An entry whose length lies.
        let mut lie = block.clone();
        lie[20 + 24..20 + 28].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        assert!(describe(&lie).contains("runs past the data area end"));
        // A good block followed by garbage: the first is still shown.
        let mut mixed = block.clone();
        mixed.extend_from_slice(&[0xff; 40]);
        let s = describe(&mixed);
        assert!(s.contains("physical_address: 0x0000000000001000"));
        assert!(s.contains(&alloc::format!(
            "invalid error status block at offset {}",
            block.len()
        )));
        // Garbage of every kind never panics.
        let mut seed = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut g = Vec::new();
            for _ in 0..(seed % 200) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                g.push((seed >> 16) as u8);
            }
            if g.len() >= 16 {
                g[12..16].copy_from_slice(&(seed % 160).to_le_bytes());
            }
            let _ = describe(&g);
        }
    }
}
