//! CPER records: parse_record, decode_mce (with an encode round trip),
//! describe, the header and descriptor encoders, and timestamps.
#![no_main]

use kernel::apei::cper::{
    self, decode_mce, describe, parse_record, CperError, CperHeader, CperTimestamp,
    SectionDescriptor,
};
use kernel_fuzz::{le64, Limited};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_record(data);
    if let Ok(rec) = &parsed {
        let h = &rec.header;
        // The record, cut to its length, never claims more than it was given.
        assert_eq!(rec.bytes.len(), h.record_length as usize);
        assert!(rec.bytes.len() <= data.len());
        assert_eq!(rec.bytes, &data[..rec.bytes.len()]);
        assert_eq!(rec.sections.len(), h.section_count as usize);
        let min = CperHeader::LEN + rec.sections.len() * SectionDescriptor::LEN;
        assert!(min <= rec.bytes.len());
        for (i, d) in rec.sections.iter().enumerate() {
            let body = rec.section_data(i).expect("section bounds were checked");
            assert_eq!(body.len(), d.section_length as usize);
            assert!(d.section_offset as usize >= min);
            let at = CperHeader::LEN + i * SectionDescriptor::LEN;
            assert_eq!(SectionDescriptor::parse(&d.encode()).unwrap(), *d);
            let mut raw: [u8; SectionDescriptor::LEN] =
                data[at..at + SectionDescriptor::LEN].try_into().unwrap();
            raw[11] = 0; // reserved
            assert_eq!(d.encode(), raw);
        }
        assert!(rec.section_data(rec.sections.len()).is_none());
        // The header encodes back to the same fields.
        assert_eq!(CperHeader::parse(&h.encode()).unwrap(), *h);
    }

    match decode_mce(data) {
        Ok((h, mce)) => {
            let rec = parsed.as_ref().expect("an MCE record is a valid record");
            assert_eq!(h, rec.header);
            assert!(h.record_length as usize <= data.len());
            // What Linux would write for it decodes to the same record.
            let again = cper::encode_mce(&mce, h.record_id, None);
            let (h2, mce2) = decode_mce(&again).expect("our own encoding decodes");
            assert_eq!(mce2, mce);
            assert_eq!(h2.record_id, h.record_id);
        }
        Err(CperError::NotMce { section_types }) => {
            assert!(parsed.is_ok());
            assert!(!section_types.contains(&cper::guids::SEC_LINUX_MCE));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }

    let mut out = String::new();
    describe(data, &mut out).expect("writing to a String cannot fail");
    assert_eq!(out.starts_with("CPER record "), parsed.is_ok(), "{out}");
    assert_eq!(
        out.starts_with("invalid CPER record: "),
        parsed.is_err(),
        "{out}"
    );
    let limit = out.len() * usize::from(data.last().copied().unwrap_or(0)) / 256;
    let mut short = Limited {
        out: String::new(),
        limit,
    };
    assert!(describe(data, &mut short).is_err() || limit >= out.len());

    // Timestamps: any 8 bytes print; Unix seconds round-trip through BCD.
    if let Some(raw) = le64(data, 24) {
        let ts = CperTimestamp(raw);
        let _ = ts.to_string();
        if let Some(dt) = ts.to_datetime() {
            assert!(dt.month >= 1 && dt.month <= 12 && dt.day >= 1 && dt.day <= 31);
        }
        if let Some(enc) = CperTimestamp::from_unix(raw) {
            let dt = enc.to_datetime().expect("from_unix gives a valid date");
            assert!(dt.precise);
            assert_eq!(dt.to_unix(), raw as i64);
        }
        // Dates up to the year 9999 always encode.
        let secs = raw % 253_402_300_800;
        let dt = CperTimestamp::from_unix(secs)
            .expect("year <= 9999")
            .to_datetime()
            .unwrap();
        assert_eq!(dt.to_unix(), secs as i64);
    }
});
