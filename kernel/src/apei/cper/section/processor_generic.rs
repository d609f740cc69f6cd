//! The processor generic error section (UEFI spec N.2.4.1).

use core::fmt;

use super::Indent;
use crate::apei::cper::CperError;
use crate::apei::table::Reader;

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

/// Validation bits of the processor generic error section.
pub mod proc_valid {
    pub const TYPE: u64 = 1 << 0;
    pub const ISA: u64 = 1 << 1;
    pub const ERROR_TYPE: u64 = 1 << 2;
    pub const OPERATION: u64 = 1 << 3;
    pub const FLAGS: u64 = 1 << 4;
    pub const LEVEL: u64 = 1 << 5;
    pub const VERSION: u64 = 1 << 6;
    // Bit 7: the brand string, not kept.
    pub const ID: u64 = 1 << 8;
    pub const TARGET_ADDRESS: u64 = 1 << 9;
    pub const REQUESTOR_ID: u64 = 1 << 10;
    pub const RESPONDER_ID: u64 = 1 << 11;
    pub const IP: u64 = 1 << 12;
}

/// The name of entry `v` of `names`, or "unknown".
fn name_of(names: &[&'static str], v: u8) -> &'static str {
    names.get(v as usize).copied().unwrap_or("unknown")
}

/// The names of the bits set in `bits`, joined by ", " on one line.
pub(super) fn write_bit_names(
    out: &mut dyn fmt::Write,
    ind: usize,
    bits: u64,
    names: &[&str],
) -> fmt::Result {
    let mut first = true;
    for (i, n) in names.iter().enumerate() {
        if bits & (1 << i) != 0 {
            if first {
                write!(out, "{}{n}", Indent(ind))?;
            } else {
                write!(out, ", {n}")?;
            }
            first = false;
        }
    }
    if !first {
        writeln!(out)?;
    }
    Ok(())
}

impl ProcessorGenericError {
    /// The fields whose validation bit is set, in Linux's words and order
    /// (`cper_print_proc_generic`).
    pub fn write_fields(&self, out: &mut dyn fmt::Write, ind: usize) -> fmt::Result {
        use proc_valid as v;
        let pfx = Indent(ind);
        let has = |bit: u64| self.validation_bits & bit != 0;
        if has(v::TYPE) {
            let t = name_of(&["IA32/X64", "IA64", "ARM"], self.processor_type);
            writeln!(out, "{pfx}processor_type: {}, {t}", self.processor_type)?;
        }
        if has(v::ISA) {
            let t = name_of(&["IA32", "IA64", "X64", "ARM A32/T32", "ARM A64"], self.isa);
            writeln!(out, "{pfx}processor_isa: {}, {t}", self.isa)?;
        }
        if has(v::ERROR_TYPE) {
            writeln!(out, "{pfx}error_type: {:#04x}", self.error_type)?;
            write_bit_names(
                out,
                ind,
                self.error_type as u64,
                &[
                    "cache error",
                    "TLB error",
                    "bus error",
                    "micro-architectural error",
                ],
            )?;
        }
        if has(v::OPERATION) {
            let t = name_of(
                &[
                    "unknown or generic",
                    "data read",
                    "data write",
                    "instruction execution",
                ],
                self.operation,
            );
            writeln!(out, "{pfx}operation: {}, {t}", self.operation)?;
        }
        if has(v::FLAGS) {
            writeln!(out, "{pfx}flags: {:#04x}", self.flags)?;
            write_bit_names(
                out,
                ind,
                self.flags as u64,
                &["restartable", "precise IP", "overflow", "corrected"],
            )?;
        }
        if has(v::LEVEL) {
            writeln!(out, "{pfx}level: {}", self.level)?;
        }
        if has(v::VERSION) {
            writeln!(out, "{pfx}version_info: {:#018x}", self.cpu_version)?;
        }
        for (bit, name, val) in [
            (v::ID, "processor_id", self.processor_id),
            (v::TARGET_ADDRESS, "target_address", self.target_address),
            (v::REQUESTOR_ID, "requestor_id", self.requestor_id),
            (v::RESPONDER_ID, "responder_id", self.responder_id),
            (v::IP, "IP", self.ip),
        ] {
            if has(bit) {
                writeln!(out, "{pfx}{name}: {val:#018x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_linux_words() {
        let mut b = [0u8; ProcessorGenericError::LEN];
        b[0..8].copy_from_slice(&0x113fu64.to_le_bytes());
        b[8] = 0; // IA32/X64
        b[9] = 2; // X64
        b[10] = 0b101; // cache, bus
        b[11] = 1; // data read
        b[12] = 0b1001; // restartable, corrected
        b[13] = 2;
        b[152..160].copy_from_slice(&3u64.to_le_bytes());
        b[184..192].copy_from_slice(&0xffff_8000_0000_1234u64.to_le_bytes());
        let p = ProcessorGenericError::parse(&b).unwrap();
        let mut s = alloc::string::String::new();
        p.write_fields(&mut s, 1).unwrap();
        assert_eq!(
            s,
            " processor_type: 0, IA32/X64\n processor_isa: 2, X64\n error_type: 0x05\n cache error, bus error\n operation: 1, data read\n flags: 0x09\n restartable, corrected\n level: 2\n processor_id: 0x0000000000000003\n IP: 0xffff800000001234\n"
        );
        assert!(ProcessorGenericError::parse(&b[..191]).is_err());
    }
}
