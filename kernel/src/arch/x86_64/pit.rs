//! The 8254 programmable interval timer, used once at boot as a known-rate
//! reference to measure the TSC. Channel 2 is used because its output can be
//! read back through port 0x61 without taking an interrupt.

use x86_64::instructions::port::Port;

/// The PIT's input clock in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// Runs `f` at the start and the end of a `ms` millisecond window measured by
/// PIT channel 2, returning `(f(start), f(end))`, or `None` if the PIT never
/// signalled the end (no PIT on this machine).
pub fn measure<T>(ms: u64, mut f: impl FnMut() -> T) -> Option<(T, T)> {
    let count = (PIT_HZ * ms / 1000).min(0xffff) as u16;
    // SAFETY: ports 0x61 (NMI status/control, speaker gate) and 0x42/0x43
    // (PIT channel 2 and mode register) belong to the PIT; nothing else in the
    // kernel uses channel 2 or the speaker.
    unsafe {
        let mut ctrl: Port<u8> = Port::new(0x61);
        let mut mode: Port<u8> = Port::new(0x43);
        let mut ch2: Port<u8> = Port::new(0x42);
        // Gate high, speaker off.
        let v = ctrl.read();
        ctrl.write((v & !0x02) | 0x01);
        // Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count).
        mode.write(0b1011_0000);
        ch2.write(count as u8);
        ch2.write((count >> 8) as u8);
        let start = f();
        // OUT2 (bit 5 of port 0x61) rises when the count reaches zero.
        let mut spins: u64 = 0;
        while ctrl.read() & 0x20 == 0 {
            spins += 1;
            if spins > 200_000_000 {
                return None;
            }
        }
        let end = f();
        Some((start, end))
    }
}
