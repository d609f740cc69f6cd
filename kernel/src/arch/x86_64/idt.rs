//! The interrupt descriptor table, shared by all CPUs.
//!
//! Every CPU exception has a handler: the ones the kernel expects (#MC, NMI)
//! go to their subsystems on their own IST stacks; every other exception is a
//! kernel bug, so its handler prints the frame and panics (which, under QEMU,
//! ends the run with the failure code) -- unless it came from user mode: then
//! the task is killed and the kernel goes on.
//!
//! The timer and the system-call gate (`int 0x80`, callable from ring 3) go
//! to the task scheduler's assembly entry, which saves every register so it
//! can switch tasks.

use super::gdt;
use spin::Once;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};
use x86_64::{PrivilegeLevel, VirtAddr};

/// Interrupt vectors the kernel uses. The legacy PIC is remapped to 0x20-0x2F
/// and masked; local APIC sources use 0x30 and up.
pub mod vector {
    pub const PIC_BASE: u8 = 0x20;
    /// The local APIC timer: the kernel's tick.
    pub const TIMER: u8 = 0x30;
    /// "Records are waiting": wakes the consumer CPU from `hlt` at once.
    pub const WAKE: u8 = 0x31;
    /// Software machine-check broadcast over a fixed-vector IPI.
    pub const MCE_IPI: u8 = 0x32;
    /// Corrected machine-check interrupt (LVT CMCI).
    pub const CMCI: u8 = 0x33;
    /// "Run the function in your mailbox" (cross-CPU calls).
    pub const CALL: u8 = 0x34;
    /// System calls from user tasks (`int 0x80`).
    pub const SYSCALL: u8 = 0x80;
    /// Local APIC error interrupt.
    pub const APIC_ERROR: u8 = 0xFE;
    /// Local APIC spurious interrupt.
    pub const SPURIOUS: u8 = 0xFF;
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

fn build() -> InterruptDescriptorTable {
    let mut idt = InterruptDescriptorTable::new();
    idt.divide_error.set_handler_fn(divide_error);
    idt.debug.set_handler_fn(debug);
    idt.breakpoint.set_handler_fn(breakpoint);
    idt.overflow.set_handler_fn(overflow);
    idt.bound_range_exceeded.set_handler_fn(bound_range);
    idt.invalid_opcode.set_handler_fn(invalid_opcode);
    idt.device_not_available
        .set_handler_fn(device_not_available);
    idt.invalid_tss.set_handler_fn(invalid_tss);
    idt.segment_not_present.set_handler_fn(segment_not_present);
    idt.stack_segment_fault.set_handler_fn(stack_segment);
    idt.general_protection_fault
        .set_handler_fn(general_protection);
    idt.page_fault.set_handler_fn(page_fault);
    idt.x87_floating_point.set_handler_fn(x87_fp);
    idt.alignment_check.set_handler_fn(alignment_check);
    idt.simd_floating_point.set_handler_fn(simd_fp);
    idt.virtualization.set_handler_fn(virtualization);
    idt.cp_protection_exception
        .set_handler_fn(control_protection);
    idt.hv_injection_exception.set_handler_fn(hv_injection);
    idt.vmm_communication_exception
        .set_handler_fn(vmm_communication);
    idt.security_exception.set_handler_fn(security);
    // SAFETY: the IST indices name stacks that `gdt::init_cpu` gives every CPU
    // before it loads this IDT.
    unsafe {
        idt.double_fault
            .set_handler_fn(double_fault)
            .set_stack_index(gdt::DOUBLE_FAULT_IST);
        idt.non_maskable_interrupt
            .set_handler_fn(nmi)
            .set_stack_index(gdt::NMI_IST);
        // x86_64 declares #MC as diverging; ours returns when the error is
        // recoverable, so it is installed by address. The function has the
        // x86-interrupt ABI the entry expects.
        idt.machine_check
            .set_handler_addr(VirtAddr::new(machine_check as *const () as u64))
            .set_stack_index(gdt::MACHINE_CHECK_IST);
        // The task scheduler's entries save every register themselves and
        // end in `iretq` (see task/scheduler.rs).
        idt[vector::TIMER].set_handler_addr(VirtAddr::new(crate::task::scheduler::timer_entry()));
        idt[vector::SYSCALL]
            .set_handler_addr(VirtAddr::new(crate::task::scheduler::syscall_entry()))
            .set_privilege_level(PrivilegeLevel::Ring3);
    }
    idt[vector::WAKE].set_handler_fn(wake);
    idt[vector::MCE_IPI].set_handler_fn(mce_ipi);
    idt[vector::CMCI].set_handler_fn(cmci);
    idt[vector::CALL].set_handler_fn(call);
    idt[vector::APIC_ERROR].set_handler_fn(apic_error);
    idt[vector::SPURIOUS].set_handler_fn(spurious);
    for v in vector::PIC_BASE..vector::PIC_BASE + 16 {
        idt[v].set_handler_fn(legacy_pic_spurious);
    }
    idt
}

/// Loads the IDT on the calling CPU (building it on first use).
pub fn load() {
    IDT.call_once(build).load();
}

/// Prints an unexpected exception's frame and panics; from user mode, kills
/// the task instead.
fn fatal(name: &'static str, code: Option<u64>, frame: &InterruptStackFrame) -> ! {
    if frame.code_segment.rpl() == PrivilegeLevel::Ring3 {
        // Does not return when a task is current.
        crate::task::user_fault(name, code.unwrap_or(0), frame);
    }
    // No allocation here: the fault may have hit inside the heap's lock.
    crate::error!(
        "EXCEPTION: {} on cpu{} error code {:#x}\n  rip {:#018x} cs {:#06x} rflags {:#010x}\n  rsp {:#018x} ss {:#06x}",
        name,
        super::percpu::cpu_index_or_zero(),
        code.unwrap_or(0),
        frame.instruction_pointer.as_u64(),
        frame.code_segment.0,
        frame.cpu_flags.bits(),
        frame.stack_pointer.as_u64(),
        frame.stack_segment.0
    );
    panic!("unhandled CPU exception: {name}");
}

macro_rules! fault {
    ($fn:ident, $name:expr) => {
        extern "x86-interrupt" fn $fn(frame: InterruptStackFrame) {
            fatal($name, None, &frame)
        }
    };
    ($fn:ident, $name:expr, code) => {
        extern "x86-interrupt" fn $fn(frame: InterruptStackFrame, code: u64) {
            fatal($name, Some(code), &frame)
        }
    };
}

fault!(divide_error, "#DE divide error");
fault!(debug, "#DB debug");
fault!(breakpoint, "#BP breakpoint");
fault!(overflow, "#OF overflow");
fault!(bound_range, "#BR bound range exceeded");
fault!(invalid_opcode, "#UD invalid opcode");
fault!(device_not_available, "#NM device not available");
fault!(invalid_tss, "#TS invalid TSS", code);
fault!(segment_not_present, "#NP segment not present", code);
fault!(stack_segment, "#SS stack-segment fault", code);
fault!(general_protection, "#GP general protection", code);
fault!(x87_fp, "#MF x87 floating point");
fault!(alignment_check, "#AC alignment check", code);
fault!(simd_fp, "#XM SIMD floating point");
fault!(virtualization, "#VE virtualization");
fault!(control_protection, "#CP control protection", code);
fault!(hv_injection, "#HV hypervisor injection");
fault!(vmm_communication, "#VC VMM communication", code);
fault!(security, "#SX security", code);

extern "x86-interrupt" fn page_fault(mut frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let addr = Cr2::read_raw();
    if frame.code_segment.rpl() == PrivilegeLevel::Ring3 {
        crate::task::user_fault("#PF page fault", addr, &frame);
    } else if crate::task::usercopy::page_fault_fixup(&mut frame) {
        // A user page went away under copy_from_user: the copy fails.
        return;
    }
    crate::error!("page fault at address {addr:#018x} ({code:?})");
    fatal("#PF page fault", Some(code.bits()), &frame)
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, code: u64) -> ! {
    fatal("#DF double fault", Some(code), &frame)
}

extern "x86-interrupt" fn nmi(mut frame: InterruptStackFrame) {
    crate::nmi::handle(&mut frame);
}

extern "x86-interrupt" fn machine_check(mut frame: InterruptStackFrame) {
    crate::mca::exception::glue::handler::machine_check(&mut frame);
}

extern "x86-interrupt" fn wake(_frame: InterruptStackFrame) {
    super::apic::eoi();
}

extern "x86-interrupt" fn mce_ipi(mut frame: InterruptStackFrame) {
    super::apic::eoi();
    crate::mca::inject::glue::injector::enter_broadcast(&mut frame);
}

extern "x86-interrupt" fn cmci(_frame: InterruptStackFrame) {
    crate::mca::corrected::glue::poll::cmci_interrupt();
    super::apic::eoi();
}

extern "x86-interrupt" fn call(_frame: InterruptStackFrame) {
    crate::smp::call_interrupt();
    super::apic::eoi();
}

extern "x86-interrupt" fn apic_error(_frame: InterruptStackFrame) {
    let esr = super::apic::read_error();
    crate::warn!("local APIC error, ESR {esr:#x}");
    super::apic::eoi();
}

extern "x86-interrupt" fn spurious(_frame: InterruptStackFrame) {}

extern "x86-interrupt" fn legacy_pic_spurious(_frame: InterruptStackFrame) {}
