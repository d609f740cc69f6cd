//! The time-stamp counter as the kernel's clock: calibrated once against the
//! PIT, then read with `rdtsc` from any context (#MC and NMI included) without
//! locks.

use core::sync::atomic::{AtomicU64, Ordering};

static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);

pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is always available in long mode (CR4.TSD is clear) and
    // only reads a counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Marks the kernel's time zero (call first thing at entry).
pub fn mark_boot() {
    TSC_AT_BOOT.store(rdtsc(), Ordering::SeqCst);
}

/// Measures the TSC rate. Falls back to an assumed 2 GHz when the machine has
/// no working PIT.
pub fn calibrate() -> u64 {
    let khz = match super::pit::measure(20, rdtsc) {
        Some((a, b)) if b > a => (b - a) / 20,
        _ => 2_000_000,
    };
    TSC_KHZ.store(khz.max(1), Ordering::SeqCst);
    khz
}

pub fn khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Microseconds since kernel entry (0 until the TSC is calibrated).
pub fn now_us() -> u64 {
    let khz = TSC_KHZ.load(Ordering::Relaxed);
    if khz == 0 {
        return 0;
    }
    let delta = rdtsc().wrapping_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    ((delta as u128 * 1000) / khz as u128) as u64
}

/// Converts a TSC delta to microseconds.
pub fn tsc_to_us(delta: u64) -> u64 {
    let khz = TSC_KHZ.load(Ordering::Relaxed).max(1);
    ((delta as u128 * 1000) / khz as u128) as u64
}

/// Busy-waits about `us` microseconds.
pub fn delay_us(us: u64) {
    let end = now_us() + us;
    while now_us() < end {
        core::hint::spin_loop();
    }
}
