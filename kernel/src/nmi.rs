//! The NMI handler. NMIs are how one CPU reaches the others when they may
//! have interrupts off: to stop them on panic, and to make them enter the
//! machine-check handler for a software broadcast. Firmware also raises
//! them for NMI-notified GHES error sources, checked here lock-free.

use crate::cpuset::{AtomicCpuSet, CpuSet};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::structures::idt::InterruptStackFrame;

static STOP: AtomicBool = AtomicBool::new(false);
/// NMIs that nobody claimed (Linux: "NMI received for unknown reason").
static UNKNOWN: AtomicU64 = AtomicU64::new(0);

/// From now on every CPU that takes an NMI halts in it.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// CPUs that have stopped in their NMI handler.
static STOPPED: AtomicCpuSet = AtomicCpuSet::new();

pub fn stopped() -> CpuSet {
    STOPPED.load()
}

/// Makes this the NMI handler (before the first IDT load).
pub fn register() {
    crate::arch::x86_64::idt::set_nmi(handle);
}

pub fn handle(frame: &mut InterruptStackFrame) {
    crate::console::lines::interrupted_at(frame.instruction_pointer.as_u64());
    if STOP.load(Ordering::SeqCst) {
        // A line this CPU was printing is finished first, so no line is cut.
        crate::console::lines::finish_before_stop();
        STOPPED.insert(crate::arch::x86_64::percpu::current().index);
        crate::qemu::halt_forever();
    }
    if crate::mca::exception::glue::handler::nmi_broadcast_pending() {
        crate::mca::inject::glue::injector::enter_broadcast(frame);
        return;
    }
    if crate::firmware::glue::ghes::nmi() {
        return;
    }
    UNKNOWN.fetch_add(1, Ordering::Relaxed);
}

pub fn unknown_count() -> u64 {
    UNKNOWN.load(Ordering::Relaxed)
}
