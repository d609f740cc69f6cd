//! Record readers: the kernel side of `/dev/mcelog` for ring-3 tasks.
//!
//! Each reader has a filter and a bounded queue of its own. The consumer
//! hands every record to [`ReaderSet::deliver`], which never waits for a
//! reader: a full queue drops the record *for that reader* and counts it
//! (`lost`), so `delivered + lost + still queued = matched` holds exactly
//! per reader. A short history of recent records is kept so that a reader
//! opened late still gets what was logged before (like mcelog's first read
//! of /dev/mcelog, which returns the records already in the buffer).

use crate::mca::record::{MceRecord, Severity, Source};
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Records each reader can hold before it loses some.
pub const QUEUE_LEN: usize = 64;
/// Recent records a new reader starts with.
pub const HISTORY_LEN: usize = 32;
/// Readers open at once.
pub const MAX_READERS: usize = 8;

/// What a reader wants; every present condition must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderFilter {
    pub min: Severity,
    pub max: Severity,
    pub cpu: Option<u32>,
    pub bank: Option<u8>,
    pub source: Option<Source>,
    /// Only corrected (`Some(false)`) or uncorrected (`Some(true)`).
    pub uncorrected: Option<bool>,
}

impl ReaderFilter {
    pub const ALL: ReaderFilter = ReaderFilter {
        min: Severity::NoError,
        max: Severity::Panic,
        cpu: None,
        bank: None,
        source: None,
        uncorrected: None,
    };

    pub fn matches(&self, r: &MceRecord) -> bool {
        (self.min..=self.max).contains(&r.severity)
            && self.cpu.is_none_or(|c| c == r.cpu)
            && self.bank.is_none_or(|b| b == r.bank)
            && self.source.is_none_or(|s| s == r.source)
            && self.uncorrected.is_none_or(|u| u == r.uncorrected())
    }
}

/// Severity words of the filter language (Linux's MCE_*_SEVERITY order).
fn severity_word(w: &str) -> Option<Severity> {
    Some(match w {
        "noerror" => Severity::NoError,
        "deferred" => Severity::Deferred,
        "keep" => Severity::Keep,
        "some" => Severity::Some,
        "ao" | "srao" => Severity::ActionOptional,
        "uc" => Severity::Uncorrected,
        "ar" | "srar" => Severity::ActionRequired,
        "panic" => Severity::Panic,
        _ => return None,
    })
}

fn source_word(w: &str) -> Option<Source> {
    Some(match w {
        "boot" => Source::Boot,
        "exception" => Source::Exception,
        "poll" => Source::Poll,
        "cmci" => Source::Cmci,
        "persistent" => Source::Persistent,
        _ => return None,
    })
}

/// Parses a filter: space-separated `key=value` words, or `all`.
/// Keys: `min`, `max` (severity: noerror deferred keep some ao uc ar panic),
/// `cpu`, `bank` (numbers), `source` (boot exception poll cmci persistent),
/// `kind` (ce or uc: the status UC bit). Anything else is an error naming
/// the word.
pub fn parse_filter(text: &str) -> Result<ReaderFilter, String> {
    let mut f = ReaderFilter::ALL;
    for word in text.split_ascii_whitespace() {
        if word == "all" {
            continue;
        }
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "unknown filter word '{word}' (expected key=value or all)"
            ));
        };
        let num = |max: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("bad number in '{word}' (0..={max})"))
        };
        match key {
            "min" | "max" => {
                let s = severity_word(value).ok_or_else(|| {
                    format!(
                        "unknown severity in '{word}' (noerror deferred keep some ao uc ar panic)"
                    )
                })?;
                if key == "min" {
                    f.min = s
                } else {
                    f.max = s
                }
            }
            "cpu" => f.cpu = Some(num(u32::MAX as u64 - 1)? as u32),
            "bank" => f.bank = Some(num(63)? as u8),
            "source" => {
                f.source = Some(source_word(value).ok_or_else(|| {
                    format!("unknown source in '{word}' (boot exception poll cmci persistent)")
                })?)
            }
            "kind" => {
                f.uncorrected = Some(match value {
                    "ce" => false,
                    "uc" => true,
                    _ => return Err(format!("unknown kind in '{word}' (ce or uc)")),
                })
            }
            _ => {
                return Err(format!(
                    "unknown filter key '{key}' (min max cpu bank source kind)"
                ))
            }
        }
    }
    if f.min > f.max {
        return Err(format!(
            "min {} is above max {}",
            f.min.name(),
            f.max.name()
        ));
    }
    Ok(f)
}

/// One open reader.
pub struct Reader {
    pub id: u32,
    /// The task that opened it (closed when that task ends).
    pub owner: u32,
    pub filter: ReaderFilter,
    queue: VecDeque<MceRecord>,
    /// Records that matched but found the queue full.
    pub lost: u64,
    /// Records handed to the reader by `read`.
    pub delivered: u64,
    /// Records that matched (queued or lost).
    pub matched: u64,
}

impl Reader {
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// Every open reader and the recent history.
pub struct ReaderSet {
    readers: Vec<Reader>,
    history: VecDeque<MceRecord>,
    next_id: u32,
}

impl Default for ReaderSet {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderSet {
    pub const fn new() -> Self {
        ReaderSet {
            readers: Vec::new(),
            history: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Opens a reader for `owner`; it starts with the matching records of
    /// the history, oldest first.
    pub fn open(&mut self, owner: u32, filter: ReaderFilter) -> Result<u32, &'static str> {
        if self.readers.len() >= MAX_READERS {
            return Err("too many readers open");
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut r = Reader {
            id,
            owner,
            filter,
            queue: VecDeque::with_capacity(QUEUE_LEN),
            lost: 0,
            delivered: 0,
            matched: 0,
        };
        for rec in self.history.iter().filter(|rec| filter.matches(rec)) {
            Self::offer(&mut r, rec);
        }
        self.readers.push(r);
        Ok(id)
    }

    fn offer(r: &mut Reader, rec: &MceRecord) {
        r.matched += 1;
        if r.queue.len() < QUEUE_LEN {
            r.queue.push_back(*rec);
        } else {
            r.lost += 1;
        }
    }

    /// Hands one record to every matching reader and to the history.
    /// Never waits: a full queue counts the record as lost to that reader.
    pub fn deliver(&mut self, rec: &MceRecord) {
        if self.history.len() == HISTORY_LEN {
            self.history.pop_front();
        }
        self.history.push_back(*rec);
        for r in &mut self.readers {
            if r.filter.matches(rec) {
                Self::offer(r, rec);
            }
        }
    }

    fn find(&mut self, id: u32, owner: u32) -> Option<&mut Reader> {
        self.readers
            .iter_mut()
            .find(|r| r.id == id && r.owner == owner)
    }

    /// Up to `max` records, oldest first; `None` if `owner` has no reader `id`.
    pub fn take(&mut self, id: u32, owner: u32, max: usize) -> Option<Vec<MceRecord>> {
        let r = self.find(id, owner)?;
        let n = max.min(r.queue.len());
        let v: Vec<MceRecord> = r.queue.drain(..n).collect();
        r.delivered += n as u64;
        Some(v)
    }

    /// Puts records back at the front (a copy to the reader failed).
    pub fn untake(&mut self, id: u32, owner: u32, recs: Vec<MceRecord>) {
        if let Some(r) = self.find(id, owner) {
            r.delivered -= recs.len() as u64;
            for rec in recs.into_iter().rev() {
                r.queue.push_front(rec);
            }
        }
    }

    pub fn queued(&mut self, id: u32, owner: u32) -> Option<usize> {
        self.find(id, owner).map(|r| r.queue.len())
    }

    pub fn lost(&mut self, id: u32, owner: u32) -> Option<u64> {
        self.find(id, owner).map(|r| r.lost)
    }

    pub fn close(&mut self, id: u32, owner: u32) -> bool {
        let n = self.readers.len();
        self.readers.retain(|r| !(r.id == id && r.owner == owner));
        n != self.readers.len()
    }

    /// Closes every reader of `owner`; how many there were.
    pub fn close_owner(&mut self, owner: u32) -> usize {
        let n = self.readers.len();
        self.readers.retain(|r| r.owner != owner);
        n - self.readers.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Reader> {
        self.readers.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(cpu: u32, bank: u8, sev: Severity, uc: bool) -> MceRecord {
        MceRecord {
            cpu,
            bank,
            severity: sev,
            status: (1 << 63) | if uc { 1 << 61 } else { 0 },
            source: Source::Poll,
            ..Default::default()
        }
    }

    #[test]
    fn filter_words() {
        let f = parse_filter("min=some max=panic cpu=2 bank=4 source=cmci kind=uc").unwrap();
        assert_eq!(f.min, Severity::Some);
        assert_eq!(f.cpu, Some(2));
        assert_eq!(f.bank, Some(4));
        assert_eq!(f.source, Some(Source::Cmci));
        assert_eq!(f.uncorrected, Some(true));
        assert_eq!(parse_filter("all").unwrap(), ReaderFilter::ALL);
        assert_eq!(parse_filter("").unwrap(), ReaderFilter::ALL);
    }

    #[test]
    fn unknown_words_are_rejected_by_name() {
        assert!(parse_filter("colour=red").unwrap_err().contains("'colour'"));
        assert!(parse_filter("bogus").unwrap_err().contains("'bogus'"));
        assert!(parse_filter("min=huge").unwrap_err().contains("min=huge"));
        assert!(parse_filter("bank=64").is_err());
        assert!(parse_filter("kind=maybe").is_err());
        assert!(parse_filter("min=panic max=some").is_err());
    }

    #[test]
    fn filter_matches() {
        let f = parse_filter("cpu=1 kind=ce").unwrap();
        assert!(f.matches(&rec(1, 0, Severity::Some, false)));
        assert!(!f.matches(&rec(0, 0, Severity::Some, false)));
        assert!(!f.matches(&rec(1, 0, Severity::Uncorrected, true)));
        let f = parse_filter("source=exception").unwrap();
        assert!(!f.matches(&rec(1, 0, Severity::Some, false)));
    }

    #[test]
    fn slow_reader_loses_exactly() {
        let mut s = ReaderSet::new();
        let fast = s.open(10, ReaderFilter::ALL).unwrap();
        let slow = s.open(11, ReaderFilter::ALL).unwrap();
        let mut got_fast = 0;
        for i in 0..300u32 {
            s.deliver(&rec(i % 4, 1, Severity::Some, false));
            if i % 10 == 9 {
                got_fast += s.take(fast, 10, usize::MAX).unwrap().len();
            }
        }
        assert_eq!(got_fast, 300);
        assert_eq!(s.lost(fast, 10), Some(0));
        let got_slow = s.take(slow, 11, usize::MAX).unwrap().len() as u64;
        assert_eq!(got_slow, QUEUE_LEN as u64);
        assert_eq!(got_slow + s.lost(slow, 11).unwrap(), 300);
    }

    #[test]
    fn order_is_kept_and_history_is_given_to_new_readers() {
        let mut s = ReaderSet::new();
        for b in 0..5u8 {
            s.deliver(&rec(0, b, Severity::Some, false));
        }
        let r = s.open(1, parse_filter("bank=3").unwrap()).unwrap();
        let all = s.open(1, ReaderFilter::ALL).unwrap();
        s.deliver(&rec(0, 3, Severity::Some, false));
        assert_eq!(s.take(r, 1, 10).unwrap().len(), 2);
        let banks: Vec<u8> = s.take(all, 1, 10).unwrap().iter().map(|r| r.bank).collect();
        assert_eq!(banks, [0, 1, 2, 3, 4, 3]);
    }

    #[test]
    fn owners_and_closing() {
        let mut s = ReaderSet::new();
        let r = s.open(7, ReaderFilter::ALL).unwrap();
        assert!(s.take(r, 8, 1).is_none(), "another task's reader");
        s.deliver(&rec(0, 0, Severity::Some, false));
        let v = s.take(r, 7, 1).unwrap();
        s.untake(r, 7, v);
        assert_eq!(s.queued(r, 7), Some(1));
        assert_eq!(s.close_owner(7), 1);
        assert!(s.queued(r, 7).is_none());
        for _ in 0..MAX_READERS {
            s.open(1, ReaderFilter::ALL).unwrap();
        }
        assert!(s.open(1, ReaderFilter::ALL).is_err());
    }
}
