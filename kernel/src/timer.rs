//! The kernel's tick: the local APIC timer on every CPU, every
//! [`TICK_MS`] milliseconds. It drives the machine-check poller.

use core::sync::atomic::{AtomicU64, Ordering};

pub const TICK_MS: u64 = 10;

static TICKS: [AtomicU64; crate::arch::x86_64::percpu::MAX_CPUS] =
    [const { AtomicU64::new(0) }; crate::arch::x86_64::percpu::MAX_CPUS];

/// Called from the timer interrupt on each CPU.
pub fn tick() {
    let cpu = crate::arch::x86_64::percpu::current().index as usize;
    if let Some(t) = TICKS.get(cpu) {
        t.fetch_add(1, Ordering::Relaxed);
    }
    crate::mca::poll::on_tick(cpu);
}

pub fn ticks(cpu: usize) -> u64 {
    TICKS.get(cpu).map_or(0, |t| t.load(Ordering::Relaxed))
}
