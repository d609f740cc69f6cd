//! Helpers shared by the fuzz targets: simulated registers and a clock for
//! the APEI interpreter, a one-row terminal that checks the line editor's
//! echo, builders for ACPI tables and instruction entries, and the seed
//! corpus ([`seeds`]).
//!
//! Everything here is plain host code over the kernel's public API; the
//! targets in `fuzz_targets/` assert the invariants.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use kernel::apei::gas::{AccessError, AddressSpace, Gas, RegisterAccess};
use kernel::apei::interp::{Instruction, InstructionEntry, InstructionSet};
use kernel::apei::table::{checksum, SdtHeader};
use kernel::time::Clock;

pub mod seeds;

/// A little-endian u32 at `at`, if the bytes are there.
pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// A little-endian u64 at `at`, if the bytes are there.
pub fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

// ---------------------------------------------------------------------------
// Time and registers

/// A clock the simulated device moves: by every stall and by one
/// microsecond per register read, so every wait ends.
#[derive(Clone, Default)]
pub struct FuzzClock(pub Rc<Cell<u64>>);

impl FuzzClock {
    pub fn advance(&self, us: u64) {
        self.0.set(self.0.get().saturating_add(us));
    }
}

impl Clock for FuzzClock {
    fn now_us(&self) -> u64 {
        self.0.get()
    }
}

/// Byte-addressed system memory and I/O. Memory is made of loaded regions
/// (fast, contiguous) and, when lenient, a sparse store where every other
/// address reads 0 until written; when strict, anything outside a region
/// faults, as an unmapped physical address would.
pub struct Memory {
    /// (base, bytes) of each loaded region.
    pub regions: Vec<(u64, Vec<u8>)>,
    pub mem: BTreeMap<u64, u8>,
    pub io: BTreeMap<u64, u8>,
    pub strict: bool,
    pub clock: FuzzClock,
    /// The longest single stall the code under test may ask for.
    pub max_stall_us: u64,
    pub accesses: u64,
    pub flushes: u64,
}

impl Memory {
    pub fn lenient(clock: FuzzClock) -> Self {
        Memory {
            regions: Vec::new(),
            mem: BTreeMap::new(),
            io: BTreeMap::new(),
            strict: false,
            clock,
            max_stall_us: u64::MAX,
            accesses: 0,
            flushes: 0,
        }
    }

    pub fn strict(clock: FuzzClock) -> Self {
        Memory {
            strict: true,
            ..Memory::lenient(clock)
        }
    }

    /// Adds a region holding `bytes` at `at`.
    pub fn load(&mut self, at: u64, bytes: &[u8]) {
        self.regions.push((at, bytes.to_vec()));
    }

    /// Stores `bytes` at `at` (inside a region, or in the sparse store).
    pub fn put(&mut self, at: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = at + i as u64;
            match self.region_mut(a, 1) {
                Some(r) => r[0] = b,
                None => {
                    self.mem.insert(a, b);
                }
            }
        }
    }

    /// The `n` bytes at `address` when a region holds all of them.
    fn region_mut(&mut self, address: u64, n: u64) -> Option<&mut [u8]> {
        self.regions.iter_mut().find_map(|(base, bytes)| {
            let off = address.checked_sub(*base)?;
            let end = off.checked_add(n)?;
            bytes.get_mut(usize::try_from(off).ok()?..usize::try_from(end).ok()?)
        })
    }

    /// The bytes of an access, little endian, as a slice of a region or of
    /// a sparse store's addresses.
    fn access(
        &mut self,
        space: AddressSpace,
        address: u64,
        bits: u8,
    ) -> Result<Place<'_>, AccessError> {
        assert!(
            matches!(bits, 8 | 16 | 32 | 64),
            "the interpreter asked for a {bits}-bit access"
        );
        let n = u64::from(bits / 8);
        let fault = AccessError::Fault { space, address };
        let last = address.checked_add(n - 1).ok_or(fault)?;
        match space {
            AddressSpace::SystemMemory => {
                let strict = self.strict;
                // (Two lookups: the borrow checker cannot see the fallthrough.)
                if self.region_mut(address, n).is_some() {
                    return Ok(Place::Region(self.region_mut(address, n).unwrap()));
                }
                if strict {
                    return Err(fault);
                }
                Ok(Place::Sparse(&mut self.mem, address..=last))
            }
            AddressSpace::SystemIo => Ok(Place::Sparse(&mut self.io, address..=last)),
            s => Err(AccessError::UnsupportedSpace(s)),
        }
    }
}

enum Place<'a> {
    Region(&'a mut [u8]),
    Sparse(&'a mut BTreeMap<u64, u8>, std::ops::RangeInclusive<u64>),
}

impl RegisterAccess for Memory {
    fn read(&mut self, space: AddressSpace, address: u64, bits: u8) -> Result<u64, AccessError> {
        self.accesses += 1;
        self.clock.advance(1);
        Ok(match self.access(space, address, bits)? {
            Place::Region(r) => r.iter().rev().fold(0, |v, &b| v << 8 | u64::from(b)),
            Place::Sparse(m, addrs) => addrs.enumerate().fold(0, |v, (i, a)| {
                v | u64::from(*m.get(&a).unwrap_or(&0)) << (8 * i)
            }),
        })
    }

    fn write(
        &mut self,
        space: AddressSpace,
        address: u64,
        bits: u8,
        value: u64,
    ) -> Result<(), AccessError> {
        self.accesses += 1;
        if bits < 64 {
            assert_eq!(value >> bits, 0, "a {bits}-bit write of {value:#x}");
        }
        match self.access(space, address, bits)? {
            Place::Region(r) => r.copy_from_slice(&value.to_le_bytes()[..r.len()]),
            Place::Sparse(m, addrs) => {
                for (i, a) in addrs.enumerate() {
                    m.insert(a, (value >> (8 * i)) as u8);
                }
            }
        }
        Ok(())
    }

    fn stall_us(&mut self, us: u64) {
        assert!(us <= self.max_stall_us, "a stall of {us} us");
        self.clock.advance(us.max(1));
    }

    fn flush_cacheline(&mut self, _address: u64) {
        self.flushes += 1;
    }
}

/// GHES copies status blocks through the same byte-at-a-time reads.
impl kernel::apei::ghes::BlockAccess for Memory {}

// ---------------------------------------------------------------------------
// Tables and instruction entries

/// A table with `signature`, a correct length and checksum, and `body`
/// after the 36-byte header.
pub fn make_table(signature: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(signature);
    t.extend_from_slice(&((SdtHeader::LEN + body.len()) as u32).to_le_bytes());
    t.push(revision);
    t.push(0);
    t.extend_from_slice(b"RASOS ");
    t.extend_from_slice(b"RASTABLE");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(b"RAS ");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(body);
    let sum = checksum(&t);
    t[9] = 0u8.wrapping_sub(sum);
    t
}

pub fn gas_bytes(space: u8, width: u8, offset: u8, size: u8, addr: u64) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&[space, width, offset, size]);
    b[4..].copy_from_slice(&addr.to_le_bytes());
    b
}

/// One 32-byte instruction entry.
pub fn entry(
    action: u8,
    instruction: u8,
    flags: u8,
    gas: [u8; 12],
    value: u64,
    mask: u64,
) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..4].copy_from_slice(&[action, instruction, flags, 0]);
    e[4..16].copy_from_slice(&gas);
    e[16..24].copy_from_slice(&value.to_le_bytes());
    e[24..32].copy_from_slice(&mask.to_le_bytes());
    e
}

/// The instruction byte that decodes to `instruction` in `set`; panics when
/// none does (the parser produced an instruction the set lacks).
pub fn instruction_code(set: InstructionSet, instruction: Instruction) -> u8 {
    (0..=255u8)
        .find(|&c| Instruction::decode(set, c) == Some(instruction))
        .unwrap_or_else(|| panic!("{instruction:?} is not in the {set:?} instruction set"))
}

pub fn gas_encode(g: &Gas) -> [u8; 12] {
    gas_bytes(
        g.space.id(),
        g.bit_width,
        g.bit_offset,
        g.access_size,
        g.address,
    )
}

/// The entry as the table holds it (reserved byte 0).
pub fn encode_entry(set: InstructionSet, e: &InstructionEntry) -> [u8; 32] {
    entry(
        e.action,
        instruction_code(set, e.instruction),
        e.flags,
        gas_encode(&e.register),
        e.value,
        e.mask,
    )
}

/// Asserts that `entries` are exactly the 32-byte entries at `offset` of
/// `bytes` (reserved byte aside), that each instruction exists in `set`, and
/// that every register an instruction touches passed the APEI checks.
pub fn assert_entries_match(
    bytes: &[u8],
    offset: usize,
    set: InstructionSet,
    entries: &[InstructionEntry],
) {
    if entries.is_empty() {
        return; // no entry, no bytes read: the offset may be anything
    }
    let end = offset + entries.len() * InstructionEntry::LEN;
    assert!(
        end <= bytes.len(),
        "entries end at {end}, past {} bytes",
        bytes.len()
    );
    for (i, e) in entries.iter().enumerate() {
        let at = offset + i * InstructionEntry::LEN;
        let mut raw: [u8; 32] = bytes[at..at + 32].try_into().unwrap();
        raw[3] = 0;
        assert_eq!(
            encode_entry(set, e),
            raw,
            "entry {i} does not match its bytes"
        );
        if e.instruction.accesses_register() {
            let bits = e
                .register
                .check_apei()
                .expect("an accepted entry has a usable register");
            assert!(matches!(bits, 8 | 16 | 32 | 64));
        }
    }
}

// ---------------------------------------------------------------------------
// Output sinks

/// A `fmt::Write` that fails once `limit` bytes were written: the describe
/// functions must pass the error on, not panic.
pub struct Limited {
    pub out: String,
    pub limit: usize,
}

impl fmt::Write for Limited {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.out.len() + s.len() > self.limit {
            return Err(fmt::Error);
        }
        self.out.push_str(s);
        Ok(())
    }
}

/// One row of a VT100 with no right margin: it understands exactly what the
/// line editor may send (printable ASCII, CR, LF, `ESC [ K`, `ESC [ n C`,
/// `ESC [ n D`) and panics on anything else, or on a cursor movement that
/// would leave the drawn text.
#[derive(Default)]
pub struct Terminal {
    /// The current row.
    pub row: Vec<u8>,
    pub col: usize,
    /// Rows scrolled off (bounded: only their count is kept).
    pub lines: usize,
    esc: Option<Vec<u8>>,
}

impl Terminal {
    pub fn byte(&mut self, b: u8) {
        if let Some(seq) = &mut self.esc {
            seq.push(b);
            if !(0x40..=0x7e).contains(&b) || seq.len() == 1 {
                assert!(seq.len() < 12, "runaway escape sequence {seq:?}");
                return;
            }
            let seq = self.esc.take().unwrap();
            assert_eq!(seq[0], b'[', "only CSI sequences are sent: {seq:?}");
            let params = std::str::from_utf8(&seq[1..seq.len() - 1]).unwrap();
            let n: usize = if params.is_empty() {
                1
            } else {
                params.parse().expect("numeric parameter")
            };
            match b {
                b'K' => {
                    assert!(params.is_empty(), "ESC [ {params} K");
                    self.row.truncate(self.col);
                }
                b'D' => {
                    assert!(n > 0, "ESC [ 0 D moves by one on a VT100");
                    assert!(n <= self.col, "moves {n} left from column {}", self.col);
                    self.col -= n;
                }
                b'C' => {
                    assert!(n > 0, "ESC [ 0 C moves by one on a VT100");
                    assert!(
                        self.col + n <= self.row.len(),
                        "moves {n} right past the text"
                    );
                    self.col += n;
                }
                other => panic!("unexpected CSI final byte {other:#04x}"),
            }
            return;
        }
        match b {
            0x1b => self.esc = Some(Vec::new()),
            b'\r' => self.col = 0,
            b'\n' => {
                self.row.clear();
                self.lines += 1;
            }
            0x20..=0x7e => {
                assert!(self.col <= self.row.len());
                if self.col == self.row.len() {
                    self.row.push(b);
                } else {
                    self.row[self.col] = b;
                }
                self.col += 1;
            }
            other => panic!("the editor echoed byte {other:#04x}"),
        }
    }

    /// Whether the row shows exactly `text` with the cursor at `col`, and no
    /// escape sequence is half written.
    pub fn shows(&self, text: &str, col: usize) -> bool {
        self.esc.is_none() && self.row == text.as_bytes() && self.col == col
    }
}

impl fmt::Write for Terminal {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.byte(b));
        Ok(())
    }
}
