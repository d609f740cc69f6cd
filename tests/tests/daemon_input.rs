//! The record daemon and its system calls under bad input: a reader that
//! passes bad filters, buffers, lengths and ids; a trigger that crashes; a
//! bad filter from the console or the boot line. Each gets a clear error;
//! the daemon, the kernel and the shell go on, and no record is lost.

use tests::mce::*;
use tests::tasks::*;
use tests::*;

/// The task id in a `... task <id> ...` line.
fn task_id(line: &str) -> u32 {
    line.split("task ")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_reader_passing_bad_input_gets_errors_and_loses_no_record() {
    let mut vm = boot_ready("daemon-badreader", VmOptions::default().cpus(2));
    // The record the reader must still get after all its bad calls.
    mce(
        &mut vm,
        0,
        7,
        CE_MEM_RD_CH2,
        "0",
        "0x20000000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: CPU 0 BANK 7 \(poll", STEP);
    vm.send("run badreader\r");
    vm.expect_line(r"task \d+ badreader exited with code 0$", STEP);
    let out = vm.output();
    // Each case: what the call returned (-errno) and the kernel's reason.
    for (case, result, reason) in [
        (
            "open with an unknown filter word",
            -22,
            r"mce_open: unknown filter key 'colour'",
        ),
        (
            "open with a kernel address as filter",
            -14,
            r"mce_open: bad buffer 0xffff800000000000 length 3: EFAULT",
        ),
        (
            "open with a filter of 4096 bytes",
            -22,
            r"mce_open: text of 4096 bytes \(at most 128\): EINVAL",
        ),
        (
            "read of length 0",
            -22,
            r"mce_read: buffer of 0 bytes holds no record \(128 each\): EINVAL",
        ),
        (
            "read of length 100",
            -22,
            r"mce_read: buffer of 100 bytes holds no record",
        ),
        (
            "read of length 2^62",
            -14,
            r"mce_read: buffer 0x[0-9a-f]+ length 4611686018427387904 is not in user space: EFAULT",
        ),
        (
            "read into a kernel address",
            -14,
            r"mce_read: buffer 0xffff800000000000 length 128 is not in user space: EFAULT",
        ),
        (
            "read into an unmapped page",
            -14,
            r"mce_read: buffer 0x[0-9a-f]+00000 length 128 is not mapped writable: EFAULT \(records kept\)",
        ),
        (
            "read across the end of the page",
            -14,
            r"mce_read: buffer 0x[0-9a-f]+fa0 length 128 is not mapped writable: EFAULT \(records kept\)",
        ),
        (
            "read from reader 99",
            -9,
            r"mce_read: no reader 99 of this task: EBADF",
        ),
        (
            "poll of reader 99",
            -9,
            r"mce_poll: no reader 99 of this task: EBADF",
        ),
        (
            "task_wait for task 1",
            -10,
            r"task_wait: task 1 is not a child of this task: ECHILD",
        ),
    ] {
        let case_re = case.replace('^', r"\^");
        assert_eq!(
            vm.grep(&format!(r"badreader: {case_re}: {result}$")).len(),
            1,
            "{case}\n{out}"
        );
        assert_eq!(
            vm.grep(&format!(r"<4>.*task \d+ badreader: {reason}"))
                .len(),
            1,
            "{case}\n{out}"
        );
    }
    // The bad reads took nothing: the one record is still there, whole.
    assert_eq!(vm.grep(r"badreader: records waiting: 1$").len(), 1, "{out}");
    assert_eq!(
        vm.grep(r"badreader: read into a misaligned buffer: 1$")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"badreader: its first record: STATUS 0x9c00004000000092$")
            .len(),
        1,
        "{out}"
    );
    assert_eq!(vm.grep(r"badreader: records lost: 0$").len(), 1, "{out}");
    vm.send("stats\r");
    vm.expect_line(r"bank accounting cpu0: .*balanced", STEP);
    vm.quit();
}

#[test]
fn a_trigger_that_crashes_is_reported_and_the_daemon_goes_on() {
    let mut vm = boot_with_daemon("daemon-crash", "trigger.ce=trigger-crash");
    mce(
        &mut vm,
        0,
        7,
        CE_MEM_RD_CH2,
        "0",
        "0x20000000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mcelogd: record 1: CPU 0 BANK 7 corrected", STEP);
    mce(
        &mut vm,
        1,
        7,
        CE_MEM_RD_CH2,
        "0",
        "0x20001000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mcelogd: record 2: CPU 1 BANK 7 corrected", STEP);
    let ended = r"mcelogd: trigger trigger-crash: task \d+ for record \d killed: #PF page fault \(address 0x0\)";
    await_count(&vm, ended, 2);
    let out = vm.output();
    let lines = vm.grep(ended);
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("for record 1 ") && lines[1].contains("for record 2 "),
        "{lines:?}"
    );
    // The daemon is still reading, and the kernel's books balance.
    vm.expect_anywhere(
        r"mcelogd: counts: records 2, corrected 2, uncorrected 0, some 2, lost 0$",
        STEP,
    );
    vm.send("stats\r");
    vm.expect_line(r"bank accounting cpu1: .*balanced", STEP);
    vm.quit();
}

#[test]
fn the_console_stops_and_starts_the_daemon_with_a_filter() {
    // A bad filter on the boot line is refused with its reason; the daemon
    // then reads every record.
    let mut vm = boot_with_daemon("daemon-console", "mcelogd.filter=colour=red");
    let out = vm.output();
    assert_eq!(
        vm.grep(
            r"<4>.*config: mcelogd.filter=colour=red: unknown filter key 'colour' .*, ignored$"
        )
        .len(),
        1,
        "{out}"
    );
    assert_eq!(
        vm.grep(r"mcelog: task \d+ mcelogd opened reader 1 \(all\)$")
            .len(),
        1,
        "{out}"
    );
    vm.send("mcelogd\r");
    let l = vm.expect_line(r"^mcelogd: running as task \d+$", STEP);
    let id = task_id(&l);
    vm.send("mcelogd stop\r");
    vm.expect_line(&format!(r"^mcelogd: stopping task {id}$"), STEP);
    vm.expect_line(
        &format!(r"mcelog: reader \d+ of task {id} closed at its end"),
        STEP,
    );
    vm.send("mcelogd\r");
    vm.expect_line(r"^mcelogd: not running", STEP);
    vm.send("mcelogd start colour=red\r");
    vm.expect_line(
        r"^mcelogd: bad filter 'colour=red': unknown filter key 'colour' .*; not started$",
        STEP,
    );
    vm.send("mcelogd start kind=uc\r");
    vm.expect_line(
        r"^mcelogd: started as task \d+ with filter 'kind=uc'$",
        STEP,
    );
    // The new task runs on another CPU: its lines may come before the
    // shell's answer.
    vm.expect_anywhere(r"mcelogd opened reader 2 \(kind=uc\)$", STEP);
    vm.expect_anywhere(r"task \d+ mcelogd: reading records from reader 2$", STEP);
    vm.send("mcelogd start\r");
    vm.expect_line(r"^mcelogd: already running as task \d+$", STEP);
    // A corrected error, then a broadcast SRAO (and QEMU's EN-clear filler
    // on the other CPU): only the two uncorrected ones reach the daemon.
    mce(
        &mut vm,
        0,
        7,
        CE_MEM_RD_CH2,
        "0",
        "0x20000000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(r"mce: CPU 0 BANK 7 \(poll", STEP);
    mce_b(
        &mut vm,
        0,
        1,
        SRAO_SCRUB,
        RIPV_MCIP,
        "0x20002000",
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(
        r"mcelogd: counts: records 2, corrected 0, uncorrected 2, noerror 1, ao 1, lost 0$",
        STEP,
    );
    let out = vm.output();
    let records = vm.grep(r"task \d+ mcelogd: record \d+: ");
    assert_eq!(records.len(), 2, "{out}");
    assert!(
        records.iter().all(|r| r.contains(" BANK 1 uncorrected")),
        "{records:?}"
    );
    vm.quit();
}
