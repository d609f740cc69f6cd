//! The software injector: executes records of the mce-inject language
//! ([`crate::mca::inject::language as inject`]). Bank values are staged for the target CPU and
//! applied on that CPU itself (MSRs are per CPU): written to the bank MSRs
//! where the CPU accepts it (QEMU does), otherwise into the software overlay
//! the handler and poller read through. Then the path the record names runs
//! for real: `EXCP` raises #MC (`int 18`) on the target and, when
//! broadcast, makes every other CPU enter the handler through NMIs or a
//! fixed-vector IPI, so the rendezvous runs; `POLL` runs the poller on the
//! target; `CMCI` raises the CMCI vector there; `HOLD` only stages, and the
//! next trigger of the same input raises the held records too, each on its
//! CPU in its own mode (mce-inject's rule: with `NOBROADCAST` only the CPUs
//! without a record stay out of the rendezvous).
//! `EXCP` with `IN_PROC` raises the #MC when the target CPU next returns to
//! user mode (from a tick or system call of a task), so the handler sees a
//! user task as the interrupted context, as when a task consumes poison;
//! without it the interrupted context is the kernel's IPI handler. A record
//! with `RIP cs:ip` is graded with that CS:IP instead of the real frame, so
//! with `IN_PROC` it is raised at once (mce-inject's process context).

use crate::arch::x86_64::apic::{self, Delivery, Dest};
use crate::arch::x86_64::idt::vector;
use crate::arch::x86_64::percpu;
use crate::cpuset::{AtomicCpuSet, CpuSet, MAX_CPUS};
use crate::mca::glue::hw_msr::HwMsr;
use crate::mca::inject::language::{Broadcast, Context as InjContext, Injection, Mode};
use crate::mca::msr::Msr;
use crate::mca::record::CpuVendor;
use crate::mca::regs::{self, mcg_status};
use crate::mca::{exception::glue::handler, glue::state};
use crate::smp;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use x86_64::structures::idt::InterruptStackFrame;

/// Values staged for one CPU, applied by that CPU.
struct Staged {
    pending: AtomicBool,
    has_bank: AtomicBool,
    bank: AtomicU8,
    status: AtomicU64,
    addr: AtomicU64,
    misc: AtomicU64,
    mcgstatus: AtomicU64,
}

static STAGED: [Staged; MAX_CPUS] = [const {
    Staged {
        pending: AtomicBool::new(false),
        has_bank: AtomicBool::new(false),
        bank: AtomicU8::new(0),
        status: AtomicU64::new(0),
        addr: AtomicU64::new(0),
        misc: AtomicU64::new(0),
        mcgstatus: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// CPUs to enter #MC through the fixed-vector IPI.
static IRQ_BROADCAST: AtomicCpuSet = AtomicCpuSet::new();

/// CPUs that raise their staged #MC at their next return to user mode
/// (`IN_PROC`), and for each the CPUs to pull in, by NMI or else by the
/// fixed-vector IPI.
static AT_USER_RETURN: AtomicCpuSet = AtomicCpuSet::new();
static USER_RETURN_OTHERS: [spin::Mutex<CpuSet>; MAX_CPUS] =
    [const { spin::Mutex::new(CpuSet::EMPTY) }; MAX_CPUS];
static USER_RETURN_NMI: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// CPUs holding a record (`HOLD`) that the next trigger of the same input
/// raises too, each in its own record's mode, as mce-inject writes every
/// held record with the trigger's and Linux raises each on its CPU: with
/// `NOBROADCAST` only the CPUs without a record stay out of an #MC.
static HELD: AtomicCpuSet = AtomicCpuSet::new();
/// The mode of each held record (`mode_code`; 0: none).
static HELD_MODE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];

fn mode_code(m: Mode) -> u8 {
    match m {
        Mode::Exception => 1,
        Mode::Poll => 2,
        Mode::Cmci => 3,
    }
}

/// Raises the held records of `held` whose mode is poll or CMCI, each on
/// its CPU; returns the CPUs whose held record is an exception.
fn raise_held_polls(held: &CpuSet) -> Result<CpuSet, String> {
    let mut exceptions = CpuSet::EMPTY;
    for c in held.iter() {
        let code = HELD_MODE[c as usize].load(Ordering::SeqCst);
        if code == mode_code(Mode::Exception) {
            exceptions.insert(c);
            continue;
        }
        INJECTED_CS[c as usize].store(0, Ordering::SeqCst);
        let f = if code == mode_code(Mode::Cmci) {
            target_cmci
        } else {
            target_poll
        };
        run_on(c, f)?;
    }
    Ok(exceptions)
}

/// Executes one input (a console line, as one mce-inject file) record by
/// record: `before` sees each record before it runs, `done` its outcome.
/// Records still held at the end stay in their banks, but no later input's
/// trigger raises them.
pub fn execute_input(
    injections: &[Injection],
    mut before: impl FnMut(&Injection),
    mut done: impl FnMut(Result<String, String>),
) {
    for inj in injections {
        before(inj);
        done(execute(inj));
    }
    for c in HELD.load().iter() {
        INJECTED_CS[c as usize].store(0, Ordering::SeqCst);
    }
    HELD.clear();
}

/// Takes the set of CPUs holding a record, other than `trigger`.
fn take_held(trigger: u32) -> CpuSet {
    let held = HELD.load();
    HELD.clear();
    held.difference(&CpuSet::single(trigger))
}

/// Per CPU, the CS:IP an injected record carries (`RIP cs:ip`), for the
/// handler to grade with instead of the real frame, as Linux's mce-inject
/// passes the record's CS:IP as the registers (bit 63 of the CS word: set).
static INJECTED_CS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static INJECTED_IP: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
const INJECTED: u64 = 1 << 63;

/// The handler on `cpu`: the injected CS:IP to grade this #MC with, if the
/// record that raised it gave one (taken once).
pub fn take_injected_frame(cpu: usize) -> Option<(u16, u64)> {
    let cs = INJECTED_CS.get(cpu)?.swap(0, Ordering::SeqCst);
    (cs & INJECTED != 0).then(|| (cs as u16, INJECTED_IP[cpu].load(Ordering::SeqCst)))
}

/// Whether the bank MSRs take our writes (QEMU) or the overlay must be used.
fn msrs_writable() -> bool {
    crate::qemu::under_qemu()
}

fn stage(cpu: u32, bank: Option<(u8, u64, u64, u64)>, mcgstatus: u64) {
    let s = &STAGED[cpu as usize];
    if let Some((b, st, addr, misc)) = bank {
        s.bank.store(b, Ordering::SeqCst);
        s.status.store(st, Ordering::SeqCst);
        s.addr.store(addr, Ordering::SeqCst);
        s.misc.store(misc, Ordering::SeqCst);
    }
    s.has_bank.store(bank.is_some(), Ordering::SeqCst);
    s.mcgstatus.store(mcgstatus, Ordering::SeqCst);
    s.pending.store(true, Ordering::SeqCst);
}

/// Applies what was staged for the calling CPU (runs on that CPU).
fn apply_staged() {
    let cpu = percpu::current().index as usize;
    let s = &STAGED[cpu];
    if !s.pending.swap(false, Ordering::SeqCst) {
        return;
    }
    let has_bank = s.has_bank.load(Ordering::SeqCst);
    let b = s.bank.load(Ordering::SeqCst);
    let (st, addr, misc) = (
        s.status.load(Ordering::SeqCst),
        s.addr.load(Ordering::SeqCst),
        s.misc.load(Ordering::SeqCst),
    );
    let mcg = s.mcgstatus.load(Ordering::SeqCst);
    if msrs_writable() {
        let m = HwMsr;
        if has_bank {
            // At the bank's own addresses (SMCA on Zen), as the reader reads them.
            let smca = m.smca();
            let at = |r| regs::bank_reg(smca, b, r);
            m.write(at(regs::BankReg::Addr), addr);
            m.write(at(regs::BankReg::Misc), misc);
            m.write(at(regs::BankReg::Status), st);
        }
        m.write(regs::IA32_MCG_STATUS, mcg);
    } else {
        let ov = &state::OVERLAYS[cpu];
        if has_bank {
            ov.set_bank(b, st, addr, misc);
        }
        ov.set_mcgstatus(mcg);
    }
}

/// Raises #MC on the calling CPU.
fn raise_machine_check() {
    // SAFETY: `int 18` enters the #MC handler through the IDT like a
    // hardware machine check (same gate and IST stack); the handler returns
    // when the injected error is survivable.
    unsafe { core::arch::asm!("int 18") };
}

fn target_exception(_: u64) {
    apply_staged();
    raise_machine_check();
}

fn target_poll(_: u64) {
    apply_staged();
    // The record names its bank: read it whoever owns it by CMCI.
    crate::mca::corrected::glue::poll::poll_all_banks(
        percpu::current().index as usize,
        crate::mca::record::Source::Poll,
    );
}

fn target_cmci(_: u64) {
    apply_staged();
    // A self IPI has no destination id: it cannot fail.
    let _ = apic::send_ipi(Dest::SelfOnly, Delivery::Fixed(vector::CMCI));
}

fn target_hold(_: u64) {
    apply_staged();
}

/// Entry from the NMI handler or the MCE_IPI vector on a broadcast
/// participant: apply its staged MCG_STATUS and run the #MC handler.
/// Takes the software-broadcast vector (before the first IDT load). EOI
/// first: the handler runs a whole rendezvous.
pub fn register() {
    use crate::arch::x86_64::idt::{self, vector, Eoi};
    idt::set_handler(vector::MCE_IPI, enter_broadcast, Eoi::Before);
}

pub fn enter_broadcast(frame: &mut InterruptStackFrame) {
    let cpu = percpu::current().index;
    IRQ_BROADCAST.remove(cpu);
    apply_staged();
    handler::machine_check(frame);
}

/// Runs `f` on `cpu` (directly when it is the calling CPU) and waits.
fn run_on(cpu: u32, f: fn(u64)) -> Result<(), String> {
    if cpu == percpu::current().index {
        x86_64::instructions::interrupts::without_interrupts(|| f(0));
        return Ok(());
    }
    let call = smp::call_on(cpu, f, 0).map_err(|e| format!("cpu{cpu}: {e}"))?;
    let timeout = 3 * state::MONARCH_TIMEOUT_US.load(Ordering::Relaxed) + 1_000_000;
    if call.wait(timeout) {
        Ok(())
    } else {
        Err(format!(
            "cpu{cpu} did not finish the injection within {} ms",
            timeout / 1000
        ))
    }
}

/// Executes one injection; returns a description of what was done. A held
/// record waits for a trigger of the same input: see [`execute_input`].
pub fn execute(inj: &Injection) -> Result<String, String> {
    let online = smp::online();
    if !online.contains(inj.cpu) {
        return Err(format!("cpu{} is not online (online: {})", inj.cpu, online));
    }
    let cap = state::mcgcap(inj.cpu as usize);
    if inj.bank >= cap.banks() {
        return Err(format!(
            "bank {} does not exist on cpu{} ({} banks)",
            inj.bank,
            inj.cpu,
            cap.banks()
        ));
    }
    let how = if msrs_writable() {
        "bank MSRs"
    } else {
        "software overlay"
    };
    let bank = Some((inj.bank, inj.status, inj.addr, inj.misc));
    if inj.hold {
        stage(inj.cpu, bank, inj.mcgstatus);
        set_injected_frame(inj);
        run_on(inj.cpu, target_hold)?;
        HELD_MODE[inj.cpu as usize].store(mode_code(inj.mode), Ordering::SeqCst);
        HELD.insert(inj.cpu);
        return Ok(format!(
            "held in cpu{} bank {} ({how}); not triggered",
            inj.cpu, inj.bank
        ));
    }
    match inj.mode {
        Mode::Poll | Mode::Cmci => {
            let (target, what): (fn(u64), _) = match inj.mode {
                Mode::Cmci => (target_cmci, "CMCI raised on"),
                _ => (target_poll, "poll run on"),
            };
            stage(inj.cpu, bank, 0);
            let held = take_held(inj.cpu);
            raise_held_alone(&held)?;
            INJECTED_CS[inj.cpu as usize].store(0, Ordering::SeqCst);
            run_on(inj.cpu, target)?;
            Ok(format!(
                "cpu{} bank {} ({how}), {what} cpu{}{}",
                inj.cpu,
                inj.bank,
                inj.cpu,
                held_note(&held)
            ))
        }
        Mode::Exception => exception(inj, bank, how),
    }
}

/// `RIP cs:ip` given: the record's CPU grades with it (a missing CS is 0,
/// kernel mode, as in mce-inject). Otherwise the real frame decides.
/// Returns whether one was given.
fn set_injected_frame(inj: &Injection) -> bool {
    let c = inj.cpu as usize;
    INJECTED_IP[c].store(inj.ip.unwrap_or(0), Ordering::SeqCst);
    let frame = inj.cs.is_some() || inj.ip.is_some();
    INJECTED_CS[c].store(
        if frame {
            INJECTED | inj.cs.unwrap_or(0) as u64
        } else {
            0
        },
        Ordering::SeqCst,
    );
    frame
}

/// With a poll or CMCI trigger: every held record raised on its CPU in its
/// own mode, an exception one as an #MC of that CPU alone.
fn raise_held_alone(held: &CpuSet) -> Result<(), String> {
    for c in raise_held_polls(held)?.iter() {
        run_on(c, target_exception)?;
    }
    Ok(())
}

fn held_note(held: &CpuSet) -> String {
    if held.is_empty() {
        String::new()
    } else {
        format!(" and on CPUs {held} (held records)")
    }
}

fn exception(
    inj: &Injection,
    bank: Option<(u8, u64, u64, u64)>,
    how: &str,
) -> Result<String, String> {
    let online = smp::online();
    let intel = state::IDENTITY
        .get()
        .is_some_and(|i| i.vendor != CpuVendor::Amd);
    // What real hardware does by default: Intel broadcasts #MC unless it is
    // a local machine check (LMCE_S), AMD does not broadcast.
    let local = inj.mcgstatus & mcg_status::LMCE_S != 0;
    // Held poll/CMCI records are polled first; held exceptions join this #MC.
    let all_held = take_held(inj.cpu).intersection(&online);
    let held = raise_held_polls(&all_held)?;
    let everyone = match inj.broadcast {
        Broadcast::Nmi | Broadcast::Irq => true,
        Broadcast::Default => intel && !local,
        Broadcast::None => false,
    };
    // Without a broadcast only the CPUs holding a record enter (by NMI).
    let others = if everyone {
        online.difference(&CpuSet::single(inj.cpu))
    } else {
        held
    };
    let broadcast = match inj.broadcast {
        Broadcast::Irq => Broadcast::Irq,
        _ if others.is_empty() => Broadcast::None,
        _ => Broadcast::Nmi,
    };
    let me = percpu::current().index;
    stage(inj.cpu, bank, inj.mcgstatus);
    let frame = set_injected_frame(inj);
    // The others without a record see what QEMU's broadcast gives them:
    // MCIP|RIPV, no bank. A held record keeps its own MCG_STATUS.
    for c in others.difference(&held).iter() {
        stage(c, None, mcg_status::MCIP | mcg_status::RIPV);
    }
    let pulled = match broadcast {
        _ if !everyone => held_note(&all_held),
        Broadcast::Nmi => format!(", NMI broadcast to {others}"),
        Broadcast::Irq => format!(", IPI broadcast to {others}"),
        _ => String::new(),
    };
    // IN_PROC without an injected CS:IP: the real frame grades, so the #MC
    // waits for a user frame. With one, the record's CS:IP grades and the
    // #MC is raised at once, as mce-inject raises it from the writer's
    // process context.
    if inj.context == Some(InjContext::Process) && !frame {
        // The target raises it itself, pulling the others in then.
        let c = inj.cpu as usize;
        *USER_RETURN_OTHERS[c].lock() = others;
        USER_RETURN_NMI[c].store(broadcast == Broadcast::Nmi, Ordering::SeqCst);
        AT_USER_RETURN.insert(inj.cpu);
        return Ok(format!(
            "cpu{} bank {} ({how}), #MC raised when cpu{} next returns to user mode (IN_PROC){pulled}",
            inj.cpu, inj.bank, inj.cpu
        ));
    }
    pull_in(broadcast, &others.difference(&CpuSet::single(me)));
    let desc = format!(
        "cpu{} bank {} ({how}), #MC raised on cpu{}{pulled}",
        inj.cpu, inj.bank, inj.cpu
    );
    if inj.cpu == me {
        x86_64::instructions::interrupts::without_interrupts(|| target_exception(0));
        return Ok(desc);
    }
    let call =
        smp::call_on(inj.cpu, target_exception, 0).map_err(|e| format!("cpu{}: {e}", inj.cpu))?;
    if others.contains(me) {
        // The calling CPU takes part too.
        x86_64::instructions::interrupts::without_interrupts(|| {
            apply_staged();
            raise_machine_check();
        });
    }
    let timeout = 3 * state::MONARCH_TIMEOUT_US.load(Ordering::Relaxed) + 1_000_000;
    if !call.wait(timeout) {
        return Err(format!(
            "cpu{} did not finish the #MC within {} ms",
            inj.cpu,
            timeout / 1000
        ));
    }
    Ok(desc)
}

/// Called by the task code on every return to user mode (interrupts off,
/// `frame` is the user context about to be resumed): raises an `IN_PROC`
/// #MC staged for this CPU, pulling the other CPUs in first.
pub fn at_user_return(frame: &mut InterruptStackFrame) {
    let cpu = percpu::current().index;
    if !AT_USER_RETURN.remove(cpu) {
        return;
    }
    // Interrupts are off and the injector wrote it before setting our bit.
    let others = core::mem::take(&mut *USER_RETURN_OTHERS[cpu as usize].lock());
    let how = if USER_RETURN_NMI[cpu as usize].load(Ordering::SeqCst) {
        Broadcast::Nmi
    } else {
        Broadcast::Irq
    };
    pull_in(how, &others);
    apply_staged();
    handler::machine_check(frame);
}

/// Makes `cpus` (not the calling CPU) enter the #MC handler: a software
/// broadcast by NMI or by the fixed-vector IPI.
fn pull_in(broadcast: Broadcast, cpus: &CpuSet) {
    match broadcast {
        Broadcast::Nmi if !cpus.is_empty() => {
            handler::request_nmi_broadcast(cpus);
            apic_each(cpus, Delivery::Nmi);
        }
        Broadcast::Irq if !cpus.is_empty() => {
            IRQ_BROADCAST.insert_all(cpus);
            apic_each(cpus, Delivery::Fixed(vector::MCE_IPI));
        }
        _ => {}
    }
}

fn apic_each(cpus: &CpuSet, delivery: Delivery) {
    for c in cpus.iter() {
        if let Some(id) = smp::apic_id_of(c) {
            // Online CPUs have ids the mode can address (`smp` starts no
            // other); one not pulled in is named by the rendezvous timeout.
            let _ = apic::send_ipi(Dest::Apic(id), delivery);
        }
    }
}
