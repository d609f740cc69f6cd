//! A Generic Error Status Block as a whole CPER record (UEFI spec N.2), so
//! a fatal GHES error can be kept in ERST across the reboot it causes: a
//! record header, one section descriptor per Generic Error Data Entry
//! (section type, severity, flags, FRU id and text carried over), then the
//! entries' payloads as the sections. Written into a caller's buffer, never
//! allocating (the panic path writes it).

use crate::apei::cper::{
    flags, guids, validation, CperError, CperHeader, CperTimestamp, ErrorStatusBlock,
    SectionDescriptor, RECORD_REVISION,
};
use crate::apei::guid::Guid;

/// The record's length for block `b`.
pub fn record_len(b: &ErrorStatusBlock<'_>) -> usize {
    CperHeader::LEN
        + b.entries.len() * SectionDescriptor::LEN
        + b.entries.iter().map(|e| e.payload.len()).sum::<usize>()
}

/// Writes block `b` as a CPER record into `out`; returns its length.
/// `notification` is the record's notification type (NMI for NMI sources),
/// `unix_time` its timestamp when known. Fails when `out` is too short.
pub fn encode_block_record(
    b: &ErrorStatusBlock<'_>,
    notification: Guid,
    record_id: u64,
    unix_time: Option<u64>,
    out: &mut [u8],
) -> Result<usize, CperError> {
    let len = record_len(b);
    if out.len() < len || len > u32::MAX as usize || b.entries.len() > u16::MAX as usize {
        return Err(CperError::SectionTooShort {
            what: "record buffer",
            length: out.len(),
            needed: len,
        });
    }
    let ts = unix_time.and_then(CperTimestamp::from_unix);
    let header = CperHeader {
        revision: RECORD_REVISION,
        section_count: b.entries.len() as u16,
        error_severity: b.error_severity.as_u32(),
        validation_bits: if ts.is_some() {
            validation::TIMESTAMP
        } else {
            0
        },
        record_length: len as u32,
        timestamp: ts.unwrap_or_default(),
        creator_id: guids::CREATOR_RASOS_GHES,
        notification_type: notification,
        record_id,
        flags: flags::PREVIOUS_ERROR,
        ..Default::default()
    };
    out[..CperHeader::LEN].copy_from_slice(&header.encode());
    let mut body = CperHeader::LEN + b.entries.len() * SectionDescriptor::LEN;
    for (i, e) in b.entries.iter().enumerate() {
        let d = SectionDescriptor {
            section_offset: body as u32,
            section_length: e.payload.len() as u32,
            revision: e.revision,
            // Bit 0 FRU id valid, bit 1 FRU text valid: as in the entry.
            validation_bits: e.validation_bits & 3,
            flags: e.flags as u32,
            section_type: e.section_type,
            fru_id: e.fru_id,
            section_severity: e.error_severity.as_u32(),
            fru_text: e.fru_text,
        };
        let at = CperHeader::LEN + i * SectionDescriptor::LEN;
        out[at..at + SectionDescriptor::LEN].copy_from_slice(&d.encode());
        out[body..body + e.payload.len()].copy_from_slice(e.payload);
        body += e.payload.len();
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::{block, entry, memory_block, memory_error_payload};
    use crate::apei::cper::{describe, parse_error_status_block, parse_record, CperSeverity};
    use alloc::string::String;
    use alloc::vec;

    #[test]
    fn block_round_trips_as_a_record() {
        let bytes = block(
            1 | (2 << 4),
            1,
            &[
                entry(
                    guids::SEC_PLATFORM_MEM,
                    1,
                    0x300,
                    &memory_error_payload(0x7000),
                ),
                entry(guids::SEC_PCIE, 0, 0x201, &[0u8; 208]),
            ],
        );
        let b = parse_error_status_block(&bytes).unwrap();
        let mut out = vec![0u8; 1024];
        let n = encode_block_record(&b, guids::NOTIFY_NMI, 0x55, Some(1_709_210_096), &mut out)
            .unwrap();
        assert_eq!(n, 128 + 2 * 72 + 80 + 208);
        let r = parse_record(&out[..n]).unwrap();
        assert_eq!(r.header.severity(), CperSeverity::Fatal);
        assert_eq!(r.header.record_id, 0x55);
        assert_eq!(r.sections.len(), 2);
        assert_eq!(r.sections[0].section_type, guids::SEC_PLATFORM_MEM);
        assert_eq!(r.sections[1].severity(), CperSeverity::Recoverable);
        assert_eq!(
            r.section_data(0).unwrap(),
            &memory_error_payload(0x7000)[..]
        );
        let mut s = String::new();
        describe(&out[..n], &mut s).unwrap();
        assert!(s.contains("creator: rasos (GHES error status block)"));
        assert!(s.contains("notification: NMI"));
        assert!(s.contains("time: 2024-02-29 12:34:56 (precise)"));
        assert!(s.contains("physical_address: 0x0000000000007000"));
        assert!(s.contains("section_type: PCIe error"));
        // Too small a buffer is refused, not overrun.
        assert!(encode_block_record(&b, guids::NOTIFY_NMI, 1, None, &mut out[..n - 1]).is_err());
        let one = memory_block(0x9000);
        let b = parse_error_status_block(&one).unwrap();
        assert_eq!(record_len(&b), 128 + 72 + 80);
    }
}
