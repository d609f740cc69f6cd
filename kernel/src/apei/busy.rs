//! Waiting for the firmware to finish an APEI operation: after
//! EXECUTE_OPERATION, ERST and EINJ both poll CHECK_BUSY_STATUS until the
//! firmware says it is done, bounded by a time budget and by a poll count
//! (so a clock that does not move cannot hang the kernel either).

use super::gas::RegisterAccess;
use crate::time::Clock;

/// Time between two polls of the busy status.
pub const POLL_INTERVAL_US: u64 = 1;

/// Calls `busy` until it returns `Ok(false)`, stalling [`POLL_INTERVAL_US`]
/// through `access` between calls. Gives `timeout` once `timeout_us` has
/// passed on `clock` since the first call, or after `timeout_us /
/// POLL_INTERVAL_US + 1` busy answers, whichever comes first; an error from
/// `busy` is returned at once.
pub fn wait_while_busy<A, C, E>(
    access: &mut A,
    clock: &C,
    timeout_us: u64,
    timeout: E,
    mut busy: impl FnMut(&mut A) -> Result<bool, E>,
) -> Result<(), E>
where
    A: RegisterAccess + ?Sized,
    C: Clock + ?Sized,
{
    let start = clock.now_us();
    let max_polls = (timeout_us / POLL_INTERVAL_US).saturating_add(1);
    let mut polls = 0u64;
    while busy(access)? {
        polls += 1;
        if polls > max_polls || clock.now_us().saturating_sub(start) >= timeout_us {
            return Err(timeout);
        }
        access.stall_us(POLL_INTERVAL_US);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::gas::tests::FlatMemory;
    use crate::apei::gas::{AccessError, AddressSpace};
    use crate::apei::interp::testutil::SharedClock;
    use crate::time::fake::FakeClock;

    #[derive(Debug, PartialEq, Eq)]
    enum Err {
        Timeout,
        Device,
    }

    /// Register access whose stalls move a shared clock.
    struct Ticking(SharedClock, u64);

    impl RegisterAccess for Ticking {
        fn read(&mut self, s: AddressSpace, a: u64, _: u8) -> Result<u64, AccessError> {
            Err(AccessError::Fault {
                space: s,
                address: a,
            })
        }
        fn write(&mut self, s: AddressSpace, a: u64, _: u8, _: u64) -> Result<(), AccessError> {
            Err(AccessError::Fault {
                space: s,
                address: a,
            })
        }
        fn stall_us(&mut self, us: u64) {
            self.1 += us;
            self.0 .0.advance(us);
        }
        fn flush_cacheline(&mut self, _: u64) {}
    }

    #[test]
    fn returns_once_not_busy() {
        let mut m = FlatMemory::default();
        let mut left = 3;
        let mut calls = 0;
        let r = wait_while_busy(&mut m, &FakeClock::default(), 100, Err::Timeout, |_| {
            calls += 1;
            let busy = left > 0;
            left -= busy as u32;
            Ok(busy)
        });
        assert_eq!(r, Ok(()));
        assert_eq!(calls, 4);
        assert_eq!(m.stalled_us, 3 * POLL_INTERVAL_US);
        // Not busy at all: one call, no stall.
        let mut m = FlatMemory::default();
        let r = wait_while_busy(&mut m, &FakeClock::default(), 100, Err::Timeout, |_| {
            Ok(false)
        });
        assert_eq!(r, Ok(()));
        assert_eq!(m.stalled_us, 0);
    }

    #[test]
    fn a_still_clock_is_ended_by_the_poll_cap() {
        let mut m = FlatMemory::default();
        let mut calls = 0u64;
        let r = wait_while_busy(&mut m, &FakeClock::default(), 10, Err::Timeout, |_| {
            calls += 1;
            Ok(true)
        });
        assert_eq!(r, Err(Err::Timeout));
        // 10 µs / 1 µs + 1 polls allowed; the one after that gives up.
        assert_eq!(calls, 12);
        assert_eq!(m.stalled_us, 11);
    }

    #[test]
    fn a_moving_clock_is_ended_by_the_time_budget() {
        let clock = SharedClock::default();
        let mut t = Ticking(clock.clone(), 0);
        let mut calls = 0u64;
        let r = wait_while_busy(&mut t, &clock, 1000, Err::Timeout, |a| {
            calls += 1;
            // The device takes time of its own on every poll.
            a.0 .0.advance(9);
            Ok(true)
        });
        assert_eq!(r, Err(Err::Timeout));
        // 10 µs per round (9 in the device, 1 stalled): the 101st answer
        // comes at 1009 µs, past the budget.
        assert_eq!(clock.0.now_us(), 1009);
        assert_eq!(calls, 101);
        assert_eq!(t.1, 100);
        // A zero budget: the first busy answer times out, without a stall.
        let mut m = FlatMemory::default();
        let r = wait_while_busy(&mut m, &FakeClock::default(), 0, Err::Timeout, |_| Ok(true));
        assert_eq!(r, Err(Err::Timeout));
        assert_eq!(m.stalled_us, 0);
    }

    #[test]
    fn errors_from_the_poll_end_the_wait() {
        let mut m = FlatMemory::default();
        let mut calls = 0;
        let r = wait_while_busy(&mut m, &FakeClock::default(), 100, Err::Timeout, |_| {
            calls += 1;
            if calls == 3 {
                Err(Err::Device)
            } else {
                Ok(true)
            }
        });
        assert_eq!(r, Err(Err::Device));
        assert_eq!(m.stalled_us, 2);
    }
}
