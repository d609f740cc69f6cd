//! The MADT ("APIC" table): which processors exist and their local APIC ids.
//!
//! Two entry types matter (ACPI 6.5 section 5.2.12): Processor Local APIC
//! (type 0, 8-bit APIC id) and Processor Local x2APIC (type 9, 32-bit id and
//! 32-bit processor UID); the others are passed over by their length. APIC
//! ids of 255 and above exist only in type 9 entries; a type 0 entry with id
//! 0xFF names no processor. Firmware input is untrusted: every entry is
//! bounds-checked against its own length and the table's, and an entry too
//! short for its type, or running past the table, fails the parse with the
//! reason (the kernel then says so and runs on the boot CPU).

use crate::apei::table::{ParseError, Reader, SdtHeader};
use alloc::vec::Vec;

/// Entry flag bit 0: the processor is usable now.
pub const FLAG_ENABLED: u32 = 1 << 0;

/// One processor the MADT lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processor {
    pub apic_id: u32,
    /// ACPI processor UID (type 0: the 8-bit processor id).
    pub uid: u32,
    pub flags: u32,
    /// From a type 9 (x2APIC) entry.
    pub x2apic: bool,
}

impl Processor {
    pub const fn enabled(&self) -> bool {
        self.flags & FLAG_ENABLED != 0
    }
}

/// What the MADT says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Madt {
    /// Every processor entry, duplicates (one CPU listed as both type 0 and
    /// type 9) removed, in table order.
    pub processors: Vec<Processor>,
    /// Entries skipped as meaningless (id 0xFF in type 0, a repeated APIC
    /// id), for the boot log.
    pub skipped: usize,
}

const TYPE_LOCAL_APIC: u8 = 0;
const TYPE_LOCAL_X2APIC: u8 = 9;

/// Parses a whole MADT (header included; checksum checked).
pub fn parse(table: &[u8]) -> Result<Madt, ParseError> {
    let (_, table) = SdtHeader::parse_expecting(table, b"APIC")?;
    let mut r = Reader::new(&table[SdtHeader::LEN..]);
    // The xAPIC MMIO address (the kernel reads IA32_APIC_BASE instead)
    // and the flags (dual 8259s: the kernel masks them either way).
    r.skip(8)?;
    let mut m = Madt::default();
    while r.remaining() > 0 {
        let kind = r.u8()?;
        let len = r.u8()? as usize;
        if len < 2 {
            return Err(ParseError::BadLength {
                field: "MADT entry length",
                value: len as u64,
            });
        }
        // The entry's own bytes; a later type may be longer than we know.
        let mut e = Reader::new(r.bytes(len - 2)?);
        let take = |p: Processor, m: &mut Madt| {
            if m.processors.iter().any(|q| q.apic_id == p.apic_id) {
                m.skipped += 1;
            } else {
                m.processors.push(p);
            }
        };
        match kind {
            TYPE_LOCAL_APIC => {
                let uid = e.u8()? as u32;
                let apic_id = e.u8()? as u32;
                let flags = e.u32()?;
                if apic_id == 0xFF {
                    m.skipped += 1;
                } else {
                    take(
                        Processor {
                            apic_id,
                            uid,
                            flags,
                            x2apic: false,
                        },
                        &mut m,
                    );
                }
            }
            TYPE_LOCAL_X2APIC => {
                e.skip(2)?; // reserved
                let apic_id = e.u32()?;
                let flags = e.u32()?;
                let uid = e.u32()?;
                take(
                    Processor {
                        apic_id,
                        uid,
                        flags,
                        x2apic: true,
                    },
                    &mut m,
                );
            }
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::apei::table::make_table;

    pub fn lapic(uid: u8, id: u8, flags: u32) -> Vec<u8> {
        let mut v = vec![0, 8, uid, id];
        v.extend_from_slice(&flags.to_le_bytes());
        v
    }

    pub fn x2apic(id: u32, flags: u32, uid: u32) -> Vec<u8> {
        let mut v = vec![9, 16, 0, 0];
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&flags.to_le_bytes());
        v.extend_from_slice(&uid.to_le_bytes());
        v
    }

    pub fn madt(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&0xFEE0_0000u32.to_le_bytes());
        body.extend_from_slice(&1u32.to_le_bytes());
        for e in entries {
            body.extend_from_slice(e);
        }
        make_table(b"APIC", 5, &body)
    }

    #[test]
    fn local_apic_and_x2apic_entries_with_ids_above_254() {
        let t = madt(&[
            lapic(0, 0, 1),
            lapic(1, 1, 1),
            lapic(2, 0xFF, 1),         // no processor
            x2apic(1, 1, 1),           // the same CPU again
            x2apic(255, 1, 255),       // only type 9 can say 255
            x2apic(0x1_0000, 0, 7),    // disabled
            vec![4, 6, 0xFF, 5, 0, 1], // Local APIC NMI: passed over
            vec![0x7F, 3, 0],          // unknown type: skipped by its length
        ]);
        let m = parse(&t).unwrap();
        let ids: Vec<u32> = m.processors.iter().map(|p| p.apic_id).collect();
        assert_eq!(ids, [0, 1, 255, 0x1_0000]);
        assert!(m.processors[2].x2apic && m.processors[2].enabled());
        assert!(!m.processors[3].enabled());
        assert_eq!(m.skipped, 2);
    }

    #[test]
    fn malformed_entries_are_refused_not_read_past() {
        // Length 0 would loop forever; length past the table's end.
        assert!(matches!(
            parse(&madt(&[vec![0, 0]])),
            Err(ParseError::BadLength { .. })
        ));
        assert!(matches!(
            parse(&madt(&[vec![9, 16, 0, 0, 1]])),
            Err(ParseError::Truncated { .. })
        ));
        // A type 9 entry that claims 8 bytes is too short for its fields.
        assert!(parse(&madt(&[vec![9, 8, 0, 0, 1, 0, 0, 0]])).is_err());
        // A broken checksum.
        let mut t = madt(&[lapic(0, 0, 1)]);
        t[9] ^= 1;
        assert!(matches!(parse(&t), Err(ParseError::BadChecksum { .. })));
    }
}
