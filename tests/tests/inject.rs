//! The software injector, driven from the console in the mce-inject
//! language: each mode reaches the path it names (checked by what the
//! kernel logs and decides), and bad input is refused with its position.

use tests::*;

fn shell(name: &str, cpu: &str, cmdline: &str) -> Vm {
    let mut vm = boot_ready(name, VmOptions::default().cpu(cpu).cmdline(cmdline));
    vm.expect_anywhere(r"rasos> ", STEP);
    vm
}

fn inject(vm: &mut Vm, record: &str) -> String {
    vm.send(&format!("inject {record}\r"));
    vm.expect_line(r"inject: (done|failed)", STEP)
}

#[test]
fn poll_mode_runs_the_poller_on_the_target_cpu() {
    let mut vm = shell("inj-poll", "intel", "mce.poll_ms=60000");
    let done = inject(
        &mut vm,
        "CPU 2 BANK 4 STATUS CORRECTED 0x92 ADDR 0x1234000 MISC 0x8c POLL",
    );
    assert!(
        done.contains("inject: done: cpu2 bank 4 (bank MSRs), poll run on cpu2"),
        "{done}"
    );
    vm.expect_anywhere(r"mce: CPU 2 BANK 4 \(poll, severity some\)$", STEP);
    vm.expect_anywhere(r"mce: MCA: MEMORY CONTROLLER RD_CHANNEL2_ERR$", STEP);
    vm.quit();
}

#[test]
fn ucna_found_by_polling_poisons_its_page() {
    let mut vm = shell("inj-ucna", "intel", "mce.poll_ms=60000");
    inject(
        &mut vm,
        "CPU 1 BANK 9 STATUS UNCORRECTED UCNA 0x9f ADDR 0x10005000 MISC 0x8c POLL",
    );
    vm.expect_anywhere(r"mce: CPU 1 BANK 9 \(poll, severity deferred\)$", STEP);
    vm.expect_anywhere(r"mce: UCNA$", STEP);
    vm.expect_anywhere(
        r"Memory failure: 0x10005: recovery action for deferred error",
        STEP,
    );
    vm.quit();
}

#[test]
fn exception_mode_broadcasts_by_nmi_and_meets_in_the_rendezvous() {
    let mut vm = shell("inj-excp-nmi", "intel", "");
    let done = inject(
        &mut vm,
        "CPU 1 BANK 9 STATUS UNCORRECTED SRAO 0xc0 ADDR 0x10006000 MISC 0x8c EXCP",
    );
    assert!(
        done.contains("#MC raised on cpu1, NMI broadcast to 0,2-3"),
        "{done}"
    );
    vm.expect_anywhere(r"mce: rendezvous 1: CPUs 0-3 met and were released", STEP);
    vm.expect_anywhere(r"mce: CPU 1 BANK 9 \(exception, severity SRAO\)$", STEP);
    vm.expect_anywhere(
        r"Memory failure: 0x10006: recovery action for SRAO error",
        STEP,
    );
    vm.quit();
}

#[test]
fn exception_mode_broadcasts_by_fixed_vector_ipi() {
    let mut vm = shell("inj-excp-irq", "intel", "");
    let done = inject(
        &mut vm,
        "CPU 0 BANK 9 STATUS UNCORRECTED SRAO 0xc0 ADDR 0x10007000 MISC 0x8c EXCP IRQBROADCAST",
    );
    assert!(
        done.contains("#MC raised on cpu0, IPI broadcast to 1-3"),
        "{done}"
    );
    vm.expect_anywhere(r"mce: rendezvous 1: CPUs 0-3 met and were released", STEP);
    vm.expect_anywhere(r"Memory failure: 0x10007: ", STEP);
    vm.quit();
}

#[test]
fn exception_without_broadcast_times_out_on_intel() {
    let mut vm = shell("inj-excp-nobcast", "intel", "mce.monarch_timeout_us=200000");
    vm.send("inject CPU 3 BANK 9 STATUS UNCORRECTED SRAO 0xc0 ADDR 0x10008000 MISC 0x8c EXCP NOBROADCAST\r");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(out.contains("CPUs not responding: 0-2"), "{out}");
}

#[test]
fn exception_on_amd_is_local() {
    let mut vm = shell("inj-excp-amd", "amd", "");
    // The machine goes down before the injector can report back.
    vm.send("inject CPU 2 BANK 3 STATUS FATAL 0x5 EXCP\r");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("mce: CPU 2 BANK 3 (exception, severity panic)"),
        "{out}"
    );
    assert!(vm.grep("rendezvous").is_empty(), "{out}");
}

#[test]
fn hold_only_stages_and_the_poller_finds_it_later() {
    let mut vm = shell("inj-hold", "intel", "mce.poll_ms=500");
    let done = inject(&mut vm, "CPU 0 BANK 3 STATUS CORRECTED 0x92 HOLD");
    assert!(
        done.contains("held in cpu0 bank 3 (bank MSRs); not triggered"),
        "{done}"
    );
    vm.expect_anywhere(r"mce: CPU 0 BANK 3 \(poll, severity some\)$", STEP);
    vm.quit();
}

#[test]
fn cmci_mode_raises_the_cmci_vector() {
    let mut vm = shell("inj-cmci", "intel", "mce.poll_ms=60000");
    let done = inject(
        &mut vm,
        "CPU 1 BANK 5 STATUS CORRECTED 0x92 ADDR 0x2000 MISC 0x8c CMCI",
    );
    assert!(done.contains("CMCI raised on cpu1"), "{done}");
    vm.expect_anywhere(r"mce: CPU 1 BANK 5 \(cmci, severity some\)$", STEP);
    vm.quit();
}

#[test]
fn malformed_input_names_the_problem_and_position() {
    let mut vm = shell("inj-bad", "intel", "");
    vm.send("inject CPU 0 BANK 1 STATUS SRRA\r");
    let l = vm.expect_line(
        r"inject: line 1, column \d+: unknown status flag 'SRRA'",
        STEP,
    );
    // Column 28 of the line as typed: where SRRA starts.
    assert!(l.contains("column 28"), "{l}");
    vm.send("inject CPU 99 BANK 1 STATUS CORRECTED POLL\r");
    vm.expect_line(r"inject: failed: cpu99 is not online", STEP);
    vm.send("inject CPU 0 BANK 12 STATUS CORRECTED POLL\r");
    vm.expect_line(
        r"inject: failed: bank 12 does not exist on cpu0 \(10 banks\)",
        STEP,
    );
    vm.quit();
}

#[test]
fn a_local_machine_check_skips_the_rendezvous() {
    let mut vm = shell("inj-lmce", "intel", "mce.monarch_timeout_us=200000");
    let done = inject(
        &mut vm,
        "CPU 2 BANK 9 STATUS UNCORRECTED SRAO 0xc0 ADDR 0x10009000 MISC 0x8c MCGSTATUS RIPV MCIP LMCES EXCP",
    );
    assert!(done.contains("#MC raised on cpu2"), "{done}");
    assert!(!done.contains("broadcast"), "{done}");
    vm.expect_anywhere(
        r"Memory failure: 0x10009: recovery action for SRAO error",
        STEP,
    );
    let out = vm.output();
    assert!(
        !vm.grep(r"mce: MCG status:RIPV MCIP LMCE $").is_empty(),
        "{out}"
    );
    assert!(vm.grep("rendezvous").is_empty(), "{out}");
    assert!(
        vm.grep("timeout in machine-check rendezvous").is_empty(),
        "{out}"
    );
    vm.quit();
}
