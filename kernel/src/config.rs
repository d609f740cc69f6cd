//! The boot configuration: a command line of `key=value` words.
//!
//! It reaches the kernel as the bootloader's ramdisk (a small text file on the
//! boot image), so the same mechanism works under QEMU and from a USB stick.
//! Unknown or malformed words are reported and ignored: a typo must never stop
//! a machine under test from booting.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// How much the kernel prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

impl LogLevel {
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "error" => LogLevel::Error,
            "warn" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            _ => return None,
        })
    }
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// The effective boot configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `mce.tolerant`: 0 always panic on uncorrected errors, 1 (default)
    /// panic or recover as graded, 2 recover or log where possible, 3 never
    /// panic (testing only).
    pub tolerant: u8,
    /// `mce.monarch_timeout_us`: how long a CPU waits for the others in the
    /// machine-check rendezvous.
    pub monarch_timeout_us: u64,
    /// `mce.monarch_cap_us`: the longest one machine-check rendezvous may
    /// last from its first arrival, however slowly its CPUs progress.
    pub rendezvous_cap_us: u64,
    /// `mce.poll_ms`: the longest interval between polls of the banks.
    pub poll_ms: u64,
    /// `mce.ring_capacity`: records per CPU in the record ring.
    pub ring_capacity: usize,
    /// `mce.storm_threshold`: polls with errors within the storm window
    /// (64 one-second slots) that make a bank's errors a storm.
    pub storm_threshold: u32,
    /// `mce.storm_poll_ms`: the fixed polling interval during a storm.
    pub storm_poll_ms: u64,
    /// `mce.storm_clean_polls`: clean polls in a row that end a storm.
    pub storm_clean_polls: u32,
    /// `cec.threshold`: corrected errors on one page within the window that
    /// take the page offline.
    pub cec_threshold: u32,
    /// `cec.window_s`: the corrected-error collector's window in seconds.
    pub cec_window_s: u64,
    /// `pstore.log_kib`: KiB of console log kept for the panic path to save
    /// in ERST (the tail of everything printed).
    pub pstore_log_kib: u32,
    /// `einj`: whether error injection through ACPI EINJ is allowed.
    pub einj: bool,
    /// `demo`: after `READY`, show the RAS subsystem at work (the console's
    /// `selftest`) before handing the console to the operator.
    pub demo: bool,
    /// `mcelogd`: start the user-space record daemon at boot.
    pub mcelogd: bool,
    /// `trigger.ce` / `trigger.uc`: the user program mcelogd starts for each
    /// corrected / uncorrected record (empty: none).
    pub trigger_ce: String,
    pub trigger_uc: String,
    /// `trigger.rate`: at most this many trigger runs per second.
    pub trigger_rate: u32,
    /// `mcelogd.filter`: the filter of mcelogd's reader (words of
    /// `mca::log::reader`, separated by commas); empty: all.
    pub mcelogd_filter: String,
    /// `log`: the console log level.
    pub log: LogLevel,
    /// `mce.test_unresponsive_cpu`: for tests, this CPU hangs in the #MC
    /// handler instead of joining the rendezvous.
    pub test_unresponsive_cpu: Option<u32>,
    /// `smp.test_withhold_cpu`: for tests, the start-up IPIs of this CPU
    /// are not sent, as if it were dead, to exercise the start timeout.
    pub test_withhold_cpu: Option<u32>,
    /// `mce.early_kill`: memory_failure kills every task mapping a page with
    /// an action-optional error at once (Linux's
    /// `vm.memory_failure_early_kill`); off: it unmaps the page and kills
    /// only a task that touches it again.
    pub early_kill: bool,
    /// `test`: a named in-kernel test scenario to run after boot (used by the
    /// host-driven tests, e.g. `test=panic`); empty for a normal boot.
    pub test: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tolerant: 1,
            monarch_timeout_us: 1_000_000,
            rendezvous_cap_us: 30_000_000,
            poll_ms: 1000,
            ring_capacity: 64,
            storm_threshold: 5,
            storm_poll_ms: 1000,
            storm_clean_polls: 30,
            cec_threshold: 10,
            cec_window_s: 86_400,
            pstore_log_kib: PSTORE_LOG_KIB_DEFAULT,
            einj: false,
            demo: false,
            mcelogd: false,
            trigger_ce: String::new(),
            trigger_uc: String::new(),
            trigger_rate: 10,
            mcelogd_filter: String::new(),
            log: LogLevel::Info,
            test_unresponsive_cpu: None,
            test_withhold_cpu: None,
            early_kill: false,
            test: String::new(),
        }
    }
}

/// Room for a full machine-check dump of a few CPUs and the lines before.
pub const PSTORE_LOG_KIB_DEFAULT: u32 = 16;

/// A word of the command line that was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The key is not one this kernel knows.
    UnknownKey(String),
    /// The word has no `=`.
    NotKeyValue(String),
    /// The value does not parse or is out of range.
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    /// A record-reader filter with a word the reader language lacks.
    BadFilter {
        key: String,
        value: String,
        why: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownKey(k) => write!(f, "unknown key '{k}' ignored"),
            Problem::NotKeyValue(w) => write!(f, "'{w}' is not key=value, ignored"),
            Problem::BadValue {
                key,
                value,
                expected,
            } => write!(f, "{key}={value}: expected {expected}, ignored"),
            Problem::BadFilter { key, value, why } => {
                write!(f, "{key}={value}: {why}, ignored")
            }
        }
    }
}

/// Parses a number in decimal or `0x` hexadecimal.
pub fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "1" | "yes" | "true" => Some(true),
        "off" | "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

impl Config {
    /// Parses a command line; returns the configuration (defaults for what is
    /// missing or wrong) and every problem found, in order.
    pub fn parse(cmdline: &str) -> (Config, Vec<Problem>) {
        let mut cfg = Config::default();
        let mut problems = Vec::new();
        for word in cmdline.split_ascii_whitespace() {
            if let Err(p) = cfg.set(word) {
                problems.push(p);
            }
        }
        (cfg, problems)
    }

    /// Applies one `key=value` word (also used by the console's `config set`).
    pub fn set(&mut self, word: &str) -> Result<(), Problem> {
        let Some((key, value)) = word.split_once('=') else {
            return Err(Problem::NotKeyValue(word.into()));
        };
        let bad = |expected| Problem::BadValue {
            key: key.into(),
            value: value.into(),
            expected,
        };
        match key {
            "mce.tolerant" => {
                self.tolerant = parse_u64(value)
                    .filter(|v| *v <= 3)
                    .ok_or_else(|| bad("0..3"))? as u8
            }
            "mce.monarch_timeout_us" => {
                self.monarch_timeout_us = parse_u64(value)
                    .filter(|v| *v > 0 && *v <= 60_000_000)
                    .ok_or_else(|| bad("1..60000000 microseconds"))?
            }
            "mce.monarch_cap_us" => {
                self.rendezvous_cap_us = parse_u64(value)
                    .filter(|v| (1_000..=600_000_000).contains(v))
                    .ok_or_else(|| bad("1000..600000000 microseconds"))?
            }
            "mce.poll_ms" => {
                self.poll_ms = parse_u64(value)
                    .filter(|v| (10..=3_600_000).contains(v))
                    .ok_or_else(|| bad("10..3600000 milliseconds"))?
            }
            "mce.ring_capacity" => {
                self.ring_capacity = parse_u64(value)
                    .filter(|v| (1..=65536).contains(v))
                    .ok_or_else(|| bad("1..65536 records"))?
                    as usize
            }
            "mce.storm_threshold" => {
                self.storm_threshold = parse_u64(value)
                    .filter(|v| (1..=64).contains(v))
                    .ok_or_else(|| bad("1..64 polls"))?
                    as u32
            }
            "mce.storm_poll_ms" => {
                self.storm_poll_ms = parse_u64(value)
                    .filter(|v| (10..=60_000).contains(v))
                    .ok_or_else(|| bad("10..60000 milliseconds"))?
            }
            "mce.storm_clean_polls" => {
                self.storm_clean_polls = parse_u64(value)
                    .filter(|v| (1..=64).contains(v))
                    .ok_or_else(|| bad("1..64 polls"))?
                    as u32
            }
            "cec.threshold" => {
                self.cec_threshold = parse_u64(value)
                    .filter(|v| (1..=1_000_000).contains(v))
                    .ok_or_else(|| bad("1..1000000 errors"))?
                    as u32
            }
            "cec.window_s" => {
                self.cec_window_s = parse_u64(value)
                    .filter(|v| (1..=31_536_000).contains(v))
                    .ok_or_else(|| bad("1..31536000 seconds"))?
            }
            "mce.test_unresponsive_cpu" => {
                self.test_unresponsive_cpu = Some(
                    parse_u64(value)
                        .filter(|v| *v < 64)
                        .ok_or_else(|| bad("a CPU number 0..63"))? as u32,
                )
            }
            "smp.test_withhold_cpu" => {
                self.test_withhold_cpu = Some(
                    parse_u64(value)
                        .filter(|v| (1..64).contains(v))
                        .ok_or_else(|| bad("an AP number 1..63"))? as u32,
                )
            }
            "pstore.log_kib" => {
                self.pstore_log_kib = parse_u64(value)
                    .filter(|v| (1..=1024).contains(v))
                    .ok_or_else(|| bad("1..1024 KiB"))? as u32
            }
            "einj" => self.einj = parse_bool(value).ok_or_else(|| bad("on or off"))?,
            "demo" => self.demo = parse_bool(value).ok_or_else(|| bad("on or off"))?,
            "mce.early_kill" => {
                self.early_kill = parse_bool(value).ok_or_else(|| bad("on or off"))?
            }
            "mcelogd" => self.mcelogd = parse_bool(value).ok_or_else(|| bad("on or off"))?,
            "trigger.ce" | "trigger.uc" => {
                if value.is_empty() || value.len() > 32 {
                    return Err(bad("a program name"));
                }
                let v = String::from(value);
                if key == "trigger.ce" {
                    self.trigger_ce = v
                } else {
                    self.trigger_uc = v
                }
            }
            "mcelogd.filter" => {
                if let Err(why) = crate::mca::log::reader::parse_filter(value) {
                    return Err(Problem::BadFilter {
                        key: key.into(),
                        value: value.into(),
                        why,
                    });
                }
                self.mcelogd_filter = value.into()
            }
            "trigger.rate" => {
                self.trigger_rate = parse_u64(value)
                    .filter(|v| (1..=1000).contains(v))
                    .ok_or_else(|| bad("1..1000 runs per second"))?
                    as u32
            }
            "log" => {
                self.log = LogLevel::from_name(value).ok_or_else(|| bad("error|warn|info|debug"))?
            }
            "test" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(bad("a scenario name"));
                }
                self.test = value.into()
            }
            _ => return Err(Problem::UnknownKey(key.into())),
        }
        Ok(())
    }
}

impl fmt::Display for Config {
    /// The effective configuration as a command line (what the kernel prints
    /// at boot, and what can be fed back to it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mce.tolerant={} mce.monarch_timeout_us={} mce.monarch_cap_us={} mce.poll_ms={} mce.ring_capacity={} \
             mce.storm_threshold={} mce.storm_poll_ms={} mce.storm_clean_polls={} \
             cec.threshold={} cec.window_s={} einj={} log={}",
            self.tolerant,
            self.monarch_timeout_us,
            self.rendezvous_cap_us,
            self.poll_ms,
            self.ring_capacity,
            self.storm_threshold,
            self.storm_poll_ms,
            self.storm_clean_polls,
            self.cec_threshold,
            self.cec_window_s,
            if self.einj { "on" } else { "off" },
            self.log.name()
        )?;
        if self.demo {
            write!(f, " demo=on")?;
        }
        if self.early_kill {
            write!(f, " mce.early_kill=on")?;
        }
        if self.pstore_log_kib != PSTORE_LOG_KIB_DEFAULT {
            write!(f, " pstore.log_kib={}", self.pstore_log_kib)?;
        }
        if self.mcelogd {
            write!(f, " mcelogd=on")?;
        }
        if !self.mcelogd_filter.is_empty() {
            write!(f, " mcelogd.filter={}", self.mcelogd_filter)?;
        }
        for (k, v) in [("ce", &self.trigger_ce), ("uc", &self.trigger_uc)] {
            if !v.is_empty() {
                write!(f, " trigger.{k}={v}")?;
            }
        }
        if let Some(c) = self.test_withhold_cpu {
            write!(f, " smp.test_withhold_cpu={c}")?;
        }
        if let Some(c) = self.test_unresponsive_cpu {
            write!(f, " mce.test_unresponsive_cpu={c}")?;
        }
        if !self.test.is_empty() {
            write!(f, " test={}", self.test)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn defaults() {
        let (c, p) = Config::parse("");
        assert!(p.is_empty());
        assert_eq!(c, Config::default());
        assert_eq!(
            c.to_string(),
            "mce.tolerant=1 mce.monarch_timeout_us=1000000 mce.monarch_cap_us=30000000 mce.poll_ms=1000 mce.ring_capacity=64 mce.storm_threshold=5 mce.storm_poll_ms=1000 mce.storm_clean_polls=30 cec.threshold=10 cec.window_s=86400 einj=off log=info"
        );
    }

    #[test]
    fn every_key() {
        let (c, p) = Config::parse(
            "mce.tolerant=3 mce.monarch_timeout_us=0x100 mce.poll_ms=50 mce.ring_capacity=8 einj=on log=debug mce.test_unresponsive_cpu=2 mce.storm_threshold=3 mce.storm_poll_ms=100 mce.storm_clean_polls=4 cec.threshold=2 cec.window_s=60 mce.early_kill=on test=panic",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(c.tolerant, 3);
        assert_eq!(c.monarch_timeout_us, 256);
        assert_eq!(c.poll_ms, 50);
        assert_eq!(c.ring_capacity, 8);
        assert!(c.einj);
        assert_eq!(c.log, LogLevel::Debug);
        assert_eq!(c.test, "panic");
        assert_eq!(c.test_unresponsive_cpu, Some(2));
        assert_eq!(
            (c.storm_threshold, c.storm_poll_ms, c.storm_clean_polls),
            (3, 100, 4)
        );
        assert_eq!((c.cec_threshold, c.cec_window_s), (2, 60));
        assert!(c.early_kill);
        // What is printed parses back to the same configuration.
        assert_eq!(Config::parse(&c.to_string()).0, c);
    }

    #[test]
    fn problems_are_reported_and_ignored() {
        let (c, p) = Config::parse("mce.tolerant=7 bogus=1 lonely log=loud mce.poll_ms=x einj=on");
        assert_eq!(c.tolerant, 1);
        assert_eq!(c.log, LogLevel::Info);
        assert!(c.einj, "good words after bad ones still apply");
        assert_eq!(p.len(), 5);
        assert_eq!(
            format!("{}", p[0]),
            "mce.tolerant=7: expected 0..3, ignored"
        );
        assert_eq!(p[1], Problem::UnknownKey("bogus".into()));
        assert_eq!(p[2], Problem::NotKeyValue("lonely".into()));
        assert!(matches!(&p[3], Problem::BadValue { key, .. } if key == "log"));
        assert!(matches!(&p[4], Problem::BadValue { key, .. } if key == "mce.poll_ms"));
        // A filter is checked word by word; a bad one leaves the good one.
        let (c, p) = Config::parse("mcelogd.filter=kind=ce,cpu=1 mcelogd.filter=colour=red");
        assert_eq!(c.mcelogd_filter, "kind=ce,cpu=1");
        assert!(
            matches!(&p[..], [Problem::BadFilter { why, .. }] if why.contains("'colour'")),
            "{p:?}"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0x10"), Some(16));
        assert_eq!(parse_u64("10"), Some(10));
        assert_eq!(parse_u64("0xZ"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("99999999999999999999999"), None);
    }
}
