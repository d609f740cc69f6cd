//! Firmware tables supplied with `-acpitable`: a synthetic BERT whose boot
//! error region (in shared guest RAM) holds a memory error the "firmware"
//! saw before the kernel, and malformed tables that are reported and
//! skipped while the kernel keeps booting.

use tests::acpi::{guid, sdt, write};
use tests::*;

/// Where the test puts the boot error region (free RAM, below the PCI hole).
const REGION: u64 = 0x1f00_0000;

/// One Generic Error Status Block with one platform-memory-error entry.
fn boot_error_region(address: u64) -> Vec<u8> {
    // Platform memory error section (80 bytes): validation = physical
    // address (bit 1) | node (bit 3) | module (bit 5).
    let mut sec = vec![0u8; 80];
    sec[0..8].copy_from_slice(&(0x2u64 | 0x8 | 0x20).to_le_bytes());
    sec[16..24].copy_from_slice(&address.to_le_bytes());
    sec[32..34].copy_from_slice(&1u16.to_le_bytes()); // node
    sec[36..38].copy_from_slice(&3u16.to_le_bytes()); // module
                                                      // Generic Error Data Entry, revision 0x300 (72-byte header).
    let mut entry = Vec::new();
    entry.extend_from_slice(&guid(
        0xA5BC1114,
        0x6F64,
        0x4EDE,
        [0xB8, 0x63, 0x3E, 0x83, 0xED, 0x7C, 0x83, 0xB1],
    ));
    entry.extend_from_slice(&2u32.to_le_bytes()); // corrected
    entry.extend_from_slice(&0x300u16.to_le_bytes());
    entry.push(0x2); // validation: FRU text valid
    entry.push(0); // flags
    entry.extend_from_slice(&(sec.len() as u32).to_le_bytes());
    entry.extend_from_slice(&[0u8; 16]); // FRU id
    let mut fru = [0u8; 20];
    fru[..5].copy_from_slice(b"DIMM7");
    entry.extend_from_slice(&fru);
    entry.extend_from_slice(&[0u8; 8]); // timestamp
    entry.extend_from_slice(&sec);
    // Block header: correctable valid (bit 1), one entry (bits 13:4).
    let mut block = Vec::new();
    block.extend_from_slice(&(0x2u32 | (1 << 4)).to_le_bytes());
    block.extend_from_slice(&0u32.to_le_bytes()); // raw data offset
    block.extend_from_slice(&0u32.to_le_bytes()); // raw data length
    block.extend_from_slice(&(entry.len() as u32).to_le_bytes());
    block.extend_from_slice(&2u32.to_le_bytes()); // severity corrected
    block.extend_from_slice(&entry);
    block
}

fn bert(region: u64, len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(&region.to_le_bytes());
    sdt(b"BERT", 1, &body)
}

fn tables_dir(name: &str) -> std::path::PathBuf {
    let d = workspace_root()
        .join("target/test-vms")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn boot_errors_from_a_synthetic_bert_are_reported() {
    let dir = tables_dir("tables-bert");
    let region = boot_error_region(0x12_3456_7000);
    let table = write(&dir, "bert.dat", &bert(REGION, 4096));
    let vm = Vm::start_with(
        "tables-bert",
        VmOptions::default().shared_ram().acpi_table(&table),
        |ram| {
            use std::os::unix::fs::FileExt;
            ram.write_all_at(&region, REGION).unwrap();
        },
    );
    let mut vm = vm;
    vm.expect_line(r"\] READY$", BOOT);
    let out = vm.output();
    assert!(
        out.contains(&format!(
            "bert: boot error region {REGION:#x} (4096 bytes):"
        )),
        "{out}"
    );
    // The same decoders and words as GHES (Linux's cper output).
    assert!(out.contains("bert: event severity: corrected"), "{out}");
    assert!(out.contains("bert:   section_type: memory error"), "{out}");
    assert!(
        out.contains("bert:   physical_address: 0x0000001234567000"),
        "{out}"
    );
    assert!(out.contains("bert:  fru_text: DIMM7"), "{out}");
    vm.quit();
}

#[test]
fn malformed_tables_are_reported_and_skipped() {
    let dir = tables_dir("tables-bad");
    // HEST claiming 5 sources, holding one truncated IA-32 MCE source.
    let mut hest_body = Vec::new();
    hest_body.extend_from_slice(&5u32.to_le_bytes());
    hest_body.extend_from_slice(&0u16.to_le_bytes()); // type 0
    hest_body.extend_from_slice(&[0u8; 10]);
    let hest = write(&dir, "hest.dat", &sdt(b"HEST", 1, &hest_body));
    // BERT whose region lies beyond any memory.
    let bert = write(&dir, "bert.dat", &bert(0xffff_ffff_0000_0000, 4096));
    let vm = boot_ready(
        "tables-bad",
        VmOptions::default().acpi_table(&hest).acpi_table(&bert),
    );
    let out = vm.output();
    assert!(out.contains("HEST"), "{out}");
    let hest_line = vm.grep(r"hest: ").join("\n");
    assert!(
        hest_line.contains("malformed") || hest_line.contains("parsing stopped early"),
        "{hest_line}"
    );
    assert!(
        out.contains(
            "bert: boot error region 0xffffffff00000000+0x1000 is not readable memory; ignored"
        ),
        "{out}"
    );
    // And the kernel carries on.
    assert!(out.contains("READY"));
}
