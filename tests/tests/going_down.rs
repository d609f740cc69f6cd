//! Nothing lost when the machine goes down, on any number of CPUs:
//! broadcasts complete at 32 and 64 vCPUs on an overcommitted host, console
//! lines from #MC context stay whole, the panic path prints and saves every
//! record while another CPU holds the heap or the console, banks are left
//! as they were, and the global no-way-out makes every CPU log all it holds.

use std::time::{Duration, Instant};
use tests::mce::*;
use tests::*;

/// Boots with `cpus` vCPUs (AP start-up under TCG is slow at high counts).
fn boot_many(name: &str, cpus: u32, cmdline: &str) -> Vm {
    let vm = boot_ready(
        name,
        VmOptions::default().cpus(cpus).mem("1G").cmdline(cmdline),
    );
    assert!(
        vm.output()
            .contains(&format!("smp: {cpus} of {cpus} CPUs online")),
        "{}",
        vm.output()
    );
    vm
}

fn srao_broadcasts_complete(cpus: u32) {
    let mut vm = boot_many(&format!("down-srao-{cpus}"), cpus, "");
    for n in 1..=3u32 {
        let addr = format!("{:#x}", 0x1000_0000u64 + n as u64 * 0x10_0000);
        let t = Instant::now();
        mce_b(&mut vm, 0, 1, SRAO_SCRUB, RIPV_MCIP, &addr, MISC_PHYS_LSB12);
        vm.expect_anywhere(
            &format!(
                r"mce: rendezvous {n}: CPUs 0-{} met and were released",
                cpus - 1
            ),
            Duration::from_secs(120),
        );
        eprintln!("{cpus} vCPUs: broadcast {n} handled in {:?}", t.elapsed());
    }
    assert!(
        vm.grep("timeout in machine-check rendezvous").is_empty(),
        "{}",
        vm.output()
    );
    assert!(vm.grep("Kernel panic").is_empty(), "{}", vm.output());
    assert_eq!(
        vm.grep(r"mce: CPU 0 BANK 1 \(exception, severity SRAO\)")
            .len(),
        3
    );
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn broadcast_sraos_complete_at_32_vcpus() {
    srao_broadcasts_complete(32);
}

#[test]
fn broadcast_sraos_complete_at_64_vcpus() {
    srao_broadcasts_complete(64);
}

/// A processor-context-corrupt error broadcast from cpu1's bank 2: the run
/// ends with the machine-check exit code.
fn fatal_pcc_on_cpu1(vm: &mut Vm) {
    mce_b(vm, 1, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(
        vm.exit_status(STEP),
        ExitKind::MachineCheckPanic,
        "{}",
        vm.output()
    );
}

/// A fatal broadcast while cpu2 holds `what` for good: every record is
/// still printed and saved, and the run ends with the machine-check code.
fn fatal_while_cpu2_holds(what: &str) {
    let mut vm = boot_ready(&format!("down-hold-{what}"), VmOptions::default());
    vm.send(&format!("testhook hold {what} 2\r"));
    vm.expect_anywhere(
        &format!("testhook: cpu2 holds the {what} lock for good"),
        STEP,
    );
    // A corrected error waiting in cpu3's bank 3: with the global no-way-out
    // it is logged and saved too.
    mce(
        &mut vm,
        3,
        3,
        CE_MEM_RD_CH2,
        "0",
        "0x2345000",
        MISC_PHYS_LSB12,
    );
    fatal_pcc_on_cpu1(&mut vm);
    let out = vm.output();
    for rec in [
        "mce: CPU 1 BANK 2 (exception, severity panic)",
        "mce: CPU 3 BANK 3 (exception, severity",
        "Kernel panic - not syncing: Fatal machine check: Processor context corrupt",
    ] {
        assert!(out.contains(rec), "{rec}:\n{out}");
    }
    // The PCC, the CE and the broadcast's EN-clear filler (a record too;
    // the other CPUs' identical fillers are named as printed once).
    assert_eq!(
        vm.grep(r"erst: cpu\d+ bank \d+ saved as record").len(),
        3,
        "{out}"
    );
    assert!(
        vm.grep("records printed from CPUs")
            .iter()
            .any(|l| l.ends_with("0-3")),
        "{out}"
    );
    // The banks keep their errors for the firmware and the next boot.
    assert!(
        out.contains("mce: cpu1: banks 2 left as they were"),
        "{out}"
    );
    assert!(
        out.contains("mce: cpu3: banks 1,3 left as they were"),
        "{out}"
    );
}

#[test]
fn the_panic_path_does_not_need_the_heap() {
    fatal_while_cpu2_holds("heap");
}

#[test]
fn the_panic_path_does_not_need_the_console() {
    fatal_while_cpu2_holds("console");
}

/// The kernel's line prefix: `[seconds.micros] ` then an optional level.
fn is_kernel_line(l: &str) -> bool {
    // `<N>[sssss.uuuuuu] text`: the printk level, then the time stamp.
    let Some(l) = l
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .filter(|(level, _)| matches!(*level, "3" | "4" | "6" | "7"))
        .map(|(_, r)| r)
    else {
        return false;
    };
    let Some(rest) = l.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, _)) = rest.split_once("] ") else {
        return false;
    };
    let Some((secs, micros)) = stamp.trim_start().split_once('.') else {
        return false;
    };
    !secs.is_empty()
        && secs.bytes().all(|b| b.is_ascii_digit())
        && micros.len() == 6
        && micros.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn console_lines_stay_whole_when_32_cpus_time_out_at_once() {
    // Every CPU but the hung one reports the timeout at about the same
    // moment, from #MC context, and the panic follows.
    let mut vm = boot_many(
        "down-lines-32",
        32,
        "mce.monarch_timeout_us=200000 mce.test_unresponsive_cpu=31",
    );
    mce_b(
        &mut vm,
        0,
        1,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10000000",
        MISC_PHYS_LSB12,
    );
    assert_eq!(
        vm.exit_status(Duration::from_secs(120)),
        ExitKind::MachineCheckPanic
    );
    let lines = vm.lines();
    // From the kernel's first line (the bootloader prints before it).
    let first = lines.iter().position(|l| is_kernel_line(l)).unwrap();
    let bad: Vec<&String> = lines[first..]
        .iter()
        .filter(|l| !is_kernel_line(l) && !l.trim().is_empty())
        .collect();
    assert!(bad.is_empty(), "lines not in the kernel's format: {bad:#?}");
    // The CPU 0 often takes the broadcast while it prints this line (a
    // stopped printer once repeated a character of it, another time of its
    // timestamp): when it is there, it is whole and written once.
    let hint = "] console: type 'help' for commands, 'selftest' to inject one error of each kind";
    let mentions: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("console: type"))
        .collect();
    assert!(
        mentions.len() <= 1 && mentions.iter().all(|l| l.ends_with(hint)),
        "{mentions:#?}"
    );
    let timeouts =
        vm.grep(r"timeout in machine-check rendezvous \(Arrive\) .*CPUs not responding: 31$");
    assert_eq!(timeouts.len(), 31, "{}", vm.output());
    assert!(vm
        .output()
        .contains("mce: CPU 0 BANK 1 (exception, severity SRAO)"));
}

/// A fatal broadcast while cpu2 prints long log lines one after another:
/// cpu2 takes its #MC, and then the stop NMI, in the middle of a line
/// (under TCG often right after a byte went out). Every line it printed is
/// whole and written once, the one it was in included. (Lines may be
/// missing: while another CPU holds the console, cpu2 outruns the queue,
/// and what does not fit is counted as dropped.)
#[test]
fn a_printer_stopped_mid_line_finishes_it_once() {
    for run in 0..3 {
        let mut vm = boot_ready(&format!("down-printer-{run}"), VmOptions::default());
        vm.send("testhook print 2 1000000\r");
        vm.expect_anywhere(r"testhook: line \d{3,} of 1000000:", STEP);
        fatal_pcc_on_cpu1(&mut vm);
        let tail = " of 1000000: abcdefghijklmnopqrstuvwxyz 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut last = 0u64;
        let mut count = 0;
        for l in vm.lines().iter().filter(|l| l.contains("testhook: line")) {
            let number = l
                .split_once("] testhook: line ")
                .filter(|(stamp, _)| is_kernel_line(&format!("{stamp}] x")))
                .and_then(|(_, rest)| rest.strip_suffix(tail))
                .and_then(|n| n.parse::<u64>().ok());
            match number {
                Some(n) if n > last => last = n,
                _ => panic!("after line {last} of cpu2's: {l:?}\n{}", vm.output()),
            }
            count += 1;
        }
        assert!(count >= 2, "{}", vm.output());
    }
}
