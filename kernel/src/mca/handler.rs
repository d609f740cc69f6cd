//! The #MC exception handler (filled in by the machine-check core).

use x86_64::structures::idt::InterruptStackFrame;

pub fn machine_check(_frame: &mut InterruptStackFrame) {
    panic!("machine check");
}

pub fn nmi_broadcast_pending() -> bool {
    false
}
