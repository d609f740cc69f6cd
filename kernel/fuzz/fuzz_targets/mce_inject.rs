//! The mce-inject language: parse, and format/parse round trips.
#![no_main]

use kernel::mca::inject::language::{format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(all) => {
            let mut joined = String::new();
            for inj in &all {
                assert!(inj.bank < 64);
                assert!(
                    inj.cs.is_none() || inj.ip.is_some(),
                    "cs without ip: {inj:?}"
                );
                // What format prints reads back as the same request.
                let shown = format(inj);
                assert_eq!(parse(&shown), Ok(vec![*inj]), "{shown}");
                joined.push_str(&shown);
            }
            assert_eq!(parse(&joined), Ok(all));
        }
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1, "{e}");
            let _ = e.to_string();
            // The error points at the offending token, counted in characters
            // on its line.
            let line = text
                .split('\n')
                .nth(e.line - 1)
                .unwrap_or_else(|| panic!("no line {}: {e}", e.line));
            let chars = line.chars().count();
            assert!(e.column <= chars + 1, "{e}: line has {chars} characters");
            // (An unclosed `{` reports its token with the newline that
            // ended it; the rest of a token lies on its line.)
            let token = e.token.strip_suffix('\n').unwrap_or(&e.token);
            if !token.is_empty() {
                let rest: String = line.chars().skip(e.column - 1).collect();
                assert!(
                    rest.starts_with(token),
                    "{e}: token {:?} is not at the position ({rest:?})",
                    e.token
                );
            }
        }
    }
});
