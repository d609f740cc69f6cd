//! Config::parse: every word applied or reported, and the printed
//! configuration reads back as itself.
#![no_main]

use kernel::config::{Config, Problem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cfg, problems) = Config::parse(&text);
    let words = text.split_ascii_whitespace().count();
    assert!(problems.len() <= words);
    for p in &problems {
        let _ = p.to_string();
        if let Problem::NotKeyValue(w) = p {
            assert!(!w.contains('='));
        }
    }
    // Values stay in their documented ranges whatever was asked.
    assert!(cfg.tolerant <= 3);
    assert!(cfg.monarch_timeout_us >= 1 && cfg.monarch_timeout_us <= 60_000_000);
    assert!((10..=3_600_000).contains(&cfg.poll_ms));
    assert!((1..=65536).contains(&cfg.ring_capacity));
    assert!((1..=64).contains(&cfg.storm_threshold));
    assert!((10..=60_000).contains(&cfg.storm_poll_ms));
    assert!((1..=64).contains(&cfg.storm_clean_polls));
    assert!((1..=1_000_000).contains(&cfg.cec_threshold));
    assert!((1..=31_536_000).contains(&cfg.cec_window_s));
    assert!(cfg.test_unresponsive_cpu.is_none_or(|c| c < 64));
    assert!(cfg.test.bytes().all(|b| b.is_ascii_graphic()));
    // What the kernel prints at boot can be fed back to it.
    let shown = cfg.to_string();
    assert_eq!(Config::parse(&shown), (cfg.clone(), vec![]), "{shown}");
    // Applying the words one by one gives the same result.
    let mut one_by_one = Config::default();
    let mut problems2 = Vec::new();
    for w in text.split_ascii_whitespace() {
        if let Err(p) = one_by_one.set(w) {
            problems2.push(p);
        }
    }
    assert_eq!((one_by_one, problems2), (cfg, problems));
});
