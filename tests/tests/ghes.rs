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
use std::time::Duration;
use tests::acpi::guid;
use tests::ghes::*;
use tests::mce::*;
use tests::*;

fn u64_at(vm: &Vm, at: u64) -> u64 {
    u64::from_le_bytes(vm.ram_read(at, 8).try_into().unwrap())
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
        f.write_all_at(&memory_block(CORRECTED, CE_ADDR, 2), 0)
            .unwrap();
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
        vm.grep(r"Hardware error from APEI Generic Hardware Error Source: 5$")
            .len(),
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
