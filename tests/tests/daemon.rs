//! The operator's side in user space: `mcelogd`, a ring-3 task, reads the
//! records through the record-reader system calls, prints them decoded,
//! counts them per severity and runs trigger programs (`trigger.ce=`,
//! `trigger.uc=`), as mcelog does with /dev/mcelog.

use tests::*;

/// The record numbers mcelogd printed, in the order it printed them.
fn daemon_records(vm: &Vm) -> Vec<u32> {
    vm.grep(r"task \d+ mcelogd: record \d+: CPU ")
        .iter()
        .map(|l| {
            let after = l.split("mcelogd: record ").nth(1).unwrap();
            after.split(':').next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn records_reach_the_daemon_in_order_and_triggers_run_once_per_record() {
    let mut vm = boot_ready(
        "daemon-order",
        VmOptions::default()
            .cpus(2)
            .cmdline("mcelogd=on trigger.ce=trigger-print trigger.uc=trigger-offline"),
    );
    vm.expect_line(r"mcelogd: started as task \d+$", STEP);
    vm.expect_line(r"task \d+ mcelogd: reading records from reader \d+$", STEP);
    vm.send("selftest\r");
    vm.expect_line(r"^selftest: 5/5 passed", STEP);
    let counts = vm.expect_line(r"mcelogd: counts: records 5, ", STEP);
    // Two corrected errors, three uncorrected (UCNA, SRAO, the fatal one
    // the selftest survives with tolerant=3); none lost to this reader.
    assert!(counts.contains("corrected 2, uncorrected 3"), "{counts}");
    assert!(counts.ends_with("lost 0"), "{counts}");
    // Let the five triggers finish (their lines interleave with the daemon's).
    let until = std::time::Instant::now() + STEP;
    while vm
        .grep(r"task \d+ trigger-(print|offline) exited with code")
        .len()
        < 5
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        vm.grep(r"trigger-offline: the record has no address; nothing to offline")
            .len(),
        1,
        "{}",
        vm.output()
    );
    let out = vm.output();
    assert_eq!(daemon_records(&vm), vec![1, 2, 3, 4, 5], "{out}");
    assert_eq!(
        vm.grep(r"mcelogd: trigger trigger-print: started as task \d+ for record")
            .len(),
        2,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"mcelogd: trigger trigger-offline: started as task \d+ for record")
            .len(),
        3,
        "{out}"
    );
    // Each trigger got its own record's fields.
    assert_eq!(
        vm.grep(r"trigger-print: record: CPU 1 BANK 5, STATUS 0x9c00000000000092, ADDR 0x1000")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"trigger-print: record: CPU 0 BANK 6, STATUS 0x9c00000000000092, ADDR 0x2000")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"trigger-offline: offlined the page, pfn (14|15)$")
            .len(),
        2,
        "{out}"
    );
    vm.quit();
}

#[test]
fn a_reader_opened_late_gets_the_records_before_it_and_the_console_restarts_it() {
    let mut vm = boot_ready("daemon-late", VmOptions::default().cpus(2));
    vm.send("selftest\r");
    vm.expect_line(r"^selftest: 5/5 passed", STEP);
    vm.send("run mcelogd\r");
    let started = vm.expect_line(r"run: task \d+ mcelogd started", STEP);
    let id: u32 = started.split_whitespace().nth(2).unwrap().parse().unwrap();
    let counts = vm.expect_line(r"mcelogd: counts: records 5, ", STEP);
    assert!(counts.ends_with("lost 0"), "{counts}");
    assert_eq!(daemon_records(&vm), vec![1, 2, 3, 4, 5], "{}", vm.output());
    // Stopped from the console: its reader closes with the task.
    vm.send(&format!("kill {id}\r"));
    vm.expect_line(
        &format!(r"mcelog: reader \d+ of task {id} closed at its end"),
        STEP,
    );
    vm.quit();
}

#[test]
fn a_trigger_that_does_not_exist_is_reported_and_the_daemon_goes_on() {
    let mut vm = boot_ready(
        "daemon-badtrigger",
        VmOptions::default()
            .cpus(2)
            .cmdline("mcelogd=on trigger.ce=no-such-program"),
    );
    vm.expect_line(r"mcelogd: started as task \d+$", STEP);
    vm.send("selftest\r");
    vm.expect_line(r"^selftest: 5/5 passed", STEP);
    vm.expect_line(r"mcelogd: counts: records 5, ", STEP);
    let out = vm.output();
    assert_eq!(
        vm.grep(r"mcelogd: trigger no-such-program: failed: error -\d+ for record")
            .len(),
        2,
        "{out}"
    );
    // The kernel and the shell are still there.
    vm.send("stats\r");
    vm.expect_line(r"bank accounting cpu0: .*balanced", STEP);
    vm.quit();
}
