//! Time for the logic that needs it (timeouts, decay, polling intervals),
//! behind an interface so host tests can drive a fake clock.

/// A monotonic clock in microseconds since an arbitrary start (boot).
pub trait Clock {
    fn now_us(&self) -> u64;
}

/// A gap between two polls longer than this means the polling CPU itself
/// was not running (an overcommitted host descheduled the vCPU, or an SMI):
/// such a gap does not count toward a timeout.
pub const STEAL_GAP_US: u64 = 2_000;

/// A timeout for a CPU that spins waiting for others: it counts only time
/// the waiting CPU itself ran, and starts again whenever the awaited side
/// makes progress. On bare metal that is the plain timeout; on a host that
/// runs 64 vCPUs on 2 cores it stretches as the waiter's share of the host
/// shrinks, as Linux's timeouts counted in spin steps do. `cap_us` of wall
/// time from `start` bounds it either way.
#[derive(Clone, Copy, Debug)]
pub struct Watchdog {
    timeout_us: u64,
    deadline_us: u64,
    last_poll_us: u64,
    counted_us: u64,
}

impl Watchdog {
    pub fn new(now_us: u64, timeout_us: u64, cap_us: u64) -> Self {
        Self {
            timeout_us,
            deadline_us: now_us.saturating_add(cap_us),
            last_poll_us: now_us,
            counted_us: 0,
        }
    }

    /// Moves the cap's deadline to `start + cap_us` (e.g. the first arrival
    /// of a rendezvous, earlier than this watch began).
    pub fn cap_from(&mut self, start_us: u64, cap_us: u64) {
        self.deadline_us = self.deadline_us.min(start_us.saturating_add(cap_us));
    }

    /// Polls at `now_us`; `progressed` says the awaited side moved since the
    /// last poll. True when the wait should give up.
    pub fn expired(&mut self, now_us: u64, progressed: bool) -> bool {
        let gap = now_us.saturating_sub(self.last_poll_us);
        self.last_poll_us = now_us;
        if progressed {
            self.counted_us = 0;
        } else if gap <= STEAL_GAP_US {
            self.counted_us = self.counted_us.saturating_add(gap);
        }
        self.counted_us >= self.timeout_us || now_us >= self.deadline_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_time_the_waiter_ran() {
        let mut w = Watchdog::new(0, 1_000, u64::MAX);
        let mut now = 0;
        for _ in 0..9 {
            now += 100;
            assert!(!w.expired(now, false));
        }
        // Descheduled for 10 ms: not counted.
        now += 10_000;
        assert!(!w.expired(now, false));
        now += 100;
        assert!(w.expired(now, false), "900 + 100 us of running time");
    }

    #[test]
    fn progress_starts_it_again_and_the_cap_bounds_it() {
        let mut w = Watchdog::new(0, 1_000, 5_000);
        let mut now = 0;
        for _ in 0..30 {
            now += 100;
            assert!(!w.expired(now, now % 800 == 0), "progress every 800 us");
        }
        for _ in 0..19 {
            now += 100;
            assert!(!w.expired(now, true));
        }
        now += 200;
        assert!(
            w.expired(now, true),
            "past the cap at 5100 despite progress"
        );
        let mut w = Watchdog::new(1_000, 1_000, 5_000);
        w.cap_from(0, 2_000);
        assert!(w.expired(2_000, true), "cap from the earlier start");
    }
}

/// A clock that host tests move by hand.
#[cfg(test)]
pub mod fake {
    use core::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    pub struct FakeClock(pub AtomicU64);

    impl FakeClock {
        pub fn advance(&self, us: u64) {
            self.0.fetch_add(us, Ordering::SeqCst);
        }
    }

    impl super::Clock for FakeClock {
        fn now_us(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }
}
