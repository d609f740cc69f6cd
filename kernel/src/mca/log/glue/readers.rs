//! The open record readers (ring-3 `/dev/mcelog` readers; see
//! `mca::log::reader`). The consumer delivers each record here in normal
//! context; system calls take and count them. The lock is only ever held
//! for a queue operation, never while anyone waits.

use crate::mca::log::reader::ReaderSet;
use crate::mca::record::MceRecord;
use spin::Mutex;

pub static READERS: Mutex<ReaderSet> = Mutex::new(ReaderSet::new());

/// From the consumer: one record to every matching reader.
pub fn deliver(rec: &MceRecord) {
    READERS.lock().deliver(rec);
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
