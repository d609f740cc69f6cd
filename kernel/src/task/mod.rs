//! User tasks: ring-3 programs with their own address spaces, scheduled
//! preemptively on every CPU, and what machine-check recovery does to them.
//!
//! * [`address_space`]: one PML4 per task sharing the kernel's entries.
//! * [`programs`]: the built-in user programs (position-independent asm).
//! * [`scheduler`]: the trap entry (timer, `int 0x80`), context switches,
//!   per-CPU run loop, exit and reaping.
//! * [`syscall`]: write, exit, yield, sleep, map (and a test-only copy loop).
//! * [`usercopy`]: `copy_from_user`/`copy_to_user` with machine-check
//!   recovery through the exception-fixup table.
//!
//! Machine-check recovery (issue 8):
//! * SRAR in user mode: the #MC handler calls [`mce_kill_current`] (atomics
//!   only), which marks the current task killed and makes the exception
//!   return land in a kernel stub on the task's kernel stack that enters the
//!   exit path. The reaper prints `task <id> <name> killed: machine check
//!   (SRAR) at physical <pa>, virtual <va>`.
//! * SRAR in a recoverable copy: [`usercopy::mce_fixup`]; the system call
//!   fails with EFAULT.
//! * memory_failure (normal context, any severity with a usable address):
//!   [`memory_failure`] unmaps the page from every task mapping it. It kills
//!   late by default (Linux's default `vm.memory_failure_early_kill=0`): a
//!   task is killed only when it touches the page again ([`user_fault`]
//!   finds the page fault on a page memory failure took). With
//!   `mce.early_kill=on` it kills every mapper of an action-optional (SRAO)
//!   or UCNA page at once. An SRAR's consumer was dealt with by the #MC
//!   handler (killed, or its copy failed), so memory_failure kills nobody
//!   for it, in either mode.
//!
//! Frames a machine check reported but memory_failure has not yet retired
//! are quarantined: a task that exits meanwhile does not hand them back to
//! the allocator (where another task could get them first).

pub mod address_space;
pub mod programs;
pub mod scheduler;
pub mod syscall;
pub mod syscall_mce;
pub mod usercopy;

use crate::mca::record::Severity;
use address_space::{Access, AddressSpace};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use spin::Mutex;
use x86_64::structures::idt::InterruptStackFrame;

/// Where a task's program image starts (offset in user space).
pub const CODE_OFFSET: u64 = 0x40_0000;
/// The top of a task's stack (offset in user space); one page below it.
pub const STACK_TOP_OFFSET: u64 = 0x80_0000;
/// Where pages from the map system call go (offset in user space).
pub const DATA_OFFSET: u64 = 0x100_0000;
/// User pages a task can have (code, stack and data together).
pub const MAX_PAGES: usize = 32;
/// Each task's kernel stack (traps, system calls, the #MC exit path).
const KSTACK_SIZE: usize = 32 * 1024;

/// Task states.
pub const READY: u8 = 0;
pub const RUNNING: u8 = 1;
pub const SLEEPING: u8 = 2;
pub const DEAD: u8 = 3;

/// A task's blocking wait (mce_poll): none; blocked (a [`wake`] ends its
/// sleep); woken while blocked; woken while not blocked (the next wait
/// returns at once, so a wake-up just before a wait is not lost).
pub const WAIT_NONE: u8 = 0;
pub const WAIT_BLOCKED: u8 = 1;
pub const WAIT_WOKEN: u8 = 2;
pub const WAIT_PENDING: u8 = 3;

/// Why a task is being killed.
pub const KILL_NONE: u8 = 0;
pub const KILL_CONSOLE: u8 = 1;
pub const KILL_MACHINE_CHECK: u8 = 2;
pub const KILL_FAULT: u8 = 3;
/// A page fault on a page memory failure took away (late kill).
pub const KILL_POISON_TOUCH: u8 = 4;
/// A writer is filling in the details.
const KILL_CLAIMED: u8 = 0xff;

/// What a user page is for.
pub const PAGE_CODE: u8 = 1;
pub const PAGE_STACK: u8 = 2;
pub const PAGE_DATA: u8 = 3;
/// Flag: the page was taken away (memory failure).
pub const PAGE_GONE: u8 = 0x80;

/// One user page; lock-free so the #MC handler can look pages up.
struct PageSlot {
    va: AtomicU64,
    pa: AtomicU64,
    /// 0: unused; PAGE_* possibly with PAGE_GONE.
    kind: AtomicU8,
    /// The severity of the error that took the page away (with PAGE_GONE).
    sev: AtomicU8,
}

/// A user task.
pub struct Task {
    pub id: u32,
    pub name: &'static str,
    /// The CPU the task must run on, if pinned.
    pub pin: Option<u32>,
    /// The task that started it through the spawn system call (0: none).
    pub parent: u32,
    state: AtomicU8,
    /// What the task asked for when it last switched to the scheduler.
    next: AtomicU8,
    /// The CPU it runs or last ran on (u32::MAX: never ran).
    cpu: AtomicU32,
    wake_at_us: AtomicU64,
    /// WAIT_*: whether a sleep ends early on [`wake`] (a blocking wait).
    waiting: AtomicU8,
    kill: AtomicU8,
    /// Details of the kill: severity (machine check), physical and virtual
    /// address (machine check) or fault address and RIP (fault).
    kill_sev: AtomicU8,
    kill_pa: AtomicU64,
    kill_va: AtomicU64,
    /// The fault's name (pointer and length of a `&'static str`).
    fault_name: (AtomicUsize, AtomicUsize),
    exit_code: AtomicU64,
    /// The kernel stack pointer saved by the last switch away from it.
    saved_rsp: AtomicU64,
    /// How often a CPU switched to the task (each switch loads its CR3,
    /// which drops stale user translations).
    switch_ins: AtomicU64,
    _kstack: Box<[u8]>,
    kstack_top: u64,
    /// The PML4 (physical), for CR3.
    root: u64,
    aspace: Mutex<AddressSpace>,
    pages: [PageSlot; MAX_PAGES],
    npages: AtomicUsize,
    data_pages: AtomicU32,
}

/// Every task that is not yet reaped.
static TASKS: Mutex<Vec<Arc<Task>>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Frames reported by a machine check and not yet retired (page address
/// plus one; 0: free slot).
static QUARANTINE: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// Keeps `pa`'s frame from being freed until memory_failure has retired it.
/// Any context.
pub fn quarantine(pa: u64) {
    let v = (pa & !0xfff) + 1;
    if QUARANTINE.iter().any(|q| q.load(Ordering::SeqCst) == v) {
        return;
    }
    for q in &QUARANTINE {
        if q.compare_exchange(0, v, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

fn unquarantine(pa: u64) {
    let v = (pa & !0xfff) + 1;
    for q in &QUARANTINE {
        let _ = q.compare_exchange(v, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

fn is_quarantined(pa: u64) -> bool {
    let v = (pa & !0xfff) + 1;
    QUARANTINE.iter().any(|q| q.load(Ordering::SeqCst) == v)
}

/// Picks the user slot and registers the recoverable copy routines. Call
/// once on the bootstrap processor after the frame allocator is ready.
pub fn init() {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let cr4 = Cr4::read();
    if cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION) {
        // The copy routines do not use stac/clac.
        // SAFETY: clearing SMAP only allows the kernel to touch user pages.
        unsafe { Cr4::write(cr4 - Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION) };
    }
    if cr4.contains(Cr4Flags::FSGSBASE) {
        crate::warn!("tasks: CR4.FSGSBASE is on: user code could change GS base");
    }
    let (start, end) = usercopy::range();
    let (out_start, out_end) = usercopy::to_user_range();
    match address_space::init() {
        Some(slot) => crate::info!(
            "tasks: user space at PML4 slot {slot} ({:#x}), NX {}; copy routines {start:#x}-{end:#x} (from user), {out_start:#x}-{out_end:#x} (to user, page faults only) {}",
            address_space::user_base(),
            if address_space::has_nx() { "on" } else { "off" },
            if usercopy::init() {
                "registered for machine-check recovery"
            } else {
                "NOT registered (fixup table full)"
            }
        ),
        None => crate::warn!("tasks: no free PML4 slot for user space; tasks cannot run"),
    }
}

impl Task {
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    pub fn state_name(&self) -> &'static str {
        match self.state() {
            READY => "ready",
            RUNNING => "running",
            SLEEPING => "sleeping",
            _ => "dead",
        }
    }

    /// The CPU it runs or last ran on.
    pub fn cpu(&self) -> Option<u32> {
        let c = self.cpu.load(Ordering::SeqCst);
        (c != u32::MAX).then_some(c)
    }

    pub fn kill_requested(&self) -> bool {
        self.kill.load(Ordering::SeqCst) != KILL_NONE
    }

    /// Marks the task to be killed; false if it already was. Any context.
    fn request_kill(&self, why: u8, sev: u8, pa: u64, va: u64) -> bool {
        if self
            .kill
            .compare_exchange(KILL_NONE, KILL_CLAIMED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        self.kill_sev.store(sev, Ordering::SeqCst);
        self.kill_pa.store(pa, Ordering::SeqCst);
        self.kill_va.store(va, Ordering::SeqCst);
        self.kill.store(why, Ordering::SeqCst);
        true
    }

    /// The user pages: (virtual, physical, kind).
    pub fn pages(&self) -> Vec<(u64, u64, u8)> {
        let n = self.npages.load(Ordering::SeqCst).min(MAX_PAGES);
        self.pages[..n]
            .iter()
            .map(|p| {
                (
                    p.va.load(Ordering::SeqCst),
                    p.pa.load(Ordering::SeqCst),
                    p.kind.load(Ordering::SeqCst),
                )
            })
            .filter(|&(_, _, k)| k != 0)
            .collect()
    }

    fn slots(&self) -> &[PageSlot] {
        &self.pages[..self.npages.load(Ordering::SeqCst).min(MAX_PAGES)]
    }

    /// The first live (mapped) page whose (virtual, physical) address
    /// satisfies `f`. Lock-free (the #MC handler uses it).
    fn live_page(&self, f: impl Fn(u64, u64) -> bool) -> Option<(u64, u64)> {
        self.slots().iter().find_map(|p| {
            let k = p.kind.load(Ordering::SeqCst);
            let (va, pa) = (p.va.load(Ordering::SeqCst), p.pa.load(Ordering::SeqCst));
            (k != 0 && k & PAGE_GONE == 0 && f(va, pa)).then_some((va, pa))
        })
    }

    /// The frame behind user page `va` (page-aligned), if mapped.
    pub fn frame_of(&self, va: u64) -> Option<u64> {
        self.live_page(|v, _| v == va).map(|(_, pa)| pa)
    }

    /// The frame and error severity of user page `va` (page-aligned) if
    /// memory failure took it away.
    fn gone_page(&self, va: u64) -> Option<(u64, u8)> {
        self.slots().iter().find_map(|p| {
            let k = p.kind.load(Ordering::SeqCst);
            (k & PAGE_GONE != 0 && p.va.load(Ordering::SeqCst) == va)
                .then(|| (p.pa.load(Ordering::SeqCst), p.sev.load(Ordering::SeqCst)))
        })
    }

    /// Counts a switch to the task (the scheduler, before loading its CR3).
    pub(crate) fn note_switch_in(&self) {
        self.switch_ins.fetch_add(1, Ordering::SeqCst);
    }

    /// The user page mapping frame `pa` (page-aligned), if any.
    pub fn page_of(&self, pa: u64) -> Option<u64> {
        self.live_page(|_, p| p == pa).map(|(va, _)| va)
    }

    /// Records a page (the task's own system call, or spawn before the task
    /// is published: one writer at a time).
    fn add_slot(&self, va: u64, pa: u64, kind: u8) -> bool {
        let n = self.npages.load(Ordering::SeqCst);
        if n >= MAX_PAGES {
            return false;
        }
        let s = &self.pages[n];
        s.va.store(va, Ordering::SeqCst);
        s.pa.store(pa, Ordering::SeqCst);
        s.kind.store(kind, Ordering::SeqCst);
        self.npages.store(n + 1, Ordering::SeqCst);
        true
    }

    /// Maps a fresh page of `kind` at `va` and records it.
    fn map_new(&self, va: u64, kind: u8, contents: &[u8]) -> Result<u64, &'static str> {
        if self.npages.load(Ordering::SeqCst) >= MAX_PAGES {
            return Err("too many pages");
        }
        let pa = address_space::zeroed_frame().ok_or("out of memory")?;
        if !contents.is_empty() {
            let n = contents.len().min(4096);
            // SAFETY: `pa` is a fresh frame of ours, mapped by the physical
            // mapping; at most one page is written.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    contents.as_ptr(),
                    crate::boot::phys_to_virt(pa) as *mut u8,
                    n,
                )
            };
        }
        let access = if kind == PAGE_CODE {
            Access::Code
        } else {
            Access::Data
        };
        if let Err(e) = self.aspace.lock().map(va, pa, access) {
            crate::boot::FRAMES.lock().free(pa);
            return Err(e);
        }
        self.add_slot(va, pa, kind);
        Ok(pa)
    }

    /// The map system call: a zeroed data page; returns its address.
    pub fn map_data_page(&self) -> Result<u64, &'static str> {
        let n = self.data_pages.load(Ordering::SeqCst) as u64;
        let va = address_space::user_base() + DATA_OFFSET + n * 4096;
        self.map_new(va, PAGE_DATA, &[])?;
        self.data_pages.store(n as u32 + 1, Ordering::SeqCst);
        Ok(va)
    }

    /// Gives every page back to the allocator except quarantined ones and
    /// pages already taken away, then the page tables. The task is not any
    /// CPU's current task any more.
    fn release_memory(&self) {
        let mut aspace = self.aspace.lock();
        for p in self.slots() {
            let k = p.kind.load(Ordering::SeqCst);
            let pa = p.pa.load(Ordering::SeqCst);
            if k != 0 && k & PAGE_GONE == 0 && !is_quarantined(pa) {
                crate::boot::FRAMES.lock().free(pa);
            }
        }
        aspace.destroy();
    }

    /// The line the reaper prints for the task's end: `task <id> <name>
    /// <outcome>`, and whether it was killed.
    fn end_message(&self) -> (bool, String, String) {
        let (killed, outcome) = self.outcome();
        (
            killed,
            format!("task {} {} {outcome}", self.id, self.name),
            outcome,
        )
    }

    /// How the task ended (`exited with code N`, `killed: ...`), and
    /// whether it was killed.
    fn outcome(&self) -> (bool, String) {
        let mut why = self.kill.load(Ordering::SeqCst);
        while why == KILL_CLAIMED {
            core::hint::spin_loop();
            why = self.kill.load(Ordering::SeqCst);
        }
        let pa = self.kill_pa.load(Ordering::SeqCst);
        let va = self.kill_va.load(Ordering::SeqCst);
        match why {
            KILL_NONE => (
                false,
                format!(
                    "exited with code {}",
                    self.exit_code.load(Ordering::SeqCst) as i64
                ),
            ),
            KILL_CONSOLE => (true, "killed: kill command".into()),
            KILL_MACHINE_CHECK | KILL_POISON_TOUCH => {
                let sev = match Severity::from_u8(self.kill_sev.load(Ordering::SeqCst)) {
                    Some(Severity::Deferred) => "UCNA",
                    Some(s) => s.name(),
                    None => "?",
                };
                if why == KILL_POISON_TOUCH {
                    return (
                        true,
                        format!(
                            "killed: machine check ({sev}) at physical {pa:#x}, virtual {va:#x}: touched the page memory failure took (late kill)"
                        ),
                    );
                }
                let at = if pa == u64::MAX {
                    String::from(" (no usable address)")
                } else if va == u64::MAX {
                    format!(" at physical {pa:#x}")
                } else {
                    format!(" at physical {pa:#x}, virtual {va:#x}")
                };
                (true, format!("killed: machine check ({sev}){at}"))
            }
            _ => {
                let (ptr, len) = (
                    self.fault_name.0.load(Ordering::SeqCst),
                    self.fault_name.1.load(Ordering::SeqCst),
                );
                // SAFETY: (ptr, len) were stored together from a `&'static
                // str` by `user_fault` before the kill reason was published.
                let name = unsafe {
                    core::str::from_utf8_unchecked(core::slice::from_raw_parts(
                        ptr as *const u8,
                        len,
                    ))
                };
                let detail = if name.starts_with("#PF") {
                    "address"
                } else {
                    "error code"
                };
                (
                    true,
                    format!("killed: {name} ({detail} {pa:#x}) at rip {va:#x}"),
                )
            }
        }
    }
}

/// Starts `program` as a new task, optionally pinned to a CPU.
pub fn spawn(program: &str, pin: Option<u32>) -> Result<Arc<Task>, String> {
    spawn_with(program, pin, &[], 0)
}

/// Room for a program's argument block at the top of its stack page.
pub const ARG_MAX: usize = 256;

/// Starts `program` with `arg` (at most [`ARG_MAX`] bytes, e.g. a trigger's
/// record) copied to the top of its stack; rdx points at it (0 if empty).
/// `parent` (0: none) learns how it ends through task_wait.
pub fn spawn_with(
    program: &str,
    pin: Option<u32>,
    arg: &[u8],
    parent: u32,
) -> Result<Arc<Task>, String> {
    if arg.len() > ARG_MAX {
        return Err(format!(
            "argument block of {} bytes (at most {ARG_MAX})",
            arg.len()
        ));
    }
    let prog = programs::find(program).ok_or_else(|| {
        let names: Vec<&str> = programs::all().iter().map(|p| p.name).collect();
        format!("no program '{program}' (programs: {})", names.join(", "))
    })?;
    if address_space::user_base() == 0 {
        return Err("no user space (see the boot log)".into());
    }
    if let Some(c) = pin {
        if c as usize >= crate::cpuset::MAX_CPUS || !crate::smp::is_online(c) {
            return Err(format!("cpu{c} is not online"));
        }
    }
    let aspace = AddressSpace::new().ok_or("out of memory for a page table")?;
    let root = aspace.root();
    let kstack: Box<[u8]> = alloc::vec![0u8; KSTACK_SIZE].into_boxed_slice();
    let kstack_top = (kstack.as_ptr_range().end as u64) & !0xf;
    let task = Arc::new(Task {
        id: NEXT_ID.fetch_add(1, Ordering::SeqCst),
        name: prog.name,
        pin,
        parent,
        state: AtomicU8::new(READY),
        next: AtomicU8::new(scheduler::NEXT_READY),
        cpu: AtomicU32::new(u32::MAX),
        wake_at_us: AtomicU64::new(0),
        waiting: AtomicU8::new(WAIT_NONE),
        kill: AtomicU8::new(KILL_NONE),
        kill_sev: AtomicU8::new(0),
        kill_pa: AtomicU64::new(0),
        kill_va: AtomicU64::new(0),
        fault_name: (AtomicUsize::new(0), AtomicUsize::new(0)),
        exit_code: AtomicU64::new(0),
        saved_rsp: AtomicU64::new(0),
        switch_ins: AtomicU64::new(0),
        _kstack: kstack,
        kstack_top,
        root,
        aspace: Mutex::new(aspace),
        pages: [const {
            PageSlot {
                va: AtomicU64::new(0),
                pa: AtomicU64::new(0),
                kind: AtomicU8::new(0),
                sev: AtomicU8::new(0),
            }
        }; MAX_PAGES],
        npages: AtomicUsize::new(0),
        data_pages: AtomicU32::new(0),
    });
    let base = address_space::user_base();
    let image = programs::image();
    let setup = || -> Result<(), &'static str> {
        for (i, chunk) in image.chunks(4096).enumerate() {
            task.map_new(base + CODE_OFFSET + i as u64 * 4096, PAGE_CODE, chunk)?;
        }
        let mut stack = [0u8; 4096];
        stack[4096 - ARG_MAX..4096 - ARG_MAX + arg.len()].copy_from_slice(arg);
        task.map_new(base + STACK_TOP_OFFSET - 4096, PAGE_STACK, &stack)?;
        Ok(())
    };
    if let Err(e) = setup() {
        task.release_memory();
        return Err(e.into());
    }
    let tsc_per_sec = crate::arch::x86_64::tsc::khz() * 1000;
    scheduler::prepare(
        &task,
        base + CODE_OFFSET + prog.entry as u64,
        base + STACK_TOP_OFFSET - if arg.is_empty() { 0 } else { ARG_MAX as u64 },
        [
            task.id as u64,
            tsc_per_sec,
            if arg.is_empty() {
                0
            } else {
                base + STACK_TOP_OFFSET - ARG_MAX as u64
            },
        ],
    );
    TASKS.lock().push(task.clone());
    Ok(task)
}

/// Every live task, by id.
pub fn list() -> Vec<Arc<Task>> {
    let mut v = TASKS.lock().clone();
    v.sort_by_key(|t| t.id);
    v
}

pub fn find(id: u32) -> Option<Arc<Task>> {
    TASKS.lock().iter().find(|t| t.id == id).cloned()
}

/// Ends task `id`'s blocking wait, if it is in one (a record for its
/// reader, a child that ended), so it runs at the next pick instead of at
/// its timeout, as /dev/mcelog's wake-ups end a reader's poll. Normal
/// context; a task not waiting is left alone.
pub fn wake(id: u32) {
    if let Some(t) = find(id) {
        t.wake();
    }
}

impl Task {
    /// [`wake`] for a task in hand. A wake-up while it is not waiting stays
    /// pending, so one that comes just before its next wait is not lost.
    fn wake(&self) {
        let _ = self
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| match w {
                WAIT_BLOCKED => Some(WAIT_WOKEN),
                WAIT_NONE => Some(WAIT_PENDING),
                _ => None,
            });
    }
}

/// How a child task ended, kept for its parent's task_wait.
struct ChildEnd {
    parent: u32,
    child: u32,
    outcome: String,
}

/// Ends of children their parents have not asked about yet, oldest first.
static CHILD_ENDS: Mutex<Vec<ChildEnd>> = Mutex::new(Vec::new());
/// Kept per parent; an older one is dropped (and said) past this.
const CHILD_ENDS_MAX: usize = 16;

/// The reaper's part: `task` ended with `outcome`; its parent, if any, can
/// learn it with [`child_outcome`] and is woken. A parent's unclaimed
/// children's ends go with it.
fn child_ended(task: &Task, outcome: &str) {
    let mut ends = CHILD_ENDS.lock();
    ends.retain(|e| e.parent != task.id);
    // A parent being reaped (DEAD, not yet out of the list) has had its
    // ends cleared or will have them cleared after this lock: keep none
    // for it.
    let Some(parent) = find(task.parent).filter(|p| task.parent != 0 && p.state() != DEAD) else {
        return;
    };
    let mut dropped = None;
    if ends.iter().filter(|e| e.parent == parent.id).count() >= CHILD_ENDS_MAX {
        let i = ends.iter().position(|e| e.parent == parent.id).unwrap();
        dropped = Some(ends.remove(i));
    }
    ends.push(ChildEnd {
        parent: parent.id,
        child: task.id,
        outcome: outcome.into(),
    });
    drop(ends);
    if let Some(old) = dropped {
        crate::warn!(
            "task {}: the end of its child task {} ({}) was never asked for and is dropped",
            old.parent,
            old.child,
            old.outcome
        );
    }
    parent.wake();
}

/// For task_wait: how child `child` of `parent` ended (taken: asked once),
/// `Ok(None)` if it still runs, `Err` if it is no child of `parent`.
pub fn child_outcome(parent: u32, child: u32) -> Result<Option<String>, ()> {
    let mut ends = CHILD_ENDS.lock();
    if let Some(i) = ends
        .iter()
        .position(|e| e.parent == parent && e.child == child)
    {
        return Ok(Some(ends.remove(i).outcome));
    }
    // Still under the lock (the reaper's order: CHILD_ENDS, then TASKS): a
    // child's end is kept before it leaves the task list, so it is found
    // in one or the other.
    match find(child) {
        Some(t) if t.parent == parent => Ok(None),
        _ => Err(()),
    }
}

/// Puts back an end [`child_outcome`] took, for the next task_wait (the
/// caller could not copy it out).
pub fn child_outcome_put_back(parent: u32, child: u32, outcome: String) {
    CHILD_ENDS.lock().insert(
        0,
        ChildEnd {
            parent,
            child,
            outcome,
        },
    );
}

/// The `kill` command: the task ends at its next entry into the kernel or
/// the next time a CPU looks at it (within a tick).
pub fn kill(id: u32) -> Result<Arc<Task>, String> {
    let t = find(id).ok_or_else(|| format!("no task {id}"))?;
    if !t.request_kill(KILL_CONSOLE, 0, 0, 0) {
        return Err(format!("task {id} is already being killed"));
    }
    Ok(t)
}

/// The #MC handler's hook for consumed poison in user mode (SRAR graded
/// action-required in `Context::User` on this CPU). IST-safe: atomics only,
/// no lock, no allocation. Marks the current task killed and redirects
/// `frame` so the exception returns into the exit path (ring 0, on the
/// task's kernel stack) instead of the poisoned instruction. When the bank
/// gave an address the current task does not map (an injected error aimed
/// at another task), the task is left alone and memory_failure kills the
/// task that maps the page. Returns true when the frame was redirected.
pub fn mce_kill_current(frame: &mut InterruptStackFrame, paddr: Option<u64>) -> bool {
    let Some(task) = scheduler::current() else {
        return false;
    };
    // The page may already be gone from the task's map (an earlier SRAO
    // unmapped it while this CPU still had it in its TLB): the task consumed
    // poison all the same and must not resume, so it dies either way; the
    // virtual address is then unknown.
    let va = match paddr {
        Some(pa) => task
            .page_of(pa & !0xfff)
            .map_or(u64::MAX, |v| v | (pa & 0xfff)),
        None => u64::MAX,
    };
    if let Some(pa) = paddr {
        quarantine(pa);
    }
    task.request_kill(
        KILL_MACHINE_CHECK,
        Severity::ActionRequired as u8,
        paddr.unwrap_or(u64::MAX),
        va,
    );
    scheduler::redirect_to_exit(frame, task);
    true
}

/// A CPU exception in user mode: the task is killed, the kernel goes on.
/// Runs on the task's kernel stack (these exceptions have no IST), so it
/// switches straight to the exit path. Returns only when no task is current
/// (then the caller treats it as a kernel bug).
pub fn user_fault(name: &'static str, addr: u64, frame: &InterruptStackFrame) {
    let Some(task) = scheduler::current() else {
        return;
    };
    // Late kill: the page fault hit a page memory failure took away.
    if name.starts_with("#PF") {
        if let Some((pa, sev)) = task.gone_page(addr & !0xfff) {
            crate::error!(
                "MCE: Killing {}:{} due to hardware memory corruption fault at {addr:#x}",
                task.name,
                task.id
            );
            task.request_kill(KILL_POISON_TOUCH, sev, pa | (addr & 0xfff), addr);
            scheduler::exit_current()
        }
    }
    task.fault_name
        .0
        .store(name.as_ptr() as usize, Ordering::SeqCst);
    task.fault_name.1.store(name.len(), Ordering::SeqCst);
    task.request_kill(KILL_FAULT, 0, addr, frame.instruction_pointer.as_u64());
    scheduler::exit_current()
}

/// memory_failure's part for user tasks (normal context): every task that
/// maps the page holding `addr` loses it. Who is killed now (see the module
/// doc): with `early`, every mapper of an action-optional or UCNA page;
/// otherwise nobody, and a mapper dies when it touches the page again.
pub fn memory_failure(addr: u64, severity: Severity) {
    let early = crate::boot::config().early_kill;
    let page = addr & !0xfff;
    let mut unmapped: Vec<Arc<Task>> = Vec::new();
    for t in list() {
        let Some(va) = t.page_of(page) else { continue };
        let vaddr = va | (addr & 0xfff);
        t.aspace.lock().unmap(va);
        for s in t.slots() {
            if s.va.load(Ordering::SeqCst) == va {
                s.sev.store(severity as u8, Ordering::SeqCst);
                s.kind.fetch_or(PAGE_GONE, Ordering::SeqCst);
            }
        }
        let fate = if t.kill_requested() {
            "the task was already being killed"
        } else if early && severity != Severity::ActionRequired {
            if t.request_kill(KILL_MACHINE_CHECK, severity as u8, addr, vaddr) {
                "the task is killed"
            } else {
                "the task was already being killed"
            }
        } else {
            "late kill: the task is killed if it touches the page"
        };
        crate::warn!(
            "Memory failure: {:#x}: unmapped from task {} {} (virtual {vaddr:#x}); {fate}",
            page >> 12,
            t.id,
            t.name
        );
        unmapped.push(t);
    }
    unquarantine(page);
    // A CPU running one of these tasks may still hold the old translation;
    // it drops it at its next switch (the tick), which is waited for here,
    // so a task that goes on faults on its next touch.
    let deadline = crate::arch::x86_64::tsc::now_us() + 200_000;
    for t in unmapped {
        let seen = t.switch_ins.load(Ordering::SeqCst);
        while t.state() == RUNNING
            && t.switch_ins.load(Ordering::SeqCst) == seen
            && crate::arch::x86_64::tsc::now_us() < deadline
        {
            core::hint::spin_loop();
        }
    }
}
