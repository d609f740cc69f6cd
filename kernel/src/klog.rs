//! The kernel log: leveled messages with a timestamp on every line, written
//! to the console. Multi-line messages get the prefix on each line so a log
//! reader (person or test) can always tell when a line was printed.
//!
//! Every line is `<N>[sssss.uuuuuu] text`, N the printk level (3 error,
//! 4 warning, 6 info, 7 debug). That is the one prefix shape mcelog's ASCII
//! input strips (white space, one `<...>`, one `[...]`, then
//! `mce: [Hardware Error]:`), so a saved serial log is `mcelog --ascii`
//! input as is, and the level stays visible.

use crate::config::LogLevel;
use crate::console::lines::Line;
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

/// Cuts what is written into console lines, each starting with the
/// `<N>[seconds.micros] ` prefix, and hands each whole line to the
/// console (which never mixes two CPUs' lines). A line longer than the
/// console's limit goes on in a new line with the same prefix.
struct LineWriter<'a> {
    tag: &'static str,
    /// Written after the tag on every line (e.g. `mce: `).
    extra: &'a str,
    stamp_us: u64,
    /// Finished lines not yet handed over, and the line being filled
    /// (`lines[done]`).
    lines: [Line; BATCH],
    done: usize,
    at_line_start: bool,
}

/// Lines of one message handed to the console together.
const BATCH: usize = 8;

impl LineWriter<'_> {
    fn start_line(&mut self) {
        self.lines[self.done] = Line::new();
        let _ = write!(
            LinePush(&mut self.lines[self.done]),
            "{}[{:5}.{:06}] {}",
            self.tag,
            self.stamp_us / 1_000_000,
            self.stamp_us % 1_000_000,
            self.extra
        );
        self.at_line_start = false;
    }

    fn end_line(&mut self) {
        self.done += 1;
        if self.done == BATCH {
            self.flush();
        }
        self.at_line_start = true;
    }

    fn flush(&mut self) {
        crate::console::lines::emit(&self.lines[..self.done]);
        self.done = 0;
    }
}

/// `write!` into a [`Line`], silently cut at its end.
struct LinePush<'a>(&'a mut Line);

impl Write for LinePush<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

impl Write for LineWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for piece in s.split_inclusive('\n') {
            let (text, ends) = match piece.strip_suffix('\n') {
                Some(t) => (t, true),
                None => (piece, false),
            };
            let mut rest = text;
            loop {
                if self.at_line_start {
                    self.start_line();
                }
                let took = self.lines[self.done].push_str(rest);
                rest = &rest[took..];
                if rest.is_empty() {
                    break;
                }
                // Full: this part is a line of its own.
                self.end_line();
            }
            if ends {
                self.end_line();
            }
        }
        Ok(())
    }
}

/// The printk-style level tag (`KERN_ERR` is 3, ... `KERN_DEBUG` 7).
pub fn tag(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "<3>",
        LogLevel::Warn => "<4>",
        LogLevel::Info => "<6>",
        LogLevel::Debug => "<7>",
    }
}

/// Prints one message (possibly several lines) at `level`.
pub fn log(level: LogLevel, args: fmt::Arguments) {
    log_with(level, "", |w| {
        let _ = w.write_fmt(args);
    });
}

/// Prints what `f` writes at `level`, every line carrying the timestamp and
/// `line_prefix`. Lines come out whole; another CPU's line may come between
/// two lines of one message.
pub fn log_with(level: LogLevel, line_prefix: &str, f: impl FnOnce(&mut dyn Write)) {
    if !enabled(level) {
        return;
    }
    let mut w = LineWriter {
        tag: tag(level),
        extra: line_prefix,
        stamp_us: crate::arch::x86_64::tsc::now_us(),
        lines: [const { Line::new() }; BATCH],
        done: 0,
        at_line_start: true,
    };
    f(&mut w);
    if !w.at_line_start {
        w.end_line();
    }
    w.flush();
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
