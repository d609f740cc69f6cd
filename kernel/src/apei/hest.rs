//! The Hardware Error Source Table (ACPI spec 18.3.2): which error sources
//! the platform has, how each one notifies the OS, and which machine-check
//! banks firmware handles first.
//!
//! The table is untrusted. Each structure's size follows from its type (and
//! bank count); an unknown type or a structure running past the table stops
//! the parse with an error, keeping the sources parsed before it.

use alloc::vec::Vec;
use core::fmt;

use super::table::{ParseError, Reader, SdtHeader};

/// Error source structure types.
pub mod source_type {
    pub const IA32_MACHINE_CHECK: u16 = 0;
    pub const IA32_CORRECTED_MACHINE_CHECK: u16 = 1;
    pub const IA32_NMI: u16 = 2;
    pub const PCIE_ROOT_PORT_AER: u16 = 6;
    pub const PCIE_DEVICE_AER: u16 = 7;
    pub const PCIE_BRIDGE_AER: u16 = 8;
    pub const GENERIC_HARDWARE: u16 = 9;
    pub const GENERIC_HARDWARE_V2: u16 = 10;
    pub const IA32_DEFERRED_MACHINE_CHECK: u16 = 11;
}

/// Source flags (machine check and AER sources).
pub mod source_flags {
    /// Firmware handles the errors first and reports them through a GHES.
    pub const FIRMWARE_FIRST: u8 = 1 << 0;
    /// The settings apply to all processors / all devices of the type.
    pub const GLOBAL: u8 = 1 << 1;
    /// A GHES assists this source (ACPI 6.3).
    pub const GHES_ASSIST: u8 = 1 << 2;
}

/// How an error source signals the OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyType {
    Polled,
    ExternalInterrupt,
    LocalInterrupt,
    Sci,
    Nmi,
    Cmci,
    Mce,
    Gpio,
    Sea,
    Sei,
    Gsiv,
    SoftwareDelegated,
    Reserved(u8),
}

impl NotifyType {
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => NotifyType::Polled,
            1 => NotifyType::ExternalInterrupt,
            2 => NotifyType::LocalInterrupt,
            3 => NotifyType::Sci,
            4 => NotifyType::Nmi,
            5 => NotifyType::Cmci,
            6 => NotifyType::Mce,
            7 => NotifyType::Gpio,
            8 => NotifyType::Sea,
            9 => NotifyType::Sei,
            10 => NotifyType::Gsiv,
            11 => NotifyType::SoftwareDelegated,
            v => NotifyType::Reserved(v),
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            NotifyType::Polled => "polled",
            NotifyType::ExternalInterrupt => "external interrupt",
            NotifyType::LocalInterrupt => "local interrupt",
            NotifyType::Sci => "SCI",
            NotifyType::Nmi => "NMI",
            NotifyType::Cmci => "CMCI",
            NotifyType::Mce => "MCE",
            NotifyType::Gpio => "GPIO",
            NotifyType::Sea => "SEA",
            NotifyType::Sei => "SEI",
            NotifyType::Gsiv => "GSIV",
            NotifyType::SoftwareDelegated => "software delegated",
            NotifyType::Reserved(_) => "reserved",
        }
    }
}

/// Hardware Error Notification structure (28 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotifyType,
    pub length: u8,
    pub config_write_enable: u16,
    /// Milliseconds, for polled sources.
    pub poll_interval: u32,
    pub vector: u32,
    pub polling_threshold_value: u32,
    pub polling_threshold_window: u32,
    pub error_threshold_value: u32,
    pub error_threshold_window: u32,
}

impl Notification {
    pub const LEN: usize = 28;

    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        Ok(Notification {
            kind: NotifyType::from_u8(r.u8()?),
            length: r.u8()?,
            config_write_enable: r.u16()?,
            poll_interval: r.u32()?,
            vector: r.u32()?,
            polling_threshold_value: r.u32()?,
            polling_threshold_window: r.u32()?,
            error_threshold_value: r.u32()?,
            error_threshold_window: r.u32()?,
        })
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            NotifyType::Polled => write!(f, "polled every {} ms", self.poll_interval),
            NotifyType::Reserved(v) => write!(f, "reserved notification type {v}"),
            k => write!(f, "{} vector {}", k.name(), self.vector),
        }
    }
}

/// IA-32 machine check error bank structure (28 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorBank {
    pub bank_number: u8,
    pub clear_status_on_init: bool,
    /// 0 IA-32 MCA, 1 Intel 64 MCA, 2 AMD64 MCA.
    pub status_data_format: u8,
    pub control_register_msr: u32,
    pub control_init_data: u64,
    pub status_register_msr: u32,
    pub address_register_msr: u32,
    pub misc_register_msr: u32,
}

impl ErrorBank {
    pub const LEN: usize = 28;

    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let bank_number = r.u8()?;
        let clear_status_on_init = r.u8()? != 0;
        let status_data_format = r.u8()?;
        r.skip(1)?;
        Ok(ErrorBank {
            bank_number,
            clear_status_on_init,
            status_data_format,
            control_register_msr: r.u32()?,
            control_init_data: r.u64()?,
            status_register_msr: r.u32()?,
            address_register_msr: r.u32()?,
            misc_register_msr: r.u32()?,
        })
    }
}

/// An IA-32 machine check, corrected machine check or deferred machine
/// check source (types 0, 1, 11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineCheckSource {
    pub source_id: u16,
    pub flags: u8,
    pub enabled: bool,
    pub records_to_preallocate: u32,
    pub max_sections_per_record: u32,
    /// IA32_MCG_CAP / IA32_MCG_CTL initial values (type 0 only, else 0).
    pub global_capability_init: u64,
    pub global_control_init: u64,
    /// Types 1 and 11 only.
    pub notification: Option<Notification>,
    pub banks: Vec<ErrorBank>,
}

impl MachineCheckSource {
    pub const fn firmware_first(&self) -> bool {
        self.flags & source_flags::FIRMWARE_FIRST != 0
    }
}

/// IA-32 NMI error source (type 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NmiSource {
    pub source_id: u16,
    pub records_to_preallocate: u32,
    pub max_sections_per_record: u32,
    pub max_raw_data_length: u32,
}

/// PCIe AER source (types 6, 7, 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AerSource {
    pub source_id: u16,
    pub flags: u8,
    pub enabled: bool,
    pub records_to_preallocate: u32,
    pub max_sections_per_record: u32,
    /// Bits 7:0 bus, 23:8 segment; ignored when GLOBAL is set.
    pub bus: u32,
    pub device: u16,
    pub function: u16,
    pub device_control: u16,
    pub uncorrectable_mask: u32,
    pub uncorrectable_severity: u32,
    pub correctable_mask: u32,
    pub advanced_capabilities: u32,
    /// Root port only.
    pub root_error_command: Option<u32>,
    /// Bridge only: secondary uncorrectable mask, severity, capabilities.
    pub secondary: Option<[u32; 3]>,
}

/// Generic Address Structure as it appears inside HEST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenericAddress {
    pub space_id: u8,
    pub bit_width: u8,
    pub bit_offset: u8,
    pub access_size: u8,
    pub address: u64,
}

impl GenericAddress {
    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        Ok(GenericAddress {
            space_id: r.u8()?,
            bit_width: r.u8()?,
            bit_offset: r.u8()?,
            access_size: r.u8()?,
            address: r.u64()?,
        })
    }
}

/// Generic Hardware Error Source, version 1 or 2 (types 9, 10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenericSource {
    pub source_id: u16,
    /// 0xFFFF when this source stands alone.
    pub related_source_id: u16,
    pub enabled: bool,
    pub records_to_preallocate: u32,
    pub max_sections_per_record: u32,
    pub max_raw_data_length: u32,
    /// Where the address of the Generic Error Status Block is found.
    pub error_status_address: GenericAddress,
    pub notification: Notification,
    pub error_block_length: u32,
    /// Version 2 only.
    pub read_ack: Option<ReadAck>,
}

/// GHESv2 read acknowledgment register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAck {
    pub register: GenericAddress,
    pub preserve: u64,
    pub write: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorSource {
    MachineCheck(MachineCheckSource),
    CorrectedMachineCheck(MachineCheckSource),
    DeferredMachineCheck(MachineCheckSource),
    Nmi(NmiSource),
    PcieRootPort(AerSource),
    PcieDevice(AerSource),
    PcieBridge(AerSource),
    Generic(GenericSource),
    GenericV2(GenericSource),
}

impl ErrorSource {
    pub const fn source_id(&self) -> u16 {
        match self {
            ErrorSource::MachineCheck(s)
            | ErrorSource::CorrectedMachineCheck(s)
            | ErrorSource::DeferredMachineCheck(s) => s.source_id,
            ErrorSource::Nmi(s) => s.source_id,
            ErrorSource::PcieRootPort(s)
            | ErrorSource::PcieDevice(s)
            | ErrorSource::PcieBridge(s) => s.source_id,
            ErrorSource::Generic(s) | ErrorSource::GenericV2(s) => s.source_id,
        }
    }

    pub const fn type_name(&self) -> &'static str {
        match self {
            ErrorSource::MachineCheck(_) => "IA-32 machine check",
            ErrorSource::CorrectedMachineCheck(_) => "IA-32 corrected machine check",
            ErrorSource::DeferredMachineCheck(_) => "IA-32 deferred machine check",
            ErrorSource::Nmi(_) => "IA-32 NMI",
            ErrorSource::PcieRootPort(_) => "PCIe root port AER",
            ErrorSource::PcieDevice(_) => "PCIe device AER",
            ErrorSource::PcieBridge(_) => "PCIe bridge AER",
            ErrorSource::Generic(_) => "generic hardware error source",
            ErrorSource::GenericV2(_) => "generic hardware error source v2",
        }
    }

    /// The notification structure, for sources that have one.
    pub const fn notification(&self) -> Option<&Notification> {
        match self {
            ErrorSource::CorrectedMachineCheck(s) | ErrorSource::DeferredMachineCheck(s) => {
                s.notification.as_ref()
            }
            ErrorSource::Generic(s) | ErrorSource::GenericV2(s) => Some(&s.notification),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source {}: {}", self.source_id(), self.type_name())?;
        let onoff = |e: bool| if e { "enabled" } else { "disabled" };
        let flag_names = |f: &mut fmt::Formatter<'_>, flags: u8| -> fmt::Result {
            for (bit, name) in [
                (source_flags::FIRMWARE_FIRST, ", firmware-first"),
                (source_flags::GLOBAL, ", global"),
                (source_flags::GHES_ASSIST, ", GHES-assist"),
            ] {
                if flags & bit != 0 {
                    f.write_str(name)?;
                }
            }
            Ok(())
        };
        match self {
            ErrorSource::MachineCheck(s)
            | ErrorSource::CorrectedMachineCheck(s)
            | ErrorSource::DeferredMachineCheck(s) => {
                write!(f, ", {}", onoff(s.enabled))?;
                flag_names(f, s.flags)?;
                if let Some(n) = &s.notification {
                    write!(f, ", {n}")?;
                }
                write!(f, ", {} bank(s)", s.banks.len())?;
                for (i, b) in s.banks.iter().enumerate() {
                    f.write_str(if i == 0 { ": " } else { " " })?;
                    write!(f, "{}", b.bank_number)?;
                }
                Ok(())
            }
            ErrorSource::Nmi(s) => write!(f, ", max raw data {}", s.max_raw_data_length),
            ErrorSource::PcieRootPort(s)
            | ErrorSource::PcieDevice(s)
            | ErrorSource::PcieBridge(s) => {
                write!(f, ", {}", onoff(s.enabled))?;
                flag_names(f, s.flags)?;
                if s.flags & source_flags::GLOBAL == 0 {
                    write!(
                        f,
                        ", {:04x}:{:02x}:{:02x}.{}",
                        (s.bus >> 8) & 0xffff,
                        s.bus & 0xff,
                        s.device,
                        s.function
                    )?;
                }
                Ok(())
            }
            ErrorSource::Generic(s) | ErrorSource::GenericV2(s) => {
                write!(f, ", {}, {}", onoff(s.enabled), s.notification)?;
                write!(
                    f,
                    ", status block address at {:#x} (space {}), block length {}",
                    s.error_status_address.address,
                    s.error_status_address.space_id,
                    s.error_block_length
                )?;
                if s.related_source_id != 0xffff {
                    write!(f, ", related to source {}", s.related_source_id)?;
                }
                Ok(())
            }
        }
    }
}

/// A parsed HEST: the sources read, and why parsing stopped early if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hest {
    /// The table's Error Source Count.
    pub declared_count: u32,
    pub sources: Vec<ErrorSource>,
    pub error: Option<ParseError>,
}

/// Offset of the first error source structure.
const FIRST_SOURCE: usize = SdtHeader::LEN + 4;

/// The size of the structure of `ty` starting at `at`, read from the
/// table (bank count) where the size depends on it.
fn structure_len(t: &[u8], at: usize, ty: u16) -> Result<usize, ParseError> {
    let banks = |count_at: usize| -> Result<usize, ParseError> {
        Ok(Reader::at(t, at + count_at).u8()? as usize * ErrorBank::LEN)
    };
    Ok(match ty {
        source_type::IA32_MACHINE_CHECK => 40 + banks(32)?,
        source_type::IA32_CORRECTED_MACHINE_CHECK | source_type::IA32_DEFERRED_MACHINE_CHECK => {
            48 + banks(44)?
        }
        source_type::IA32_NMI => 20,
        source_type::PCIE_ROOT_PORT_AER => 48,
        source_type::PCIE_DEVICE_AER => 44,
        source_type::PCIE_BRIDGE_AER => 56,
        source_type::GENERIC_HARDWARE => 64,
        source_type::GENERIC_HARDWARE_V2 => 92,
        ty => {
            return Err(ParseError::BadValue {
                field: "HEST error source type",
                value: ty as u64,
            })
        }
    })
}

fn parse_machine_check(s: &[u8], ty: u16) -> Result<MachineCheckSource, ParseError> {
    let mut r = Reader::at(s, 2);
    let source_id = r.u16()?;
    r.skip(2)?;
    let flags = r.u8()?;
    let enabled = r.u8()? != 0;
    let records_to_preallocate = r.u32()?;
    let max_sections_per_record = r.u32()?;
    let (mut cap, mut ctl, mut notification) = (0, 0, None);
    if ty == source_type::IA32_MACHINE_CHECK {
        cap = r.u64()?;
        ctl = r.u64()?;
    } else {
        notification = Some(Notification::read(&mut r)?);
    }
    let count = r.u8()?;
    r.skip(if ty == source_type::IA32_MACHINE_CHECK {
        7
    } else {
        3
    })?;
    let mut banks = Vec::with_capacity(count as usize);
    for _ in 0..count {
        banks.push(ErrorBank::read(&mut r)?);
    }
    Ok(MachineCheckSource {
        source_id,
        flags,
        enabled,
        records_to_preallocate,
        max_sections_per_record,
        global_capability_init: cap,
        global_control_init: ctl,
        notification,
        banks,
    })
}

fn parse_aer(s: &[u8], ty: u16) -> Result<AerSource, ParseError> {
    let mut r = Reader::at(s, 2);
    let source_id = r.u16()?;
    r.skip(2)?;
    let flags = r.u8()?;
    let enabled = r.u8()? != 0;
    let records_to_preallocate = r.u32()?;
    let max_sections_per_record = r.u32()?;
    let bus = r.u32()?;
    let device = r.u16()?;
    let function = r.u16()?;
    let device_control = r.u16()?;
    r.skip(2)?;
    let uncorrectable_mask = r.u32()?;
    let uncorrectable_severity = r.u32()?;
    let correctable_mask = r.u32()?;
    let advanced_capabilities = r.u32()?;
    let root_error_command = if ty == source_type::PCIE_ROOT_PORT_AER {
        Some(r.u32()?)
    } else {
        None
    };
    let secondary = if ty == source_type::PCIE_BRIDGE_AER {
        Some([r.u32()?, r.u32()?, r.u32()?])
    } else {
        None
    };
    Ok(AerSource {
        source_id,
        flags,
        enabled,
        records_to_preallocate,
        max_sections_per_record,
        bus,
        device,
        function,
        device_control,
        uncorrectable_mask,
        uncorrectable_severity,
        correctable_mask,
        advanced_capabilities,
        root_error_command,
        secondary,
    })
}

fn parse_generic(s: &[u8], ty: u16) -> Result<GenericSource, ParseError> {
    let mut r = Reader::at(s, 2);
    let source_id = r.u16()?;
    let related_source_id = r.u16()?;
    r.skip(1)?;
    let enabled = r.u8()? != 0;
    let records_to_preallocate = r.u32()?;
    let max_sections_per_record = r.u32()?;
    let max_raw_data_length = r.u32()?;
    let error_status_address = GenericAddress::read(&mut r)?;
    let notification = Notification::read(&mut r)?;
    let error_block_length = r.u32()?;
    let read_ack = if ty == source_type::GENERIC_HARDWARE_V2 {
        Some(ReadAck {
            register: GenericAddress::read(&mut r)?,
            preserve: r.u64()?,
            write: r.u64()?,
        })
    } else {
        None
    };
    Ok(GenericSource {
        source_id,
        related_source_id,
        enabled,
        records_to_preallocate,
        max_sections_per_record,
        max_raw_data_length,
        error_status_address,
        notification,
        error_block_length,
        read_ack,
    })
}

/// Parses one structure; `s` is exactly its bytes.
fn parse_source(s: &[u8], ty: u16) -> Result<ErrorSource, ParseError> {
    use source_type::*;
    Ok(match ty {
        IA32_MACHINE_CHECK => ErrorSource::MachineCheck(parse_machine_check(s, ty)?),
        IA32_CORRECTED_MACHINE_CHECK => {
            ErrorSource::CorrectedMachineCheck(parse_machine_check(s, ty)?)
        }
        IA32_DEFERRED_MACHINE_CHECK => {
            ErrorSource::DeferredMachineCheck(parse_machine_check(s, ty)?)
        }
        IA32_NMI => {
            let mut r = Reader::at(s, 2);
            let source_id = r.u16()?;
            r.skip(4)?;
            ErrorSource::Nmi(NmiSource {
                source_id,
                records_to_preallocate: r.u32()?,
                max_sections_per_record: r.u32()?,
                max_raw_data_length: r.u32()?,
            })
        }
        PCIE_ROOT_PORT_AER => ErrorSource::PcieRootPort(parse_aer(s, ty)?),
        PCIE_DEVICE_AER => ErrorSource::PcieDevice(parse_aer(s, ty)?),
        PCIE_BRIDGE_AER => ErrorSource::PcieBridge(parse_aer(s, ty)?),
        GENERIC_HARDWARE => ErrorSource::Generic(parse_generic(s, ty)?),
        GENERIC_HARDWARE_V2 => ErrorSource::GenericV2(parse_generic(s, ty)?),
        ty => {
            return Err(ParseError::BadValue {
                field: "HEST error source type",
                value: ty as u64,
            })
        }
    })
}

/// Parses the structure at `at`, returning it and its size.
fn parse_at(t: &[u8], at: usize) -> Result<(ErrorSource, usize), ParseError> {
    let ty = Reader::at(t, at).u16()?;
    let len = structure_len(t, at, ty)?;
    let s = t.get(at..at + len).ok_or_else(|| ParseError::Truncated {
        offset: t.len(),
        needed: at + len - t.len(),
    })?;
    Ok((parse_source(s, ty)?, len))
}

/// `table` cut to the length its header claims, when it is longer.
/// `SdtHeader::parse_checked` overflows (a panic with overflow checks on)
/// when given more bytes than the table's length, e.g. a whole mapped page.
pub(crate) fn cut_to_length(table: &[u8]) -> &[u8] {
    match Reader::at(table, 4).u32() {
        Ok(len) if len as usize >= SdtHeader::LEN && (len as usize) < table.len() => {
            &table[..len as usize]
        }
        _ => table,
    }
}

/// Parses a HEST. Header errors (signature, length, checksum) fail the
/// whole parse; a bad structure ends it with `Hest::error` set.
pub fn parse_hest(table: &[u8]) -> Result<Hest, ParseError> {
    let (_, t) = SdtHeader::parse_expecting(cut_to_length(table), b"HEST")?;
    let declared_count = Reader::at(t, SdtHeader::LEN).u32()?;
    let mut hest = Hest {
        declared_count,
        sources: Vec::new(),
        error: None,
    };
    let mut at = FIRST_SOURCE;
    for _ in 0..declared_count {
        let step = parse_at(t, at);
        match step {
            Ok((src, len)) => {
                hest.sources.push(src);
                at += len;
            }
            Err(e) => {
                hest.error = Some(e);
                break;
            }
        }
    }
    Ok(hest)
}

/// Banks that firmware handles first, which the OS must leave alone: those
/// of enabled corrected and deferred machine check sources with
/// FIRMWARE_FIRST (as Linux does for corrected ones: no CMCI, no polling).
/// Sorted, without duplicates.
pub fn firmware_first_banks(hest: &Hest) -> impl Iterator<Item = u8> {
    let mut banks: Vec<u8> = hest
        .sources
        .iter()
        .filter_map(|s| match s {
            ErrorSource::CorrectedMachineCheck(m) | ErrorSource::DeferredMachineCheck(m)
                if m.enabled && m.firmware_first() =>
            {
                Some(m)
            }
            _ => None,
        })
        .flat_map(|m| m.banks.iter().map(|b| b.bank_number))
        .collect();
    banks.sort_unstable();
    banks.dedup();
    banks.into_iter()
}

impl fmt::Display for Hest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "HEST: {} of {} error source(s) parsed",
            self.sources.len(),
            self.declared_count
        )?;
        for s in &self.sources {
            writeln!(f, "  {s}")?;
        }
        if let Some(e) = &self.error {
            writeln!(f, "  parse stopped: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::table::make_table;
    use alloc::format;
    use alloc::vec;

    fn notify(kind: u8, poll_ms: u32, vector: u32) -> Vec<u8> {
        let mut n = vec![kind, 28];
        n.extend_from_slice(&0x3fu16.to_le_bytes());
        for v in [poll_ms, vector, 1, 2, 3, 4] {
            n.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(n.len(), Notification::LEN);
        n
    }

    fn bank(n: u8) -> Vec<u8> {
        let mut b = vec![n, 1, 1, 0];
        let base = 0x400 + 4 * n as u32;
        b.extend_from_slice(&base.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        for r in [base + 1, base + 2, base + 3] {
            b.extend_from_slice(&r.to_le_bytes());
        }
        assert_eq!(b.len(), ErrorBank::LEN);
        b
    }

    fn head(ty: u16, id: u16) -> Vec<u8> {
        let mut s = ty.to_le_bytes().to_vec();
        s.extend_from_slice(&id.to_le_bytes());
        s
    }

    fn mce(id: u16, flags: u8, banks: &[u8]) -> Vec<u8> {
        let mut s = head(0, id);
        s.extend_from_slice(&[0, 0, flags, 1]);
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&2u32.to_le_bytes());
        s.extend_from_slice(&0x0100_0c0au64.to_le_bytes());
        s.extend_from_slice(&u64::MAX.to_le_bytes());
        s.push(banks.len() as u8);
        s.extend_from_slice(&[0; 7]);
        assert_eq!(s.len(), 40);
        for &b in banks {
            s.extend_from_slice(&bank(b));
        }
        s
    }

    fn cmc(ty: u16, id: u16, flags: u8, enabled: u8, banks: &[u8]) -> Vec<u8> {
        let mut s = head(ty, id);
        s.extend_from_slice(&[0, 0, flags, enabled]);
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&notify(5, 0, 0xf0));
        s.push(banks.len() as u8);
        s.extend_from_slice(&[0; 3]);
        assert_eq!(s.len(), 48);
        for &b in banks {
            s.extend_from_slice(&bank(b));
        }
        s
    }

    fn nmi(id: u16) -> Vec<u8> {
        let mut s = head(2, id);
        for v in [0u32, 1, 1, 4096] {
            s.extend_from_slice(&v.to_le_bytes());
        }
        s
    }

    fn aer(ty: u16, id: u16, flags: u8) -> Vec<u8> {
        let mut s = head(ty, id);
        s.extend_from_slice(&[0, 0, flags, 1]);
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&0x0103u32.to_le_bytes()); // segment 1, bus 3
        s.extend_from_slice(&2u16.to_le_bytes());
        s.extend_from_slice(&1u16.to_le_bytes());
        s.extend_from_slice(&0x2fu16.to_le_bytes());
        s.extend_from_slice(&0u16.to_le_bytes());
        for v in [0x10u32, 0x20, 0x30, 0x40] {
            s.extend_from_slice(&v.to_le_bytes());
        }
        match ty {
            6 => s.extend_from_slice(&7u32.to_le_bytes()),
            8 => {
                for v in [0x50u32, 0x60, 0x70] {
                    s.extend_from_slice(&v.to_le_bytes());
                }
            }
            _ => {}
        }
        s
    }

    fn ghes(ty: u16, id: u16) -> Vec<u8> {
        let mut s = head(ty, id);
        s.extend_from_slice(&0xffffu16.to_le_bytes());
        s.extend_from_slice(&[0, 1]);
        for v in [1u32, 1, 0x1000] {
            s.extend_from_slice(&v.to_le_bytes());
        }
        s.extend_from_slice(&[0, 64, 0, 4]);
        s.extend_from_slice(&0x7fff_0000u64.to_le_bytes());
        s.extend_from_slice(&notify(3, 0, 9));
        s.extend_from_slice(&0x1000u32.to_le_bytes());
        if ty == 10 {
            s.extend_from_slice(&[0, 64, 0, 4]);
            s.extend_from_slice(&0x7fff_1000u64.to_le_bytes());
            s.extend_from_slice(&0xfffe_u64.to_le_bytes());
            s.extend_from_slice(&1u64.to_le_bytes());
        }
        s
    }

    fn hest(count: u32, structs: &[Vec<u8>]) -> Vec<u8> {
        let mut body = count.to_le_bytes().to_vec();
        for s in structs {
            body.extend_from_slice(s);
        }
        make_table(b"HEST", 1, &body)
    }

    fn all() -> Vec<Vec<u8>> {
        vec![
            mce(0, source_flags::GLOBAL, &[0, 1, 2]),
            cmc(1, 1, source_flags::FIRMWARE_FIRST, 1, &[3, 4]),
            nmi(2),
            aer(6, 3, 0),
            aer(7, 4, source_flags::GLOBAL),
            aer(8, 5, source_flags::FIRMWARE_FIRST),
            ghes(9, 6),
            ghes(10, 7),
            cmc(11, 8, source_flags::FIRMWARE_FIRST, 1, &[5, 3]),
        ]
    }

    #[test]
    fn structure_sizes() {
        let s = all();
        let sizes: Vec<usize> = s.iter().map(|s| s.len()).collect();
        assert_eq!(
            sizes,
            [
                40 + 3 * 28,
                48 + 2 * 28,
                20,
                48,
                44,
                56,
                64,
                92,
                48 + 2 * 28
            ]
        );
    }

    #[test]
    fn every_type_parses() {
        let h = parse_hest(&hest(9, &all())).unwrap();
        assert_eq!(h.error, None);
        assert_eq!(h.declared_count, 9);
        assert_eq!(h.sources.len(), 9);
        let ids: Vec<u16> = h.sources.iter().map(|s| s.source_id()).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8]);

        let ErrorSource::MachineCheck(m) = &h.sources[0] else {
            panic!("{:?}", h.sources[0])
        };
        assert_eq!(m.global_capability_init, 0x0100_0c0a);
        assert_eq!(m.global_control_init, u64::MAX);
        assert!(m.enabled && !m.firmware_first() && m.notification.is_none());
        assert_eq!(m.banks.len(), 3);
        assert_eq!(
            m.banks[2],
            ErrorBank {
                bank_number: 2,
                clear_status_on_init: true,
                status_data_format: 1,
                control_register_msr: 0x408,
                control_init_data: u64::MAX,
                status_register_msr: 0x409,
                address_register_msr: 0x40a,
                misc_register_msr: 0x40b,
            }
        );

        let ErrorSource::CorrectedMachineCheck(c) = &h.sources[1] else {
            panic!()
        };
        let n = c.notification.unwrap();
        assert_eq!(n.kind, NotifyType::Cmci);
        assert_eq!(
            (n.length, n.config_write_enable, n.vector),
            (28, 0x3f, 0xf0)
        );
        assert_eq!(n.error_threshold_window, 4);
        assert!(c.firmware_first());

        assert_eq!(
            h.sources[2],
            ErrorSource::Nmi(NmiSource {
                source_id: 2,
                records_to_preallocate: 1,
                max_sections_per_record: 1,
                max_raw_data_length: 4096
            })
        );
        let ErrorSource::PcieRootPort(a) = &h.sources[3] else {
            panic!()
        };
        assert_eq!(
            (a.bus, a.device, a.function, a.device_control),
            (0x103, 2, 1, 0x2f)
        );
        assert_eq!(a.root_error_command, Some(7));
        assert_eq!(a.advanced_capabilities, 0x40);
        let ErrorSource::PcieBridge(a) = &h.sources[5] else {
            panic!()
        };
        assert_eq!(a.secondary, Some([0x50, 0x60, 0x70]));
        let ErrorSource::GenericV2(g) = &h.sources[7] else {
            panic!()
        };
        assert_eq!(g.error_status_address.address, 0x7fff_0000);
        assert_eq!(g.notification.kind, NotifyType::Sci);
        assert_eq!(g.error_block_length, 0x1000);
        assert_eq!(g.read_ack.unwrap().register.address, 0x7fff_1000);
        assert_eq!(g.read_ack.unwrap().preserve, 0xfffe);
        let ErrorSource::Generic(g) = &h.sources[6] else {
            panic!()
        };
        assert_eq!(g.read_ack, None);
        assert!(matches!(h.sources[8], ErrorSource::DeferredMachineCheck(_)));

        let text = format!("{h}");
        assert!(text.contains("source 0: IA-32 machine check, enabled, global, 3 bank(s): 0 1 2"));
        assert!(text.contains(
            "source 1: IA-32 corrected machine check, enabled, firmware-first, CMCI vector 240, 2 bank(s): 3 4"
        ));
        assert!(text.contains("source 3: PCIe root port AER, enabled, 0001:03:02.1"));
        assert!(text.contains("SCI vector 9, status block address at 0x7fff0000"));
    }

    #[test]
    fn firmware_first_banks_are_listed_once() {
        let h = parse_hest(&hest(9, &all())).unwrap();
        let banks: Vec<u8> = firmware_first_banks(&h).collect();
        assert_eq!(banks, [3, 4, 5]);
        // Disabled or non-firmware-first sources give none.
        let h = parse_hest(&hest(
            2,
            &[
                cmc(1, 1, source_flags::FIRMWARE_FIRST, 0, &[3]),
                cmc(1, 2, 0, 1, &[4]),
            ],
        ))
        .unwrap();
        assert_eq!(firmware_first_banks(&h).count(), 0);
    }

    #[test]
    fn unknown_type_keeps_earlier_sources() {
        let mut s = all();
        s.insert(2, head(3, 99));
        let h = parse_hest(&hest(10, &s)).unwrap();
        assert_eq!(h.sources.len(), 2);
        assert_eq!(
            h.error,
            Some(ParseError::BadValue {
                field: "HEST error source type",
                value: 3
            })
        );
        assert!(format!("{h}").contains("parse stopped: bad HEST error source type 0x3"));
    }

    #[test]
    fn truncated_and_lying_tables() {
        // Count larger than what is there.
        let h = parse_hest(&hest(5, &[nmi(1), ghes(9, 2)])).unwrap();
        assert_eq!(h.sources.len(), 2);
        assert!(matches!(h.error, Some(ParseError::Truncated { .. })));
        // Bank count running past the table end.
        let mut m = mce(0, 0, &[0, 1]);
        m[32] = 200;
        let h = parse_hest(&hest(2, &[nmi(1), m])).unwrap();
        assert_eq!(h.sources.len(), 1);
        assert!(matches!(h.error, Some(ParseError::Truncated { .. })));
        // Every cut of the structures (table rebuilt so the checksum holds).
        let full: Vec<u8> = all().concat();
        for n in 0..full.len() {
            let mut body = 9u32.to_le_bytes().to_vec();
            body.extend_from_slice(&full[..n]);
            let h = parse_hest(&make_table(b"HEST", 1, &body)).unwrap();
            assert!(h.sources.len() < 9);
            assert!(h.error.is_some());
        }
        // Header-level problems fail the whole parse.
        let t = hest(1, &[nmi(1)]);
        assert!(parse_hest(&t[..t.len() - 1]).is_err());
        assert!(parse_hest(&make_table(b"HEST", 1, &[])).is_err());
        assert!(matches!(
            parse_hest(&make_table(b"BERT", 1, &[0; 4])),
            Err(ParseError::BadSignature { .. })
        ));
        // A buffer longer than the table (a mapped page) is fine.
        let mut long = hest(1, &[nmi(1)]);
        long.extend_from_slice(&[0xff; 100]);
        assert_eq!(parse_hest(&long).unwrap().sources.len(), 1);
        // Zero sources is fine; so is a huge count with nothing behind it.
        assert_eq!(parse_hest(&hest(0, &[])).unwrap().sources.len(), 0);
        let h = parse_hest(&hest(u32::MAX, &[])).unwrap();
        assert!(h.sources.is_empty() && h.error.is_some());
    }
}
