//! Per-CPU data reached through the GS base.
//!
//! Each CPU's GS base points at its own [`PerCpu`], whose first field points
//! at itself so `gs:[0]` yields the structure. The kernel never uses
//! `swapgs`: user tasks run with the kernel's GS base too. Their programs
//! are ours and never load a segment register (which would replace the
//! base), CR4.FSGSBASE is off (no `wrgsbase`), and the GS selector is null
//! so returning to ring 3 leaves it alone. So GS is trustworthy in every
//! context, #MC and NMI from user mode included.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::structures::tss::TaskStateSegment;

const IA32_GS_BASE: u32 = 0xC000_0101;

#[repr(C)]
pub struct PerCpu {
    self_ptr: *const PerCpu,
    /// Our logical CPU number, 0 for the bootstrap processor.
    pub index: u32,
    /// This CPU's local APIC id.
    pub apic_id: u32,
    /// This CPU's TSS (from `gdt::init_cpu`), for `gdt::set_kernel_stack`.
    pub tss: *mut TaskStateSegment,
}

/// Set once the bootstrap processor has its per-CPU area.
static READY: AtomicBool = AtomicBool::new(false);

/// Gives the calling CPU its per-CPU area; `tss` is what `gdt::init_cpu`
/// returned on this CPU.
pub fn init(index: u32, apic_id: u32, tss: *mut TaskStateSegment) {
    let area = Box::leak(Box::new(PerCpu {
        self_ptr: core::ptr::null(),
        index,
        apic_id,
        tss,
    }));
    area.self_ptr = area as *const PerCpu;
    // A null GS selector first (loading it may clear the base on Intel):
    // `iretq` to ring 3 nulls a selector that names a ring-0 segment, and
    // a null one it leaves as is, base included.
    // SAFETY: a null selector is always valid for GS in 64-bit mode; the
    // kernel reaches memory through GS base only, set right after.
    unsafe { core::arch::asm!("mov gs, {0:x}", in(reg) 0u16, options(nostack, preserves_flags)) };
    super::msr::wrmsr(IA32_GS_BASE, area as *const PerCpu as u64);
    READY.store(true, Ordering::SeqCst);
}

/// The calling CPU's per-CPU area.
pub fn current() -> &'static PerCpu {
    let p: *const PerCpu;
    // SAFETY: GS base was set by `init` on this CPU before any caller runs
    // (callers before that use `cpu_index_or_zero`); gs:[0] holds the area's
    // own address and the area is leaked, so it lives forever.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, readonly, preserves_flags));
        &*p
    }
}

/// The calling CPU's number, or 0 before per-CPU areas exist (early boot runs
/// only on the bootstrap processor).
pub fn cpu_index_or_zero() -> u32 {
    if READY.load(Ordering::Relaxed) {
        current().index
    } else {
        0
    }
}
