//! The describer of whole CPER records (UEFI spec appendix N), whatever their
//! kind: the header (N.2.1), each section descriptor (N.2.2) and the bodies
//! of the section types we decode.

use core::fmt;

use super::guids::Named;
use super::section::write_section;
use super::{
    creator_name, flags, notification_type_name, parse_record, section_flags, section_type_name,
    validation,
};

/// Prints a CPER record's header and sections, whatever its kind. Invalid
/// records are reported as such.
pub fn describe(bytes: &[u8], out: &mut dyn fmt::Write) -> fmt::Result {
    let rec = match parse_record(bytes) {
        Ok(r) => r,
        Err(e) => return writeln!(out, "invalid CPER record: {e}"),
    };
    let h = &rec.header;
    writeln!(
        out,
        "CPER record {:#018x}: {} byte(s), revision {:#06x}, severity {}",
        h.record_id,
        h.record_length,
        h.revision,
        h.severity()
    )?;
    if h.validation_bits & validation::TIMESTAMP != 0 {
        writeln!(out, "  time: {}", h.timestamp)?;
    }
    writeln!(
        out,
        "  creator: {}",
        Named(&h.creator_id, creator_name(&h.creator_id))
    )?;
    writeln!(
        out,
        "  notification: {}",
        Named(
            &h.notification_type,
            notification_type_name(&h.notification_type)
        )
    )?;
    if h.validation_bits & validation::PLATFORM_ID != 0 {
        writeln!(out, "  platform: {}", h.platform_id)?;
    }
    if h.validation_bits & validation::PARTITION_ID != 0 {
        writeln!(out, "  partition: {}", h.partition_id)?;
    }
    if h.flags != 0 {
        write!(out, "  flags: {:#x}", h.flags)?;
        for (bit, name) in [
            (flags::RECOVERED, " recovered"),
            (flags::PREVIOUS_ERROR, " previous-error"),
            (flags::SIMULATED, " simulated"),
        ] {
            if h.flags & bit != 0 {
                out.write_str(name)?;
            }
        }
        writeln!(out)?;
    }
    for (i, d) in rec.sections.iter().enumerate() {
        writeln!(
            out,
            "  section {i}: {}, {} byte(s) at {}, severity {}{}",
            Named(&d.section_type, section_type_name(&d.section_type)),
            d.section_length,
            d.section_offset,
            d.severity(),
            if d.flags & section_flags::PRIMARY != 0 {
                ", primary"
            } else {
                ""
            }
        )?;
        if let Some(data) = rec.section_data(i) {
            write_section(out, 4, &d.section_type, data)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::sample;
    use crate::apei::cper::{
        decode_mce, encode_mce, guids, CperError, CperHeader, CperTimestamp, SectionDescriptor,
        RECORD_REVISION, SECTION_REVISION,
    };
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Like Linux's pstore records: same creator, notification MCE, a
    /// compressed log section.
    fn dmesg_record() -> Vec<u8> {
        let text = b"x\x9c compressed kernel log bytes";
        let h = CperHeader {
            revision: RECORD_REVISION,
            section_count: 1,
            error_severity: 1,
            validation_bits: validation::TIMESTAMP,
            record_length: (200 + text.len()) as u32,
            timestamp: CperTimestamp(1_600_000_000),
            creator_id: guids::CREATOR_LINUX_MCE,
            notification_type: guids::NOTIFY_MCE,
            record_id: 9,
            flags: flags::PREVIOUS_ERROR,
            ..Default::default()
        };
        let d = SectionDescriptor {
            section_offset: 200,
            section_length: text.len() as u32,
            revision: SECTION_REVISION,
            flags: section_flags::PRIMARY,
            section_type: guids::SEC_LINUX_DMESG_Z,
            section_severity: 1,
            ..Default::default()
        };
        let mut b = Vec::new();
        b.extend_from_slice(&h.encode());
        b.extend_from_slice(&d.encode());
        b.extend_from_slice(text);
        b
    }

    #[test]
    fn non_mce_record_is_described_not_misparsed() {
        let b = dmesg_record();
        let e = decode_mce(&b).unwrap_err();
        assert_eq!(
            e,
            CperError::NotMce {
                section_types: vec![guids::SEC_LINUX_DMESG_Z]
            }
        );
        let msg = alloc::format!("{e}");
        assert!(msg.starts_with("not an MCE record (section types: Linux compressed"));
        let mut s = String::new();
        describe(&b, &mut s).unwrap();
        assert!(s.contains("record 0x0000000000000009"));
        assert!(s.contains("creator: Linux"));
        assert!(s.contains("notification: machine check exception"));
        assert!(s.contains("Linux compressed kernel log"));
        assert!(s.contains("not a BCD date"));
        assert!(s.contains("previous-error"));
        // Zero sections: valid record, still not an MCE.
        let mut none = b.clone();
        none[10] = 0;
        assert_eq!(
            decode_mce(&none).unwrap_err(),
            CperError::NotMce {
                section_types: vec![]
            }
        );
    }

    #[test]
    fn describe_mce_record() {
        let mut s = String::new();
        describe(&encode_mce(&sample(), 7, Some(946_684_799)), &mut s).unwrap();
        assert!(s.contains("severity fatal"));
        assert!(s.contains("time: 1999-12-31 23:59:59 (precise)"));
        assert!(s.contains("Linux machine check"));
        assert!(s.contains("CPU 300 BANK 4 STATUS 0xbd80000000100134"));
        assert!(s.contains("PROCESSOR AuthenticAMD"));
    }
}
