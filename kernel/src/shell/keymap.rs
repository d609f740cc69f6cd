//! PS/2 keyboard scancodes (set 1, what the i8042 controller delivers with
//! translation on, as firmware leaves it) turned into the bytes a serial
//! terminal would send, so the line editor serves both consoles alike: ASCII
//! for printable keys and control keys, VT100 escape sequences for arrows,
//! Home/End and Delete. US layout.

/// Keyboard state between scancodes.
#[derive(Default)]
pub struct Keymap {
    shift: bool,
    ctrl: bool,
    caps: bool,
    /// The previous byte was the 0xE0 extended prefix.
    extended: bool,
}

/// Unshifted and shifted characters for make codes 0x00..0x3A.
const PLAIN: &[u8; 58] =
    b"\x00\x1b1234567890-=\x08\tqwertyuiop[]\r\x00asdfghjkl;'`\x00\\zxcvbnm,./\x00*\x00 ";
const SHIFTED: &[u8; 58] =
    b"\x00\x1b!@#$%^&*()_+\x08\tQWERTYUIOP{}\r\x00ASDFGHJKL:\"~\x00|ZXCVBNM<>?\x00*\x00 ";

impl Keymap {
    pub const fn new() -> Self {
        Keymap {
            shift: false,
            ctrl: false,
            caps: false,
            extended: false,
        }
    }

    /// Feeds one scancode byte; calls `out` with each byte the key produces.
    pub fn feed(&mut self, code: u8, mut out: impl FnMut(u8)) {
        if code == 0xE0 {
            self.extended = true;
            return;
        }
        let extended = core::mem::take(&mut self.extended);
        let release = code & 0x80 != 0;
        let key = code & 0x7f;
        match (extended, key) {
            (false, 0x2A) | (false, 0x36) => self.shift = !release,
            (_, 0x1D) => self.ctrl = !release,
            (false, 0x3A) if !release => self.caps = !self.caps,
            _ if release => {}
            (true, k) => {
                let seq: &[u8] = match k {
                    0x48 => b"\x1b[A",
                    0x50 => b"\x1b[B",
                    0x4D => b"\x1b[C",
                    0x4B => b"\x1b[D",
                    0x47 => b"\x1b[H",
                    0x4F => b"\x1b[F",
                    0x53 => b"\x1b[3~",
                    0x1C => b"\r",
                    _ => b"",
                };
                seq.iter().for_each(|&b| out(b));
            }
            (false, k) if (k as usize) < PLAIN.len() => {
                let mut c = if self.shift {
                    SHIFTED[k as usize]
                } else {
                    PLAIN[k as usize]
                };
                if self.caps && c.is_ascii_alphabetic() {
                    c ^= 0x20;
                }
                if self.ctrl && c.is_ascii_alphabetic() {
                    c = c.to_ascii_lowercase() - b'a' + 1;
                }
                if c != 0 {
                    out(c);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn keys(codes: &[u8]) -> Vec<u8> {
        let mut k = Keymap::new();
        let mut v = Vec::new();
        for &c in codes {
            k.feed(c, |b| v.push(b));
        }
        v
    }

    #[test]
    fn letters_shift_caps_and_ctrl() {
        // h, i, release i, Enter
        assert_eq!(keys(&[0x23, 0x17, 0x97, 0x1C]), b"hi\r");
        // Shift down, a, shift up, a
        assert_eq!(keys(&[0x2A, 0x1E, 0xAA, 0x1E]), b"Aa");
        // Caps lock, a, 1 (digits unaffected)
        assert_eq!(keys(&[0x3A, 0xBA, 0x1E, 0x02]), b"A1");
        // Ctrl-U
        assert_eq!(keys(&[0x1D, 0x16, 0x9D]), [0x15]);
        // Backspace, space
        assert_eq!(keys(&[0x0E, 0x39]), b"\x08 ");
    }

    #[test]
    fn extended_keys_become_escape_sequences() {
        assert_eq!(keys(&[0xE0, 0x48, 0xE0, 0xC8]), b"\x1b[A");
        assert_eq!(keys(&[0xE0, 0x4B, 0xE0, 0x53]), b"\x1b[D\x1b[3~");
        // Right Ctrl is extended too.
        assert_eq!(keys(&[0xE0, 0x1D, 0x26, 0xE0, 0x9D]), [0x0C]);
    }

    #[test]
    fn any_byte_is_harmless() {
        let all: Vec<u8> = (0..=255u8).collect();
        let _ = keys(&all);
    }
}
