//! Linux's machine-check record: a CPER record (UEFI spec appendix N) with
//! one non-standard section (N.2.3) holding Linux's `struct mce`, as Linux's
//! `apei_write_mce` writes it to ERST. [`encode_mce`] and [`decode_mce`]
//! convert between it and our [`MceRecord`], byte for byte like Linux.

use alloc::vec::Vec;
use core::fmt;

use super::{
    flags, guids, parse_record, section_flags, validation, CperError, CperHeader, CperSeverity,
    CperTimestamp, SectionDescriptor, RECORD_REVISION, SECTION_REVISION,
};
use crate::apei::table::Reader;
use crate::mca::record::{CpuVendor, MceRecord, Severity, Source};

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

/// Writes the front of a record as Linux's ERST writers make it
/// (`apei_write_mce`, pstore's `erst_writer`): a CPER header (fatal,
/// "previous error", creator Linux MCE, notification MCE) and one primary
/// fatal section descriptor whose body follows at once, `section_length`
/// bytes of `section_type`. `timestamp` sets the validation bit too.
/// `out` must hold at least `CperHeader::LEN + SectionDescriptor::LEN`.
pub fn write_linux_erst_header(
    out: &mut [u8],
    record_length: usize,
    section_length: usize,
    section_type: crate::apei::guid::Guid,
    record_id: u64,
    timestamp: Option<CperTimestamp>,
) {
    let header = CperHeader {
        revision: RECORD_REVISION,
        section_count: 1,
        error_severity: CperSeverity::Fatal.as_u32(),
        validation_bits: if timestamp.is_some() {
            validation::TIMESTAMP
        } else {
            0
        },
        record_length: record_length as u32,
        timestamp: timestamp.unwrap_or_default(),
        creator_id: guids::CREATOR_LINUX_MCE,
        notification_type: guids::NOTIFY_MCE,
        record_id,
        flags: flags::PREVIOUS_ERROR,
        ..Default::default()
    };
    let desc = SectionDescriptor {
        section_offset: (CperHeader::LEN + SectionDescriptor::LEN) as u32,
        section_length: section_length as u32,
        revision: SECTION_REVISION,
        flags: section_flags::PRIMARY,
        section_type,
        section_severity: CperSeverity::Fatal.as_u32(),
        ..Default::default()
    };
    out[..CperHeader::LEN].copy_from_slice(&header.encode());
    out[CperHeader::LEN..CperHeader::LEN + SectionDescriptor::LEN].copy_from_slice(&desc.encode());
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
    let mut out = [0u8; MCE_RECORD_LEN];
    let ts = timestamp.and_then(CperTimestamp::from_unix);
    write_linux_erst_header(
        &mut out,
        MCE_RECORD_LEN,
        LinuxMce::LEN,
        guids::SEC_LINUX_MCE,
        record_id,
        ts,
    );
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

/// Writes a `struct mce` section readably, in mcelog's style.
pub(super) fn write_mce(out: &mut dyn fmt::Write, pfx: &str, m: &LinuxMce) -> fmt::Result {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::tests::sample;
    use crate::mca::record::Severity;
    use alloc::vec;

    fn le32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }
    fn le64(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
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
}
