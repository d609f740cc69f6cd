//! UEFI Common Platform Error Record (UEFI spec appendix N) and the ACPI
//! Generic Error Status Block / Generic Error Data Entry (ACPI spec 18.3.2.7.1)
//! that carry CPER sections for BERT and GHES.
//!
//! Records come from firmware, from ERST (possibly written by another OS or
//! kernel) or from a previous boot: every length, offset and count is checked
//! before use, and nothing here panics on any input.
//!
//! The machine-check record is byte-compatible with the one Linux writes to
//! ERST (`apei_write_mce`): a 128-byte header, one 72-byte section descriptor
//! and a 128-byte `struct mce` at offset 200, so records cross between the two
//! kernels in both directions.

use alloc::vec::Vec;
use core::fmt;

use super::guid::Guid;
use super::table::{ParseError, Reader};
use crate::mca::record::{CpuVendor, MceRecord, Severity, Source};

/// "CPER", the first four bytes of every record.
pub const SIGNATURE: [u8; 4] = *b"CPER";
/// Fixed value of the header's Signature End field.
pub const SIGNATURE_END: u32 = 0xFFFF_FFFF;
/// Header revision we write (UEFI 2.1 layout, what Linux writes).
pub const RECORD_REVISION: u16 = 0x0100;
/// Section descriptor revision we write.
pub const SECTION_REVISION: u16 = 0x0100;

/// Known GUIDs: notification types, section types and creators.
pub mod guids {
    use super::Guid;

    /// Notification type: Corrected Machine Check.
    pub const NOTIFY_CMC: Guid = Guid::new(
        0x2DCE8BB1,
        0xBDD7,
        0x450E,
        [0xB9, 0xAD, 0x9C, 0xF4, 0xEB, 0xD4, 0xF8, 0x90],
    );
    /// Notification type: Corrected Platform Error.
    pub const NOTIFY_CPE: Guid = Guid::new(
        0x4E292F96,
        0xD843,
        0x4A55,
        [0xA8, 0xC2, 0xD4, 0x81, 0xF2, 0x7E, 0xBE, 0xEE],
    );
    /// Notification type: Machine Check Exception.
    pub const NOTIFY_MCE: Guid = Guid::new(
        0xE8F56FFE,
        0x919C,
        0x4CC5,
        [0xBA, 0x88, 0x65, 0xAB, 0xE1, 0x49, 0x13, 0xBB],
    );
    /// Notification type: PCI Express error.
    pub const NOTIFY_PCIE: Guid = Guid::new(
        0xCF93C01F,
        0x1A16,
        0x4DFC,
        [0xB8, 0xBC, 0x9C, 0x4D, 0xAF, 0x67, 0xC1, 0x04],
    );
    /// Notification type: INIT record.
    pub const NOTIFY_INIT: Guid = Guid::new(
        0xCC5263E8,
        0x9308,
        0x454A,
        [0x89, 0xD0, 0x34, 0x0B, 0xD3, 0x9B, 0xC9, 0x8E],
    );
    /// Notification type: Non-Maskable Interrupt.
    pub const NOTIFY_NMI: Guid = Guid::new(
        0x5BAD89FF,
        0xB7E6,
        0x42C9,
        [0x81, 0x4A, 0xCF, 0x24, 0x85, 0xD6, 0xE9, 0x8A],
    );
    /// Notification type: Boot error record.
    pub const NOTIFY_BOOT: Guid = Guid::new(
        0x3D61A466,
        0xAB40,
        0x409A,
        [0xA6, 0x98, 0xF3, 0x62, 0xD4, 0x64, 0xB3, 0x8F],
    );
    /// Notification type: DMA remapping error.
    pub const NOTIFY_DMAR: Guid = Guid::new(
        0x667DD791,
        0xC6B3,
        0x4C27,
        [0x8A, 0x6B, 0x0F, 0x8E, 0x72, 0x2D, 0xEB, 0x41],
    );

    /// Section type: Processor Generic error (UEFI N.2.4.1).
    pub const SEC_PROC_GENERIC: Guid = Guid::new(
        0x9876CCAD,
        0x47B4,
        0x4BDB,
        [0xB6, 0x5E, 0x16, 0xF1, 0x93, 0xC4, 0xF3, 0xDB],
    );
    /// Section type: IA32/X64 processor error (UEFI N.2.4.2).
    pub const SEC_PROC_IA: Guid = Guid::new(
        0xDC3EA0B0,
        0xA144,
        0x4797,
        [0xB9, 0x5B, 0x53, 0xFA, 0x24, 0x2B, 0x6E, 0x1D],
    );
    /// Section type: Platform Memory error (UEFI N.2.5).
    pub const SEC_PLATFORM_MEM: Guid = Guid::new(
        0xA5BC1114,
        0x6F64,
        0x4EDE,
        [0xB8, 0x63, 0x3E, 0x83, 0xED, 0x7C, 0x83, 0xB1],
    );
    /// Section type: PCI Express error (UEFI N.2.7).
    pub const SEC_PCIE: Guid = Guid::new(
        0xD995E954,
        0xBBC1,
        0x430F,
        [0xAD, 0x91, 0xB4, 0x4D, 0xCB, 0x3C, 0x6F, 0x35],
    );
    /// Section type: Firmware Error Record Reference (UEFI N.2.10).
    pub const SEC_FW_ERR_REC_REF: Guid = Guid::new(
        0x81212A96,
        0x09ED,
        0x4996,
        [0x94, 0x71, 0x8D, 0x72, 0x9C, 0x8E, 0x69, 0xED],
    );
    /// Section type: PCI/PCI-X bus error.
    pub const SEC_PCI_X_BUS: Guid = Guid::new(
        0xC5753963,
        0x3B84,
        0x4095,
        [0xBF, 0x78, 0xED, 0xDA, 0xD3, 0xF9, 0xC9, 0xDD],
    );
    /// Section type: PCI component/device error.
    pub const SEC_PCI_DEV: Guid = Guid::new(
        0xEB5E4685,
        0xCA66,
        0x4769,
        [0xB6, 0xA2, 0x26, 0x06, 0x8B, 0x00, 0x13, 0x26],
    );
    /// Section type: DMAr generic error.
    pub const SEC_DMAR_GENERIC: Guid = Guid::new(
        0x5B51FEF7,
        0xC79D,
        0x4434,
        [0x8F, 0x1B, 0xAA, 0x62, 0xDE, 0x3E, 0x2C, 0x64],
    );

    /// Linux: a raw `struct mce` (arch/x86/kernel/cpu/mce/apei.c).
    pub const SEC_LINUX_MCE: Guid = Guid::new(
        0xFE08FFBE,
        0x95E4,
        0x4BE7,
        [0xBC, 0x73, 0x40, 0x96, 0x04, 0x4A, 0x38, 0xFC],
    );
    /// Linux pstore: kernel log text.
    pub const SEC_LINUX_DMESG: Guid = Guid::new(
        0xC197E04E,
        0xD545,
        0x4A70,
        [0x9C, 0x17, 0xA5, 0x54, 0x94, 0x19, 0xEB, 0x12],
    );
    /// Linux pstore: compressed kernel log.
    pub const SEC_LINUX_DMESG_Z: Guid = Guid::new(
        0x4F118707,
        0x04DD,
        0x4055,
        [0xB5, 0xDD, 0x95, 0x6D, 0x34, 0xDD, 0xFA, 0xC6],
    );

    /// Creator id Linux uses for its MCE records. Linux's pstore (panic
    /// log) records use the very same creator id, so only the section type
    /// tells them apart.
    pub const CREATOR_LINUX_MCE: Guid = Guid::new(
        0x75A574E3,
        0x5052,
        0x4B29,
        [0x8A, 0x8E, 0xBE, 0x2C, 0x64, 0x90, 0xB8, 0x9D],
    );
}

/// A readable name for a notification type GUID.
pub fn notification_type_name(g: &Guid) -> Option<&'static str> {
    use guids::*;
    Some(match *g {
        NOTIFY_CMC => "corrected machine check",
        NOTIFY_CPE => "corrected platform error",
        NOTIFY_MCE => "machine check exception",
        NOTIFY_PCIE => "PCI Express error",
        NOTIFY_INIT => "INIT",
        NOTIFY_NMI => "NMI",
        NOTIFY_BOOT => "boot error",
        NOTIFY_DMAR => "DMA remapping error",
        _ => return None,
    })
}

/// A readable name for a section type GUID.
pub fn section_type_name(g: &Guid) -> Option<&'static str> {
    use guids::*;
    Some(match *g {
        SEC_PROC_GENERIC => "generic processor error",
        SEC_PROC_IA => "IA32/X64 processor error",
        SEC_PLATFORM_MEM => "memory error",
        SEC_PCIE => "PCIe error",
        SEC_FW_ERR_REC_REF => "firmware error record reference",
        SEC_PCI_X_BUS => "PCI/PCI-X bus error",
        SEC_PCI_DEV => "PCI component error",
        SEC_DMAR_GENERIC => "DMAr generic error",
        SEC_LINUX_MCE => "Linux machine check (struct mce)",
        SEC_LINUX_DMESG => "Linux kernel log (dmesg)",
        SEC_LINUX_DMESG_Z => "Linux compressed kernel log (dmesg)",
        _ => return None,
    })
}

/// A readable name for a creator id GUID.
pub fn creator_name(g: &Guid) -> Option<&'static str> {
    match *g {
        guids::CREATOR_LINUX_MCE => Some("Linux (MCE / pstore)"),
        _ => None,
    }
}

/// Prints a GUID with its name when it has one.
struct Named<'a>(&'a Guid, Option<&'static str>);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(n) => write!(f, "{} ({})", n, self.0),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

/// Header validation bits: which optional header fields hold data.
pub mod validation {
    pub const PLATFORM_ID: u32 = 1 << 0;
    pub const TIMESTAMP: u32 = 1 << 1;
    pub const PARTITION_ID: u32 = 1 << 2;
}

/// Header flags.
pub mod flags {
    /// The error has been recovered.
    pub const RECOVERED: u32 = 1 << 0;
    /// The error is from a previous boot.
    pub const PREVIOUS_ERROR: u32 = 1 << 1;
    /// The error was injected for testing.
    pub const SIMULATED: u32 = 1 << 2;
}

/// Section descriptor flags.
pub mod section_flags {
    pub const PRIMARY: u32 = 1 << 0;
    pub const CONTAINMENT_WARNING: u32 = 1 << 1;
    pub const RESET: u32 = 1 << 2;
    pub const ERROR_THRESHOLD_EXCEEDED: u32 = 1 << 3;
    pub const RESOURCE_NOT_ACCESSIBLE: u32 = 1 << 4;
    pub const LATENT_ERROR: u32 = 1 << 5;
}

/// Error severity of a record, section, status block or data entry.
/// Unknown values are kept, not rejected: they come from firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CperSeverity {
    Recoverable,
    Fatal,
    Corrected,
    /// "Informational" in CPER; "none" in a Generic Error Status Block.
    Informational,
    Unknown(u32),
}

impl CperSeverity {
    pub const fn from_u32(v: u32) -> Self {
        match v {
            0 => CperSeverity::Recoverable,
            1 => CperSeverity::Fatal,
            2 => CperSeverity::Corrected,
            3 => CperSeverity::Informational,
            v => CperSeverity::Unknown(v),
        }
    }
    pub const fn as_u32(self) -> u32 {
        match self {
            CperSeverity::Recoverable => 0,
            CperSeverity::Fatal => 1,
            CperSeverity::Corrected => 2,
            CperSeverity::Informational => 3,
            CperSeverity::Unknown(v) => v,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            CperSeverity::Recoverable => "recoverable",
            CperSeverity::Fatal => "fatal",
            CperSeverity::Corrected => "corrected",
            CperSeverity::Informational => "informational",
            CperSeverity::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for CperSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CperSeverity::Unknown(v) => write!(f, "unknown ({v})"),
            s => f.write_str(s.name()),
        }
    }
}

/// Why a CPER record or status block was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CperError {
    /// A read ran past the end of the input.
    Parse(ParseError),
    BadSignature([u8; 4]),
    BadSignatureEnd(u32),
    /// Only major revision 1 is defined.
    BadRevision(u16),
    /// Record length shorter than its header and descriptors, or longer
    /// than the bytes we have.
    BadRecordLength {
        record_length: u32,
        minimum: u64,
        available: usize,
    },
    /// A section's offset/length leaves the record (or overlaps its header).
    SectionOutOfBounds {
        index: usize,
        offset: u32,
        length: u32,
        record_length: u32,
    },
    /// A valid record, but no section of Linux's MCE type.
    NotMce {
        section_types: Vec<Guid>,
    },
    /// A section or payload too short for the structure it should hold.
    SectionTooShort {
        what: &'static str,
        length: usize,
        needed: usize,
    },
    /// A Generic Error Status Block field that cannot be right.
    BadStatusBlock {
        field: &'static str,
        value: u64,
    },
    /// A Generic Error Data Entry's payload leaves the block's data area.
    EntryOutOfBounds {
        index: usize,
        offset: usize,
        length: u32,
        end: usize,
    },
}

impl From<ParseError> for CperError {
    fn from(e: ParseError) -> Self {
        CperError::Parse(e)
    }
}

impl fmt::Display for CperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CperError::Parse(e) => write!(f, "{e}"),
            CperError::BadSignature(s) => {
                write!(f, "bad signature {:?} (expected \"CPER\")", super::table::Sig(*s))
            }
            CperError::BadSignatureEnd(v) => write!(f, "bad signature end {v:#x}"),
            CperError::BadRevision(r) => write!(f, "unsupported revision {r:#06x}"),
            CperError::BadRecordLength {
                record_length,
                minimum,
                available,
            } => write!(
                f,
                "bad record length {record_length} (minimum {minimum}, {available} byte(s) available)"
            ),
            CperError::SectionOutOfBounds {
                index,
                offset,
                length,
                record_length,
            } => write!(
                f,
                "section {index} (offset {offset}, length {length}) is outside the record (length {record_length})"
            ),
            CperError::NotMce { section_types } => {
                f.write_str("not an MCE record (section types:")?;
                if section_types.is_empty() {
                    f.write_str(" none")?;
                }
                for (i, g) in section_types.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{}", Named(g, section_type_name(g)))?;
                }
                f.write_str(")")
            }
            CperError::SectionTooShort {
                what,
                length,
                needed,
            } => write!(
                f,
                "{what} is {length} byte(s), at least {needed} needed"
            ),
            CperError::BadStatusBlock { field, value } => {
                write!(f, "bad status block {field} {value:#x}")
            }
            CperError::EntryOutOfBounds {
                index,
                offset,
                length,
                end,
            } => write!(
                f,
                "error data entry {index} at offset {offset} (data length {length}) runs past the data area end {end}"
            ),
        }
    }
}

/// A CPER timestamp: local time as BCD bytes (UEFI N.2.1): seconds,
/// minutes, hours, flags (bit 0: precise), day, month, year, century.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CperTimestamp(pub u64);

/// A calendar date and time decoded from a [`CperTimestamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// The timestamp is the time of the error event, not of its logging.
    pub precise: bool,
}

impl DateTime {
    /// Seconds since the Unix epoch, taking the date as UTC.
    pub fn to_unix(&self) -> i64 {
        days_from_civil(self.year as i64, self.month as i64, self.day as i64) * 86400
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second as i64
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

const fn bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

const fn from_bcd(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0xf);
    if hi > 9 || lo > 9 {
        None
    } else {
        Some(hi * 10 + lo)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl CperTimestamp {
    /// Encodes Unix seconds (taken as UTC) with the precise flag set;
    /// `None` past year 9999, which the format cannot hold.
    pub fn from_unix(secs: u64) -> Option<Self> {
        let days = (secs / 86400) as i64;
        let rem = secs % 86400;
        let (y, m, d) = civil_from_days(days);
        if y > 9999 {
            return None;
        }
        let b = [
            bcd((rem % 60) as u8),
            bcd((rem / 60 % 60) as u8),
            bcd((rem / 3600) as u8),
            1,
            bcd(d),
            bcd(m),
            bcd((y % 100) as u8),
            bcd((y / 100) as u8),
        ];
        Some(CperTimestamp(u64::from_le_bytes(b)))
    }

    /// The date and time, or `None` when the field is 0 (not set) or does
    /// not hold a valid BCD date (Linux's pstore writes Unix seconds here).
    pub fn to_datetime(self) -> Option<DateTime> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.to_le_bytes();
        let dt = DateTime {
            second: from_bcd(b[0])?,
            minute: from_bcd(b[1])?,
            hour: from_bcd(b[2])?,
            precise: b[3] & 1 != 0,
            day: from_bcd(b[4])?,
            month: from_bcd(b[5])?,
            year: from_bcd(b[7])? as u16 * 100 + from_bcd(b[6])? as u16,
        };
        let ok = dt.second < 60
            && dt.minute < 60
            && dt.hour < 24
            && (1..=31).contains(&dt.day)
            && (1..=12).contains(&dt.month);
        ok.then_some(dt)
    }
}

impl fmt::Display for CperTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(dt) if dt.precise => write!(f, "{dt} (precise)"),
            Some(dt) => write!(f, "{dt}"),
            None if self.0 == 0 => f.write_str("not set"),
            None => write!(f, "{:#018x} (not a BCD date)", self.0),
        }
    }
}

/// The 128-byte record header (UEFI N.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CperHeader {
    pub revision: u16,
    pub section_count: u16,
    pub error_severity: u32,
    pub validation_bits: u32,
    pub record_length: u32,
    pub timestamp: CperTimestamp,
    pub platform_id: Guid,
    pub partition_id: Guid,
    pub creator_id: Guid,
    pub notification_type: Guid,
    pub record_id: u64,
    pub flags: u32,
    pub persistence_information: u64,
}

impl CperHeader {
    pub const LEN: usize = 128;

    pub const fn severity(&self) -> CperSeverity {
        CperSeverity::from_u32(self.error_severity)
    }

    /// The header bytes (signature, signature end and reserved filled in).
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&SIGNATURE);
        b[4..6].copy_from_slice(&self.revision.to_le_bytes());
        b[6..10].copy_from_slice(&SIGNATURE_END.to_le_bytes());
        b[10..12].copy_from_slice(&self.section_count.to_le_bytes());
        b[12..16].copy_from_slice(&self.error_severity.to_le_bytes());
        b[16..20].copy_from_slice(&self.validation_bits.to_le_bytes());
        b[20..24].copy_from_slice(&self.record_length.to_le_bytes());
        b[24..32].copy_from_slice(&self.timestamp.0.to_le_bytes());
        b[32..48].copy_from_slice(&self.platform_id.0);
        b[48..64].copy_from_slice(&self.partition_id.0);
        b[64..80].copy_from_slice(&self.creator_id.0);
        b[80..96].copy_from_slice(&self.notification_type.0);
        b[96..104].copy_from_slice(&self.record_id.to_le_bytes());
        b[104..108].copy_from_slice(&self.flags.to_le_bytes());
        b[108..116].copy_from_slice(&self.persistence_information.to_le_bytes());
        b
    }

    /// Parses and checks the header alone (signature, revision, signature
    /// end); [`parse_record`] checks lengths and sections too.
    pub fn parse(bytes: &[u8]) -> Result<Self, CperError> {
        let mut r = Reader::new(bytes);
        let sig: [u8; 4] = r.array()?;
        if sig != SIGNATURE {
            return Err(CperError::BadSignature(sig));
        }
        let revision = r.u16()?;
        if revision >> 8 != 1 {
            return Err(CperError::BadRevision(revision));
        }
        let end = r.u32()?;
        if end != SIGNATURE_END {
            return Err(CperError::BadSignatureEnd(end));
        }
        let h = CperHeader {
            revision,
            section_count: r.u16()?,
            error_severity: r.u32()?,
            validation_bits: r.u32()?,
            record_length: r.u32()?,
            timestamp: CperTimestamp(r.u64()?),
            platform_id: Guid(r.array()?),
            partition_id: Guid(r.array()?),
            creator_id: Guid(r.array()?),
            notification_type: Guid(r.array()?),
            record_id: r.u64()?,
            flags: r.u32()?,
            persistence_information: r.u64()?,
        };
        r.skip(12)?;
        Ok(h)
    }
}

/// The 72-byte section descriptor (UEFI N.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SectionDescriptor {
    pub section_offset: u32,
    pub section_length: u32,
    pub revision: u16,
    pub validation_bits: u8,
    pub flags: u32,
    pub section_type: Guid,
    pub fru_id: Guid,
    pub section_severity: u32,
    pub fru_text: [u8; 20],
}

impl SectionDescriptor {
    pub const LEN: usize = 72;

    pub const fn severity(&self) -> CperSeverity {
        CperSeverity::from_u32(self.section_severity)
    }

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&self.section_offset.to_le_bytes());
        b[4..8].copy_from_slice(&self.section_length.to_le_bytes());
        b[8..10].copy_from_slice(&self.revision.to_le_bytes());
        b[10] = self.validation_bits;
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..32].copy_from_slice(&self.section_type.0);
        b[32..48].copy_from_slice(&self.fru_id.0);
        b[48..52].copy_from_slice(&self.section_severity.to_le_bytes());
        b[52..72].copy_from_slice(&self.fru_text);
        b
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, CperError> {
        let mut r = Reader::new(bytes);
        let d = SectionDescriptor {
            section_offset: r.u32()?,
            section_length: r.u32()?,
            revision: r.u16()?,
            validation_bits: r.u8()?,
            flags: {
                r.skip(1)?;
                r.u32()?
            },
            section_type: Guid(r.array()?),
            fru_id: Guid(r.array()?),
            section_severity: r.u32()?,
            fru_text: r.array()?,
        };
        Ok(d)
    }
}

/// A validated record: every section lies inside `bytes`.
#[derive(Clone, Debug)]
pub struct CperRecord<'a> {
    pub header: CperHeader,
    pub sections: Vec<SectionDescriptor>,
    /// The record, cut to its record length.
    pub bytes: &'a [u8],
}

impl<'a> CperRecord<'a> {
    /// The body of section `i` (bounds were checked by [`parse_record`]).
    pub fn section_data(&self, i: usize) -> Option<&'a [u8]> {
        let d = self.sections.get(i)?;
        let start = d.section_offset as usize;
        self.bytes
            .get(start..start.checked_add(d.section_length as usize)?)
    }
}

/// Parses and validates a whole record at the start of `bytes` (which may
/// be longer than the record).
pub fn parse_record(bytes: &[u8]) -> Result<CperRecord<'_>, CperError> {
    let header = CperHeader::parse(bytes)?;
    let count = header.section_count as usize;
    let min = CperHeader::LEN as u64 + count as u64 * SectionDescriptor::LEN as u64;
    let len = header.record_length as usize;
    if (header.record_length as u64) < min || len > bytes.len() {
        return Err(CperError::BadRecordLength {
            record_length: header.record_length,
            minimum: min,
            available: bytes.len(),
        });
    }
    let bytes = &bytes[..len];
    let mut sections = Vec::with_capacity(count);
    for i in 0..count {
        let at = CperHeader::LEN + i * SectionDescriptor::LEN;
        let d = SectionDescriptor::parse(&bytes[at..])?;
        let end = d.section_offset as u64 + d.section_length as u64;
        if (d.section_offset as u64) < min || end > len as u64 {
            return Err(CperError::SectionOutOfBounds {
                index: i,
                offset: d.section_offset,
                length: d.section_length,
                record_length: header.record_length,
            });
        }
        sections.push(d);
    }
    Ok(CperRecord {
        header,
        sections,
        bytes,
    })
}

/// Linux's `struct mce` (uapi asm/mce.h, as of 6.1): 128 bytes,
/// little endian, at offset 200 of its ERST machine-check record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LinuxMce {
    pub status: u64,
    pub misc: u64,
    pub addr: u64,
    pub mcgstatus: u64,
    pub ip: u64,
    pub tsc: u64,
    /// Wall-clock seconds.
    pub time: u64,
    pub cpuvendor: u8,
    pub inject_flags: u8,
    /// Linux's `enum severity_level` (same numbering as our [`Severity`]).
    pub severity: u8,
    pub cpuid: u32,
    pub cs: u8,
    pub bank: u8,
    /// Obsolete 8-bit CPU number; `extcpu` is the real one.
    pub cpu: u8,
    pub finished: u8,
    pub extcpu: u32,
    pub socketid: u32,
    pub apicid: u32,
    pub mcgcap: u64,
    pub synd: u64,
    pub ipid: u64,
    pub ppin: u64,
    pub microcode: u32,
    pub kflags: u64,
}

impl LinuxMce {
    pub const LEN: usize = 128;

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        let q = |b: &mut [u8; Self::LEN], at: usize, v: u64| {
            b[at..at + 8].copy_from_slice(&v.to_le_bytes())
        };
        let d = |b: &mut [u8; Self::LEN], at: usize, v: u32| {
            b[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        q(&mut b, 0, self.status);
        q(&mut b, 8, self.misc);
        q(&mut b, 16, self.addr);
        q(&mut b, 24, self.mcgstatus);
        q(&mut b, 32, self.ip);
        q(&mut b, 40, self.tsc);
        q(&mut b, 48, self.time);
        b[56] = self.cpuvendor;
        b[57] = self.inject_flags;
        b[58] = self.severity;
        d(&mut b, 60, self.cpuid);
        b[64] = self.cs;
        b[65] = self.bank;
        b[66] = self.cpu;
        b[67] = self.finished;
        d(&mut b, 68, self.extcpu);
        d(&mut b, 72, self.socketid);
        d(&mut b, 76, self.apicid);
        q(&mut b, 80, self.mcgcap);
        q(&mut b, 88, self.synd);
        q(&mut b, 96, self.ipid);
        q(&mut b, 104, self.ppin);
        d(&mut b, 112, self.microcode);
        q(&mut b, 120, self.kflags);
        b
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, CperError> {
        if bytes.len() < Self::LEN {
            return Err(CperError::SectionTooShort {
                what: "struct mce section",
                length: bytes.len(),
                needed: Self::LEN,
            });
        }
        let mut r = Reader::new(bytes);
        Ok(LinuxMce {
            status: r.u64()?,
            misc: r.u64()?,
            addr: r.u64()?,
            mcgstatus: r.u64()?,
            ip: r.u64()?,
            tsc: r.u64()?,
            time: r.u64()?,
            cpuvendor: r.u8()?,
            inject_flags: r.u8()?,
            severity: r.u8()?,
            cpuid: {
                r.skip(1)?;
                r.u32()?
            },
            cs: r.u8()?,
            bank: r.u8()?,
            cpu: r.u8()?,
            finished: r.u8()?,
            extcpu: r.u32()?,
            socketid: r.u32()?,
            apicid: r.u32()?,
            mcgcap: r.u64()?,
            synd: r.u64()?,
            ipid: r.u64()?,
            ppin: r.u64()?,
            microcode: r.u32()?,
            kflags: {
                r.skip(4)?;
                r.u64()?
            },
        })
    }

    /// Fills the fields we know; the rest stay 0 as Linux leaves them
    /// when unknown. `cs` and `cpu` are 8-bit in Linux's layout.
    pub fn from_record(rec: &MceRecord) -> Self {
        LinuxMce {
            status: rec.status,
            misc: rec.misc,
            addr: rec.addr,
            mcgstatus: rec.mcgstatus,
            ip: rec.ip,
            tsc: rec.tsc,
            time: rec.walltime,
            cpuvendor: rec.cpuvendor.linux_id(),
            severity: rec.severity as u8,
            cpuid: rec.cpuid,
            cs: rec.cs as u8,
            bank: rec.bank,
            cpu: rec.cpu as u8,
            extcpu: rec.cpu,
            socketid: rec.socketid,
            apicid: rec.apicid,
            mcgcap: rec.mcgcap,
            synd: rec.synd,
            ipid: rec.ipid,
            ..Default::default()
        }
    }

    /// The record as read back from persistent storage. An unknown
    /// severity byte becomes `Panic`: Linux writes these records only on
    /// its way to a machine-check panic.
    pub fn to_record(&self) -> MceRecord {
        MceRecord {
            status: self.status,
            misc: self.misc,
            addr: self.addr,
            mcgstatus: self.mcgstatus,
            mcgcap: self.mcgcap,
            ip: self.ip,
            cs: self.cs as u16,
            tsc: self.tsc,
            time_us: 0,
            walltime: self.time,
            bank: self.bank,
            cpu: if self.extcpu == 0 {
                self.cpu as u32
            } else {
                self.extcpu
            },
            apicid: self.apicid,
            socketid: self.socketid,
            cpuvendor: CpuVendor::from_linux_id(self.cpuvendor),
            cpuid: self.cpuid,
            synd: self.synd,
            ipid: self.ipid,
            source: Source::Persistent,
            severity: Severity::from_u8(self.severity).unwrap_or(Severity::Panic),
        }
    }
}

/// Offset of the `struct mce` in Linux's machine-check record.
pub const MCE_SECTION_OFFSET: usize = CperHeader::LEN + SectionDescriptor::LEN;
/// Total length of Linux's machine-check record.
pub const MCE_RECORD_LEN: usize = MCE_SECTION_OFFSET + LinuxMce::LEN;

/// Linux's ERST record id scheme: wall-clock seconds in the upper 32 bits,
/// a counter below (`seq` should start at 1 and grow per record).
pub const fn linux_record_id(unix_secs: u64, seq: u32) -> u64 {
    (unix_secs << 32).wrapping_add(seq as u64)
}

/// Encodes `rec` as the 328-byte record Linux's `apei_write_mce` writes:
/// fatal, "previous error" (it is read back after the reboot), creator
/// Linux MCE, notification MCE, one primary section of Linux's MCE type.
/// Linux sets no validation bits and no timestamp; pass `timestamp`
/// (Unix seconds) to add one, with its validation bit.
pub fn encode_mce(rec: &MceRecord, record_id: u64, timestamp: Option<u64>) -> Vec<u8> {
    encode_mce_array(rec, record_id, timestamp).to_vec()
}

/// [`encode_mce`] without allocating, for the machine-check panic path
/// (which must not touch the heap).
pub fn encode_mce_array(
    rec: &MceRecord,
    record_id: u64,
    timestamp: Option<u64>,
) -> [u8; MCE_RECORD_LEN] {
    let ts = timestamp.and_then(CperTimestamp::from_unix);
    let header = CperHeader {
        revision: RECORD_REVISION,
        section_count: 1,
        error_severity: CperSeverity::Fatal.as_u32(),
        validation_bits: if ts.is_some() {
            validation::TIMESTAMP
        } else {
            0
        },
        record_length: MCE_RECORD_LEN as u32,
        timestamp: ts.unwrap_or_default(),
        creator_id: guids::CREATOR_LINUX_MCE,
        notification_type: guids::NOTIFY_MCE,
        record_id,
        flags: flags::PREVIOUS_ERROR,
        ..Default::default()
    };
    let desc = SectionDescriptor {
        section_offset: MCE_SECTION_OFFSET as u32,
        section_length: LinuxMce::LEN as u32,
        revision: SECTION_REVISION,
        flags: section_flags::PRIMARY,
        section_type: guids::SEC_LINUX_MCE,
        section_severity: CperSeverity::Fatal.as_u32(),
        ..Default::default()
    };
    let mut out = [0u8; MCE_RECORD_LEN];
    out[..CperHeader::LEN].copy_from_slice(&header.encode());
    out[CperHeader::LEN..CperHeader::LEN + SectionDescriptor::LEN].copy_from_slice(&desc.encode());
    out[MCE_SECTION_OFFSET..].copy_from_slice(&LinuxMce::from_record(rec).encode());
    out
}

/// Decodes any valid CPER record holding a section of Linux's MCE type
/// (ours or Linux's). Other records, e.g. Linux's panic-log records that
/// share the MCE creator id, give [`CperError::NotMce`].
pub fn decode_mce(bytes: &[u8]) -> Result<(CperHeader, MceRecord), CperError> {
    let rec = parse_record(bytes)?;
    let Some(i) = rec
        .sections
        .iter()
        .position(|d| d.section_type == guids::SEC_LINUX_MCE)
    else {
        return Err(CperError::NotMce {
            section_types: rec.sections.iter().map(|d| d.section_type).collect(),
        });
    };
    let data = rec.section_data(i).unwrap_or(&[]);
    let mce = LinuxMce::parse(data)?;
    Ok((rec.header, mce.to_record()))
}

fn write_mce(out: &mut dyn fmt::Write, pfx: &str, m: &LinuxMce) -> fmt::Result {
    writeln!(
        out,
        "{pfx}CPU {} BANK {} STATUS {:#018x} MCGSTATUS {:#x}",
        m.extcpu, m.bank, m.status, m.mcgstatus
    )?;
    writeln!(
        out,
        "{pfx}ADDR {:#x} MISC {:#x} RIP {:02x}:{:#x} TSC {:#x}",
        m.addr, m.misc, m.cs, m.ip, m.tsc
    )?;
    writeln!(
        out,
        "{pfx}PROCESSOR {}:{:#x} TIME {} SOCKET {} APIC {:#x} MCGCAP {:#x}",
        CpuVendor::from_linux_id(m.cpuvendor).mcelog_name(),
        m.cpuid,
        m.time,
        m.socketid,
        m.apicid,
        m.mcgcap
    )
}

/// Writes a section body readably when its type is one we decode.
fn write_section_body(out: &mut dyn fmt::Write, pfx: &str, ty: &Guid, data: &[u8]) -> fmt::Result {
    let res = match *ty {
        guids::SEC_LINUX_MCE => LinuxMce::parse(data).map(|m| write_mce(out, pfx, &m)),
        guids::SEC_PLATFORM_MEM => MemoryError::parse(data).map(|m| writeln!(out, "{pfx}{m}")),
        guids::SEC_PROC_GENERIC => {
            ProcessorGenericError::parse(data).map(|p| writeln!(out, "{pfx}{p}"))
        }
        _ => return Ok(()),
    };
    match res {
        Ok(r) => r,
        Err(e) => writeln!(out, "{pfx}(cannot decode: {e})"),
    }
}

/// Prints a CPER record's header and sections, whatever its kind. Invalid
/// records are reported as such.
pub fn describe(bytes: &[u8], out: &mut dyn fmt::Write) -> fmt::Result {
    let rec = match parse_record(bytes) {
        Ok(r) => r,
        Err(e) => return writeln!(out, "invalid CPER record: {e}"),
    };
    let h = &rec.header;
    writeln!(
        out,
        "CPER record {:#018x}: {} byte(s), revision {:#06x}, severity {}",
        h.record_id,
        h.record_length,
        h.revision,
        h.severity()
    )?;
    if h.validation_bits & validation::TIMESTAMP != 0 {
        writeln!(out, "  time: {}", h.timestamp)?;
    }
    writeln!(
        out,
        "  creator: {}",
        Named(&h.creator_id, creator_name(&h.creator_id))
    )?;
    writeln!(
        out,
        "  notification: {}",
        Named(
            &h.notification_type,
            notification_type_name(&h.notification_type)
        )
    )?;
    if h.validation_bits & validation::PLATFORM_ID != 0 {
        writeln!(out, "  platform: {}", h.platform_id)?;
    }
    if h.validation_bits & validation::PARTITION_ID != 0 {
        writeln!(out, "  partition: {}", h.partition_id)?;
    }
    if h.flags != 0 {
        write!(out, "  flags: {:#x}", h.flags)?;
        for (bit, name) in [
            (flags::RECOVERED, " recovered"),
            (flags::PREVIOUS_ERROR, " previous-error"),
            (flags::SIMULATED, " simulated"),
        ] {
            if h.flags & bit != 0 {
                out.write_str(name)?;
            }
        }
        writeln!(out)?;
    }
    for (i, d) in rec.sections.iter().enumerate() {
        writeln!(
            out,
            "  section {i}: {}, {} byte(s) at {}, severity {}{}",
            Named(&d.section_type, section_type_name(&d.section_type)),
            d.section_length,
            d.section_offset,
            d.severity(),
            if d.flags & section_flags::PRIMARY != 0 {
                ", primary"
            } else {
                ""
            }
        )?;
        if let Some(data) = rec.section_data(i) {
            write_section_body(out, "    ", &d.section_type, data)?;
        }
    }
    Ok(())
}

/// Platform memory error section (UEFI N.2.5), the fields useful in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MemoryError {
    pub validation_bits: u64,
    pub error_status: u64,
    pub physical_address: u64,
    pub physical_address_mask: u64,
    pub node: u16,
    pub card: u16,
    pub module: u16,
    pub bank: u16,
    pub device: u16,
    /// Row, with the two extension bits (18:16) when they are valid.
    pub row: u32,
    pub column: u16,
    pub bit_position: u16,
    pub requestor_id: u64,
    pub responder_id: u64,
    pub target_id: u64,
    pub error_type: u8,
    pub rank: u16,
}

/// Validation bits of the memory error section.
pub mod mem_valid {
    pub const ERROR_STATUS: u64 = 1 << 0;
    pub const PA: u64 = 1 << 1;
    pub const PA_MASK: u64 = 1 << 2;
    pub const NODE: u64 = 1 << 3;
    pub const CARD: u64 = 1 << 4;
    pub const MODULE: u64 = 1 << 5;
    pub const BANK: u64 = 1 << 6;
    pub const DEVICE: u64 = 1 << 7;
    pub const ROW: u64 = 1 << 8;
    pub const COLUMN: u64 = 1 << 9;
    pub const BIT_POSITION: u64 = 1 << 10;
    pub const REQUESTOR_ID: u64 = 1 << 11;
    pub const RESPONDER_ID: u64 = 1 << 12;
    pub const TARGET_ID: u64 = 1 << 13;
    pub const ERROR_TYPE: u64 = 1 << 14;
    pub const RANK: u64 = 1 << 15;
    pub const ROW_EXT: u64 = 1 << 18;
}

impl MemoryError {
    /// UEFI 2.1/2.2 layout; fields from `rank` on came with UEFI 2.3.
    pub const OLD_LEN: usize = 73;
    pub const LEN: usize = 80;

    pub fn parse(b: &[u8]) -> Result<Self, CperError> {
        if b.len() < Self::OLD_LEN {
            return Err(CperError::SectionTooShort {
                what: "memory error section",
                length: b.len(),
                needed: Self::OLD_LEN,
            });
        }
        let mut r = Reader::new(b);
        let mut m = MemoryError {
            validation_bits: r.u64()?,
            error_status: r.u64()?,
            physical_address: r.u64()?,
            physical_address_mask: r.u64()?,
            node: r.u16()?,
            card: r.u16()?,
            module: r.u16()?,
            bank: r.u16()?,
            device: r.u16()?,
            row: r.u16()? as u32,
            column: r.u16()?,
            bit_position: r.u16()?,
            requestor_id: r.u64()?,
            responder_id: r.u64()?,
            target_id: r.u64()?,
            error_type: r.u8()?,
            rank: 0,
        };
        if b.len() < Self::LEN {
            // Bits for fields the old layout does not have mean nothing.
            m.validation_bits &= mem_valid::RANK - 1;
        } else {
            let extended = r.u8()?;
            m.rank = r.u16()?;
            if m.validation_bits & mem_valid::ROW_EXT != 0 {
                m.row |= ((extended & 3) as u32) << 16;
            }
        }
        Ok(m)
    }

    fn has(&self, bit: u64) -> bool {
        self.validation_bits & bit != 0
    }

    /// The physical address, when valid.
    pub fn address(&self) -> Option<u64> {
        self.has(mem_valid::PA).then_some(self.physical_address)
    }

    pub const fn error_type_name(t: u8) -> &'static str {
        match t {
            0 => "unknown",
            1 => "no error",
            2 => "single-bit ECC",
            3 => "multi-bit ECC",
            4 => "single-symbol chipkill ECC",
            5 => "multi-symbol chipkill ECC",
            6 => "master abort",
            7 => "target abort",
            8 => "parity error",
            9 => "watchdog timeout",
            10 => "invalid address",
            11 => "mirror broken",
            12 => "memory sparing",
            13 => "scrub corrected error",
            14 => "scrub uncorrected error",
            15 => "physical memory map-out event",
            _ => "reserved",
        }
    }
}

impl fmt::Display for MemoryError {
    /// Only the fields whose validation bit is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory error:")?;
        if self.has(mem_valid::ERROR_TYPE) {
            write!(f, " {}", Self::error_type_name(self.error_type))?;
        }
        if let Some(a) = self.address() {
            write!(f, " physical address {a:#x}")?;
        }
        if self.has(mem_valid::PA_MASK) {
            write!(f, " mask {:#x}", self.physical_address_mask)?;
        }
        let fields: [(u64, &str, u32); 9] = [
            (mem_valid::NODE, "node", self.node as u32),
            (mem_valid::CARD, "card", self.card as u32),
            (mem_valid::MODULE, "module", self.module as u32),
            (mem_valid::RANK, "rank", self.rank as u32),
            (mem_valid::BANK, "bank", self.bank as u32),
            (mem_valid::DEVICE, "device", self.device as u32),
            (mem_valid::ROW | mem_valid::ROW_EXT, "row", self.row),
            (mem_valid::COLUMN, "column", self.column as u32),
            (mem_valid::BIT_POSITION, "bit", self.bit_position as u32),
        ];
        for (bit, name, v) in fields {
            if self.has(bit) {
                write!(f, " {name} {v}")?;
            }
        }
        if self.has(mem_valid::ERROR_STATUS) {
            write!(f, " status {:#x}", self.error_status)?;
        }
        Ok(())
    }
}

/// Processor generic error section (UEFI N.2.4.1), without the brand string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ProcessorGenericError {
    pub validation_bits: u64,
    pub processor_type: u8,
    pub isa: u8,
    pub error_type: u8,
    pub operation: u8,
    pub flags: u8,
    pub level: u8,
    pub cpu_version: u64,
    pub processor_id: u64,
    pub target_address: u64,
    pub requestor_id: u64,
    pub responder_id: u64,
    pub ip: u64,
}

impl ProcessorGenericError {
    pub const LEN: usize = 192;

    pub fn parse(b: &[u8]) -> Result<Self, CperError> {
        if b.len() < Self::LEN {
            return Err(CperError::SectionTooShort {
                what: "processor generic section",
                length: b.len(),
                needed: Self::LEN,
            });
        }
        let mut r = Reader::new(b);
        Ok(ProcessorGenericError {
            validation_bits: r.u64()?,
            processor_type: r.u8()?,
            isa: r.u8()?,
            error_type: r.u8()?,
            operation: r.u8()?,
            flags: r.u8()?,
            level: r.u8()?,
            cpu_version: {
                r.skip(2)?;
                r.u64()?
            },
            processor_id: {
                r.skip(128)?;
                r.u64()?
            },
            target_address: r.u64()?,
            requestor_id: r.u64()?,
            responder_id: r.u64()?,
            ip: r.u64()?,
        })
    }
}

impl fmt::Display for ProcessorGenericError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |bit: u32| self.validation_bits & (1 << bit) != 0;
        f.write_str("processor error:")?;
        if v(2) {
            for (bit, name) in [
                (0, " cache"),
                (1, " TLB"),
                (2, " bus"),
                (3, " micro-architectural"),
            ] {
                if self.error_type & (1 << bit) != 0 {
                    f.write_str(name)?;
                }
            }
        }
        if v(3) {
            let op = match self.operation {
                0 => "generic",
                1 => "data read",
                2 => "data write",
                3 => "instruction execution",
                _ => "unknown",
            };
            write!(f, " operation {op}")?;
        }
        if v(5) {
            write!(f, " level {}", self.level)?;
        }
        if v(4) {
            for (bit, name) in [
                (0, " restartable"),
                (1, " precise-IP"),
                (2, " overflow"),
                (3, " corrected"),
            ] {
                if self.flags & (1 << bit) != 0 {
                    f.write_str(name)?;
                }
            }
        }
        if v(8) {
            write!(f, " cpu {:#x}", self.processor_id)?;
        }
        if v(9) {
            write!(f, " target {:#x}", self.target_address)?;
        }
        if v(12) {
            write!(f, " ip {:#x}", self.ip)?;
        }
        Ok(())
    }
}

/// Block status bits of a Generic Error Status Block.
pub mod block_status {
    pub const UNCORRECTABLE_VALID: u32 = 1 << 0;
    pub const CORRECTABLE_VALID: u32 = 1 << 1;
    pub const MULTIPLE_UNCORRECTABLE: u32 = 1 << 2;
    pub const MULTIPLE_CORRECTABLE: u32 = 1 << 3;
    pub const ENTRY_COUNT_SHIFT: u32 = 4;
    /// Bits 13:4.
    pub const ENTRY_COUNT_MASK: u32 = 0x3ff << ENTRY_COUNT_SHIFT;
}

/// Validation bits of a Generic Error Data Entry.
pub mod entry_valid {
    pub const FRU_ID: u8 = 1 << 0;
    pub const FRU_TEXT: u8 = 1 << 1;
    pub const TIMESTAMP: u8 = 1 << 2;
}

/// One Generic Error Data Entry with its payload (a CPER section body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDataEntry<'a> {
    pub section_type: Guid,
    pub error_severity: CperSeverity,
    pub revision: u16,
    pub validation_bits: u8,
    pub flags: u8,
    pub fru_id: Guid,
    pub fru_text: [u8; 20],
    /// Present from revision 0x300 on.
    pub timestamp: Option<CperTimestamp>,
    pub payload: &'a [u8],
}

impl ErrorDataEntry<'_> {
    pub const LEN: usize = 64;
    pub const LEN_V300: usize = 72;

    /// The FRU text up to its first NUL, when valid and printable.
    pub fn fru_text(&self) -> Option<&str> {
        if self.validation_bits & entry_valid::FRU_TEXT == 0 {
            return None;
        }
        let end = self.fru_text.iter().position(|&b| b == 0).unwrap_or(20);
        core::str::from_utf8(&self.fru_text[..end]).ok()
    }
}

/// A Generic Error Status Block (ACPI 18.3.2.7.1) and its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorStatusBlock<'a> {
    pub block_status: u32,
    pub raw_data_offset: u32,
    pub raw_data_length: u32,
    pub data_length: u32,
    pub error_severity: CperSeverity,
    pub entries: Vec<ErrorDataEntry<'a>>,
    pub raw_data: &'a [u8],
}

impl ErrorStatusBlock<'_> {
    pub const HEADER_LEN: usize = 20;

    /// The entry count firmware claims in the block status (bits 13:4).
    pub const fn claimed_entry_count(&self) -> u32 {
        (self.block_status & block_status::ENTRY_COUNT_MASK) >> block_status::ENTRY_COUNT_SHIFT
    }

    /// Bytes this block occupies, to find the next block in a region: as
    /// Linux counts them (up to the end of the raw data when there is a raw
    /// data offset), but never less than the header and entries.
    pub fn total_len(&self) -> usize {
        let data_end = Self::HEADER_LEN + self.data_length as usize;
        if self.raw_data_offset != 0 {
            data_end.max(self.raw_data_offset as usize + self.raw_data_length as usize)
        } else {
            data_end
        }
    }
}

/// Parses a Generic Error Status Block at the start of `bytes` (which may
/// be longer), checking that every entry and the raw data lie inside it.
pub fn parse_error_status_block(bytes: &[u8]) -> Result<ErrorStatusBlock<'_>, CperError> {
    let mut r = Reader::new(bytes);
    let block_status = r.u32()?;
    let raw_data_offset = r.u32()?;
    let raw_data_length = r.u32()?;
    let data_length = r.u32()?;
    let error_severity = CperSeverity::from_u32(r.u32()?);
    let hl = ErrorStatusBlock::HEADER_LEN;
    let data_end = hl as u64 + data_length as u64;
    if data_end > bytes.len() as u64 {
        return Err(CperError::BadStatusBlock {
            field: "data length",
            value: data_length as u64,
        });
    }
    let data_end = data_end as usize;
    let raw_data = if raw_data_length == 0 {
        &[][..]
    } else {
        let start = raw_data_offset as usize;
        let end = raw_data_offset as u64 + raw_data_length as u64;
        if start < data_end || end > bytes.len() as u64 {
            return Err(CperError::BadStatusBlock {
                field: "raw data offset",
                value: raw_data_offset as u64,
            });
        }
        &bytes[start..end as usize]
    };
    let mut entries = Vec::new();
    let mut pos = hl;
    while pos < data_end {
        let index = entries.len();
        let area = &bytes[..data_end];
        let mut r = Reader::at(area, pos);
        let section_type = Guid(r.array()?);
        let error_severity = CperSeverity::from_u32(r.u32()?);
        let revision = r.u16()?;
        let validation_bits = r.u8()?;
        let flags = r.u8()?;
        let length = r.u32()?;
        let fru_id = Guid(r.array()?);
        let fru_text = r.array()?;
        let timestamp = if revision >> 8 >= 3 {
            Some(CperTimestamp(r.u64()?))
        } else {
            None
        };
        let start = r.position();
        let payload = r
            .bytes(length as usize)
            .map_err(|_| CperError::EntryOutOfBounds {
                index,
                offset: pos,
                length,
                end: data_end,
            })?;
        entries.push(ErrorDataEntry {
            section_type,
            error_severity,
            revision,
            validation_bits,
            flags,
            fru_id,
            fru_text,
            timestamp,
            payload,
        });
        pos = start + length as usize;
    }
    Ok(ErrorStatusBlock {
        block_status,
        raw_data_offset,
        raw_data_length,
        data_length,
        error_severity,
        entries,
        raw_data,
    })
}

/// Prints one status block and its entries readably.
pub fn describe_status_block(b: &ErrorStatusBlock<'_>, out: &mut dyn fmt::Write) -> fmt::Result {
    write!(out, "error status block: severity {}", b.error_severity)?;
    for (bit, name) in [
        (block_status::UNCORRECTABLE_VALID, ", uncorrectable"),
        (block_status::CORRECTABLE_VALID, ", correctable"),
        (
            block_status::MULTIPLE_UNCORRECTABLE,
            ", multiple uncorrectable",
        ),
        (block_status::MULTIPLE_CORRECTABLE, ", multiple correctable"),
    ] {
        if b.block_status & bit != 0 {
            out.write_str(name)?;
        }
    }
    writeln!(out, ", {} entr(ies)", b.entries.len())?;
    for (i, e) in b.entries.iter().enumerate() {
        writeln!(
            out,
            "  entry {i}: {}, severity {}, {} byte(s)",
            Named(&e.section_type, section_type_name(&e.section_type)),
            e.error_severity,
            e.payload.len()
        )?;
        if let Some(ts) = e.timestamp {
            if e.validation_bits & entry_valid::TIMESTAMP != 0 {
                writeln!(out, "    time: {ts}")?;
            }
        }
        if e.validation_bits & entry_valid::FRU_ID != 0 {
            writeln!(out, "    FRU id: {}", e.fru_id)?;
        }
        if let Some(t) = e.fru_text() {
            writeln!(out, "    FRU: {t}")?;
        }
        write_section_body(out, "    ", &e.section_type, e.payload)?;
    }
    if !b.raw_data.is_empty() {
        writeln!(out, "  raw data: {} byte(s)", b.raw_data.len())?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mca::record::Severity;
    use alloc::string::String;
    use alloc::vec;

    fn sample() -> MceRecord {
        MceRecord {
            status: 0xbd80_0000_0010_0134,
            misc: 0x86,
            addr: 0x1234_5678,
            mcgstatus: 0x5,
            mcgcap: 0x0100_0c0a,
            ip: 0xffff_ffff_8101_e4b3,
            cs: 0x10,
            tsc: 0x1122_3344_5566,
            time_us: 0,
            walltime: 1_709_210_096,
            bank: 4,
            cpu: 300,
            apicid: 0x21,
            socketid: 1,
            cpuvendor: CpuVendor::Amd,
            cpuid: 0x000a_0f11,
            synd: 0x77,
            ipid: 0x9600_0000_0001,
            source: Source::Persistent,
            severity: Severity::ActionRequired,
        }
    }

    fn le32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }
    fn le64(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn guid_constants_have_spec_bytes() {
        assert_eq!(
            guids::SEC_LINUX_MCE.0,
            [
                0xBE, 0xFF, 0x08, 0xFE, 0xE4, 0x95, 0xE7, 0x4B, 0xBC, 0x73, 0x40, 0x96, 0x04, 0x4A,
                0x38, 0xFC
            ]
        );
        assert_eq!(
            alloc::format!("{}", guids::CREATOR_LINUX_MCE),
            "75A574E3-5052-4B29-8A8E-BE2C6490B89D"
        );
        assert_eq!(
            alloc::format!("{}", guids::SEC_PLATFORM_MEM),
            "A5BC1114-6F64-4EDE-B863-3E83ED7C83B1"
        );
        assert_eq!(
            alloc::format!("{}", guids::SEC_PROC_IA),
            "DC3EA0B0-A144-4797-B95B-53FA242B6E1D"
        );
        assert_eq!(
            alloc::format!("{}", guids::NOTIFY_CMC),
            "2DCE8BB1-BDD7-450E-B9AD-9CF4EBD4F890"
        );
    }

    #[test]
    fn encode_decode_roundtrip_is_exact() {
        let rec = sample();
        let id = linux_record_id(1_709_210_096, 1);
        let bytes = encode_mce(&rec, id, None);
        let (h, back) = decode_mce(&bytes).unwrap();
        assert_eq!(back, rec);
        assert_eq!(h.record_id, id);
        assert_eq!(h.severity(), CperSeverity::Fatal);
        assert_eq!(h.creator_id, guids::CREATOR_LINUX_MCE);
        assert_eq!(h.notification_type, guids::NOTIFY_MCE);
        assert_eq!(h.flags, flags::PREVIOUS_ERROR);
        assert_eq!(h.validation_bits, 0);
        // Re-encoding the decoded record gives the same bytes.
        assert_eq!(encode_mce(&back, id, None), bytes);
    }

    #[test]
    fn encoded_layout_matches_linux() {
        let bytes = encode_mce(&sample(), 0x65e0_7a70_0000_0001, None);
        assert_eq!(bytes.len(), 328);
        assert_eq!(&bytes[0..4], b"CPER");
        assert_eq!(&bytes[4..6], &[0x00, 0x01]);
        assert_eq!(le32(&bytes, 6), 0xffff_ffff);
        assert_eq!(&bytes[10..12], &[1, 0]);
        assert_eq!(le32(&bytes, 12), 1);
        assert_eq!(le32(&bytes, 16), 0);
        assert_eq!(le32(&bytes, 20), 328);
        assert_eq!(le64(&bytes, 24), 0);
        assert!(bytes[32..64].iter().all(|&b| b == 0));
        assert_eq!(
            &bytes[64..80],
            &[
                0xE3, 0x74, 0xA5, 0x75, 0x52, 0x50, 0x29, 0x4B, 0x8A, 0x8E, 0xBE, 0x2C, 0x64, 0x90,
                0xB8, 0x9D
            ]
        );
        assert_eq!(&bytes[80..84], &[0xFE, 0x6F, 0xF5, 0xE8]);
        assert_eq!(le64(&bytes, 96), 0x65e0_7a70_0000_0001);
        assert_eq!(le32(&bytes, 104), 2);
        assert!(bytes[108..128].iter().all(|&b| b == 0));
        // Section descriptor.
        assert_eq!(le32(&bytes, 128), 200);
        assert_eq!(le32(&bytes, 132), 128);
        assert_eq!(&bytes[136..138], &[0x00, 0x01]);
        assert_eq!(bytes[138], 0);
        assert_eq!(le32(&bytes, 140), 1);
        assert_eq!(&bytes[144..160], &guids::SEC_LINUX_MCE.0);
        assert_eq!(&bytes[144..148], &[0xBE, 0xFF, 0x08, 0xFE]);
        assert!(bytes[160..176].iter().all(|&b| b == 0));
        assert_eq!(le32(&bytes, 176), 1);
        // struct mce.
        let m = &bytes[200..];
        assert_eq!(le64(m, 0), 0xbd80_0000_0010_0134);
        assert_eq!(le64(m, 16), 0x1234_5678);
        assert_eq!(le64(m, 48), 1_709_210_096);
        assert_eq!(m[56], 2);
        assert_eq!(m[58], Severity::ActionRequired as u8);
        assert_eq!(le32(m, 60), 0x000a_0f11);
        assert_eq!((m[64], m[65], m[66]), (0x10, 4, 300u32 as u8));
        assert_eq!(le32(m, 68), 300);
        assert_eq!(le32(m, 72), 1);
        assert_eq!(le32(m, 76), 0x21);
        assert_eq!(le64(m, 80), 0x0100_0c0a);
        assert_eq!(le64(m, 88), 0x77);
        assert_eq!(le64(m, 96), 0x9600_0000_0001);
    }

    #[test]
    fn optional_timestamp_is_bcd_and_flagged() {
        let bytes = encode_mce(&sample(), 1, Some(1_709_210_096));
        assert_eq!(le32(&bytes, 16), validation::TIMESTAMP);
        assert_eq!(
            &bytes[24..32],
            &[0x56, 0x34, 0x12, 0x01, 0x29, 0x02, 0x24, 0x20]
        );
        let (h, _) = decode_mce(&bytes).unwrap();
        assert_eq!(h.timestamp.to_datetime().unwrap().to_unix(), 1_709_210_096);
    }

    /// A record laid out by hand from Linux's struct definitions, with
    /// fields we do not keep (ppin, microcode, kflags) set.
    fn linux_written() -> Vec<u8> {
        let mut b = vec![0u8; 328];
        b[0..4].copy_from_slice(b"CPER");
        b[4..6].copy_from_slice(&0x0100u16.to_le_bytes());
        b[6..10].copy_from_slice(&[0xff; 4]);
        b[10..12].copy_from_slice(&1u16.to_le_bytes());
        b[12..16].copy_from_slice(&1u32.to_le_bytes());
        b[20..24].copy_from_slice(&328u32.to_le_bytes());
        b[64..80].copy_from_slice(&[
            0xe3, 0x74, 0xa5, 0x75, 0x52, 0x50, 0x29, 0x4b, 0x8a, 0x8e, 0xbe, 0x2c, 0x64, 0x90,
            0xb8, 0x9d,
        ]);
        b[80..96].copy_from_slice(&[
            0xfe, 0x6f, 0xf5, 0xe8, 0x9c, 0x91, 0xc5, 0x4c, 0xba, 0x88, 0x65, 0xab, 0xe1, 0x49,
            0x13, 0xbb,
        ]);
        b[96..104].copy_from_slice(&0x5f00_0000_0000_0003u64.to_le_bytes());
        b[104..108].copy_from_slice(&2u32.to_le_bytes());
        b[128..132].copy_from_slice(&200u32.to_le_bytes());
        b[132..136].copy_from_slice(&128u32.to_le_bytes());
        b[136..138].copy_from_slice(&0x0100u16.to_le_bytes());
        b[140..144].copy_from_slice(&1u32.to_le_bytes());
        b[144..160].copy_from_slice(&[
            0xbe, 0xff, 0x08, 0xfe, 0xe4, 0x95, 0xe7, 0x4b, 0xbc, 0x73, 0x40, 0x96, 0x04, 0x4a,
            0x38, 0xfc,
        ]);
        b[176..180].copy_from_slice(&1u32.to_le_bytes());
        let m = 200;
        b[m..m + 8].copy_from_slice(&0xb200_0000_0000_0005u64.to_le_bytes());
        b[m + 24..m + 32].copy_from_slice(&0x4u64.to_le_bytes());
        b[m + 32..m + 40].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes());
        b[m + 48..m + 56].copy_from_slice(&1_600_000_000u64.to_le_bytes());
        b[m + 56] = 0;
        b[m + 58] = 7;
        b[m + 60..m + 64].copy_from_slice(&0x50654u32.to_le_bytes());
        b[m + 64] = 0x10;
        b[m + 65] = 3;
        b[m + 66] = 2;
        b[m + 68..m + 72].copy_from_slice(&2u32.to_le_bytes());
        b[m + 76..m + 80].copy_from_slice(&4u32.to_le_bytes());
        b[m + 80..m + 88].copy_from_slice(&0x0f00_0c14u64.to_le_bytes());
        b[m + 104..m + 112].copy_from_slice(&0xdead_beefu64.to_le_bytes());
        b[m + 112..m + 116].copy_from_slice(&0x2006e05u32.to_le_bytes());
        b[m + 120..m + 128].copy_from_slice(&1u64.to_le_bytes());
        b
    }

    #[test]
    fn record_written_by_linux_decodes() {
        let b = linux_written();
        let (h, r) = decode_mce(&b).unwrap();
        assert_eq!(h.record_id, 0x5f00_0000_0000_0003);
        assert_eq!(r.status, 0xb200_0000_0000_0005);
        assert_eq!(r.mcgstatus, 4);
        assert_eq!(r.ip, 0xffff_ffff_8100_0000);
        assert_eq!(r.walltime, 1_600_000_000);
        assert_eq!(r.cpuvendor, CpuVendor::Intel);
        assert_eq!(r.severity, Severity::Panic);
        assert_eq!(r.cpuid, 0x50654);
        assert_eq!((r.cs, r.bank, r.cpu, r.apicid), (0x10, 3, 2, 4));
        assert_eq!(r.mcgcap, 0x0f00_0c14);
        assert_eq!(r.source, Source::Persistent);
        let m = LinuxMce::parse(&b[200..]).unwrap();
        assert_eq!((m.ppin, m.microcode, m.kflags), (0xdead_beef, 0x2006e05, 1));
        assert_eq!(&m.encode()[..], &b[200..]);
        // A severity byte outside Linux's range reads as panic.
        let mut odd = b.clone();
        odd[258] = 0x42;
        assert_eq!(decode_mce(&odd).unwrap().1.severity, Severity::Panic);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let b = encode_mce(&sample(), 1, None);
        for n in 0..b.len() {
            assert!(decode_mce(&b[..n]).is_err(), "prefix {n} accepted");
            assert!(parse_record(&b[..n]).is_err());
            let mut s = String::new();
            describe(&b[..n], &mut s).unwrap();
            assert!(s.starts_with("invalid CPER record"));
        }
        // A longer buffer (e.g. an ERST read buffer) is fine.
        let mut long = b.clone();
        long.extend_from_slice(&[0xaa; 50]);
        assert_eq!(decode_mce(&long).unwrap().1, sample());
    }

    #[test]
    fn corrupt_headers_are_rejected() {
        let good = encode_mce(&sample(), 1, None);
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            decode_mce(&b).unwrap_err()
        };
        assert_eq!(with(&|b| b[0] = b'X'), CperError::BadSignature(*b"XPER"));
        assert_eq!(with(&|b| b[7] = 0), CperError::BadSignatureEnd(0xffff_00ff));
        assert_eq!(with(&|b| b[5] = 2), CperError::BadRevision(0x0200));
        // Huge section count: descriptors cannot fit in the record.
        assert!(matches!(
            with(&|b| b[10..12].copy_from_slice(&[0xff, 0xff])),
            CperError::BadRecordLength { minimum, .. } if minimum == 128 + 0xffff * 72
        ));
        // Record length larger than the buffer, or smaller than header.
        assert!(matches!(
            with(&|b| b[20..24].copy_from_slice(&u32::MAX.to_le_bytes())),
            CperError::BadRecordLength { .. }
        ));
        assert!(matches!(
            with(&|b| b[20..24].copy_from_slice(&100u32.to_le_bytes())),
            CperError::BadRecordLength { .. }
        ));
        // Sections out of bounds, overflowing, or over the header.
        for (off, len) in [
            (300u32, 128u32),
            (200, 129),
            (u32::MAX, 2),
            (200, u32::MAX),
            (0, 128),
        ] {
            let e = with(&|b| {
                b[128..132].copy_from_slice(&off.to_le_bytes());
                b[132..136].copy_from_slice(&len.to_le_bytes());
            });
            assert!(
                matches!(e, CperError::SectionOutOfBounds { index: 0, .. }),
                "{e:?}"
            );
        }
        // A section of the right type but too short for struct mce.
        let e = with(&|b| b[132..136].copy_from_slice(&64u32.to_le_bytes()));
        assert!(matches!(e, CperError::SectionTooShort { needed: 128, .. }));
        assert!(alloc::format!("{e}").contains("struct mce"));
    }

    /// Like Linux's pstore records: same creator, notification MCE, a
    /// compressed log section.
    fn dmesg_record() -> Vec<u8> {
        let text = b"x\x9c compressed kernel log bytes";
        let h = CperHeader {
            revision: RECORD_REVISION,
            section_count: 1,
            error_severity: 1,
            validation_bits: validation::TIMESTAMP,
            record_length: (200 + text.len()) as u32,
            timestamp: CperTimestamp(1_600_000_000),
            creator_id: guids::CREATOR_LINUX_MCE,
            notification_type: guids::NOTIFY_MCE,
            record_id: 9,
            flags: flags::PREVIOUS_ERROR,
            ..Default::default()
        };
        let d = SectionDescriptor {
            section_offset: 200,
            section_length: text.len() as u32,
            revision: SECTION_REVISION,
            flags: section_flags::PRIMARY,
            section_type: guids::SEC_LINUX_DMESG_Z,
            section_severity: 1,
            ..Default::default()
        };
        let mut b = Vec::new();
        b.extend_from_slice(&h.encode());
        b.extend_from_slice(&d.encode());
        b.extend_from_slice(text);
        b
    }

    #[test]
    fn non_mce_record_is_described_not_misparsed() {
        let b = dmesg_record();
        let e = decode_mce(&b).unwrap_err();
        assert_eq!(
            e,
            CperError::NotMce {
                section_types: vec![guids::SEC_LINUX_DMESG_Z]
            }
        );
        let msg = alloc::format!("{e}");
        assert!(msg.starts_with("not an MCE record (section types: Linux compressed"));
        let mut s = String::new();
        describe(&b, &mut s).unwrap();
        assert!(s.contains("record 0x0000000000000009"));
        assert!(s.contains("creator: Linux"));
        assert!(s.contains("notification: machine check exception"));
        assert!(s.contains("Linux compressed kernel log"));
        assert!(s.contains("not a BCD date"));
        assert!(s.contains("previous-error"));
        // Zero sections: valid record, still not an MCE.
        let mut none = b.clone();
        none[10] = 0;
        assert_eq!(
            decode_mce(&none).unwrap_err(),
            CperError::NotMce {
                section_types: vec![]
            }
        );
    }

    #[test]
    fn describe_mce_record() {
        let mut s = String::new();
        describe(&encode_mce(&sample(), 7, Some(946_684_799)), &mut s).unwrap();
        assert!(s.contains("severity fatal"));
        assert!(s.contains("time: 1999-12-31 23:59:59 (precise)"));
        assert!(s.contains("Linux machine check"));
        assert!(s.contains("CPU 300 BANK 4 STATUS 0xbd80000000100134"));
        assert!(s.contains("PROCESSOR AuthenticAMD"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(CperTimestamp(0).to_datetime(), None);
        assert_eq!(alloc::format!("{}", CperTimestamp(0)), "not set");
        let t = CperTimestamp::from_unix(0).unwrap();
        assert_eq!(
            alloc::format!("{}", t.to_datetime().unwrap()),
            "1970-01-01 00:00:00"
        );
        for secs in [0u64, 59, 86_399, 951_782_400, 1_709_210_096, 4_102_444_799] {
            let dt = CperTimestamp::from_unix(secs)
                .unwrap()
                .to_datetime()
                .unwrap();
            assert_eq!(dt.to_unix(), secs as i64);
            assert!(dt.precise);
        }
        let dt = CperTimestamp::from_unix(1_709_210_096)
            .unwrap()
            .to_datetime()
            .unwrap();
        assert_eq!(
            (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second),
            (2024, 2, 29, 12, 34, 56)
        );
        // Not BCD, or out of range: no date.
        assert_eq!(CperTimestamp(0x0a).to_datetime(), None);
        assert_eq!(
            CperTimestamp(u64::from_le_bytes([0, 0, 0, 0, 0x01, 0x13, 0x24, 0x20])).to_datetime(),
            None
        );
        assert_eq!(CperTimestamp::from_unix(u64::MAX), None);
    }

    fn entry(ty: Guid, sev: u32, rev: u16, payload: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&ty.0);
        e.extend_from_slice(&sev.to_le_bytes());
        e.extend_from_slice(&rev.to_le_bytes());
        e.push(if rev >= 0x300 {
            entry_valid::TIMESTAMP | entry_valid::FRU_TEXT
        } else {
            0
        });
        e.push(0);
        e.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        e.extend_from_slice(&[0; 16]);
        let mut fru = [0u8; 20];
        fru[..5].copy_from_slice(b"DIMM0");
        e.extend_from_slice(&fru);
        if rev >= 0x300 {
            e.extend_from_slice(
                &CperTimestamp::from_unix(1_709_210_096)
                    .unwrap()
                    .0
                    .to_le_bytes(),
            );
        }
        e.extend_from_slice(payload);
        e
    }

    fn block(status: u32, sev: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let data: Vec<u8> = entries.concat();
        let mut b = Vec::new();
        b.extend_from_slice(&status.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&sev.to_le_bytes());
        b.extend_from_slice(&data);
        b
    }

    pub fn memory_error_payload(addr: u64) -> Vec<u8> {
        let mut m = vec![0u8; MemoryError::LEN];
        let valid = mem_valid::PA
            | mem_valid::NODE
            | mem_valid::BANK
            | mem_valid::ROW
            | mem_valid::ERROR_TYPE
            | mem_valid::ROW_EXT;
        m[0..8].copy_from_slice(&valid.to_le_bytes());
        m[16..24].copy_from_slice(&addr.to_le_bytes());
        m[32..34].copy_from_slice(&1u16.to_le_bytes());
        m[38..40].copy_from_slice(&5u16.to_le_bytes());
        m[42..44].copy_from_slice(&0x1234u16.to_le_bytes());
        m[72] = 3;
        m[73] = 1;
        m
    }

    pub fn memory_block(addr: u64) -> Vec<u8> {
        block(
            block_status::UNCORRECTABLE_VALID | (1 << block_status::ENTRY_COUNT_SHIFT),
            1,
            &[entry(
                guids::SEC_PLATFORM_MEM,
                1,
                0x0300,
                &memory_error_payload(addr),
            )],
        )
    }

    #[test]
    fn status_block_with_zero_one_two_entries() {
        let empty = block(0, 3, &[]);
        let b = parse_error_status_block(&empty).unwrap();
        assert!(b.entries.is_empty());
        assert_eq!(b.total_len(), 20);

        let one = memory_block(0x1_2345_6000);
        let b = parse_error_status_block(&one).unwrap();
        assert_eq!(b.claimed_entry_count(), 1);
        assert_eq!(b.error_severity, CperSeverity::Fatal);
        assert_eq!(b.entries.len(), 1);
        let e = &b.entries[0];
        assert_eq!(e.section_type, guids::SEC_PLATFORM_MEM);
        assert_eq!(e.fru_text(), Some("DIMM0"));
        assert_eq!(e.timestamp.unwrap().to_datetime().unwrap().year, 2024);
        let m = MemoryError::parse(e.payload).unwrap();
        assert_eq!(m.address(), Some(0x1_2345_6000));
        assert_eq!(m.row, 0x1_1234);
        let text = alloc::format!("{m}");
        assert!(text.contains("multi-bit ECC physical address 0x123456000 node 1 bank 5"));

        let two = block(
            0x2 | (2 << 4),
            2,
            &[
                entry(guids::SEC_PROC_GENERIC, 2, 0x0201, &[0u8; 192]),
                entry(Guid([7; 16]), 2, 0x0300, &[1, 2, 3]),
            ],
        );
        let b = parse_error_status_block(&two).unwrap();
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].timestamp, None);
        assert_eq!(b.entries[0].payload.len(), 192);
        assert_eq!(b.entries[1].payload, &[1, 2, 3]);
        let mut s = String::new();
        describe_status_block(&b, &mut s).unwrap();
        assert!(s.contains("severity corrected, correctable, 2 entr(ies)"));
        assert!(s.contains("generic processor error"));
        assert!(s.contains("unknown (07070707-"));
    }

    #[test]
    fn status_block_truncations_and_lies() {
        let one = memory_block(0x1000);
        for n in 0..one.len() {
            assert!(parse_error_status_block(&one[..n]).is_err(), "prefix {n}");
        }
        // Entry claims more payload than the data area holds.
        let mut lie = one.clone();
        lie[20 + 24..20 + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_error_status_block(&lie),
            Err(CperError::EntryOutOfBounds { index: 0, .. })
        ));
        // Data length smaller than the entry: entry header runs past it.
        let mut short = one.clone();
        short[12..16].copy_from_slice(&40u32.to_le_bytes());
        assert!(parse_error_status_block(&short).is_err());
        // Data length beyond the buffer.
        let mut big = one.clone();
        big[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_error_status_block(&big),
            Err(CperError::BadStatusBlock {
                field: "data length",
                ..
            })
        ));
        // Raw data overlapping the entries, or past the end.
        let mut raw = one.clone();
        raw[4..8].copy_from_slice(&20u32.to_le_bytes());
        raw[8..12].copy_from_slice(&4u32.to_le_bytes());
        assert!(parse_error_status_block(&raw).is_err());
        raw[4..8].copy_from_slice(&(one.len() as u32 - 2).to_le_bytes());
        assert!(parse_error_status_block(&raw).is_err());
        raw[4..8].copy_from_slice(&(one.len() as u32 - 4).to_le_bytes());
        // Raw data must not overlap the entries: this one does.
        assert!(parse_error_status_block(&raw).is_err());
        let mut with_raw = one.clone();
        with_raw.extend_from_slice(&[9, 9]);
        with_raw[4..8].copy_from_slice(&(one.len() as u32).to_le_bytes());
        with_raw[8..12].copy_from_slice(&2u32.to_le_bytes());
        let b = parse_error_status_block(&with_raw).unwrap();
        assert_eq!(b.raw_data, &[9, 9]);
        assert_eq!(b.total_len(), with_raw.len());
    }

    #[test]
    fn old_memory_section_ignores_new_bits() {
        let mut m = memory_error_payload(0x2000);
        m[0..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let old = MemoryError::parse(&m[..MemoryError::OLD_LEN]).unwrap();
        assert_eq!(old.validation_bits, 0x7fff);
        assert_eq!(old.row, 0x1234);
        assert!(MemoryError::parse(&m[..72]).is_err());
        assert!(ProcessorGenericError::parse(&[0; 191]).is_err());
    }
}
