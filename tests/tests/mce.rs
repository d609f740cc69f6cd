//! The machine-check core under QEMU: errors injected with the monitor's
//! `mce` command (over QMP) are found, graded, decoded and acted on.
//!
//! `mce [-b] <cpu> <bank> <status> <mcgstatus> <addr> <misc>`: a corrected
//! error only fills the bank (found by polling); an uncorrected one raises
//! #MC (on every CPU with `-b`).

use tests::mce::*;
use tests::*;

fn boot(name: &str, cpu: &str, cmdline: &str) -> Vm {
    boot_ready(name, VmOptions::default().cpu(cpu).cmdline(cmdline))
}

#[test]
fn inventory_is_printed_for_the_boot_cpu() {
    let mut vm = boot("mce-inventory", "intel", "");
    let line = vm.grep(r"mce: cpu0: ").join("\n");
    assert!(
        line.contains("10 banks, MCG_CAP 0x100010a: CTL_P SER_P"),
        "{line}"
    );
    assert!(line.contains("GenuineIntel 0x6/0x55/4"), "{line}");
    assert!(line.contains("banks enabled 0x3ff"), "{line}");
    // No LMCE_P in this CPU model: every CPU says so.
    assert_eq!(
        vm.grep(r"mce: cpu\d+: .*; LMCE off \(not offered\)").len(),
        vm.grep(r"mce: cpu\d+: \d+ banks, MCG_CAP").len(),
        "{}",
        vm.output()
    );
    vm.quit();
}

fn corrected_error_found_by_polling(cpu: &str) {
    let mut vm = boot(&format!("mce-ce-{cpu}"), cpu, "mce.poll_ms=200");
    mce(
        &mut vm,
        0,
        9,
        CE_MEM_RD_CH2,
        "0",
        "0x1234000",
        MISC_PHYS_LSB12,
    );
    vm.expect_line(r"mce: CPU 0 BANK 9 \(poll, severity some\)$", STEP);
    vm.expect_line(r"mce: STATUS 9c00004000000092 MCGSTATUS 0$", STEP);
    vm.expect_line(r"mce: Corrected error$", STEP);
    vm.expect_line(r"mce: MCA: MEMORY CONTROLLER RD_CHANNEL2_ERR$", STEP);
    vm.expect_line(r"mce: Transaction: Memory read error$", STEP);
    // The same record as mcelog --ascii input.
    vm.expect_line(r"mce: \[Hardware Error\]: CPU 0 BANK 9$", STEP);
    vm.expect_line(r"mce: \[Hardware Error\]: MISC 8c$", STEP);
    vm.expect_line(r"mce: \[Hardware Error\]: ADDR 1234000$", STEP);
    vm.expect_line(r"mce: \[Hardware Error\]: STATUS 9c00004000000092$", STEP);
    vm.expect_line(r"mce: \[Hardware Error\]: MCGSTATUS 0$", STEP);
    vm.expect_line(r"Run the above through 'mcelog --ascii'", STEP);
    vm.expect_line(r"Machine check events logged", STEP);
    // A corrected error poisons nothing.
    assert!(vm.grep("Memory failure").is_empty());
    vm.quit();
}

#[test]
fn corrected_error_found_by_polling_intel() {
    corrected_error_found_by_polling("intel");
}

#[test]
fn corrected_error_found_by_polling_amd() {
    corrected_error_found_by_polling("amd");
}

#[test]
fn corrected_error_on_a_full_bank_sets_overflow() {
    let mut vm = boot("mce-over", "intel", "mce.poll_ms=3000");
    // Three errors into one bank between two polls (3 s apart): at least
    // the third lands on a valid bank, and QEMU sets OVER as hardware would.
    for addr in ["0x1000", "0x2000", "0x3000"] {
        mce(&mut vm, 0, 8, CE_MEM_RD_CH2, "0", addr, MISC_PHYS_LSB12);
    }
    vm.expect_line(r"mce: STATUS dc00004000000092 MCGSTATUS 0$", STEP);
    vm.expect_line(r"mce: Error overflow$", STEP);
    vm.expect_line(r"mce: Corrected error$", STEP);
    vm.quit();
}

#[test]
fn srao_continues_and_poisons_the_page() {
    let mut vm = boot("mce-srao", "intel", "");
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10000000",
        MISC_PHYS_LSB12,
    );
    vm.expect_line(r"mce: CPU 0 BANK 9 \(exception, severity SRAO\)$", STEP);
    vm.expect_line(r"mce: SRAO$", STEP);
    vm.expect_line(
        r"Memory failure: 0x10000: recovery action for SRAO error: free page poisoned",
        STEP,
    );
    // Two machine checks in a row: the second is handled the same way.
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10001000",
        MISC_PHYS_LSB12,
    );
    vm.expect_line(
        r"Memory failure: 0x10001: recovery action for SRAO error",
        STEP,
    );
    // Still alive: a corrected error is still found.
    mce(&mut vm, 0, 3, CE_MEM_RD_CH2, "0", "0x5000", MISC_PHYS_LSB12);
    vm.expect_line(r"mce: CPU 0 BANK 3 \(poll", STEP);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn srar_in_kernel_context_panics_with_the_reason() {
    let mut vm = boot("mce-srar-kernel", "intel", "");
    mce_b(
        &mut vm,
        0,
        1,
        SRAR_DATA_LOAD,
        RIPV_EIPV_MCIP,
        "0x10003000",
        MISC_PHYS_LSB12,
    );
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("mce: CPU 0 BANK 1 (exception, severity panic)"),
        "{out}"
    );
    assert!(out.contains("mce: SRAR"));
    assert!(out.contains("MCA: Data CACHE Level-1 Data-Read Error"));
    assert!(out.contains("Kernel panic - not syncing: Fatal machine check: Data load in unrecoverable area of kernel"), "{out}");
}

fn fatal_pcc_panics(cpu: &str) {
    let mut vm = boot(&format!("mce-fatal-{cpu}"), cpu, "");
    mce_b(&mut vm, 0, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(out.contains("mce: Processor context corrupt"), "{out}");
    assert!(out.contains("MCA: Internal parity error"));
    // Printed exactly once.
    assert_eq!(vm.grep(r"mce: CPU 0 BANK 2 \(exception").len(), 1, "{out}");
    assert!(out.contains("Kernel panic - not syncing: Fatal machine check"));
}

#[test]
fn fatal_pcc_panics_intel() {
    fatal_pcc_panics("intel");
}

#[test]
fn fatal_pcc_panics_amd() {
    fatal_pcc_panics("amd");
}

#[test]
fn overflowed_action_required_error_panics() {
    let mut vm = boot("mce-over-uc", "intel", "");
    // SRAR with OVER: an earlier uncorrected error was lost.
    mce_b(
        &mut vm,
        0,
        4,
        "0xfd80000000100134",
        RIPV_EIPV_MCIP,
        "0x10004000",
        MISC_PHYS_LSB12,
    );
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(out.contains("mce: Error overflow"), "{out}");
    assert!(
        out.contains(
            "Kernel panic - not syncing: Fatal machine check: Action required with lost events"
        ),
        "{out}"
    );
}

#[test]
fn machine_check_without_a_valid_bank_is_from_an_unknown_source() {
    let mut vm = boot("mce-unknown", "intel", "");
    // VAL|UC with EN clear: QEMU raises #MC, but the bank's error was not
    // enabled for signaling, so nothing explains the #MC.
    mce_b(&mut vm, 0, 5, "0xa000000000000000", RIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("Fatal machine check: Machine check from unknown source"),
        "{out}"
    );
}

#[test]
fn tolerant_3_continues_where_1_panics() {
    let mut vm = boot("mce-tolerant3", "intel", "mce.tolerant=3");
    mce_b(&mut vm, 0, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    vm.expect_line(r"mce: CPU 0 BANK 2 \(exception, severity panic\)$", STEP);
    vm.expect_line(r"mce: Processor context corrupt$", STEP);
    mce(&mut vm, 0, 3, CE_MEM_RD_CH2, "0", "0x5000", MISC_PHYS_LSB12);
    vm.expect_line(r"mce: CPU 0 BANK 3 \(poll", STEP);
    assert!(vm.grep("Kernel panic").is_empty());
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}
