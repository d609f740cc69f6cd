//! parse_error_status_block and describe_status_block.
#![no_main]

use kernel::apei::cper::{
    describe_status_block, parse_error_status_block, ErrorDataEntry, ErrorStatusBlock,
};
use kernel_fuzz::{le32, Limited};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = parse_error_status_block(data) else {
        return;
    };
    let hl = ErrorStatusBlock::HEADER_LEN;
    assert_eq!(Some(b.block_status), le32(data, 0));
    assert_eq!(Some(b.data_length), le32(data, 12));
    let data_end = hl + b.data_length as usize;
    assert!(data_end <= data.len());
    // Entries tile the data area: each payload lies inside it, in order.
    let base = data.as_ptr() as usize;
    let mut pos = hl;
    for e in &b.entries {
        let start = e.payload.as_ptr() as usize - base;
        let header = if e.revision >> 8 >= 3 {
            ErrorDataEntry::LEN_V300
        } else {
            ErrorDataEntry::LEN
        };
        assert_eq!(start, pos + header);
        assert!(start + e.payload.len() <= data_end);
        assert_eq!(e.timestamp.is_some(), e.revision >> 8 >= 3);
        if let Some(t) = e.fru_text() {
            assert!(t.len() <= 20 && !t.contains('\0'));
        }
        pos = start + e.payload.len();
    }
    assert_eq!(pos, data_end);
    // Raw data lies after the entries and inside the input.
    if !b.raw_data.is_empty() {
        let start = b.raw_data.as_ptr() as usize - base;
        assert_eq!(start, b.raw_data_offset as usize);
        assert!(start >= data_end && start + b.raw_data.len() <= data.len());
        assert_eq!(b.raw_data.len(), b.raw_data_length as usize);
    }
    assert!(b.total_len() >= data_end);
    assert!(b.claimed_entry_count() < 1024);

    let mut out = String::new();
    describe_status_block(&b, &mut out).expect("writing to a String cannot fail");
    assert!(out.matches(", type: ").count() >= b.entries.len());
    assert!(out.contains("event severity: "));
    let limit = out.len() * usize::from(data.last().copied().unwrap_or(0)) / 256;
    let mut short = Limited {
        out: String::new(),
        limit,
    };
    assert!(describe_status_block(&b, &mut short).is_err() || limit >= out.len());
});
