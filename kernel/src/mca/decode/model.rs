//! Model-specific decoding as mcelog does it: which CPU models have an uncore
//! decoder, and the bit-field tables those decoders read. Each model's file
//! (skx.rs, icx.rs, spr.rs, gnr.rs) holds its tables and the short routine
//! that picks a table by bank and MSCOD; this file holds the model table
//! ([`MODELS`], chosen by family/model as mcelog's `cputype.table` chooses)
//! and the one field printer they share ([`decode_bitfield`], mcelog's
//! `decode_bitfield` semantics: names joined by spaces, `<bit:hex>` for an
//! unnamed non-zero value, a new line past 75 characters).

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
    /// Write the bank's model-specific text exactly as mcelog's decoder for
    /// this model writes it (possibly leaving the last line unterminated,
    /// as mcelog does; [`write_fields`] ends it).
    pub decode: fn(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result,
    /// Socket-wide memory channel of a bank, given the error code's channel
    /// field (never 0xf here), as mcelog's `*_memerr_misc` derives it.
    pub channel: fn(bank: u8, cccc: u8) -> Option<u8>,
    /// Banks whose corrected errors may say "corrected by mirroring"
    /// (MCi_MISC bits 63/62 with MISCV), mcelog's `*_ce_type`.
    pub mirror_banks: &'static [u8],
}

/// A sparse string table, as a C array with designated initializers: each
/// entry names the values `lo..=hi`; its length (C's `NELE`) is one past
/// the highest value named.
pub(super) struct Names(pub &'static [(u16, u16, &'static str)]);

impl Names {
    fn len(&self) -> u64 {
        self.0
            .iter()
            .map(|&(_, hi, _)| hi as u64 + 1)
            .max()
            .unwrap_or(0)
    }

    fn get(&self, v: u64) -> Option<&'static str> {
        self.0
            .iter()
            .find(|&&(lo, hi, _)| lo as u64 <= v && v <= hi as u64)
            .map(|&(_, _, s)| s)
    }
}

/// One field of mcelog's bit-field decoder: the table is indexed by the
/// value at `start`, masked to the smallest all-ones mask covering the
/// table's highest index.
pub(super) struct Field {
    pub start: u8,
    pub names: &'static Names,
}

/// A one-bit table: value 1 is the condition (mcelog's `SBITFIELD` names).
macro_rules! flag {
    ($s:expr) => {
        &Names(&[(1, 1, $s)])
    };
}

/// Bits `lo..=hi` of `v` (mcelog's EXTRACT).
pub(super) const fn bits(v: u64, lo: u32, hi: u32) -> u64 {
    (v >> lo) & (u64::MAX >> (63 - (hi - lo)))
}

/// A whole-value table (mcelog's `FIELD(0, table)`).
pub(super) fn table(v: u64, names: &'static Names, out: &mut dyn Write) -> fmt::Result {
    decode_bitfield(v, &[Field { start: 0, names }], out)
}

/// The memory controllers' MSCOD: bits 31:24 name the class, which picks
/// the table for bits 23:16 (nothing for a class without one).
pub(super) fn table_by_class(
    st: u64,
    classes: &[(u64, &'static Names)],
    out: &mut dyn Write,
) -> fmt::Result {
    let class = bits(st, 24, 31);
    match classes.iter().find(|&&(c, _)| c == class) {
        Some(&(_, names)) => table(bits(st, 16, 23), names, out),
        None => Ok(()),
    }
}

/// A single status bit naming a condition (mcelog's `SBITFIELD`).
pub(super) const fn bit(start: u8, names: &'static Names) -> Field {
    Field { start, names }
}

/// mcelog's `bitmask`: the smallest all-ones value not below `i`.
fn bitmask(i: u64) -> u64 {
    let mut mask = 1u64;
    while mask < i {
        mask = (mask << 1) | 1;
    }
    mask
}

/// Print `fields` of `value` as mcelog's `decode_bitfield` does.
pub(super) fn decode_bitfield(value: u64, fields: &[Field], out: &mut dyn Write) -> fmt::Result {
    let mut linelen = 0usize;
    let mut delim = "";
    for f in fields {
        let len = f.names.len();
        let v = (value >> f.start) & bitmask(len.saturating_sub(1));
        let named = if v < len { f.names.get(v) } else { None };
        let mut buf = UnnamedBuf::new();
        let s: &str = match named {
            Some(s) => s,
            None if v == 0 => continue,
            None => {
                write!(buf, "<{}:{:x}>", f.start, v)?;
                buf.as_str()
            }
        };
        if linelen + s.len() > 75 {
            delim = "\n";
            linelen = 0;
        }
        write!(out, "{delim}{s}")?;
        delim = " ";
        linelen += s.len() + 1;
    }
    if linelen > 0 {
        out.write_str("\n")?;
    }
    Ok(())
}

/// Room for `<63:ffffffffffffffff>` without allocating.
struct UnnamedBuf {
    b: [u8; 24],
    n: usize,
}

impl UnnamedBuf {
    fn new() -> Self {
        Self { b: [0; 24], n: 0 }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.b[..self.n]).unwrap_or("")
    }
}

impl Write for UnnamedBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.n + s.len();
        if end > self.b.len() {
            return Err(fmt::Error);
        }
        self.b[self.n..end].copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// All models with model-specific decoding.
static MODELS: &[&Model] = &[
    &super::skx::SKYLAKE_SP,
    &super::icx::ICELAKE_SP,
    &super::icx::ICELAKE_D,
    &super::spr::SAPPHIRE_RAPIDS,
    &super::spr::EMERALD_RAPIDS,
    &super::gnr::GRANITE_RAPIDS,
];

/// The model a record's CPU belongs to, if it has model-specific decoding.
pub(super) fn lookup(vendor: CpuVendor, cpuid: u32) -> Option<&'static Model> {
    let (family, model) = family_model(cpuid);
    MODELS
        .iter()
        .copied()
        .find(|m| m.vendor == vendor && m.family == family && m.models.contains(&model))
}

/// The socket-wide memory channel of a record, when the model and the bank
/// say which one it is (and the error is a memory-controller error that
/// names a channel at all).
pub(super) fn memory_channel(model: &Model, rec: &MceRecord) -> Option<u8> {
    let ErrorClass::MemoryController { cccc, .. } = classify(regs::mcacod(rec.status)) else {
        return None;
    };
    if cccc == 0xf {
        return None;
    }
    (model.channel)(rec.bank, cccc)
}

/// mcelog's correction kind for the `Corrected error ...` status line.
pub(super) fn corrected_by(model: &Model, rec: &MceRecord) -> Option<&'static str> {
    let st = rec.status;
    if st & status::UC != 0 || st & status::MISCV == 0 || !model.mirror_banks.contains(&rec.bank) {
        return None;
    }
    if rec.misc & (1 << 63) != 0 {
        Some("Corrected error by mirroring with channel failover")
    } else if rec.misc & (1 << 62) != 0 {
        Some("Corrected error by mirroring. Primary channel scrubbed successfully")
    } else {
        None
    }
}

/// Remembers whether the last byte written ended a line.
struct LineEnd<'a> {
    out: &'a mut dyn Write,
    open: bool,
    any: bool,
}

impl Write for LineEnd<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(last) = s.as_bytes().last() {
            self.open = *last != b'\n';
            self.any = true;
        }
        self.out.write_str(s)
    }
}

/// Write the model-specific lines of a record, each ending in `\n`: the
/// model decoder's text, and the kernel's own location line
/// (`Location: SOCKET:0 CHANNEL:1 DIMM:? (Skylake-SP)`) when the bank names
/// a memory channel. Where mcelog leaves its text unterminated (a unit
/// prefix with no field named) and runs into its next line, the line is
/// ended here instead. Returns whether the model's decoder wrote anything.
pub(super) fn write_fields(
    model: &Model,
    rec: &MceRecord,
    out: &mut dyn Write,
) -> Result<bool, fmt::Error> {
    let mut w = LineEnd {
        out,
        open: false,
        any: false,
    };
    (model.decode)(rec, &mut w)?;
    if w.open {
        w.write_str("\n")?;
    }
    let any = w.any;
    if let Some(ch) = memory_channel(model, rec) {
        writeln!(
            w,
            "Location: SOCKET:{} CHANNEL:{} DIMM:? ({})",
            rec.socketid, ch, model.name
        )?;
    }
    Ok(any)
}
