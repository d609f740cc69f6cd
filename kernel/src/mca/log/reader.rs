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
/// Longest filter text (the open call's, the boot key's, the console's).
pub const FILTER_MAX: usize = 128;

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

/// Parses a filter: `key=value` words separated by spaces or commas (the
/// boot key's form), or `all`.
/// Keys: `min`, `max` (severity: noerror deferred keep some ao uc ar panic),
/// `cpu`, `bank` (numbers), `source` (boot exception poll cmci persistent),
/// `kind` (ce or uc: the status UC bit). Anything else is an error naming
/// the word.
pub fn parse_filter(text: &str) -> Result<ReaderFilter, String> {
    if text.len() > FILTER_MAX {
        return Err(format!(
            "filter of {} bytes (at most {FILTER_MAX})",
            text.len()
        ));
    }
    let mut f = ReaderFilter::ALL;
    let words = text
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|w| !w.is_empty());
    for word in words {
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

/// A record in a reader's queue, with when it was queued (microseconds,
/// the caller's clock).
#[derive(Clone, Copy, Debug)]
pub struct Queued {
    pub rec: MceRecord,
    pub at_us: u64,
}

/// Wake-up latency of a reader: from a record's queueing to the read that
/// took it (the oldest record of each read), over the last reads.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    recent: [u64; Latency::KEEP],
    /// Reads measured.
    pub reads: u64,
    pub max_us: u64,
}

impl Latency {
    const KEEP: usize = 32;

    fn add(&mut self, us: u64) {
        self.recent[self.reads as usize % Self::KEEP] = us;
        self.reads += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The median of the last reads (at most 32); `None` before any.
    pub fn median_us(&self) -> Option<u64> {
        let n = (self.reads as usize).min(Self::KEEP);
        if n == 0 {
            return None;
        }
        let mut v = self.recent;
        v[..n].sort_unstable();
        Some(v[n / 2])
    }
}

/// One open reader.
pub struct Reader {
    pub id: u32,
    /// The task that opened it (closed when that task ends).
    pub owner: u32,
    pub filter: ReaderFilter,
    queue: VecDeque<Queued>,
    /// Queueing to read, per read.
    pub latency: Latency,
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

    /// Opens a reader for `owner` at time `now_us`; it starts with the
    /// matching records of the history, oldest first.
    pub fn open(
        &mut self,
        owner: u32,
        filter: ReaderFilter,
        now_us: u64,
    ) -> Result<u32, &'static str> {
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
            latency: Latency::default(),
            lost: 0,
            delivered: 0,
            matched: 0,
        };
        for rec in self.history.iter().filter(|rec| filter.matches(rec)) {
            Self::offer(&mut r, rec, now_us);
        }
        self.readers.push(r);
        Ok(id)
    }

    /// Queues `rec` for `r`, or counts it lost; whether it was queued.
    fn offer(r: &mut Reader, rec: &MceRecord, now_us: u64) -> bool {
        r.matched += 1;
        if r.queue.len() < QUEUE_LEN {
            r.queue.push_back(Queued {
                rec: *rec,
                at_us: now_us,
            });
            true
        } else {
            r.lost += 1;
            false
        }
    }

    /// Hands one record to every matching reader and to the history.
    /// Never waits: a full queue counts the record as lost to that reader.
    /// Returns the owners of the readers that got it queued (to wake).
    pub fn deliver(&mut self, rec: &MceRecord, now_us: u64) -> [Option<u32>; MAX_READERS] {
        if self.history.len() == HISTORY_LEN {
            self.history.pop_front();
        }
        self.history.push_back(*rec);
        let mut woken = [None; MAX_READERS];
        for (i, r) in self.readers.iter_mut().enumerate() {
            if r.filter.matches(rec) && Self::offer(r, rec, now_us) {
                woken[i] = Some(r.owner);
            }
        }
        woken
    }

    fn find(&mut self, id: u32, owner: u32) -> Option<&mut Reader> {
        self.readers
            .iter_mut()
            .find(|r| r.id == id && r.owner == owner)
    }

    /// Up to `max` records, oldest first; `None` if `owner` has no reader `id`.
    pub fn take(&mut self, id: u32, owner: u32, max: usize) -> Option<Vec<Queued>> {
        let r = self.find(id, owner)?;
        let n = max.min(r.queue.len());
        let v: Vec<Queued> = r.queue.drain(..n).collect();
        r.delivered += n as u64;
        Some(v)
    }

    /// The records taken reached the reader at `now_us`: one latency
    /// sample, from the oldest one's queueing.
    pub fn taken(&mut self, id: u32, owner: u32, recs: &[Queued], now_us: u64) {
        if let (Some(r), Some(first)) = (self.find(id, owner), recs.first()) {
            r.latency.add(now_us.saturating_sub(first.at_us));
        }
    }

    /// Puts records back at the front (a copy to the reader failed).
    pub fn untake(&mut self, id: u32, owner: u32, recs: Vec<Queued>) {
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
        let long = "all ".repeat(33);
        assert_eq!(
            parse_filter(&long).unwrap_err(),
            "filter of 132 bytes (at most 128)"
        );
        assert_eq!(
            parse_filter("kind=uc,cpu=3").unwrap(),
            parse_filter("kind=uc cpu=3").unwrap()
        );
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
        let fast = s.open(10, ReaderFilter::ALL, 0).unwrap();
        let slow = s.open(11, ReaderFilter::ALL, 0).unwrap();
        let mut got_fast = 0;
        for i in 0..300u32 {
            s.deliver(&rec(i % 4, 1, Severity::Some, false), 0);
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
    fn delivery_names_the_owners_to_wake() {
        let mut s = ReaderSet::new();
        let ce = s.open(5, parse_filter("kind=ce").unwrap(), 0).unwrap();
        s.open(6, parse_filter("kind=uc").unwrap(), 0).unwrap();
        let woken = s.deliver(&rec(0, 1, Severity::Some, false), 0);
        assert_eq!(woken.iter().flatten().collect::<Vec<_>>(), [&5]);
        // A full queue: the record is lost to that reader, nobody to wake
        // for it.
        for _ in 1..QUEUE_LEN {
            s.deliver(&rec(0, 1, Severity::Some, false), 0);
        }
        assert!(s
            .deliver(&rec(0, 1, Severity::Some, false), 0)
            .iter()
            .all(|o| o.is_none()));
        assert_eq!(s.lost(ce, 5), Some(1));
        let woken = s.deliver(&rec(0, 1, Severity::Uncorrected, true), 0);
        assert_eq!(woken.iter().flatten().collect::<Vec<_>>(), [&6]);
    }

    #[test]
    fn wake_up_latency_is_measured_from_queueing_to_the_read() {
        let mut s = ReaderSet::new();
        let r = s.open(1, ReaderFilter::ALL, 0).unwrap();
        for (at, read) in [(100u64, 150u64), (200, 900), (1000, 1010)] {
            s.deliver(&rec(0, 1, Severity::Some, false), at);
            let v = s.take(r, 1, 10).unwrap();
            s.taken(r, 1, &v, read);
        }
        let l = &s.iter().next().unwrap().latency;
        assert_eq!((l.reads, l.max_us, l.median_us()), (3, 700, Some(50)));
        // Two records in one read: one sample, from the older.
        s.deliver(&rec(0, 1, Severity::Some, false), 2000);
        s.deliver(&rec(0, 1, Severity::Some, false), 2500);
        let v = s.take(r, 1, 10).unwrap();
        s.taken(r, 1, &v, 3000);
        let l = &s.iter().next().unwrap().latency;
        assert_eq!((l.reads, l.max_us), (4, 1000));
    }

    #[test]
    fn order_is_kept_and_history_is_given_to_new_readers() {
        let mut s = ReaderSet::new();
        for b in 0..5u8 {
            s.deliver(&rec(0, b, Severity::Some, false), 0);
        }
        let r = s.open(1, parse_filter("bank=3").unwrap(), 0).unwrap();
        let all = s.open(1, ReaderFilter::ALL, 0).unwrap();
        s.deliver(&rec(0, 3, Severity::Some, false), 0);
        assert_eq!(s.take(r, 1, 10).unwrap().len(), 2);
        let banks: Vec<u8> = s
            .take(all, 1, 10)
            .unwrap()
            .iter()
            .map(|q| q.rec.bank)
            .collect();
        assert_eq!(banks, [0, 1, 2, 3, 4, 3]);
    }

    #[test]
    fn owners_and_closing() {
        let mut s = ReaderSet::new();
        let r = s.open(7, ReaderFilter::ALL, 0).unwrap();
        assert!(s.take(r, 8, 1).is_none(), "another task's reader");
        s.deliver(&rec(0, 0, Severity::Some, false), 0);
        let v = s.take(r, 7, 1).unwrap();
        s.untake(r, 7, v);
        assert_eq!(s.queued(r, 7), Some(1));
        assert_eq!(s.close_owner(7), 1);
        assert!(s.queued(r, 7).is_none());
        for _ in 0..MAX_READERS {
            s.open(1, ReaderFilter::ALL, 0).unwrap();
        }
        assert!(s.open(1, ReaderFilter::ALL, 0).is_err());
    }
}
