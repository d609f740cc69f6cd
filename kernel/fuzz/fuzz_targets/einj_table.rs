//! EinjTable::parse, and the trigger error action table parser (private to
//! the driver) run through Einj::inject: the input is mapped as the table
//! a simulated firmware hands back, and its TRIGGER_ERROR actions are run.
#![no_main]

use kernel::apei::einj::{Einj, EinjError, EinjTable, ErrorType, InjectRequest, MAX_TRIGGER_TABLE};
use kernel::apei::interp::{InstructionEntry, InstructionSet, TableError};
use kernel::apei::table::SdtHeader;
use kernel_fuzz::seeds::{einj_harness_table, EINJ_CTRL, EINJ_TRIGGER_AT};
use kernel_fuzz::{assert_entries_match, le32, FuzzClock, Memory};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match EinjTable::parse(data) {
        Ok(t) => {
            let (h, body) =
                SdtHeader::parse_checked(data).expect("a parsed EINJ has a valid header");
            assert_eq!(t.header, h);
            assert_eq!(&h.signature, b"EINJ");
            assert!(t.injection_header_size == 12 || t.injection_header_size == 48);
            assert_eq!(Some(t.entries.len() as u32), le32(body, 44));
            assert!(
                EinjTable::ENTRIES_OFFSET + t.entries.len() * InstructionEntry::LEN <= body.len()
            );
            assert_entries_match(
                body,
                EinjTable::ENTRIES_OFFSET,
                InstructionSet::Einj,
                &t.entries,
            );
            if let Some(at) = t.set_error_type_with_address() {
                assert!(t
                    .entries
                    .iter()
                    .any(|e| e.action == 8 && e.register.address == at));
            }
        }
        Err(e) => {
            let _ = e.to_string();
            if let TableError::UnknownInstruction { index, .. }
            | TableError::BadRegister { index, .. } = e
            {
                assert!(index < le32(data, 44).unwrap() as usize);
            }
        }
    }

    // The same bytes as a trigger error action table.
    let table = EinjTable::parse(&einj_harness_table()).unwrap();
    let clock = FuzzClock::default();
    let mut mem = Memory::strict(clock.clone());
    mem.max_stall_us = 1000;
    mem.load(EINJ_CTRL, &[0; 0x1000]);
    mem.put(EINJ_CTRL, &0xfffu32.to_le_bytes());
    mem.put(EINJ_CTRL + 0x28, &EINJ_TRIGGER_AT.to_le_bytes());
    mem.load(EINJ_TRIGGER_AT, data);
    let mut einj = Einj::new(table, mem, clock);
    let result = einj.inject(&InjectRequest::new(ErrorType::MEMORY_CORRECTABLE), |_| true);
    let _ = result.as_ref().map_err(|e| e.to_string());
    let header = (le32(data, 0), le32(data, 8), le32(data, 12));
    match result {
        Ok(()) => {
            // Accepted only if the header is sane and every entry lies in
            // the table (and so in the input: nothing else is mapped there).
            let (Some(header_size), Some(size), Some(count)) = header else {
                panic!("a trigger table of {} bytes was accepted", data.len())
            };
            assert!(header_size >= 16 && header_size <= size && size <= MAX_TRIGGER_TABLE);
            assert!(size as usize <= data.len());
            assert!(
                header_size as u64 + count as u64 * InstructionEntry::LEN as u64 <= size as u64
            );
            let entries = kernel::apei::interp::parse_entries(
                data,
                header_size as usize,
                count,
                InstructionSet::Einj,
            )
            .unwrap();
            assert_entries_match(data, header_size as usize, InstructionSet::Einj, &entries);
        }
        Err(EinjError::TriggerTable(_) | EinjError::Access(_) | EinjError::Interp(_)) => {}
        Err(e) => panic!("the simulated firmware cannot fail with {e:?}"),
    }
});
