//! Application processors: discovery and start-up.
//!
//! (The start-up itself arrives with the SMP work; until then only the
//! bootstrap processor runs.)

use core::sync::atomic::{AtomicU32, Ordering};

/// CPUs that have reported in, the bootstrap processor included.
static ONLINE: AtomicU32 = AtomicU32::new(1);

pub fn online_count() -> u32 {
    ONLINE.load(Ordering::SeqCst)
}

/// True when any application processor runs (so IPIs have receivers).
pub fn others_started() -> bool {
    online_count() > 1
}
