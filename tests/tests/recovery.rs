//! Recovery from uncorrected memory errors with user tasks running: an
//! action-required error (SRAR) consumed by a user task kills only that
//! task; one consumed inside a recoverable kernel copy fails the system
//! call; an action-optional one (SRAO) takes the page from the tasks that
//! map it, and a task that touches it afterwards dies (late kill). The
//! machine keeps running in every case.
//!
//! Aiming the #MC at user mode: QEMU raises an injected #MC at the vCPU's
//! next instruction boundary, wherever it is. `inject_while` stops the VM,
//! reads the target vCPU's registers (`info registers -a`), and injects
//! only when it is where the test needs it (CPL 3, or RIP inside the copy
//! routine); otherwise it resumes and tries again a little later. With the
//! VM stopped the vCPU does not move, and on `cont` QEMU delivers the
//! pending #MC before the next instruction (it outranks every maskable
//! interrupt), so the handler sees exactly the context that was checked.

use tests::mce::*;
use tests::tasks::*;
use tests::*;

fn boot(name: &str) -> Vm {
    let vm = boot_ready(name, VmOptions::default());
    assert!(
        vm.output().contains("smp: 4 of 4 CPUs online"),
        "{}",
        vm.output()
    );
    vm
}

fn no_panic(vm: &Vm) {
    let out = vm.output();
    assert!(!out.contains("Kernel panic"), "{out}");
    assert!(!out.contains("KERNEL PANIC"), "{out}");
}

/// A heartbeat of task `id` printed after the current position.
fn heartbeat_after(vm: &mut Vm, id: u32) {
    vm.expect_line(&format!(r"task {id} \w+: heartbeat \d+$"), STEP);
}

#[test]
fn srar_in_a_user_task_kills_only_that_task() {
    let mut vm = boot("rec-srar-user");
    let victim = run_task(&mut vm, "toucher", 1);
    let other = run_task(&mut vm, "toucher", 2);
    let counter = run_task(&mut vm, "counter", 3);
    vm.expect_anywhere(&format!(r"task {victim} toucher: heartbeat 1$"), STEP);
    let page = task_page(&mut vm, victim, "data");
    // MISC says the address is valid down to bit 12: the page is reported.
    let addr = page + 0x128;
    let tries = inject_while(
        &mut vm,
        1,
        &format!("mce -b 1 1 {SRAR_DATA_LOAD} {RIPV_EIPV_MCIP} {addr:#x} {MISC_PHYS_LSB12}"),
        |cpl, _| cpl == 3,
    );
    eprintln!("SRAR injected in user mode after {tries} tries");
    vm.expect_line(r"mce: CPU 1 BANK 1 \(exception, severity SRAR\)$", STEP);
    let killed = vm.expect_anywhere(
        &format!(
            r"task {victim} toucher killed: machine check \(SRAR\) at physical {page:#x}, virtual 0x[0-9a-f]+000$"
        ),
        STEP,
    );
    assert!(killed.starts_with("<4>["), "not at warning level: {killed}");
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: recovery action for SRAR error",
            page >> 12
        ),
        STEP,
    );
    // The others go on.
    heartbeat_after(&mut vm, other);
    heartbeat_after(&mut vm, counter);
    heartbeat_after(&mut vm, other);
    assert!(vm
        .grep(&format!(r"task ({other}|{counter}) \w+ killed"))
        .is_empty());
    // The page is out of use for good; a new task never gets it.
    vm.send("pages\r");
    vm.expect_line(
        &format!(r"^\s+{:#x} \({page:#x}\): Poisoned$", page >> 12),
        STEP,
    );
    let fresh = run_task(&mut vm, "toucher", 1);
    vm.expect_anywhere(&format!(r"task {fresh} toucher: heartbeat 1$"), STEP);
    let pages = task_pages(&mut vm, fresh);
    assert!(pages.len() >= 3, "{pages:?}");
    assert!(pages.iter().all(|p| p.phys != page), "{pages:?}");
    assert!(task_pages(&mut vm, victim).is_empty());
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn srar_in_a_system_call_copy_fails_the_call() {
    let mut vm = boot("rec-srar-copy");
    let line = vm.grep(r"tasks: user space at PML4 slot").join("");
    let range = line
        .split("copy routines ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("copy routine range in the boot log");
    let (start, end) = range.split_once('-').unwrap();
    let (start, end) = (hex(start), hex(end));
    let counter = run_task(&mut vm, "counter", 3);
    let copier = run_task(&mut vm, "copier", 2);
    vm.expect_anywhere(
        &format!(r"task {copier} copier: copying from my page \(20 s\)$"),
        STEP,
    );
    let page = task_page(&mut vm, copier, "data");
    let addr = page + 0x800;
    // cpu2 spends the next 20 s in the copy loop; inject when its RIP is
    // inside the recoverable routine.
    inject_while(
        &mut vm,
        2,
        &format!("mce -b 2 1 {SRAR_DATA_LOAD} {RIPV_EIPV_MCIP} {addr:#x} {MISC_PHYS_LSB12}"),
        |cpl, rip| cpl == 0 && (start..end).contains(&rip),
    );
    vm.expect_line(r"mce: CPU 2 BANK 1 \(exception, severity SRAR\)$", STEP);
    vm.expect_anywhere(r"mce: RIP 08:[0-9a-f]+ \(kernel, ", STEP);
    vm.expect_anywhere(
        &format!(
            r"task {copier} copier: copyspin: copy_from_user consumed poison \(machine check recovered, physical {page:#x}\); the system call fails with EFAULT$"
        ),
        STEP,
    );
    // memory_failure then takes the page away from the copier, which is
    // not killed (its copy already failed; it dies only if it touches the
    // page, and it never does: it goes on with heartbeats).
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: unmapped from task {copier} copier \(virtual 0x[0-9a-f]+\); late kill: the task is killed if it touches the page$",
            page >> 12
        ),
        STEP,
    );
    heartbeat_after(&mut vm, copier);
    heartbeat_after(&mut vm, counter);
    heartbeat_after(&mut vm, copier);
    assert!(vm.grep(&format!(r"task {copier} copier killed")).is_empty());
    vm.send("pages\r");
    vm.expect_line(
        &format!(r"^\s+{:#x} \({page:#x}\): Poisoned$", page >> 12),
        STEP,
    );
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn srao_on_a_task_page_unmaps_it_and_the_task_dies_on_its_next_touch() {
    let mut vm = boot("rec-srao");
    let victim = run_task(&mut vm, "toucher", 1);
    let other = run_task(&mut vm, "toucher", 2);
    let page = task_page(&mut vm, victim, "data");
    // Action optional (a scrub found it): the context does not matter.
    mce_b(
        &mut vm,
        0,
        9,
        SRAO_SCRUB,
        RIPV_MCIP,
        &format!("{page:#x}"),
        MISC_PHYS_LSB12,
    );
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: recovery action for SRAO error: page in use poisoned",
            page >> 12
        ),
        STEP,
    );
    vm.expect_anywhere(
        &format!(
            r"Memory failure: {:#x}: unmapped from task {victim} toucher \(virtual 0x[0-9a-f]+\); late kill: the task is killed if it touches the page$",
            page >> 12
        ),
        STEP,
    );
    // The toucher never stops touching its page: the next touch faults and
    // kills it (late kill; tests/tests/late_kill.rs has a task that waits).
    vm.expect_anywhere(
        &format!(
            r"MCE: Killing toucher:{victim} due to hardware memory corruption fault at 0x[0-9a-f]+$"
        ),
        STEP,
    );
    vm.expect_anywhere(
        &format!(
            r"task {victim} toucher killed: machine check \(SRAO\) at physical {:#x}[0-9a-f]{{3}}, virtual 0x[0-9a-f]+: touched the page memory failure took \(late kill\)$",
            page >> 12
        ),
        STEP,
    );
    heartbeat_after(&mut vm, other);
    heartbeat_after(&mut vm, other);
    assert!(vm.grep(&format!(r"task {other} toucher killed")).is_empty());
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn tasks_run_everywhere_and_faults_kills_and_exits_end_only_the_task() {
    let mut vm = boot("rec-tasks");
    let ids: Vec<u32> = (0..4).map(|c| run_task(&mut vm, "toucher", c)).collect();
    for &id in &ids {
        vm.expect_anywhere(&format!(r"task {id} toucher: heartbeat 2$"), STEP);
    }
    vm.send("tasks\r");
    for (c, &id) in ids.iter().enumerate() {
        vm.expect_anywhere(
            // cpu0 runs the shell, so its task is not running right now.
            &format!(
                r"^\s+task {id} toucher: (running on cpu{c}|ready \(last on cpu{c}\)), pinned to cpu{c}$"
            ),
            STEP,
        );
    }
    // A user-mode page fault ends the task, not the kernel.
    let faulter = run_task(&mut vm, "faulter", 2);
    vm.expect_anywhere(
        &format!(
            r"task {faulter} faulter killed: #PF page fault \(address 0x0\) at rip 0x[0-9a-f]+$"
        ),
        STEP,
    );
    // The kill command.
    vm.send(&format!("kill {}\r", ids[3]));
    vm.expect_anywhere(
        &format!(r"task {} toucher killed: kill command$", ids[3]),
        STEP,
    );
    // Several tasks share a CPU.
    let more = run_task(&mut vm, "counter", 1);
    vm.expect_anywhere(&format!(r"task {more} counter: heartbeat 2$"), STEP);
    heartbeat_after(&mut vm, ids[1]);
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn demo_srar_kills_the_toucher_and_the_counter_goes_on() {
    let mut vm = boot("rec-demo");
    vm.send("demo srar\r");
    let line = vm.expect_line(
        r"demo: started task \d+ toucher on cpu1 and task \d+ counter on cpu2$",
        STEP,
    );
    let words: Vec<&str> = line.split_whitespace().collect();
    let pos = words.iter().position(|w| *w == "task").unwrap();
    let victim: u32 = words[pos + 1].parse().unwrap();
    let counter: u32 = words[pos + 7].parse().unwrap();
    vm.expect_line(
        r"demo: injected: .*#MC raised when cpu1 next returns to user mode \(IN_PROC\)",
        STEP,
    );
    vm.expect_anywhere(
        &format!(r"task {victim} toucher killed: machine check \(SRAR\) at physical 0x[0-9a-f]+, virtual 0x[0-9a-f]+$"),
        STEP,
    );
    vm.expect_anywhere(r"mce: CPU 1 BANK 1 \(exception, severity SRAR\)$", STEP);
    heartbeat_after(&mut vm, counter);
    heartbeat_after(&mut vm, counter);
    no_panic(&vm);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}
