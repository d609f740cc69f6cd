//! The operator console: a line-editing shell on the serial line (and the
//! keyboard when present), run from the bootstrap processor's idle loop.
//! Asynchronous log output (an error storm, say) clears the prompt line
//! first and the shell redraws it afterwards, so typing is never lost.

use super::commands;
use crate::shell::editor::Editor;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;

pub const PROMPT: &str = "rasos> ";

static EDITOR: Mutex<Option<Editor>> = Mutex::new(None);
/// The prompt is on screen (log output must clear it first).
static PROMPT_SHOWN: AtomicBool = AtomicBool::new(false);
/// Log output overwrote the prompt; redraw it.
static NEEDS_REDRAW: AtomicBool = AtomicBool::new(false);

/// Starts the shell: prints the first prompt.
pub fn start() {
    let mut ed = Editor::new(PROMPT, 32);
    ed.set_completions(commands::NAMES);
    super::with_console(|w| show_prompt(w, |w| ed.prompt(w)));
    *EDITOR.lock() = Some(ed);
}

/// Draws the prompt and marks it shown while the console is still held:
/// a log line queued meanwhile is written when the console is given back,
/// and must find the mark to take the prompt off first (else it lands
/// behind `rasos> `).
fn show_prompt(w: &mut dyn Write, draw: impl FnOnce(&mut dyn Write)) {
    draw(w);
    PROMPT_SHOWN.store(true, Ordering::SeqCst);
}

/// Called by the log before it prints: takes the prompt line off the
/// screen. Runs with the console held.
pub fn before_output(w: &mut dyn Write) {
    if PROMPT_SHOWN.swap(false, Ordering::SeqCst) {
        let _ = w.write_str("\r\x1b[K");
        NEEDS_REDRAW.store(true, Ordering::SeqCst);
    }
}

/// Handles pending input and redraws; called from the idle loop.
pub fn poll() {
    let Some(mut guard) = EDITOR.try_lock() else {
        return;
    };
    let Some(ed) = guard.as_mut() else { return };
    if NEEDS_REDRAW.swap(false, Ordering::SeqCst) {
        super::with_console(|w| show_prompt(w, |w| ed.redraw(w)));
    }
    while let Some(b) = super::read_byte() {
        let line = super::with_console(|w| ed.feed(b, w));
        if let Some(line) = line {
            PROMPT_SHOWN.store(false, Ordering::SeqCst);
            commands::run(&line);
            super::with_console(|w| show_prompt(w, |w| ed.prompt(w)));
        }
    }
}
