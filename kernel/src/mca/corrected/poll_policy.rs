//! What the poller logs, and how often it polls: pure rules shared by the
//! timer poller and the CMCI handler.

use crate::mca::regs::{mcg_cap, status};

/// Whether a bank value found by polling (not by #MC) is logged and cleared
/// by the poller. Corrected errors always are; uncorrected ones only when
/// they will never raise #MC (no SER_P: left alone for #MC; with SER_P: UCNA
/// and not-enabled errors are logged, an error that will signal #MC is left
/// for the #MC handler, which may be racing with us). At boot everything is
/// logged, since no #MC will come for it.
pub fn should_log(st: u64, mcgcap: u64, at_boot: bool) -> bool {
    if st & status::VAL == 0 {
        return false;
    }
    if at_boot || st & status::UC == 0 {
        return true;
    }
    if mcgcap & mcg_cap::SER_P == 0 {
        return false;
    }
    if st & status::EN == 0 {
        return true;
    }
    st & (status::PCC | status::S) == 0
}

/// Banks a scan leaves out (bit per bank), as Linux's `mce_banks_owned`
/// split: the CMCI handler reads only the banks this CPU owns by CMCI; the
/// tick leaves out the banks a sibling owns (`elsewhere`: that CPU logs
/// them, so one error gives one record) and this CPU's own CMCI banks unless
/// they are in a storm (polled instead). Banks without CMCI are polled.
pub fn skipped_banks(cmci: bool, owned: u64, elsewhere: u64, in_storm: u64) -> u64 {
    if cmci && owned != 0 {
        !owned
    } else {
        elsewhere | (owned & !in_storm)
    }
}

/// The next polling interval: halved after errors (down to `min_us`),
/// doubled when quiet (up to `max_us`), as Linux's mce timer adapts.
pub fn next_interval(current_us: u64, found_errors: bool, min_us: u64, max_us: u64) -> u64 {
    let min_us = min_us.max(1);
    let max_us = max_us.max(min_us);
    if found_errors {
        (current_us / 2).clamp(min_us, max_us)
    } else {
        current_us.saturating_mul(2).clamp(min_us, max_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SER: u64 = mcg_cap::SER_P;

    #[test]
    fn what_the_poller_takes() {
        let ce = status::VAL | status::EN | 0x9f;
        assert!(should_log(ce, 0, false));
        assert!(!should_log(0, SER, true));
        let ucna = status::VAL | status::UC | status::EN | 0x9f;
        assert!(should_log(ucna, SER, false));
        assert!(!should_log(ucna, 0, false), "no SER_P: UC is #MC's");
        let srao = ucna | status::S;
        assert!(!should_log(srao, SER, false));
        assert!(
            should_log(srao, SER, true),
            "at boot nothing else will log it"
        );
        let fatal = ucna | status::PCC;
        assert!(!should_log(fatal, SER, false));
        let spec = status::VAL | status::UC | status::S;
        assert!(should_log(spec, SER, false), "not enabled: logged");
    }

    #[test]
    fn interval_adapts_within_bounds() {
        assert_eq!(next_interval(1_000_000, true, 10_000, 1_000_000), 500_000);
        assert_eq!(next_interval(15_000, true, 10_000, 1_000_000), 10_000);
        assert_eq!(next_interval(600_000, false, 10_000, 1_000_000), 1_000_000);
        assert_eq!(next_interval(20_000, false, 10_000, 1_000_000), 40_000);
        assert_eq!(next_interval(0, false, 0, 0), 1);
    }
}
