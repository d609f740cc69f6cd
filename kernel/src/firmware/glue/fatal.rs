//! The panic paths' writes to the ERST store: each record is kept across
//! the reboot (listed by the next boot), reclaiming the oldest exported
//! record when the store is full. Machine-check records go in Linux's
//! layout; a fatal GHES error status block goes as its own CPER record.

use super::erst::{next_record_id, ERST, EXPORTED};
use crate::apei::cper;
use crate::apei::erst::ReclaimError;
use crate::apei::guid::Guid;
use crate::apei::record_id;
use crate::error;
use crate::mca::record::MceRecord;
use spin::Mutex;

/// Exported records the panic path cleared to make room.
static RECLAIMED: spin::Mutex<record_id::Reclaimed<64>> =
    spin::Mutex::new(record_id::Reclaimed::new());

/// Writes a fatal record from the machine-check panic path: no allocation,
/// no waiting for locks. When the store is full, the oldest exported record
/// is cleared to make room (and that is said).
pub fn write_fatal(rec: &MceRecord) {
    let id = next_record_id();
    let bytes = cper::encode_mce_array(rec, id, rec_walltime(rec));
    if save(&bytes) {
        error!(
            "erst: cpu{} bank {} saved as record {id:#018x}",
            rec.cpu, rec.bank
        );
    }
}

/// The largest GHES record the panic path saves (the size of a typical
/// ERST error log address range, and of QEMU's).
const BLOCK_RECORD_MAX: usize = 8192;

/// Where a fatal status block is turned into a record: static, so the
/// panic path (NMI context) needs no heap; one panic at a time uses it.
static BLOCK_RECORD: Mutex<[u8; BLOCK_RECORD_MAX]> = Mutex::new([0; BLOCK_RECORD_MAX]);

/// Writes a fatal GHES error status block (`block`, already checked) from
/// source `source_id` to the store as a CPER record of its own, with
/// `notification` as its notification type. No allocation, no waiting.
pub fn write_fatal_block(source_id: u16, block: &[u8], notification: Guid, unix_time: Option<u64>) {
    let Ok(b) = cper::parse_error_status_block(block) else {
        error!("erst: GHES source {source_id}: block does not parse; not saved");
        return;
    };
    let Some(mut buf) = BLOCK_RECORD.try_lock() else {
        error!("erst: GHES record buffer busy; record not saved");
        return;
    };
    let id = next_record_id();
    match crate::apei::ghes::encode_block_record(&b, notification, id, unix_time, &mut buf[..]) {
        Ok(len) => {
            if save(&buf[..len]) {
                error!("erst: GHES source {source_id}: error status block saved as record {id:#018x} ({len} bytes)");
            }
        }
        Err(e) => error!("erst: GHES source {source_id}: {e}; record not saved"),
    }
}

/// Writes `bytes` (a whole record) to the store, reclaiming exported
/// records when it is full. True when saved; failures are said here.
pub fn save(bytes: &[u8]) -> bool {
    let Some(mut guard) = ERST.try_lock() else {
        error!("erst: store busy; record not saved");
        return false;
    };
    let Some(store) = guard.as_mut() else {
        return false;
    };
    let saved = store.write_reclaiming(
        bytes,
        || {
            let exported = EXPORTED.try_lock()?;
            let mut reclaimed = RECLAIMED.try_lock()?;
            record_id::take_oldest_exported(&exported, &mut reclaimed)
        },
        |victim, cleared| match cleared {
            Ok(()) => error!(
                "erst: store full: cleared exported record {victim:#018x} (oldest) to make room"
            ),
            Err(e) => error!("erst: store full; clearing {victim:#018x} failed: {e}"),
        },
    );
    match saved {
        Ok(()) => return true,
        Err(ReclaimError::NothingToReclaim) => {
            error!("erst: store full and no exported record to reclaim; record not saved")
        }
        Err(ReclaimError::Write(e)) => error!("erst: saving the record failed: {e}"),
        Err(ReclaimError::StillFull) => {
            error!("erst: store still full after clearing exported records; record not saved")
        }
    }
    false
}

fn rec_walltime(rec: &MceRecord) -> Option<u64> {
    (rec.walltime != 0).then_some(rec.walltime)
}
