//! Storm control in the kernel: each CPU's [`StormTracker`] (touched only by
//! that CPU, with interrupts off: the poll tick, the CMCI handler and
//! injector calls all run so), and the atomics the consumer reads to report
//! storms and to keep their records off the console.

use crate::cpuset::MAX_CPUS;
use crate::mca::corrected::storm::{StormConfig, StormEvent, StormTracker, STORM_CMCI_THRESHOLD};
use crate::mca::{corrected::cmci, glue::state};
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

static TRACKERS: [Mutex<StormTracker>; MAX_CPUS] =
    [const { Mutex::new(StormTracker::new(StormConfig::DEFAULT)) }; MAX_CPUS];

/// Banks in a storm, per CPU.
pub static IN_STORM: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Storm starts and ends not yet reported by the consumer, per CPU.
pub static BEGAN: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
pub static ENDED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Errors seen during the last (or current) storm of each bank.
pub static STORM_ERRORS: [[AtomicU64; 64]; MAX_CPUS] =
    [const { [const { AtomicU64::new(0) }; 64] }; MAX_CPUS];
/// Storms so far, all CPUs.
pub static STORMS: AtomicU64 = AtomicU64::new(0);

/// Applies the configuration to every CPU's tracker (at boot).
pub fn configure(cfg: &crate::config::Config) {
    let c = StormConfig {
        begin_threshold: cfg.storm_threshold,
        storm_poll_us: cfg.storm_poll_ms * 1000,
        end_clean_polls: cfg.storm_clean_polls,
        ..StormConfig::DEFAULT
    };
    for t in TRACKERS.iter() {
        *t.lock() = StormTracker::new(c);
    }
}

/// Records one poll on `cpu` (the calling CPU) of the banks in `polled`,
/// of which those in `found` held an error: one tracker lock per poll.
pub fn observe(cpu: usize, polled: u64, found: u64, now_us: u64) {
    let Some(t) = TRACKERS.get(cpu) else { return };
    let Some(mut t) = t.try_lock() else { return };
    for bank in 0..64u8 {
        if polled & (1 << bank) != 0 {
            observe_bank(&mut t, cpu, bank, (found >> bank) as u32 & 1, now_us);
        }
    }
}

/// One bank's poll result. Raises or restores the bank's CMCI threshold
/// when a storm begins or ends on a CMCI-owned bank.
fn observe_bank(t: &mut StormTracker, cpu: usize, bank: u8, errors: u32, now_us: u64) {
    let event = t.record(bank, errors, now_us);
    let bit = 1u64 << bank;
    if t.in_storm(bank) {
        STORM_ERRORS[cpu][bank as usize].store(t.errors_during_storm(bank), Ordering::Relaxed);
    }
    match event {
        StormEvent::None => {}
        StormEvent::Began { .. } => {
            IN_STORM[cpu].fetch_or(bit, Ordering::SeqCst);
            BEGAN[cpu].fetch_or(bit, Ordering::SeqCst);
            STORMS.fetch_add(1, Ordering::Relaxed);
            if state::CPUS[cpu].cmci_owned.load(Ordering::Relaxed) & bit != 0 {
                cmci::set_threshold(&state::cpu_msr(cpu), bank, STORM_CMCI_THRESHOLD);
            }
        }
        StormEvent::Ended {
            errors_during_storm,
            ..
        } => {
            STORM_ERRORS[cpu][bank as usize].store(errors_during_storm, Ordering::Relaxed);
            IN_STORM[cpu].fetch_and(!bit, Ordering::SeqCst);
            ENDED[cpu].fetch_or(bit, Ordering::SeqCst);
            if state::CPUS[cpu].cmci_owned.load(Ordering::Relaxed) & bit != 0 {
                cmci::set_threshold(&state::cpu_msr(cpu), bank, cmci::DEFAULT_THRESHOLD);
            }
        }
    }
}

/// The fixed storm polling interval while any bank of `cpu` is in a storm.
pub fn poll_interval_us(cpu: usize) -> Option<u64> {
    if IN_STORM.get(cpu)?.load(Ordering::Relaxed) == 0 {
        return None;
    }
    TRACKERS.get(cpu)?.try_lock()?.poll_interval_us()
}

/// True while `bank` of `cpu` is in a storm.
pub fn in_storm(cpu: usize, bank: u8) -> bool {
    IN_STORM
        .get(cpu)
        .is_some_and(|m| m.load(Ordering::Relaxed) & (1u64 << (bank & 63)) != 0)
}
