//! parse_hest: every error source structure type, and the Display.
#![no_main]

use kernel::apei::hest::{firmware_first_banks, parse_hest, ErrorSource};
use kernel::apei::table::SdtHeader;
use kernel_fuzz::le32;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = parse_hest(data) else { return };
    // A HEST parses only with a valid header (cut to its own length).
    let len = le32(data, 4).unwrap() as usize;
    let table = &data[..len.min(data.len())];
    let (header, body) = SdtHeader::parse_checked(table).expect("valid header");
    assert_eq!(&header.signature, b"HEST");
    assert_eq!(Some(h.declared_count), le32(body, 36));
    // Never more sources than declared; fewer only with the reason kept.
    assert!(h.sources.len() as u64 <= h.declared_count as u64);
    if h.error.is_none() {
        assert_eq!(h.sources.len() as u64, h.declared_count as u64);
    }
    // Each source takes at least 20 bytes of the table.
    assert!(40 + 20 * h.sources.len() <= body.len());
    for s in &h.sources {
        assert!(!s.type_name().is_empty());
        let _ = s.source_id();
        if let ErrorSource::MachineCheck(m)
        | ErrorSource::CorrectedMachineCheck(m)
        | ErrorSource::DeferredMachineCheck(m) = s
        {
            assert!(m.banks.len() <= 255);
        }
    }
    let banks: Vec<u8> = firmware_first_banks(&h).collect();
    assert!(
        banks.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    let text = h.to_string();
    assert!(text.starts_with("HEST: "));
    assert_eq!(
        text.lines().count(),
        1 + h.sources.len() + h.error.is_some() as usize
    );
});
