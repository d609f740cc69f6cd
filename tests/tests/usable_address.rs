//! Usable addresses (Linux's `mce_usable_address`): an uncorrected or
//! corrected memory error whose address the bank does not vouch for as a
//! physical address of page granularity is reported as not usable and
//! never acted on: no page is poisoned or offlined for it.

use tests::*;

fn shell(name: &str, cmdline: &str) -> Vm {
    let mut vm = boot_ready(name, VmOptions::default().cmdline(cmdline));
    vm.expect_anywhere(r"rasos> ", STEP);
    vm
}

fn inject(vm: &mut Vm, record: &str) -> String {
    vm.send(&format!("inject {record}\r"));
    vm.expect_line(r"inject: (done|failed)", STEP)
}

#[test]
fn uncorrected_errors_without_a_usable_address_poison_nothing() {
    let mut vm = shell("addr-ucna", "mce.poll_ms=60000");
    // (MISC part of the record, page, the reason the kernel must give).
    let refused = [
        ("", 0x10031u64, "MISCV clear"),
        // Physical mode, but valid only down to bit 21 (a 2 MiB range).
        ("MISC 0x95", 0x10032, "LSB above page size"),
        // LSB 12, segment-offset mode.
        ("MISC 0x0c", 0x10033, "address mode not physical"),
        // LSB 12, memory-address mode (not a system physical address).
        ("MISC 0xcc", 0x10034, "address mode not physical"),
    ];
    for (misc, pfn, why) in refused {
        let done = inject(
            &mut vm,
            &format!(
                "CPU 1 BANK 9 STATUS UNCORRECTED UCNA 0x9f ADDR {:#x} {misc} POLL",
                pfn << 12
            ),
        );
        assert!(done.contains("inject: done"), "{done}");
        vm.expect_anywhere(r"mce: CPU 1 BANK 9 \(poll, severity deferred\)$", STEP);
        vm.expect_anywhere(
            &format!(
                r"Memory failure: cpu1 bank 9 ADDR {:#x} MISC 0x[0-9a-f]+: address not usable: {why}; no page poisoned$",
                pfn << 12
            ),
            STEP,
        );
    }
    // The same error with a proper MISC (physical, LSB 12) is acted on.
    inject(
        &mut vm,
        "CPU 1 BANK 9 STATUS UNCORRECTED UCNA 0x9f ADDR 0x10035000 MISC 0x8c POLL",
    );
    vm.expect_anywhere(
        r"Memory failure: 0x10035: recovery action for deferred error: free page poisoned",
        STEP,
    );
    vm.send("pages\r");
    vm.expect_line(r"^\s+0x10035 \(0x10035000\): Poisoned$", STEP);
    vm.expect_anywhere(r"rasos> $", STEP);
    std::thread::sleep(std::time::Duration::from_millis(300));
    for (_, pfn, _) in refused {
        assert!(
            vm.grep(&format!(r"{pfn:#x} \(")).is_empty(),
            "page {pfn:#x} was retired:\n{}",
            vm.output()
        );
        assert!(vm.grep(&format!("Memory failure: {pfn:#x}:")).is_empty());
    }
    assert_eq!(vm.grep("Memory failure: 0x1003[1-4]").len(), 0);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn corrected_errors_without_a_usable_address_are_not_counted() {
    // Two corrected errors on a page take it offline, unless the address
    // is not usable.
    let mut vm = shell("addr-cec", "mce.poll_ms=60000 cec.threshold=2");
    for _ in 0..3 {
        inject(
            &mut vm,
            "CPU 2 BANK 7 STATUS CORRECTED 0x9f ADDR 0x10041000 MISC 0x95 POLL",
        );
        vm.expect_anywhere(
            r"cec: cpu2 bank 7 ADDR 0x10041000: address not usable: LSB above page size; not counted$",
            STEP,
        );
    }
    for _ in 0..2 {
        inject(
            &mut vm,
            "CPU 2 BANK 7 STATUS CORRECTED 0x9f ADDR 0x10042000 MISC 0x8c POLL",
        );
    }
    vm.expect_anywhere(r"cec: page 0x10042 offlined after 2 corrected errors", STEP);
    vm.send("stats\r");
    vm.expect_anywhere(
        r"cec: \d+ page\(s\) tracked, 2 error\(s\) counted, 1 offlined",
        STEP,
    );
    assert!(
        vm.grep("page 0x10041 offlined").is_empty(),
        "{}",
        vm.output()
    );
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}
