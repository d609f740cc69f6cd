//! Each CPU's GDT and TSS, with separate interrupt stacks (IST) for the
//! exceptions that can arrive on a broken stack or inside another handler:
//! #DF, NMI and #MC. A machine check must never run on the stack of the code
//! it interrupted, and an NMI sent to stop a CPU must work even while that
//! CPU handles an #MC.

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

const IST_STACK_SIZE: usize = 32 * 1024;

/// Selectors, identical on every CPU.
pub const KERNEL_CODE: SegmentSelector = SegmentSelector(0x08);
pub const KERNEL_DATA: SegmentSelector = SegmentSelector(0x10);

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

/// Builds and loads a GDT and TSS for the calling CPU. Called once per CPU.
pub fn init_cpu() {
    let tables: &'static mut CpuTables = Box::leak(Box::new(CpuTables {
        gdt: GlobalDescriptorTable::new(),
        tss: TaskStateSegment::new(),
    }));
    tables.tss.interrupt_stack_table[DOUBLE_FAULT_IST as usize] = stack_top();
    tables.tss.interrupt_stack_table[NMI_IST as usize] = stack_top();
    tables.tss.interrupt_stack_table[MACHINE_CHECK_IST as usize] = stack_top();
    let tss: &'static TaskStateSegment = &tables.tss;
    let code = tables.gdt.append(Descriptor::kernel_code_segment());
    let data = tables.gdt.append(Descriptor::kernel_data_segment());
    debug_assert_eq!((code, data), (KERNEL_CODE, KERNEL_DATA));
    let tss_sel = tables.gdt.append(Descriptor::tss_segment(tss));
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
}
