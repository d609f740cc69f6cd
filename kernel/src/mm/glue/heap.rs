//! The kernel heap: a linked-list allocator over one block of RAM taken from
//! the boot memory map and reached through the physical-memory mapping.
//!
//! Interrupt and exception handlers never allocate (the #MC path writes into
//! preallocated rings), so the heap lock cannot be re-entered.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Hands `[start, start + size)` (virtual, writable, unused) to the heap.
pub fn init(start: u64, size: u64) {
    // SAFETY: the caller gives RAM that the memory map called usable, that is
    // mapped writable, and that nothing else uses; this runs once.
    unsafe { HEAP.lock().init(start as *mut u8, size as usize) }
}

/// Bytes allocated now (for the per-CPU memory report).
pub fn used() -> usize {
    HEAP.lock().used()
}

/// Test hook (`testhook hold heap`): takes the heap's lock on the calling
/// CPU and never gives it back, as a CPU stopped inside the allocator
/// would. Interrupts stay off; NMIs and machine checks still come.
pub fn hold_lock_forever(held: &core::sync::atomic::AtomicBool) -> ! {
    x86_64::instructions::interrupts::disable();
    let _guard = HEAP.lock();
    held.store(true, core::sync::atomic::Ordering::SeqCst);
    loop {
        core::hint::spin_loop();
    }
}
