//! The kernel's clock: the TSC behind the [`Clock`] interface the pure
//! logic (rendezvous, APEI busy-waits) is written against.

use crate::time::Clock;

/// Microseconds since boot from the calibrated TSC.
pub struct TscClock;

impl Clock for TscClock {
    fn now_us(&self) -> u64 {
        crate::arch::x86_64::tsc::now_us()
    }
}
