//! The operator console on the serial line: each command's output, line
//! editing and history, and the selftest.

use tests::mce::*;
use tests::*;

fn shell(name: &str, cmdline: &str) -> Vm {
    let mut vm = boot_ready(name, VmOptions::default().cmdline(cmdline));
    vm.expect_anywhere(r"rasos> ", STEP);
    vm
}

#[test]
fn every_command_answers() {
    let mut vm = shell("console-cmds", "mce.poll_ms=100");
    vm.send("help\r");
    vm.expect_line(r"^  selftest ", STEP);
    vm.send("cpus\r");
    vm.expect_line(r"^4 CPU\(s\) online: 0-3$", STEP);
    vm.expect_line(
        r"^cpu3: APIC id 3, 10 banks, MCG_CAP 0x100010a: CTL_P SER_P; #MC taken 0",
        STEP,
    );
    vm.send("pages\r");
    vm.expect_line(r"^0 page\(s\) out of use$", STEP);

    mce(
        &mut vm,
        0,
        9,
        CE_MEM_RD_CH2,
        "0",
        "0x1234000",
        MISC_PHYS_LSB12,
    );
    vm.expect_line(r"mce: CPU 0 BANK 9 \(poll", STEP);
    vm.send("log 1\r");
    vm.expect_line(r"^1 record\(s\) kept \(last 256\), showing 1$", STEP);
    vm.expect_line(r"^CPU 0 BANK 9 \(poll, severity some\)$", STEP);
    vm.expect_line(r"^MCA: MEMORY CONTROLLER RD_CHANNEL2_ERR$", STEP);
    vm.send("log 1 ascii\r");
    vm.expect_line(r"^CPU 0 BANK 9$", STEP);
    vm.expect_line(r"^STATUS 9c00004000000092$", STEP);
    vm.send("stats\r");
    vm.expect_line(r"^records: 1 in all$", STEP);
    vm.expect_line(r"^  some +1$", STEP);
    vm.expect_line(r"^dropped \(ring full\): 0$", STEP);

    vm.send("config\r");
    vm.expect_line(
        r"^mce.tolerant=1 mce.monarch_timeout_us=1000000 mce.monarch_cap_us=30000000 mce.poll_ms=100 ",
        STEP,
    );
    vm.send("config set mce.tolerant=2\r");
    vm.expect_line(r"^config: changed mce.tolerant: was '1', now '2'$", STEP);
    vm.send("config set mce.tolerant=7\r");
    vm.expect_line(r"^config: mce.tolerant=7: expected 0..3, ignored$", STEP);
    vm.send("config set mce.ring_capacity=8\r");
    vm.expect_line(r"^config: mce.ring_capacity can only be set at boot", STEP);
    vm.send("config\r");
    vm.expect_line(r"^mce.tolerant=2 ", STEP);
    vm.send("frobnicate\r");
    vm.expect_line(r"^unknown command 'frobnicate' \(try help\)$", STEP);
    vm.quit();
}

#[test]
fn line_editing_and_history() {
    let mut vm = shell("console-edit", "");
    // A typo fixed with backspace, then the cursor moved left to insert.
    vm.send("cpux\x7fs\r");
    vm.expect_line(r"^4 CPU\(s\) online", STEP);
    vm.send("pges\x1b[D\x1b[D\x1b[Da\r");
    vm.expect_line(r"^0 page\(s\) out of use$", STEP);
    // Up arrow twice recalls "cpus".
    vm.send("\x1b[A\x1b[A\r");
    vm.expect_line(r"^4 CPU\(s\) online", STEP);
    // Ctrl-U kills the line.
    vm.send("garbage\x15help\r");
    vm.expect_line(r"^commands:$", STEP);
    vm.quit();
}

#[test]
fn selftest_injects_each_kind_and_checks_the_outcome() {
    let mut vm = shell("console-selftest", "");
    vm.send("selftest\r");
    for step in 1..=5 {
        let l = vm.expect_line(&format!(r"^selftest: {step}/5 "), STEP);
        assert!(l.contains(": ok: "), "{l}\n{}", vm.output());
    }
    vm.expect_line(r"^selftest: 5/5 passed$", STEP);
    // Still alive and answering.
    vm.send("pages\r");
    vm.expect_line(r"^2 page\(s\) out of use$", STEP);
    assert!(vm.grep("Kernel panic").is_empty());
    vm.quit();
}

#[test]
fn the_ps2_keyboard_drives_the_same_shell() {
    let mut vm = shell("console-kbd", "");
    assert!(vm.output().contains("PS/2 keyboard yes"), "{}", vm.output());
    for key in ["c", "p", "u", "s", "ret"] {
        vm.hmp(&format!("sendkey {key}"));
    }
    vm.expect_line(r"^4 CPU\(s\) online: 0-3$", STEP);
    vm.quit();
}
