//! What the kernel does with a CPU exception (the policy behind
//! `arch::x86_64::idt`'s fault stubs): from user mode the task is killed and
//! the kernel goes on; a page fault inside a user-copy routine makes the
//! copy fail; anything else is a kernel bug, printed with its frame, then a
//! panic (which under QEMU ends the run with the failure code).
//!
//! Also the owner of the local APIC error vector.

use crate::arch::x86_64::idt::{self, vector, Eoi, Fault};
use x86_64::structures::idt::{InterruptStackFrame, PageFaultErrorCode};

/// Registers the fault policy and the APIC error handler. Before the first
/// IDT load.
pub fn register() {
    idt::set_fault_handler(on_fault);
    idt::set_handler(vector::APIC_ERROR, apic_error, Eoi::After);
}

fn on_fault(f: &Fault, frame: &mut InterruptStackFrame) {
    if Fault::from_user(frame) {
        // Does not return when a task is current.
        crate::task::user_fault(f.name, f.address.or(f.error_code).unwrap_or(0), frame);
    } else if f.vector == 14 && crate::task::usercopy::page_fault_fixup(frame) {
        // A user page went away under copy_from_user: the copy fails.
        return;
    }
    if let Some(addr) = f.address {
        let code = PageFaultErrorCode::from_bits_truncate(f.error_code.unwrap_or(0));
        crate::error!("page fault at address {addr:#018x} ({code:?})");
    }
    // No allocation here: the fault may have hit inside the heap's lock.
    crate::error!(
        "EXCEPTION: {} on cpu{} error code {:#x}\n  rip {:#018x} cs {:#06x} rflags {:#010x}\n  rsp {:#018x} ss {:#06x}",
        f.name,
        crate::arch::x86_64::percpu::cpu_index_or_zero(),
        f.error_code.unwrap_or(0),
        frame.instruction_pointer.as_u64(),
        frame.code_segment.0,
        frame.cpu_flags.bits(),
        frame.stack_pointer.as_u64(),
        frame.stack_segment.0
    );
    panic!("unhandled CPU exception: {}", f.name);
}

fn apic_error(_frame: &mut InterruptStackFrame) {
    let esr = crate::arch::x86_64::apic::read_error();
    crate::warn!("local APIC error, ESR {esr:#x}");
}
