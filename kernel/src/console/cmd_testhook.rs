//! Test hooks that break the kernel on purpose, to prove the machine-check
//! panic path does not depend on what they break: `testhook hold heap <cpu>`
//! and `testhook hold console <cpu>` make that CPU take the heap's lock or
//! the console and keep it for good (as a CPU stopped inside the allocator
//! or in the middle of a line would). After `hold heap` the shell itself
//! stops at its next allocation; only a machine check (or Ctrl-C) ends the
//! run. `testhook print <cpu> <n>` makes that CPU print `n` numbered log
//! lines, so a test can end the run while a CPU is in the middle of one.

use crate::kprint;
use core::sync::atomic::{AtomicBool, Ordering};

static HELD: AtomicBool = AtomicBool::new(false);

pub fn run(args: &[&str]) {
    if let ["print", cpu, n] = args {
        return print_lines(cpu, n);
    }
    let (what, cpu) = match args {
        ["hold", w @ ("heap" | "console"), n] => match n.parse::<u32>() {
            Ok(c) => (*w, c),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    if cpu == crate::arch::x86_64::percpu::current().index {
        kprint!("testhook: cpu{cpu} runs the shell; name another CPU\n");
        return;
    }
    let f: fn(u64) = if what == "heap" {
        hold_heap
    } else {
        hold_console
    };
    HELD.store(false, Ordering::SeqCst);
    if let Err(e) = crate::smp::call_in_idle(cpu, f, 0) {
        kprint!("testhook: cpu{cpu}: {e}\n");
        return;
    }
    let deadline = crate::arch::x86_64::tsc::now_us() + 2_000_000;
    while !HELD.load(Ordering::SeqCst) && crate::arch::x86_64::tsc::now_us() < deadline {
        core::hint::spin_loop();
    }
    if HELD.load(Ordering::SeqCst) {
        kprint!("testhook: cpu{cpu} holds the {what} lock for good\n");
    } else {
        kprint!("testhook: cpu{cpu} did not take the {what} lock within 2 s\n");
    }
}

fn usage() {
    kprint!("usage: testhook hold heap|console <cpu> | testhook print <cpu> <lines>\n");
}

fn print_lines(cpu: &str, n: &str) {
    let (Ok(cpu), Ok(n)) = (cpu.parse::<u32>(), n.parse::<u64>()) else {
        return usage();
    };
    match crate::smp::call_in_idle(cpu, print_numbered, n) {
        Ok(_) => kprint!("testhook: cpu{cpu} prints {n} lines\n"),
        Err(e) => kprint!("testhook: cpu{cpu}: {e}\n"),
    }
}

/// Lines long enough that the printer spends its time inside one.
fn print_numbered(n: u64) {
    for i in 1..=n {
        crate::info!(
            "testhook: line {i} of {n}: abcdefghijklmnopqrstuvwxyz 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        );
    }
}

fn hold_heap(_: u64) {
    crate::mm::glue::heap::hold_lock_forever(&HELD)
}

fn hold_console(_: u64) {
    crate::console::lines::hold_forever(&HELD)
}
