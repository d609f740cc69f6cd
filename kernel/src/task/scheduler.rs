//! The scheduler: trap entry, context switches and each CPU's run loop.
//!
//! Design (as in xv6): every CPU has a scheduler context, which is its idle
//! loop on its boot stack. It picks a runnable task, loads its CR3 and
//! TSS.RSP0 and switches to the task's kernel stack; the task runs until it
//! switches back (preempted by the tick, yielding, sleeping, exiting). The
//! scheduler context then publishes the task's new state (so no other CPU
//! can pick a task whose kernel stack is still in use) and picks again.
//!
//! Kernel code is never preempted: the tick switches away only when it
//! interrupted user mode; system calls run with interrupts off. So a task
//! never holds a kernel lock while it is switched out.
//!
//! Traps: the timer vector and `int 0x80` enter through assembly that saves
//! every general-purpose register in a [`TrapFrame`] on the task's kernel
//! stack (or, for a tick in the idle loop, on the CPU's stack), calls
//! [`trap_dispatch`], and restores them all before `iretq`. A task that has
//! never run starts in that same return path with a prepared frame.
//!
//! GS: per-CPU data is reached through GS base and the kernel never uses
//! `swapgs`. User programs are ours and never load a segment register (and
//! CR4.FSGSBASE is off), so GS base is the kernel's in every context, #MC
//! and NMI from user mode included.

use super::{
    Task, DEAD, READY, RUNNING, SLEEPING, WAIT_BLOCKED, WAIT_NONE, WAIT_PENDING, WAIT_WOKEN,
};
use crate::arch::x86_64::percpu;
use crate::arch::x86_64::{apic, gdt, tsc};
use crate::cpuset::MAX_CPUS;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use x86_64::instructions::interrupts;
use x86_64::structures::idt::InterruptStackFrame;

/// What a task asks of the scheduler when it switches away.
pub const NEXT_READY: u8 = 0;
pub const NEXT_SLEEP: u8 = 1;
pub const NEXT_EXIT: u8 = 2;

/// Trap vectors handled by the assembly entry.
pub const TIMER_VECTOR: u64 = crate::arch::x86_64::idt::vector::TIMER as u64;
pub const SYSCALL_VECTOR: u64 = crate::arch::x86_64::idt::vector::SYSCALL as u64;

/// Every general-purpose register, then the vector and error code, then
/// the CPU's interrupt frame, as the entry code leaves them on the stack.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// The assembly pushes 15 registers and 2 words on the CPU's 5.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

impl TrapFrame {
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// The CPU's part of the frame, as the interrupt handlers see it.
    pub fn iret_frame(&mut self) -> &mut InterruptStackFrame {
        // SAFETY: `InterruptStackFrame` is a transparent wrapper of a
        // `repr(C)` struct of five 8-byte fields (RIP, CS, RFLAGS, RSP, SS
        // with padding) laid out exactly as `rip..ss` here; the borrow of
        // `self` covers it.
        unsafe { &mut *(&mut self.rip as *mut u64 as *mut InterruptStackFrame) }
    }
}

core::arch::global_asm!(
    r#"
    .text
    .global rasos_trap_timer
    .global rasos_trap_syscall
    .global rasos_trap_return
    .global rasos_switch
    .global rasos_kill_stub
rasos_trap_timer:
    push 0
    push {timer}
    jmp 7f
rasos_trap_syscall:
    push 0
    push {syscall}
7:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call {dispatch}
rasos_trap_return:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

// rasos_switch(save: *mut u64 = rdi, load: u64 = rsi): saves the callee-saved
// registers and the stack pointer, continues on the other stack.
rasos_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

// Where a task killed by a machine check lands (ring 0, interrupts off, on
// the top of its kernel stack).
rasos_kill_stub:
    and rsp, -16
    call {killed}
    ud2
"#,
    timer = const TIMER_VECTOR,
    syscall = const SYSCALL_VECTOR,
    dispatch = sym trap_dispatch,
    killed = sym killed_entry,
);

extern "C" {
    fn rasos_trap_timer();
    fn rasos_trap_syscall();
    fn rasos_trap_return();
    fn rasos_switch(save: *mut u64, load: u64);
    fn rasos_kill_stub();
}

/// The timer vector's entry (for the IDT).
/// Points the tick and the system-call gate (`int 0x80`, callable from
/// ring 3) at this file's assembly entries, which save every register so
/// they can switch tasks. Before the first IDT load.
pub fn register() {
    use crate::arch::x86_64::idt::{self, vector};
    idt::set_raw_entry(vector::TIMER, timer_entry(), false);
    idt::set_raw_entry(vector::SYSCALL, syscall_entry(), true);
}

pub fn timer_entry() -> u64 {
    rasos_trap_timer as *const () as u64
}

/// The `int 0x80` entry (for the IDT).
pub fn syscall_entry() -> u64 {
    rasos_trap_syscall as *const () as u64
}

/// Each CPU's scheduler state.
struct CpuSched {
    /// The scheduler context's stack pointer while a task runs.
    sched_rsp: AtomicU64,
    /// The task running on this CPU (kept alive by the scheduler's Arc).
    current: AtomicPtr<Task>,
    /// Round-robin position: the id of the task picked last.
    last: AtomicU32,
}

static CPUS: [CpuSched; MAX_CPUS] = [const {
    CpuSched {
        sched_rsp: AtomicU64::new(0),
        current: AtomicPtr::new(core::ptr::null_mut()),
        last: AtomicU32::new(0),
    }
}; MAX_CPUS];

fn cpu_index() -> usize {
    percpu::current().index as usize
}

/// The task running on this CPU. Any context (#MC and NMI included).
///
/// The reference is valid while that task stays current here: the
/// scheduler context holds an `Arc` of it until it has switched away.
pub fn current() -> Option<&'static Task> {
    let p = CPUS[cpu_index()].current.load(Ordering::SeqCst);
    // SAFETY: a non-null pointer is the running task's, kept alive as
    // documented above; callers use it only during the current trap or
    // exception on this CPU.
    unsafe { p.as_ref() }
}

/// Builds a new task's first kernel stack: a trap frame that enters user
/// mode at `entry`, below it the registers `rasos_switch` pops and the
/// return address of the trap return path.
pub fn prepare(task: &Task, entry: u64, user_stack: u64, args: [u64; 3]) {
    let tf = TrapFrame {
        rdi: args[0],
        rsi: args[1],
        rdx: args[2],
        rip: entry,
        cs: gdt::USER_CODE.0 as u64,
        rflags: 0x202,
        rsp: user_stack,
        ss: gdt::USER_DATA.0 as u64,
        ..TrapFrame::default()
    };
    let tf_addr = task.kstack_top - core::mem::size_of::<TrapFrame>() as u64;
    let ret_addr = tf_addr - 8;
    let regs = ret_addr - 6 * 8;
    // SAFETY: all three writes are inside the task's own kernel stack
    // (32 KiB, not yet in use by anyone), 8-byte aligned.
    unsafe {
        core::ptr::write(tf_addr as *mut TrapFrame, tf);
        core::ptr::write(ret_addr as *mut u64, rasos_trap_return as *const () as u64);
        core::ptr::write_bytes(regs as *mut u64, 0, 6);
    }
    task.saved_rsp.store(regs, Ordering::SeqCst);
}

/// The Rust side of the trap entry: interrupts are off.
extern "C" fn trap_dispatch(tf: &mut TrapFrame) {
    match tf.vector {
        TIMER_VECTOR => {
            crate::timer::tick();
            apic::eoi();
            if tf.from_user() {
                // Time slice over: back to the scheduler, which may pick
                // another task; we continue here when picked again.
                yield_current(NEXT_READY);
            }
        }
        SYSCALL_VECTOR if tf.from_user() => super::syscall::dispatch(tf),
        _ => {}
    }
    if tf.from_user() {
        let task = current().expect("a task is current when returning to user mode");
        if task.kill_requested() {
            exit_current();
        }
        // The software injector's IN_PROC records are raised here, so the
        // handler sees the interrupted context as the user task's.
        crate::mca::inject::glue::injector::at_user_return(tf.iret_frame());
    }
}

/// Switches from the current task to this CPU's scheduler context; returns
/// when a CPU runs the task again. Interrupts must be off.
pub fn yield_current(next: u8) {
    let cpu = cpu_index();
    let task = current().expect("yield from a task");
    task.next.store(next, Ordering::SeqCst);
    // SAFETY: we run on the task's kernel stack with interrupts off; the
    // scheduler context's stack pointer was saved by `run_next` on this CPU
    // and stays valid while the task runs; `saved_rsp` receives ours.
    unsafe {
        rasos_switch(
            task.saved_rsp.as_ptr(),
            CPUS[cpu].sched_rsp.load(Ordering::SeqCst),
        )
    };
}

/// Puts the current task to sleep for `ms` milliseconds.
pub fn sleep_current(ms: u64) {
    let task = current().expect("sleep from a task");
    task.wake_at_us
        .store(tsc::now_us() + ms * 1000, Ordering::SeqCst);
    yield_current(NEXT_SLEEP);
}

/// A blocking wait, step one: from now on a [`super::wake`] ends the next
/// [`wait_current`]. Call before checking the condition waited for, so a
/// wake-up between the check and the sleep is not lost.
pub fn prepare_wait() {
    let task = current().expect("wait from a task");
    // A wake-up already pending stays: the wait then returns at once.
    let _ =
        task.waiting
            .compare_exchange(WAIT_NONE, WAIT_BLOCKED, Ordering::SeqCst, Ordering::SeqCst);
}

/// A blocking wait, step two: sleeps until `deadline_us` (TSC time) or a
/// wake-up, whichever is first; true if woken. The wait is over either way.
pub fn wait_current(deadline_us: u64) -> bool {
    let task = current().expect("wait from a task");
    if task.waiting.load(Ordering::SeqCst) == WAIT_BLOCKED {
        task.wake_at_us.store(deadline_us, Ordering::SeqCst);
        yield_current(NEXT_SLEEP);
    }
    end_wait()
}

/// Leaves a blocking wait; true if it was woken.
pub fn end_wait() -> bool {
    let task = current().expect("wait from a task");
    matches!(
        task.waiting.swap(WAIT_NONE, Ordering::SeqCst),
        WAIT_WOKEN | WAIT_PENDING
    )
}

/// Ends the current task (normal context, its kernel stack, interrupts
/// off); the scheduler context reaps it.
pub fn exit_current() -> ! {
    interrupts::disable();
    yield_current(NEXT_EXIT);
    unreachable!("an exited task was resumed");
}

extern "C" fn killed_entry() -> ! {
    exit_current()
}

/// Makes an exception frame return into the exit path of `task` (ring 0,
/// interrupts off, on the top of its kernel stack) instead of where it was
/// interrupted. Atomics and the frame only: usable from #MC.
pub fn redirect_to_exit(frame: &mut InterruptStackFrame, task: &Task) {
    let top = task.kstack_top;
    // SAFETY: the frame is only ever returned to by this CPU's `iretq`; the
    // new values name the kernel code segment, a kernel function that
    // never returns, and the task's own kernel stack, which holds nothing
    // the task needs any more (it was interrupted in user mode, or in the
    // trap path that is about to leave).
    unsafe {
        frame.as_mut().update(|f| {
            f.instruction_pointer = x86_64::VirtAddr::new(rasos_kill_stub as *const () as u64);
            f.code_segment = gdt::KERNEL_CODE;
            f.cpu_flags = x86_64::registers::rflags::RFlags::from_bits_truncate(0x2);
            f.stack_pointer = x86_64::VirtAddr::new(top);
            f.stack_segment = gdt::KERNEL_DATA;
        })
    };
}

/// Claims the next task this CPU may run: round robin by id (the task list
/// is in id order), starting after the one it picked last.
fn pick(cpu: usize) -> Option<Arc<Task>> {
    let now = tsc::now_us();
    let tasks = super::TASKS.lock();
    let last = CPUS[cpu].last.load(Ordering::Relaxed);
    let after = tasks.iter().filter(|t| t.id > last);
    let wrapped = tasks.iter().filter(|t| t.id <= last);
    for t in after.chain(wrapped) {
        if t.pin.is_some_and(|p| p as usize != cpu) {
            continue;
        }
        let st = t.state.load(Ordering::SeqCst);
        let runnable = match st {
            READY => true,
            SLEEPING => {
                t.kill_requested()
                    || t.wake_at_us.load(Ordering::SeqCst) <= now
                    || t.waiting.load(Ordering::SeqCst) == WAIT_WOKEN
            }
            _ => false,
        };
        if runnable
            && t.state
                .compare_exchange(st, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            CPUS[cpu].last.store(t.id, Ordering::Relaxed);
            return Some(t.clone());
        }
    }
    None
}

fn load_cr3(root: u64) {
    // SAFETY: `root` is a PML4 that maps the whole kernel (the kernel's own,
    // or a task's copy of its entries), so execution continues unchanged.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) };
}

/// The scheduler's step, called from each CPU's idle loop: runs one task
/// until it gives the CPU back. False when there was nothing to run.
pub fn run_next() -> bool {
    if super::address_space::user_base() == 0 {
        return false;
    }
    let cpu = cpu_index();
    let Some(task) = pick(cpu) else {
        return false;
    };
    if task.kill_requested() {
        reap(task);
        return true;
    }
    let enabled = interrupts::are_enabled();
    interrupts::disable();
    task.cpu.store(cpu as u32, Ordering::SeqCst);
    CPUS[cpu]
        .current
        .store(Arc::as_ptr(&task) as *mut Task, Ordering::SeqCst);
    gdt::set_kernel_stack(task.kstack_top);
    task.note_switch_in();
    load_cr3(task.root);
    // SAFETY: interrupts are off; `saved_rsp` is the task's kernel stack
    // as its last switch (or `prepare`) left it, and nobody else runs the
    // task (we claimed it in `pick`). We continue here when it switches
    // back.
    unsafe {
        rasos_switch(
            CPUS[cpu].sched_rsp.as_ptr(),
            task.saved_rsp.load(Ordering::SeqCst),
        )
    };
    load_cr3(super::address_space::kernel_pml4());
    CPUS[cpu]
        .current
        .store(core::ptr::null_mut(), Ordering::SeqCst);
    match task.next.load(Ordering::SeqCst) {
        NEXT_EXIT => reap(task),
        NEXT_SLEEP => task.state.store(SLEEPING, Ordering::SeqCst),
        _ => task.state.store(READY, Ordering::SeqCst),
    }
    if enabled {
        interrupts::enable();
    }
    true
}

/// Frees a task that no CPU runs any more and says how it ended.
fn reap(task: Arc<Task>) {
    task.state.store(DEAD, Ordering::SeqCst);
    let (killed, line, outcome) = task.end_message();
    if killed {
        crate::warn!("{line}");
    } else {
        crate::info!("{line}");
    }
    // Its end is kept for its parent before it leaves the task list, so a
    // task_wait never finds it neither running nor ended.
    super::child_ended(&task, &outcome);
    super::TASKS.lock().retain(|t| !Arc::ptr_eq(t, &task));
    crate::mca::log::glue::readers::close_owner(task.id);
    task.release_memory();
}
