//! Ending a run under QEMU through the `isa-debug-exit` device (I/O port
//! 0xf4), so tests and `make run` learn how the kernel ended. QEMU exits
//! with status `(code << 1) | 1`; the boot tool maps that back (see its
//! `ExitKind`). On real hardware (no hypervisor) the kernel halts instead.

use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::instructions::port::Port;

/// The codes the kernel writes; keep in sync with `boot::qemu::ExitKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// A requested shutdown or a test scenario that passed.
    Success = 0x10,
    /// A kernel panic (including unexpected CPU exceptions).
    Panic = 0x11,
    /// A panic decided by the machine-check handler.
    MachineCheckPanic = 0x12,
}

static UNDER_QEMU: AtomicBool = AtomicBool::new(false);

pub fn set_under_qemu(v: bool) {
    UNDER_QEMU.store(v, Ordering::SeqCst);
}

pub fn under_qemu() -> bool {
    UNDER_QEMU.load(Ordering::Relaxed)
}

/// Ends the run: under QEMU through isa-debug-exit, otherwise by halting.
pub fn exit(code: ExitCode) -> ! {
    if under_qemu() {
        // SAFETY: port 0xf4 is QEMU's isa-debug-exit (QEMU was detected by
        // its CPUID signature); without the device the write is ignored.
        unsafe { Port::<u32>::new(0xf4).write(code as u32) };
    }
    halt_forever()
}

/// Stops this CPU for good (interrupts off; NMIs land in a handler that halts
/// again).
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
