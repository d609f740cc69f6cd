//! Application processors: discovery from the MADT and start-up with
//! INIT-SIPI-SIPI through the real-mode trampoline. Each AP gets its own
//! stack, GDT, TSS and IST stacks, per-CPU area and local APIC set-up, runs
//! the machine-check per-CPU init, and reports in. An AP that does not report
//! in within the time limit is named and left out; nobody waits for it again.

use crate::arch::x86_64::percpu;
use crate::arch::x86_64::{apic, gdt, idt, trampoline, tsc};
use crate::boot::{phys_to_virt, FRAMES};
use crate::cpuset::{AtomicCpuSet, CpuSet, MAX_CPUS};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use x86_64::registers::control::{Cr0, Cr3, Cr4, Cr4Flags};

/// Bit per logical CPU that has reported in.
static ONLINE: AtomicCpuSet = AtomicCpuSet::new();
/// Each logical CPU's APIC id (u32::MAX when unknown).
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(u32::MAX) }; MAX_CPUS];

/// What the BSP runs with, for the APs to copy.
static KERNEL_CR3: AtomicU64 = AtomicU64::new(0);
static KERNEL_CR0: AtomicU64 = AtomicU64::new(0);
static KERNEL_CR4: AtomicU64 = AtomicU64::new(0);

const AP_STACK_SIZE: usize = 64 * 1024;
/// How long an AP may take to claim its start-up parameters (its first
/// sign of life in the trampoline) after its SIPIs.
const AP_START_TIMEOUT_US: u64 = 500_000;
/// How long an AP that has claimed them (so is running) may take to report
/// in; Linux gives an AP 10 s for its first sign of life.
const AP_CALLIN_TIMEOUT_US: u64 = 10_000_000;

/// Records that `cpu` (with `apic_id`) is up.
pub fn mark_online(cpu: u32, apic_id: u32) {
    APIC_IDS[cpu as usize].store(apic_id, Ordering::SeqCst);
    ONLINE.insert(cpu);
}

/// Records that `cpu` left service (see `mca::offline`).
pub fn mark_offline(cpu: u32) {
    ONLINE.remove(cpu);
}

/// The CPUs that are up and take part in rendezvous and broadcasts.
pub fn online() -> CpuSet {
    ONLINE.load()
}

pub fn is_online(cpu: u32) -> bool {
    ONLINE.contains(cpu)
}

pub fn online_count() -> u32 {
    online().count()
}

/// True when any application processor runs (so IPIs have receivers).
pub fn others_started() -> bool {
    online_count() > 1
}

pub fn apic_id_of(cpu: u32) -> Option<u32> {
    let v = APIC_IDS.get(cpu as usize)?.load(Ordering::SeqCst);
    (v != u32::MAX).then_some(v)
}

/// Page-table frames for the trampoline: a copy of the kernel's PML4 whose
/// entry 0 maps the trampoline page at its own physical address, so the AP
/// survives turning paging on in the middle of the trampoline. Everything is
/// below 4 GiB because real mode loads CR3 from a 32-bit register.
fn trampoline_page_tables(tramp: u64) -> Option<u64> {
    let mut frames = FRAMES.lock();
    let mut alloc = || {
        let f = frames.alloc_below(1 << 32)?;
        // SAFETY: a fresh frame from the allocator, mapped by the physical
        // mapping; zeroing it touches nothing else.
        unsafe { core::ptr::write_bytes(phys_to_virt(f) as *mut u8, 0, 4096) };
        Some(f)
    };
    let (pml4, pdpt, pd, pt) = (alloc()?, alloc()?, alloc()?, alloc()?);
    let kernel_pml4 = Cr3::read().0.start_address().as_u64();
    let entry = |table: u64, index: u64, value: u64| {
        // SAFETY: `table` is one of the frames allocated above (mapped, ours)
        // and index < 512.
        unsafe { *((phys_to_virt(table) + index * 8) as *mut u64) = value };
    };
    for i in 0..512 {
        // SAFETY: reading the live kernel PML4 through the physical mapping.
        let v = unsafe { *((phys_to_virt(kernel_pml4) + i * 8) as *const u64) };
        entry(pml4, i, v);
    }
    const P_RW: u64 = 0b11;
    entry(pml4, (tramp >> 39) & 511, pdpt | P_RW);
    entry(pdpt, (tramp >> 30) & 511, pd | P_RW);
    entry(pd, (tramp >> 21) & 511, pt | P_RW);
    entry(pt, (tramp >> 12) & 511, tramp | P_RW);
    Some(pml4)
}

fn write_at<T: Copy>(base: u64, off: usize, v: T) {
    // SAFETY: `base` is the trampoline page (mapped, ours, not executing on
    // any CPU while the BSP patches it) and `off` is a variable inside it.
    unsafe { core::ptr::write_unaligned((base + off as u64) as *mut T, v) };
}

/// Starts every enabled AP the MADT lists. Returns how many came up.
pub fn start_aps() -> u32 {
    let me = apic::id();
    let procs = match crate::firmware::glue::acpi::processors(me) {
        Ok(p) => p,
        Err(e) => {
            warn!("smp: cannot enumerate processors ({e}); running on the boot CPU only");
            return 0;
        }
    };
    info!(
        "smp: MADT: boot CPU APIC id {}{}, {} application processor(s) ({} x2APIC entries), {} disabled, {} entries skipped",
        me,
        if procs.bsp.is_some() { "" } else { " (not listed)" },
        procs.aps.len(),
        procs.aps.iter().filter(|p| p.x2apic).count(),
        procs.disabled,
        procs.skipped
    );
    if procs.aps.is_empty() {
        return 0;
    }
    let Some(tramp) = FRAMES.lock().alloc_below(0x10_0000) else {
        warn!("smp: no free page below 1 MiB for the start-up trampoline");
        return 0;
    };
    let Some(cr3) = trampoline_page_tables(tramp) else {
        warn!("smp: no memory below 4 GiB for the trampoline's page tables");
        return 0;
    };
    KERNEL_CR3.store(Cr3::read().0.start_address().as_u64(), Ordering::SeqCst);
    KERNEL_CR0.store(Cr0::read().bits(), Ordering::SeqCst);
    KERNEL_CR4.store(
        (Cr4::read() - Cr4Flags::MACHINE_CHECK_EXCEPTION).bits(),
        Ordering::SeqCst,
    );

    let code = trampoline::code();
    let base = phys_to_virt(tramp);
    // SAFETY: the trampoline page is ours (allocated above) and large
    // enough for the code (checked: well under 4 KiB).
    unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), base as *mut u8, code.len().min(4096)) };
    let l = trampoline::layout();
    write_at(base, l.gdt_ptr_base, (tramp + l.gdt as u64) as u32);
    write_at(base, l.far_target, (tramp + l.long_mode as u64) as u32);
    write_at(base, l.cr3, cr3 as u32);
    // PAE and PGE; the rest of CR4 is restored in Rust.
    write_at(base, l.cr4, 0xa0u32);
    write_at(base, l.entry, ap_entry as *const () as u64);

    let heap_before = crate::mm::glue::heap::used();
    let withhold = crate::boot::config().test_withhold_cpu;
    let mut started = 0;
    let mut next_cpu = 1u32;
    // The parser left out the boot CPU and repeated ids (one CPU listed as
    // both type 0 and type 9), so nobody INITs itself or a CPU twice.
    for apic_id in procs.aps.iter().map(|p| p.apic_id) {
        if !apic::is_x2apic() && apic_id > 254 {
            warn!("smp: APIC id {apic_id} left offline: xAPIC mode addresses ids up to 254 only");
            continue;
        }
        if next_cpu as usize >= MAX_CPUS {
            warn!("smp: APIC id {apic_id} left offline: more than {MAX_CPUS} CPUs");
            continue;
        }
        let cpu = next_cpu;
        let stack = alloc::vec![0u8; AP_STACK_SIZE].leak();
        let top = (stack.as_ptr_range().end as u64) & !0xf;
        write_at(base, l.stack, top);
        write_at(base, l.arg, cpu as u64);
        // The id first, then the claim opened (the AP reads them in turn).
        word(base, l.want).store(apic_id, Ordering::SeqCst);
        word(base, l.claim).store(trampoline::CLAIM_OPEN, Ordering::SeqCst);
        if withhold == Some(cpu) {
            // Test hook: this CPU never gets its start-up IPIs.
            warn!(
                "smp: cpu{cpu} (APIC id {apic_id}): start-up IPIs withheld (smp.test_withhold_cpu)"
            );
        } else {
            // The id is addressable in this mode (checked above).
            let _ = apic::send_ipi(apic::Dest::Apic(apic_id), apic::Delivery::Init);
            tsc::delay_us(10_000);
            let vector = (tramp >> 12) as u8;
            let _ = apic::send_ipi(apic::Dest::Apic(apic_id), apic::Delivery::Startup(vector));
            tsc::delay_us(200);
            // A second SIPI if the first was missed (the AP has not even
            // claimed its parameters yet), as the SDM's sequence has.
            if word(base, l.claim).load(Ordering::SeqCst) == trampoline::CLAIM_OPEN {
                let _ = apic::send_ipi(apic::Dest::Apic(apic_id), apic::Delivery::Startup(vector));
            }
        }
        next_cpu += 1;
        match await_ap(word(base, l.claim), word(base, l.stray), cpu, apic_id) {
            Ok(true) => started += 1,
            Ok(false) => {}
            Err(()) => break,
        }
    }
    info!(
        "smp: {} of {} CPUs online",
        online_count(),
        procs.aps.len() + 1
    );
    report_percpu_memory(
        crate::mm::glue::heap::used().saturating_sub(heap_before),
        next_cpu - 1,
    );
    started
}

/// One line: what each started CPU cost (measured as heap growth while the
/// APs started: kernel and IST stacks, GDT/TSS, per-CPU area, its MCA
/// set-up), plus the per-CPU slots of the static tables sized MAX_CPUS
/// (mailboxes, APIC ids, rendezvous arrival/exit times and positions).
fn report_percpu_memory(heap_bytes: usize, cpus_started: u32) {
    if cpus_started == 0 {
        return;
    }
    let per_ap = heap_bytes / cpus_started as usize;
    let stacks = AP_STACK_SIZE + 3 * gdt::IST_STACK_SIZE;
    let statics = (core::mem::size_of_val(&MAILBOXES)
        + core::mem::size_of_val(&IDLE_MAILBOXES)
        + core::mem::size_of_val(&APIC_IDS))
        / MAX_CPUS
        + crate::mca::exception::glue::handler::RENDEZVOUS.per_cpu_bytes();
    let n = online_count() as usize;
    info!(
        "percpu: {} bytes per CPU ({per_ap} allocated per started CPU, of them {stacks} stacks; {statics} in static per-CPU slots), {} KiB for {n} CPUs",
        per_ap + statics,
        ((per_ap + statics) * n) >> 10
    );
}

/// A 32-bit word of the trampoline shared with the AP (the claim word, the
/// wanted and the stray APIC id: see `trampoline`).
fn word(base: u64, off: usize) -> &'static AtomicU32 {
    // SAFETY: each such word is a 4-byte-aligned u32 inside the trampoline
    // page, which stays allocated and mapped for the kernel's lifetime; the
    // AP touches it only with atomic instructions.
    unsafe { &*((base + off as u64) as *const AtomicU32) }
}

/// Spins until `done` or `timeout_us` has passed; whether `done`.
fn spin_until(timeout_us: u64, done: impl Fn() -> bool) -> bool {
    let deadline = tsc::now_us() + timeout_us;
    while !done() && tsc::now_us() < deadline {
        core::hint::spin_loop();
    }
    done()
}

/// Waits for `cpu` (APIC id `apic_id`) to come up, then leaves the
/// trampoline page free for the next AP. `Ok(online)`; `Err` if the page
/// cannot be reused (the AP stopped halfway through taking its parameters).
///
/// An AP that has not claimed its parameters within [`AP_START_TIMEOUT_US`]
/// is left out: its claim is revoked and it is sent INIT, so that it can
/// neither take the next AP's stack and number later nor run on. One that
/// has claimed them runs kernel code on its own stack, however slowly (a
/// host running hundreds of vCPUs on two cores): it gets
/// [`AP_CALLIN_TIMEOUT_US`], and its number and stack stay reserved if it
/// does not report in even then.
fn await_ap(claim: &AtomicU32, stray: &AtomicU32, cpu: u32, apic_id: u32) -> Result<bool, ()> {
    let open = trampoline::CLAIM_OPEN;
    spin_until(AP_START_TIMEOUT_US, || claim.load(Ordering::SeqCst) != open);
    if claim
        .compare_exchange(open, 0, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        let came = stray.swap(u32::MAX, Ordering::SeqCst);
        warn!(
            "smp: cpu{cpu} did not report in within {} ms; left out{}",
            AP_START_TIMEOUT_US / 1000,
            if came != u32::MAX {
                alloc::format!(" (APIC id {came} came instead of {apic_id}, and parked)")
            } else {
                alloc::string::String::new()
            }
        );
        let _ = apic::send_ipi(apic::Dest::Apic(apic_id), apic::Delivery::Init);
        return Ok(false);
    }
    if !spin_until(AP_CALLIN_TIMEOUT_US, || {
        claim.load(Ordering::SeqCst) != trampoline::CLAIM_TAKING
    }) {
        warn!("smp: cpu{cpu} stopped while taking its start-up parameters; no more APs are started after it");
        return Err(());
    }
    let up = spin_until(AP_CALLIN_TIMEOUT_US, || is_online(cpu));
    if !up {
        warn!(
            "smp: cpu{cpu} started but did not report in within {} ms; left out (its number and stack stay reserved)",
            AP_CALLIN_TIMEOUT_US / 1000
        );
    }
    Ok(up)
}

/// Where an AP lands from the trampoline, on its own stack, with the
/// trampoline's page tables and no IDT.
extern "C" fn ap_entry(cpu: u64) -> ! {
    // SAFETY: the BSP's page tables map the whole kernel and the physical
    // mapping; CR0/CR4 are the BSP's values (minus MCE, set by MCA init once
    // the IDT is loaded).
    unsafe {
        Cr3::write(
            x86_64::structures::paging::PhysFrame::containing_address(x86_64::PhysAddr::new(
                KERNEL_CR3.load(Ordering::SeqCst),
            )),
            Cr3::read().1,
        );
        Cr0::write(x86_64::registers::control::Cr0Flags::from_bits_truncate(
            KERNEL_CR0.load(Ordering::SeqCst),
        ));
        Cr4::write(Cr4Flags::from_bits_truncate(
            KERNEL_CR4.load(Ordering::SeqCst),
        ));
    }
    let cpu = cpu as u32;
    apic::init_cpu();
    let apic_id = apic::id();
    let tss = gdt::init_cpu();
    percpu::init(cpu, apic_id, tss);
    idt::load();
    crate::mca::glue::init::init_cpu(cpu as usize, apic_id);
    mark_online(cpu, apic_id);
    apic::start_timer(crate::timer::TICK_MS);
    crate::idle::ap_idle()
}

/// A function one CPU asks another to run (Linux's smp_call_function_single):
/// posted in the target's mailbox and kicked with a fixed-vector IPI; it runs
/// in the target's interrupt context.
struct Mailbox {
    /// 0 idle, 1 posted, 2 running (or being posted), 3 done, 4 running but
    /// abandoned by a caller that timed out.
    state: core::sync::atomic::AtomicU8,
    func: core::sync::atomic::AtomicUsize,
    arg: AtomicU64,
}

static MAILBOXES: [Mailbox; MAX_CPUS] = [const {
    Mailbox {
        state: core::sync::atomic::AtomicU8::new(0),
        func: core::sync::atomic::AtomicUsize::new(0),
        arg: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// Calls to run in a CPU's idle loop (normal context, may allocate).
static IDLE_MAILBOXES: [Mailbox; MAX_CPUS] = [const {
    Mailbox {
        state: core::sync::atomic::AtomicU8::new(0),
        func: core::sync::atomic::AtomicUsize::new(0),
        arg: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// A call in flight.
pub struct Call {
    cpu: u32,
    boxes: &'static [Mailbox; MAX_CPUS],
}

impl Call {
    /// Waits (bounded) for the call to finish; false on timeout.
    pub fn wait(self, timeout_us: u64) -> bool {
        let mb = &self.boxes[self.cpu as usize];
        let deadline = tsc::now_us() + timeout_us;
        while mb.state.load(Ordering::SeqCst) != 3 {
            if tsc::now_us() > deadline {
                return Self::give_up(mb);
            }
            core::hint::spin_loop();
        }
        mb.state.store(0, Ordering::SeqCst);
        true
    }

    /// After a timeout the mailbox must not stay taken: a call that never
    /// started is withdrawn; one still running is marked abandoned and its
    /// CPU frees the mailbox when it finishes. Returns whether it finished.
    fn give_up(mb: &Mailbox) -> bool {
        let cas = |from, to| {
            mb.state
                .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        };
        if cas(1, 0) || cas(2, 4) {
            return false;
        }
        // It finished just now.
        cas(3, 0)
    }
}

/// Asks `cpu` to run `f(arg)` in interrupt context. The calling CPU must not
/// be `cpu` (call `f` directly instead).
pub fn call_on(cpu: u32, f: fn(u64), arg: u64) -> Result<Call, &'static str> {
    post(&MAILBOXES, cpu, f, arg, idt::vector::CALL)
}

/// Asks `cpu` to run `f(arg)` from its idle loop, in normal context (for
/// work that allocates or takes locks an interrupt must not take). The
/// WAKE IPI gets it out of `hlt`.
pub fn call_in_idle(cpu: u32, f: fn(u64), arg: u64) -> Result<Call, &'static str> {
    post(&IDLE_MAILBOXES, cpu, f, arg, idt::vector::WAKE)
}

/// Runs the calling CPU's idle-loop call, if one is posted.
pub fn run_idle_call() {
    run_posted(&IDLE_MAILBOXES[percpu::current().index as usize]);
}

fn post(
    boxes: &'static [Mailbox; MAX_CPUS],
    cpu: u32,
    f: fn(u64),
    arg: u64,
    vector: u8,
) -> Result<Call, &'static str> {
    if cpu == percpu::current().index {
        return Err("cannot post a call to the calling CPU");
    }
    if !is_online(cpu) {
        return Err("CPU is not online");
    }
    let apic_id = apic_id_of(cpu).ok_or("CPU has no APIC id")?;
    let mb = &boxes[cpu as usize];
    if mb
        .state
        .compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return Err("CPU is busy with another call");
    }
    mb.func.store(f as usize, Ordering::SeqCst);
    mb.arg.store(arg, Ordering::SeqCst);
    mb.state.store(1, Ordering::SeqCst);
    if apic::send_ipi(apic::Dest::Apic(apic_id), apic::Delivery::Fixed(vector)).is_err() {
        mb.state.store(0, Ordering::SeqCst);
        return Err("CPU's APIC id is not addressable in this APIC mode");
    }
    Ok(Call { cpu, boxes })
}

/// The CALL vector's handler: runs this CPU's posted function, if any.
/// Takes the cross-CPU call vector (before the first IDT load).
pub fn register() {
    idt::set_handler(idt::vector::CALL, |_| call_interrupt(), idt::Eoi::After);
}

pub fn call_interrupt() {
    run_posted(&MAILBOXES[percpu::current().index as usize]);
}

fn run_posted(mb: &Mailbox) {
    if mb
        .state
        .compare_exchange(1, 2, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        let raw = mb.func.load(Ordering::SeqCst);
        // SAFETY: `raw` was stored by `call_on` from a `fn(u64)` and is
        // turned back into the same type.
        let f: fn(u64) = unsafe { core::mem::transmute::<usize, fn(u64)>(raw) };
        f(mb.arg.load(Ordering::SeqCst));
        // Done; if the caller gave up meanwhile (4), nobody will collect
        // the result, so free the mailbox.
        if mb
            .state
            .compare_exchange(2, 3, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            mb.state.store(0, Ordering::SeqCst);
        }
    }
}
