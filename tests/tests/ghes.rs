//! Firmware-first error handling under QEMU: GHES and GHESv2 sources. QEMU
//! has no GHES on x86, so each test supplies a HEST with `-acpitable` and
//! plays the firmware from the host through shared guest RAM: the error
//! status address registers, the read-ack register and the error status
//! blocks live in one region of guest RAM; the host writes a CPER block
//! there and waits for the kernel's poll, or raises the NMI itself (QMP
//! `inject-nmi`), then checks what the kernel printed, did, cleared and
//! acknowledged. A HEST corrected-machine-check entry with FIRMWARE_FIRST
//! makes bank 9 firmware-first, and a real QEMU `mce` shows that #MC still
//! reads it.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tests::acpi::{guid, sdt, write};
use tests::mce::*;
use tests::*;

/// The firmware's region: usable RAM below 512 MiB that nothing in the
/// kernel uses early (low frames are handed out first); the kernel
/// reserves it when it reads HEST.
const BASE: u64 = 0x1f20_0000;
/// Source `n`'s error status address register.
const fn reg(n: u16) -> u64 {
    BASE + 8 * n as u64
}
/// Source `n`'s read-ack register.
const fn ack(n: u16) -> u64 {
    BASE + 0x100 + 8 * n as u64
}
/// Source `n`'s error status block (4 KiB each).
const fn blk(n: u16) -> u64 {
    BASE + 0x1000 * n as u64
}
const BLOCK_LEN: u32 = 4096;
/// Its read-ack register lies past all memory: it cannot be written.
const UNWRITABLE: u64 = 0x7fff_ffff_f000;
/// What the read-ack register holds before the kernel writes it.
const ACK_BEFORE: u64 = 0xa0;
const ACK_PRESERVE: u64 = 0xfffe;
const ACK_WRITE: u64 = 1;

/// Pages the errors name: usable RAM, clear of the kernel's early use.
const CE_ADDR: u64 = 0x1000_5000;
const UC_ADDR: u64 = 0x1000_4000;
const SRAO_ADDR: u64 = 0x1000_6000;

const MEMORY: [u8; 16] = [
    0x14, 0x11, 0xBC, 0xA5, 0x64, 0x6F, 0xDE, 0x4E, 0xB8, 0x63, 0x3E, 0x83, 0xED, 0x7C, 0x83, 0xB1,
];

// CPER severities.
const RECOVERABLE: u32 = 0;
const FATAL: u32 = 1;
const CORRECTED: u32 = 2;

/// HEST notification structure (28 bytes).
fn notify(kind: u8, poll_ms: u32) -> Vec<u8> {
    let mut n = vec![kind, 28, 0, 0];
    for v in [poll_ms, 0, 0, 0, 0, 0] {
        n.extend_from_slice(&v.to_le_bytes());
    }
    n
}

/// A 64-bit system-memory GAS.
fn gas(addr: u64) -> Vec<u8> {
    let mut g = vec![0, 64, 0, 4];
    g.extend_from_slice(&addr.to_le_bytes());
    g
}

const POLLED: u8 = 0;
const SCI: u8 = 3;
const NMI: u8 = 4;

/// A GHES (type 9) or, with a read-ack register, GHESv2 (type 10) entry.
fn ghes(id: u16, kind: u8, poll_ms: u32, read_ack: Option<u64>) -> Vec<u8> {
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
fn firmware_first_cmc(id: u16, bank: u8) -> Vec<u8> {
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

fn hest(structs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = (structs.len() as u32).to_le_bytes().to_vec();
    for s in structs {
        body.extend_from_slice(s);
    }
    sdt(b"HEST", 1, &body)
}

/// A platform memory error section (80 bytes): physical address, node,
/// card, module, bank, row, column and error type valid.
fn memory_section(addr: u64, error_type: u8) -> Vec<u8> {
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
fn entry(section_type: [u8; 16], severity: u32, payload: &[u8]) -> Vec<u8> {
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
fn block(severity: u32, entries: &[Vec<u8>]) -> Vec<u8> {
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

fn memory_block(severity: u32, addr: u64, error_type: u8) -> Vec<u8> {
    block(
        severity,
        &[entry(MEMORY, severity, &memory_section(addr, error_type))],
    )
}

fn tables_dir(name: &str) -> PathBuf {
    let d = workspace_root()
        .join("target/test-vms")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Boots with `structs` as HEST and the firmware region initialised: each
/// GHES source's address register pointing at its block, the read-ack
/// registers at [`ACK_BEFORE`].
fn boot(name: &str, o: VmOptions, structs: &[Vec<u8>], ids: &[u16]) -> Vm {
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

fn u32_at(vm: &Vm, at: u64) -> u32 {
    u32::from_le_bytes(vm.ram_read(at, 4).try_into().unwrap())
}

fn u64_at(vm: &Vm, at: u64) -> u64 {
    u64::from_le_bytes(vm.ram_read(at, 8).try_into().unwrap())
}

/// Writes `b` as source `id`'s block, the block status last (as firmware
/// does: the status says the rest is there).
fn post(vm: &Vm, id: u16, b: &[u8]) {
    vm.ram_write(blk(id) + 4, &b[4..]);
    vm.ram_write(blk(id), &b[..4]);
}

/// Waits until the kernel has zeroed source `id`'s block status.
fn wait_cleared(vm: &Vm, id: u16) {
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

/// The header line of a record from source `id`, then the lines `want` in
/// order.
fn expect_record(vm: &mut Vm, id: u16, want: &[&str]) {
    vm.expect_line(
        &format!(
            r"\{{\d+\}}\[Hardware Error\]: Hardware error from APEI Generic Hardware Error Source: {id}$"
        ),
        STEP,
    );
    for w in want {
        vm.expect_line(&format!(r"\[Hardware Error\]: {w}$"), STEP);
    }
}

/// Types `cmd` and returns the first line matching `pattern`.
fn ask(vm: &mut Vm, cmd: &str, pattern: &str) -> String {
    vm.send(&format!("{cmd}\r"));
    vm.expect_line(pattern, STEP)
}

#[test]
fn polled_nmi_and_fallback_sources_are_serviced() {
    let mut vm = boot(
        "ghes-service",
        VmOptions::default().cpus(2),
        &[
            ghes(1, POLLED, 20, None),
            ghes(2, NMI, 0, Some(ack(2))),
            ghes(3, POLLED, 20, Some(UNWRITABLE)),
            ghes(4, SCI, 0, None),
        ],
        &[1, 2, 3, 4],
    );
    let out = vm.output();
    for want in [
        "ghes: source 1 (GHES): polled every 20 ms; status block address in system memory at 0x1f200008, block length 4096",
        "ghes: source 2 (GHESv2): notified by NMI; status block address in system memory at 0x1f200010, block length 4096; read ack in system memory at 0x1f200110 (preserve 0xfffe, write 0x1)",
        "ghes: source 4 (GHES): notified by SCI, which this kernel does not wire (it needs AML); polled every 1000 ms instead",
        "ghes: servicing 4 source(s): 2 polled, 1 by NMI, 1 on the fallback poll",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }

    // Polled, corrected: decoded in Linux's words, counted by the collector.
    post(&vm, 1, &memory_block(CORRECTED, CE_ADDR, 2));
    expect_record(
        &mut vm,
        1,
        &[
            "It has been corrected by h/w and requires no further action",
            "event severity: corrected",
            " Error 0, type: corrected",
            " fru_text: DIMM3",
            "  section_type: memory error",
            "  physical_address: 0x0000000010005000",
            "  node:1 card:2 module:3 bank:4 row:291 column:69 ",
            "  error_type: 2, single-bit ECC",
        ],
    );
    wait_cleared(&vm, 1);
    ask(
        &mut vm,
        "stats",
        r"cec: 1 page\(s\) tracked, 1 error\(s\) counted, 0 offlined",
    );

    // Polled, recoverable: the page is poisoned.
    post(&vm, 1, &memory_block(RECOVERABLE, UC_ADDR, 3));
    expect_record(
        &mut vm,
        1,
        &[
            "event severity: recoverable",
            " Error 0, type: recoverable",
            "  physical_address: 0x0000000010004000",
            "  error_type: 3, multi-bit ECC",
        ],
    );
    vm.expect_line(
        r"Memory failure: 0x10004: recovery action for recoverable \(GHES\) error: free page poisoned",
        STEP,
    );
    ask(&mut vm, "pages", r"0x10004 \(0x10004000\): Poisoned");

    // NMI-notified GHESv2: the host raises the NMI; the block is taken,
    // cleared and acknowledged (preserve and write masks applied).
    post(&vm, 2, &memory_block(CORRECTED, CE_ADDR, 2));
    vm.qmp_execute("inject-nmi", serde_json::json!({}));
    expect_record(&mut vm, 2, &["event severity: corrected"]);
    wait_cleared(&vm, 2);
    assert_eq!(
        u64_at(&vm, ack(2)),
        (ACK_BEFORE & ACK_PRESERVE) | ACK_WRITE,
        "read ack of source 2"
    );
    // An NMI with nothing pending is nobody's.
    let before = ask(&mut vm, "stats", r"NMIs nobody claimed: \d+");
    vm.qmp_execute("inject-nmi", serde_json::json!({}));
    std::thread::sleep(Duration::from_millis(200));
    let after = ask(&mut vm, "stats", r"NMIs nobody claimed: \d+");
    assert_ne!(before, after, "an empty NMI was claimed");

    // GHESv2 whose read-ack register cannot be written: said, and the
    // kernel carries on.
    post(&vm, 3, &memory_block(CORRECTED, CE_ADDR, 2));
    expect_record(&mut vm, 3, &["event severity: corrected"]);
    vm.expect_line(
        r"ghes: source 3: read ack register cannot be written: access to system memory at 0x7ffffffff000 failed",
        STEP,
    );

    // SCI: not wired, found by the fallback poll.
    post(&vm, 4, &memory_block(CORRECTED, CE_ADDR, 2));
    expect_record(&mut vm, 4, &["event severity: corrected"]);
    wait_cleared(&vm, 4);

    // All of them in `log` and `stats`.
    ask(&mut vm, "log 20", r"and 5 GHES block\(s\), showing");
    vm.expect_line(r"GHES source 4 \(found by poll on cpu0\):", STEP);
    ask(
        &mut vm,
        "stats",
        r"ghes:   source 1: corrected 1 recoverable 1 fatal 0 info 0; too long 0 malformed 0",
    );
    vm.expect_line(r"ghes:   source 2: corrected 1 ", STEP);
    vm.expect_line(r"ghes:   source 3: corrected 1 .* ack failed 1;", STEP);
    vm.quit();
}

/// A read-only window the host can write and the guest cannot: an
/// ivshmem device's BAR over a file mapped read-only into the guest, where
/// a block status never clears. Returns the file and the QEMU arguments.
fn read_only_window(name: &str) -> (PathBuf, Vec<String>) {
    let file = PathBuf::from(format!("/dev/shm/rasos-{name}-rom-{}", std::process::id()));
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(1 << 20).unwrap();
    let args = vec![
        "-object".to_string(),
        format!(
            "memory-backend-file,id=rom0,size=1M,mem-path={},share=on,readonly=on",
            file.display()
        ),
        "-device".into(),
        "ivshmem-plain,memdev=rom0".into(),
    ];
    (file, args)
}

/// The guest-physical address of the ivshmem BAR (from `info pci`).
fn ivshmem_bar(vm: &mut Vm) -> u64 {
    let pci = vm.hmp("info pci");
    let dev = pci
        .split("Bus ")
        .find(|d| d.contains("1af4:1110"))
        .unwrap_or_else(|| panic!("no ivshmem device:\n{pci}"));
    let at = dev
        .split("BAR2: 64 bit prefetchable memory at ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("no BAR2:\n{dev}"));
    u64::from_str_radix(at.trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn malformed_blocks_are_reported_and_the_kernel_carries_on() {
    let (rom, args) = read_only_window("ghes-bad");
    let mut o = VmOptions::default().cpus(2);
    for a in &args {
        o = o.qemu_arg(a);
    }
    let mut vm = boot(
        "ghes-bad",
        o,
        &[ghes(1, POLLED, 20, None), ghes(5, POLLED, 20, None)],
        &[1],
    );
    // A block whose length runs past its region (4096 bytes).
    let mut b = memory_block(CORRECTED, CE_ADDR, 2);
    b[12..16].copy_from_slice(&5000u32.to_le_bytes());
    post(&vm, 1, &b);
    vm.expect_line(
        r"ghes: source 1: error status block at 0x1f201000 claims 5020 bytes, past its region of 4096 bytes \(error block length\) \(found by poll on cpu0\); given back to the firmware unused",
        STEP,
    );
    wait_cleared(&vm, 1);
    // A section whose length overruns the data area.
    let mut b = memory_block(RECOVERABLE, UC_ADDR, 3);
    b[20 + 24..20 + 28].copy_from_slice(&500u32.to_le_bytes());
    post(&vm, 1, &b);
    vm.expect_line(
        r"ghes: source 1: malformed error status block at 0x1f201000: section 0 at offset 20 \(length 500\) overruns the data area ending at 172",
        STEP,
    );
    wait_cleared(&vm, 1);
    // The recoverable error of the malformed block was not acted on.
    ask(&mut vm, "pages", r"0 page\(s\) out of use");
    // A section of a type nobody decodes: shown by GUID and length.
    let odd = guid(0x12345678, 0x9abc, 0xdef0, [1, 2, 3, 4, 5, 6, 7, 8]);
    post(
        &vm,
        1,
        &block(CORRECTED, &[entry(odd, CORRECTED, b"vendor bytes")]),
    );
    expect_record(
        &mut vm,
        1,
        &[
            "It has been corrected by h/w and requires no further action",
            "event severity: corrected",
            " Error 0, type: corrected",
            " fru_text: DIMM3",
            "  section type: unknown, 12345678-9ABC-DEF0-0102-030405060708",
            "  section length: 0xc",
            "  00000000: 646e6576 6220726f 73657479 +vendor bytes",
        ],
    );
    wait_cleared(&vm, 1);
    // An unknown block severity.
    post(&vm, 1, &memory_block(9, CE_ADDR, 2));
    vm.expect_line(
        r"ghes: source 1: malformed error status block at 0x1f201000: unknown block severity 9",
        STEP,
    );
    wait_cleared(&vm, 1);
    // Counted; and a good block after all that is still taken.
    post(&vm, 1, &memory_block(CORRECTED, CE_ADDR, 2));
    expect_record(&mut vm, 1, &["event severity: corrected"]);
    ask(
        &mut vm,
        "stats",
        r"ghes:   source 1: corrected 2 recoverable 0 fatal 0 info 0; too long 1 malformed 2 unreadable 0 unknown sections 1;",
    );

    // A block status that never clears: source 5's block lies in memory
    // the guest cannot write. Taken once, said, not logged again.
    let bar = ivshmem_bar(&mut vm);
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&rom).unwrap();
        f.write_all_at(&memory_block(CORRECTED, CE_ADDR, 2), 0).unwrap();
    }
    vm.ram_write(reg(5), &bar.to_le_bytes());
    expect_record(&mut vm, 5, &["event severity: corrected"]);
    vm.expect_line(
        &format!(
            r"ghes: source 5: block status at {bar:#x} does not clear \(reads 0x12 after writing 0\): the firmware's memory does not take the write; this block is not logged again while it stays"
        ),
        STEP,
    );
    std::thread::sleep(Duration::from_millis(500));
    let line = ask(&mut vm, "stats", r"ghes:   source 5: ");
    assert!(line.contains("corrected 1 "), "{line}");
    assert!(line.contains("status stuck 1 (found again "), "{line}");
    assert!(!line.contains("(found again 0)"), "{line}");
    assert_eq!(
        vm.grep(r"Hardware error from APEI Generic Hardware Error Source: 5$").len(),
        1
    );
    vm.quit();
    let _ = std::fs::remove_file(rom);
}

#[test]
fn a_fatal_error_panics_once_and_is_read_back_from_erst() {
    let dir = tables_dir("ghes-fatal");
    let erst = dir.join("erst.bin");
    let _ = std::fs::remove_file(&erst);
    let structs = [ghes(2, NMI, 0, Some(ack(2)))];
    let mut vm = boot(
        "ghes-fatal-1",
        VmOptions::default().erst(erst.clone()),
        &structs,
        &[2],
    );
    post(&vm, 2, &memory_block(FATAL, UC_ADDR, 3));
    vm.qmp_execute("inject-nmi", serde_json::json!({}));
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 2"),
        "{out}"
    );
    assert!(
        out.contains("[Hardware Error]: event severity: fatal"),
        "{out}"
    );
    assert!(
        out.contains("[Hardware Error]:   physical_address: 0x0000000010004000"),
        "{out}"
    );
    let saved = vm.grep(r"erst: GHES source 2: error status block saved as record 0x[0-9a-f]{16}");
    assert_eq!(saved.len(), 1, "{out}");
    let id = saved[0]
        .split("record ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        vm.grep(r"Kernel panic - not syncing: Fatal machine check: Fatal hardware error!")
            .len(),
        1,
        "{out}"
    );
    drop(vm);

    let vm = boot(
        "ghes-fatal-2",
        VmOptions::default().erst(erst),
        &structs,
        &[2],
    );
    let out = vm.output();
    for want in [
        format!("erst: record {id}: not an MCE record (section types: memory error"),
        "creator: rasos (GHES error status block)".into(),
        "notification: NMI (".into(),
        "section_type: memory error".into(),
        "physical_address: 0x0000000010004000".into(),
    ] {
        assert!(out.contains(&want), "{want}\n{out}");
    }
    drop(vm);
}

#[test]
fn firmware_first_bank_is_not_polled_but_read_by_machine_check() {
    let mut vm = boot(
        "ghes-ffbank",
        VmOptions::default(),
        &[firmware_first_cmc(0, 9), ghes(1, POLLED, 20, None)],
        &[1],
    );
    assert!(
        vm.output().contains("hest: banks handled firmware-first: 9; their corrected errors are the firmware's (no polling, no CMCI), #MC still reads them"),
        "{}",
        vm.output()
    );
    // A corrected error in bank 9 is the firmware's: the poller leaves it.
    // One in bank 8 next to it is found, and only that one.
    mce(&mut vm, 1, 9, CE_MEM_RD_CH2, "0", "0x5000", MISC_PHYS_LSB12);
    mce(&mut vm, 1, 8, CE_MEM_RD_CH2, "0", "0x6000", MISC_PHYS_LSB12);
    vm.expect_line(r"mce: CPU 1 BANK 8 \(poll", STEP);
    // Several polls later bank 9 still holds its error.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(vm.grep(r"mce: CPU 1 BANK 9").is_empty(), "{}", vm.output());
    // An SRAO there is read by #MC, recovered, its record printed.
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        &format!("{SRAO_ADDR:#x}"),
        MISC_PHYS_LSB12,
    );
    vm.expect_line(r"mce: CPU 0 BANK 9 \(exception, severity SRAO\)$", STEP);
    vm.expect_line(r"mce: SRAO$", STEP);
    vm.expect_line(
        r"Memory failure: 0x10006: recovery action for SRAO error: free page poisoned",
        STEP,
    );
    assert!(!vm.output().contains("unknown source"), "{}", vm.output());
    // And the machine goes on: the GHES source is still serviced.
    post(&vm, 1, &memory_block(CORRECTED, CE_ADDR, 2));
    expect_record(&mut vm, 1, &["event severity: corrected"]);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}
