//! SdtHeader::parse_checked / parse_expecting and the bounds-checked Reader.
#![no_main]

use kernel::apei::table::{checksum, ParseError, Reader, SdtHeader};
use kernel_fuzz::le32;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match SdtHeader::parse_checked(data) {
        Ok((h, body)) => {
            // The body is the table cut to its length, and sums to zero.
            assert_eq!(body.len(), h.length as usize);
            assert!(body.len() >= SdtHeader::LEN && body.len() <= data.len());
            assert_eq!(body, &data[..body.len()]);
            assert_eq!(checksum(body), 0);
            assert_eq!(&h.signature[..], &data[..4]);
            assert_eq!(Some(h.length), le32(data, 4));
            assert_eq!((h.revision, h.checksum), (data[8], data[9]));
            assert_eq!(&h.oem_id[..], &data[10..16]);
            assert_eq!(&h.oem_table_id[..], &data[16..24]);
            assert_eq!(Some(h.creator_revision), le32(data, 32));
            assert_eq!(
                SdtHeader::parse_expecting(data, &h.signature),
                Ok((h, body))
            );
            let mut other = h.signature;
            other[0] ^= 0x20;
            assert!(matches!(
                SdtHeader::parse_expecting(data, &other),
                Err(ParseError::BadSignature { .. })
            ));
        }
        Err(ParseError::Truncated { offset, needed }) => {
            assert!(needed > 0 && offset <= data.len().max(SdtHeader::LEN));
        }
        Err(ParseError::BadLength { value, .. }) => assert!(value < SdtHeader::LEN as u64),
        Err(ParseError::BadChecksum { sum }) => assert_ne!(sum, 0),
        Err(e) => panic!("unexpected error {e:?}"),
    }

    // The Reader: a walk driven by the input never reads out of bounds, and
    // a failed read leaves the position where it was.
    let start = data.first().map_or(0, |&b| b as usize % 8);
    let mut r = Reader::at(data, start);
    for &op in data.iter().take(64) {
        let before = r.position();
        let n = (op >> 3) as usize;
        let (ok, len) = match op & 7 {
            0 => (r.u8().is_ok(), 1),
            1 => (r.u16().is_ok(), 2),
            2 => (r.u32().is_ok(), 4),
            3 => (r.u64().is_ok(), 8),
            4 => (r.skip(n).is_ok(), n),
            5 => (r.array::<12>().is_ok(), 12),
            6 => (r.bytes(usize::MAX - n).is_ok(), usize::MAX - n),
            _ => match r.bytes(n) {
                Ok(s) => {
                    assert_eq!(s, &data[before..before + n]);
                    (true, n)
                }
                Err(_) => (false, n),
            },
        };
        let fits = before.checked_add(len).is_some_and(|end| end <= data.len());
        assert_eq!(ok, fits, "op {op:#x} at {before}");
        assert_eq!(r.position(), if ok { before + len } else { before });
        assert_eq!(r.remaining(), data.len().saturating_sub(r.position()));
    }
});
