//! Whole lines on the console from any context, on any number of CPUs.
//!
//! A log line is formatted into a fixed [`Line`] by the CPU that prints it
//! and queued in a lock-free ring; one CPU at a time (the printer) writes
//! queued lines to the sinks, a line at a time. A CPU that finds another
//! printing leaves its line to that printer and goes on, so #MC and NMI
//! context never wait for the console, and no two CPUs' bytes meet in one
//! line. The line being written is kept where the printer's own NMI can
//! finish it: a CPU stopped by the panic's NMI first completes its line.
//! The panic path takes the console over ([`force`]).

use crate::mca::log::ring::RecordRing;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use spin::Once;

/// The longest line; longer text continues on a new line with the same
/// prefix.
pub const LINE_MAX: usize = 384;

/// One console line, without its newline.
#[derive(Clone, Copy)]
pub struct Line {
    len: u16,
    bytes: [u8; LINE_MAX],
}

impl Line {
    pub const fn new() -> Self {
        Self {
            len: 0,
            bytes: [0; LINE_MAX],
        }
    }

    /// Appends as much of `s` as fits; returns the bytes taken (never
    /// splitting a UTF-8 character).
    pub fn push_str(&mut self, s: &str) -> usize {
        let room = LINE_MAX - self.len as usize;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let start = self.len as usize;
        self.bytes[start..start + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take as u16;
        take
    }

    pub fn is_full(&self) -> bool {
        self.len as usize == LINE_MAX
    }

    pub fn as_str(&self) -> &str {
        // Built from &str pieces cut at character boundaries.
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

static QUEUE: Once<RecordRing<Line>> = Once::new();
/// The printer (CPU number plus one), 0 when nobody prints.
static OWNER: AtomicU32 = AtomicU32::new(0);
/// The CPU (plus one) that took the console for a panic: from then on only
/// it prints.
static FORCED: AtomicU32 = AtomicU32::new(0);
/// The line the printer is writing, and how much of it is out.
struct Current(UnsafeCell<Line>);
// SAFETY: written and read only by the printer, or by its own NMI handler
// interrupting it on the same CPU (see `finish_before_stop`).
unsafe impl Sync for Current {}
static CURRENT: Current = Current(UnsafeCell::new(Line::new()));
/// Bytes of the current line (its text, then `\r\n`) out on the serial
/// port; exact, see [`interrupted_at`].
static WRITTEN: AtomicUsize = AtomicUsize::new(0);
/// The count the serial routine is about to store (what `interrupted_at`
/// stores in its place).
static COUNTING: AtomicUsize = AtomicUsize::new(0);
/// Bytes of the current line's text given to the sinks in memory (screen,
/// log tail). A stop between a character and this count repeats that
/// character there; the serial port is the reference.
static SHOWN: AtomicUsize = AtomicUsize::new(0);
static PARTIAL: AtomicBool = AtomicBool::new(false);
/// While a normal-context writer (the shell) waits for the console: the
/// TSC deadline of its wait, 0 when nobody waits. Printers leave the
/// console to it between lines; else a CPU logging line after line retakes
/// it each time, and the shell waits out its bound and then writes into a
/// line. Past the deadline (a waiter stopped in its #MC) it is ignored.
static WAITER_DEADLINE: AtomicU64 = AtomicU64::new(0);
/// Lines lost to a full queue (shown in `stats`).
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Sets the queue up (after the heap). Before, lines are written directly.
pub fn init(capacity: usize) {
    QUEUE.call_once(|| RecordRing::new(capacity));
}

fn me() -> u32 {
    crate::arch::x86_64::percpu::cpu_index_or_zero() + 1
}

/// Prints `lines` (each plus a newline) from any context, queued back to
/// back so a message's lines stay together.
pub fn emit(lines: &[Line]) {
    let Some(q) = QUEUE.get() else {
        for line in lines {
            super::write_direct_line(line.as_str());
        }
        return;
    };
    for line in lines {
        if q.push(*line).is_err() {
            if FORCED.load(SeqCst) == me() {
                // The panic path never loses a line: write it through.
                drain_as_printer(q);
                write_line(line);
                continue;
            }
            DROPPED.fetch_add(1, SeqCst);
        }
    }
    pump(q);
}

/// Writes queued lines if no one else is: the caller becomes the printer.
fn pump(q: &RecordRing<Line>) {
    let me = me();
    loop {
        match FORCED.load(SeqCst) {
            0 => {}
            f if f == me => {
                drain_as_printer(q);
                return;
            }
            // The panicking CPU prints everything from now on.
            _ => return,
        }
        let waiter = WAITER_DEADLINE.load(SeqCst);
        if waiter != 0 && crate::arch::x86_64::tsc::rdtsc() < waiter {
            // The waiting writer prints the queue when it has the console.
            return;
        }
        if OWNER.compare_exchange(0, me, SeqCst, SeqCst).is_err() {
            // Another CPU prints (it will print ours), or this CPU does and
            // we interrupted it (its drain goes on when we return).
            return;
        }
        let emptied = drain_as_printer(q);
        OWNER.store(0, SeqCst);
        // A line queued while we released would otherwise wait. Unless
        // another CPU kept filling the queue: it prints its next line
        // itself (the idle loop's `flush` catches a last one).
        if !emptied || q.is_empty() {
            return;
        }
    }
}

/// Writes queued lines: at most a queue's worth, so a CPU that logs line
/// after line cannot keep another printing for good (the shell waiting to
/// write its answer, the idle loop). True when it left the queue empty.
fn drain_as_printer(q: &RecordRing<Line>) -> bool {
    if PARTIAL.swap(false, SeqCst) {
        // A printer was stopped mid-line without finishing it.
        super::write_raw("\n");
    }
    for n in 0..q.capacity() {
        let Some(line) = q.pop() else {
            return true;
        };
        if n == 0 {
            super::before_log_output();
        }
        write_line(&line);
    }
    q.is_empty()
}

/// Prints what is queued if nobody is printing (from the idle loop).
pub fn flush() {
    if let Some(q) = QUEUE.get() {
        if !q.is_empty() {
            pump(q);
        }
    }
}

fn write_line(line: &Line) {
    // SAFETY: only the printer writes CURRENT (see `Current`).
    unsafe { *CURRENT.0.get() = *line };
    WRITTEN.store(0, SeqCst);
    SHOWN.store(0, SeqCst);
    PARTIAL.store(true, SeqCst);
    // A character at a time, its progress stored right after it, so an
    // NMI that stops this CPU (finish_before_stop) or its own #MC that ends
    // the run (force) resumes where the output stands. On the serial port
    // the count is exact (see `interrupted_at`). An earlier version stored
    // it after the screen's draw of the character, and a stop during the
    // draw sent the character again (`0.9479779]` for `0.947979]`).
    let text = line.as_str();
    let mut at = 0;
    while at < text.len() {
        let mut end = at + 1;
        while !text.is_char_boundary(end) {
            end += 1;
        }
        send_serial(text, at, end);
        super::write_memory_sinks(&text[at..end]);
        SHOWN.store(end, SeqCst);
        at = end;
    }
    send_serial(text, text.len(), text.len() + 2);
    super::write_memory_sinks("\n");
    PARTIAL.store(false, SeqCst);
}

/// Byte `i` of a line as the serial port gets it: the text, then `\r\n`.
fn serial_byte(text: &str, i: usize) -> u8 {
    match i.checked_sub(text.len()) {
        None => text.as_bytes()[i],
        Some(0) => b'\r',
        Some(_) => b'\n',
    }
}

/// Sends bytes `[from, to)` of the current line to the serial port,
/// counting each in WRITTEN.
fn send_serial(text: &str, from: usize, to: usize) {
    for i in from..to {
        COUNTING.store(i + 1, SeqCst);
        super::serial::send_counted(serial_byte(text, i), &WRITTEN, i + 1);
    }
}

/// Called first by the NMI and #MC handlers with the RIP they interrupted.
/// If that is this CPU's printer between a byte's `out` and the store of
/// its count, the count is stored here: the byte is out, and a line
/// finished from this context must not send it again.
pub fn interrupted_at(rip: u64) {
    if rip == super::serial::counted_rip() && OWNER.load(SeqCst) == me() {
        WRITTEN.store(COUNTING.load(SeqCst), SeqCst);
    }
}

/// Writes what is left of the current line; the caller is its printer,
/// interrupted while writing it.
fn finish_current_line() {
    // SAFETY: we are the printer, interrupted on our own CPU; nothing else
    // touches CURRENT.
    let line = unsafe { &*CURRENT.0.get() };
    let text = line.as_str();
    let len = text.len() + 2;
    send_serial(text, WRITTEN.load(SeqCst).min(len), len);
    let shown = SHOWN.load(SeqCst).min(text.len());
    if text.is_char_boundary(shown) {
        super::write_memory_sinks(&text[shown..]);
    }
    super::write_memory_sinks("\n");
    PARTIAL.store(false, SeqCst);
}

/// From the NMI that stops this CPU (panic): if it was printing, finish
/// the line it was in and give the console up, so the panic output starts
/// on a line of its own and no line is cut.
pub fn finish_before_stop() {
    if OWNER.load(SeqCst) != me() {
        return;
    }
    if PARTIAL.load(SeqCst) {
        finish_current_line();
    }
    OWNER.store(0, SeqCst);
}

/// The panic path: this CPU alone prints from now on; queued lines first.
pub fn force() {
    let me = me();
    FORCED.store(me, SeqCst);
    if OWNER.swap(me, SeqCst) == me && PARTIAL.load(SeqCst) {
        // What ends the run (this CPU's #MC) interrupted this CPU's own
        // line: it is finished, not cut.
        finish_current_line();
    }
    if let Some(q) = QUEUE.get() {
        drain_as_printer(q);
    }
}

/// True once a CPU took the console for a panic; `Some(true)` when it is
/// the calling CPU.
pub fn forced_by_me() -> Option<bool> {
    match FORCED.load(SeqCst) {
        0 => None,
        f => Some(f == me()),
    }
}

/// Takes the printer role for normal-context output (the shell), waiting
/// at most until `deadline` (TSC ticks). Returns whether it was taken; on
/// success queued lines are written first.
pub fn acquire(deadline: u64) -> Acquired {
    let me = me();
    if OWNER.load(SeqCst) == me {
        return Acquired::Reentered;
    }
    WAITER_DEADLINE.fetch_max(deadline, SeqCst);
    let got = loop {
        if OWNER.compare_exchange_weak(0, me, SeqCst, SeqCst).is_ok() {
            break Acquired::Taken;
        }
        if crate::arch::x86_64::tsc::rdtsc() > deadline {
            break Acquired::TimedOut;
        }
        core::hint::spin_loop();
    };
    WAITER_DEADLINE.store(0, SeqCst);
    if got == Acquired::Taken {
        if let Some(q) = QUEUE.get() {
            drain_as_printer(q);
        }
    }
    got
}

/// Gives the printer role back, writing what was queued meanwhile.
pub fn release() {
    if let Some(q) = QUEUE.get() {
        drain_as_printer(q);
    }
    OWNER.store(0, SeqCst);
    if let Some(q) = QUEUE.get() {
        if !q.is_empty() {
            pump(q);
        }
    }
}

/// How [`acquire`] went.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    Taken,
    /// This CPU is the printer already (an NMI or #MC inside its output).
    Reentered,
    TimedOut,
}

/// Test hook (`testhook hold console`): becomes the printer and never
/// gives the console back, as a CPU stopped while printing would (its
/// queued lines are left to the panic path to print).
pub fn hold_forever(held: &core::sync::atomic::AtomicBool) -> ! {
    x86_64::instructions::interrupts::disable();
    while OWNER.compare_exchange(0, me(), SeqCst, SeqCst).is_err() {
        core::hint::spin_loop();
    }
    held.store(true, SeqCst);
    loop {
        core::hint::spin_loop();
    }
}
