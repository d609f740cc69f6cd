//! The APEI instruction interpreter (ACPI spec 18.5.1 serialization
//! instructions, 18.6.2 injection instructions).
//!
//! ERST and EINJ describe each operation ("action") as a list of primitive
//! register instructions. Entries are decoded and checked once when the table
//! is parsed, so a bad table is refused before any register is touched; then
//! [`run_action`] executes the entries of one action in order. The context's
//! `value` carries the action's input (a record offset, a record id) in and
//! its result (what a read returned) out, as Linux's `apei_exec_ctx` does.
//! Every loop is bounded: GOTO by a step budget, STALL_WHILE_TRUE by a time
//! budget and an iteration cap.

use alloc::vec::Vec;
use core::fmt;

use super::gas::{self, AccessError, Gas, GasError, RegisterAccess};
use super::table::{ParseError, Reader};
use crate::time::Clock;

/// Which numbering the instruction byte uses: ERST has 19 instructions,
/// EINJ the first five plus FLUSH_CACHELINE as 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstructionSet {
    Erst,
    Einj,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    ReadRegister,
    ReadRegisterValue,
    WriteRegister,
    WriteRegisterValue,
    Noop,
    LoadVar1,
    LoadVar2,
    StoreVar1,
    Add,
    Subtract,
    AddValue,
    SubtractValue,
    Stall,
    StallWhileTrue,
    SkipNextInstructionIfTrue,
    Goto,
    SetSrcAddressBase,
    SetDstAddressBase,
    MoveData,
    FlushCacheline,
}

impl Instruction {
    pub fn decode(set: InstructionSet, code: u8) -> Option<Instruction> {
        use Instruction::*;
        Some(match (set, code) {
            (_, 0) => ReadRegister,
            (_, 1) => ReadRegisterValue,
            (_, 2) => WriteRegister,
            (_, 3) => WriteRegisterValue,
            (_, 4) => Noop,
            (InstructionSet::Einj, 5) => FlushCacheline,
            (InstructionSet::Einj, _) => return None,
            (InstructionSet::Erst, c) => match c {
                5 => LoadVar1,
                6 => LoadVar2,
                7 => StoreVar1,
                8 => Add,
                9 => Subtract,
                10 => AddValue,
                11 => SubtractValue,
                12 => Stall,
                13 => StallWhileTrue,
                14 => SkipNextInstructionIfTrue,
                15 => Goto,
                16 => SetSrcAddressBase,
                17 => SetDstAddressBase,
                18 => MoveData,
                _ => return None,
            },
        })
    }

    /// Whether the instruction touches its register region (only then must
    /// the GAS be valid).
    pub fn accesses_register(self) -> bool {
        !matches!(
            self,
            Instruction::Noop
                | Instruction::Add
                | Instruction::Subtract
                | Instruction::Stall
                | Instruction::Goto
        )
    }
}

/// One 32-byte instruction entry, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstructionEntry {
    pub action: u8,
    pub instruction: Instruction,
    pub flags: u8,
    pub register: Gas,
    pub value: u64,
    pub mask: u64,
}

impl InstructionEntry {
    pub const LEN: usize = 32;
    /// Flags bit 0: keep the register bits outside `mask` on writes.
    pub const PRESERVE_REGISTER: u8 = 1;

    pub fn preserve_register(&self) -> bool {
        self.flags & Self::PRESERVE_REGISTER != 0
    }
}

/// Why an instruction entry list was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    Parse(ParseError),
    /// Entry `index` uses an instruction code the set does not define.
    UnknownInstruction {
        index: usize,
        instruction: u8,
    },
    /// Entry `index` describes a register APEI cannot use.
    BadRegister {
        index: usize,
        error: GasError,
    },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Parse(e) => write!(f, "malformed table: {e}"),
            TableError::UnknownInstruction { index, instruction } => {
                write!(f, "entry {index}: unknown instruction {instruction:#04x}")
            }
            TableError::BadRegister { index, error } => {
                write!(f, "entry {index}: bad register region: {error}")
            }
        }
    }
}

impl From<ParseError> for TableError {
    fn from(e: ParseError) -> Self {
        TableError::Parse(e)
    }
}

/// The layout ERST and EINJ share after the ACPI header: a header-size
/// u32 (36), four table-specific bytes (40), an entry count u32 (44), and
/// 32-byte instruction entries from offset 48.
pub struct ActionTable {
    pub header: crate::apei::table::SdtHeader,
    pub header_size: u32,
    /// Bytes 40..44: reserved in ERST; EINJ's injection flags are byte 0.
    pub specific: [u8; 4],
    pub entries: Vec<InstructionEntry>,
}

/// Parses and checks an action table: checksum, `signature`, a header size
/// of 48 or 12 (firmware counts it both ways; `field` names it in errors),
/// and an entry list that fits.
pub fn parse_action_table(
    table: &[u8],
    signature: &[u8; 4],
    field: &'static str,
    set: InstructionSet,
) -> Result<ActionTable, TableError> {
    use crate::apei::table::{Reader, SdtHeader};
    let (header, body) = SdtHeader::parse_expecting(table, signature)?;
    let mut r = Reader::at(body, SdtHeader::LEN);
    let header_size = r.u32()?;
    let specific = r.array()?;
    let count = r.u32()?;
    if header_size != 48 && header_size != 12 {
        return Err(ParseError::BadValue {
            field,
            value: header_size as u64,
        }
        .into());
    }
    let entries = parse_entries(body, 48, count, set)?;
    Ok(ActionTable {
        header,
        header_size,
        specific,
        entries,
    })
}

/// Parses `count` entries starting at `offset` of `bytes`. The whole list
/// must fit in `bytes`; each instruction must exist in `set` and each register
/// it touches must be a valid APEI register.
pub fn parse_entries(
    bytes: &[u8],
    offset: usize,
    count: u32,
    set: InstructionSet,
) -> Result<Vec<InstructionEntry>, TableError> {
    let available = bytes.len().saturating_sub(offset) / InstructionEntry::LEN;
    if count as usize > available {
        return Err(ParseError::BadLength {
            field: "instruction entry count",
            value: count as u64,
        }
        .into());
    }
    let mut r = Reader::at(bytes, offset);
    let mut entries = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let action = r.u8()?;
        let code = r.u8()?;
        let flags = r.u8()?;
        r.skip(1)?;
        let register = Gas::parse(&mut r)?;
        let value = r.u64()?;
        let mask = r.u64()?;
        let instruction = Instruction::decode(set, code).ok_or(TableError::UnknownInstruction {
            index,
            instruction: code,
        })?;
        if instruction.accesses_register() {
            register
                .check_apei()
                .map_err(|error| TableError::BadRegister { index, error })?;
        }
        entries.push(InstructionEntry {
            action,
            instruction,
            flags,
            register,
            value,
            mask,
        });
    }
    Ok(entries)
}

/// The interpreter's state for one action (ACPI spec 18.5.1.2: VAR1, VAR2,
/// SRC_BASE, DST_BASE) plus the action's input/output value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecContext {
    pub value: u64,
    pub var1: u64,
    pub var2: u64,
    pub src_base: u64,
    pub dst_base: u64,
}

impl ExecContext {
    pub fn with_input(value: u64) -> Self {
        ExecContext {
            value,
            ..Default::default()
        }
    }
}

/// Bounds that keep broken firmware from hanging the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most instructions executed for one action (GOTO loops).
    pub max_steps: u32,
    /// Longest single STALL; longer requests are clamped (as Linux does).
    pub max_stall_us: u64,
    /// How long one STALL_WHILE_TRUE may keep waiting.
    pub stall_while_true_timeout_us: u64,
    /// Largest MOVE_DATA.
    pub max_move_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 4096,
            max_stall_us: 1000,
            stall_while_true_timeout_us: 30_000,
            max_move_bytes: 1 << 20,
        }
    }
}

/// What went wrong while running an action, and at which table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// The table has no entry for this (required) action.
    NoSuchAction {
        action: u8,
    },
    Access {
        entry: usize,
        error: AccessError,
    },
    /// STALL_WHILE_TRUE waited its whole budget.
    StallTimeout {
        entry: usize,
    },
    /// More than `max_steps` instructions ran: a GOTO loop.
    StepLimit {
        entry: usize,
    },
    /// MOVE_DATA asked for more than `max_move_bytes`, or wrapped around.
    BadMove {
        entry: usize,
        len: u64,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExecError::NoSuchAction { action } => {
                write!(f, "firmware table has no entries for action {action:#04x}")
            }
            ExecError::Access { entry, error } => write!(f, "entry {entry}: {error}"),
            ExecError::StallTimeout { entry } => {
                write!(f, "entry {entry}: STALL_WHILE_TRUE timed out")
            }
            ExecError::StepLimit { entry } => write!(
                f,
                "entry {entry}: too many instructions executed (GOTO loop?)"
            ),
            ExecError::BadMove { entry, len } => {
                write!(f, "entry {entry}: MOVE_DATA of {len:#x} bytes refused")
            }
        }
    }
}

/// Whether `entries` has at least one entry for `action`.
pub fn has_action(entries: &[InstructionEntry], action: u8) -> bool {
    entries.iter().any(|e| e.action == action)
}

/// Runs every entry of `action` in order. The instruction index used by GOTO
/// and SKIP_NEXT_INSTRUCTION_IF_TRUE counts only this action's entries; a
/// jump past the last one ends the action (as in Linux).
pub fn run_action<A: RegisterAccess + ?Sized, C: Clock + ?Sized>(
    entries: &[InstructionEntry],
    action: u8,
    ctx: &mut ExecContext,
    access: &mut A,
    clock: &C,
    limits: &Limits,
) -> Result<(), ExecError> {
    // The action's program is its entries in table order; found by a scan
    // per step rather than collected, so running an action never allocates
    // (the machine-check panic path writes to ERST through here).
    let nth = |ip: usize| {
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.action == action)
            .nth(ip)
            .map(|(i, _)| i)
    };
    if nth(0).is_none() {
        return Err(ExecError::NoSuchAction { action });
    }
    let mut ip: usize = 0;
    let mut steps: u32 = 0;
    while let Some(index) = nth(ip) {
        if steps >= limits.max_steps {
            return Err(ExecError::StepLimit { entry: index });
        }
        steps += 1;
        let Some(entry) = entries.get(index) else {
            break;
        };
        ip = step(entry, index, ip, ctx, access, clock, limits)?;
    }
    Ok(())
}

/// Executes one instruction and returns the next instruction index.
fn step<A: RegisterAccess + ?Sized, C: Clock + ?Sized>(
    e: &InstructionEntry,
    index: usize,
    ip: usize,
    ctx: &mut ExecContext,
    access: &mut A,
    clock: &C,
    limits: &Limits,
) -> Result<usize, ExecError> {
    let acc = |error| ExecError::Access {
        entry: index,
        error,
    };
    let next = ip.saturating_add(1);
    match e.instruction {
        Instruction::ReadRegister => ctx.value = read_field(access, e).map_err(acc)?,
        Instruction::ReadRegisterValue => {
            ctx.value = (read_field(access, e).map_err(acc)? == e.value) as u64
        }
        Instruction::WriteRegister => write_field(access, e, ctx.value).map_err(acc)?,
        Instruction::WriteRegisterValue => {
            ctx.value = e.value;
            write_field(access, e, e.value).map_err(acc)?
        }
        Instruction::Noop => {}
        Instruction::LoadVar1 => ctx.var1 = read_field(access, e).map_err(acc)?,
        Instruction::LoadVar2 => ctx.var2 = read_field(access, e).map_err(acc)?,
        Instruction::StoreVar1 => write_field(access, e, ctx.var1).map_err(acc)?,
        Instruction::Add => ctx.var1 = ctx.var1.wrapping_add(ctx.var2),
        Instruction::Subtract => ctx.var1 = ctx.var1.wrapping_sub(ctx.var2),
        Instruction::AddValue => {
            let v = read_field(access, e).map_err(acc)?.wrapping_add(e.value);
            write_field(access, e, v).map_err(acc)?
        }
        Instruction::SubtractValue => {
            let v = read_field(access, e).map_err(acc)?.wrapping_sub(e.value);
            write_field(access, e, v).map_err(acc)?
        }
        Instruction::Stall => access.stall_us(e.value.min(limits.max_stall_us)),
        Instruction::StallWhileTrue => {
            let stall = ctx.var1.min(limits.max_stall_us);
            let budget = limits.stall_while_true_timeout_us;
            // The iteration cap also ends the wait when the clock does not move.
            let max_polls = (budget / stall.max(1)).saturating_add(1);
            let start = clock.now_us();
            let mut polls = 0u64;
            while read_field(access, e).map_err(acc)? == e.value {
                polls += 1;
                if polls > max_polls || clock.now_us().saturating_sub(start) >= budget {
                    return Err(ExecError::StallTimeout { entry: index });
                }
                access.stall_us(stall);
            }
        }
        Instruction::SkipNextInstructionIfTrue => {
            if read_field(access, e).map_err(acc)? == e.value {
                return Ok(ip.saturating_add(2));
            }
        }
        Instruction::Goto => return Ok(usize::try_from(e.value).unwrap_or(usize::MAX)),
        Instruction::SetSrcAddressBase => ctx.src_base = read_field(access, e).map_err(acc)?,
        Instruction::SetDstAddressBase => ctx.dst_base = read_field(access, e).map_err(acc)?,
        Instruction::MoveData => {
            let offset = read_field(access, e).map_err(acc)?;
            let len = ctx.var2;
            let bad = ExecError::BadMove { entry: index, len };
            if len > limits.max_move_bytes {
                return Err(bad);
            }
            let src = ctx.src_base.checked_add(offset).ok_or(bad)?;
            let dst = ctx.dst_base.checked_add(offset).ok_or(bad)?;
            if src.checked_add(len).is_none() || dst.checked_add(len).is_none() {
                return Err(bad);
            }
            access.copy_memory(dst, src, len).map_err(acc)?
        }
        Instruction::FlushCacheline => access.flush_cacheline(e.register.address),
    }
    Ok(next)
}

/// READ_REGISTER semantics: read, shift down by the bit offset, apply mask.
fn read_field<A: RegisterAccess + ?Sized>(
    access: &mut A,
    e: &InstructionEntry,
) -> Result<u64, AccessError> {
    let raw = gas::read_raw(access, &e.register)?;
    Ok(raw.checked_shr(e.register.bit_offset as u32).unwrap_or(0) & e.mask)
}

/// WRITE_REGISTER semantics: mask, shift up by the bit offset, and with
/// PRESERVE_REGISTER keep the register's bits outside the shifted mask.
fn write_field<A: RegisterAccess + ?Sized>(
    access: &mut A,
    e: &InstructionEntry,
    value: u64,
) -> Result<(), AccessError> {
    let shift = e.register.bit_offset as u32;
    let mut raw = (value & e.mask).checked_shl(shift).unwrap_or(0);
    if e.preserve_register() {
        let keep = !e.mask.checked_shl(shift).unwrap_or(0);
        raw |= gas::read_raw(access, &e.register)? & keep;
    }
    gas::write_raw(access, &e.register, raw)
}

/// Test helpers shared by the ERST and EINJ tests.
#[cfg(test)]
pub(crate) mod testutil {
    use crate::time::fake::FakeClock;
    use alloc::rc::Rc;
    use alloc::vec::Vec;

    /// A fake clock shared between a simulated device (which advances it when
    /// asked to stall) and the code under test.
    #[derive(Clone, Default)]
    pub struct SharedClock(pub Rc<FakeClock>);

    impl crate::time::Clock for SharedClock {
        fn now_us(&self) -> u64 {
            self.0.now_us()
        }
    }

    /// Encodes one 32-byte instruction entry.
    #[allow(clippy::too_many_arguments)]
    pub fn entry(
        out: &mut Vec<u8>,
        action: u8,
        instruction: u8,
        flags: u8,
        space: u8,
        bit_width: u8,
        bit_offset: u8,
        access_size: u8,
        address: u64,
        value: u64,
        mask: u64,
    ) {
        out.extend_from_slice(&[action, instruction, flags, 0]);
        out.extend_from_slice(&crate::apei::gas::tests::gas_bytes(
            space,
            bit_width,
            bit_offset,
            access_size,
            address,
        ));
        out.extend_from_slice(&value.to_le_bytes());
        out.extend_from_slice(&mask.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{entry, SharedClock};
    use super::*;
    use crate::apei::gas::tests::FlatMemory;
    use crate::time::fake::FakeClock;

    const R: u64 = 0x1000; // a 32-bit register
    const R2: u64 = 0x1008; // a 64-bit register

    /// (instruction, flags, bit offset, address, value, mask) for action 1,
    /// memory space, 32-bit access (64-bit at R2).
    fn program(set: InstructionSet, ins: &[(u8, u8, u8, u64, u64, u64)]) -> Vec<InstructionEntry> {
        let mut b = Vec::new();
        for &(i, flags, off, addr, value, mask) in ins {
            let (w, size) = if addr == R2 { (64, 4) } else { (32 - off, 3) };
            entry(&mut b, 1, i, flags, 0, w, off, size, addr, value, mask);
        }
        parse_entries(&b, 0, ins.len() as u32, set).unwrap()
    }

    fn run(entries: &[InstructionEntry], m: &mut FlatMemory, input: u64) -> Result<u64, ExecError> {
        let clock = FakeClock::default();
        let mut ctx = ExecContext::with_input(input);
        run_action(entries, 1, &mut ctx, m, &clock, &Limits::default())?;
        Ok(ctx.value)
    }

    fn set32(m: &mut FlatMemory, addr: u64, v: u32) {
        for (i, b) in v.to_le_bytes().iter().enumerate() {
            m.mem.insert(addr + i as u64, *b);
        }
    }

    fn get32(m: &mut FlatMemory, addr: u64) -> u64 {
        m.read(gas::AddressSpace::SystemMemory, addr, 32).unwrap()
    }

    #[test]
    fn read_shifts_and_masks_and_compares() {
        let mut m = FlatMemory::default();
        set32(&mut m, R, 0x0000_AB00);
        let e = program(InstructionSet::Erst, &[(0, 0, 8, R, 0, 0xFF)]);
        assert_eq!(run(&e, &mut m, 0).unwrap(), 0xAB);
        let e = program(InstructionSet::Erst, &[(1, 0, 8, R, 0xAB, 0xFF)]);
        assert_eq!(run(&e, &mut m, 0).unwrap(), 1);
        let e = program(InstructionSet::Erst, &[(1, 0, 8, R, 0xAC, 0xFF)]);
        assert_eq!(run(&e, &mut m, 0).unwrap(), 0);
    }

    #[test]
    fn writes_with_and_without_preserve() {
        let mut m = FlatMemory::default();
        set32(&mut m, R, 0xFFFF_FFFF);
        // WRITE_REGISTER of the input, 4-bit field at bit 4, preserved.
        let e = program(InstructionSet::Erst, &[(2, 1, 4, R, 0, 0xF)]);
        run(&e, &mut m, 0x1234).unwrap();
        assert_eq!(get32(&mut m, R), 0xFFFF_FF4F);
        // Not preserved: everything else is written as 0.
        let e = program(InstructionSet::Erst, &[(3, 0, 4, R, 0x5, 0xF)]);
        assert_eq!(run(&e, &mut m, 0).unwrap(), 5);
        assert_eq!(get32(&mut m, R), 0x50);
    }

    #[test]
    fn variables_arithmetic_and_store() {
        let mut m = FlatMemory::default();
        set32(&mut m, R, 10);
        set32(&mut m, 0x1004, 3);
        let e = program(
            InstructionSet::Erst,
            &[
                (5, 0, 0, R, 0, u64::MAX),       // var1 = 10
                (6, 0, 0, 0x1004, 0, u64::MAX),  // var2 = 3
                (8, 0, 0, R, 0, 0),              // var1 = 13
                (9, 0, 0, R, 0, 0),              // var1 = 10
                (8, 0, 0, R, 0, 0),              // var1 = 13
                (7, 0, 0, 0x1010, 0, u64::MAX),  // store 13
                (10, 0, 0, 0x1010, 7, u64::MAX), // +7 = 20
                (11, 0, 0, R, 4, u64::MAX),      // 10-4 = 6
            ],
        );
        run(&e, &mut m, 0).unwrap();
        assert_eq!(get32(&mut m, 0x1010), 20);
        assert_eq!(get32(&mut m, R), 6);
    }

    #[test]
    fn skip_and_goto() {
        let mut m = FlatMemory::default();
        set32(&mut m, R, 1);
        // 0: skip next if R == 1; 1: write 0xBAD; 2: write 0x600D
        let e = program(
            InstructionSet::Erst,
            &[
                (14, 0, 0, R, 1, u64::MAX),
                (3, 0, 0, 0x1010, 0xBAD, u64::MAX),
                (3, 0, 0, 0x1014, 0x600D, u64::MAX),
            ],
        );
        run(&e, &mut m, 0).unwrap();
        assert_eq!(get32(&mut m, 0x1010), 0);
        assert_eq!(get32(&mut m, 0x1014), 0x600D);

        // A counter loop: R -= 1; skip the GOTO once R == 0; GOTO 0.
        set32(&mut m, R, 5);
        let e = program(
            InstructionSet::Erst,
            &[
                (11, 0, 0, R, 1, u64::MAX),
                (14, 0, 0, R, 0, u64::MAX),
                (15, 0, 0, 0, 0, 0),
                (3, 0, 0, 0x1014, 7, u64::MAX),
            ],
        );
        run(&e, &mut m, 0).unwrap();
        assert_eq!(get32(&mut m, R), 0);
        assert_eq!(get32(&mut m, 0x1014), 7);

        // GOTO itself forever: bounded.
        let e = program(
            InstructionSet::Erst,
            &[(4, 0, 0, 0, 0, 0), (15, 0, 0, 0, 0, 0)],
        );
        assert!(matches!(
            run(&e, &mut m, 0),
            Err(ExecError::StepLimit { .. })
        ));
        // GOTO past the end finishes the action.
        let e = program(InstructionSet::Erst, &[(15, 0, 0, 0, 99, 0)]);
        assert!(run(&e, &mut m, 0).is_ok());
    }

    #[test]
    fn stall_while_true_times_out_and_finishes() {
        let mut m = FlatMemory::default();
        set32(&mut m, R, 1);
        let e = program(
            InstructionSet::Erst,
            &[(5, 0, 0, R2, 0, u64::MAX), (13, 0, 0, R, 1, u64::MAX)],
        );
        // var1 = 0 µs stall and a clock that never moves: the cap ends it.
        assert_eq!(
            run(&e, &mut m, 0),
            Err(ExecError::StallTimeout { entry: 1 })
        );
        // With a real stall and a moving clock, the time budget ends it.
        m.mem.insert(R2, 100);
        let clock = SharedClock::default();
        struct Ticking<'a>(&'a mut FlatMemory, SharedClock);
        impl RegisterAccess for Ticking<'_> {
            fn read(&mut self, s: gas::AddressSpace, a: u64, b: u8) -> Result<u64, AccessError> {
                self.0.read(s, a, b)
            }
            fn write(
                &mut self,
                s: gas::AddressSpace,
                a: u64,
                b: u8,
                v: u64,
            ) -> Result<(), AccessError> {
                self.0.write(s, a, b, v)
            }
            fn stall_us(&mut self, us: u64) {
                self.1 .0.advance(us);
            }
            fn flush_cacheline(&mut self, _: u64) {}
        }
        let mut t = Ticking(&mut m, clock.clone());
        let mut ctx = ExecContext::default();
        let r = run_action(&e, 1, &mut ctx, &mut t, &clock, &Limits::default());
        assert_eq!(r, Err(ExecError::StallTimeout { entry: 1 }));
        assert!(clock.0.now_us() >= 30_000 && clock.0.now_us() < 31_000);
        set32(&mut m, R, 0);
        assert!(run(&e, &mut m, 0).is_ok());
    }

    #[test]
    fn stall_is_clamped_and_move_data_copies() {
        let mut m = FlatMemory::default();
        let e = program(InstructionSet::Erst, &[(12, 0, 0, 0, 5_000_000, 0)]);
        run(&e, &mut m, 0).unwrap();
        assert_eq!(m.stalled_us, 1000);

        for i in 0..8u64 {
            m.mem.insert(0x5010 + i, i as u8 + 1);
        }
        m.mem.insert(R2, 0x00); // source base 0x5000
        m.mem.insert(R2 + 1, 0x50);
        set32(&mut m, 0x1020, 0x7000); // destination base
        set32(&mut m, 0x1024, 0x10); // offset
        set32(&mut m, 0x1028, 8); // length
        let e = program(
            InstructionSet::Erst,
            &[
                (16, 0, 0, R2, 0, u64::MAX),
                (17, 0, 0, 0x1020, 0, u64::MAX),
                (6, 0, 0, 0x1028, 0, u64::MAX),
                (18, 0, 0, 0x1024, 0, u64::MAX),
            ],
        );
        run(&e, &mut m, 0).unwrap();
        for i in 0..8u64 {
            assert_eq!(m.mem.get(&(0x7010 + i)), Some(&(i as u8 + 1)));
        }
        set32(&mut m, 0x1028, 0xFFFF_FFFF);
        assert!(matches!(
            run(&e, &mut m, 0),
            Err(ExecError::BadMove { entry: 3, .. })
        ));
    }

    #[test]
    fn einj_numbering_and_flush() {
        let mut m = FlatMemory::default();
        let e = program(InstructionSet::Einj, &[(5, 0, 0, 0x4040, 0, 0)]);
        run(&e, &mut m, 0).unwrap();
        assert_eq!(m.flushed, [0x4040]);
        let mut b = Vec::new();
        entry(&mut b, 1, 6, 0, 0, 32, 0, 3, R, 0, 0);
        assert_eq!(
            parse_entries(&b, 0, 1, InstructionSet::Einj),
            Err(TableError::UnknownInstruction {
                index: 0,
                instruction: 6
            })
        );
        assert!(parse_entries(&b, 0, 1, InstructionSet::Erst).is_ok());
    }

    #[test]
    fn malformed_entry_lists() {
        let mut b = Vec::new();
        entry(&mut b, 1, 0, 0, 0, 32, 0, 3, R, 0, 0);
        entry(&mut b, 1, 19, 0, 0, 32, 0, 3, R, 0, 0);
        assert!(matches!(
            parse_entries(&b, 0, 3, InstructionSet::Erst),
            Err(TableError::Parse(ParseError::BadLength { .. }))
        ));
        assert!(matches!(
            parse_entries(&b, 0, u32::MAX, InstructionSet::Erst),
            Err(TableError::Parse(_))
        ));
        assert!(matches!(
            parse_entries(&b, usize::MAX, 1, InstructionSet::Erst),
            Err(TableError::Parse(_))
        ));
        assert_eq!(
            parse_entries(&b, 0, 2, InstructionSet::Erst),
            Err(TableError::UnknownInstruction {
                index: 1,
                instruction: 19
            })
        );
        let mut b = Vec::new();
        entry(&mut b, 1, 0, 0, 2, 32, 0, 3, R, 0, 0);
        assert!(matches!(
            parse_entries(&b, 0, 1, InstructionSet::Erst),
            Err(TableError::BadRegister { index: 0, .. })
        ));
        // A NOOP's register is never used, so it may be anything.
        let mut b = Vec::new();
        entry(&mut b, 1, 4, 0, 9, 0, 0, 0, 0, 0, 0);
        assert!(parse_entries(&b, 0, 1, InstructionSet::Erst).is_ok());
        let e = parse_entries(&b, 0, 1, InstructionSet::Erst).unwrap();
        let mut m = FlatMemory::default();
        let mut ctx = ExecContext::default();
        assert_eq!(
            run_action(
                &e,
                2,
                &mut ctx,
                &mut m,
                &FakeClock::default(),
                &Limits::default()
            ),
            Err(ExecError::NoSuchAction { action: 2 })
        );
    }
}
