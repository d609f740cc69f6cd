//! The operator console shell: the parts that need no hardware.
//!
//! Operators type commands on the serial console (and, later, a PS/2
//! keyboard) while the machine may be in the middle of an error storm. The
//! shell is split so that everything that can go wrong with arbitrary input is
//! pure and unit-tested on the host:
//!
//! - [`editor`] turns input bytes into edited lines, one byte at a time, and
//!   says what to echo. It keeps the prompt and the partial line redrawable,
//!   so log lines printed between keystrokes never leave the operator typing
//!   blind.
//! - [`words`] splits a finished line into words (with quotes and comments)
//!   and parses the numbers and sizes that commands take.
//!
//! The kernel side (polling the UART every 10 ms, holding the console while it
//! echoes, and running commands) lives with the hardware code, not here.

pub mod editor;
pub mod keymap;
pub mod words;

pub use editor::Editor;
pub use words::{parse_number, parse_size, split, SplitError};
