//! GUIDs as ACPI and UEFI store them: the first three fields little endian,
//! the last eight bytes as they are ("mixed endian").

use core::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Builds a GUID from its textual fields, e.g.
    /// `Guid::new(0xE8F56FFE, 0x919C, 0x4CC5, [0xBA, 0x88, 0x65, 0xAB, 0xE1, 0x49, 0x13, 0xBB])`
    /// for E8F56FFE-919C-4CC5-BA88-65ABE14913BB.
    pub const fn new(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// The GUID stored in `bytes` (16 bytes, mixed endian).
    pub const fn from_bytes(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn mixed_endian_layout_and_text() {
        let g = Guid::new(
            0xE8F56FFE,
            0x919C,
            0x4CC5,
            [0xBA, 0x88, 0x65, 0xAB, 0xE1, 0x49, 0x13, 0xBB],
        );
        assert_eq!(&g.0[..4], &[0xFE, 0x6F, 0xF5, 0xE8]);
        assert_eq!(format!("{g}"), "E8F56FFE-919C-4CC5-BA88-65ABE14913BB");
    }
}
