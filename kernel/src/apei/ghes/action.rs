//! What the kernel does with a valid block, by severity (Linux's
//! `ghes_severity`, `ghes_do_proc` and `ghes_handle_memory_failure`): the
//! block's own severity decides whether the machine goes down; each memory
//! error entry with a physical address goes to the corrected-error
//! collector (corrected) or to memory_failure (recoverable).

use crate::apei::cper::{
    guids, section_flags, CperSeverity, ErrorDataEntry, ErrorStatusBlock, MemoryError,
};

/// Linux's `GHES_SEV_*`: how bad an error is for the OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    /// Informational: log only.
    None,
    Corrected,
    Recoverable,
    /// Fatal: the machine stops (after printing and saving the record).
    Panic,
}

impl Grade {
    /// The grade of a CPER severity. Linux panics on severities it does not
    /// know; a block with one is refused as malformed before it gets here
    /// ([`super::service::check`]), so `Unknown` only reaches this from an
    /// entry, where it is logged without action.
    pub const fn of(s: CperSeverity) -> Grade {
        match s {
            CperSeverity::Informational | CperSeverity::Unknown(_) => Grade::None,
            CperSeverity::Corrected => Grade::Corrected,
            CperSeverity::Recoverable => Grade::Recoverable,
            CperSeverity::Fatal => Grade::Panic,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Grade::None => "informational",
            Grade::Corrected => "corrected",
            Grade::Recoverable => "recoverable",
            Grade::Panic => "fatal",
        }
    }
}

/// What to do for one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A corrected memory error: count it against its page (the collector
    /// takes the page offline past its threshold).
    CountCorrected { addr: u64 },
    /// A corrected memory error the firmware says crossed its threshold
    /// (section flag "error threshold exceeded"): take the page offline.
    Offline { addr: u64 },
    /// A recoverable memory error: poison the page (memory_failure).
    Poison { addr: u64 },
    /// A memory error without a valid physical address: nothing to act on.
    NoAddress,
    /// Nothing this kernel can do beyond logging (PCIe: no AER driver here;
    /// processor and other sections; severities that need no action).
    LogOnly,
}

/// The action for entry `e` of a block graded `block`. Memory errors only,
/// as Linux: corrected entries go to the collector (through the fake
/// machine check Linux's `apei_mce_report_mem_error` logs) or, past the
/// firmware's threshold, offline; recoverable entries of a recoverable
/// block are poisoned.
pub fn entry_action(block: Grade, e: &ErrorDataEntry<'_>) -> Action {
    if e.section_type != guids::SEC_PLATFORM_MEM {
        return Action::LogOnly;
    }
    let Ok(m) = MemoryError::parse(e.payload) else {
        return Action::LogOnly;
    };
    let sec = Grade::of(e.error_severity);
    let Some(addr) = m.address() else {
        return match sec {
            Grade::Corrected | Grade::Recoverable => Action::NoAddress,
            _ => Action::LogOnly,
        };
    };
    match (block, sec) {
        (_, Grade::Corrected) if e.flags as u32 & section_flags::ERROR_THRESHOLD_EXCEEDED != 0 => {
            Action::Offline { addr }
        }
        (_, Grade::Corrected) => Action::CountCorrected { addr },
        (Grade::Recoverable, Grade::Recoverable) => Action::Poison { addr },
        _ => Action::LogOnly,
    }
}

/// The grade of a checked block (its header severity).
pub fn block_grade(b: &ErrorStatusBlock<'_>) -> Grade {
    Grade::of(b.error_severity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::{block, entry, memory_error_payload};
    use crate::apei::cper::{mem_valid, parse_error_status_block};
    use crate::apei::guid::Guid;
    use alloc::vec::Vec;

    fn actions(block_sev: u32, entries: &[Vec<u8>]) -> Vec<Action> {
        let b = block(1 | ((entries.len() as u32) << 4), block_sev, entries);
        let b = parse_error_status_block(&b).unwrap();
        let g = block_grade(&b);
        b.entries.iter().map(|e| entry_action(g, &e)).collect()
    }

    fn mem(sev: u32, addr: u64) -> Vec<u8> {
        entry(
            guids::SEC_PLATFORM_MEM,
            sev,
            0x300,
            &memory_error_payload(addr),
        )
    }

    #[test]
    fn memory_errors_by_severity() {
        assert_eq!(
            actions(2, &[mem(2, 0x1000)]),
            [Action::CountCorrected { addr: 0x1000 }]
        );
        assert_eq!(
            actions(0, &[mem(0, 0x2000), mem(2, 0x3000)]),
            [
                Action::Poison { addr: 0x2000 },
                Action::CountCorrected { addr: 0x3000 }
            ]
        );
        // A recoverable entry in a fatal block: the block decides (panic).
        assert_eq!(actions(1, &[mem(0, 0x2000)]), [Action::LogOnly]);
        assert_eq!(actions(3, &[mem(3, 0x2000)]), [Action::LogOnly]);
        // Threshold exceeded: offline at once.
        let mut e = mem(2, 0x4000);
        e[23] = section_flags::ERROR_THRESHOLD_EXCEEDED as u8;
        assert_eq!(actions(2, &[e]), [Action::Offline { addr: 0x4000 }]);
        // No physical address.
        let mut p = memory_error_payload(0x5000);
        p[0..8].copy_from_slice(&mem_valid::NODE.to_le_bytes());
        let e = entry(guids::SEC_PLATFORM_MEM, 0, 0x300, &p);
        assert_eq!(actions(0, &[e]), [Action::NoAddress]);
        // Short memory sections and other types are only logged.
        let e = entry(guids::SEC_PLATFORM_MEM, 0, 0x300, &[0; 8]);
        assert_eq!(actions(0, &[e]), [Action::LogOnly]);
        let e = entry(guids::SEC_PCIE, 0, 0x300, &[0; 208]);
        let u = entry(Guid([3; 16]), 0, 0x300, &[1]);
        assert_eq!(actions(0, &[e, u]), [Action::LogOnly, Action::LogOnly]);
    }

    #[test]
    fn grades() {
        assert_eq!(Grade::of(CperSeverity::Fatal), Grade::Panic);
        assert_eq!(Grade::of(CperSeverity::Informational), Grade::None);
        assert_eq!(Grade::of(CperSeverity::Unknown(9)), Grade::None);
        assert!(Grade::Panic > Grade::Recoverable && Grade::Recoverable > Grade::Corrected);
    }
}
