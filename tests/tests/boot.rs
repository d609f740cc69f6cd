//! The kernel boots under both firmwares, prints its configuration, reports
//! bad configuration words, and ends the run with the documented exit codes.

use std::process::Command;
use tests::*;

fn boots_to_ready(firmware: Firmware) {
    let mut vm = boot_ready(
        &format!("boot-{}", firmware.name()),
        VmOptions::default().firmware(firmware),
    );
    let out = vm.output();
    assert!(
        out.contains("booting on GenuineIntel family 0x6 model 0x55 stepping 4"),
        "{out}"
    );
    assert!(out.contains("hypervisor: TCGTCGTCGTCG"), "{out}");
    assert!(out.contains(
        "config: mce.tolerant=1 mce.monarch_timeout_us=1000000 mce.monarch_cap_us=30000000 mce.poll_ms=1000 mce.ring_capacity=64 \
         mce.storm_threshold=5 mce.storm_poll_ms=1000 mce.storm_clean_polls=30 cec.threshold=10 \
         cec.window_s=86400 einj=off log=info"
    ), "{out}");
    // Every kernel line is `<N>[sssss.uuuuuu] text` (printk level, time since
    // boot), the prefix mcelog's ASCII input strips; READY is info (6).
    let ready = vm.grep(r"READY$");
    assert!(
        regex::Regex::new(r"^<6>\[ *[0-9]+\.[0-9]{6}\] READY$")
            .unwrap()
            .is_match(&ready[0]),
        "{ready:?}"
    );
    // Line by line: from the kernel's first line to READY, nothing else.
    let prefix = regex::Regex::new(r"^<[3467]>\[ *[0-9]+\.[0-9]{6}\] ").unwrap();
    let lines = vm.lines();
    let first = lines
        .iter()
        .position(|l| prefix.is_match(l))
        .expect("a kernel line");
    for l in lines[first..]
        .iter()
        .take_while(|l| !l.ends_with("] READY"))
    {
        assert!(prefix.is_match(l), "line without <N>[sssss.uuuuuu]: {l:?}");
    }
    // The kernel keeps running until asked: QMP quit ends QEMU without the
    // kernel's exit code.
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn bios_boots_to_ready() {
    boots_to_ready(Firmware::Bios);
}

#[test]
fn uefi_boots_to_ready() {
    boots_to_ready(Firmware::Uefi);
}

/// `make setup`'s QEMU 10 (target/qemu10) starts, with its own modules and
/// data, and offers what QEMU 7.2's TCG does not: x2APIC.
#[test]
fn boots_on_qemu10() {
    let mut vm = boot_ready("boot-qemu10", VmOptions::default().qemu10());
    // Offered, so switched to (as Linux does).
    let apic = vm.grep(r"local APIC: id 0 x2APIC mode \(x2APIC offered\)");
    assert_eq!(apic.len(), 1, "{}", vm.output());
    assert!(
        !vm.grep(r"smp: 4 of 4 CPUs online").is_empty(),
        "{}",
        vm.output()
    );
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn configuration_problems_are_reported_and_ignored() {
    let mut vm = boot_ready(
        "boot-config",
        VmOptions::default().cmdline("mce.tolerant=9 bogus=1 lonely mce.poll_ms=250 log=debug"),
    );
    let out = vm.output();
    assert!(
        out.contains("config: mce.tolerant=9: expected 0..3, ignored"),
        "{out}"
    );
    assert!(out.contains("config: unknown key 'bogus' ignored"));
    assert!(out.contains("config: 'lonely' is not key=value, ignored"));
    assert!(
        out.contains("config: mce.tolerant=1 mce.monarch_timeout_us=1000000 mce.monarch_cap_us=30000000 mce.poll_ms=250 mce.ring_capacity=64 "),
        "{out}"
    );
    assert!(out.contains("einj=off log=debug"));
    vm.quit();
}

#[test]
fn panic_ends_the_run_with_the_failure_code() {
    let mut vm = Vm::start("boot-panic", VmOptions::default().cmdline("test=panic"));
    assert_eq!(vm.exit_status(BOOT), ExitKind::KernelPanic);
    let out = vm.output();
    assert!(out.contains("KERNEL PANIC on cpu0: panicked at"), "{out}");
    assert!(out.contains("test scenario requested a panic"));
    assert!(!out.contains("READY"));
}

#[test]
fn unexpected_exception_ends_the_run_with_the_failure_code() {
    let mut vm = Vm::start(
        "boot-exception",
        VmOptions::default().cmdline("test=exception"),
    );
    assert_eq!(vm.exit_status(BOOT), ExitKind::KernelPanic);
    let out = vm.output();
    assert!(
        out.contains("EXCEPTION: #UD invalid opcode on cpu0"),
        "{out}"
    );
    assert!(out.contains("KERNEL PANIC on cpu0: panicked at"));
    assert!(out.contains("unhandled CPU exception: #UD invalid opcode"));
}

/// `boot run` (what `make run` calls) maps the kernel's exit to its own exit
/// status, with stdin not a terminal.
#[test]
fn boot_run_exit_status_follows_the_kernel() {
    let root = workspace_root();
    let kernel = kernel_elf();
    let st = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "-q", "-p", "boot"])
        .status()
        .unwrap();
    assert!(st.success());
    for (cmdline, code) in [("test=exit", 0), ("test=panic", 1)] {
        let dir = root.join(format!("target/test-vms/boot-run-{}", std::process::id()));
        let out = Command::new(root.join("target/debug/boot"))
            .current_dir(&root)
            .args(["run", "--kernel"])
            .arg(&kernel)
            .args(["--out"])
            .arg(&dir)
            .args(["--cmdline", cmdline, "--erst", "none", "--cpus", "2"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{cmdline}: {stdout}");
        assert!(stdout.contains("test: "), "{stdout}");
    }
}
