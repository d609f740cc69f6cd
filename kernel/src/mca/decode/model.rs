//! Model-specific decoding as data: which bank belongs to which unit on a CPU
//! model, what the unit's model-specific error codes (MCi_STATUS bits 31:16)
//! mean, and how to find the memory channel of a memory error. Adding a model
//! is adding a [`Model`] to [`MODELS`]; the code below stays the same.

use core::fmt::{self, Write};

use super::super::record::{CpuVendor, MceRecord};
use super::super::regs::{self, status};
use super::{classify, family_model, ErrorClass};

/// One CPU model (or a set of models sharing an uncore).
pub(super) struct Model {
    /// Name for the decode, e.g. "Skylake-SP".
    pub name: &'static str,
    pub vendor: CpuVendor,
    /// Display family and models, as [`family_model`] computes them.
    pub family: u32,
    pub models: &'static [u32],
    /// Banks with model-specific meaning; other banks get no extra lines.
    pub banks: &'static [Bank],
}

/// One bank of a model.
pub(super) struct Bank {
    pub bank: u8,
    pub unit: &'static Unit,
    /// Where the memory channel of a memory-controller error comes from.
    pub channel: Channel,
}

/// How a bank's memory errors map to a socket-wide channel number.
#[derive(Clone, Copy)]
pub(super) enum Channel {
    /// The bank serves exactly this channel (per-channel iMC banks).
    Fixed(u8),
    /// The error code's CCCC field plus an offset (a home agent or mesh-to-
    /// memory unit serving several channels, numbered from `offset`).
    FromCode { offset: u8 },
}

/// A kind of uncore unit with its model-specific error codes.
pub(super) struct Unit {
    /// mcelog's prefix for the unit's lines, e.g. "MemCtrl".
    pub name: &'static str,
    pub mscod: &'static Mscod,
    /// MCi_STATUS bits 36:32 log the first error device (iMC and M2M).
    pub first_error_device: bool,
    /// MCi_MISC bits 63/62 tell a correction by mirroring (Skylake-SP M2M).
    pub mirror_misc: bool,
}

/// How a unit's model-specific error code (MSCOD) is to be read.
pub(super) enum Mscod {
    /// Each set bit (numbered within MSCOD) names a condition.
    Flags(&'static [(u8, &'static str)]),
    /// The whole MSCOD is one value.
    Values(&'static [(u16, &'static str)]),
    /// MSCOD bit `bit` chooses between two encodings.
    Select {
        bit: u8,
        set: &'static Mscod,
        clear: &'static Mscod,
    },
}

/// All models with model-specific decoding.
static MODELS: &[&Model] = &[&super::skx::SKYLAKE_SP];

/// The model a record's CPU belongs to, if it has model-specific decoding.
pub(super) fn lookup(vendor: CpuVendor, cpuid: u32) -> Option<&'static Model> {
    let (family, model) = family_model(cpuid);
    MODELS
        .iter()
        .copied()
        .find(|m| m.vendor == vendor && m.family == family && m.models.contains(&model))
}

impl Model {
    pub(super) fn bank(&self, bank: u8) -> Option<&'static Bank> {
        self.banks.iter().find(|b| b.bank == bank)
    }
}

/// The socket-wide memory channel of a record, when the model and the bank
/// say which one it is (and the error is a memory-controller error that
/// names a channel at all).
pub(super) fn memory_channel(model: &Model, rec: &MceRecord) -> Option<u8> {
    let bank = model.bank(rec.bank)?;
    let ErrorClass::MemoryController { cccc, .. } = classify(regs::mcacod(rec.status)) else {
        return None;
    };
    if cccc == 0xf {
        return None;
    }
    match bank.channel {
        Channel::Fixed(c) => Some(c),
        Channel::FromCode { offset } => cccc.checked_add(offset),
    }
}

fn write_mscod(unit: &Unit, table: &Mscod, mscod: u16, out: &mut dyn Write) -> fmt::Result {
    match table {
        Mscod::Flags(flags) => {
            let mut any = false;
            for &(bit, name) in flags.iter() {
                if bit < 16 && mscod & (1 << bit) != 0 {
                    writeln!(out, "{}: {}", unit.name, name)?;
                    any = true;
                }
            }
            if !any {
                writeln!(out, "{}: no model-specific error bits set", unit.name)?;
            }
            Ok(())
        }
        Mscod::Values(values) => match values.iter().find(|(v, _)| *v == mscod) {
            Some((_, name)) => writeln!(out, "{}: {}", unit.name, name),
            None => writeln!(
                out,
                "{}: unknown model-specific error code 0x{:04x}",
                unit.name, mscod
            ),
        },
        Mscod::Select { bit, set, clear } => {
            let chosen = if *bit < 16 && mscod & (1 << bit) != 0 {
                set
            } else {
                clear
            };
            write_mscod(unit, chosen, mscod, out)
        }
    }
}

/// Write the model-specific lines of a record, each ending in `\n`:
/// the unit's MSCOD meaning (`MemCtrl: Corrected patrol scrub error`), a
/// correction by mirroring, the first error device and mcelog's location line
/// (`Location: SOCKET:0 CHANNEL:1 DIMM:?`; no model here names the DIMM).
pub(super) fn write_fields(model: &Model, rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    let Some(bank) = model.bank(rec.bank) else {
        return Ok(());
    };
    let unit = bank.unit;
    let st = rec.status;
    write_mscod(unit, unit.mscod, regs::mscod(st), out)?;

    if unit.mirror_misc && st & status::UC == 0 && st & status::MISCV != 0 {
        if rec.misc & (1 << 63) != 0 {
            writeln!(out, "Corrected error by mirroring with channel failover")?;
        } else if rec.misc & (1 << 62) != 0 {
            writeln!(
                out,
                "Corrected error by mirroring. Primary channel scrubbed successfully"
            )?;
        }
    }

    let memory_error = matches!(
        classify(regs::mcacod(st)),
        ErrorClass::MemoryController { .. }
    );
    if unit.first_error_device && memory_error {
        let dev = (st >> 32) & 0x1f;
        if dev != 0 {
            writeln!(out, "First error device: {dev}")?;
        }
    }
    if let Some(ch) = memory_channel(model, rec) {
        writeln!(
            out,
            "Location: SOCKET:{} CHANNEL:{} DIMM:? ({} {})",
            rec.socketid, ch, model.name, unit.name
        )?;
    }
    Ok(())
}
