//! interp::parse_entries, then run_action for every action the entries
//! name, on simulated registers with tight limits (the loops must end).
//!
//! Input: byte 0 bit 0 picks the instruction set (ERST/EINJ), byte 1 is the
//! offset of the first entry, bytes 2..6 the entry count; the entries are
//! read from the whole input.
#![no_main]

use kernel::apei::interp::{
    parse_entries, run_action, ExecContext, ExecError, InstructionEntry, InstructionSet, Limits,
    TableError,
};
use kernel_fuzz::{assert_entries_match, le32, le64, FuzzClock, Memory};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (Some(&sel), Some(&offset), Some(count)) = (data.first(), data.get(1), le32(data, 2))
    else {
        return;
    };
    let set = if sel & 1 == 0 {
        InstructionSet::Erst
    } else {
        InstructionSet::Einj
    };
    let offset = offset as usize;
    let entries = match parse_entries(data, offset, count, set) {
        Ok(e) => e,
        Err(e) => {
            let _ = e.to_string();
            let fits =
                (data.len().saturating_sub(offset) / InstructionEntry::LEN) as u64 >= count as u64;
            match e {
                TableError::Parse(_) => assert!(!fits),
                TableError::UnknownInstruction { index, .. }
                | TableError::BadRegister { index, .. } => {
                    assert!(fits && index < count as usize)
                }
            }
            return;
        }
    };
    assert_eq!(entries.len(), count as usize);
    assert_entries_match(data, offset, set, &entries);

    let limits = Limits {
        max_steps: 512,
        max_stall_us: 100,
        stall_while_true_timeout_us: 2000,
        max_move_bytes: 256,
    };
    let clock = FuzzClock::default();
    let mut mem = Memory::lenient(clock.clone());
    mem.max_stall_us = limits.max_stall_us;
    // Some register contents from the input's tail.
    for (i, chunk) in data.rchunks(8).take(16).enumerate() {
        mem.put(0x2000 + 8 * i as u64, chunk);
    }
    let mut actions: Vec<u8> = entries.iter().map(|e| e.action).collect();
    actions.sort_unstable();
    actions.dedup();
    for action in actions.into_iter().take(8) {
        let before = mem.accesses;
        let mut ctx =
            ExecContext::with_input(le64(data, data.len().saturating_sub(8)).unwrap_or(0x1000));
        match run_action(&entries, action, &mut ctx, &mut mem, &clock, &limits) {
            Ok(())
            | Err(
                ExecError::StepLimit { .. }
                | ExecError::StallTimeout { .. }
                | ExecError::BadMove { .. }
                | ExecError::Access { .. },
            ) => {}
            Err(e @ ExecError::NoSuchAction { .. }) => panic!("{e} for an action the entries have"),
        }
        // Bounded work: each step does a few accesses, a STALL_WHILE_TRUE
        // polls within its budget, a MOVE_DATA moves at most the limit.
        let per_step = 4 + limits.stall_while_true_timeout_us + 2 * limits.max_move_bytes;
        assert!(mem.accesses - before <= limits.max_steps as u64 * per_step);
    }
    assert!(
        run_action(
            &entries,
            0xfe,
            &mut ExecContext::default(),
            &mut mem,
            &clock,
            &limits
        )
        .is_err()
            || entries.iter().any(|e| e.action == 0xfe)
    );
});
