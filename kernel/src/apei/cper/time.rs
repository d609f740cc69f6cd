//! CPER timestamps (UEFI spec N.2.1, the record header's Timestamp field;
//! also in Generic Error Data Entries from revision 0x300): local time as
//! BCD bytes, and the calendar date and time they decode to.

use core::fmt;

/// A CPER timestamp: local time as BCD bytes (UEFI N.2.1): seconds,
/// minutes, hours, flags (bit 0: precise), day, month, year, century.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CperTimestamp(pub u64);

/// A calendar date and time decoded from a [`CperTimestamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// The timestamp is the time of the error event, not of its logging.
    pub precise: bool,
}

impl DateTime {
    /// Seconds since the Unix epoch, taking the date as UTC.
    pub fn to_unix(&self) -> i64 {
        days_from_civil(self.year as i64, self.month as i64, self.day as i64) * 86400
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second as i64
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

const fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

const fn from_bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0xf);
    if hi > 9 || lo > 9 {
        None
    } else {
        Some(hi * 10 + lo)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl CperTimestamp {
    /// Encodes Unix seconds (taken as UTC) with the precise flag set;
    /// `None` past year 9999, which the format cannot hold.
    pub fn from_unix(secs: u64) -> Option<Self> {
        let days = (secs / 86400) as i64;
        let rem = secs % 86400;
        let (y, m, d) = civil_from_days(days);
        if y > 9999 {
            return None;
        }
        let b = [
            bcd((rem % 60) as u8),
            bcd((rem / 60 % 60) as u8),
            bcd((rem / 3600) as u8),
            1,
            bcd(d),
            bcd(m),
            bcd((y % 100) as u8),
            bcd((y / 100) as u8),
        ];
        Some(CperTimestamp(u64::from_le_bytes(b)))
    }

    /// The date and time, or `None` when the field is 0 (not set) or does
    /// not hold a valid BCD date (Linux's pstore writes Unix seconds here).
    pub fn to_datetime(self) -> Option<DateTime> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.to_le_bytes();
        let dt = DateTime {
            second: from_bcd(b[0])?,
            minute: from_bcd(b[1])?,
            hour: from_bcd(b[2])?,
            precise: b[3] & 1 != 0,
            day: from_bcd(b[4])?,
            month: from_bcd(b[5])?,
            year: from_bcd(b[7])? as u16 * 100 + from_bcd(b[6])? as u16,
        };
        let ok = dt.second < 60
            && dt.minute < 60
            && dt.hour < 24
            && (1..=31).contains(&dt.day)
            && (1..=12).contains(&dt.month);
        ok.then_some(dt)
    }
}

impl fmt::Display for CperTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(dt) if dt.precise => write!(f, "{dt} (precise)"),
            Some(dt) => write!(f, "{dt}"),
            None if self.0 == 0 => f.write_str("not set"),
            None => write!(f, "{:#018x} (not a BCD date)", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(CperTimestamp(0).to_datetime(), None);
        assert_eq!(alloc::format!("{}", CperTimestamp(0)), "not set");
        let t = CperTimestamp::from_unix(0).unwrap();
        assert_eq!(
            alloc::format!("{}", t.to_datetime().unwrap()),
            "1970-01-01 00:00:00"
        );
        for secs in [0u64, 59, 86_399, 951_782_400, 1_709_210_096, 4_102_444_799] {
            let dt = CperTimestamp::from_unix(secs)
                .unwrap()
                .to_datetime()
                .unwrap();
            assert_eq!(dt.to_unix(), secs as i64);
            assert!(dt.precise);
        }
        let dt = CperTimestamp::from_unix(1_709_210_096)
            .unwrap()
            .to_datetime()
            .unwrap();
        assert_eq!(
            (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second),
            (2024, 2, 29, 12, 34, 56)
        );
        // Not BCD, or out of range: no date.
        assert_eq!(CperTimestamp(0x0a).to_datetime(), None);
        assert_eq!(
            CperTimestamp(u64::from_le_bytes([0, 0, 0, 0, 0x01, 0x13, 0x24, 0x20])).to_datetime(),
            None
        );
        assert_eq!(CperTimestamp::from_unix(u64::MAX), None);
    }
}
