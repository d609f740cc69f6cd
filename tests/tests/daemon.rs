//! The operator's side in user space: `mcelogd`, a ring-3 task, reads the
//! records through the record-reader system calls, prints them decoded,
//! counts them per severity and runs trigger programs (`trigger.ce=`,
//! `trigger.uc=`), as mcelog does with /dev/mcelog.

use tests::tasks::*;
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

/// Four records through QMP: a corrected error on each CPU (found by
/// polling), each awaited in the daemon before the next, then a broadcast
/// SRAO, which also leaves QEMU's EN-clear filler in the other CPU's bank
/// (a record too). At pages no task uses: the console's `selftest` is not
/// used here, as its UCNA page may be the daemon's own, which then dies.
fn four_records(vm: &mut Vm) {
    use tests::mce::*;
    mce(vm, 0, 7, CE_MEM_RD_CH2, "0", "0x20000000", MISC_PHYS_LSB12);
    vm.expect_anywhere(r"mcelogd: record 1: CPU 0 BANK 7 corrected", STEP);
    mce(vm, 1, 7, CE_MEM_RD_CH2, "0", "0x20001000", MISC_PHYS_LSB12);
    vm.expect_anywhere(r"mcelogd: record 2: CPU 1 BANK 7 corrected", STEP);
    mce_b(
        vm,
        0,
        1,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x20002000",
        MISC_PHYS_LSB12,
    );
}

#[test]
fn records_reach_the_daemon_in_order_and_triggers_run_once_per_record() {
    let mut vm = boot_with_daemon(
        "daemon-order",
        "trigger.ce=trigger-print trigger.uc=trigger-offline",
    );
    four_records(&mut vm);
    vm.expect_anywhere(r"mcelogd: counts: records 4, ", STEP);
    // Let the four triggers finish (their lines interleave with the daemon's).
    await_count(&vm, r"task \d+ trigger-(print|offline) exited with code", 4);
    // Read again, once whole: the match above may have seen the line
    // before its end.
    await_count(&vm, r"mcelogd: counts: records 4, .*lost \d+$", 1);
    let counts = vm.grep(r"mcelogd: counts: records 4, ").pop().unwrap();
    assert!(counts.contains("corrected 2, uncorrected 2"), "{counts}");
    assert!(counts.ends_with("lost 0"), "{counts}");
    let out = vm.output();
    assert_eq!(daemon_records(&vm), vec![1, 2, 3, 4], "{out}");
    assert_eq!(
        vm.grep(r"mcelogd: trigger trigger-print: started as task \d+ for record")
            .len(),
        2,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"mcelogd: trigger trigger-offline: started as task \d+ for record")
            .len(),
        2,
        "{out}"
    );
    // Each trigger got its own record's fields.
    assert_eq!(
        vm.grep(r"trigger-print: record: CPU 0 BANK 7, STATUS 0x9c00004000000092, ADDR 0x20000000")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"trigger-print: record: CPU 1 BANK 7, STATUS 0x9c00004000000092, ADDR 0x20001000")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"trigger-offline: offlined the page, pfn 131074$")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"trigger-offline: the record has no address; nothing to offline$")
            .len(),
        1,
        "{out}"
    );
    vm.quit();
}

#[test]
fn a_reader_opened_late_gets_the_records_before_it_and_the_console_restarts_it() {
    let mut vm = boot_ready("daemon-late", VmOptions::default().cpus(2));
    vm.send("selftest\r");
    vm.expect_line(r"^selftest: 5/5 passed", STEP);
    // No task ran during the selftest, so none was hit by its errors.
    vm.send("run mcelogd\r");
    let started = vm.expect_line(r"run: task \d+ mcelogd started", STEP);
    let id: u32 = started.split_whitespace().nth(2).unwrap().parse().unwrap();
    // The task may print before the shell's answer: anywhere, and the
    // whole line (a line being received matches too).
    vm.expect_anywhere(r"mcelogd: counts: records 5, .*, lost 0$", STEP);
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
    let mut vm = boot_with_daemon("daemon-badtrigger", "trigger.ce=no-such-program");
    four_records(&mut vm);
    vm.expect_anywhere(r"mcelogd: counts: records 4, ", STEP);
    let out = vm.output();
    assert_eq!(
        vm.grep(
            r"mcelogd: trigger no-such-program: failed: no such program \(error -2\) for record \d$"
        )
        .len(),
        2,
        "{out}"
    );
    // The kernel and the shell are still there.
    vm.send("stats\r");
    vm.expect_line(r"bank accounting cpu0: .*balanced", STEP);
    vm.quit();
}

/// Sum of `logged` over the per-CPU `bank accounting` lines of `stats`.
fn logged(vm: &mut Vm) -> u64 {
    vm.send("stats\r");
    vm.expect_line(r"^cec: ", STEP);
    let lines = vm.grep(r"bank accounting cpu\d+: read \d+ = logged \d+ ");
    // The last `stats` printed one line per CPU (2 here).
    lines[lines.len() - 2..]
        .iter()
        .map(|l| {
            l.split("logged ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum()
}

/// The numbers after `word ` in `line`.
fn field(line: &str, word: &str) -> u64 {
    line.split(&format!("{word} "))
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The number just before `words` in `line`.
fn before(line: &str, words: &str) -> u64 {
    let head = line.split(words).next().unwrap();
    let digits: String = head
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

#[test]
fn a_storm_of_300_is_delivered_or_counted_lost_for_every_reader() {
    let mut vm = boot_with_daemon(
        "daemon-storm",
        "mce.poll_ms=100 mce.storm_poll_ms=100 mce.storm_clean_polls=5",
    );
    // A slow reader beside the daemon: it takes one record per 500 ms.
    vm.send("run slowreader\r");
    let started = vm.expect_line(r"run: task \d+ slowreader started", STEP);
    let slow: u32 = started.split_whitespace().nth(2).unwrap().parse().unwrap();
    // Spread over 7 banks of both CPUs, so that each bank is polled
    // (every 100 ms) before it is written again: far more records are
    // logged than a reader's queue holds.
    for i in 0..300u64 {
        tests::mce::mce(
            &mut vm,
            (i % 2) as u32,
            3 + ((i / 2) % 7) as u8,
            tests::mce::CE_MEM_RD_CH2,
            "0",
            &format!("{:#x}", 0x2000_0000u64 + i * 64),
            tests::mce::MISC_PHYS_LSB12,
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // The last polls.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let logged = logged(&mut vm);
    assert!(logged > 64, "only {logged} records logged");
    // The daemon: every record it matched is delivered or counted lost.
    let until = std::time::Instant::now() + STEP;
    let last = loop {
        let counts = vm.grep(r"mcelogd: counts: records \d+, ");
        let last = counts.last().cloned().unwrap_or_default();
        if !last.is_empty() && field(&last, "records") + field(&last, "lost") == logged {
            break last;
        }
        if std::time::Instant::now() > until {
            panic!(
                "mcelogd: {last:?}, but {logged} records logged\n{}",
                vm.output()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(
        field(&last, "records") + field(&last, "lost"),
        logged,
        "{last}"
    );
    // The slow reader, killed while it waits in a read: what it took, what
    // it had not taken yet and what it lost add up to the same.
    vm.send(&format!("kill {slow}\r"));
    let closed = vm.expect_line(
        &format!(r"mcelog: reader \d+ of task {slow} closed at its end"),
        STEP,
    );
    let (d, q, l) = (
        before(&closed, " delivered"),
        before(&closed, " unread"),
        before(&closed, " lost)"),
    );
    assert_eq!(d + q + l, logged, "{closed}");
    assert!(
        l > 0,
        "a reader of one record per 500 ms kept up with a storm: {closed}"
    );
    // The kernel never waited for it: the daemon's stays exact and the
    // shell answers.
    vm.send("stats\r");
    vm.expect_line(r"bank accounting cpu0: .*balanced", STEP);
    vm.quit();
}
