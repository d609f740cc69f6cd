//! Playing GHES firmware from the host (used by `tests/ghes.rs` and the
//! bench): a HEST with GHES/GHESv2 entries for `-acpitable`, the firmware's
//! region in shared guest RAM (error status address registers, read-ack
//! registers, one 4 KiB error status block per source), and CPER blocks
//! to post there.

use crate::acpi::{sdt, write};
use crate::{workspace_root, Vm, VmOptions, BOOT, STEP};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The firmware's region: usable RAM below 512 MiB that nothing in the
/// kernel uses early (low frames are handed out first); the kernel
/// reserves it when it reads HEST.
pub const BASE: u64 = 0x1f20_0000;
/// Source `n`'s error status address register.
pub const fn reg(n: u16) -> u64 {
    BASE + 8 * n as u64
}
/// Source `n`'s read-ack register.
pub const fn ack(n: u16) -> u64 {
    BASE + 0x100 + 8 * n as u64
}
/// Source `n`'s error status block (4 KiB each).
pub const fn blk(n: u16) -> u64 {
    BASE + 0x1000 * n as u64
}
pub const BLOCK_LEN: u32 = 4096;
/// Its read-ack register lies past all memory: it cannot be written.
pub const UNWRITABLE: u64 = 0x7fff_ffff_f000;
/// What the read-ack register holds before the kernel writes it.
pub const ACK_BEFORE: u64 = 0xa0;
pub const ACK_PRESERVE: u64 = 0xfffe;
pub const ACK_WRITE: u64 = 1;

/// Pages the errors name: usable RAM, clear of the kernel's early use.
pub const CE_ADDR: u64 = 0x1000_5000;
pub const UC_ADDR: u64 = 0x1000_4000;
pub const SRAO_ADDR: u64 = 0x1000_6000;

pub const MEMORY: [u8; 16] = [
    0x14, 0x11, 0xBC, 0xA5, 0x64, 0x6F, 0xDE, 0x4E, 0xB8, 0x63, 0x3E, 0x83, 0xED, 0x7C, 0x83, 0xB1,
];

// CPER severities.
pub const RECOVERABLE: u32 = 0;
pub const FATAL: u32 = 1;
pub const CORRECTED: u32 = 2;

/// HEST notification structure (28 bytes).
pub fn notify(kind: u8, poll_ms: u32) -> Vec<u8> {
    let mut n = vec![kind, 28, 0, 0];
    for v in [poll_ms, 0, 0, 0, 0, 0] {
        n.extend_from_slice(&v.to_le_bytes());
    }
    n
}

/// A 64-bit system-memory GAS.
pub fn gas(addr: u64) -> Vec<u8> {
    let mut g = vec![0, 64, 0, 4];
    g.extend_from_slice(&addr.to_le_bytes());
    g
}

pub const POLLED: u8 = 0;
pub const SCI: u8 = 3;
pub const NMI: u8 = 4;

/// A GHES (type 9) or, with a read-ack register, GHESv2 (type 10) entry.
pub fn ghes(id: u16, kind: u8, poll_ms: u32, read_ack: Option<u64>) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&(if read_ack.is_some() { 10u16 } else { 9 }).to_le_bytes());
    s.extend_from_slice(&id.to_le_bytes());
    s.extend_from_slice(&0xffffu16.to_le_bytes());
    s.extend_from_slice(&[0, 1]); // flags, enabled
    for v in [1u32, 1, 0] {
        s.extend_from_slice(&v.to_le_bytes());
    }
    s.extend_from_slice(&gas(reg(id)));
    s.extend_from_slice(&notify(kind, poll_ms));
    s.extend_from_slice(&BLOCK_LEN.to_le_bytes());
    if let Some(a) = read_ack {
        s.extend_from_slice(&gas(a));
        s.extend_from_slice(&ACK_PRESERVE.to_le_bytes());
        s.extend_from_slice(&ACK_WRITE.to_le_bytes());
    }
    s
}

/// An IA-32 corrected machine check source (type 1) with FIRMWARE_FIRST
/// for `bank`.
pub fn firmware_first_cmc(id: u16, bank: u8) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&1u16.to_le_bytes());
    s.extend_from_slice(&id.to_le_bytes());
    s.extend_from_slice(&[0, 0, 1, 1]); // reserved, FIRMWARE_FIRST, enabled
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&notify(POLLED, 1000));
    s.extend_from_slice(&[1, 0, 0, 0]); // one bank
    let base = 0x400 + 4 * bank as u32;
    s.extend_from_slice(&[bank, 0, 1, 0]);
    s.extend_from_slice(&base.to_le_bytes());
    s.extend_from_slice(&u64::MAX.to_le_bytes());
    for r in [base + 1, base + 2, base + 3] {
        s.extend_from_slice(&r.to_le_bytes());
    }
    s
}

pub fn hest(structs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = (structs.len() as u32).to_le_bytes().to_vec();
    for s in structs {
        body.extend_from_slice(s);
    }
    sdt(b"HEST", 1, &body)
}

/// A platform memory error section (80 bytes): physical address, node,
/// card, module, bank, row, column and error type valid.
pub fn memory_section(addr: u64, error_type: u8) -> Vec<u8> {
    let mut m = vec![0u8; 80];
    let valid: u64 = 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200 | 0x4000;
    m[0..8].copy_from_slice(&valid.to_le_bytes());
    m[16..24].copy_from_slice(&addr.to_le_bytes());
    m[32..34].copy_from_slice(&1u16.to_le_bytes()); // node
    m[34..36].copy_from_slice(&2u16.to_le_bytes()); // card
    m[36..38].copy_from_slice(&3u16.to_le_bytes()); // module
    m[38..40].copy_from_slice(&4u16.to_le_bytes()); // bank
    m[42..44].copy_from_slice(&0x123u16.to_le_bytes()); // row
    m[44..46].copy_from_slice(&0x45u16.to_le_bytes()); // column
    m[72] = error_type;
    m
}

/// A Generic Error Data Entry, revision 0x300, FRU text "DIMM3".
pub fn entry(section_type: [u8; 16], severity: u32, payload: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(&section_type);
    e.extend_from_slice(&severity.to_le_bytes());
    e.extend_from_slice(&0x300u16.to_le_bytes());
    e.push(0x2); // FRU text valid
    e.push(0);
    e.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    e.extend_from_slice(&[0u8; 16]);
    let mut fru = [0u8; 20];
    fru[..5].copy_from_slice(b"DIMM3");
    e.extend_from_slice(&fru);
    e.extend_from_slice(&[0u8; 8]);
    e.extend_from_slice(payload);
    e
}

/// A Generic Error Status Block holding `entries`.
pub fn block(severity: u32, entries: &[Vec<u8>]) -> Vec<u8> {
    let data: Vec<u8> = entries.concat();
    let valid = match severity {
        CORRECTED => 0x2,
        _ => 0x1,
    };
    let mut b = Vec::new();
    b.extend_from_slice(&(valid | ((entries.len() as u32) << 4)).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&severity.to_le_bytes());
    b.extend_from_slice(&data);
    b
}

pub fn memory_block(severity: u32, addr: u64, error_type: u8) -> Vec<u8> {
    block(
        severity,
        &[entry(MEMORY, severity, &memory_section(addr, error_type))],
    )
}

pub fn tables_dir(name: &str) -> PathBuf {
    let d = workspace_root()
        .join("target/test-vms")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Boots with `structs` as HEST and the firmware region initialised: each
/// GHES source's address register pointing at its block, the read-ack
/// registers at [`ACK_BEFORE`].
pub fn boot(name: &str, o: VmOptions, structs: &[Vec<u8>], ids: &[u16]) -> Vm {
    let table = write(&tables_dir(name), "hest.dat", &hest(structs));
    let ids = ids.to_vec();
    let mut vm = Vm::start_with(name, o.shared_ram().acpi_table(&table), |ram| {
        use std::os::unix::fs::FileExt;
        for &id in &ids {
            ram.write_all_at(&blk(id).to_le_bytes(), reg(id)).unwrap();
            ram.write_all_at(&ACK_BEFORE.to_le_bytes(), ack(id))
                .unwrap();
        }
    });
    vm.expect_line(r"\] READY$", BOOT);
    vm.expect_anywhere(r"rasos> ", STEP);
    vm
}

/// Writes `b` as source `id`'s block, the block status last (as firmware
/// does: the status says the rest is there).
pub fn post(vm: &Vm, id: u16, b: &[u8]) {
    vm.ram_write(blk(id) + 4, &b[4..]);
    vm.ram_write(blk(id), &b[..4]);
}

/// Waits until the kernel has zeroed source `id`'s block status.
pub fn wait_cleared(vm: &Vm, id: u16) {
    let deadline = Instant::now() + STEP;
    while u32_at(vm, blk(id)) != 0 {
        assert!(
            Instant::now() < deadline,
            "block status of source {id} not cleared\n{}",
            vm.output()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn u32_at(vm: &Vm, at: u64) -> u32 {
    u32::from_le_bytes(vm.ram_read(at, 4).try_into().unwrap())
}
