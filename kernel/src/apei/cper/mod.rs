//! UEFI Common Platform Error Record (UEFI spec appendix N) and the ACPI
//! Generic Error Status Block / Generic Error Data Entry (ACPI spec 18.3.2.7.1)
//! that carry CPER sections for BERT and GHES.
//!
//! Records come from firmware, from ERST (possibly written by another OS or
//! kernel) or from a previous boot: every length, offset and count is checked
//! before use, and nothing here panics on any input.
//!
//! The machine-check record is byte-compatible with the one Linux writes to
//! ERST (`apei_write_mce`): a 128-byte header, one 72-byte section descriptor
//! and a 128-byte `struct mce` at offset 200, so records cross between the two
//! kernels in both directions.
//!
//! One concern per file:
//! - `record`: the record header, section descriptors, severities, errors and
//!   [`parse_record`];
//! - [`guids`]: the notification, section and creator GUIDs and their names;
//! - `time`: the BCD timestamp ([`CperTimestamp`], [`DateTime`]);
//! - `mce`: Linux's `struct mce` section and machine-check record
//!   ([`encode_mce`], [`decode_mce`]);
//! - `section`: the section bodies we decode ([`MemoryError`],
//!   [`ProcessorGenericError`], [`PcieError`], [`FirmwareErrorRef`]), one
//!   file each, and [`write_section`], shared by every describer (BERT,
//!   GHES, ERST), in the words of Linux's `cper.c`;
//! - `status_block`: the Generic Error Status Block
//!   ([`parse_error_status_block`]);
//! - `describe`: the describer of whole records ([`describe()`]).
//!
//! Everything public is re-exported here: callers use `cper::X`.

mod describe;
pub mod guids;
mod mce;
mod record;
mod section;
mod status_block;
mod time;

pub use describe::describe;
pub use guids::{creator_name, notification_type_name, section_type_name};
pub use mce::{
    decode_mce, encode_mce, encode_mce_array, linux_record_id, write_linux_erst_header, LinuxMce,
    MCE_RECORD_LEN, MCE_SECTION_OFFSET,
};
pub use record::{
    flags, parse_record, section_flags, validation, CperError, CperHeader, CperRecord,
    CperSeverity, SectionDescriptor, RECORD_REVISION, SECTION_REVISION, SIGNATURE, SIGNATURE_END,
};
pub use section::{
    hex_dump, mem_valid, pcie_valid, write_section, FirmwareErrorRef, Indent, MemoryError,
    PcieError, ProcessorGenericError,
};
pub use status_block::{
    block_status, claimed_block_len, describe_status_block, entry_valid, parse_error_status_block,
    Entries, EntryIter, ErrorDataEntry, ErrorStatusBlock,
};
pub use time::{CperTimestamp, DateTime};

/// Test helpers shared by the files of this module (and by BERT's tests).
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::apei::guid::Guid;
    use crate::mca::record::{CpuVendor, MceRecord, Severity, Source};
    use alloc::vec;
    use alloc::vec::Vec;

    pub fn sample() -> MceRecord {
        MceRecord {
            status: 0xbd80_0000_0010_0134,
            misc: 0x86,
            addr: 0x1234_5678,
            mcgstatus: 0x5,
            mcgcap: 0x0100_0c0a,
            ip: 0xffff_ffff_8101_e4b3,
            cs: 0x10,
            tsc: 0x1122_3344_5566,
            time_us: 0,
            walltime: 1_709_210_096,
            bank: 4,
            cpu: 300,
            apicid: 0x21,
            socketid: 1,
            cpuvendor: CpuVendor::Amd,
            cpuid: 0x000a_0f11,
            synd: 0x77,
            ipid: 0x9600_0000_0001,
            source: Source::Persistent,
            severity: Severity::ActionRequired,
        }
    }

    pub fn entry(ty: Guid, sev: u32, rev: u16, payload: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&ty.0);
        e.extend_from_slice(&sev.to_le_bytes());
        e.extend_from_slice(&rev.to_le_bytes());
        e.push(if rev >= 0x300 {
            entry_valid::TIMESTAMP | entry_valid::FRU_TEXT
        } else {
            0
        });
        e.push(0);
        e.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        e.extend_from_slice(&[0; 16]);
        let mut fru = [0u8; 20];
        fru[..5].copy_from_slice(b"DIMM0");
        e.extend_from_slice(&fru);
        if rev >= 0x300 {
            e.extend_from_slice(
                &CperTimestamp::from_unix(1_709_210_096)
                    .unwrap()
                    .0
                    .to_le_bytes(),
            );
        }
        e.extend_from_slice(payload);
        e
    }

    pub fn block(status: u32, sev: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let data: Vec<u8> = entries.concat();
        let mut b = Vec::new();
        b.extend_from_slice(&status.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&sev.to_le_bytes());
        b.extend_from_slice(&data);
        b
    }

    pub fn memory_error_payload(addr: u64) -> Vec<u8> {
        let mut m = vec![0u8; MemoryError::LEN];
        let valid = mem_valid::PA
            | mem_valid::NODE
            | mem_valid::BANK
            | mem_valid::ROW
            | mem_valid::ERROR_TYPE
            | mem_valid::ROW_EXT;
        m[0..8].copy_from_slice(&valid.to_le_bytes());
        m[16..24].copy_from_slice(&addr.to_le_bytes());
        m[32..34].copy_from_slice(&1u16.to_le_bytes());
        m[38..40].copy_from_slice(&5u16.to_le_bytes());
        m[42..44].copy_from_slice(&0x1234u16.to_le_bytes());
        m[72] = 3;
        m[73] = 1;
        m
    }

    pub fn memory_block(addr: u64) -> Vec<u8> {
        block(
            block_status::UNCORRECTABLE_VALID | (1 << block_status::ENTRY_COUNT_SHIFT),
            1,
            &[entry(
                guids::SEC_PLATFORM_MEM,
                1,
                0x0300,
                &memory_error_payload(addr),
            )],
        )
    }
}
