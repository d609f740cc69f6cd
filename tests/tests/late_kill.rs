//! memory_failure's kill policy for action-optional errors (Linux's
//! `vm.memory_failure_early_kill`): by default the poisoned page is unmapped
//! from the task that maps it and the task lives on until it touches the
//! page again (late kill); with `mce.early_kill=on` it is killed at once.
//!
//! The `napper` program maps a page, then only sleeps with heartbeats; it
//! reads its page again once the first word of its stack page is non-zero,
//! which the test writes through the VM's shared RAM. So the test decides
//! when the touch happens.

use tests::mce::*;
use tests::tasks::*;
use tests::*;

fn boot(name: &str, cmdline: &str) -> Vm {
    let mut vm = boot_ready(name, VmOptions::default().cmdline(cmdline).shared_ram());
    vm.expect_anywhere(r"rasos> ", STEP);
    vm
}

fn srao_at(vm: &mut Vm, pa: u64) {
    // A patrol scrub found it: action optional, broadcast as Intel does.
    mce_b(
        vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        &format!("{pa:#x}"),
        MISC_PHYS_LSB12,
    );
}

fn no_panic(vm: &Vm) {
    let out = vm.output();
    assert!(!out.contains("Kernel panic"), "{out}");
    assert!(!out.contains("KERNEL PANIC"), "{out}");
}

#[test]
fn by_default_the_task_lives_until_it_touches_the_poisoned_page() {
    let mut vm = boot("late-kill", "");
    let napper = run_task(&mut vm, "napper", 1);
    vm.expect_anywhere(&format!(r"task {napper} napper: heartbeat 1$"), STEP);
    let data = task_page(&mut vm, napper, "data");
    let stack = task_page(&mut vm, napper, "stack");
    srao_at(&mut vm, data);
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: recovery action for SRAO error: page in use poisoned",
            data >> 12
        ),
        STEP,
    );
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: unmapped from task {napper} napper \(virtual 0x[0-9a-f]+\); late kill: the task is killed if it touches the page$",
            data >> 12
        ),
        STEP,
    );
    // Still alive, without the page.
    vm.expect_line(&format!(r"task {napper} napper: heartbeat \d+$"), STEP);
    vm.expect_line(&format!(r"task {napper} napper: heartbeat \d+$"), STEP);
    let pages = task_pages(&mut vm, napper);
    assert!(
        pages
            .iter()
            .any(|p| p.phys == data && p.what == "data (taken away: memory failure)"),
        "{pages:?}"
    );
    assert!(vm.grep(&format!("task {napper} napper killed")).is_empty());
    // Now it touches the page: the page fault kills it, naming the error.
    vm.ram_write(stack, &1u64.to_le_bytes());
    vm.expect_anywhere(
        &format!(
            r"MCE: Killing napper:{napper} due to hardware memory corruption fault at 0x[0-9a-f]+$"
        ),
        STEP,
    );
    vm.expect_anywhere(
        &format!(
            r"task {napper} napper killed: machine check \(SRAO\) at physical {data:#x}, virtual 0x[0-9a-f]+000: touched the page memory failure took \(late kill\)$"
        ),
        STEP,
    );
    assert!(vm.grep("read my page again").is_empty(), "{}", vm.output());
    vm.send("pages\r");
    vm.expect_line(
        &format!(r"^\s+{:#x} \({data:#x}\): Poisoned$", data >> 12),
        STEP,
    );
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn early_kill_kills_the_mapper_at_once_and_a_task_that_does_not_map_the_page_lives() {
    let mut vm = boot("early-kill", "mce.early_kill=on");
    vm.expect_anywhere(r"config: .* mce\.early_kill=on", STEP);
    let napper = run_task(&mut vm, "napper", 1);
    let other = run_task(&mut vm, "napper", 2);
    vm.expect_anywhere(&format!(r"task {napper} napper: heartbeat 1$"), STEP);
    vm.expect_anywhere(&format!(r"task {other} napper: heartbeat 1$"), STEP);
    let data = task_page(&mut vm, napper, "data");
    srao_at(&mut vm, data);
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: unmapped from task {napper} napper \(virtual 0x[0-9a-f]+\); the task is killed$",
            data >> 12
        ),
        STEP,
    );
    // Killed without touching the page.
    vm.expect_anywhere(
        &format!(
            r"task {napper} napper killed: machine check \(SRAO\) at physical {data:#x}, virtual 0x[0-9a-f]+000$"
        ),
        STEP,
    );
    assert!(vm.grep("MCE: Killing").is_empty(), "{}", vm.output());
    vm.expect_line(&format!(r"task {other} napper: heartbeat \d+$"), STEP);
    vm.expect_line(&format!(r"task {other} napper: heartbeat \d+$"), STEP);
    assert!(vm.grep(&format!("task {other} napper killed")).is_empty());
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}
