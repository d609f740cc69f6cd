//! parse_bert on the input as a table, and describe_boot_errors on the
//! input as the boot error region it points at.
#![no_main]

use kernel::apei::bert::{describe_boot_errors, parse_bert};
use kernel::apei::cper::ErrorStatusBlock;
use kernel::apei::table::SdtHeader;
use kernel_fuzz::{le32, le64, Limited};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = parse_bert(data) {
        let len = le32(data, 4).unwrap() as usize;
        let (h, body) =
            SdtHeader::parse_checked(&data[..len.min(data.len())]).expect("valid header");
        assert_eq!(&h.signature, b"BERT");
        assert!(b.region_length as usize >= ErrorStatusBlock::HEADER_LEN);
        assert_eq!(Some(b.region_length), le32(body, 36));
        assert_eq!(Some(b.region_address), le64(body, 40));
    }

    let mut out = String::new();
    describe_boot_errors(data, &mut out).expect("writing to a String cannot fail");
    assert!(out.ends_with('\n'));
    assert!(out.starts_with("BERT: "));
    // Every block printed took at least a header's worth of the region.
    let blocks = out.matches("\nevent severity: ").count();
    assert!(blocks * ErrorStatusBlock::HEADER_LEN <= data.len());
    if blocks == 0 {
        assert!(out.contains("no boot errors") || out.contains("invalid error status block"));
    }

    // A sink that fails part way: the error is passed on, never a panic.
    let limit = out.len() * usize::from(data.first().copied().unwrap_or(0)) / 256;
    let mut short = Limited {
        out: String::new(),
        limit,
    };
    let r = describe_boot_errors(data, &mut short);
    assert!(r.is_err() || limit >= out.len());
    assert!(out.starts_with(&short.out));
});
