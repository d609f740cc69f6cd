//! The panic path: print the reason once, stop the other CPUs with NMIs,
//! and end the run (QEMU) or halt (real hardware).

use crate::qemu::{self, ExitCode};
use core::sync::atomic::{AtomicU32, Ordering};

/// The CPU (plus one) that is panicking; 0 while nobody is.
static PANICKING: AtomicU32 = AtomicU32::new(0);

/// Makes the caller the one CPU that panics; any other CPU halts here.
/// Returns false if the caller had already claimed it.
pub fn claim() -> bool {
    x86_64::instructions::interrupts::disable();
    let me = crate::arch::x86_64::percpu::cpu_index_or_zero() + 1;
    match PANICKING.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => true,
        Err(owner) if owner == me => false,
        Err(_) => qemu::halt_forever(),
    }
}

static NESTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Stops every other CPU: they take an NMI and halt in it.
pub fn stop_other_cpus() {
    crate::nmi::request_stop();
    if crate::smp::others_started() {
        // A shorthand has no destination id: it cannot fail.
        let _ = crate::arch::x86_64::apic::send_ipi(
            crate::arch::x86_64::apic::Dest::AllButSelf,
            crate::arch::x86_64::apic::Delivery::Nmi,
        );
        // Wait (bounded) until each has taken the NMI, so nobody prints
        // while the panic output is written.
        let me = crate::arch::x86_64::percpu::cpu_index_or_zero();
        let mut others = crate::smp::online();
        others.remove(me);
        let deadline = crate::arch::x86_64::tsc::now_us() + 200_000;
        while !crate::nmi::stopped().is_superset(&others)
            && crate::arch::x86_64::tsc::now_us() < deadline
        {
            core::hint::spin_loop();
        }
    }
}

/// Ends the run after a machine-check decision to panic. The caller has
/// already printed every record.
pub fn machine_check_panic(reason: &str) -> ! {
    claim();
    crate::error!("Kernel panic - not syncing: Fatal machine check: {reason}");
    stop_other_cpus();
    // The records are saved by now: the log comes second.
    crate::pstore::glue::write_panic_log();
    qemu::exit(ExitCode::MachineCheckPanic)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if !claim() && NESTED.swap(true, Ordering::SeqCst) {
        // A panic while printing a panic: stop at once.
        qemu::exit(ExitCode::Panic);
    }
    crate::console::force_unlock();
    crate::error!(
        "KERNEL PANIC on cpu{}: {}",
        crate::arch::x86_64::percpu::cpu_index_or_zero(),
        info
    );
    stop_other_cpus();
    crate::pstore::glue::write_panic_log();
    qemu::exit(ExitCode::Panic)
}
