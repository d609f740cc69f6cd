//! Each CPU's GDT and TSS, with separate interrupt stacks (IST) for the
//! exceptions that can arrive on a broken stack or inside another handler:
//! #DF, NMI and #MC. A machine check must never run on the stack of the code
//! it interrupted, and an NMI sent to stop a CPU must work even while that
//! CPU handles an #MC.
//!
//! The GDT also has the user code and data segments (ring 3), and each
//! CPU's TSS.RSP0 is the kernel stack of the task running there (set by the
//! scheduler on every switch), where the CPU switches on an interrupt or
//! system call from user mode.

use alloc::boxed::Box;

use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// IST slots (0-based index into the TSS's interrupt stack table).
pub const DOUBLE_FAULT_IST: u16 = 0;
pub const NMI_IST: u16 = 1;
pub const MACHINE_CHECK_IST: u16 = 2;

pub const IST_STACK_SIZE: usize = 32 * 1024;

/// Selectors, identical on every CPU.
pub const KERNEL_CODE: SegmentSelector = SegmentSelector(0x08);
pub const KERNEL_DATA: SegmentSelector = SegmentSelector(0x10);
/// Ring-3 segments (RPL 3), in the order `sysret` would also want.
pub const USER_DATA: SegmentSelector = SegmentSelector(0x1b);
pub const USER_CODE: SegmentSelector = SegmentSelector(0x23);

struct CpuTables {
    gdt: GlobalDescriptorTable,
    tss: TaskStateSegment,
}

fn stack_top() -> VirtAddr {
    let stack: Box<[u8]> = alloc::vec![0u8; IST_STACK_SIZE].into_boxed_slice();
    let stack = Box::leak(stack);
    // 16-byte aligned top of the stack.
    VirtAddr::from_ptr(stack.as_ptr_range().end).align_down(16u64)
}

/// Builds and loads a GDT and TSS for the calling CPU. Called once per CPU,
/// before its per-CPU area exists; returns the TSS for `percpu::init`.
pub fn init_cpu() -> *mut TaskStateSegment {
    let tables: &'static mut CpuTables = Box::leak(Box::new(CpuTables {
        gdt: GlobalDescriptorTable::new(),
        tss: TaskStateSegment::new(),
    }));
    tables.tss.interrupt_stack_table[DOUBLE_FAULT_IST as usize] = stack_top();
    tables.tss.interrupt_stack_table[NMI_IST as usize] = stack_top();
    tables.tss.interrupt_stack_table[MACHINE_CHECK_IST as usize] = stack_top();
    let tss: *mut TaskStateSegment = &mut tables.tss;
    let code = tables.gdt.append(Descriptor::kernel_code_segment());
    let data = tables.gdt.append(Descriptor::kernel_data_segment());
    debug_assert_eq!((code, data), (KERNEL_CODE, KERNEL_DATA));
    let user_data = tables.gdt.append(Descriptor::user_data_segment());
    let user_code = tables.gdt.append(Descriptor::user_code_segment());
    debug_assert_eq!((user_data, user_code), (USER_DATA, USER_CODE));
    // SAFETY: the TSS is leaked (lives forever) and only ever written
    // through this pointer (RSP0, by `set_kernel_stack` on its own CPU).
    let tss_sel = tables
        .gdt
        .append(unsafe { Descriptor::tss_segment_unchecked(tss) });
    let gdt: &'static GlobalDescriptorTable = &tables.gdt;
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which
    // lives forever (leaked); the TSS descriptor is valid and not yet busy.
    unsafe {
        CS::set_reg(code);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        load_tss(tss_sel);
    }
    tss
}

/// Sets the calling CPU's TSS.RSP0: the stack the CPU switches to on an
/// interrupt or system call from user mode.
pub fn set_kernel_stack(top: u64) {
    let tss = super::percpu::current().tss;
    assert!(!tss.is_null(), "set_kernel_stack before gdt::init_cpu");
    // SAFETY: `tss` is this CPU's leaked TSS (see `init_cpu`), written only
    // here, on its own CPU; the CPU reads RSP0 only when it enters ring 0
    // from ring 3, which cannot happen while this CPU runs this code.
    unsafe { (*tss).privilege_stack_table[0] = VirtAddr::new(top) };
}
