//! The tokens of the mce-inject language: words, numbers and line ends,
//! with their positions, and C-style numbers.

use super::request::ParseError;
use alloc::format;
use alloc::string::String;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pos {
    pub(super) line: usize,
    pub(super) column: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Word,
    Number(u64),
    Colon,
    Pipe,
    Less,
    Greater,
    /// `{...}` after a RIP, as in kernel panic output; ignored.
    Symbol,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    pub(super) at: Pos,
    pub(super) text: &'a str,
}

impl Token<'_> {
    pub(super) fn error(&self, message: String) -> ParseError {
        ParseError {
            line: self.at.line,
            column: self.at.column,
            message,
            token: String::from(self.text),
        }
    }

    pub(super) fn is_word(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }
}

pub(super) struct Lexer<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    pub(super) at: Pos,
}

impl<'a> Lexer<'a> {
    pub(super) fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.at.line += 1;
            self.at.column = 1;
        } else {
            self.at.column += 1;
        }
        Some(c)
    }

    pub(super) fn bump_while(&mut self, keep: impl Fn(char) -> bool) {
        while self.peek_char().is_some_and(&keep) {
            self.bump();
        }
    }

    pub(super) fn next_token(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        loop {
            match self.peek_char() {
                None => return Ok(None),
                Some(c) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                Some('#') => self.bump_while(|c| c != '\n'),
                Some(_) => break,
            }
        }
        let at = self.at;
        let start = self.pos;
        let c = self.bump().unwrap_or('\0');
        let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let kind = match c {
            '0'..='9' => {
                self.bump_while(word_char);
                Kind::Number(0)
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                self.bump_while(word_char);
                Kind::Word
            }
            ':' => Kind::Colon,
            '|' => Kind::Pipe,
            '<' => Kind::Less,
            '>' => Kind::Greater,
            '{' => {
                self.bump_while(|c| c != '}' && c != '\n');
                if self.bump() != Some('}') {
                    let text = self.src.get(start..self.pos).unwrap_or("");
                    return Err(Token {
                        kind: Kind::Symbol,
                        at,
                        text,
                    }
                    .error(String::from("'{' without a closing '}' on its line")));
                }
                Kind::Symbol
            }
            _ => {
                let text = self.src.get(start..self.pos).unwrap_or("");
                let token = Token {
                    kind: Kind::Word,
                    at,
                    text,
                };
                let message = format!("unexpected character '{}'", c.escape_debug());
                return Err(token.error(message));
            }
        };
        let text = self.src.get(start..self.pos).unwrap_or("");
        let token = Token { kind, at, text };
        match kind {
            Kind::Number(_) => match parse_number(text) {
                Ok(n) => Ok(Some(Token {
                    kind: Kind::Number(n),
                    ..token
                })),
                Err(message) => Err(token.error(message)),
            },
            _ => Ok(Some(token)),
        }
    }
}

/// A C-style unsigned number: `0x` hex, leading-`0` octal, or decimal.
pub(super) fn parse_number(text: &str) -> Result<u64, String> {
    let (digits, radix) = match text.get(..2) {
        Some("0x" | "0X") => (text.get(2..).unwrap_or(""), 16),
        _ if text.len() > 1 && text.starts_with('0') => (text.get(1..).unwrap_or(""), 8),
        _ => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("invalid number '{}'", text));
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let digit = u64::from(c.to_digit(radix).unwrap_or(0));
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(|| format!("number '{}' does not fit in 64 bits", text))?;
    }
    Ok(value)
}
