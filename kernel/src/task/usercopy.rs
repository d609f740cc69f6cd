//! Recoverable copies between user and kernel memory, like Linux's
//! `copy_mc_to_kernel`/`copy_from_user`/`copy_to_user`: the copy loops are
//! assembly between labels registered in the exception-fixup table
//! ([`crate::mca::recovery::glue::fixup`]). When a page fault hits inside
//! them, the handler moves the interrupted RIP to the resume label, and the
//! routine returns an error instead of the kernel dying. A machine check
//! (consumed poison) is recovered the same way only in the copy *from* user
//! memory (graded action-required in `KernelRecoverable` context): the
//! copy *to* user memory has its own range, not machine-check safe, since
//! poison there is in the kernel's source, so the kernel's own data is
//! corrupt and the #MC is graded in kernel context (a panic, "Data load in
//! unrecoverable area of kernel"), as Linux's `error_context` decides.
//!
//! The routines are leaf functions that never push, so at any instruction
//! between the labels the stack pointer holds the caller's return address:
//! the resume code only sets the result and returns.

use super::address_space;
use crate::arch::x86_64::percpu;
use crate::cpuset::MAX_CPUS;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use x86_64::structures::idt::InterruptStackFrame;

/// Why a copy failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyError {
    /// A machine check (poison consumed) hit the copy; the physical address
    /// the bank reported, if any.
    PoisonConsumed(Option<u64>),
    /// A page fault (the page went away, e.g. unmapped by memory failure).
    Fault,
    /// The range is not mapped user memory of the current task.
    BadAddress,
}

impl CopyError {
    /// The error number a system call returns (EFAULT for all of them).
    pub const fn errno(self) -> i64 {
        -14
    }
}

// rdi = destination, rsi = source, rdx = length.
// rasos_copy_mc returns 0, or -1 when the fixup ran.
// rasos_copy_mc_spin (tests) repeats the copy until the TSC passes rcx and
// returns how many copies were made, or -1 when the fixup ran. The whole
// loop, its clock check included, is inside the recoverable range.
core::arch::global_asm!(
    r#"
    .section .text.rasos_usercopy, "ax"
    .global rasos_copy_mc_start
    .global rasos_copy_mc_end
    .global rasos_copy_mc_fixup
    .global rasos_copy_mc
    .global rasos_copy_mc_spin
rasos_copy_mc_start:
rasos_copy_mc:
    mov rcx, rdx
    rep movsb
    xor eax, eax
    ret
rasos_copy_mc_spin:
    mov r10, rdx
    mov r11, rcx
    xor r8d, r8d
2:
    mov rcx, r10
    rep movsb
    sub rdi, r10
    sub rsi, r10
    inc r8
    rdtsc
    shl rdx, 32
    or rax, rdx
    cmp rax, r11
    jb 2b
    mov rax, r8
    ret
rasos_copy_mc_end:
rasos_copy_mc_fixup:
    mov rax, -1
    ret
    .global rasos_copy_user_start
    .global rasos_copy_user_end
    .global rasos_copy_user_fixup
    .global rasos_copy_to_user
    .global rasos_copy_to_user_spin
rasos_copy_user_start:
rasos_copy_to_user:
    mov rcx, rdx
    rep movsb
    xor eax, eax
    ret
rasos_copy_to_user_spin:
    mov r10, rdx
    mov r11, rcx
    xor r8d, r8d
2:
    mov rcx, r10
    rep movsb
    sub rdi, r10
    sub rsi, r10
    inc r8
    rdtsc
    shl rdx, 32
    or rax, rdx
    cmp rax, r11
    jb 2b
    mov rax, r8
    ret
rasos_copy_user_end:
rasos_copy_user_fixup:
    mov rax, -1
    ret
    .text
"#
);

extern "C" {
    static rasos_copy_mc_start: u8;
    static rasos_copy_mc_end: u8;
    static rasos_copy_mc_fixup: u8;
    fn rasos_copy_mc(dst: *mut u8, src: *const u8, len: usize) -> i64;
    fn rasos_copy_mc_spin(dst: *mut u8, src: *const u8, len: usize, until_tsc: u64) -> i64;
    static rasos_copy_user_start: u8;
    static rasos_copy_user_end: u8;
    static rasos_copy_user_fixup: u8;
    fn rasos_copy_to_user(dst: *mut u8, src: *const u8, len: usize) -> i64;
    fn rasos_copy_to_user_spin(dst: *mut u8, src: *const u8, len: usize, until_tsc: u64) -> i64;
}

/// What ended the last failed copy on each CPU: 0 none, 1 machine check,
/// 2 page fault; and the machine check's physical address (u64::MAX: none).
static FAULT_KIND: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
static FAULT_ADDR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(u64::MAX) }; MAX_CPUS];

const KIND_MCE: u8 = 1;
const KIND_PF: u8 = 2;

/// The machine-check-recoverable range `[start, end)` of the copies from
/// user memory.
pub fn range() -> (u64, u64) {
    (
        &raw const rasos_copy_mc_start as u64,
        &raw const rasos_copy_mc_end as u64,
    )
}

/// The range `[start, end)` of the copies to user memory (page faults
/// recover there, machine checks do not).
pub fn to_user_range() -> (u64, u64) {
    (
        &raw const rasos_copy_user_start as u64,
        &raw const rasos_copy_user_end as u64,
    )
}

/// Registers the copy routines in the exception-fixup table (boot).
pub fn init() -> bool {
    use crate::mca::recovery::glue::fixup::{register, Fixup};
    let (start, end) = range();
    let from_user = register(Fixup {
        start,
        end,
        resume: &raw const rasos_copy_mc_fixup as u64,
        mc_safe: true,
    });
    let (start, end) = to_user_range();
    let to_user = register(Fixup {
        start,
        end,
        resume: &raw const rasos_copy_user_fixup as u64,
        mc_safe: false,
    });
    from_user && to_user
}

/// Moves an exception frame that stopped inside a copy routine to the
/// resume label. Any context (#MC on its IST stack included): atomics only.
fn redirect(frame: &mut InterruptStackFrame, kind: u8, addr: Option<u64>) -> bool {
    let rip = frame.instruction_pointer.as_u64();
    let Some(fixup) = crate::mca::recovery::glue::fixup::lookup(rip) else {
        return false;
    };
    let cpu = percpu::current().index as usize;
    FAULT_ADDR[cpu].store(addr.unwrap_or(u64::MAX), Ordering::SeqCst);
    FAULT_KIND[cpu].store(kind, Ordering::SeqCst);
    // SAFETY: the new RIP is the resume label of the routine that was
    // interrupted, which expects exactly this state (see the module doc).
    unsafe {
        frame.as_mut().update(|f| {
            f.instruction_pointer = x86_64::VirtAddr::new(fixup.resume);
        })
    };
    true
}

/// The #MC handler's hook for consumed poison inside a copy routine
/// (`Context::KernelRecoverable`, graded action-required). IST-safe: it
/// quarantines the frame (so a task exiting meanwhile does not hand it back
/// before memory_failure retires it) and redirects the frame.
pub fn mce_fixup(frame: &mut InterruptStackFrame, paddr: Option<u64>) -> bool {
    if let Some(pa) = paddr {
        super::quarantine(pa);
    }
    redirect(frame, KIND_MCE, paddr)
}

/// The page-fault handler's hook for a kernel-mode fault inside a copy
/// routine. Returns false when the fault is elsewhere (a kernel bug).
pub fn page_fault_fixup(frame: &mut InterruptStackFrame) -> bool {
    redirect(frame, KIND_PF, None)
}

fn take_error() -> CopyError {
    let cpu = percpu::current().index as usize;
    let kind = FAULT_KIND[cpu].swap(0, Ordering::SeqCst);
    let addr = FAULT_ADDR[cpu].swap(u64::MAX, Ordering::SeqCst);
    match kind {
        KIND_MCE => CopyError::PoisonConsumed((addr != u64::MAX).then_some(addr)),
        _ => CopyError::Fault,
    }
}

/// Checks that `[va, va + len)` is mapped memory of the current task.
fn check_user(va: u64, len: usize) -> Result<(), CopyError> {
    if len == 0 {
        return Ok(());
    }
    if !address_space::is_user_range(va, len as u64) {
        return Err(CopyError::BadAddress);
    }
    let task = super::scheduler::current().ok_or(CopyError::BadAddress)?;
    let mut page = va & !0xfff;
    while page < va + len as u64 {
        if task.frame_of(page).is_none() {
            return Err(CopyError::BadAddress);
        }
        page += 4096;
    }
    Ok(())
}

/// Copies `dst.len()` bytes from the current task's memory at `src`.
/// Interrupts must be off (system-call context).
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), CopyError> {
    check_user(src, dst.len())?;
    // SAFETY: `dst` is a kernel buffer of that length; `src..src+len` is
    // mapped user memory of the task whose address space is loaded (checked
    // above). A page that disappears meanwhile faults inside the routine,
    // which the fixup turns into an error.
    let r = unsafe { rasos_copy_mc(dst.as_mut_ptr(), src as *const u8, dst.len()) };
    if r == 0 {
        Ok(())
    } else {
        Err(take_error())
    }
}

/// Copies `src` into the current task's memory at `dst`. Interrupts must be
/// off (system-call context).
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), CopyError> {
    check_user(dst, src.len())?;
    // SAFETY: as in `copy_from_user`, with the roles swapped (a read-only
    // code page faults when CR0.WP is set, which the fixup turns into an
    // error; nothing of the kernel's is written).
    let r = unsafe { rasos_copy_to_user(dst as *mut u8, src.as_ptr(), src.len()) };
    if r == 0 {
        Ok(())
    } else {
        Err(take_error())
    }
}

/// Test path: copies `src` into the current task's memory at `dst` again
/// and again until `ms` milliseconds have passed (interrupts off). Returns
/// how many copies were made.
pub fn copy_to_user_repeat(dst: u64, src: &[u8], ms: u64) -> Result<u64, CopyError> {
    check_user(dst, src.len())?;
    let until = crate::arch::x86_64::tsc::rdtsc() + ms * crate::arch::x86_64::tsc::khz();
    // SAFETY: as in `copy_to_user`.
    let r = unsafe { rasos_copy_to_user_spin(dst as *mut u8, src.as_ptr(), src.len(), until) };
    if r >= 0 {
        Ok(r as u64)
    } else {
        Err(take_error())
    }
}

/// Test path: copies from user memory at `src` into `dst` again and again
/// until `ms` milliseconds have passed (interrupts off, so the CPU does
/// nothing else). Returns how many copies were made.
pub fn copy_from_user_repeat(dst: &mut [u8], src: u64, ms: u64) -> Result<u64, CopyError> {
    check_user(src, dst.len())?;
    let until = crate::arch::x86_64::tsc::rdtsc() + ms * crate::arch::x86_64::tsc::khz();
    // SAFETY: as in `copy_from_user`.
    let r = unsafe { rasos_copy_mc_spin(dst.as_mut_ptr(), src as *const u8, dst.len(), until) };
    if r >= 0 {
        Ok(r as u64)
    } else {
        Err(take_error())
    }
}
