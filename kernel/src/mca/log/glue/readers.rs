//! The open record readers (ring-3 `/dev/mcelog` readers; see
//! `mca::log::reader`). The consumer delivers each record here in normal
//! context; system calls take and count them. The lock is only ever held
//! for a queue operation, never while anyone waits.

use crate::mca::log::reader::ReaderSet;
use crate::mca::record::MceRecord;
use spin::Mutex;

pub static READERS: Mutex<ReaderSet> = Mutex::new(ReaderSet::new());

/// From the consumer: one record to every matching reader, whose owners
/// are woken if they wait in mce_poll (after the lock is dropped).
pub fn deliver(rec: &MceRecord) {
    let now = crate::arch::x86_64::tsc::now_us();
    let owners = READERS.lock().deliver(rec, now);
    for owner in owners.iter().flatten() {
        crate::task::wake(*owner);
    }
}

/// A task ended: its readers go, saying what they had not read.
pub fn close_owner(task: u32) {
    let mut set = READERS.lock();
    let left: alloc::vec::Vec<(u32, u64, usize, u64)> = set
        .iter()
        .filter(|r| r.owner == task)
        .map(|r| (r.id, r.delivered, r.queued(), r.lost))
        .collect();
    set.close_owner(task);
    drop(set);
    for (id, delivered, queued, lost) in left {
        crate::info!(
            "mcelog: reader {id} of task {task} closed at its end \
             ({delivered} delivered, {queued} unread, {lost} lost)"
        );
    }
}

/// One line per open reader, for the console's `stats`.
pub fn summary() -> alloc::vec::Vec<alloc::string::String> {
    let set = READERS.lock();
    set.iter()
        .map(|r| {
            let wake = match r.latency.median_us() {
                Some(m) => alloc::format!(
                    "wake-up (queued to read) median {m} us, max {} us over {} reads",
                    r.latency.max_us,
                    r.latency.reads
                ),
                None => "no reads yet".into(),
            };
            alloc::format!(
                "mcelog reader {} of task {}: matched {}, delivered {}, queued {}, lost {}; {wake}",
                r.id,
                r.owner,
                r.matched,
                r.delivered,
                r.queued(),
                r.lost
            )
        })
        .collect()
}
