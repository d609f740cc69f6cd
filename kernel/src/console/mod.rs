//! The console: a serial port (COM1) and a framebuffer text screen. Every
//! byte printed goes to both when present, so a machine without a serial port
//! (a test bench with a screen) sees the same log as QEMU's `-serial stdio`.

pub mod cmd_bench;
pub mod cmd_einj;
pub mod cmd_erst;
pub mod cmd_mcelogd;
pub mod cmd_selftest;
pub mod cmd_task;
pub mod cmd_testhook;
pub mod commands;
pub mod framebuffer;
pub mod keyboard;
pub mod serial;
pub mod shell;
pub mod storm_bench;

pub mod lines;

use core::fmt;

/// Times a CPU gave up waiting for the console (its holder was stuck) and
/// wrote anyway.
pub static OVERRUNS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Holds the console for normal-context output (the shell): the printer
/// role of [`lines`], so log lines from other CPUs wait in the queue
/// instead of landing inside the shell's text.
struct Guard {
    taken: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.taken {
            lines::release();
        }
    }
}

fn lock() -> Guard {
    if lines::forced_by_me().is_some() {
        // A panic owns the console (this CPU's, or another's: then the
        // caller's output is dropped).
        return Guard { taken: false };
    }
    // Bounded: a printer stuck in #MC or halted by an NMI must not hang
    // the shell; after the bound we write anyway and count it.
    let deadline = crate::arch::x86_64::tsc::rdtsc()
        .wrapping_add(crate::arch::x86_64::tsc::khz().max(1_000_000) * 200);
    match lines::acquire(deadline) {
        lines::Acquired::Taken => Guard { taken: true },
        lines::Acquired::Reentered => Guard { taken: false },
        lines::Acquired::TimedOut => {
            OVERRUNS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            Guard { taken: false }
        }
    }
}

/// The panic path takes the console: only this CPU prints from now on.
pub fn force_unlock() {
    lines::force();
}

/// Writes bytes to every console sink, holding the console for the call.
pub fn write_str(s: &str) {
    let _g = lock();
    write_raw(s);
}

/// Writes to the sinks; the caller is the printer (or the console is not
/// shared yet).
fn write_raw(s: &str) {
    write_memory_sinks(s);
    serial::write_str(s);
}

/// The sinks in memory: the log tail kept for pstore, and the screen.
fn write_memory_sinks(s: &str) {
    crate::pstore::glue::keep(s.as_bytes());
    framebuffer::write_str(s);
}

/// A line before the line queue exists (early boot, one CPU).
fn write_direct_line(s: &str) {
    let _g = lock();
    before_log_output();
    write_raw(s);
    write_raw("\n");
}

/// Log output is about to be written: the shell takes its prompt off.
fn before_log_output() {
    struct W;
    impl fmt::Write for W {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            write_raw(s);
            Ok(())
        }
    }
    shell::before_output(&mut W);
}

/// Runs `f` with exclusive use of the console, so the shell's output is
/// not interleaved with other CPUs' log lines (they are queued meanwhile).
pub fn with_console<R>(f: impl FnOnce(&mut dyn fmt::Write) -> R) -> R {
    let _g = lock();
    struct W {
        quiet: bool,
    }
    impl fmt::Write for W {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if !self.quiet {
                write_raw(s);
            }
            Ok(())
        }
    }
    // While another CPU prints a panic, the shell's output is dropped.
    f(&mut W {
        quiet: lines::forced_by_me() == Some(false),
    })
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
