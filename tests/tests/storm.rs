//! Corrected errors in bulk: a storm injected through QMP in a loop is
//! detected and ends once each without flooding the console or losing
//! records; a page that keeps producing corrected errors goes offline.

use tests::mce::*;
use tests::*;

fn stats(vm: &mut Vm) -> String {
    vm.send("stats\r");
    vm.expect_line(r"^cec: ", STEP);
    vm.output()
}

#[test]
fn a_corrected_error_storm_is_detected_once_and_kept_off_the_console() {
    let mut vm = boot_ready(
        "storm",
        VmOptions::default()
            .cmdline("mce.poll_ms=100 mce.storm_poll_ms=100 mce.storm_clean_polls=5"),
    );
    // Hundreds of corrected errors into one bank, paced so that they span
    // many polls (a bank holds one error; faster ones only set OVER).
    let n = 300;
    for i in 0..n {
        mce(
            &mut vm,
            0,
            7,
            CE_MEM_RD_CH2,
            "0",
            &format!("{:#x}", 0x2000_0000u64 + i * 64),
            MISC_PHYS_LSB12,
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    vm.expect_anywhere(r"mce: cpu0 bank 7: corrected-error storm detected", STEP);
    let ended = vm.expect_anywhere(
        r"mce: cpu0 bank 7: storm subsided; \d+ error\(s\) during the storm",
        STEP,
    );
    let during: u64 = ended
        .split("subsided; ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(during >= 1, "{ended}");
    // Nothing lost uncounted: every record polled is either printed or
    // counted as kept off the console, and the rings dropped none.
    let out = stats(&mut vm);
    // Counted once the lines are complete (the match above may have seen
    // the subsided line before its newline arrived).
    assert_eq!(vm.grep("storm detected").len(), 1, "{out}");
    assert_eq!(vm.grep("storm subsided").len(), 1, "{out}");
    // The console shows the storm's start, not every record.
    let printed = vm.grep(r"mce: CPU 0 BANK 7 \(").len();
    assert!(printed <= 8, "{printed} records printed during a storm");

    let total = vm.grep(r"^records: \d+ in all").pop().unwrap();
    let total: usize = total.split(' ').nth(1).unwrap().parse().unwrap();
    let quiet = vm.grep(r"^storms: ").pop().unwrap();
    let quiet: usize = quiet
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(total, printed + quiet, "{out}");
    assert!(vm.grep(r"^dropped \(ring full\): 0$").len() == 1, "{out}");
    // The shell still answers during and after the storm.
    vm.send("config\r");
    vm.expect_line(r"^mce.tolerant=1 ", STEP);
    vm.quit();
}

#[test]
fn a_page_crossing_the_threshold_is_offlined_and_listed() {
    let mut vm = boot_ready(
        "cec-offline",
        VmOptions::default().cmdline("cec.threshold=3 mce.poll_ms=100"),
    );
    for i in 1..=3 {
        mce(
            &mut vm,
            1,
            9,
            CE_MEM_RD_CH2,
            "0",
            "0x10010040",
            MISC_PHYS_LSB12,
        );
        vm.expect_line(r"mce: CPU 1 BANK 9 \(poll, severity some\)", STEP);
        if i < 3 {
            assert!(vm.grep("offlined").is_empty());
        }
    }
    vm.expect_anywhere(r"cec: page 0x10010 offlined after 3 corrected errors: it was free and is taken out of the allocator", STEP);
    vm.send("pages\r");
    vm.expect_line(r"^  0x10010 \(0x10010000\): Offlined$", STEP);
    vm.quit();
}

#[test]
fn srao_poisons_its_page_for_good() {
    let mut vm = boot_ready("srao-pages", VmOptions::default());
    mce_b(
        &mut vm,
        2,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x10020000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(
        r"Memory failure: 0x10020: recovery action for SRAO error: free page poisoned",
        STEP,
    );
    vm.send("pages\r");
    vm.expect_line(r"^  0x10020 \(0x10020000\): Poisoned$", STEP);
    vm.quit();
}
