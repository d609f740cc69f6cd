//! Command lines into words, and the numbers and sizes commands take.
//!
//! The quoting is a small, predictable subset of the POSIX shell's, so that
//! what operators already type works: whitespace separates words, quotes group
//! (`'...'` literally, `"..."` with `\"` and `\\`), a backslash outside quotes
//! takes the next character literally, and `#` at the start of a word starts a
//! comment (so pasted scripts may carry notes). There is no expansion of any
//! kind.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why a line could not be split. Columns count characters from 1, as an
/// operator would when looking at the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// The quote (`'` or `"`) opened at `column` is never closed.
    UnterminatedQuote { quote: char, column: usize },
    /// The line ends with a backslash (at `column`) that escapes nothing.
    TrailingBackslash { column: usize },
}

impl SplitError {
    /// Where on the line the problem starts.
    pub const fn column(&self) -> usize {
        match *self {
            SplitError::UnterminatedQuote { column, .. } => column,
            SplitError::TrailingBackslash { column } => column,
        }
    }
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SplitError::UnterminatedQuote { quote, column } => {
                write!(f, "unterminated {quote} quote opened at column {column}")
            }
            SplitError::TrailingBackslash { column } => {
                write!(f, "backslash at column {column} escapes nothing")
            }
        }
    }
}

/// Splits a command line into words; see the module docs for the rules.
/// Quotes make a word even when empty (`''`), so an empty argument can be
/// passed on purpose.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // Whether a word has begun; distinct from `!word.is_empty()` because of `''`.
    let mut in_word = false;
    let mut chars = line.chars().zip(1usize..);
    while let Some((c, column)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(core::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(('\'', _)) => break,
                        Some((c, _)) => word.push(c),
                        None => {
                            return Err(SplitError::UnterminatedQuote {
                                quote: '\'',
                                column,
                            })
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                let unterminated = SplitError::UnterminatedQuote { quote: '"', column };
                loop {
                    match chars.next() {
                        Some(('"', _)) => break,
                        Some(('\\', _)) => match chars.next() {
                            Some((c @ ('"' | '\\'), _)) => word.push(c),
                            // Like the shell: other backslashes are literal.
                            Some((c, _)) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(unterminated),
                        },
                        Some((c, _)) => word.push(c),
                        None => return Err(unterminated),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some((c, _)) => word.push(c),
                    None => return Err(SplitError::TrailingBackslash { column }),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Parses an unsigned number: decimal, or hexadecimal after `0x`/`0X`, with
/// `_` allowed between digits for long addresses (`0xffff_8000_0000_0000`).
/// `None` for anything else, including overflow: a command must never act on
/// a number other than the one typed.
pub fn parse_number(s: &str) -> Option<u64> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    let mut value: u64 = 0;
    // Whether the previous character was a digit: `_` must follow one, and
    // the number must end on one.
    let mut after_digit = false;
    for c in digits.chars() {
        if c == '_' {
            if !after_digit {
                return None;
            }
            after_digit = false;
            continue;
        }
        let digit = c.to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
        after_digit = true;
    }
    after_digit.then_some(value)
}

/// Parses a size in bytes: a [`parse_number`] with an optional binary unit
/// suffix `K`, `M`, `G` or `T` (either case; powers of 1024), as in `4K` or
/// `0x10M`. `None` when malformed or when it overflows.
pub fn parse_size(s: &str) -> Option<u64> {
    const UNITS: [(char, u32); 4] = [('k', 10), ('m', 20), ('g', 30), ('t', 40)];
    for (unit, shift) in UNITS {
        let number = s
            .strip_suffix(unit)
            .or_else(|| s.strip_suffix(unit.to_ascii_uppercase()));
        if let Some(number) = number {
            return parse_number(number)?.checked_mul(1u64 << shift);
        }
    }
    parse_number(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn whitespace_separates_words() {
        assert_eq!(
            words("mce inject  0x10\tbank=4 "),
            ["mce", "inject", "0x10", "bank=4"]
        );
        assert!(words("").is_empty());
        assert!(words(" \t ").is_empty());
    }

    #[test]
    fn quotes_group() {
        assert_eq!(
            words("log 'two words' \"and three more\""),
            ["log", "two words", "and three more"]
        );
        assert_eq!(words("a'b c'd\"e f\"g"), ["ab cde fg"]);
        assert_eq!(words("'' \"\" x"), ["", "", "x"]);
        assert_eq!(words(r#"'"' "'" '\n'"#), ["\"", "'", "\\n"]);
    }

    #[test]
    fn backslash_escapes() {
        assert_eq!(words(r"a\ b c\\d \'x\#"), ["a b", r"c\d", "'x#"]);
        assert_eq!(words(r#""say \"hi\" \\ \n""#), [r#"say "hi" \ \n"#]);
    }

    #[test]
    fn comments_start_at_a_word() {
        assert_eq!(words("mce status # the banks"), ["mce", "status"]);
        assert_eq!(words("# all comment 'unterminated"), Vec::<String>::new());
        assert_eq!(words("a#b '#' \\# x#"), ["a#b", "#", "#", "x#"]);
        assert_eq!(words("a #b"), ["a"]);
    }

    #[test]
    fn errors_name_the_problem_and_column() {
        let e = split("echo 'abc").unwrap_err();
        assert_eq!(
            e,
            SplitError::UnterminatedQuote {
                quote: '\'',
                column: 6
            }
        );
        assert_eq!(e.column(), 6);
        assert_eq!(e.to_string(), "unterminated ' quote opened at column 6");
        assert_eq!(
            split(r#"ok "a\" b"#),
            Err(SplitError::UnterminatedQuote {
                quote: '"',
                column: 4
            })
        );
        assert_eq!(
            split("\"x\\"),
            Err(SplitError::UnterminatedQuote {
                quote: '"',
                column: 1
            })
        );
        let e = split(r"abc\").unwrap_err();
        assert_eq!(e, SplitError::TrailingBackslash { column: 4 });
        assert_eq!(e.to_string(), "backslash at column 4 escapes nothing");
        // Columns count characters, not bytes.
        assert_eq!(split("é '").unwrap_err().column(), 3);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("007"), Some(7));
        assert_eq!(parse_number("1_000_000"), Some(1_000_000));
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number("0XfF"), Some(255));
        assert_eq!(
            parse_number("0xffff_8000_0000_0000"),
            Some(0xffff_8000_0000_0000)
        );
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_number("0xffffffffffffffff"), Some(u64::MAX));
        for bad in [
            "",
            "0x",
            "x10",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1a",
            "0xg",
            "_1",
            "1_",
            "1__0",
            "0x_1",
            "0b101",
            "18446744073709551616",
            "0x1_0000_0000_0000_0000",
            "١",
        ] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("4K"), Some(4096));
        assert_eq!(parse_size("4k"), Some(4096));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1t"), Some(1 << 40));
        assert_eq!(parse_size("0x10M"), Some(16 << 20));
        assert_eq!(parse_size("1_024K"), Some(1 << 20));
        assert_eq!(parse_size("16777215T"), Some(16_777_215 << 40));
        for bad in [
            "",
            "K",
            "0xK",
            "4KB",
            "4KiB",
            "4 K",
            "4KK",
            "16777216T",
            "-4K",
            "4X",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}
