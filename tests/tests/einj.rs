//! EINJ under QEMU. QEMU has no EINJ, so each test supplies one with
//! `-acpitable` and plays the firmware from the host through shared guest
//! RAM: the command registers, the SET_ERROR_TYPE_WITH_ADDRESS structure and
//! the trigger error action table live in one page of guest RAM, and a host
//! thread watches it. On the doorbell it takes the request (type and
//! address from the structure) and clears busy; when the kernel runs the
//! trigger table, the test raises the matching real machine check through
//! QMP, with the address the kernel asked for. So every step the kernel
//! takes (checks, BEGIN, the structure, EXECUTE, busy, status, trigger, END)
//! is seen from outside, and the error it planted comes back through the
//! kernel's own machine-check paths.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tests::acpi::{sdt, write};
use tests::mce::*;
use tests::*;

/// The firmware's page: usable RAM below 512 MiB that nothing in the kernel
/// uses early (the frame allocator hands out low frames first). The kernel
/// reserves it in its frame allocator when it reads the table, as it would
/// firmware registers that happened to sit in usable RAM.
const BASE: u64 = 0x1f10_0000;
/// BEGIN writes 1, END writes 4: the last of the two that ran.
const CMD: u64 = BASE;
/// Holds the trigger table's address (GET_TRIGGER_ERROR_ACTION_TABLE).
const TRIGGER_ADDR: u64 = BASE + 0x08;
const ERROR_TYPE: u64 = BASE + 0x10;
/// The supported types (GET_ERROR_TYPE), filled before boot.
const SUPPORTED: u64 = BASE + 0x18;
const DOORBELL: u64 = BASE + 0x20;
const BUSY: u64 = BASE + 0x28;
const STATUS: u64 = BASE + 0x30;
/// Written by the trigger table's one TRIGGER_ERROR entry.
const TRIGGER: u64 = BASE + 0x38;
const SETWA: u64 = BASE + 0x100;
const SETWA_LEN: usize = 36;
const TRIGGER_TABLE: u64 = BASE + 0x800;

const PROCESSOR_CE: u32 = 1 << 0;
const MEMORY_CE: u32 = 1 << 3;
const MEMORY_UC: u32 = 1 << 4;
const MEMORY_FATAL: u32 = 1 << 5;
const SUPPORTED_TYPES: u32 = PROCESSOR_CE | MEMORY_CE | MEMORY_UC | MEMORY_FATAL;
const SETWA_MEMORY_VALID: u32 = 1 << 1;

/// Targets in usable RAM, clear of the kernel's early allocations.
const CE_ADDR: u64 = 0x1000_2000;
const UC_ADDR: u64 = 0x1000_3000;

// EINJ actions and instructions (ACPI spec tables 18.24, 18.25).
const BEGIN: u8 = 0;
const GET_TRIGGER_TABLE: u8 = 1;
const SET_ERROR_TYPE: u8 = 2;
const GET_ERROR_TYPE: u8 = 3;
const END: u8 = 4;
const EXECUTE: u8 = 5;
const CHECK_BUSY: u8 = 6;
const GET_COMMAND_STATUS: u8 = 7;
const SET_ERROR_TYPE_WITH_ADDRESS: u8 = 8;
const TRIGGER_ERROR: u8 = 0xFF;
const READ_REGISTER: u8 = 0;
const READ_REGISTER_VALUE: u8 = 1;
const WRITE_REGISTER: u8 = 2;
const WRITE_REGISTER_VALUE: u8 = 3;

/// One 32-byte instruction entry on a system-memory register of `bits`
/// (32 or 64).
fn entry(action: u8, instruction: u8, bits: u8, address: u64, value: u64, mask: u64) -> Vec<u8> {
    let mut e = vec![action, instruction, 0, 0];
    // GAS: system memory, bit width, bit offset 0, access size (3 dword, 4 qword).
    e.extend_from_slice(&[0, bits, 0, if bits == 64 { 4 } else { 3 }]);
    e.extend_from_slice(&address.to_le_bytes());
    e.extend_from_slice(&value.to_le_bytes());
    e.extend_from_slice(&mask.to_le_bytes());
    e
}

/// The EINJ: `count_extra` entries more claimed than present makes it
/// malformed.
fn einj_table(count_extra: u32) -> Vec<u8> {
    let all = u64::MAX;
    let entries = [
        entry(BEGIN, WRITE_REGISTER_VALUE, 64, CMD, 1, all),
        entry(GET_TRIGGER_TABLE, READ_REGISTER, 64, TRIGGER_ADDR, 0, all),
        entry(
            SET_ERROR_TYPE,
            WRITE_REGISTER,
            64,
            ERROR_TYPE,
            0,
            0xFFFF_FFFF,
        ),
        entry(
            SET_ERROR_TYPE_WITH_ADDRESS,
            WRITE_REGISTER,
            32,
            SETWA,
            0,
            0xFFFF_FFFF,
        ),
        entry(GET_ERROR_TYPE, READ_REGISTER, 64, SUPPORTED, 0, 0xFFFF_FFFF),
        // Busy is raised with the doorbell, so a busy poll can never see
        // the idle state before the host has taken the request.
        entry(EXECUTE, WRITE_REGISTER_VALUE, 64, BUSY, 1, all),
        entry(EXECUTE, WRITE_REGISTER_VALUE, 64, DOORBELL, 1, all),
        entry(CHECK_BUSY, READ_REGISTER_VALUE, 64, BUSY, 1, 1),
        entry(GET_COMMAND_STATUS, READ_REGISTER, 64, STATUS, 0, all),
        entry(END, WRITE_REGISTER_VALUE, 64, CMD, 4, all),
    ];
    let mut body = Vec::new();
    body.extend_from_slice(&12u32.to_le_bytes()); // injection header size
    body.extend_from_slice(&[0, 0, 0, 0]); // flags, reserved
    body.extend_from_slice(&(entries.len() as u32 + count_extra).to_le_bytes());
    for e in &entries {
        body.extend_from_slice(e);
    }
    sdt(b"EINJ", 1, &body)
}

/// The firmware page as it is at power-on.
fn firmware_page() -> Vec<u8> {
    let mut page = vec![0u8; 4096];
    let mut put = |at: u64, bytes: &[u8]| {
        let o = (at - BASE) as usize;
        page[o..o + bytes.len()].copy_from_slice(bytes);
    };
    put(SUPPORTED, &(SUPPORTED_TYPES as u64).to_le_bytes());
    put(TRIGGER_ADDR, &TRIGGER_TABLE.to_le_bytes());
    // Trigger table: header size, revision, table size, entry count; one
    // TRIGGER_ERROR entry writing 1 to TRIGGER.
    let trig = entry(
        TRIGGER_ERROR,
        WRITE_REGISTER_VALUE,
        64,
        TRIGGER,
        1,
        u64::MAX,
    );
    let mut t = Vec::new();
    for v in [16u32, 1, 16 + trig.len() as u32, 1] {
        t.extend_from_slice(&v.to_le_bytes());
    }
    t.extend_from_slice(&trig);
    put(TRIGGER_TABLE, &t);
    page
}

/// What the kernel asked for, read from the structure at the doorbell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Request {
    error_type: u32,
    flags: u32,
    address: u64,
    mask: u64,
    /// BEGIN ran before EXECUTE.
    begun: bool,
}

#[derive(Debug)]
enum Event {
    /// Doorbell taken; busy cleared with status 0.
    Executed(Request),
    /// Doorbell taken but busy left set (a hung firmware).
    Ignored(Request),
    /// The kernel ran the trigger table for this request.
    Triggered(Request),
}

/// The host thread playing firmware.
struct Firmware {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    events: Receiver<Event>,
}

fn read_u64(ram: &File, at: u64) -> u64 {
    let mut b = [0u8; 8];
    ram.read_exact_at(&mut b, at).unwrap();
    u64::from_le_bytes(b)
}

fn write_u64(ram: &File, at: u64, v: u64) {
    ram.write_all_at(&v.to_le_bytes(), at).unwrap();
}

impl Firmware {
    /// Polls the page every millisecond; the first `ignore` doorbells are
    /// taken but never completed.
    fn start(ram: File, mut ignore: usize) -> Firmware {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, events) = channel();
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut pending = None;
            while !s.load(Ordering::SeqCst) {
                if read_u64(&ram, DOORBELL) & 1 != 0 {
                    let u32_at = |o: u64| read_u64(&ram, SETWA + o) as u32;
                    let req = Request {
                        error_type: u32_at(0),
                        flags: u32_at(8),
                        address: read_u64(&ram, SETWA + 16),
                        mask: read_u64(&ram, SETWA + 24),
                        begun: read_u64(&ram, CMD) == 1,
                    };
                    write_u64(&ram, DOORBELL, 0);
                    if ignore > 0 {
                        ignore -= 1;
                        let _ = tx.send(Event::Ignored(req));
                    } else {
                        write_u64(&ram, STATUS, 0);
                        write_u64(&ram, BUSY, 0);
                        pending = Some(req);
                        let _ = tx.send(Event::Executed(req));
                    }
                }
                if read_u64(&ram, TRIGGER) != 0 {
                    write_u64(&ram, TRIGGER, 0);
                    if let Some(req) = pending.take() {
                        let _ = tx.send(Event::Triggered(req));
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Firmware {
            stop,
            thread: Some(thread),
            events,
        }
    }

    /// The next event; fails the test after `STEP`.
    fn next(&self, vm: &Vm) -> Event {
        match self.events.recv_timeout(STEP) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the firmware saw nothing within {STEP:?}\n{}", vm.output())
            }
            Err(e) => panic!("firmware thread: {e}"),
        }
    }

    /// Nothing happened at the doorbell or trigger.
    fn assert_quiet(&self) {
        match self.events.try_recv() {
            Err(TryRecvError::Empty) => {}
            other => panic!("the firmware was called: {other:?}"),
        }
    }
}

impl Drop for Firmware {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tables_dir(name: &str) -> PathBuf {
    let d = workspace_root()
        .join("target/test-vms")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Boots with the test EINJ (claiming `count_extra` entries too many) and
/// its firmware page; waits for the shell.
fn boot(name: &str, cmdline: &str, count_extra: u32, ignore: usize) -> (Vm, Firmware) {
    let table = write(&tables_dir(name), "einj.dat", &einj_table(count_extra));
    let mut ram_file = None;
    let mut vm = Vm::start_with(
        name,
        VmOptions::default()
            .cpus(2)
            .cmdline(cmdline)
            .shared_ram()
            .acpi_table(&table),
        |ram| {
            ram.write_all_at(&firmware_page(), BASE).unwrap();
            ram_file = Some(ram.try_clone().unwrap());
        },
    );
    let fw = Firmware::start(ram_file.unwrap(), ignore);
    vm.expect_line(r"\] READY$", BOOT);
    vm.expect_anywhere(r"rasos> ", STEP);
    (vm, fw)
}

/// Types an injection and returns the kernel's verdict line.
fn inject(vm: &mut Vm, args: &str) -> String {
    vm.send(&format!("einj inject {args}\r"));
    vm.expect_line(r"einj: (done|failed|refused)", STEP)
}

fn u64_at(vm: &Vm, at: u64) -> u64 {
    u64::from_le_bytes(vm.ram_read(at, 8).try_into().unwrap())
}

/// No register the injection writes was touched.
fn assert_untouched(vm: &Vm, fw: &Firmware) {
    fw.assert_quiet();
    assert_eq!(u64_at(vm, CMD), 0, "BEGIN ran");
    assert_eq!(u64_at(vm, BUSY), 0, "EXECUTE ran");
    assert!(
        vm.ram_read(SETWA, SETWA_LEN).iter().all(|&b| b == 0),
        "the SET_ERROR_TYPE_WITH_ADDRESS structure was written"
    );
}

/// Expects the doorbell for a memory error at `address` and the trigger;
/// returns the request the firmware saw.
fn executed_and_triggered(vm: &Vm, fw: &Firmware, error_type: u32, address: u64) -> Request {
    let req = match fw.next(vm) {
        Event::Executed(r) => r,
        other => panic!("expected the doorbell, got {other:?}"),
    };
    assert_eq!(
        req,
        Request {
            error_type,
            flags: SETWA_MEMORY_VALID,
            address,
            mask: !0xFFF,
            begun: true,
        }
    );
    match fw.next(vm) {
        Event::Triggered(r) => assert_eq!(r, req),
        other => panic!("expected the trigger, got {other:?}"),
    }
    req
}

#[test]
fn einj_is_off_by_default_and_refuses() {
    let (mut vm, fw) = boot("einj-off", "", 0, 0);
    let out = vm.output();
    assert!(out.contains("einj=off"), "{out}");
    assert!(
        vm.grep(r"einj: EINJ present at 0x[0-9a-f]+ \(10 entries\) but disabled \(boot with einj=on to enable\)$")
            .len()
            == 1,
        "{out}"
    );
    let verdict = inject(&mut vm, &format!("memory-correctable addr={CE_ADDR:#x}"));
    assert!(
        verdict
            .ends_with("einj: refused: error injection is disabled (boot with einj=on to enable)"),
        "{verdict}"
    );
    vm.send("einj types\r");
    vm.expect_line(r"^einj: error injection is disabled", STEP);
    // GET_ERROR_TYPE is not even read when disabled; nothing was written.
    assert_untouched(&vm, &fw);
    vm.quit();
}

#[test]
fn memory_correctable_injection_end_to_end() {
    let (mut vm, fw) = boot("einj-ce", "einj=on mce.poll_ms=200", 0, 0);
    vm.expect_anywhere(
        &format!(
            r"einj: EINJ at 0x[0-9a-f]+ enabled: 10 entries, SET_ERROR_TYPE_WITH_ADDRESS structure at {SETWA:#x}$"
        ),
        STEP,
    );
    vm.expect_anywhere(
        r"einj: supported error types \(0x39\): processor correctable, memory correctable, memory uncorrectable non-fatal, memory uncorrectable fatal$",
        STEP,
    );
    vm.send("einj types\r");
    vm.expect_line(r"^einj: the platform can inject \(0x39\):$", STEP);
    for name in [
        "processor-correctable",
        "memory-correctable",
        "memory-uncorrectable",
        "memory-fatal",
    ] {
        vm.expect_line(&format!("^  {name} "), STEP);
    }

    vm.send(&format!(
        "einj inject memory-correctable addr={CE_ADDR:#x}\r"
    ));
    vm.expect_line(
        &format!(r"^einj: requesting memory correctable at {CE_ADDR:#x} mask 0xfffffffffffff000$"),
        STEP,
    );
    let req = executed_and_triggered(&vm, &fw, MEMORY_CE, CE_ADDR);
    // The firmware plants the error it was asked for: a corrected memory
    // read error at the requested address, left in bank 9 for the poller.
    mce(
        &mut vm,
        0,
        9,
        CE_MEM_RD_CH2,
        "0",
        &format!("{:#x}", req.address),
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(
        r"^einj: done: firmware injected memory correctable and its trigger actions ran$",
        STEP,
    );
    vm.expect_line(r"mce: CPU 0 BANK 9 \(poll, severity some\)$", STEP);
    vm.expect_line(r"mce: Corrected error$", STEP);
    vm.expect_line(
        &format!(r"mce: \[Hardware Error\]: ADDR {:x}$", CE_ADDR),
        STEP,
    );
    assert_eq!(u64_at(&vm, CMD), 4, "END ran last");
    assert!(vm.grep("Memory failure").is_empty());
    vm.quit();
}

#[test]
fn memory_uncorrectable_injection_poisons_the_page() {
    let (mut vm, fw) = boot("einj-uc", "einj=on", 0, 0);
    vm.send(&format!(
        "einj inject memory-uncorrectable addr={UC_ADDR:#x}\r"
    ));
    vm.expect_line(
        &format!(
            r"^einj: requesting memory uncorrectable non-fatal at {UC_ADDR:#x} mask 0xfffffffffffff000$"
        ),
        STEP,
    );
    let req = executed_and_triggered(&vm, &fw, MEMORY_UC, UC_ADDR);
    // An uncorrected memory scrubbing error, action optional (SRAO), on
    // every CPU as an Intel server signals it.
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        &format!("{:#x}", req.address),
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(
        r"^einj: done: firmware injected memory uncorrectable non-fatal and its trigger actions ran$",
        STEP,
    );
    vm.expect_line(r"mce: CPU 0 BANK 9 \(exception, severity SRAO\)$", STEP);
    vm.expect_line(
        &format!(
            r"Memory failure: {:#x}: recovery action for SRAO error",
            UC_ADDR >> 12
        ),
        STEP,
    );
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn targets_outside_ram_are_refused_before_any_register_is_written() {
    let (mut vm, fw) = boot("einj-notram", "einj=on", 0, 0);
    // Beyond the 512 MiB of RAM, and the local APIC's MMIO page.
    for addr in [0x4000_0000u64, 0xfee0_0000] {
        let verdict = inject(&mut vm, &format!("memory-correctable addr={addr:#x}"));
        assert!(
            verdict.ends_with(&format!(
                "einj: failed: refusing to inject at {addr:#x}: not RAM"
            )),
            "{verdict}"
        );
    }
    // A type the platform does not offer is refused the same way.
    let verdict = inject(&mut vm, "pcie-correctable");
    assert!(
        verdict.contains("einj: failed: the platform cannot inject PCIe correctable"),
        "{verdict}"
    );
    assert_untouched(&vm, &fw);
    vm.quit();
}

#[test]
fn a_malformed_table_is_reported_and_boot_continues() {
    // Claims 5 entries more than the table holds.
    let (mut vm, fw) = boot("einj-malformed", "einj=on", 5, 0);
    let l = vm.grep(r"einj: EINJ table at 0x[0-9a-f]+ rejected");
    assert_eq!(l.len(), 1, "{}", vm.output());
    assert!(
        l[0].contains("bad instruction entry count 0xf")
            && l[0].ends_with("; ignored, injection unavailable"),
        "{}",
        l[0]
    );
    assert!(vm.output().contains("READY"));
    let verdict = inject(&mut vm, &format!("memory-correctable addr={CE_ADDR:#x}"));
    assert!(
        verdict.ends_with("einj: refused: the EINJ table was rejected at boot (see the boot log)"),
        "{verdict}"
    );
    assert_untouched(&vm, &fw);
    vm.quit();
}

#[test]
fn firmware_that_stays_busy_times_out_clearly() {
    let (mut vm, fw) = boot("einj-busy", "einj=on mce.poll_ms=200", 0, 1);
    vm.send(&format!(
        "einj inject memory-correctable addr={CE_ADDR:#x}\r"
    ));
    match fw.next(&vm) {
        Event::Ignored(r) => assert_eq!(r.address, CE_ADDR),
        other => panic!("expected the ignored doorbell, got {other:?}"),
    }
    let verdict = vm.expect_line(r"einj: (done|failed)", STEP);
    assert!(
        verdict.ends_with(
            "einj: failed: the firmware did not finish the injection in time (still busy after 1000 ms)"
        ),
        "{verdict}"
    );
    assert_eq!(u64_at(&vm, BUSY), 1, "busy still set");
    fw.assert_quiet();
    // The kernel is not wedged: once the firmware answers, injection works.
    vm.send(&format!(
        "einj inject memory-correctable addr={CE_ADDR:#x}\r"
    ));
    let req = executed_and_triggered(&vm, &fw, MEMORY_CE, CE_ADDR);
    mce(
        &mut vm,
        0,
        9,
        CE_MEM_RD_CH2,
        "0",
        &format!("{:#x}", req.address),
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"einj: done: firmware injected memory correctable", STEP);
    vm.expect_line(r"mce: CPU 0 BANK 9 \(poll, severity some\)$", STEP);
    vm.quit();
}
