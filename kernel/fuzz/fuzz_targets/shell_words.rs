//! shell::split, parse_number and parse_size.
#![no_main]

use kernel::shell::{parse_number, parse_size, split, SplitError};
use libfuzzer_sys::fuzz_target;

/// Quotes a word so that `split` gives it back unchanged.
fn quote(w: &str) -> String {
    let mut q = String::from("\"");
    for c in w.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    match split(&line) {
        Ok(words) => {
            // Re-quoted and joined, the words split back to themselves.
            let joined: Vec<String> = words.iter().map(|w| quote(w)).collect();
            assert_eq!(split(&joined.join(" ")), Ok(words.clone()));
            let chars = line.chars().count();
            assert!(words.iter().map(|w| w.chars().count()).sum::<usize>() <= chars);
            for w in &words {
                let _ = (parse_number(w), parse_size(w));
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let column = e.column();
            let at = line.chars().nth(column - 1);
            match e {
                SplitError::UnterminatedQuote { quote, .. } => assert_eq!(at, Some(quote)),
                SplitError::TrailingBackslash { .. } => {
                    assert_eq!(at, Some('\\'));
                    assert_eq!(column, line.chars().count());
                }
            }
        }
    }

    // Numbers: whatever parses prints back (decimal and hex) to itself.
    let s = line.trim();
    if let Some(n) = parse_number(s) {
        assert_eq!(parse_number(&n.to_string()), Some(n));
        assert_eq!(parse_number(&format!("{n:#x}")), Some(n));
        assert_eq!(parse_size(s), Some(n));
    }
    if let Some(n) = parse_size(s) {
        assert!(parse_number(s).is_none_or(|m| m == n));
        if n % 1024 == 0 && n > 0 {
            assert_eq!(parse_size(&format!("{}K", n / 1024)), Some(n));
        }
    }
});
