//! Taking a CPU out of service (Linux's CPU hot-unplug, as far as machine
//! checks care): the CPU gives up its CMCI banks, stops its tick (and so its
//! polling) and leaves the online set, so rendezvous no longer wait for it;
//! the remaining CPUs then rediscover CMCI ownership and pick up the banks
//! nobody owns any more.

use crate::arch::x86_64::percpu;
use crate::arch::x86_64::{apic, tsc};
use crate::cpuset::AtomicCpuSet;
use crate::mca::banks::BankSet;
use crate::mca::corrected::cmci;
use crate::mca::glue::hw_msr::HwMsr;
use crate::mca::glue::state;
use crate::smp;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::Ordering;

/// CPUs asked to go offline, and CPUs that have.
static REQUESTED: AtomicCpuSet = AtomicCpuSet::new();
static PARKED: AtomicCpuSet = AtomicCpuSet::new();

/// Called from an AP's idle loop (normal context): parks the CPU for good
/// if it was asked to go offline.
pub fn park_if_requested() {
    let cpu = percpu::current().index as usize;
    if !REQUESTED.contains(cpu as u32) {
        return;
    }
    x86_64::instructions::interrupts::disable();
    let mut owned = BankSet(state::CPUS[cpu].cmci_owned.swap(0, Ordering::SeqCst));
    cmci::release_all(&HwMsr, &mut owned);
    apic::set_lvt_cmci(None);
    apic::stop_timer();
    smp::mark_offline(cpu as u32);
    PARKED.insert(cpu as u32);
    // NMIs (a panic's stop) still reach it; a broadcast #MC is passed over
    // by the handler (see `is_offline`).
    loop {
        x86_64::instructions::hlt();
    }
}

/// True for a CPU that has been taken offline.
pub fn is_offline(cpu: usize) -> bool {
    PARKED.contains(cpu as u32)
}

fn rediscover_here(_: u64) {
    let cpu = percpu::current().index as usize;
    let cap = state::mcgcap(cpu);
    if !cap.has(crate::mca::regs::mcg_cap::CMCI_P) {
        return;
    }
    // Firmware-first banks count as owned for the pass: never claimed.
    let ff = state::FIRMWARE_FIRST.load(Ordering::SeqCst);
    let mut owned = BankSet(state::CPUS[cpu].cmci_owned.load(Ordering::SeqCst) | ff);
    let r = cmci::rediscover(&HwMsr, cap.banks(), cmci::DEFAULT_THRESHOLD, &mut owned);
    state::CPUS[cpu]
        .cmci_owned
        .store(owned.0 & !ff, Ordering::SeqCst);
    state::CPUS[cpu]
        .cmci_elsewhere
        .store(r.owned_elsewhere.0, Ordering::SeqCst);
}

/// Takes `cpu` offline and has the others rediscover CMCI ownership.
pub fn offline(cpu: u32) -> Result<String, String> {
    if cpu == 0 {
        return Err("cpu0 runs the consumer and the console; it stays online".into());
    }
    if !smp::is_online(cpu) {
        return Err(format!("cpu{cpu} is not online"));
    }
    let released = state::CPUS[cpu as usize].cmci_owned.load(Ordering::SeqCst);
    REQUESTED.insert(cpu);
    let deadline = tsc::now_us() + 1_000_000;
    while !is_offline(cpu as usize) {
        if tsc::now_us() > deadline {
            return Err(format!("cpu{cpu} did not park within 1 s"));
        }
        core::hint::spin_loop();
    }
    let me = percpu::current().index;
    let online = smp::online();
    for c in online.iter() {
        if c == me {
            rediscover_here(0);
        } else if let Ok(call) = smp::call_on(c, rediscover_here, 0) {
            call.wait(1_000_000);
        }
    }
    let mut owners = String::new();
    for c in online.iter() {
        let o = state::CPUS[c as usize].cmci_owned.load(Ordering::SeqCst);
        if o != 0 {
            owners.push_str(&format!(" cpu{c}:{}", BankSet(o)));
        }
    }
    Ok(format!(
        "cpu{cpu} offline (released CMCI banks {}); CPUs {} online; CMCI owners after rediscovery:{}",
        BankSet(released),
        online,
        if owners.is_empty() { " none (no CMCI)".into() } else { owners }
    ))
}
