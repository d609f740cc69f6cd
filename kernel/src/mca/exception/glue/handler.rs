//! The #MC exception handler, in the shape of Linux's do_machine_check():
//! gather every bank, grade it, meet the other CPUs (unless the event is
//! local), log in arrival order, let the Monarch decide for all, clear the
//! banks and MCIP, then either panic (after printing every record) or return
//! and leave recovery to normal context.
//!
//! It runs on its own IST stack with interrupts off. It never allocates and
//! takes no lock: records go into this CPU's lock-free ring and the consumer
//! is woken with an IPI. The bank scan itself is pure (`exception::scan`).

use crate::arch::x86_64::percpu;
use crate::clock::TscClock;
use crate::cpuset::{AtomicCpuSet, CpuSet};
use crate::mca::exception::grade::context_of;
use crate::mca::exception::rendezvous::{Phase, Rendezvous};
use crate::mca::exception::scan::{self, Banks, Policy, Scan};
use crate::mca::exception::severity::{decide, Context, Decision};
use crate::mca::glue::state;
use crate::mca::msr::Msr;
use crate::mca::record::{CpuVendor, MceRecord, Severity, Source};
use crate::mca::regs::{self, mcg_status};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::structures::idt::InterruptStackFrame;

/// The machine-check rendezvous shared by all CPUs.
pub static RENDEZVOUS: Rendezvous = Rendezvous::new();

/// CPUs asked to enter the handler through an NMI (software broadcast).
static NMI_BROADCAST: AtomicCpuSet = AtomicCpuSet::new();

/// The banks this CPU scans.
fn banks_of(cpu: usize) -> Banks {
    Banks {
        count: state::mcgcap(cpu).banks(),
        ignored: state::ignored_banks(cpu),
    }
}

/// Makes this the #MC handler (before the first IDT load).
pub fn register() {
    crate::arch::x86_64::idt::set_machine_check(machine_check);
}

/// Entry from the IDT (vector 18), from the NMI handler (software broadcast)
/// and from the fixed-vector broadcast IPI.
pub fn machine_check(frame: &mut InterruptStackFrame) {
    crate::console::lines::interrupted_at(frame.instruction_pointer.as_u64());
    let cpu = percpu::current().index as usize;
    state::EXCEPTIONS[cpu].fetch_add(1, Ordering::Relaxed);
    if crate::mca::glue::offline::is_offline(cpu) {
        // Out of service: a broadcast #MC is the online CPUs' to handle.
        state::cpu_msr(cpu).write(regs::IA32_MCG_STATUS, 0);
        return;
    }
    if state::UNRESPONSIVE_CPU.load(Ordering::Relaxed) == cpu as u32 {
        // Test hook: a hung CPU that never joins; only an NMI stops it.
        loop {
            core::hint::spin_loop();
        }
    }
    NMI_BROADCAST.remove(cpu as u32);
    state::SCANNING.insert(cpu as u32);
    let msr = state::cpu_msr(cpu);
    let mcgstatus = msr.read(regs::IA32_MCG_STATUS);
    let real_rip = frame.instruction_pointer.as_u64();
    let real_cs = frame.code_segment.0;
    // An injected record's `RIP cs:ip` grades the event as Linux's
    // mce-inject does (its CS:IP stands for the registers); the real frame
    // is still the one resumed.
    let injected = crate::mca::inject::glue::injector::take_injected_frame(cpu);
    let (cs, rip) = injected.unwrap_or((real_cs, real_rip));
    let ctx = context_of(
        cs,
        crate::mca::recovery::glue::fixup::has_fixup(rip),
        mcgstatus,
    );
    let real_ctx = match injected {
        None => ctx,
        Some(_) => context_of(
            real_cs,
            crate::mca::recovery::glue::fixup::has_fixup(real_rip),
            mcgstatus,
        ),
    };

    let mut template = state::template(cpu, mcgstatus, Source::Exception);
    if mcgstatus & (mcg_status::RIPV | mcg_status::EIPV) != 0 {
        template.ip = rip;
        template.cs = cs;
    }

    // Phase 0: would any bank forbid returning? (Linux's mce_no_way_out.)
    // A copy of every valid bank goes where the panic path finds it, so
    // nothing this CPU saw is lost if the machine stops before it logs.
    let found = state::found(cpu);
    let which = banks_of(cpu);
    let pre = scan::grade_banks(&msr, which, &template, ctx, |rec| {
        // "Not enabled" (QEMU's broadcast filler) is a record too.
        if let Some(f) = found {
            f.put(rec);
        }
    });
    let mut no_way_out = pre.worst >= Severity::Panic;
    // Seen by the others before the vote, so a CPU that must panic because
    // of this CPU's no-way-out vote names this CPU's reason even when the
    // rendezvous times out before anyone reports.
    set_grade(cpu, pre.worst, pre.rule);
    // Logging takes this CPU's copy: the record is in the ring now.
    let log = |rec: MceRecord| {
        if let Some(f) = found {
            f.take(rec.bank);
        }
        state::log(cpu, rec);
    };

    // AMD signals every #MC locally; Intel says so with MCG_STATUS.LMCE_S.
    let vendor = template.cpuvendor;
    let signaled_locally = vendor == CpuVendor::Amd || mcgstatus & mcg_status::LMCE_S != 0;
    let local = signaled_locally || crate::smp::online_count() == 1;
    let timeout = state::MONARCH_TIMEOUT_US.load(Ordering::Relaxed);
    let tolerant = state::TOLERANT.load(Ordering::Relaxed);
    let clock = TscClock;

    let mut timed_out = false;
    // CPUs that met in the rendezvous (for the panic report).
    let mut met: Option<CpuSet> = None;
    // What this CPU's own banks held (recovery acts on it, not on the
    // global worst: only the CPU that consumed the poison kills its task).
    let own: Scan;
    let (worst, msg) = if local {
        // Only this CPU got the #MC (an LMCE, MCG_STATUS.LMCE_S, which its
        // records' decoded MCG status line shows): it decides alone by its
        // own banks; the others are not in the handler and are not waited for.
        let s = scan::log_banks(
            &msr,
            which,
            &template,
            ctx,
            Policy::going_down(no_way_out),
            log,
        );
        own = s;
        (s.worst, s.msg)
    } else {
        match RENDEZVOUS.start(
            cpu as u32,
            &crate::smp::online(),
            no_way_out,
            &clock,
            timeout,
        ) {
            Ok(order) => {
                // Every CPU has called in: the vote is complete, and a fatal
                // error anywhere means every CPU logs all it holds and
                // leaves its banks as they were (Linux's global no_way_out).
                no_way_out |= RENDEZVOUS.global_no_way_out();
                if let Err(t) = RENDEZVOUS.wait_turn(&order, &clock, timeout) {
                    timed_out = true;
                    report_timeout(cpu, t.phase, t.missing, template.time_us);
                }
                let policy = Policy::going_down(no_way_out);
                let s = scan::log_banks(&msr, which, &template, ctx, policy, log);
                own = s;
                // The rule first: reporting passes the turn on, and others
                // may read it as soon as they see this CPU's severity.
                // (The phase-0 grade stays if it was worse.)
                if s.worst >= pre.worst {
                    set_grade(cpu, s.worst, s.rule);
                }
                RENDEZVOUS.report(&order, s.worst);
                match RENDEZVOUS.end(order, &clock, timeout) {
                    Ok(out) => {
                        no_way_out |= out.global_no_way_out;
                        met = Some(out.participants);
                        (out.worst, worst_msg(vendor, out.worst_cpu, s.msg))
                    }
                    Err(t) => {
                        timed_out = true;
                        report_timeout(cpu, t.phase, t.missing, template.time_us);
                        no_way_out |= t.outcome.global_no_way_out;
                        met = Some(t.outcome.participants);
                        (t.outcome.worst.max(s.worst), s.msg)
                    }
                }
            }
            Err(t) => {
                // Could not meet the others: handle our own banks alone. The
                // decision is known before logging: what we saw, what the
                // others had reported, and the timeout.
                timed_out = true;
                report_timeout(cpu, t.phase, t.missing, template.time_us);
                no_way_out |= t.outcome.global_no_way_out;
                let worst = t.outcome.worst.max(pre.worst);
                let down = matches!(
                    decide(worst, tolerant, no_way_out, true),
                    Decision::Panic(_)
                );
                let s = scan::log_banks(
                    &msr,
                    which,
                    &template,
                    ctx,
                    Policy {
                        log_all: down,
                        clear: false,
                    },
                    log,
                );
                if !down {
                    scan::clear_banks(&msr, s.logged);
                }
                own = Scan {
                    left: if down { s.left } else { Default::default() },
                    ..s
                };
                (worst, s.msg)
            }
        }
    };

    // Every valid bank this CPU's logging pass read: logged, or left for
    // the poller (which logs it).
    state::scanned(cpu, own.read as u64, own.for_poller as u64);
    state::NOT_ENABLED_CLEARED.fetch_add(own.not_enabled as u64, Ordering::Relaxed);

    let mut decision = decide(worst, tolerant, no_way_out, timed_out);
    if let Decision::Panic(_) = decision {
        // The graded reason: the rendezvous's worst CPU's; after a timeout,
        // or for another CPU's no-way-out vote, the lowest-numbered CPU that
        // graded a panic (published before the vote), so all name the same.
        let graded = worst >= Severity::Panic;
        if graded && !timed_out {
            decision = Decision::Panic(msg);
        } else if graded || no_way_out {
            if let Some(reason) = panic_reason(vendor).or(graded.then_some(msg)) {
                decision = Decision::Panic(reason);
            }
        }
    }
    // MCIP with nothing worse than "keep" found anywhere: some external
    // agent, or a CPU that could not log; nothing here explains the #MC.
    // Linux panics ("from unknown source").
    // After a timeout nobody may have reported yet; the timeout policy
    // decides then. A locally signaled #MC (AMD, LMCE) decides alone, as
    // Linux's LMCE path, which has no such rule: a CPU that found nothing
    // there must not end the machine before the CPU that holds the error
    // (QEMU's AMD broadcast raised the race once in a loaded run).
    if mcgstatus & mcg_status::MCIP != 0
        && worst <= Severity::Keep
        && !timed_out
        && !signaled_locally
        && tolerant < 3
    {
        decision = Decision::Panic("Machine check from unknown source");
    }
    // Without RIPV the interrupted kernel code cannot be resumed. A bank
    // in that state is graded so ("In kernel and no restart IP"); this is
    // for a CPU that found nothing worse itself, and it never replaces a
    // graded reason (the Monarch's reason is the worst CPU's message).
    // Poison consumed under a fixup does not resume that code: the fixup
    // replaces the IP (Linux recovers it so; only AMD's rules grade it
    // action required without RIPV).
    let fixup_takes_ip = own.worst == Severity::ActionRequired && ctx == Context::KernelRecoverable;
    if mcgstatus & mcg_status::MCIP != 0
        && mcgstatus & mcg_status::RIPV == 0
        && ctx != Context::User
        && !fixup_takes_ip
        && tolerant < 3
        && !matches!(decision, Decision::Panic(_))
    {
        decision = Decision::Panic("Neither restart nor error IP (RIPV clear)");
    }

    if let Decision::Panic(reason) = decision {
        // The banks this CPU logged without clearing, for the panic report.
        state::LEFT_BANKS[cpu].store(own.left.0, Ordering::SeqCst);
        state::SCANNING.remove(cpu as u32);
        // Only the Monarch (or a CPU that could not meet the others) ends
        // the machine; the others wait to be stopped by its NMI.
        crate::mca::log::glue::panic_dump::panic_dump_and_stop(reason, met);
    }
    if !own.left.is_empty() {
        // Going on after all (tolerant=3): the logged banks are done with.
        scan::clear_banks(&msr, own.left);
    }
    if let Some(f) = found {
        f.forget();
    }
    GRADE[cpu].store(0, Ordering::SeqCst);
    state::SCANNING.remove(cpu as u32);

    // Consumed poison on this CPU (SRAR): the interrupted code must not
    // resume. A user task is marked killed and the frame returns into its
    // exit path; a recoverable kernel copy returns an error. Both only use
    // atomics (see task::mce_kill_current, task::usercopy::mce_fixup).
    let no_restart = mcgstatus & mcg_status::MCIP != 0 && mcgstatus & mcg_status::RIPV == 0;
    // Only when the grading context is the real one: an injected CS:IP
    // names code that is not what this frame returns to.
    if ctx != real_ctx {
        crate::warn!(
            "mce: cpu{cpu}: graded with the injected CS:IP {cs:#x}:{rip:#x} ({ctx:?}); the interrupted {real_ctx:?} code resumes, no recovery action on it"
        );
    } else if own.worst == Severity::ActionRequired || (no_restart && ctx == Context::User) {
        match ctx {
            Context::User => {
                crate::task::mce_kill_current(frame, own.addr);
            }
            Context::KernelRecoverable => {
                crate::task::usercopy::mce_fixup(frame, own.addr);
            }
            Context::Kernel => {}
        }
    }

    // Recovery work (poisoning pages, killing tasks) runs in normal context:
    // the records are in the ring; the consumer hands them to subscribers.
    msr.write(regs::IA32_MCG_STATUS, 0);
    crate::mca::log::glue::consumer::wake();
}

/// Per CPU, the grade of its worst error in the current event, as
/// `severity << 32 | severity-table rule + 1` (0: nothing graded), so every
/// CPU can name the reason of the CPU that had the worst error. Cleared when
/// the CPU leaves the handler without a panic.
static GRADE: [AtomicU64; crate::cpuset::MAX_CPUS] =
    [const { AtomicU64::new(0) }; crate::cpuset::MAX_CPUS];

fn set_grade(cpu: usize, worst: Severity, rule: Option<usize>) {
    let word = (worst as u64) << 32 | rule.map_or(0, |r| r as u64 + 1);
    GRADE[cpu].store(word, Ordering::SeqCst);
}

fn rule_msg(vendor: CpuVendor, word: u64) -> Option<&'static str> {
    match word & 0xffff_ffff {
        0 => None,
        r => crate::mca::exception::grade::rule_message(vendor, r as usize - 1),
    }
}

fn worst_msg(vendor: CpuVendor, worst_cpu: Option<u32>, own: &'static str) -> &'static str {
    worst_cpu
        .and_then(|c| GRADE.get(c as usize))
        .and_then(|a| rule_msg(vendor, a.load(Ordering::SeqCst)))
        .unwrap_or(own)
}

/// After a rendezvous timeout: the reason of the lowest-numbered online
/// CPU that graded a panic in this event (Linux's Monarch takes the first
/// CPU with the worst severity), so every CPU that ends the machine names
/// the same one. None if no CPU graded a panic.
fn panic_reason(vendor: CpuVendor) -> Option<&'static str> {
    crate::smp::online().iter().find_map(|c| {
        let word = GRADE[c as usize].load(Ordering::SeqCst);
        let sev = Severity::from_u8((word >> 32) as u8)?;
        (sev >= Severity::Panic)
            .then(|| rule_msg(vendor, word))
            .flatten()
    })
}

/// Names the CPUs that did not arrive, finish or release in time. Printed
/// directly (no allocation, no lock wait: the console re-enters).
fn report_timeout(cpu: usize, phase: Phase, missing: CpuSet, since_us: u64) {
    crate::error!(
        "mce: cpu{cpu}: timeout in machine-check rendezvous ({phase:?}) after {} us: CPUs not responding: {}",
        crate::arch::x86_64::tsc::now_us().saturating_sub(since_us),
        missing
    );
}

/// Asks `cpus` to enter the #MC handler through NMIs (software broadcast).
pub fn request_nmi_broadcast(cpus: &CpuSet) {
    NMI_BROADCAST.insert_all(cpus);
}

/// True if this CPU was asked to enter the handler by NMI.
pub fn nmi_broadcast_pending() -> bool {
    let cpu = percpu::current().index;
    NMI_BROADCAST.contains(cpu)
}
