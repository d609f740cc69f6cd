//! parse_rsdp: signature, both checksums, the revision 2 extension.
#![no_main]

use kernel::apei::table::checksum;
use kernel::firmware::tables::parse_rsdp;
use kernel_fuzz::{le32, le64};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = parse_rsdp(data) else { return };
    assert!(data.len() >= 20);
    assert_eq!(&data[..8], b"RSD PTR ");
    assert_eq!(checksum(&data[..20]), 0);
    assert_eq!(r.revision, data[15]);
    assert_eq!(Some(r.rsdt), le32(data, 16));
    if r.revision < 2 {
        assert_eq!(r.xsdt, None);
    } else {
        let len = le32(data, 20).unwrap() as usize;
        assert!(len >= 36 && len <= data.len());
        assert_eq!(checksum(&data[..len]), 0);
        assert_eq!(r.xsdt, le64(data, 24));
    }
});
