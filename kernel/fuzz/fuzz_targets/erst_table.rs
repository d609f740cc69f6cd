//! ErstTable::parse: header checks and the instruction entry list.
#![no_main]

use kernel::apei::erst::ErstTable;
use kernel::apei::interp::{InstructionEntry, InstructionSet, TableError};
use kernel::apei::table::SdtHeader;
use kernel_fuzz::{assert_entries_match, le32};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match ErstTable::parse(data) {
        Ok(t) => {
            let (h, body) =
                SdtHeader::parse_checked(data).expect("a parsed ERST has a valid header");
            assert_eq!(t.header, h);
            assert_eq!(&h.signature, b"ERST");
            assert!(t.header_length == 48 || t.header_length == 12);
            assert_eq!(Some(t.header_length), le32(body, 36));
            // Every declared entry was parsed, inside the table's length.
            assert_eq!(Some(t.entries.len() as u32), le32(body, 44));
            assert!(
                ErstTable::ENTRIES_OFFSET + t.entries.len() * InstructionEntry::LEN <= body.len()
            );
            assert_entries_match(
                body,
                ErstTable::ENTRIES_OFFSET,
                InstructionSet::Erst,
                &t.entries,
            );
        }
        Err(e) => {
            // Errors print, and name an entry that exists.
            let _ = e.to_string();
            if let TableError::UnknownInstruction { index, .. }
            | TableError::BadRegister { index, .. } = e
            {
                let count = le32(data, 44).unwrap() as usize;
                assert!(index < count);
            }
        }
    }
});
