//! SMP and the Monarch rendezvous: broadcast machine checks (`mce -b`) meet
//! on every CPU, one CPU decides, timeouts name the CPUs that did not come.

use tests::mce::*;
use tests::*;

fn boot(name: &str, cpus: u32, cpu: &str, cmdline: &str) -> Vm {
    let vm = boot_ready(
        name,
        VmOptions::default().cpus(cpus).cpu(cpu).cmdline(cmdline),
    );
    let online = format!("smp: {cpus} of {cpus} CPUs online");
    assert!(vm.output().contains(&online), "{}", vm.output());
    for c in 0..cpus {
        assert_eq!(
            vm.grep(&format!(r"mce: cpu{c}: 10 banks")).len(),
            1,
            "cpu{c} MCA init"
        );
    }
    vm
}

/// Every CPU of a `cpus`-CPU VM, as the kernel prints a CPU list (a range).
fn all(cpus: u32) -> String {
    if cpus == 1 {
        "0".into()
    } else {
        format!("0-{}", cpus - 1)
    }
}

fn srao_broadcast_continues(cpus: u32) {
    let mut vm = boot(&format!("rdv-srao-{cpus}"), cpus, "intel", "");
    let target = cpus - 1;
    mce_b(
        &mut vm,
        target,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10000000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(
        &format!(
            r"mce: rendezvous 1: CPUs {} met and were released; \d+ us",
            all(cpus)
        ),
        STEP,
    );
    vm.expect_anywhere(
        r"Memory failure: 0x10000: recovery action for SRAO error",
        STEP,
    );
    // One error record; the other CPUs' "not enabled" filler is logged as
    // a record of its own, graded "no error", one per other CPU.
    let fillers = vm.grep(r"mce: CPU \d+ BANK 1 \(exception, severity no error\)$");
    assert_eq!(fillers.len(), cpus as usize - 1, "{fillers:?}");
    let records: Vec<_> = vm
        .grep(r"mce: CPU \d+ BANK \d+ \(")
        .into_iter()
        .filter(|l| !l.ends_with("severity no error)"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].contains(&format!(
        "mce: CPU {target} BANK 9 (exception, severity SRAO)"
    )));
    assert!(vm.grep("Kernel panic").is_empty());
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn srao_broadcast_continues_2_cpus() {
    srao_broadcast_continues(2);
}

#[test]
fn srao_broadcast_continues_4_cpus() {
    srao_broadcast_continues(4);
}

#[test]
fn srao_broadcast_continues_8_cpus() {
    srao_broadcast_continues(8);
}

#[test]
fn fatal_broadcast_panics_once_with_every_cpu_accounted_for() {
    let mut vm = boot("rdv-fatal", 4, "intel", "");
    mce_b(&mut vm, 2, 3, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert_eq!(vm.grep("Kernel panic - not syncing").len(), 1, "{out}");
    assert_eq!(
        vm.grep(r"mce: CPU 2 BANK 3 \(exception, severity panic\)")
            .len(),
        1,
        "{out}"
    );
    assert!(
        out.contains("Fatal machine check: Processor context corrupt"),
        "{out}"
    );
    assert!(
        out.contains("mce: rendezvous: CPUs 0-3 took part, CPUs 0-3 online"),
        "{out}"
    );
}

#[test]
fn fatal_broadcast_panics_once_amd() {
    // AMD: every #MC is local, no rendezvous; still one panic, one record.
    let mut vm = boot("rdv-fatal-amd", 4, "amd", "");
    mce_b(&mut vm, 1, 3, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert_eq!(vm.grep("Kernel panic - not syncing").len(), 1, "{out}");
    assert_eq!(
        vm.grep(r"mce: CPU 1 BANK 3 \(exception, severity panic\)")
            .len(),
        1,
        "{out}"
    );
    // Linux's mce_severity_amd wording.
    assert!(
        out.contains("Fatal machine check: Processor Context Corrupt"),
        "{out}"
    );
    assert!(vm.grep("rendezvous").is_empty(), "{out}");
}

#[test]
fn uncorrected_error_without_broadcast_times_out_naming_the_absent_cpus() {
    let mut vm = boot("rdv-nobcast", 4, "intel", "mce.monarch_timeout_us=300000");
    mce(
        &mut vm,
        1,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10000000",
        MISC_PHYS_LSB12,
    );
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("timeout in machine-check rendezvous (Arrive)")
            && out.contains("CPUs not responding: 0,2-3"),
        "{out}"
    );
    assert!(
        out.contains("Fatal machine check: Timeout synchronizing machine check over CPUs"),
        "{out}"
    );
}

#[test]
fn an_unresponsive_cpu_causes_a_bounded_timeout_not_a_hang() {
    let timeout_us = 300_000u64;
    let cap_us = 3_000_000u64;
    let mut vm = boot(
        "rdv-stuck",
        4,
        "intel",
        &format!(
            "mce.monarch_timeout_us={timeout_us} mce.monarch_cap_us={cap_us} mce.test_unresponsive_cpu=2"
        ),
    );
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10000000",
        MISC_PHYS_LSB12,
    );
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let lines = vm.grep(
        r"timeout in machine-check rendezvous \(Arrive\) after \d+ us: CPUs not responding: 2$",
    );
    assert!(!lines.is_empty(), "{}", vm.output());
    // The timeout counts a waiter's own running time since the last CPU
    // arrived, so on this loaded host it may take longer in wall time than
    // `timeout_us`, never less; the cap bounds it in wall time (each CPU
    // reports the time since its own, slightly later, entry).
    let waited: Vec<u64> = lines
        .iter()
        .map(|l| {
            l.split(" after ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap()
        })
        .collect();
    assert!(
        *waited.iter().max().unwrap() >= timeout_us * 9 / 10,
        "{waited:?}"
    );
    assert!(waited.iter().all(|&w| w < cap_us + 200_000), "{waited:?}");
    assert_eq!(vm.grep("Kernel panic - not syncing").len(), 1);
}

#[test]
fn back_to_back_broadcasts_are_handled_in_turn() {
    let mut vm = boot("rdv-b2b", 4, "intel", "");
    // The second comes as soon as the first rendezvous is over (a second
    // #MC while MCIP is still set would be a shutdown, on hardware as in
    // QEMU): the rendezvous must be reusable at once.
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10000000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: rendezvous 1: CPUs 0-3 met and were released", STEP);
    mce_b(
        &mut vm,
        3,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10001000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: rendezvous 2: CPUs 0-3 met and were released", STEP);
    vm.expect_anywhere(r"Memory failure: 0x10000: ", STEP);
    vm.expect_anywhere(r"Memory failure: 0x10001: ", STEP);
    assert!(vm.grep("Kernel panic").is_empty());
    vm.quit();
}

#[test]
fn a_cpu_that_does_not_start_is_left_out_and_not_waited_for() {
    let mut vm = boot_ready(
        "rdv-withhold",
        VmOptions::default().cmdline("smp.test_withhold_cpu=2"),
    );
    let out = vm.output();
    assert!(
        out.contains("smp: cpu2 did not report in within 500 ms; left out"),
        "{out}"
    );
    assert!(out.contains("smp: 3 of 4 CPUs online"), "{out}");
    // The rendezvous counts only the CPUs that are up (QEMU's own broadcast
    // would reach the dead CPU too, so the software injector broadcasts).
    vm.expect_anywhere(r"rasos> ", STEP);
    vm.send("inject CPU 1 BANK 9 STATUS UNCORRECTED SRAO 0xc0 ADDR 0x10011000 MISC 0x8c EXCP\r");
    vm.expect_anywhere(r"mce: rendezvous 1: CPUs 0-1,3 met and were released", STEP);
    vm.expect_anywhere(r"Memory failure: 0x10011: ", STEP);
    vm.quit();
}

#[test]
fn an_offline_cpu_is_left_out_of_the_rendezvous() {
    let mut vm = boot("rdv-offline", 4, "intel", "");
    vm.expect_anywhere(r"rasos> ", STEP);
    vm.send("cpu offline 3\r");
    vm.expect_line(
        r"^cpu3 offline \(released CMCI banks none\); CPUs 0-2 online; CMCI owners after rediscovery: none \(no CMCI\)$",
        STEP,
    );
    // QEMU's broadcast still reaches cpu3; it passes, the others meet.
    mce_b(
        &mut vm,
        1,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10012000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: rendezvous 1: CPUs 0-2 met and were released", STEP);
    vm.expect_anywhere(r"Memory failure: 0x10012: ", STEP);
    vm.send("cpus\r");
    vm.expect_line(r"^3 CPU\(s\) online: 0-2$", STEP);
    vm.send("cpu offline 0\r");
    vm.expect_line(
        r"^cpu offline: cpu0 runs the consumer and the console; it stays online$",
        STEP,
    );
    vm.quit();
}
