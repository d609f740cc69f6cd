//! The PS/2 keyboard through the i8042 controller, polled (no interrupt
//! routing is needed for an operator typing): scancodes go through
//! [`Keymap`] into the same line editor as the serial console.

use crate::shell::keymap::Keymap;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;
use x86_64::instructions::port::Port;

static PRESENT: AtomicBool = AtomicBool::new(false);
static KEYMAP: Mutex<Keymap> = Mutex::new(Keymap::new());
/// Bytes produced by a key and not yet taken (an arrow is three).
static PENDING: Mutex<heapless_queue::Queue> = Mutex::new(heapless_queue::Queue::new());

fn status() -> u8 {
    // SAFETY: reading the i8042 status port has no side effect.
    unsafe { Port::<u8>::new(0x64).read() }
}

/// Looks for an i8042: a controller that is absent reads as 0xFF.
pub fn init() -> bool {
    let present = status() != 0xFF;
    PRESENT.store(present, Ordering::SeqCst);
    present
}

/// The next byte typed on the keyboard, if any.
pub fn read_byte() -> Option<u8> {
    if !PRESENT.load(Ordering::Relaxed) {
        return None;
    }
    let mut q = PENDING.try_lock()?;
    if let Some(b) = q.pop() {
        return Some(b);
    }
    let st = status();
    // Output buffer full, and the byte is from the keyboard (not the mouse).
    if st & 0x01 != 0 && st & 0x20 == 0 {
        // SAFETY: the status says a byte is waiting in the data port.
        let code = unsafe { Port::<u8>::new(0x60).read() };
        KEYMAP.lock().feed(code, |b| q.push(b));
    }
    q.pop()
}

/// A tiny fixed-size byte queue (no allocation; input is polled in the
/// idle loop).
mod heapless_queue {
    pub struct Queue {
        buf: [u8; 16],
        head: usize,
        len: usize,
    }

    impl Queue {
        pub const fn new() -> Self {
            Queue {
                buf: [0; 16],
                head: 0,
                len: 0,
            }
        }
        pub fn push(&mut self, b: u8) {
            if self.len < self.buf.len() {
                self.buf[(self.head + self.len) % self.buf.len()] = b;
                self.len += 1;
            }
        }
        pub fn pop(&mut self) -> Option<u8> {
            if self.len == 0 {
                return None;
            }
            let b = self.buf[self.head];
            self.head = (self.head + 1) % self.buf.len();
            self.len -= 1;
            Some(b)
        }
    }
}
