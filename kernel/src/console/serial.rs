//! COM1, the 16550 UART at I/O port 0x3F8: the primary console under QEMU
//! and on servers (serial-over-LAN).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use spin::Mutex;
use uart_16550::SerialPort;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3F8;

static PORT: Mutex<Option<SerialPort>> = Mutex::new(None);
static PRESENT: AtomicBool = AtomicBool::new(false);

/// Probes for a UART at COM1 and initialises it (115200 8N1, FIFOs on).
/// Returns whether one is there; a machine without one just has no serial
/// console.
pub fn init() -> bool {
    // SAFETY: COM1's scratch register (base + 7) has no side effects; if no
    // UART decodes the port, reads return 0xFF and the probe fails.
    let present = unsafe {
        let mut scratch: Port<u8> = Port::new(COM1 + 7);
        scratch.write(0x5A);
        let a = scratch.read();
        scratch.write(0xA5);
        let b = scratch.read();
        a == 0x5A && b == 0xA5
    };
    if present {
        // SAFETY: a UART answers at COM1 (probed above) and nothing else in
        // the kernel drives these ports.
        let mut port = unsafe { SerialPort::new(COM1) };
        port.init();
        *PORT.lock() = Some(port);
        PRESENT.store(true, Ordering::SeqCst);
    }
    present
}

pub fn present() -> bool {
    PRESENT.load(Ordering::Relaxed)
}

/// Writes a string, turning `\n` into `\r\n` for terminals. Called with the
/// console held; the inner lock is only taken with `try_lock` so that a
/// re-entering NMI/#MC path falls back to writing the port directly.
pub fn write_str(s: &str) {
    if !present() {
        return;
    }
    match PORT.try_lock() {
        Some(mut guard) => {
            if let Some(p) = guard.as_mut() {
                for b in s.bytes() {
                    if b == b'\n' {
                        p.send_raw(b'\r');
                    }
                    p.send_raw(b);
                }
            }
        }
        None => {
            for b in s.bytes() {
                raw_send(b);
            }
        }
    }
}

/// Sends a byte by polling the line status register, without the lock (used
/// only when the lock is held by the context this one interrupted).
fn raw_send(b: u8) {
    let mut thr: Port<u8> = Port::new(COM1);
    if b == b'\n' {
        wait_transmit_ready();
        // SAFETY: COM1 is present (checked by the caller) and LSR says THR
        // is empty: writing it is the UART's protocol.
        unsafe { thr.write(b'\r') };
    }
    wait_transmit_ready();
    // SAFETY: as above.
    unsafe { thr.write(b) };
}

// rdi = port, rsi = byte, rdx = where the count goes, rcx = the count.
// The count is stored by the instruction right after the `out`, at
// rasos_serial_counted: an interrupt taken there has the byte out and its
// count not yet stored, and tells so by its RIP.
core::arch::global_asm!(
    r#"
    .section .text.rasos_serial, "ax"
    .global rasos_serial_out_counted
    .global rasos_serial_counted
rasos_serial_out_counted:
    mov r8, rdx
    mov eax, esi
    mov edx, edi
    out dx, al
rasos_serial_counted:
    mov qword ptr [r8], rcx
    ret
    .text
"#
);

extern "C" {
    static rasos_serial_counted: u8;
    fn rasos_serial_out_counted(port: u16, byte: u8, counter: *mut usize, count: usize);
}

/// Sends a byte (polling the line status register, without the lock, as
/// the console's printer does) and then stores `count` in `counter`. An
/// interrupt between the two is at [`counted_rip`]: the byte is out.
pub fn send_counted(b: u8, counter: &AtomicUsize, count: usize) {
    if !present() {
        counter.store(count, Ordering::SeqCst);
        return;
    }
    wait_transmit_ready();
    // SAFETY: COM1 is present and LSR says THR is empty, so writing it is
    // the UART's protocol; the routine writes only `counter`, an atomic
    // that outlives the call (an aligned 8-byte store is atomic on x86).
    unsafe { rasos_serial_out_counted(COM1, b, counter.as_ptr(), count) };
}

/// Polls the line status register until the transmit register is empty.
fn wait_transmit_ready() {
    let mut lsr: Port<u8> = Port::new(COM1 + 5);
    // SAFETY: reading COM1's LSR has no side effect on the transmitter;
    // callers checked that COM1 is present.
    while unsafe { lsr.read() } & 0x20 == 0 {}
}

/// The instruction after [`send_counted`]'s `out`: an interrupt taken
/// there has the byte out and its count not stored.
pub fn counted_rip() -> u64 {
    &raw const rasos_serial_counted as u64
}

/// A byte received on the line, if any (non-blocking; for the shell).
pub fn try_read() -> Option<u8> {
    if !present() {
        return None;
    }
    PORT.try_lock()?.as_mut()?.try_receive().ok()
}
