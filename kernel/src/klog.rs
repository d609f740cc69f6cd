//! The kernel log: leveled messages with a timestamp on every line, written
//! to the console. Multi-line messages get the prefix on each line so a log
//! reader (person or test) can always tell when a line was printed.

use crate::config::LogLevel;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);

pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> LogLevel {
    LogLevel::from_u8(LEVEL.load(Ordering::Relaxed))
}

pub fn enabled(level: LogLevel) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Inserts the `[seconds.micros] LEVEL ` prefix at the start of every line.
struct Prefixed<'a> {
    out: &'a mut dyn Write,
    tag: &'static str,
    /// Written after the tag on every line (e.g. `mce: `).
    extra: &'a str,
    stamp_us: u64,
    at_line_start: bool,
}

impl Write for Prefixed<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for piece in s.split_inclusive('\n') {
            if self.at_line_start {
                write!(
                    self.out,
                    "[{:5}.{:06}] {}{}",
                    self.stamp_us / 1_000_000,
                    self.stamp_us % 1_000_000,
                    self.tag,
                    self.extra
                )?;
            }
            self.out.write_str(piece)?;
            self.at_line_start = piece.ends_with('\n');
        }
        Ok(())
    }
}

fn tag(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "ERROR ",
        LogLevel::Warn => "WARN  ",
        LogLevel::Info => "",
        LogLevel::Debug => "DEBUG ",
    }
}

/// Prints one message (possibly several lines) at `level`.
pub fn log(level: LogLevel, args: fmt::Arguments) {
    log_with(level, "", |w| {
        let _ = w.write_fmt(args);
    });
}

/// Prints what `f` writes at `level` as one message, every line carrying
/// the timestamp and `line_prefix`; other CPUs' output does not interleave.
pub fn log_with(level: LogLevel, line_prefix: &str, f: impl FnOnce(&mut dyn Write)) {
    if !enabled(level) {
        return;
    }
    let stamp_us = crate::arch::x86_64::tsc::now_us();
    crate::console::with_console(|w| {
        crate::console::shell::before_output(w);
        let mut p = Prefixed {
            out: w,
            tag: tag(level),
            extra: line_prefix,
            stamp_us,
            at_line_start: true,
        };
        f(&mut p);
        if !p.at_line_start {
            let _ = p.out.write_str("\n");
        }
    });
}

#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::klog::log($crate::config::LogLevel::Error, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::klog::log($crate::config::LogLevel::Warn, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::klog::log($crate::config::LogLevel::Info, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::klog::log($crate::config::LogLevel::Debug, format_args!($($arg)*)) };
}
