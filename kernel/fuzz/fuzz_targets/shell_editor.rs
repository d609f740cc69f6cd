//! Editor::feed with every input byte; the echo goes to a one-row terminal
//! model, which must show exactly the prompt and the line after each byte.
#![no_main]

use kernel::shell::editor::{Editor, MAX_LINE};
use kernel_fuzz::Terminal;
use libfuzzer_sys::fuzz_target;

const PROMPT: &str = "rasos> ";
/// Command names as the console offers them, plus entries Tab must ignore.
static NAMES: &[&str] = &[
    "help",
    "erst",
    "einj",
    "inject",
    "injections",
    "selftest",
    "",
    "bad name",
    "caf\u{e9}",
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the history size (0 = no history).
    let Some((&hist, input)) = data.split_first() else {
        return;
    };
    let capacity = usize::from(hist % 8);
    let mut ed = Editor::new(PROMPT, capacity);
    ed.set_completions(NAMES);
    let mut term = Terminal::default();
    ed.prompt(&mut term);
    let mut last_entered: Option<String> = None;
    for &b in input {
        if let Some(line) = ed.feed(b, &mut term) {
            assert!(line.len() <= MAX_LINE);
            assert!(line.bytes().all(|c| (0x20..=0x7e).contains(&c)));
            assert!(term.shows("", 0), "Enter ends the row");
            ed.prompt(&mut term);
            if !line.trim().is_empty() {
                last_entered = Some(line);
            }
        }
        // The editor's own invariants.
        let l = ed.line();
        assert!(l.len() <= MAX_LINE);
        assert!(ed.cursor() <= l.len());
        assert!(l.bytes().all(|c| (0x20..=0x7e).contains(&c)));
        // What the operator sees is what the editor holds.
        assert!(
            term.shows(&format!("{PROMPT}{l}"), PROMPT.len() + ed.cursor()),
            "screen {:?} col {} vs line {l:?} cursor {}",
            String::from_utf8_lossy(&term.row),
            term.col,
            ed.cursor()
        );
    }
    let history: Vec<&str> = ed.history().collect();
    assert!(history.len() <= capacity);
    assert!(history
        .iter()
        .all(|h| !h.trim().is_empty() && h.len() <= MAX_LINE));
    assert!(
        history.windows(2).all(|w| w[0] != w[1]),
        "no repeated entries"
    );
    if capacity > 0 {
        assert_eq!(history.last().copied(), last_entered.as_deref());
    }

    // Printable input alone is typed as is, up to MAX_LINE.
    if input.iter().all(|b| (0x20..=0x7e).contains(b)) {
        let mut ed = Editor::new(PROMPT, 0);
        let mut sink = String::new();
        for &b in input {
            assert!(ed.feed(b, &mut sink).is_none());
        }
        let n = input.len().min(MAX_LINE);
        assert_eq!(ed.line().as_bytes(), &input[..n]);
        assert_eq!(ed.cursor(), n);
    }
});
