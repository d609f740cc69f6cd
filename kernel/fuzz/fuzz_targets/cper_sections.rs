//! The CPER section decoders (memory, processor generic, PCIe, firmware
//! error record reference, Linux's struct mce, unknown types) through
//! `write_section`, the one printer BERT, GHES and ERST share.
//!
//! Input: a selector byte (which section type; else the next 16 bytes are
//! the GUID), an indentation byte, then the section body.
#![no_main]

use kernel::apei::cper::{
    guids, write_section, FirmwareErrorRef, MemoryError, PcieError, ProcessorGenericError,
};
use kernel::apei::guid::Guid;
use kernel_fuzz::Limited;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [sel, ind, rest @ ..] = data else {
        return;
    };
    let (ty, body) = match sel % 6 {
        0 => (guids::SEC_PLATFORM_MEM, rest),
        1 => (guids::SEC_PROC_GENERIC, rest),
        2 => (guids::SEC_PCIE, rest),
        3 => (guids::SEC_FW_ERR_REC_REF, rest),
        4 => (guids::SEC_LINUX_MCE, rest),
        _ => match rest.split_first_chunk::<16>() {
            Some((g, body)) => (Guid(*g), body),
            None => return,
        },
    };
    // Every decoder needs its whole structure, and says so when it is short.
    if let Ok(m) = MemoryError::parse(body) {
        assert!(body.len() >= MemoryError::OLD_LEN);
        assert_eq!(m.address().is_some(), m.validation_bits & 2 != 0);
    } else {
        assert!(body.len() < MemoryError::OLD_LEN);
    }
    assert_eq!(
        ProcessorGenericError::parse(body).is_ok(),
        body.len() >= ProcessorGenericError::LEN
    );
    assert_eq!(PcieError::parse(body).is_ok(), body.len() >= PcieError::LEN);
    assert_eq!(
        FirmwareErrorRef::parse(body).is_ok(),
        body.len() >= FirmwareErrorRef::MIN_LEN
    );
    let ind = (*ind % 8) as usize;
    let mut out = String::new();
    write_section(&mut out, ind, &ty, body).expect("writing to a String cannot fail");
    assert!(out.ends_with('\n'));
    let pad = " ".repeat(ind);
    for line in out.lines() {
        assert!(line.starts_with(&pad), "{line:?}");
        assert!(!line.contains('\0'));
    }
    assert!(out.contains("section_type: ") || out.contains("section type: unknown, "));
    // A writer that gives up part-way makes the printer stop, not panic.
    let limit = out.len() * usize::from(*sel) / 256;
    let mut short = Limited {
        out: String::new(),
        limit,
    };
    assert!(write_section(&mut short, ind, &ty, body).is_err() || limit >= out.len());
});
