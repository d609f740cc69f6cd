//! The console line editor: input bytes in, terminal echo and finished lines
//! out.
//!
//! The kernel polls the console and hands every byte to [`Editor::feed`]; the
//! editor writes the echo (VT100/ANSI sequences) to whatever sink it is given
//! and returns the line when the operator presses Enter. It never blocks and
//! never panics, whatever arrives on the wire: line noise on a serial port is
//! input too.
//!
//! The editor assumes the terminal is in the state it left it in. Anything
//! else printed in between (log lines) must go through
//! [`Editor::clear_line_for_output`] first and [`Editor::redraw`] after.
//!
//! Cursor movement is relative (`ESC [ n D` / `ESC [ n C`), which does not
//! cross a wrapped row: a prompt plus line wider than the terminal redraws
//! imperfectly while editing, though the line itself stays right.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The longest line an operator can type. Commands are short; the cap bounds
/// the memory and the redraw cost of a stuck key or a burst of line noise.
pub const MAX_LINE: usize = 256;

/// Erases from the cursor to the end of the row.
const ERASE_TO_END: &str = "\x1b[K";

/// An editing action, decoded from one key or escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Insert(u8),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    WordLeft,
    WordRight,
    Home,
    End,
    Up,
    Down,
    KillToStart,
    KillToEnd,
    KillWord,
    Cancel,
    Redraw,
    Complete,
}

/// Where the decoder is inside an escape sequence. Sequences are always parsed
/// to their final byte, so the tail of an unknown one is never inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    /// Not in a sequence: bytes are keys.
    Ground,
    /// After ESC.
    Esc,
    /// In a control sequence (`ESC [`).
    Csi(Csi),
    /// After `ESC O` (SS3): keys in the terminal's application mode.
    Ss3,
}

/// The parameters of a control sequence seen so far. Only the forms keys send
/// are understood: up to two numeric parameters, no private markers, no
/// intermediate bytes. Anything else is parsed and then ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Csi {
    params: [u16; 2],
    /// Index of the parameter being collected.
    current: u8,
    /// Whether any parameter byte has been seen (`ESC [ C` has none).
    any: bool,
    /// Whether the sequence has a form no key sends.
    foreign: bool,
}

impl Csi {
    fn param_byte(&mut self, byte: u8) {
        self.any = true;
        match byte {
            b'0'..=b'9' => {
                if let Some(p) = self.params.get_mut(usize::from(self.current)) {
                    *p = p.saturating_mul(10).saturating_add(u16::from(byte - b'0'));
                }
            }
            b';' if usize::from(self.current) + 1 < self.params.len() => self.current += 1,
            _ => self.foreign = true,
        }
    }

    /// The key a sequence ending in `last` stands for, if any.
    fn key(&self, last: u8) -> Option<Key> {
        if self.foreign {
            return None;
        }
        let count = if self.any { self.current + 1 } else { 0 };
        let [first, second] = self.params;
        match last {
            // Plain (`ESC [ C`, `ESC [ 1 C`) or with the Ctrl modifier
            // (`ESC [ 1 ; 5 C`), which moves by words.
            b'A' | b'B' | b'C' | b'D' | b'H' | b'F' => {
                let ctrl = match (count, first, second) {
                    (0, _, _) | (1, 0 | 1, _) => false,
                    (2, 1, 5) => true,
                    _ => return None,
                };
                Some(match (last, ctrl) {
                    (b'A', false) => Key::Up,
                    (b'B', false) => Key::Down,
                    (b'C', false) => Key::Right,
                    (b'D', false) => Key::Left,
                    (b'C', true) => Key::WordRight,
                    (b'D', true) => Key::WordLeft,
                    (b'H', false) => Key::Home,
                    (b'F', false) => Key::End,
                    _ => return None,
                })
            }
            b'~' if count == 1 => match first {
                1 | 7 => Some(Key::Home),
                3 => Some(Key::Delete),
                4 | 8 => Some(Key::End),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A line editor with history for one console.
#[derive(Debug)]
pub struct Editor {
    prompt: &'static str,
    /// The line being edited: printable ASCII only, so byte and column
    /// indices are the same.
    line: String,
    /// Position in `line`, `0..=line.len()`.
    cursor: usize,
    /// Earlier lines, oldest first.
    history: VecDeque<String>,
    history_capacity: usize,
    /// The history entry shown while browsing; `None` while editing a new line.
    browsing: Option<usize>,
    /// The new line put aside while browsing, restored past the newest entry.
    stash: String,
    escape: Escape,
    /// Whether the previous byte was CR, so that the LF of a CRLF is not a
    /// second Enter.
    after_cr: bool,
    /// Command names that Tab completes.
    completions: &'static [&'static str],
}

impl Editor {
    /// An editor showing `prompt` and remembering up to `history_capacity`
    /// lines. `const` so that a console can keep it in a static.
    pub const fn new(prompt: &'static str, history_capacity: usize) -> Self {
        Editor {
            prompt,
            line: String::new(),
            cursor: 0,
            history: VecDeque::new(),
            history_capacity,
            browsing: None,
            stash: String::new(),
            escape: Escape::Ground,
            after_cr: false,
            completions: &[],
        }
    }

    /// Sets the command names that Tab completes in the first word. Entries
    /// that are empty or hold anything but printable non-space ASCII are
    /// ignored.
    pub fn set_completions(&mut self, names: &'static [&'static str]) {
        self.completions = names;
    }

    /// The line as edited so far.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The cursor position in [`line`](Self::line), `0..=line().len()`.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The remembered lines, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Handles one input byte, writing its echo to `out`. Returns the line
    /// when Enter (CR, LF or CRLF) completes it, possibly empty; the caller
    /// then runs it and calls [`prompt`](Self::prompt) for the next one.
    ///
    /// Write errors from `out` are ignored: echo is best effort and must not
    /// change what the operator typed.
    pub fn feed(&mut self, byte: u8, out: &mut dyn Write) -> Option<String> {
        let key = self.decode(byte)?;
        self.apply(key, out)
    }

    /// Writes the prompt and the line, leaving the terminal cursor at the
    /// editing position. For the first prompt and after a command's output.
    pub fn prompt(&self, out: &mut dyn Write) {
        emit(out, self.prompt);
        emit(out, &self.line);
        move_left(out, self.line.len().saturating_sub(self.cursor));
    }

    /// Repaints the prompt and the line over whatever the current row holds,
    /// e.g. after log output printed between keystrokes.
    pub fn redraw(&self, out: &mut dyn Write) {
        self.clear_line_for_output(out);
        self.prompt(out);
    }

    /// Clears the current row, so that a log line can be printed where the
    /// prompt was; [`redraw`](Self::redraw) brings the prompt back after it.
    pub fn clear_line_for_output(&self, out: &mut dyn Write) {
        emit(out, "\r");
        emit(out, ERASE_TO_END);
    }

    /// Turns a byte into a key, tracking escape sequences and CRLF.
    fn decode(&mut self, byte: u8) -> Option<Key> {
        let after_cr = core::mem::replace(&mut self.after_cr, false);
        match self.escape {
            Escape::Ground => {}
            Escape::Esc => {
                self.escape = Escape::Ground;
                match byte {
                    b'[' => {
                        self.escape = Escape::Csi(Csi::default());
                        return None;
                    }
                    b'O' => {
                        self.escape = Escape::Ss3;
                        return None;
                    }
                    // Alt-b / Alt-f, the readline word motions.
                    b'b' => return Some(Key::WordLeft),
                    b'f' => return Some(Key::WordRight),
                    // Other Alt-keys: a whole (ignored) sequence.
                    0x20..=0x7e => return None,
                    // A control byte ends the sequence and counts as itself.
                    _ => {}
                }
            }
            Escape::Ss3 => {
                self.escape = Escape::Ground;
                match byte {
                    b'A' => return Some(Key::Up),
                    b'B' => return Some(Key::Down),
                    b'C' => return Some(Key::Right),
                    b'D' => return Some(Key::Left),
                    b'H' => return Some(Key::Home),
                    b'F' => return Some(Key::End),
                    0x20..=0x7e => return None,
                    _ => {}
                }
            }
            Escape::Csi(mut csi) => match byte {
                // Parameter and intermediate bytes.
                0x20..=0x3f => {
                    if byte >= 0x30 {
                        csi.param_byte(byte);
                    } else {
                        csi.foreign = true;
                    }
                    self.escape = Escape::Csi(csi);
                    return None;
                }
                0x40..=0x7e => {
                    self.escape = Escape::Ground;
                    return csi.key(byte);
                }
                // A control byte (Enter, Ctrl-C, a new ESC) ends the
                // sequence and counts as itself: a key press must never be
                // swallowed by a garbled sequence.
                _ => self.escape = Escape::Ground,
            },
        }
        match byte {
            b'\r' => {
                self.after_cr = true;
                Some(Key::Enter)
            }
            b'\n' if after_cr => None,
            b'\n' => Some(Key::Enter),
            0x1b => {
                self.escape = Escape::Esc;
                None
            }
            0x20..=0x7e => Some(Key::Insert(byte)),
            0x08 | 0x7f => Some(Key::Backspace),
            0x01 => Some(Key::Home),        // Ctrl-A
            0x02 => Some(Key::Left),        // Ctrl-B
            0x03 => Some(Key::Cancel),      // Ctrl-C
            0x04 => Some(Key::Delete),      // Ctrl-D
            0x05 => Some(Key::End),         // Ctrl-E
            0x06 => Some(Key::Right),       // Ctrl-F
            0x09 => Some(Key::Complete),    // Tab
            0x0b => Some(Key::KillToEnd),   // Ctrl-K
            0x0c => Some(Key::Redraw),      // Ctrl-L
            0x0e => Some(Key::Down),        // Ctrl-N
            0x10 => Some(Key::Up),          // Ctrl-P
            0x15 => Some(Key::KillToStart), // Ctrl-U
            0x17 => Some(Key::KillWord),    // Ctrl-W
            // Other control bytes and anything beyond ASCII (UTF-8, noise).
            _ => None,
        }
    }

    fn apply(&mut self, key: Key, out: &mut dyn Write) -> Option<String> {
        match key {
            Key::Insert(byte) => self.insert(&[byte], out),
            Key::Enter => return Some(self.finish(out)),
            Key::Backspace => {
                if self.cursor > 0 {
                    self.cut(self.cursor - 1, self.cursor, out);
                }
            }
            Key::Delete => {
                if self.cursor < self.line.len() {
                    self.cut(self.cursor, self.cursor + 1, out);
                }
            }
            Key::Left => self.move_to(self.cursor.saturating_sub(1), out),
            Key::Right => self.move_to((self.cursor + 1).min(self.line.len()), out),
            Key::WordLeft => self.move_to(self.word_start(), out),
            Key::WordRight => self.move_to(self.word_end(), out),
            Key::Home => self.move_to(0, out),
            Key::End => self.move_to(self.line.len(), out),
            Key::Up => self.history_back(out),
            Key::Down => self.history_forward(out),
            Key::KillToStart => self.cut(0, self.cursor, out),
            Key::KillToEnd => self.cut(self.cursor, self.line.len(), out),
            Key::KillWord => self.cut(self.word_start(), self.cursor, out),
            Key::Cancel => {
                emit(out, "^C\r\n");
                self.reset();
                self.prompt(out);
            }
            Key::Redraw => self.redraw(out),
            Key::Complete => self.complete(out),
        }
        None
    }

    /// Ends the line: it moves to the history and the editor starts afresh.
    fn finish(&mut self, out: &mut dyn Write) -> String {
        emit(out, "\r\n");
        let line = core::mem::take(&mut self.line);
        self.reset();
        let blank = line.trim().is_empty();
        let repeated = self.history.back() == Some(&line);
        if self.history_capacity > 0 && !blank && !repeated {
            while self.history.len() >= self.history_capacity {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        line
    }

    /// Forgets the line being edited and stops browsing the history.
    fn reset(&mut self) {
        self.line.clear();
        self.cursor = 0;
        self.browsing = None;
        self.stash.clear();
    }

    /// Inserts printable ASCII at the cursor, all or nothing within
    /// [`MAX_LINE`].
    fn insert(&mut self, bytes: &[u8], out: &mut dyn Write) {
        let printable = bytes.iter().all(|b| matches!(b, 0x20..=0x7e));
        if !printable || self.line.len() + bytes.len() > MAX_LINE {
            return;
        }
        let at = self.cursor;
        for (i, &b) in bytes.iter().enumerate() {
            self.line.insert(at + i, char::from(b));
        }
        self.cursor += bytes.len();
        self.repaint_from(at, at, false, out);
    }

    /// Removes `start..end` of the line (which must hold the cursor) and
    /// leaves the cursor at `start`.
    fn cut(&mut self, start: usize, end: usize, out: &mut dyn Write) {
        let end = end.min(self.line.len());
        if start >= end || self.cursor < start || self.cursor > end {
            return;
        }
        self.line.replace_range(start..end, "");
        let old = core::mem::replace(&mut self.cursor, start);
        self.repaint_from(start, old, true, out);
    }

    /// Rewrites the line from `start` on, with the terminal cursor at `old`
    /// (at or after `start`), then puts the terminal cursor at the editing
    /// position. `shrank` erases what the old, longer line left behind.
    fn repaint_from(&self, start: usize, old: usize, shrank: bool, out: &mut dyn Write) {
        move_left(out, old.saturating_sub(start));
        emit(out, self.line.get(start..).unwrap_or(""));
        if shrank {
            emit(out, ERASE_TO_END);
        }
        move_left(out, self.line.len().saturating_sub(self.cursor));
    }

    fn move_to(&mut self, to: usize, out: &mut dyn Write) {
        let to = to.min(self.line.len());
        if to < self.cursor {
            move_left(out, self.cursor - to);
        } else {
            move_right(out, to - self.cursor);
        }
        self.cursor = to;
    }

    /// Start of the word before the cursor (spaces before it are skipped).
    fn word_start(&self) -> usize {
        let bytes = self.line.as_bytes();
        let mut i = self.cursor.min(bytes.len());
        while i > 0 && bytes[i - 1] == b' ' {
            i -= 1;
        }
        while i > 0 && bytes[i - 1] != b' ' {
            i -= 1;
        }
        i
    }

    /// End of the word after the cursor (spaces before it are skipped).
    fn word_end(&self) -> usize {
        let bytes = self.line.as_bytes();
        let mut i = self.cursor.min(bytes.len());
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        while i < bytes.len() && bytes[i] != b' ' {
            i += 1;
        }
        i
    }

    /// Replaces the line with `line`, cursor at the end, and shows it.
    fn show(&mut self, line: String, out: &mut dyn Write) {
        self.line = line;
        self.cursor = self.line.len();
        self.redraw(out);
    }

    /// Up: the previous history entry; from the new line, the newest entry.
    fn history_back(&mut self, out: &mut dyn Write) {
        let index = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.stash = core::mem::take(&mut self.line);
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(index);
        let entry = self.history.get(index).cloned().unwrap_or_default();
        self.show(entry, out);
    }

    /// Down: the next history entry; past the newest, the new line as it was
    /// left. Edits to a recalled entry are dropped when moving away from it.
    fn history_forward(&mut self, out: &mut dyn Write) {
        let Some(i) = self.browsing else { return };
        let next = i + 1;
        let line = if next < self.history.len() {
            self.browsing = Some(next);
            self.history.get(next).cloned().unwrap_or_default()
        } else {
            self.browsing = None;
            core::mem::take(&mut self.stash)
        };
        self.show(line, out);
    }

    /// Tab: completes the command name (the first word) when the cursor is at
    /// its end. One match completes with a space after it; several extend to
    /// their common prefix, or are listed when they have nothing in common
    /// beyond what is typed.
    fn complete(&mut self, out: &mut dyn Write) {
        let start = self.line.len() - self.line.trim_start_matches(' ').len();
        let Some(word) = self.line.get(start..self.cursor) else {
            return;
        };
        let at_word_end = matches!(self.line.as_bytes().get(self.cursor), None | Some(b' '));
        if word.contains(' ') || !at_word_end {
            return;
        }
        let typed = word.len();
        let mut matches: Vec<&'static str> = self
            .completions
            .iter()
            .copied()
            .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()))
            .filter(|name| name.starts_with(word))
            .collect();
        matches.sort_unstable();
        matches.dedup();
        let addition: Vec<u8> = match matches.as_slice() {
            [] => return,
            [only] => {
                let mut rest = only.as_bytes().get(typed..).unwrap_or_default().to_vec();
                if self.cursor == self.line.len() {
                    rest.push(b' ');
                }
                rest
            }
            [first, rest @ ..] => {
                let common = rest.iter().fold(first.len(), |common, name| {
                    first
                        .bytes()
                        .zip(name.bytes())
                        .take(common)
                        .take_while(|(a, b)| a == b)
                        .count()
                });
                if common > typed {
                    first
                        .as_bytes()
                        .get(typed..common)
                        .unwrap_or_default()
                        .to_vec()
                } else {
                    emit(out, "\r\n");
                    emit(out, &matches.join("  "));
                    emit(out, "\r\n");
                    self.prompt(out);
                    return;
                }
            }
        };
        self.insert(&addition, out);
    }
}

/// Writes echo; a failing sink loses echo, never input.
fn emit(out: &mut dyn Write, s: &str) {
    let _ = out.write_str(s);
}

fn move_left(out: &mut dyn Write, n: usize) {
    // `ESC [ 0 D` moves by one on a VT100, so zero must write nothing.
    if n > 0 {
        let _ = write!(out, "\x1b[{n}D");
    }
}

fn move_right(out: &mut dyn Write, n: usize) {
    if n > 0 {
        let _ = write!(out, "\x1b[{n}C");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    const PROMPT: &str = "mce> ";

    /// Feeds `input`, returning the completed lines and the echo.
    fn type_into(ed: &mut Editor, input: &[u8]) -> (Vec<String>, String) {
        let mut out = String::new();
        let lines = input.iter().filter_map(|&b| ed.feed(b, &mut out)).collect();
        (lines, out)
    }

    /// A fresh editor after `input`, with no line completed.
    fn edited(input: &[u8]) -> Editor {
        let mut ed = Editor::new(PROMPT, 8);
        let (lines, _) = type_into(&mut ed, input);
        assert!(lines.is_empty(), "{lines:?}");
        ed
    }

    fn assert_state(input: &[u8], line: &str, cursor: usize) {
        let ed = edited(input);
        assert_eq!((ed.line(), ed.cursor()), (line, cursor), "{input:?}");
    }

    /// One terminal row as a VT100 would show it, for checking that the echo
    /// keeps the screen in step with the editor.
    #[derive(Default)]
    struct Screen {
        row: Vec<u8>,
        col: usize,
        pending: Vec<u8>,
    }

    impl Screen {
        fn apply(&mut self, echo: &str) {
            for b in echo.bytes() {
                if !self.pending.is_empty() || b == 0x1b {
                    self.pending.push(b);
                    if self.pending.len() > 1 && matches!(b, 0x40..=0x7e) && b != b'[' {
                        self.sequence();
                    }
                    continue;
                }
                match b {
                    b'\r' => self.col = 0,
                    b'\n' => self.row.clear(),
                    0x20..=0x7e => {
                        while self.row.len() < self.col {
                            self.row.push(b' ');
                        }
                        if self.col < self.row.len() {
                            self.row[self.col] = b;
                        } else {
                            self.row.push(b);
                        }
                        self.col += 1;
                    }
                    _ => panic!("unexpected byte {b:#x} in echo"),
                }
            }
        }

        fn sequence(&mut self) {
            let seq = core::mem::take(&mut self.pending);
            let seq = core::str::from_utf8(&seq).unwrap();
            let body = seq.strip_prefix("\x1b[").expect(seq);
            let (n, last) = body.split_at(body.len() - 1);
            match last {
                "K" if n.is_empty() => self.row.truncate(self.col),
                "D" | "C" => {
                    let n: usize = n.parse().expect(seq);
                    assert!(n > 0, "zero move {seq:?}");
                    if last == "D" {
                        self.col = self.col.checked_sub(n).expect("moved left of the row");
                    } else {
                        self.col += n;
                    }
                }
                _ => panic!("unexpected sequence {seq:?}"),
            }
        }

        /// The row as text, trailing spaces (erased cells) dropped.
        fn text(&self) -> String {
            String::from_utf8(self.row.clone())
                .unwrap()
                .trim_end()
                .to_string()
        }
    }

    /// Whether the screen shows the prompt and line with the cursor in place.
    fn assert_in_step(screen: &Screen, ed: &Editor, context: &str) {
        let expected = alloc::format!("{PROMPT}{}", ed.line());
        assert_eq!(screen.text(), expected.trim_end(), "{context}");
        assert_eq!(screen.col, PROMPT.len() + ed.cursor(), "{context}");
    }

    #[test]
    fn typing_echoes_and_enter_returns_the_line() {
        let mut ed = Editor::new(PROMPT, 8);
        let mut out = String::new();
        ed.prompt(&mut out);
        assert_eq!(out, "mce> ");
        let (lines, echo) = type_into(&mut ed, b"mce status\r");
        assert_eq!(lines, vec!["mce status".to_string()]);
        assert_eq!(echo, "mce status\r\n");
        assert_eq!((ed.line(), ed.cursor()), ("", 0));
        assert_eq!(ed.history().collect::<Vec<_>>(), ["mce status"]);
    }

    #[test]
    fn cr_lf_and_crlf_are_each_one_enter() {
        let mut ed = Editor::new(PROMPT, 8);
        let (lines, _) = type_into(&mut ed, b"a\rb\nc\r\nd\n\r\r\n");
        assert_eq!(lines, ["a", "b", "c", "d", "", ""]);
        // Only the LF right after a CR is swallowed.
        let (lines, _) = type_into(&mut ed, b"\rx\n");
        assert_eq!(lines, ["", "x"]);
    }

    #[test]
    fn insert_in_the_middle_rewrites_the_tail() {
        let mut ed = edited(b"mc status\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D");
        assert_eq!(ed.cursor(), 2);
        let (_, echo) = type_into(&mut ed, b"e");
        assert_eq!((ed.line(), ed.cursor()), ("mce status", 3));
        assert_eq!(echo, "e status\x1b[7D");
    }

    #[test]
    fn backspace_and_delete() {
        assert_state(b"abc\x7f", "ab", 2);
        assert_state(b"abc\x08\x08", "a", 1);
        assert_state(b"\x7f\x08", "", 0);
        assert_state(b"abc\x01\x1b[3~", "bc", 0);
        assert_state(b"abc\x1b[3~", "abc", 3);
        assert_state(b"abc\x01\x04", "bc", 0); // Ctrl-D
        let mut ed = edited(b"abc");
        let (_, echo) = type_into(&mut ed, b"\x7f");
        assert_eq!(echo, "\x1b[1D\x1b[K");
        let (_, echo) = type_into(&mut ed, b"\x01\x1b[3~");
        assert_eq!(echo, "\x1b[2Db\x1b[K\x1b[1D");
    }

    #[test]
    fn arrows_home_and_end() {
        assert_state(b"abc\x1b[D", "abc", 2);
        assert_state(b"abc\x1b[D\x1b[D\x1b[D\x1b[D", "abc", 0);
        assert_state(b"abc\x1b[D\x1b[C\x1b[C", "abc", 3);
        assert_state(b"abc\x02\x02\x06", "abc", 2); // Ctrl-B, Ctrl-F
        assert_state(b"abc\x1bOD", "abc", 2);
        for home in [&b"\x1b[H"[..], b"\x1b[1~", b"\x1bOH", b"\x01", b"\x1b[7~"] {
            let input = [&b"abc"[..], home].concat();
            assert_state(&input, "abc", 0);
            for end in [&b"\x1b[F"[..], b"\x1b[4~", b"\x1bOF", b"\x05", b"\x1b[8~"] {
                assert_state(&[&input[..], end].concat(), "abc", 3);
            }
        }
        let mut ed = edited(b"abcd");
        let (_, echo) = type_into(&mut ed, b"\x1b[H\x1b[C\x1b[F\x1b[H");
        assert_eq!(echo, "\x1b[4D\x1b[1C\x1b[3C\x1b[4D");
        // Home at the start and End at the end echo nothing.
        let (_, echo) = type_into(&mut ed, b"\x01\x1b[D");
        assert_eq!(echo, "");
    }

    #[test]
    fn word_motion() {
        assert_state(b"mce inject 0x10\x1b[1;5D", "mce inject 0x10", 11);
        assert_state(b"mce inject 0x10\x1b[1;5D\x1bb", "mce inject 0x10", 4);
        assert_state(b"mce inject 0x10\x01\x1b[1;5C", "mce inject 0x10", 3);
        assert_state(b"mce inject 0x10\x01\x1bf\x1bf", "mce inject 0x10", 10);
    }

    #[test]
    fn kills() {
        assert_state(b"mce inject\x1bb\x15", "inject", 0); // Ctrl-U
        assert_state(b"mce inject\x1bb\x0b", "mce ", 4); // Ctrl-K
        assert_state(b"mce inject  \x17", "mce ", 4); // Ctrl-W over spaces
        assert_state(b"mce inject\x17\x17", "", 0);
        assert_state(b"mce inject\x1b[D\x1b[D\x17", "mce ct", 4);
        assert_state(b"\x15\x0b\x17", "", 0);
        let mut ed = edited(b"mce inject");
        let (_, echo) = type_into(&mut ed, b"\x17");
        assert_eq!(echo, "\x1b[6D\x1b[K");
    }

    #[test]
    fn ctrl_c_abandons_the_line() {
        let mut ed = Editor::new(PROMPT, 8);
        let (lines, echo) = type_into(&mut ed, b"mce inject\x03");
        assert!(lines.is_empty());
        assert_eq!(echo, "mce inject^C\r\nmce> ");
        assert_eq!((ed.line(), ed.cursor()), ("", 0));
        assert_eq!(ed.history().count(), 0);
    }

    #[test]
    fn redraw_after_log_output() {
        let mut ed = edited(b"mce status\x1b[D\x1b[D");
        let mut out = String::new();
        ed.clear_line_for_output(&mut out);
        assert_eq!(out, "\r\x1b[K");
        out.clear();
        ed.redraw(&mut out);
        assert_eq!(out, "\r\x1b[Kmce> mce status\x1b[2D");
        let (_, echo) = type_into(&mut ed, b"\x0c"); // Ctrl-L
        assert_eq!(echo, out);
        // The prompt alone (after a command's output) keeps the line too.
        out.clear();
        ed.prompt(&mut out);
        assert_eq!(out, "mce> mce status\x1b[2D");
    }

    #[test]
    fn history_up_and_down_keep_the_new_line() {
        let mut ed = Editor::new(PROMPT, 8);
        type_into(&mut ed, b"one\rtwo\rthree\r");
        type_into(&mut ed, b"draft\x1b[D");
        let (_, echo) = type_into(&mut ed, b"\x1b[A");
        assert_eq!(echo, "\r\x1b[Kmce> three");
        assert_eq!((ed.line(), ed.cursor()), ("three", 5));
        type_into(&mut ed, b"\x1b[A\x1b[A\x1b[A\x1b[A");
        assert_eq!(ed.line(), "one");
        // Edits to a recalled entry are dropped when moving away from it.
        type_into(&mut ed, b"XX\x1b[B");
        assert_eq!(ed.line(), "two");
        type_into(&mut ed, b"\x1b[B\x1b[B");
        assert_eq!((ed.line(), ed.cursor()), ("draft", 5));
        // Down on the new line does nothing.
        let (_, echo) = type_into(&mut ed, b"\x1b[B\x0e");
        assert_eq!((ed.line(), echo.as_str()), ("draft", ""));
        // A recalled and edited entry is a new line when entered.
        let (lines, _) = type_into(&mut ed, b"\x15\x10\x10!\r"); // Ctrl-P
        assert_eq!(lines, ["two!"]);
        assert_eq!(
            ed.history().collect::<Vec<_>>(),
            ["one", "two", "three", "two!"]
        );
        // Up on an empty history does nothing.
        let mut fresh = Editor::new(PROMPT, 8);
        let (_, echo) = type_into(&mut fresh, b"x\x1b[A");
        assert_eq!((fresh.line(), echo.as_str()), ("x", "x"));
    }

    #[test]
    fn history_skips_blanks_and_repeats_and_is_capped() {
        let mut ed = Editor::new(PROMPT, 3);
        type_into(&mut ed, b"a\ra\r\r   \rb\ra\rc\rd\r");
        assert_eq!(ed.history().collect::<Vec<_>>(), ["a", "c", "d"]);
        let mut none = Editor::new(PROMPT, 0);
        let (lines, _) = type_into(&mut none, b"a\r\x1b[A");
        assert_eq!(lines, ["a"]);
        assert_eq!((none.history().count(), none.line()), (0, ""));
    }

    #[test]
    fn lines_are_capped() {
        let input = vec![b'x'; MAX_LINE + 10];
        let mut ed = edited(&input);
        assert_eq!((ed.line().len(), ed.cursor()), (MAX_LINE, MAX_LINE));
        let (lines, echo) = type_into(&mut ed, b"y\x01z");
        assert!(lines.is_empty());
        assert_eq!(echo, alloc::format!("\x1b[{MAX_LINE}D"));
        let (lines, _) = type_into(&mut ed, b"\x7f\r");
        assert_eq!(lines[0].len(), MAX_LINE);
    }

    #[test]
    fn unknown_sequences_and_controls_are_swallowed() {
        // F5, Shift-Tab, a private mode report, Alt-x, mouse-ish garbage,
        // Ctrl-Right with Alt, bell, NUL, UTF-8.
        let input = b"a\x1b[15~\x1b[Z\x1b[?1;2c\x1bx\x1b[<0;1;2M\x1b[1;3C\x07\x00\xc3\xa9\x1bOP\x1b[99;99;99Xb";
        assert_state(input, "ab", 2);
        // A lone ESC followed by ESC starts over.
        assert_state(b"\x1b\x1b[Dq", "q", 1);
    }

    #[test]
    fn control_bytes_end_a_garbled_sequence() {
        let mut ed = Editor::new(PROMPT, 8);
        let (lines, _) = type_into(&mut ed, b"ls\x1b[12\r");
        assert_eq!(lines, ["ls"]);
        let (lines, _) = type_into(&mut ed, b"ls\x1b\r");
        assert_eq!(lines, ["ls"]);
        let (lines, echo) = type_into(&mut ed, b"ls\x1bO\x03");
        assert!(lines.is_empty());
        assert!(echo.ends_with("^C\r\nmce> "));
        // ESC inside a sequence starts a new one.
        assert_state(b"ab\x1b[1\x1b[D", "ab", 1);
    }

    const COMMANDS: &[&str] = &[
        "mce",
        "mca-banks",
        "help",
        "history",
        "poison",
        "",
        "bad name",
    ];

    fn with_completions(input: &[u8]) -> (Editor, String) {
        let mut ed = Editor::new(PROMPT, 8);
        ed.set_completions(COMMANDS);
        let (lines, echo) = type_into(&mut ed, input);
        assert!(lines.is_empty());
        (ed, echo)
    }

    #[test]
    fn tab_completes_command_names() {
        let (ed, echo) = with_completions(b"po\t");
        assert_eq!((ed.line(), ed.cursor()), ("poison ", 7));
        assert_eq!(echo, "poison ");
        // Several matches extend to their common prefix, then list.
        let (ed, _) = with_completions(b"h\t");
        assert_eq!(ed.line(), "h");
        let (ed, echo) = with_completions(b"mc\t");
        assert_eq!(ed.line(), "mc");
        assert_eq!(echo, "mc\r\nmca-banks  mce\r\nmce> mc");
        let (ed, _) = with_completions(b"he\t");
        assert_eq!(ed.line(), "help ");
        let (ed, _) = with_completions(b"  his\t");
        assert_eq!(ed.line(), "  history ");
        // Only the first word, only at its end, no unknown names.
        for (input, line) in [
            (&b"help po\t"[..], "help po"),
            (b"pois\x1b[D\t", "pois"),
            (b"zz\t", "zz"),
            (b"bad\t", "bad"),
        ] {
            let (ed, echo) = with_completions(input);
            assert_eq!(ed.line(), line);
            assert!(
                echo.ends_with(line) || echo.ends_with("\x1b[1D"),
                "{echo:?}"
            );
        }
        // Completing before a following argument adds no second space.
        let (ed, _) = with_completions(b"po 1\x1b[D\x1b[D\t");
        assert_eq!((ed.line(), ed.cursor()), ("poison 1", 6));
        // No completions set: Tab is ignored.
        assert_state(b"po\t", "po", 2);
    }

    #[test]
    fn completion_respects_the_cap() {
        let mut input = vec![b'p'];
        input.extend(core::iter::repeat_n(b' ', MAX_LINE - 2));
        input.extend(b"\x01\x1b[C\t");
        let (ed, _) = with_completions(&input);
        assert_eq!(ed.line().len(), MAX_LINE - 1);
        assert!(ed.line().starts_with("p "));
    }

    #[test]
    fn echo_keeps_the_screen_in_step() {
        let mut ed = Editor::new(PROMPT, 4);
        ed.set_completions(COMMANDS);
        let mut screen = Screen::default();
        let mut out = String::new();
        ed.prompt(&mut out);
        screen.apply(&out);
        let script: &[u8] = b"mce inject 0x10\x1b[D\x1b[DXY\x01\x1b[3~Z\x05\x7f\x17ab\x1b[1;5Dcd\x0b\x1b[A\x1b[B\x15h\tpo\t1\x03mc\t\r";
        for &b in script {
            out.clear();
            if ed.feed(b, &mut out).is_some() {
                ed.prompt(&mut out);
            }
            screen.apply(&out);
            assert_in_step(&screen, &ed, &alloc::format!("after {b:#x}"));
        }
    }

    /// xorshift64*: deterministic, so failures reproduce.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed >> 12;
        *seed ^= *seed << 25;
        *seed ^= *seed >> 27;
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[test]
    fn byte_soup_never_breaks_the_editor() {
        // Bytes that matter to the decoder, weighted up among random ones.
        const INTERESTING: &[u8] = b"\x1b\x1b\x1b[[[O~~;0134578ABCDFHbfx \r\n\x01\x03\x04\x05\x08\x09\x0b\x0c\x0e\x10\x15\x17\x7f";
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for round in 0..300 {
            let mut ed = Editor::new(PROMPT, 5);
            ed.set_completions(COMMANDS);
            let mut screen = Screen::default();
            let mut out = String::new();
            ed.prompt(&mut out);
            screen.apply(&out);
            for _ in 0..2000 {
                let r = next(&mut seed);
                let mut byte = match r % 4 {
                    0 => r.to_le_bytes()[3],
                    1 => b'a' + (r >> 8) as u8 % 26,
                    _ => INTERESTING[(r >> 8) as usize % INTERESTING.len()],
                };
                // Every third round never ends a line, to reach the cap.
                if round % 3 == 0 && matches!(byte, b'\r' | b'\n' | 0x03 | 0x15 | 0x17) {
                    byte = b'x';
                }
                out.clear();
                if let Some(line) = ed.feed(byte, &mut out) {
                    assert!(line.len() <= MAX_LINE);
                    assert!(line.bytes().all(|b| matches!(b, 0x20..=0x7e)));
                    ed.prompt(&mut out);
                }
                screen.apply(&out);
                let context = alloc::format!("round {round} byte {byte:#x}");
                assert!(ed.cursor() <= ed.line().len(), "{context}");
                assert!(ed.line().len() <= MAX_LINE, "{context}");
                assert!(
                    ed.line().bytes().all(|b| matches!(b, 0x20..=0x7e)),
                    "{context}"
                );
                assert!(ed.history().count() <= 5, "{context}");
                assert_in_step(&screen, &ed, &context);
            }
        }
    }

    #[test]
    fn a_failing_sink_loses_echo_not_input() {
        struct Broken;
        impl Write for Broken {
            fn write_str(&mut self, _: &str) -> core::fmt::Result {
                Err(core::fmt::Error)
            }
        }
        let mut ed = Editor::new(PROMPT, 8);
        let lines: Vec<String> = b"ab\x1b[Dc\r"
            .iter()
            .filter_map(|&b| ed.feed(b, &mut Broken))
            .collect();
        assert_eq!(lines, ["acb"]);
    }
}
