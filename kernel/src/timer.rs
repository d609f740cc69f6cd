//! The kernel's tick: the local APIC timer on every CPU, every
//! [`TICK_MS`] milliseconds. It drives the machine-check poller and, on the
//! bootstrap processor, the polls of GHES error sources.

pub const TICK_MS: u64 = 10;

/// Called from the timer interrupt on each CPU.
pub fn tick() {
    let cpu = crate::arch::x86_64::percpu::current().index as usize;
    crate::mca::corrected::glue::poll::on_tick(cpu);
    crate::firmware::glue::ghes::on_tick(cpu);
}
