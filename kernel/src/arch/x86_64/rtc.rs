//! The CMOS real-time clock, read once at boot for wall-clock time: record
//! timestamps (mcelog's TIME) and ERST record ids (seconds in the upper 32
//! bits, as Linux makes them).

use x86_64::instructions::port::Port;

fn cmos(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index/data pair; bit 7 of the
    // index (NMI disable) is left clear; only RTC registers are read.
    unsafe {
        Port::<u8>::new(0x70).write(reg & 0x7f);
        Port::<u8>::new(0x71).read()
    }
}

fn update_in_progress() -> bool {
    cmos(0x0A) & 0x80 != 0
}

fn raw() -> [u8; 7] {
    [
        cmos(0x00),
        cmos(0x02),
        cmos(0x04),
        cmos(0x07),
        cmos(0x08),
        cmos(0x09),
        cmos(0x32),
    ]
}

fn bcd(v: u8) -> u8 {
    (v & 0x0f) + (v >> 4) * 10
}

/// A calendar time as the RTC keeps it (UTC on the machines we care about).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// The current date and time, or None if the clock reads as nonsense.
pub fn read() -> Option<RtcTime> {
    // Read until two reads agree outside an update cycle (bounded).
    let mut last = [0u8; 7];
    let mut ok = false;
    for _ in 0..1000 {
        while update_in_progress() {}
        let a = raw();
        if a == last {
            ok = true;
            break;
        }
        last = a;
    }
    if !ok {
        return None;
    }
    let status_b = cmos(0x0B);
    let [mut s, mut mi, mut h, mut d, mut mo, mut y, mut c] = last;
    let pm = h & 0x80 != 0;
    h &= 0x7f;
    if status_b & 0x04 == 0 {
        (s, mi, h, d, mo, y, c) = (bcd(s), bcd(mi), bcd(h), bcd(d), bcd(mo), bcd(y), bcd(c));
    }
    if status_b & 0x02 == 0 && pm {
        h = (h % 12) + 12;
    }
    let century = if (19..=21).contains(&c) { c as u16 } else { 20 };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(RtcTime {
        year: century * 100 + y as u16,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
    })
}
