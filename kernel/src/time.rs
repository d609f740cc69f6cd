//! Time for the logic that needs it (timeouts, decay, polling intervals),
//! behind an interface so host tests can drive a fake clock.

/// A monotonic clock in microseconds since an arbitrary start (boot).
pub trait Clock {
    fn now_us(&self) -> u64;
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
