//! Application processors: discovery and start-up.
//!
//! (The start-up itself arrives with the SMP work; until then only the
//! bootstrap processor runs.)

use crate::arch::x86_64::percpu::MAX_CPUS;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Bit per logical CPU that has reported in.
static ONLINE: AtomicU64 = AtomicU64::new(0);
/// Each logical CPU's APIC id (u32::MAX when unknown).
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];

/// Records that `cpu` (with `apic_id`) is up.
pub fn mark_online(cpu: u32, apic_id: u32) {
    APIC_IDS[cpu as usize].store(apic_id, Ordering::SeqCst);
    ONLINE.fetch_or(1 << cpu, Ordering::SeqCst);
}

pub fn online_mask() -> u64 {
    ONLINE.load(Ordering::SeqCst)
}

pub fn online_count() -> u32 {
    online_mask().count_ones()
}

/// True when any application processor runs (so IPIs have receivers).
pub fn others_started() -> bool {
    online_count() > 1
}

pub fn apic_id_of(cpu: u32) -> Option<u32> {
    let v = APIC_IDS.get(cpu as usize)?.load(Ordering::SeqCst);
    (v != u32::MAX).then_some(v)
}
