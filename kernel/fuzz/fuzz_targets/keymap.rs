//! Keymap::feed: scancodes to terminal bytes, and on into the line editor
//! as the PS/2 console does.
#![no_main]

use kernel::shell::editor::{Editor, MAX_LINE};
use kernel::shell::keymap::Keymap;
use kernel_fuzz::Terminal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut km = Keymap::new();
    let mut ed = Editor::new("> ", 4);
    let mut term = Terminal::default();
    ed.prompt(&mut term);
    for &code in data {
        let mut bytes = Vec::new();
        km.feed(code, |b| bytes.push(b));
        // Releases, prefixes and modifiers produce nothing; a key at most
        // one escape sequence; only ASCII, never NUL.
        assert!(bytes.len() <= 4, "{code:#04x} gave {bytes:?}");
        if code == 0xe0 || code & 0x80 != 0 {
            assert!(bytes.is_empty(), "{code:#04x} gave {bytes:?}");
        }
        assert!(
            bytes.iter().all(|&b| b != 0 && b < 0x80),
            "{code:#04x} gave {bytes:?}"
        );
        if bytes.len() > 1 {
            assert_eq!(bytes[0], 0x1b);
        }
        for b in bytes {
            if ed.feed(b, &mut term).is_some() {
                ed.prompt(&mut term);
            }
            assert!(ed.line().len() <= MAX_LINE);
            assert!(term.shows(&format!("> {}", ed.line()), 2 + ed.cursor()));
        }
    }
});
