//! The processor generic error section (UEFI spec N.2.4.1).

use core::fmt;

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
