//! The machine-check panic path's write to the ERST store: each record is
//! kept across the reboot (listed by the next boot), reclaiming the oldest
//! exported record when the store is full.

use super::erst::{next_record_id, ERST, EXPORTED};
use crate::apei::cper;
use crate::apei::erst::ReclaimError;
use crate::apei::record_id;
use crate::error;
use crate::mca::record::MceRecord;

/// Exported records the panic path cleared to make room.
static RECLAIMED: spin::Mutex<record_id::Reclaimed<64>> =
    spin::Mutex::new(record_id::Reclaimed::new());

/// Writes a fatal record from the machine-check panic path: no allocation,
/// no waiting for locks. When the store is full, the oldest exported record
/// is cleared to make room (and that is said).
pub fn write_fatal(rec: &MceRecord) {
    let Some(mut guard) = ERST.try_lock() else {
        error!("erst: store busy; record not saved");
        return;
    };
    let Some(store) = guard.as_mut() else { return };
    let id = next_record_id();
    let bytes = cper::encode_mce_array(rec, id, rec_walltime(rec));
    let saved = store.write_reclaiming(
        &bytes,
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
        Ok(()) => error!(
            "erst: cpu{} bank {} saved as record {id:#018x}",
            rec.cpu, rec.bank
        ),
        Err(ReclaimError::NothingToReclaim) => {
            error!("erst: store full and no exported record to reclaim; record not saved")
        }
        Err(ReclaimError::Write(e)) => error!("erst: saving the record failed: {e}"),
        Err(ReclaimError::StillFull) => {
            error!("erst: store still full after clearing exported records; record not saved")
        }
    }
}

fn rec_walltime(rec: &MceRecord) -> Option<u64> {
    (rec.walltime != 0).then_some(rec.walltime)
}
