//! The console: a serial port (COM1) and a framebuffer text screen. Every
//! byte printed goes to both when present, so a machine without a serial port
//! (a test bench with a screen) sees the same log as QEMU's `-serial stdio`.

pub mod cmd_bench;
pub mod cmd_einj;
pub mod cmd_erst;
pub mod cmd_selftest;
pub mod cmd_task;
pub mod commands;
pub mod framebuffer;
pub mod keyboard;
pub mod serial;
pub mod shell;
pub mod storm_bench;

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

/// The CPU (plus one) that holds the console; 0 when free.
///
/// Not a plain spinlock: an NMI or #MC that arrives while its own CPU prints
/// must still be able to print (a panic message must never deadlock), so the
/// owner re-enters. Output may then interleave, which is the lesser evil.
static OWNER: AtomicU32 = AtomicU32::new(0);

/// Times a CPU gave up waiting for the console (its holder was stuck).
pub static OVERRUNS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Set by the panic path: from then on every CPU writes without waiting.
static FORCED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

struct Guard {
    taken: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.taken {
            OWNER.store(0, Ordering::Release);
        }
    }
}

fn lock() -> Guard {
    let me = crate::arch::x86_64::percpu::cpu_index_or_zero() + 1;
    if FORCED.load(Ordering::Relaxed) || OWNER.load(Ordering::Relaxed) == me {
        return Guard { taken: false };
    }
    // Bounded: a holder stuck in #MC or halted by an NMI must not hang
    // everyone else; after the bound we print anyway (interleaved output
    // is the lesser evil) and count it.
    let deadline = crate::arch::x86_64::tsc::rdtsc()
        .wrapping_add(crate::arch::x86_64::tsc::khz().max(1_000_000) * 200);
    loop {
        if OWNER
            .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Guard { taken: true };
        }
        if FORCED.load(Ordering::Relaxed) {
            return Guard { taken: false };
        }
        if crate::arch::x86_64::tsc::rdtsc() > deadline {
            OVERRUNS.fetch_add(1, Ordering::Relaxed);
            return Guard { taken: false };
        }
        core::hint::spin_loop();
    }
}

/// Lets every CPU write without waiting for the console (panic path).
pub fn force_unlock() {
    FORCED.store(true, Ordering::SeqCst);
}

/// Writes bytes to every console sink, holding the console for the call.
pub fn write_str(s: &str) {
    let _g = lock();
    write_unlocked(s);
}

fn write_unlocked(s: &str) {
    serial::write_str(s);
    framebuffer::write_str(s);
}

/// Runs `f` with exclusive use of the console, so a multi-line message is
/// not interleaved with other CPUs' output.
pub fn with_console<R>(f: impl FnOnce(&mut dyn fmt::Write) -> R) -> R {
    let _g = lock();
    struct W;
    impl fmt::Write for W {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            write_unlocked(s);
            Ok(())
        }
    }
    f(&mut W)
}

/// The next input byte from the serial line or the keyboard, if any.
pub fn read_byte() -> Option<u8> {
    serial::try_read().or_else(keyboard::read_byte)
}

/// `print!` to the console without a timestamp (the shell, raw output).
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => {
        $crate::console::with_console(|w| { let _ = ::core::fmt::Write::write_fmt(w, format_args!($($arg)*)); })
    };
}
