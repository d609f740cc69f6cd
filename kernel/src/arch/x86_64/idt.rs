//! The interrupt descriptor table, shared by all CPUs, and the dispatch of
//! every vector to the layer that owns it.
//!
//! arch/ calls nothing above it: the layers that own a vector register
//! their handlers at boot (the machine-check handler, the NMI users, the
//! CMCI and IPI vectors, the fault policy with its page-fault fixups) and the
//! entry stubs here look them up. The tick and the system-call gate are raw
//! entries: the task scheduler's assembly saves every register itself, so
//! its address goes straight into the IDT ([`set_raw_entry`], before the
//! first [`load`]).
//!
//! An exception nobody registered a handler for panics with its name; an
//! interrupt on an unregistered vector is counted ([`unclaimed`]) and
//! acknowledged.

use super::gdt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// A handler for #MC, NMI or an interrupt vector.
pub type Handler = fn(&mut InterruptStackFrame);

/// What the CPU reported for an exception other than #MC and NMI.
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    /// Mnemonic and name, e.g. "#GP general protection".
    pub name: &'static str,
    pub vector: u8,
    pub error_code: Option<u64>,
    /// CR2 for a page fault: the address that faulted.
    pub address: Option<u64>,
}

impl Fault {
    /// True when the exception came from user mode (CPL 3).
    pub fn from_user(frame: &InterruptStackFrame) -> bool {
        frame.code_segment.rpl() == PrivilegeLevel::Ring3
    }
}

/// The policy for CPU exceptions. Returning resumes at `frame` (which the
/// handler may have redirected, e.g. to a copy routine's fixup); a fault
/// that cannot be survived panics or does not return.
pub type FaultHandler = fn(&Fault, &mut InterruptStackFrame);

/// When the local APIC is told the interrupt is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eoi {
    /// Before the handler runs (it may run long, e.g. a whole rendezvous).
    Before,
    After,
    /// Never (the spurious vector).
    None,
}

static MACHINE_CHECK: Once<Handler> = Once::new();
static NMI: Once<Handler> = Once::new();
static FAULT: Once<FaultHandler> = Once::new();
static VECTORS: [Once<(Handler, Eoi)>; 256] = [const { Once::new() }; 256];
/// Raw entry addresses and whether ring 3 may call them (`int n`).
static RAW: [Once<(u64, bool)>; 256] = [const { Once::new() }; 256];
static BUILT: AtomicBool = AtomicBool::new(false);
static UNCLAIMED: AtomicU64 = AtomicU64::new(0);

/// Registers the #MC handler (runs on its own IST stack).
pub fn set_machine_check(handler: Handler) {
    MACHINE_CHECK.call_once(|| handler);
}

/// Registers the NMI handler (runs on its own IST stack).
pub fn set_nmi(handler: Handler) {
    NMI.call_once(|| handler);
}

/// Registers the policy for every other CPU exception.
pub fn set_fault_handler(handler: FaultHandler) {
    FAULT.call_once(|| handler);
}

/// Registers the handler of an interrupt vector (0x30 and up). One owner
/// per vector: a second registration is ignored and returns false.
pub fn set_handler(vector: u8, handler: Handler, eoi: Eoi) -> bool {
    let mut mine = false;
    VECTORS[vector as usize].call_once(|| {
        mine = true;
        (handler, eoi)
    });
    mine
}

/// Points `vector` straight at `entry` (an assembly stub ending in
/// `iretq`); `user` lets ring 3 raise it with `int`. Only before the first
/// [`load`]: the IDT is built once.
pub fn set_raw_entry(vector: u8, entry: u64, user: bool) {
    assert!(
        !BUILT.load(Ordering::SeqCst),
        "idt: raw entry set after the IDT was built"
    );
    RAW[vector as usize].call_once(|| (entry, user));
}

/// Interrupts that arrived on a vector nobody registered.
pub fn unclaimed() -> u64 {
    UNCLAIMED.load(Ordering::Relaxed)
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

fn build() -> InterruptDescriptorTable {
    BUILT.store(true, Ordering::SeqCst);
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
    }
    for (v, raw) in RAW.iter().enumerate() {
        if let Some(&(entry, user)) = raw.get() {
            // SAFETY: the registrant promises an entry that saves what it
            // uses and ends in `iretq` (see `set_raw_entry`).
            let opts = unsafe { idt[v as u8].set_handler_addr(VirtAddr::new(entry)) };
            if user {
                opts.set_privilege_level(PrivilegeLevel::Ring3);
            }
        }
    }
    let stubs: [(u8, extern "x86-interrupt" fn(InterruptStackFrame)); 6] = [
        (vector::WAKE, wake),
        (vector::MCE_IPI, mce_ipi),
        (vector::CMCI, cmci),
        (vector::CALL, call),
        (vector::APIC_ERROR, apic_error),
        (vector::SPURIOUS, spurious),
    ];
    for (v, stub) in stubs {
        if RAW[v as usize].get().is_none() {
            idt[v].set_handler_fn(stub);
        }
    }
    for v in vector::PIC_BASE..vector::PIC_BASE + 16 {
        idt[v].set_handler_fn(legacy_pic_spurious);
    }
    idt
}

/// Loads the IDT on the calling CPU (building it on first use).
pub fn load() {
    IDT.call_once(build).load();
}

/// Hands an exception to the registered policy; without one, panics.
fn fault(f: Fault, frame: &mut InterruptStackFrame) {
    match FAULT.get() {
        Some(handler) => handler(&f, frame),
        None => panic!("unhandled CPU exception: {}", f.name),
    }
}

macro_rules! fault {
    ($fn:ident, $name:expr, $vector:expr) => {
        extern "x86-interrupt" fn $fn(mut frame: InterruptStackFrame) {
            let f = Fault {
                name: $name,
                vector: $vector,
                error_code: None,
                address: None,
            };
            fault(f, &mut frame)
        }
    };
    ($fn:ident, $name:expr, $vector:expr, code) => {
        extern "x86-interrupt" fn $fn(mut frame: InterruptStackFrame, code: u64) {
            let f = Fault {
                name: $name,
                vector: $vector,
                error_code: Some(code),
                address: None,
            };
            fault(f, &mut frame)
        }
    };
}

fault!(divide_error, "#DE divide error", 0);
fault!(debug, "#DB debug", 1);
fault!(breakpoint, "#BP breakpoint", 3);
fault!(overflow, "#OF overflow", 4);
fault!(bound_range, "#BR bound range exceeded", 5);
fault!(invalid_opcode, "#UD invalid opcode", 6);
fault!(device_not_available, "#NM device not available", 7);
fault!(invalid_tss, "#TS invalid TSS", 10, code);
fault!(segment_not_present, "#NP segment not present", 11, code);
fault!(stack_segment, "#SS stack-segment fault", 12, code);
fault!(general_protection, "#GP general protection", 13, code);
fault!(x87_fp, "#MF x87 floating point", 16);
fault!(alignment_check, "#AC alignment check", 17, code);
fault!(simd_fp, "#XM SIMD floating point", 19);
fault!(virtualization, "#VE virtualization", 20);
fault!(control_protection, "#CP control protection", 21, code);
fault!(hv_injection, "#HV hypervisor injection", 28);
fault!(vmm_communication, "#VC VMM communication", 29, code);
fault!(security, "#SX security", 30, code);

extern "x86-interrupt" fn page_fault(mut frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let f = Fault {
        name: "#PF page fault",
        vector: 14,
        error_code: Some(code.bits()),
        address: Some(Cr2::read_raw()),
    };
    fault(f, &mut frame)
}

extern "x86-interrupt" fn double_fault(mut frame: InterruptStackFrame, code: u64) -> ! {
    let f = Fault {
        name: "#DF double fault",
        vector: 8,
        error_code: Some(code),
        address: None,
    };
    fault(f, &mut frame);
    panic!("#DF double fault: cannot resume");
}

extern "x86-interrupt" fn nmi(mut frame: InterruptStackFrame) {
    match NMI.get() {
        Some(handler) => handler(&mut frame),
        None => {
            UNCLAIMED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

extern "x86-interrupt" fn machine_check(mut frame: InterruptStackFrame) {
    match MACHINE_CHECK.get() {
        Some(handler) => handler(&mut frame),
        None => panic!("machine check before the handler was registered"),
    }
}

/// Runs the registered handler of `vector` with its end-of-interrupt rule.
fn dispatch(vector: u8, frame: &mut InterruptStackFrame) {
    match VECTORS[vector as usize].get() {
        Some(&(handler, eoi)) => {
            if eoi == Eoi::Before {
                super::apic::eoi();
            }
            handler(frame);
            if eoi == Eoi::After {
                super::apic::eoi();
            }
        }
        None => {
            UNCLAIMED.fetch_add(1, Ordering::Relaxed);
            if vector != vector::SPURIOUS {
                super::apic::eoi();
            }
        }
    }
}

macro_rules! stub {
    ($fn:ident, $vector:expr) => {
        extern "x86-interrupt" fn $fn(mut frame: InterruptStackFrame) {
            dispatch($vector, &mut frame)
        }
    };
}

stub!(wake, vector::WAKE);
stub!(mce_ipi, vector::MCE_IPI);
stub!(cmci, vector::CMCI);
stub!(call, vector::CALL);
stub!(apic_error, vector::APIC_ERROR);

// The spurious vector needs no EOI and does nothing.
extern "x86-interrupt" fn spurious(_frame: InterruptStackFrame) {}

extern "x86-interrupt" fn legacy_pic_spurious(_frame: InterruptStackFrame) {}
