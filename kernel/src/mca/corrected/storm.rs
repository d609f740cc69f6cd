//! Corrected-error storm control, per bank, in the manner of current Linux.
//!
//! A flaky DIMM or link can raise thousands of corrected errors a second; one
//! interrupt per error would eat the CPU. Each bank keeps a 64-bit history of
//! recent observations, one bit per time slot, set when errors were seen. When
//! enough bits are set in the window a storm begins: the caller then raises
//! the bank's CMCI threshold to [`STORM_CMCI_THRESHOLD`] (with
//! [`cmci::set_threshold`](crate::mca::corrected::cmci::set_threshold)) so it stops
//! interrupting, and polls the bank every [`StormConfig::storm_poll_us`]
//! instead. Each such poll shifts the history by one; after
//! [`StormConfig::end_clean_polls`] clean polls in a row the storm has
//! subsided: the caller restores the normal threshold and stops polling.
//!
//! Outside a storm the history shifts by the number of slots elapsed since
//! the previous observation plus one, so every observation gets its own bit
//! and old ones age out of the window.

/// Banks tracked per CPU.
pub const MAX_BANKS: usize = 64;

/// CMCI threshold to program while a bank is in storm: close to the 15-bit
/// maximum, so the bank practically stops interrupting (as Linux does).
pub const STORM_CMCI_THRESHOLD: u16 = 32749;

/// Tunables; [`StormConfig::DEFAULT`] holds Linux's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StormConfig {
    /// Observations with errors within the window that begin a storm.
    pub begin_threshold: u32,
    /// Width of one history slot outside a storm.
    pub slot_us: u64,
    /// How many recent slots count towards `begin_threshold` (1..=64).
    pub window_slots: u32,
    /// Poll interval while in storm.
    pub storm_poll_us: u64,
    /// Consecutive clean polls that end a storm (1..=64).
    pub end_clean_polls: u32,
}

impl StormConfig {
    pub const DEFAULT: StormConfig = StormConfig {
        begin_threshold: 5,
        slot_us: 1_000_000,
        window_slots: 64,
        storm_poll_us: 1_000_000,
        end_clean_polls: 30,
    };
}

impl Default for StormConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one observation changed. Each storm yields exactly one `Began` and
/// at most one `Ended`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StormEvent {
    None,
    /// Raise the bank's CMCI threshold and start polling it.
    Began {
        bank: u8,
    },
    /// Restore the threshold and stop polling. `errors_during_storm` counts
    /// the errors from the observation that began the storm to this one.
    Ended {
        bank: u8,
        errors_during_storm: u64,
    },
}

#[derive(Clone, Copy, Debug)]
struct BankStorm {
    history: u64,
    last_us: Option<u64>,
    in_storm: bool,
    errors_during_storm: u64,
}

impl BankStorm {
    const IDLE: BankStorm = BankStorm {
        history: 0,
        last_us: None,
        in_storm: false,
        errors_during_storm: 0,
    };
}

/// Low `n` bits set, `n` clamped to 1..=64.
const fn low_bits(n: u32) -> u64 {
    match n {
        0 | 1 => 1,
        n if n >= 64 => u64::MAX,
        n => (1u64 << n) - 1,
    }
}

/// Storm state of one CPU's banks. Feed it every observation of a bank: each
/// CMCI (or poll) outside a storm, each storm poll inside one.
pub struct StormTracker {
    config: StormConfig,
    banks: [BankStorm; MAX_BANKS],
    storms_total: u64,
}

impl Default for StormTracker {
    fn default() -> Self {
        Self::new(StormConfig::DEFAULT)
    }
}

impl StormTracker {
    pub const fn new(config: StormConfig) -> Self {
        Self {
            config,
            banks: [BankStorm::IDLE; MAX_BANKS],
            storms_total: 0,
        }
    }

    pub const fn config(&self) -> &StormConfig {
        &self.config
    }

    /// Records that a look at `bank` at `now_us` found `errors_found`
    /// corrected errors. Out-of-range banks are ignored.
    pub fn record(&mut self, bank: u8, errors_found: u32, now_us: u64) -> StormEvent {
        let config = self.config;
        let Some(b) = self.banks.get_mut(bank as usize) else {
            return StormEvent::None;
        };
        let shift = if b.in_storm {
            1
        } else {
            match b.last_us {
                Some(last) => now_us.saturating_sub(last) / config.slot_us.max(1) + 1,
                None => 64,
            }
        };
        b.last_us = Some(now_us);
        b.history = if shift >= 64 { 0 } else { b.history << shift };
        if errors_found > 0 {
            b.history |= 1;
        }

        if b.in_storm {
            b.errors_during_storm = b.errors_during_storm.saturating_add(errors_found as u64);
            if b.history & low_bits(config.end_clean_polls) != 0 {
                return StormEvent::None;
            }
            let errors_during_storm = b.errors_during_storm;
            // Start afresh: old bits must not restart a storm on the next error.
            *b = BankStorm {
                last_us: Some(now_us),
                ..BankStorm::IDLE
            };
            return StormEvent::Ended {
                bank,
                errors_during_storm,
            };
        }

        let seen = (b.history & low_bits(config.window_slots)).count_ones();
        if errors_found > 0 && seen >= config.begin_threshold.max(1) {
            b.in_storm = true;
            b.errors_during_storm = errors_found as u64;
            self.storms_total += 1;
            return StormEvent::Began { bank };
        }
        StormEvent::None
    }

    pub fn in_storm(&self, bank: u8) -> bool {
        self.banks.get(bank as usize).is_some_and(|b| b.in_storm)
    }

    /// Errors counted so far in the bank's current storm (0 outside one).
    pub fn errors_during_storm(&self, bank: u8) -> u64 {
        self.banks
            .get(bank as usize)
            .map_or(0, |b| b.errors_during_storm)
    }

    /// Storms begun since boot, all banks.
    pub const fn storms_total(&self) -> u64 {
        self.storms_total
    }

    /// True while any bank is in storm, i.e. while this CPU must poll.
    pub fn any_in_storm(&self) -> bool {
        self.banks.iter().any(|b| b.in_storm)
    }

    /// The poll interval this CPU needs for storm banks, if any is in storm.
    pub fn poll_interval_us(&self) -> Option<u64> {
        self.any_in_storm().then_some(self.config.storm_poll_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const S: u64 = 1_000_000;

    fn events(t: &mut StormTracker, bank: u8, obs: &[(u32, u64)]) -> Vec<StormEvent> {
        obs.iter()
            .map(|&(e, now)| t.record(bank, e, now))
            .filter(|e| *e != StormEvent::None)
            .collect()
    }

    #[test]
    fn burst_begins_one_storm_and_clean_polls_end_it_once() {
        let mut t = StormTracker::default();
        let bank = 3;
        // A burst of CMCIs, 100 ms apart.
        let mut got = Vec::new();
        for i in 0..20u64 {
            got.push(t.record(bank, 1, 10 * S + i * 100_000));
        }
        let began: Vec<usize> = got
            .iter()
            .enumerate()
            .filter(|(_, e)| **e == StormEvent::Began { bank })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(began, [4], "storm begins at the fifth error");
        assert!(t.in_storm(bank) && !t.in_storm(2));
        assert_eq!(t.errors_during_storm(bank), 16);
        assert_eq!(t.poll_interval_us(), Some(S));

        // Storm polls every second: errors for a while, then clean.
        let mut now = 20 * S;
        let mut evs = Vec::new();
        for i in 0..10 {
            now += S;
            evs.push(t.record(bank, i + 2, now));
        }
        let mut clean = 0;
        loop {
            now += S;
            clean += 1;
            match t.record(bank, 0, now) {
                StormEvent::None => assert!(clean < 30),
                e => {
                    evs.push(e);
                    break;
                }
            }
        }
        assert_eq!(clean, 30);
        let during = 16 + (2..12).sum::<u64>();
        assert_eq!(
            evs.into_iter()
                .filter(|e| *e != StormEvent::None)
                .collect::<Vec<_>>(),
            [StormEvent::Ended {
                bank,
                errors_during_storm: during
            }]
        );
        assert!(!t.in_storm(bank));
        assert_eq!(t.errors_during_storm(bank), 0);
        assert_eq!(t.storms_total(), 1);
        assert_eq!(t.poll_interval_us(), None);
        // More clean polls: nothing more.
        for _ in 0..100 {
            now += S;
            assert_eq!(t.record(bank, 0, now), StormEvent::None);
        }
    }

    #[test]
    fn an_error_resets_the_clean_count() {
        let mut t = StormTracker::default();
        for i in 0..5 {
            t.record(0, 1, i * 1000);
        }
        assert!(t.in_storm(0));
        let mut now = 10 * S;
        for _ in 0..29 {
            now += S;
            assert_eq!(t.record(0, 0, now), StormEvent::None);
        }
        now += S;
        assert_eq!(t.record(0, 1, now), StormEvent::None);
        for _ in 0..29 {
            now += S;
            assert_eq!(t.record(0, 0, now), StormEvent::None);
        }
        now += S;
        assert!(matches!(t.record(0, 0, now), StormEvent::Ended { .. }));
    }

    #[test]
    fn steady_rate_just_below_threshold_never_storms() {
        let mut t = StormTracker::default();
        // One error every 16 s: at most 4 of them in a 64-slot window.
        let obs: Vec<(u32, u64)> = (0..200).map(|i| (1, 1000 * S + i * 16 * S)).collect();
        assert!(events(&mut t, 1, &obs).is_empty());
        // One every 13 s: five fit in the window, and exactly one storm starts.
        let mut t = StormTracker::default();
        let obs: Vec<(u32, u64)> = (0..200).map(|i| (1, 1000 * S + i * 13 * S)).collect();
        let ev = events(&mut t, 1, &obs);
        assert_eq!(ev, [StormEvent::Began { bank: 1 }]);
    }

    #[test]
    fn no_flapping_after_a_storm_ends() {
        let mut t = StormTracker::default();
        let mut now = 0;
        for _ in 0..5 {
            now += 1000;
            t.record(7, 1, now);
        }
        for _ in 0..30 {
            now += S;
            t.record(7, 0, now);
        }
        assert!(!t.in_storm(7));
        // A few stray errors right after the end do not restart a storm.
        for _ in 0..4 {
            now += 1000;
            assert_eq!(t.record(7, 1, now), StormEvent::None);
        }
        now += 1000;
        assert_eq!(t.record(7, 1, now), StormEvent::Began { bank: 7 });
        assert_eq!(t.storms_total(), 2);
    }

    #[test]
    fn configurable_and_out_of_range() {
        let mut t = StormTracker::new(StormConfig {
            begin_threshold: 2,
            slot_us: 1000,
            window_slots: 4,
            storm_poll_us: 500,
            end_clean_polls: 3,
        });
        assert_eq!(t.record(0, 1, 0), StormEvent::None);
        assert_eq!(t.record(0, 1, 10_000), StormEvent::None); // outside window
        assert_eq!(t.record(0, 1, 11_000), StormEvent::Began { bank: 0 });
        assert_eq!(t.poll_interval_us(), Some(500));
        assert_eq!(t.record(0, 0, 11_500), StormEvent::None);
        assert_eq!(t.record(0, 0, 12_000), StormEvent::None);
        assert_eq!(
            t.record(0, 0, 12_500),
            StormEvent::Ended {
                bank: 0,
                errors_during_storm: 1
            }
        );
        assert_eq!(t.record(64, 1, 0), StormEvent::None);
        assert!(!t.in_storm(200));
        assert_eq!(t.errors_during_storm(200), 0);
    }
}
