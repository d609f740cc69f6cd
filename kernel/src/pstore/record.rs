//! Linux's pstore records in ERST (drivers/acpi/apei/erst.c, `erst_writer`
//! and `erst_reader`; fs/pstore/platform.c, `pstore_dump`): a CPER header
//! (creator "pstore", which is Linux's MCE creator id, notification MCE,
//! fatal, "previous error", Unix seconds in the timestamp field with its
//! validation bit) and one primary section descriptor, then the section
//! body right after them at offset 200: the log text for section type
//! "dmesg", deflate data for "dmesg-Z". The record length is exactly 200
//! plus the body. A dmesg body starts with the line `Panic#N PartM`; part 1
//! is the newest end of the log, part 2 the text before it, and so on.

use crate::apei::cper::{
    guids, parse_record, validation, write_linux_erst_header, CperError, CperHeader, CperTimestamp,
    SectionDescriptor,
};
use core::fmt;
use core::ops::Range;

/// Header and section descriptor in front of the body (`struct
/// cper_pstore_record`).
pub const PSTORE_HEADER_LEN: usize = CperHeader::LEN + SectionDescriptor::LEN;
/// The longest `Panic#N PartM` line this kernel writes (with its newline).
pub const PART_LINE_MAX: usize = 32;

/// Writes a whole uncompressed dmesg record into `out`: the header, then
/// `Panic#<count> Part<part>` and `text`. Returns its length, or `None`
/// when `out` is too small.
pub fn encode_dmesg(
    count: u32,
    part: u32,
    text: &[u8],
    record_id: u64,
    unix_time: Option<u64>,
    out: &mut [u8],
) -> Option<usize> {
    let mut line = LineBuf::default();
    let _ = fmt::write(&mut line, format_args!("Panic#{count} Part{part}\n"));
    let body_len = line.len + text.len();
    let total = PSTORE_HEADER_LEN + body_len;
    if total > out.len() || total > u32::MAX as usize {
        return None;
    }
    // Linux stores plain seconds in the timestamp, not the CPER BCD date.
    let ts = unix_time.map(CperTimestamp);
    write_linux_erst_header(out, total, body_len, guids::SEC_LINUX_DMESG, record_id, ts);
    let body = &mut out[PSTORE_HEADER_LEN..total];
    body[..line.len].copy_from_slice(&line.bytes[..line.len]);
    body[line.len..].copy_from_slice(text);
    Some(total)
}

#[derive(Default)]
struct LineBuf {
    bytes: [u8; PART_LINE_MAX],
    len: usize,
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let take = s.len().min(PART_LINE_MAX - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// Where the parts of a panic log come from in `log`, part 1 (the newest
/// text) first, each at most `body_max` bytes and starting at a line start
/// where one lies in its range (so no part begins mid-line unless a line is
/// longer than a part).
pub fn split_parts(log: &[u8], body_max: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut end = log.len();
    core::iter::from_fn(move || {
        if end == 0 || body_max == 0 {
            return None;
        }
        let mut start = end.saturating_sub(body_max);
        if start > 0 && log[start - 1] != b'\n' {
            if let Some(nl) = log[start..end].iter().position(|b| *b == b'\n') {
                if start + nl + 1 < end {
                    start += nl + 1;
                }
            }
        }
        let r = start..end;
        end = start;
        Some(r)
    })
}

/// A pstore log record read from the store.
#[derive(Debug, PartialEq, Eq)]
pub enum PstoreLog<'a> {
    /// Uncompressed text: Linux's or ours.
    Dmesg {
        /// `Panic#N PartM` (or Linux's `Oops#N PartM`…), when the first
        /// line has that form.
        part: Option<PartLine<'a>>,
        text: &'a str,
        unix_time: Option<u64>,
    },
    /// Linux's compressed log: only its size is shown.
    Compressed { len: usize, unix_time: Option<u64> },
}

/// The `<Reason>#<count> Part<n>` line at the start of a dmesg body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartLine<'a> {
    pub reason: &'a str,
    pub count: u32,
    pub part: u32,
}

impl fmt::Display for PartLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{} Part{}", self.reason, self.count, self.part)
    }
}

/// Why a record that claims to be a pstore log cannot be shown.
#[derive(Debug, PartialEq, Eq)]
pub enum PstoreError {
    /// Not a valid CPER record at all.
    Cper(CperError),
    /// The section is not where Linux puts it, or the record length is not
    /// header plus section (`erst_reader` takes the length from the record).
    BadLength {
        record_length: u32,
        section_offset: u32,
        section_length: u32,
    },
    /// The text holds bytes no log line has (NUL, control characters, or
    /// invalid UTF-8) at `offset` in the body.
    NotText { offset: usize },
}

impl fmt::Display for PstoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PstoreError::Cper(e) => write!(f, "{e}"),
            PstoreError::BadLength {
                record_length,
                section_offset,
                section_length,
            } => write!(
                f,
                "pstore log record with a wrong length (record {record_length} bytes, \
                 section at {section_offset} of {section_length} bytes; expected the \
                 section at {PSTORE_HEADER_LEN} filling the record)"
            ),
            PstoreError::NotText { offset } => write!(
                f,
                "pstore log record whose text has a non-text byte at offset {offset}"
            ),
        }
    }
}

/// Reads a pstore log record: `Ok(None)` for any other record (an MCE
/// record, another creator), an error for a log record that is malformed.
pub fn parse_pstore(bytes: &[u8]) -> Result<Option<PstoreLog<'_>>, PstoreError> {
    let rec = parse_record(bytes).map_err(PstoreError::Cper)?;
    if rec.header.creator_id != guids::CREATOR_LINUX_MCE || rec.sections.is_empty() {
        return Ok(None);
    }
    let d = rec.sections[0];
    let compressed = match d.section_type {
        guids::SEC_LINUX_DMESG => false,
        guids::SEC_LINUX_DMESG_Z => true,
        _ => return Ok(None),
    };
    if d.section_offset as usize != PSTORE_HEADER_LEN
        || PSTORE_HEADER_LEN as u64 + d.section_length as u64 != rec.header.record_length as u64
    {
        return Err(PstoreError::BadLength {
            record_length: rec.header.record_length,
            section_offset: d.section_offset,
            section_length: d.section_length,
        });
    }
    let unix_time =
        (rec.header.validation_bits & validation::TIMESTAMP != 0).then_some(rec.header.timestamp.0);
    let body = &rec.bytes[PSTORE_HEADER_LEN..];
    if compressed {
        return Ok(Some(PstoreLog::Compressed {
            len: body.len(),
            unix_time,
        }));
    }
    let text = core::str::from_utf8(body).map_err(|e| PstoreError::NotText {
        offset: e.valid_up_to(),
    })?;
    if let Some(at) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .map(|(i, _)| i)
    {
        return Err(PstoreError::NotText { offset: at });
    }
    let (part, text) = match text.split_once('\n') {
        Some((first, rest)) => match parse_part_line(first) {
            Some(p) => (Some(p), rest),
            None => (None, text),
        },
        None => (None, text),
    };
    Ok(Some(PstoreLog::Dmesg {
        part,
        text,
        unix_time,
    }))
}

fn parse_part_line(line: &str) -> Option<PartLine<'_>> {
    let (reason, rest) = line.split_once('#')?;
    let (count, part) = rest.split_once(" Part")?;
    if reason.is_empty() || !reason.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(PartLine {
        reason,
        count: count.parse().ok()?,
        part: part.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn record(text: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 4096];
        let n = encode_dmesg(
            1,
            1,
            text,
            0x6560_0000_0000_0001,
            Some(1_700_000_000),
            &mut out,
        )
        .unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn the_layout_is_linuxs_erst_writer() {
        let r = record(b"[    1.000000] Kernel panic - not syncing: test\n");
        assert_eq!(&r[0..4], b"CPER");
        assert_eq!(
            u32::from_le_bytes(r[20..24].try_into().unwrap()) as usize,
            r.len()
        );
        // Unix seconds, not BCD, and the timestamp validation bit.
        assert_eq!(
            u64::from_le_bytes(r[24..32].try_into().unwrap()),
            1_700_000_000
        );
        assert_eq!(u32::from_le_bytes(r[16..20].try_into().unwrap()), 2);
        assert_eq!(&r[64..80], &guids::CREATOR_LINUX_MCE.0);
        assert_eq!(&r[80..96], &guids::NOTIFY_MCE.0);
        assert_eq!(u32::from_le_bytes(r[104..108].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(r[128..132].try_into().unwrap()), 200);
        assert_eq!(&r[144..160], &guids::SEC_LINUX_DMESG.0);
        assert_eq!(u32::from_le_bytes(r[176..180].try_into().unwrap()), 1);
        assert!(r[200..].starts_with(b"Panic#1 Part1\n[    1.000000] Kernel panic"));
    }

    #[test]
    fn a_record_reads_back() {
        let r = record(b"line one\nline two\n");
        match parse_pstore(&r).unwrap().unwrap() {
            PstoreLog::Dmesg {
                part,
                text,
                unix_time,
            } => {
                assert_eq!(
                    part,
                    Some(PartLine {
                        reason: "Panic",
                        count: 1,
                        part: 1
                    })
                );
                assert_eq!(text, "line one\nline two\n");
                assert_eq!(unix_time, Some(1_700_000_000));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn too_small_a_slot_is_refused() {
        let mut out = [0u8; 210];
        assert_eq!(encode_dmesg(1, 1, b"0123456789", 1, None, &mut out), None);
    }

    #[test]
    fn parts_run_newest_first_and_start_at_lines() {
        let log = b"aaaa\nbbbb\ncccc\ndddd\n";
        let parts: Vec<_> = split_parts(log, 12).map(|r| &log[r]).collect();
        assert_eq!(parts, [&b"cccc\ndddd\n"[..], b"aaaa\nbbbb\n"]);
        // A line longer than a part is cut.
        let long = [b'x'; 25];
        let parts: Vec<_> = split_parts(&long, 10).map(|r| r.len()).collect();
        assert_eq!(parts, [10, 10, 5]);
        assert_eq!(split_parts(b"", 10).count(), 0);
    }

    #[test]
    fn other_records_are_not_logs() {
        let rec = crate::apei::cper::encode_mce(&crate::apei::cper::tests::sample(), 7, None);
        assert_eq!(parse_pstore(&rec), Ok(None));
    }

    #[test]
    fn a_compressed_log_is_sized_not_decoded() {
        let mut r = record(&[0x78, 0x9c, 1, 2, 3, 0]);
        r[144..160].copy_from_slice(&guids::SEC_LINUX_DMESG_Z.0);
        assert_eq!(
            parse_pstore(&r),
            Ok(Some(PstoreLog::Compressed {
                len: 14 + 6,
                unix_time: Some(1_700_000_000)
            }))
        );
    }

    #[test]
    fn bad_records_are_described() {
        // Section shorter than the record says.
        let mut r = record(b"some text\n");
        r[132..136].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(
            parse_pstore(&r),
            Err(PstoreError::BadLength { .. })
        ));
        // Truncated: the record claims more bytes than were read.
        let r = record(b"some text\n");
        assert!(matches!(
            parse_pstore(&r[..r.len() - 4]),
            Err(PstoreError::Cper(CperError::BadRecordLength { .. }))
        ));
        // Binary in an uncompressed log.
        let r = record(b"ok\x00\x01binary");
        assert_eq!(
            parse_pstore(&r),
            Err(PstoreError::NotText { offset: 14 + 2 })
        );
        let r = record(b"ok\xff\xfe");
        assert!(matches!(parse_pstore(&r), Err(PstoreError::NotText { .. })));
        let msg = alloc::format!("{}", parse_pstore(&r).unwrap_err());
        assert!(msg.contains("non-text"), "{msg}");
    }

    #[test]
    fn no_input_makes_it_panic() {
        let base = record(b"Panic text\nmore\n");
        for cut in 0..base.len() {
            let _ = parse_pstore(&base[..cut]);
        }
        for i in 0..base.len() {
            let mut b = base.clone();
            b[i] ^= 0xff;
            let _ = parse_pstore(&b);
        }
    }
}
