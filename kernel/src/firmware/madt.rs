//! The MADT ("APIC" table): which processors exist and their local APIC ids,
//! and which local interrupt pin (LINT0/1) is wired to NMI.
//!
//! Four entry types matter (ACPI 6.5 section 5.2.12): Processor Local APIC
//! (type 0, 8-bit APIC id), Processor Local x2APIC (type 9, 32-bit id and
//! 32-bit processor UID), and their NMI companions Local APIC NMI (type 4)
//! and Local x2APIC NMI (type 0xA). APIC ids of 255 and above exist only in
//! type 9 entries; a type 0 entry with id 0xFF names no processor. Firmware
//! input is untrusted: every entry is bounds-checked against its own length
//! and the table's, and an entry too short for its type ends the walk.

use crate::apei::table::{ParseError, Reader, SdtHeader};
use alloc::vec::Vec;

/// Entry flag bit 0: the processor is usable now.
pub const FLAG_ENABLED: u32 = 1 << 0;
/// Entry flag bit 1 (ACPI 6.3+): not enabled now but may be hot-added.
pub const FLAG_ONLINE_CAPABLE: u32 = 1 << 1;
/// The processor UID an NMI entry uses for "every processor".
pub const UID_ALL: u32 = u32::MAX;

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

/// A LINTn pin wired to NMI on one processor (by UID) or on all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LintNmi {
    /// Processor UID, or [`UID_ALL`].
    pub uid: u32,
    /// MPS INTI flags: polarity (bits 1:0) and trigger mode (bits 3:2).
    pub flags: u16,
    /// 0 or 1.
    pub lint: u8,
}

impl LintNmi {
    /// True when it applies to the processor with `uid`.
    pub const fn applies_to(&self, uid: u32) -> bool {
        self.uid == UID_ALL || self.uid == uid
    }
}

/// What the MADT says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Madt {
    /// Physical address of the xAPIC MMIO page (32-bit field; type 5 can
    /// override it, which we do not need: the kernel reads IA32_APIC_BASE).
    pub local_apic_address: u32,
    /// MADT flags bit 0: PC-AT compatible dual 8259s present.
    pub pcat_compat: bool,
    /// Every processor entry, duplicates (one CPU listed as both type 0 and
    /// type 9) removed, in table order.
    pub processors: Vec<Processor>,
    pub lint_nmi: Vec<LintNmi>,
    /// Entries skipped as malformed or meaningless (id 0xFF in type 0, a
    /// repeated APIC id, an NMI entry naming LINT2+), for the boot log.
    pub skipped: usize,
}

const TYPE_LOCAL_APIC: u8 = 0;
const TYPE_LOCAL_APIC_NMI: u8 = 4;
const TYPE_LOCAL_X2APIC: u8 = 9;
const TYPE_LOCAL_X2APIC_NMI: u8 = 0xA;

/// Parses a whole MADT (header included; checksum checked).
pub fn parse(table: &[u8]) -> Result<Madt, ParseError> {
    let (_, table) = SdtHeader::parse_expecting(table, b"APIC")?;
    let mut r = Reader::new(&table[SdtHeader::LEN..]);
    let mut m = Madt {
        local_apic_address: r.u32()?,
        pcat_compat: r.u32()? & 1 != 0,
        ..Madt::default()
    };
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
            TYPE_LOCAL_APIC_NMI | TYPE_LOCAL_X2APIC_NMI => {
                let (uid, flags, lint) = if kind == TYPE_LOCAL_APIC_NMI {
                    let uid = e.u8()?;
                    let flags = e.u16()?;
                    let uid = if uid == 0xFF { UID_ALL } else { uid as u32 };
                    (uid, flags, e.u8()?)
                } else {
                    let flags = e.u16()?;
                    let uid = e.u32()?;
                    (uid, flags, e.u8()?)
                };
                if lint > 1 {
                    m.skipped += 1;
                } else {
                    m.lint_nmi.push(LintNmi { uid, flags, lint });
                }
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
            lapic(2, 0xFF, 1),      // no processor
            x2apic(1, 1, 1),        // the same CPU again
            x2apic(255, 1, 255),    // only type 9 can say 255
            x2apic(0x1_0000, 0, 7), // disabled
            vec![4, 6, 0xFF, 5, 0, 1],
            {
                let mut v = vec![0xA, 12, 0, 0];
                v.extend_from_slice(&255u32.to_le_bytes());
                v.extend_from_slice(&[1, 0, 0, 0]); // LINT1, reserved
                v
            },
            vec![0x7F, 3, 0], // unknown type: skipped by its length
        ]);
        let m = parse(&t).unwrap();
        assert_eq!(m.local_apic_address, 0xFEE0_0000);
        assert!(m.pcat_compat);
        let ids: Vec<u32> = m.processors.iter().map(|p| p.apic_id).collect();
        assert_eq!(ids, [0, 1, 255, 0x1_0000]);
        assert!(m.processors[2].x2apic && m.processors[2].enabled());
        assert!(!m.processors[3].enabled());
        assert_eq!(m.skipped, 2);
        assert_eq!(
            m.lint_nmi,
            [
                LintNmi {
                    uid: UID_ALL,
                    flags: 5,
                    lint: 1
                },
                LintNmi {
                    uid: 255,
                    flags: 0,
                    lint: 1
                }
            ]
        );
        assert!(m.lint_nmi[0].applies_to(3) && !m.lint_nmi[1].applies_to(3));
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
