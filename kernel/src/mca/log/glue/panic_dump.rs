//! The machine-check panic path: every record any CPU found is printed
//! once and saved in ERST, then the other CPUs are stopped and the run ends.
//! Called from #MC context by the CPU that decided; it allocates nothing and
//! waits for no lock another CPU may hold (the console is taken over, the
//! ERST store and the consumer's in-flight record only with `try_lock`).

use super::consumer::{print_record, IN_FLIGHT};
use crate::arch::x86_64::tsc;
use crate::cpuset::CpuSet;
use crate::firmware::glue::fatal::write_fatal;
use crate::mca::exception::found::Seen;
use crate::mca::glue::state;
use crate::mca::record::MceRecord;
use crate::time::Watchdog;
use core::sync::atomic::Ordering;

/// How long the dump waits for CPUs still inside the handler, at the most.
const SCANNING_CAP_US: u64 = 10_000_000;

/// Prints and saves every record: the consumer's in-flight one, every ring,
/// then each CPU's copies of banks it found but did not log (it was cut off
/// before its turn, or its corrected errors were left to the poller). A
/// bank shared by several CPUs (a core's, a package's) is read by each of
/// them; its error is printed once.
pub fn panic_dump_and_stop(reason: &str, met: Option<CpuSet>) -> ! {
    // One CPU prints; any other that decides the same halts here.
    crate::panic::claim();
    wait_for_scanning_cpus();
    crate::panic::stop_other_cpus();
    crate::console::force_unlock();
    crate::error!("mce: [Hardware Error]: {reason}: printing all machine-check records");
    let mut seen = Seen::<256>::new();
    let mut cpus = CpuSet::EMPTY;
    let mut emit = |rec: &MceRecord, cpus: &mut CpuSet| {
        cpus.insert(rec.cpu);
        if let Some(first) = seen.first_cpu_with(rec) {
            crate::error!(
                "mce: cpu{} bank {}: the same error as cpu{first}'s (a shared bank); printed once",
                rec.cpu,
                rec.bank
            );
            return;
        }
        print_record(rec);
        // Kept across the reboot (read back and listed on the next boot).
        write_fatal(rec);
    };
    let mut in_flight = None;
    for _ in 0..1000 {
        if let Some(g) = IN_FLIGHT.try_lock() {
            in_flight = *g;
            break;
        }
        core::hint::spin_loop();
    }
    if let Some(rec) = in_flight {
        crate::error!("mce: the consumer was handling this record when the machine stopped:");
        emit(&rec, &mut cpus);
    }
    for rings in state::ring_sets() {
        rings.drain(|_, rec| emit(&rec, &mut cpus));
    }
    for cpu in crate::smp::online().iter() {
        if let Some(found) = state::found(cpu as usize) {
            found.take_all(|rec| emit(&rec, &mut cpus));
        }
    }
    crate::error!("mce: records printed from CPUs {}", cpus);
    report_left_banks();
    if let Some(m) = met {
        crate::error!(
            "mce: rendezvous: CPUs {} took part, CPUs {} online",
            m,
            crate::smp::online()
        );
    }
    crate::panic::machine_check_panic(reason)
}

/// Lets CPUs still inside the handler reach the point where their records
/// are in a ring or in their copies: while any of them makes progress
/// (leaves the set), up to the rendezvous timeout without progress (of this
/// CPU's running time, see `time::Watchdog`), and never longer than
/// [`SCANNING_CAP_US`].
fn wait_for_scanning_cpus() {
    let me = CpuSet::single(crate::arch::x86_64::percpu::current().index);
    let timeout = state::MONARCH_TIMEOUT_US.load(Ordering::Relaxed);
    let mut dog = Watchdog::new(tsc::now_us(), timeout, SCANNING_CAP_US);
    let mut last = state::SCANNING.load().difference(&me);
    while !last.is_empty() {
        let now_set = state::SCANNING.load().difference(&me);
        let progressed = now_set != last;
        last = now_set;
        if dog.expired(tsc::now_us(), progressed) {
            crate::error!(
                "mce: CPUs {last} still in the machine-check handler; not waiting longer"
            );
            return;
        }
        core::hint::spin_loop();
    }
}

/// Names the banks left holding their errors for the firmware, the BMC
/// and the next boot (which logs what it finds at MCA init).
fn report_left_banks() {
    for cpu in crate::smp::online().iter() {
        let left = state::LEFT_BANKS[cpu as usize].swap(0, Ordering::SeqCst);
        if left != 0 {
            crate::error!(
                "mce: cpu{cpu}: banks {} left as they were for the firmware and the next boot",
                crate::mca::banks::BankSet(left)
            );
        }
    }
}
