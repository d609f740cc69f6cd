//! The console's task commands: `tasks`, `run`, `kill`, and `demo srar`.

use crate::kprint;
use crate::mca::{inject::glue::injector, inject::language};
use crate::task::{self, PAGE_CODE, PAGE_DATA, PAGE_GONE, PAGE_STACK};
use core::fmt::Write;

/// `tasks`: every task with its CPU, state and pages (virtual and physical,
/// so an error can be aimed at a task's page).
pub fn tasks() {
    let all = task::list();
    kprint!("{} task(s)\n", all.len());
    for t in &all {
        let mut line = alloc::format!("  task {} {}: ", t.id, t.name);
        match (t.state(), t.cpu()) {
            (task::RUNNING, Some(c)) => {
                let _ = write!(line, "running on cpu{c}");
            }
            (_, Some(c)) => {
                let _ = write!(line, "{} (last on cpu{c})", t.state_name());
            }
            (_, None) => line.push_str(t.state_name()),
        }
        match t.pin {
            Some(p) => {
                let _ = write!(line, ", pinned to cpu{p}");
            }
            None => line.push_str(", any CPU"),
        }
        if t.kill_requested() {
            line.push_str(", being killed");
        }
        kprint!("{line}\n");
        for (va, pa, kind) in t.pages() {
            let what = match kind & !PAGE_GONE {
                PAGE_CODE => "code",
                PAGE_STACK => "stack",
                PAGE_DATA => "data",
                _ => "?",
            };
            kprint!(
                "    task {} page: virtual {va:#x} physical {pa:#x} {what}{}\n",
                t.id,
                if kind & PAGE_GONE != 0 {
                    " (taken away: memory failure)"
                } else {
                    ""
                }
            );
        }
    }
}

/// `run <program> [cpu=<n>]`.
pub fn run(args: &[&str]) {
    let usage = || {
        kprint!("usage: run <program> [cpu=<n>]\nprograms:\n");
        for p in task::programs::all() {
            kprint!("  {:<8} {}\n", p.name, p.about);
        }
    };
    let (program, pin) = match args {
        [p] => (*p, None),
        [p, c] => match c.strip_prefix("cpu=").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) => (*p, Some(n)),
            None => return usage(),
        },
        _ => return usage(),
    };
    match task::spawn(program, pin) {
        Ok(t) => kprint!(
            "run: task {} {} started{}\n",
            t.id,
            t.name,
            match pin {
                Some(c) => alloc::format!(", pinned to cpu{c}"),
                None => alloc::string::String::from(" (any CPU)"),
            }
        ),
        Err(e) => kprint!("run: {e}\n"),
    }
}

/// `kill <id>`.
pub fn kill(args: &[&str]) {
    let Some(id) = args.first().and_then(|a| a.parse::<u32>().ok()) else {
        kprint!("usage: kill <task id>\n");
        return;
    };
    match task::kill(id) {
        Ok(t) => kprint!("kill: task {} {}: killing\n", t.id, t.name),
        Err(e) => kprint!("kill: {e}\n"),
    }
}

/// `demo srar`: a user task consumes "poison" and only it dies. Starts a
/// `toucher` on cpu1 and a `counter` on cpu2 (or any CPU), then injects an
/// SRAR data-load error at the toucher's page with the software injector's
/// `IN_PROC` mode: the #MC is raised when cpu1 next returns to user mode,
/// so the interrupted context is the toucher.
pub fn demo(args: &[&str]) {
    if args != ["srar"] {
        kprint!("usage: demo srar\n");
        return;
    }
    if !crate::smp::is_online(1) {
        kprint!("demo: needs at least 2 CPUs (the victim runs on cpu1)\n");
        return;
    }
    let victim = match task::spawn("toucher", Some(1)) {
        Ok(t) => t,
        Err(e) => return kprint!("demo: {e}\n"),
    };
    let other_pin = crate::smp::is_online(2).then_some(2);
    let other = match task::spawn("counter", other_pin) {
        Ok(t) => t,
        Err(e) => return kprint!("demo: {e}\n"),
    };
    kprint!(
        "demo: started task {} toucher on cpu1 and task {} counter on {}\n",
        victim.id,
        other.id,
        other_pin.map_or(alloc::string::String::from("any CPU"), |c| alloc::format!(
            "cpu{c}"
        ))
    );
    // Wait for the toucher's data page (it maps it first thing).
    let deadline = crate::arch::x86_64::tsc::now_us() + 3_000_000;
    let page = loop {
        if let Some((va, pa, _)) = victim.pages().into_iter().find(|&(_, _, k)| k == PAGE_DATA) {
            break Some((va, pa));
        }
        if crate::arch::x86_64::tsc::now_us() > deadline {
            break None;
        }
        crate::arch::x86_64::tsc::delay_us(10_000);
    };
    let Some((va, pa)) = page else {
        kprint!("demo: the toucher did not map its page within 3 s\n");
        return;
    };
    let text = alloc::format!(
        "CPU 1 BANK 1 STATUS 0xbd80000000100134 MCGSTATUS 0x7 ADDR {:#x} MISC 0x8c EXCP IN_PROC",
        pa + 0x40
    );
    kprint!(
        "demo: task {} toucher writes its page at virtual {va:#x}, physical {pa:#x}\n\
         demo: inject {text}\n",
        victim.id
    );
    let injections = match language::parse(&text) {
        Ok(v) => v,
        Err(e) => return kprint!("demo: {e}\n"),
    };
    injector::execute_input(
        &injections,
        |_| {},
        |result| match result {
            Ok(what) => kprint!("demo: injected: {what}\n"),
            Err(e) => kprint!("demo: injection failed: {e}\n"),
        },
    );
    kprint!(
        "demo: expect 'task {} toucher killed: machine check (SRAR) ...', the page poisoned (see 'pages'), \
         and task {} counter's heartbeats going on; 'kill {}' ends the counter\n",
        victim.id,
        other.id,
        other.id
    );
}

/// The boot demo's counter and when to stop it (0: none): the demo shows a
/// few heartbeats, then ends quietly so the prompt is not buried.
static DEMO_COUNTER: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
static DEMO_STOP_AT_US: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
const DEMO_HEARTBEATS_US: u64 = 5_000_000;

/// After the boot demo: stop its counter a few heartbeats later.
pub fn end_demo_later() {
    use core::sync::atomic::Ordering;
    if let Some(t) = task::list().into_iter().rev().find(|t| t.name == "counter") {
        DEMO_COUNTER.store(t.id, Ordering::SeqCst);
        DEMO_STOP_AT_US.store(
            crate::arch::x86_64::tsc::now_us() + DEMO_HEARTBEATS_US,
            Ordering::SeqCst,
        );
    }
}

/// Called from the idle loop: ends the demo's counter when its time is up.
pub fn demo_tick() {
    use core::sync::atomic::Ordering;
    let at = DEMO_STOP_AT_US.load(Ordering::Relaxed);
    if at == 0 || crate::arch::x86_64::tsc::now_us() < at {
        return;
    }
    DEMO_STOP_AT_US.store(0, Ordering::SeqCst);
    let id = DEMO_COUNTER.load(Ordering::SeqCst);
    if task::kill(id).is_ok() {
        crate::info!("demo: done; stopping task {id} counter (run 'demo srar' to see it again)");
    }
}
