//! pstore log records: parse_pstore on any input, and the encoder's
//! records (text from the input, any part split) read back as written.
#![no_main]

use kernel::pstore::record::{encode_dmesg, parse_pstore, split_parts, PstoreLog};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(PstoreLog::Dmesg { text, .. })) = parse_pstore(data) {
        assert!(text.len() <= data.len());
    }
    // Parts cover the input exactly, newest first, none longer than asked.
    let max = 1 + data.first().copied().unwrap_or(0) as usize;
    let mut end = data.len();
    for r in split_parts(data, max) {
        assert_eq!(r.end, end);
        assert!(r.len() <= max && !r.is_empty());
        end = r.start;
    }
    assert_eq!(end, 0);
    if let Ok(text) = core::str::from_utf8(data) {
        if !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            let mut out = vec![0u8; data.len() + 256];
            let n = encode_dmesg(3, 1, data, 42, Some(7), &mut out).unwrap();
            match parse_pstore(&out[..n]) {
                Ok(Some(PstoreLog::Dmesg { part: Some(p), text: t, unix_time })) => {
                    assert_eq!((p.count, p.part, unix_time), (3, 1, Some(7)));
                    assert_eq!(t.as_bytes(), data);
                }
                other => panic!("{other:?}"),
            }
        }
    }
});
