//! The log tail: a fixed byte ring that keeps the last bytes printed.
//!
//! Writers reserve their range with one atomic add and store bytes one by
//! one (relaxed atomics), so any CPU may write from any context without a
//! lock, and the panic path reads it without waiting for anyone. A reader
//! racing a writer may see that writer's bytes half written; the panic path
//! reads after the other CPUs are stopped.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed, Ordering::SeqCst};

pub struct LogTail {
    bytes: Box<[AtomicU8]>,
    /// Bytes ever written (the next write's position, before the modulo).
    written: AtomicU64,
}

impl LogTail {
    /// A ring of `capacity` bytes (at least 1). Allocates: boot time only.
    pub fn new(capacity: usize) -> Self {
        let mut v = Vec::with_capacity(capacity.max(1));
        v.resize_with(capacity.max(1), || AtomicU8::new(0));
        LogTail {
            bytes: v.into_boxed_slice(),
            written: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.bytes.len()
    }

    /// Bytes ever written (more than the capacity once it wrapped).
    pub fn written(&self) -> u64 {
        self.written.load(SeqCst)
    }

    /// Appends `data`; when it is longer than the ring only its end stays.
    pub fn write(&self, data: &[u8]) {
        let cap = self.bytes.len();
        let start = self.written.fetch_add(data.len() as u64, SeqCst);
        let skip = data.len().saturating_sub(cap);
        for (i, b) in data.iter().enumerate().skip(skip) {
            let at = ((start + i as u64) % cap as u64) as usize;
            self.bytes[at].store(*b, Relaxed);
        }
    }

    /// Copies the newest bytes, oldest first, into `out` (as many as it and
    /// the ring hold); returns how many.
    pub fn copy_tail(&self, out: &mut [u8]) -> usize {
        let cap = self.bytes.len() as u64;
        let end = self.written.load(SeqCst);
        let n = end.min(cap).min(out.len() as u64);
        let first = end - n;
        for (i, o) in out[..n as usize].iter_mut().enumerate() {
            *o = self.bytes[((first + i as u64) % cap) as usize].load(Relaxed);
        }
        n as usize
    }
}

/// Calls `f` with each run of `data` that belongs in a saved log: the
/// terminal's control sequences (the shell's prompt erase `ESC [ K`, cursor
/// moves) and other control bytes are left out, since a log read after the
/// reboot is text, not a screen (only `\n` and `\t` stay; a carriage return
/// would make a reader's terminal overwrite the start of the line). A CSI
/// sequence split across two writes loses only its first part's bytes.
pub fn text_runs(data: &[u8], mut f: impl FnMut(&[u8])) {
    let mut i = 0;
    let mut start = 0;
    while i < data.len() {
        let b = data[i];
        let is_text = b >= 0x20 && b != 0x7f || matches!(b, b'\n' | b'\t');
        if is_text {
            i += 1;
            continue;
        }
        if start < i {
            f(&data[start..i]);
        }
        i += 1;
        // ESC [ parameters/intermediates, then one final byte 0x40..=0x7e.
        if b == 0x1b && data.get(i) == Some(&b'[') {
            i += 1;
            while i < data.len() && (0x20..0x40).contains(&data[i]) {
                i += 1;
            }
            if i < data.len() && (0x40..=0x7e).contains(&data[i]) {
                i += 1;
            }
        }
        start = i;
    }
    if start < data.len() {
        f(&data[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        text_runs(data, |r| v.extend_from_slice(r));
        v
    }

    #[test]
    fn terminal_control_is_left_out_of_the_log() {
        assert_eq!(
            runs(b"rasos> \r\x1b[K[ 0.1] line\n"),
            b"rasos> [ 0.1] line\n"
        );
        assert_eq!(runs(b"ab\x1b[7Dc\x1b[12;3Hd"), b"abcd");
        assert_eq!(runs(b"a\x00b\x07c\x7f\td\n"), b"abc\td\n");
        assert_eq!(runs(b"end\x1b"), b"end");
        assert_eq!(runs(b"\x1b["), b"");
        assert_eq!(runs(b"plain"), b"plain");
    }

    fn tail_of<'a>(t: &LogTail, out: &'a mut [u8]) -> &'a [u8] {
        let n = t.copy_tail(out);
        &out[..n]
    }

    #[test]
    fn keeps_the_newest_bytes_in_order() {
        let t = LogTail::new(8);
        let mut out = [0u8; 16];
        assert_eq!(t.copy_tail(&mut out), 0);
        t.write(b"abc");
        assert_eq!(tail_of(&t, &mut out), b"abc");
        t.write(b"defghij");
        assert_eq!(tail_of(&t, &mut out), b"cdefghij");
        t.write(b"0123456789xyz");
        assert_eq!(tail_of(&t, &mut out), b"56789xyz");
        assert_eq!(t.written(), 23);
    }

    #[test]
    fn a_short_reader_gets_the_very_end() {
        let t = LogTail::new(64);
        t.write(b"first line\nsecond line\n");
        let mut out = [0u8; 5];
        assert_eq!(tail_of(&t, &mut out), b"line\n");
    }

    #[test]
    fn writers_on_several_threads_lose_nothing_that_fits() {
        let t = std::sync::Arc::new(LogTail::new(4096));
        let hs: Vec<_> = (0..4)
            .map(|k| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        t.write(&[b'a' + k as u8; 8]);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let mut out = vec![0u8; 4096];
        let n = t.copy_tail(&mut out);
        assert_eq!(n, 3200);
        for k in 0..4u8 {
            assert_eq!(out[..n].iter().filter(|b| **b == b'a' + k).count(), 800);
        }
    }
}
