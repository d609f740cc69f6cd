//! Bank accounting on a 2-vCPU guest: after a sequence of real injections
//! (QMP `mce`), every valid bank a logging pass read is logged, dropped or
//! left for its owner, per CPU, as `stats` shows; the EN-clear filler of a
//! broadcast and an SRAR with RIPV set and EIPV clear taken in the kernel
//! are records, not just counts.

use tests::mce::*;
use tests::*;

fn boot(name: &str, cmdline: &str) -> Vm {
    let mut vm = boot_ready(
        name,
        VmOptions::default().cpu("intel").cpus(2).cmdline(cmdline),
    );
    vm.expect_anywhere(r"rasos> ", STEP);
    vm
}

/// (read, logged, dropped, left, balanced) for `cpu` from the `stats` output.
fn account(vm: &mut Vm, cpu: u32) -> (u64, u64, u64, u64, bool) {
    let line = vm.expect_anywhere(
        &format!(r"bank accounting cpu{cpu}: .*: (balanced|UNBALANCED)$"),
        STEP,
    );
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    // cpuN, read, logged, dropped, left (the timestamp's digits come first).
    let n = &nums[nums.len() - 5..];
    assert_eq!(n[0], cpu as u64, "{line}");
    (n[1], n[2], n[3], n[4], line.ends_with(": balanced"))
}

#[test]
fn every_valid_bank_read_is_logged_dropped_or_left_per_cpu() {
    // tolerant=3 so the continuable SRAR (worst "keep": Linux would stop
    // the machine, "from unknown source") lets the sequence go on.
    let mut vm = boot("acct-seq", "mce.tolerant=3");
    // A corrected error on cpu1: the poller reads and logs it.
    mce(&mut vm, 1, 2, CE_MEM_RD_CH2, "0", "0x5000", MISC_PHYS_LSB12);
    vm.expect_anywhere(r"mce: CPU 1 BANK 2 \(poll", STEP);
    // A broadcast SRAO from cpu0: cpu1 gets QEMU's EN-clear filler in bank 1.
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_EIPV_MCIP,
        "0x6000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: CPU 0 BANK 9 \(exception, severity SRAO\)$", STEP);
    vm.expect_anywhere(r"mce: CPU 1 BANK 1 \(exception, severity no error\)$", STEP);
    // An SRAR with RIPV set and EIPV clear, taken in the (idle) kernel.
    mce_b(
        &mut vm,
        0,
        3,
        SRAR_DATA_LOAD,
        RIPV_MCIP,
        "0x7000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: CPU 0 BANK 3 \(exception, severity keep\)$", STEP);
    vm.expect_anywhere(r"mce: \[Hardware Error\]: CPU 0 BANK 3$", STEP);
    let fillers = vm.grep(r"mce: CPU 1 BANK 1 \(exception, severity no error\)$");
    assert_eq!(fillers.len(), 2, "both broadcasts' fillers logged");
    vm.send("stats\r");
    let cpu0 = account(&mut vm, 0);
    let cpu1 = account(&mut vm, 1);
    assert_eq!(cpu0, (2, 2, 0, 0, true), "cpu0: the SRAO and the SRAR");
    assert_eq!(cpu1, (3, 3, 0, 0, true), "cpu1: the CE and two fillers");
    vm.expect_anywhere(r"not-enabled bank errors logged by #MC: 2$", STEP);
    assert!(vm.grep("Kernel panic").is_empty());
    assert!(
        vm.grep("Memory failure: 0x7:").is_empty(),
        "keep is not acted on"
    );
    vm.quit();
}

#[test]
fn continuable_srar_is_printed_when_linux_stops_the_machine() {
    // Default tolerant: worst grade anywhere is "keep", so, as Linux's
    // mce_reign, the machine stops "from unknown source"; the record is
    // printed all the same.
    let mut vm = boot("acct-srar-stop", "");
    mce_b(
        &mut vm,
        0,
        3,
        SRAR_DATA_LOAD,
        RIPV_MCIP,
        "0x7000",
        MISC_PHYS_LSB12,
    );
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("Fatal machine check: Machine check from unknown source"),
        "{out}"
    );
    assert!(
        out.contains("STATUS bd80000000100134 MCGSTATUS 5"),
        "the SRAR's record is printed: {out}"
    );
}
