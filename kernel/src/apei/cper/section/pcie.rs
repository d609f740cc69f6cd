//! The PCI Express error section (UEFI spec N.2.7): the port, the device's
//! identity, its command/status registers and, when valid, the AER
//! capability registers the firmware captured.

use core::fmt;

use super::Indent;
use crate::apei::cper::CperError;
use crate::apei::table::Reader;

/// Validation bits of the PCIe error section.
pub mod pcie_valid {
    pub const PORT_TYPE: u64 = 1 << 0;
    pub const VERSION: u64 = 1 << 1;
    pub const COMMAND_STATUS: u64 = 1 << 2;
    pub const DEVICE_ID: u64 = 1 << 3;
    pub const SERIAL_NUMBER: u64 = 1 << 4;
    pub const BRIDGE_CONTROL_STATUS: u64 = 1 << 5;
    pub const CAPABILITY: u64 = 1 << 6;
    pub const AER_INFO: u64 = 1 << 7;
}

/// The PCIe error section (208 bytes), the fields useful in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PcieError {
    pub validation_bits: u64,
    pub port_type: u32,
    pub version_major: u8,
    pub version_minor: u8,
    pub command: u16,
    pub status: u16,
    pub vendor_id: u16,
    pub device_id: u16,
    /// Class code, as stored (byte 0 is the programming interface).
    pub class_code: [u8; 3],
    pub function: u8,
    pub device: u8,
    pub segment: u16,
    pub bus: u8,
    pub secondary_bus: u8,
    /// Bits 15:3 are the slot number.
    pub slot: u16,
    pub serial_lower: u32,
    pub serial_upper: u32,
    pub bridge_secondary_status: u16,
    pub bridge_control: u16,
    /// From the AER capability: uncorrectable status, mask, severity;
    /// correctable status, mask; the four TLP header log words.
    pub aer_uncor_status: u32,
    pub aer_uncor_mask: u32,
    pub aer_uncor_severity: u32,
    pub aer_cor_status: u32,
    pub aer_cor_mask: u32,
    pub aer_header_log: [u32; 4],
}

impl PcieError {
    pub const LEN: usize = 208;
    /// Where the AER capability structure starts.
    const AER_OFFSET: usize = 112;

    pub fn parse(b: &[u8]) -> Result<Self, CperError> {
        if b.len() < Self::LEN {
            return Err(CperError::SectionTooShort {
                what: "PCIe error section",
                length: b.len(),
                needed: Self::LEN,
            });
        }
        let mut r = Reader::new(b);
        let mut p = PcieError {
            validation_bits: r.u64()?,
            port_type: r.u32()?,
            version_minor: r.u8()?,
            version_major: r.u8()?,
            ..Default::default()
        };
        r.skip(2)?;
        p.command = r.u16()?;
        p.status = r.u16()?;
        r.skip(4)?;
        p.vendor_id = r.u16()?;
        p.device_id = r.u16()?;
        p.class_code = r.array()?;
        p.function = r.u8()?;
        p.device = r.u8()?;
        p.segment = r.u16()?;
        p.bus = r.u8()?;
        p.secondary_bus = r.u8()?;
        p.slot = r.u16()?;
        r.skip(1)?;
        p.serial_lower = r.u32()?;
        p.serial_upper = r.u32()?;
        p.bridge_secondary_status = r.u16()?;
        p.bridge_control = r.u16()?;
        let mut a = Reader::at(b, Self::AER_OFFSET + 4);
        p.aer_uncor_status = a.u32()?;
        p.aer_uncor_mask = a.u32()?;
        p.aer_uncor_severity = a.u32()?;
        p.aer_cor_status = a.u32()?;
        p.aer_cor_mask = a.u32()?;
        a.skip(4)?;
        for w in &mut p.aer_header_log {
            *w = a.u32()?;
        }
        Ok(p)
    }

    /// Linux's names of the port types (`pcie_port_type_strs`).
    pub const fn port_type_name(t: u32) -> &'static str {
        match t {
            0 => "PCIe end point",
            1 => "legacy PCI end point",
            4 => "root port",
            5 => "upstream switch port",
            6 => "downstream switch port",
            7 => "PCIe to PCI/PCI-X bridge",
            8 => "PCI/PCI-X to PCIe bridge",
            9 => "root complex integrated endpoint device",
            10 => "root complex event collector",
            _ => "unknown",
        }
    }

    /// The fields whose validation bit is set, in Linux's words and order
    /// (`cper_print_pcie`).
    pub fn write_fields(&self, out: &mut dyn fmt::Write, ind: usize) -> fmt::Result {
        use pcie_valid as v;
        let pfx = Indent(ind);
        let has = |bit: u64| self.validation_bits & bit != 0;
        if has(v::PORT_TYPE) {
            writeln!(
                out,
                "{pfx}port_type: {}, {}",
                self.port_type,
                Self::port_type_name(self.port_type)
            )?;
        }
        if has(v::VERSION) {
            writeln!(
                out,
                "{pfx}version: {}.{}",
                self.version_major, self.version_minor
            )?;
        }
        if has(v::COMMAND_STATUS) {
            writeln!(
                out,
                "{pfx}command: {:#06x}, status: {:#06x}",
                self.command, self.status
            )?;
        }
        if has(v::DEVICE_ID) {
            writeln!(
                out,
                "{pfx}device_id: {:04x}:{:02x}:{:02x}.{:x}",
                self.segment, self.bus, self.device, self.function
            )?;
            writeln!(out, "{pfx}slot: {}", self.slot >> 3)?;
            writeln!(out, "{pfx}secondary_bus: {:#04x}", self.secondary_bus)?;
            writeln!(
                out,
                "{pfx}vendor_id: {:#06x}, device_id: {:#06x}",
                self.vendor_id, self.device_id
            )?;
            let c = self.class_code;
            writeln!(out, "{pfx}class_code: {:02x}{:02x}{:02x}", c[2], c[1], c[0])?;
        }
        if has(v::SERIAL_NUMBER) {
            writeln!(
                out,
                "{pfx}serial number: {:#06x}, {:#06x}",
                self.serial_lower, self.serial_upper
            )?;
        }
        if has(v::BRIDGE_CONTROL_STATUS) {
            writeln!(
                out,
                "{pfx}bridge: secondary_status: {:#06x}, control: {:#06x}",
                self.bridge_secondary_status, self.bridge_control
            )?;
        }
        if has(v::AER_INFO) {
            writeln!(
                out,
                "{pfx}aer_uncor_status: {:#010x}, aer_uncor_mask: {:#010x}",
                self.aer_uncor_status, self.aer_uncor_mask
            )?;
            writeln!(
                out,
                "{pfx}aer_uncor_severity: {:#010x}",
                self.aer_uncor_severity
            )?;
            writeln!(
                out,
                "{pfx}aer_cor_status: {:#010x}, aer_cor_mask: {:#010x}",
                self.aer_cor_status, self.aer_cor_mask
            )?;
            let h = self.aer_header_log;
            writeln!(
                out,
                "{pfx}TLP Header: {:08x} {:08x} {:08x} {:08x}",
                h[0], h[1], h[2], h[3]
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A root port error at 0000:03:00.1 with AER information.
    pub fn pcie_payload() -> Vec<u8> {
        let mut b = vec![0u8; PcieError::LEN];
        b[0..8].copy_from_slice(&0xafu64.to_le_bytes());
        b[8..12].copy_from_slice(&4u32.to_le_bytes());
        b[12] = 1; // minor
        b[13] = 3; // major
        b[16..18].copy_from_slice(&0x0406u16.to_le_bytes());
        b[18..20].copy_from_slice(&0x4010u16.to_le_bytes());
        b[24..26].copy_from_slice(&0x8086u16.to_le_bytes());
        b[26..28].copy_from_slice(&0x2030u16.to_le_bytes());
        b[28..31].copy_from_slice(&[0x00, 0x04, 0x06]);
        b[31] = 1; // function
        b[32] = 0; // device
        b[33..35].copy_from_slice(&0u16.to_le_bytes());
        b[35] = 3; // bus
        b[36] = 4; // secondary bus
        b[37..39].copy_from_slice(&(7u16 << 3).to_le_bytes());
        b[48..50].copy_from_slice(&0x2000u16.to_le_bytes());
        b[50..52].copy_from_slice(&0x0003u16.to_le_bytes());
        b[116..120].copy_from_slice(&0x0010_0000u32.to_le_bytes());
        b[120..124].copy_from_slice(&0x1u32.to_le_bytes());
        b[124..128].copy_from_slice(&0x0006_2030u32.to_le_bytes());
        b[140..144].copy_from_slice(&0x4a00_0001u32.to_le_bytes());
        b
    }

    #[test]
    fn fields_in_linux_words() {
        let p = PcieError::parse(&pcie_payload()).unwrap();
        assert_eq!((p.segment, p.bus, p.device, p.function), (0, 3, 0, 1));
        let mut s = String::new();
        p.write_fields(&mut s, 0).unwrap();
        for want in [
            "port_type: 4, root port\n",
            "version: 3.1\n",
            "command: 0x0406, status: 0x4010\n",
            "device_id: 0000:03:00.1\n",
            "slot: 7\n",
            "secondary_bus: 0x04\n",
            "vendor_id: 0x8086, device_id: 0x2030\n",
            "class_code: 060400\n",
            "bridge: secondary_status: 0x2000, control: 0x0003\n",
            "aer_uncor_status: 0x00100000, aer_uncor_mask: 0x00000001\n",
            "aer_uncor_severity: 0x00062030\n",
            "TLP Header: 4a000001 00000000 00000000 00000000\n",
        ] {
            assert!(s.contains(want), "{want:?} not in\n{s}");
        }
        assert!(!s.contains("serial number"));
        assert!(PcieError::parse(&pcie_payload()[..207]).is_err());
    }
}
