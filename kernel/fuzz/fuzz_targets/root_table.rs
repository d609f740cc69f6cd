//! root_entries: the RSDT/XSDT list of table addresses.
#![no_main]

use kernel::apei::table::SdtHeader;
use kernel::firmware::tables::root_entries;
use kernel_fuzz::{le32, le64};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = root_entries(data) else {
        return;
    };
    let (h, body) = SdtHeader::parse_checked(data).expect("valid header");
    let width = match &h.signature {
        b"XSDT" => 8,
        b"RSDT" => 4,
        other => panic!("entries listed from a {other:?} table"),
    };
    // Every whole entry inside the table's length, in order; a partial
    // trailing entry is ignored.
    assert_eq!(entries.len(), (body.len() - SdtHeader::LEN) / width);
    for (i, &e) in entries.iter().enumerate() {
        let at = SdtHeader::LEN + i * width;
        let raw = if width == 8 {
            le64(body, at)
        } else {
            le32(body, at).map(u64::from)
        };
        assert_eq!(Some(e), raw);
    }
});
