//! User tasks as the tests drive them through the console: start one, read
//! its pages from `tasks`, aim an injection at a vCPU that is where the test
//! needs it, and boot with the record daemon running.

use super::{boot_ready, Vm, VmOptions, STEP};
use serde_json::json;
use std::time::Duration;

/// A `0x`-prefixed (or bare) hexadecimal number.
pub fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// `run <program> cpu=<n>`; returns the task id.
pub fn run_task(vm: &mut Vm, program: &str, cpu: u32) -> u32 {
    vm.send(&format!("run {program} cpu={cpu}\r"));
    let line = vm.expect_line(
        &format!(r"run: task \d+ {program} started, pinned to cpu{cpu}$"),
        STEP,
    );
    line.split_whitespace()
        .skip_while(|w| *w != "task")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// A page the `tasks` listing shows for a task.
#[derive(Clone, Debug)]
pub struct TaskPage {
    pub virt: u64,
    pub phys: u64,
    /// `code`, `stack` or `data`, followed by ` (taken away: memory
    /// failure)` once memory failure unmapped it.
    pub what: String,
}

/// The pages of task `id` in a fresh `tasks` listing.
pub fn task_pages(vm: &mut Vm, id: u32) -> Vec<TaskPage> {
    vm.send("tasks\r");
    vm.expect_line(r"^\d+ task\(s\)$", STEP);
    // The listing ends with the next prompt; give it a moment to arrive.
    vm.expect_anywhere(r"rasos> $", STEP);
    std::thread::sleep(Duration::from_millis(300));
    let re = regex::Regex::new(&format!(
        r"^\s+task {id} page: virtual (0x[0-9a-f]+) physical (0x[0-9a-f]+) (.+)$"
    ))
    .unwrap();
    let lines = vm.lines();
    // The last listing only.
    let start = lines
        .iter()
        .rposition(|l| l.ends_with("task(s)"))
        .unwrap_or(0);
    lines[start..]
        .iter()
        .filter_map(|l| re.captures(l))
        .map(|c| TaskPage {
            virt: hex(&c[1]),
            phys: hex(&c[2]),
            what: c[3].to_string(),
        })
        .collect()
}

/// The physical address of task `id`'s page that `tasks` lists as `what`
/// (`data`, `stack`); asks again while the task is still starting.
pub fn task_page(vm: &mut Vm, id: u32, what: &str) -> u64 {
    for _ in 0..20 {
        if let Some(p) = task_pages(vm, id).into_iter().find(|p| p.what == what) {
            return p.phys;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("task {id} has no {what} page\n{}", vm.output());
}

/// One vCPU's (CPL, RIP) from `info registers -a`.
pub fn vcpu_state(dump: &str, cpu: u32) -> Option<(u32, u64)> {
    let start = dump.find(&format!("CPU#{cpu}"))?;
    let rest = &dump[start + 4..];
    let section = match rest.find("CPU#") {
        Some(end) => &rest[..end],
        None => rest,
    };
    let cpl = section.split("CPL=").nth(1)?.chars().next()?.to_digit(10)?;
    let rip = section.split("RIP=").nth(1)?.split_whitespace().next()?;
    Some((cpl, u64::from_str_radix(rip, 16).ok()?))
}

/// Runs the HMP `command` while vCPU `cpu` satisfies `ok(cpl, rip)`, with
/// the VM stopped around the check and the injection, so the handler sees
/// exactly the context that was checked. Returns how many tries it took.
pub fn inject_while(vm: &mut Vm, cpu: u32, command: &str, ok: impl Fn(u32, u64) -> bool) -> u32 {
    for attempt in 1..=100 {
        vm.qmp_execute("stop", json!({}));
        let dump = vm.hmp("info registers -a");
        let state = vcpu_state(&dump, cpu);
        if state.is_some_and(|(cpl, rip)| ok(cpl, rip)) {
            let out = vm.hmp(command);
            vm.qmp_execute("cont", json!({}));
            assert!(out.trim().is_empty(), "QEMU refused the injection: {out}");
            return attempt;
        }
        vm.qmp_execute("cont", json!({}));
        assert!(state.is_some(), "no CPU#{cpu} in:\n{dump}");
        std::thread::sleep(Duration::from_millis(37 + 13 * attempt as u64 % 50));
    }
    panic!(
        "vCPU {cpu} never was where the test needed it\n{}",
        vm.output()
    );
}

/// A 2-vCPU VM booted with `mcelogd=on` and `more` keys, once the daemon
/// has started and opened its reader.
pub fn boot_with_daemon(name: &str, more: &str) -> Vm {
    let mut vm = boot_ready(
        name,
        VmOptions::default()
            .cpus(2)
            .cmdline(&format!("mcelogd=on {more}")),
    );
    // The boot CPU says it started the task; the task may speak first.
    vm.expect_anywhere(r"mcelogd: started as task \d+$", STEP);
    vm.expect_line(r"task \d+ mcelogd: reading records from reader \d+$", STEP);
    vm
}

/// Waits (at most a STEP) until `pattern` has matched `n` lines.
pub fn await_count(vm: &Vm, pattern: &str, n: usize) {
    let until = std::time::Instant::now() + STEP;
    while vm.grep(pattern).len() < n && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
}
