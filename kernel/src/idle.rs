//! What the bootstrap processor does when there is nothing else: drain the
//! machine-check records, then sleep until the next interrupt. A producer in
//! exception context wakes it with an IPI, so records are handled at once,
//! not on the next tick.
//!
//! The idle loop is also each CPU's scheduler context: when a user task can
//! run, it runs it until the task gives the CPU back (at most a tick).

use x86_64::instructions::interrupts;

pub fn run() -> ! {
    crate::mca::log::glue::consumer::drain();
    // The record daemon first, so it reads the demo's records as they come
    // (earlier ones reach it from the readers' history). The console stops
    // and starts it with `mcelogd stop|start` (console/cmd_mcelogd.rs).
    if crate::boot::config().mcelogd {
        match crate::task::spawn("mcelogd", None) {
            Ok(t) => crate::info!("mcelogd: started as task {}", t.id),
            Err(e) => crate::warn!("mcelogd: not started: {e}"),
        }
    }
    if crate::boot::config().demo {
        crate::info!("demo: injecting one error of each kind (the console's 'selftest'):");
        crate::console::cmd_selftest::run_all();
        crate::info!("demo: a user task consumes poisoned memory (SRAR) while another runs:");
        crate::console::cmd_task::demo(&["srar"]);
        crate::console::cmd_task::end_demo_later();
    }
    crate::info!("console: type 'help' for commands, 'selftest' to inject one error of each kind");
    crate::console::shell::start();
    loop {
        crate::mca::log::glue::consumer::drain();
        crate::console::lines::flush();
        crate::console::shell::poll();
        crate::console::cmd_task::demo_tick();
        if crate::task::scheduler::run_next() {
            continue;
        }
        interrupts::disable();
        if crate::mca::log::glue::consumer::pending() {
            interrupts::enable();
            continue;
        }
        // `sti; hlt` as one step: an interrupt between the check and the
        // halt still wakes us.
        interrupts::enable_and_hlt();
    }
}

/// An application processor's idle loop: it runs user tasks; everything
/// else it does (polling its banks, taking #MC and NMIs) happens in
/// interrupt context.
pub fn ap_idle() -> ! {
    loop {
        crate::mca::glue::offline::park_if_requested();
        crate::smp::run_idle_call();
        if !crate::task::scheduler::run_next() {
            interrupts::enable_and_hlt();
        }
    }
}
