//! The Error Injection table (ACPI spec 18.6): asks the firmware to plant a
//! hardware error, so the error-handling paths can be tested for real.
//!
//! Requests are checked before any register is touched: exactly one error
//! type, one the platform says it supports, and a memory target only at page
//! granularity in RAM (the caller's `is_ram`), as Linux insists. The flow is
//! Linux's: BEGIN, the error type (through the SET_ERROR_TYPE_WITH_ADDRESS
//! structure when offered), EXECUTE, poll busy, status, run the trigger
//! action table the firmware hands back, END.

use alloc::vec::Vec;
use core::fmt;

use bitflags::bitflags;

use super::busy;
use super::gas::{AccessError, AddressSpace, RegisterAccess};
use super::interp::{
    self, ExecContext, ExecError, Instruction, InstructionEntry, InstructionSet, Limits, TableError,
};
use super::table::{ParseError, Reader, SdtHeader};
use crate::time::Clock;

/// Injection actions (ACPI spec table 18.24).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EinjAction {
    BeginInjectionOperation = 0,
    GetTriggerErrorActionTable = 1,
    SetErrorType = 2,
    GetErrorType = 3,
    EndOperation = 4,
    ExecuteOperation = 5,
    CheckBusyStatus = 6,
    GetCommandStatus = 7,
    SetErrorTypeWithAddress = 8,
    GetExecuteOperationTimings = 9,
    /// Only in the trigger error action table.
    TriggerError = 0xFF,
}

bitflags! {
    /// Error types (ACPI spec table 18.30), as GET_ERROR_TYPE reports them
    /// and SET_ERROR_TYPE takes them (one bit at a time).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ErrorType: u32 {
        const PROCESSOR_CORRECTABLE = 1 << 0;
        const PROCESSOR_UNCORRECTABLE_NON_FATAL = 1 << 1;
        const PROCESSOR_UNCORRECTABLE_FATAL = 1 << 2;
        const MEMORY_CORRECTABLE = 1 << 3;
        const MEMORY_UNCORRECTABLE_NON_FATAL = 1 << 4;
        const MEMORY_UNCORRECTABLE_FATAL = 1 << 5;
        const PCIE_CORRECTABLE = 1 << 6;
        const PCIE_UNCORRECTABLE_NON_FATAL = 1 << 7;
        const PCIE_UNCORRECTABLE_FATAL = 1 << 8;
        const PLATFORM_CORRECTABLE = 1 << 9;
        const PLATFORM_UNCORRECTABLE_NON_FATAL = 1 << 10;
        const PLATFORM_UNCORRECTABLE_FATAL = 1 << 11;
        const VENDOR_DEFINED = 1 << 31;
        // Firmware may report bits newer specs define; keep them.
        const _ = !0;
    }
}

impl ErrorType {
    const NAMES: [(ErrorType, &'static str); 13] = [
        (Self::PROCESSOR_CORRECTABLE, "processor correctable"),
        (
            Self::PROCESSOR_UNCORRECTABLE_NON_FATAL,
            "processor uncorrectable non-fatal",
        ),
        (
            Self::PROCESSOR_UNCORRECTABLE_FATAL,
            "processor uncorrectable fatal",
        ),
        (Self::MEMORY_CORRECTABLE, "memory correctable"),
        (
            Self::MEMORY_UNCORRECTABLE_NON_FATAL,
            "memory uncorrectable non-fatal",
        ),
        (
            Self::MEMORY_UNCORRECTABLE_FATAL,
            "memory uncorrectable fatal",
        ),
        (Self::PCIE_CORRECTABLE, "PCIe correctable"),
        (
            Self::PCIE_UNCORRECTABLE_NON_FATAL,
            "PCIe uncorrectable non-fatal",
        ),
        (Self::PCIE_UNCORRECTABLE_FATAL, "PCIe uncorrectable fatal"),
        (Self::PLATFORM_CORRECTABLE, "platform correctable"),
        (
            Self::PLATFORM_UNCORRECTABLE_NON_FATAL,
            "platform uncorrectable non-fatal",
        ),
        (
            Self::PLATFORM_UNCORRECTABLE_FATAL,
            "platform uncorrectable fatal",
        ),
        (Self::VENDOR_DEFINED, "vendor defined"),
    ];

    /// Memory error types (the ones a memory target makes sense for).
    pub const MEMORY: ErrorType = ErrorType::MEMORY_CORRECTABLE
        .union(ErrorType::MEMORY_UNCORRECTABLE_NON_FATAL)
        .union(ErrorType::MEMORY_UNCORRECTABLE_FATAL);
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut rest = *self;
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(", ")?;
                }
                f.write_str(name)?;
                first = false;
                rest.remove(bit);
            }
        }
        if !rest.is_empty() {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "unknown {:#x}", rest.bits())?;
        }
        Ok(())
    }
}

/// A parsed EINJ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EinjTable {
    pub header: SdtHeader,
    pub injection_header_size: u32,
    pub injection_flags: u8,
    pub entries: Vec<InstructionEntry>,
}

impl EinjTable {
    pub const ENTRIES_OFFSET: usize = 48;

    /// Parses and checks an EINJ: checksum, signature, injection header size
    /// (12, or 48 as some firmware counts it), and an entry list that fits.
    pub fn parse(table: &[u8]) -> Result<EinjTable, TableError> {
        let t = interp::parse_action_table(
            table,
            b"EINJ",
            "injection header size",
            InstructionSet::Einj,
        )?;
        Ok(EinjTable {
            header: t.header,
            injection_header_size: t.header_size,
            injection_flags: t.specific[0],
            entries: t.entries,
        })
    }

    /// Where the SET_ERROR_TYPE_WITH_ADDRESS structure lives: the register
    /// region of that action's WRITE_REGISTER entry in system memory (ACPI
    /// 5.0 and later; found the way Linux does).
    pub fn set_error_type_with_address(&self) -> Option<u64> {
        self.entries
            .iter()
            .find(|e| {
                e.action == EinjAction::SetErrorTypeWithAddress as u8
                    && e.instruction == Instruction::WriteRegister
                    && e.register.space == AddressSpace::SystemMemory
            })
            .map(|e| e.register.address)
    }
}

/// A memory target: `address` with `mask` saying which address bits matter
/// (all ones down to bit 12 or lower: page granularity or finer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryTarget {
    pub address: u64,
    pub mask: u64,
}

/// What to inject, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectRequest {
    /// Exactly one type bit.
    pub error_type: ErrorType,
    pub apic_id: Option<u32>,
    pub memory: Option<MemoryTarget>,
    /// PCIe segment/bus/device/function as the spec packs it.
    pub pcie_sbdf: Option<u32>,
}

impl InjectRequest {
    pub fn new(error_type: ErrorType) -> Self {
        InjectRequest {
            error_type,
            apic_id: None,
            memory: None,
            pcie_sbdf: None,
        }
    }

    fn has_parameters(&self) -> bool {
        self.apic_id.is_some() || self.memory.is_some() || self.pcie_sbdf.is_some()
    }

    /// How many bytes the memory target leaves to the firmware's choice:
    /// the whole range its mask leaves open (a page without a target).
    pub fn memory_span(&self) -> u64 {
        self.memory
            .map_or(crate::mm::frame::PAGE_SIZE, |m| (!m.mask).wrapping_add(1))
    }
}

/// Whether `[start, start + len)` lies inside one of the `regions` (start,
/// end) of usable RAM; an empty range counts as one byte.
pub fn in_usable_ram(regions: &[(u64, u64)], start: u64, len: u64) -> bool {
    let Some(end) = start.checked_add(len.max(1)) else {
        return false;
    };
    regions.iter().any(|&(s, e)| s <= start && end <= e)
}

/// Flags of the SET_ERROR_TYPE_WITH_ADDRESS structure.
pub const SETWA_APIC_ID_VALID: u32 = 1 << 0;
pub const SETWA_MEMORY_VALID: u32 = 1 << 1;
pub const SETWA_PCIE_SBDF_VALID: u32 = 1 << 2;

/// How long the firmware may stay busy. Generous: some firmware (and test
/// harnesses playing firmware from the host) take far longer than Linux's.
pub const DEFAULT_TIMEOUT_US: u64 = 1_000_000;
/// Largest trigger table we read; real ones hold a handful of entries.
pub const MAX_TRIGGER_TABLE: u32 = 64 * 1024;
const PAGE_MASK: u64 = !0xFFF;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EinjError {
    Table(TableError),
    Interp(ExecError),
    Access(AccessError),
    /// A request must name exactly one error type.
    NotSingleType(ErrorType),
    Unsupported {
        requested: ErrorType,
        supported: ErrorType,
    },
    /// The memory target is not in RAM.
    NotRam {
        address: u64,
    },
    /// The mask would let the firmware pick more than a page.
    BadMask {
        mask: u64,
    },
    /// APIC id, memory or PCIe target given, but the platform has no
    /// SET_ERROR_TYPE_WITH_ADDRESS to pass them.
    NoAddressStructure,
    /// The firmware stayed busy longer than the timeout.
    Timeout,
    /// Command status 1.
    Failed,
    /// Command status 2.
    InvalidAccess,
    UnknownStatus(u64),
    /// GET_TRIGGER_ERROR_ACTION_TABLE returned address 0.
    NoTriggerTable,
    /// The trigger error action table is malformed.
    TriggerTable(TableError),
}

impl fmt::Display for EinjError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EinjError::Table(e) => write!(f, "EINJ table rejected: {e}"),
            EinjError::Interp(e) => write!(f, "EINJ firmware instructions failed: {e}"),
            EinjError::Access(e) => write!(f, "EINJ memory access failed: {e}"),
            EinjError::NotSingleType(t) => {
                write!(f, "inject exactly one error type at a time (got: {t})")
            }
            EinjError::Unsupported {
                requested,
                supported,
            } => write!(
                f,
                "the platform cannot inject {requested} (it supports: {supported})"
            ),
            EinjError::NotRam { address } => {
                write!(f, "refusing to inject at {address:#x}: not RAM")
            }
            EinjError::BadMask { mask } => write!(
                f,
                "address mask {mask:#x} is coarser than a page; refusing to let firmware choose"
            ),
            EinjError::NoAddressStructure => f.write_str(
                "the platform cannot take an APIC id, address or PCIe target (no SET_ERROR_TYPE_WITH_ADDRESS)",
            ),
            EinjError::Timeout => f.write_str("the firmware did not finish the injection in time"),
            EinjError::Failed => f.write_str("the firmware reported an unknown failure"),
            EinjError::InvalidAccess => f.write_str("the firmware reported an invalid access"),
            EinjError::UnknownStatus(v) => write!(f, "the firmware returned unknown status {v}"),
            EinjError::NoTriggerTable => {
                f.write_str("the firmware gave no trigger error action table")
            }
            EinjError::TriggerTable(e) => write!(f, "trigger error action table rejected: {e}"),
        }
    }
}

impl From<TableError> for EinjError {
    fn from(e: TableError) -> Self {
        EinjError::Table(e)
    }
}

impl From<ExecError> for EinjError {
    fn from(e: ExecError) -> Self {
        EinjError::Interp(e)
    }
}

impl From<AccessError> for EinjError {
    fn from(e: AccessError) -> Self {
        EinjError::Access(e)
    }
}

/// Runs one action with `input` and returns the output value.
fn exec<A: RegisterAccess + ?Sized, C: Clock + ?Sized>(
    entries: &[InstructionEntry],
    access: &mut A,
    clock: &C,
    limits: &Limits,
    action: EinjAction,
    input: u64,
) -> Result<u64, EinjError> {
    let mut ctx = ExecContext::with_input(input);
    interp::run_action(entries, action as u8, &mut ctx, access, clock, limits)?;
    Ok(ctx.value)
}

/// The EINJ driver over a register/memory interface and a clock.
pub struct Einj<A: RegisterAccess, C: Clock> {
    table: EinjTable,
    access: A,
    clock: C,
    limits: Limits,
    timeout_us: u64,
}

impl<A: RegisterAccess, C: Clock> Einj<A, C> {
    pub fn new(table: EinjTable, access: A, clock: C) -> Self {
        Einj {
            table,
            access,
            clock,
            limits: Limits::default(),
            timeout_us: DEFAULT_TIMEOUT_US,
        }
    }

    pub fn table(&self) -> &EinjTable {
        &self.table
    }

    /// The register interface (tests inspect their simulated device here).
    pub fn access_mut(&mut self) -> &mut A {
        &mut self.access
    }

    pub fn set_timeout_us(&mut self, us: u64) {
        self.timeout_us = us;
    }

    fn exec(&mut self, action: EinjAction, input: u64) -> Result<u64, EinjError> {
        exec(
            &self.table.entries,
            &mut self.access,
            &self.clock,
            &self.limits,
            action,
            input,
        )
    }

    /// Runs `action` only if the table has it (BEGIN/END are optional).
    fn exec_optional(&mut self, action: EinjAction) -> Result<(), EinjError> {
        if interp::has_action(&self.table.entries, action as u8) {
            self.exec(action, 0)?;
        }
        Ok(())
    }

    /// The error types the platform can inject (GET_ERROR_TYPE).
    pub fn supported_types(&mut self) -> Result<ErrorType, EinjError> {
        let v = self.exec(EinjAction::GetErrorType, 0)?;
        Ok(ErrorType::from_bits_retain(v as u32))
    }

    /// Checks `req`, then injects it and runs the trigger actions.
    /// `is_ram(addr)` says whether a physical address is ordinary RAM.
    pub fn inject(
        &mut self,
        req: &InjectRequest,
        is_ram: impl Fn(u64) -> bool,
    ) -> Result<(), EinjError> {
        let t = req.error_type;
        if t.bits().count_ones() != 1 {
            return Err(EinjError::NotSingleType(t));
        }
        let supported = self.supported_types()?;
        if !supported.contains(t) {
            return Err(EinjError::Unsupported {
                requested: t,
                supported,
            });
        }
        if let Some(m) = req.memory {
            if m.mask & PAGE_MASK != PAGE_MASK {
                return Err(EinjError::BadMask { mask: m.mask });
            }
            let base = m.address & m.mask;
            if !is_ram(base) {
                return Err(EinjError::NotRam { address: base });
            }
        }
        let setwa = self.table.set_error_type_with_address();
        if req.has_parameters() && setwa.is_none() {
            return Err(EinjError::NoAddressStructure);
        }

        self.exec_optional(EinjAction::BeginInjectionOperation)?;
        match setwa {
            Some(at) => self.write_setwa(at, req)?,
            None => {
                self.exec(EinjAction::SetErrorType, t.bits() as u64)?;
            }
        }
        self.exec(EinjAction::ExecuteOperation, 0)?;
        self.wait_not_busy()?;
        match self.exec(EinjAction::GetCommandStatus, 0)? {
            0 => {}
            1 => return Err(EinjError::Failed),
            2 => return Err(EinjError::InvalidAccess),
            v => return Err(EinjError::UnknownStatus(v)),
        }
        let trigger_at = self.exec(EinjAction::GetTriggerErrorActionTable, 0)?;
        let trigger = self.read_trigger_table(trigger_at)?;
        // An empty trigger table means the injection needs no trigger.
        if interp::has_action(&trigger, EinjAction::TriggerError as u8) {
            let mut ctx = ExecContext::default();
            interp::run_action(
                &trigger,
                EinjAction::TriggerError as u8,
                &mut ctx,
                &mut self.access,
                &self.clock,
                &self.limits,
            )?;
        }
        self.exec_optional(EinjAction::EndOperation)
    }

    /// Polls CHECK_BUSY_STATUS (bit 0) until clear, within the timeout.
    fn wait_not_busy(&mut self) -> Result<(), EinjError> {
        let (entries, clock, limits) = (&self.table.entries, &self.clock, &self.limits);
        busy::wait_while_busy(
            &mut self.access,
            clock,
            self.timeout_us,
            EinjError::Timeout,
            |access| {
                Ok(exec(
                    entries,
                    access,
                    clock,
                    limits,
                    EinjAction::CheckBusyStatus,
                    0,
                )? & 1
                    != 0)
            },
        )
    }

    /// Fills the SET_ERROR_TYPE_WITH_ADDRESS structure at physical `at`:
    /// type u32, vendor extension offset u32 (firmware's, left alone),
    /// flags u32, APIC id u32, memory address u64, memory mask u64, SBDF u32.
    fn write_setwa(&mut self, at: u64, req: &InjectRequest) -> Result<(), EinjError> {
        let mut flags = 0;
        if req.apic_id.is_some() {
            flags |= SETWA_APIC_ID_VALID;
        }
        if req.memory.is_some() {
            flags |= SETWA_MEMORY_VALID;
        }
        if req.pcie_sbdf.is_some() {
            flags |= SETWA_PCIE_SBDF_VALID;
        }
        let m = req.memory.unwrap_or(MemoryTarget {
            address: 0,
            mask: 0,
        });
        let fields: [(u64, u8, u64); 6] = [
            (0, 32, req.error_type.bits() as u64),
            (8, 32, flags as u64),
            (12, 32, req.apic_id.unwrap_or(0) as u64),
            (16, 64, m.address),
            (24, 64, m.mask),
            (32, 32, req.pcie_sbdf.unwrap_or(0) as u64),
        ];
        for (offset, bits, value) in fields {
            let addr = phys_add(at, offset)?;
            self.access
                .write(AddressSpace::SystemMemory, addr, bits, value)?;
        }
        Ok(())
    }

    /// Reads and checks the trigger error action table at physical `at`:
    /// header size, revision, table size, entry count (u32 each), then
    /// entries from the header size on, all within the table size.
    fn read_trigger_table(&mut self, at: u64) -> Result<Vec<InstructionEntry>, EinjError> {
        if at == 0 {
            return Err(EinjError::NoTriggerTable);
        }
        let head = read_phys(&mut self.access, at, 16)?;
        let mut r = Reader::new(&head);
        let header_size = r.u32().map_err(trigger_err)?;
        let _revision = r.u32().map_err(trigger_err)?;
        let table_size = r.u32().map_err(trigger_err)?;
        let count = r.u32().map_err(trigger_err)?;
        if !(16..=table_size).contains(&header_size) {
            return Err(trigger_err(ParseError::BadLength {
                field: "trigger table header size",
                value: header_size as u64,
            }));
        }
        if table_size > MAX_TRIGGER_TABLE {
            return Err(trigger_err(ParseError::BadLength {
                field: "trigger table size",
                value: table_size as u64,
            }));
        }
        let bytes = read_phys(&mut self.access, at, table_size as usize)?;
        interp::parse_entries(&bytes, header_size as usize, count, InstructionSet::Einj)
            .map_err(EinjError::TriggerTable)
    }
}

fn trigger_err(e: ParseError) -> EinjError {
    EinjError::TriggerTable(TableError::Parse(e))
}

fn phys_add(base: u64, offset: u64) -> Result<u64, AccessError> {
    base.checked_add(offset).ok_or(AccessError::Fault {
        space: AddressSpace::SystemMemory,
        address: base,
    })
}

/// Reads `len` bytes of physical memory, dword-wise where aligned.
fn read_phys<A: RegisterAccess + ?Sized>(
    access: &mut A,
    at: u64,
    len: usize,
) -> Result<Vec<u8>, AccessError> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let addr = phys_add(at, out.len() as u64)?;
        if addr % 4 == 0 && len - out.len() >= 4 {
            let v = access.read(AddressSpace::SystemMemory, addr, 32)? as u32;
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.push(access.read(AddressSpace::SystemMemory, addr, 8)? as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::gas::tests::FlatMemory;
    use crate::apei::interp::testutil::{entry, SharedClock};
    use crate::apei::table::make_table;
    use alloc::format;
    use alloc::vec;

    const B: u64 = 0x7000_0000;
    const CMD: u64 = B;
    const TRIGGER_ADDR: u64 = B + 0x08;
    const ERROR_TYPE: u64 = B + 0x10;
    const SUPPORTED: u64 = B + 0x18;
    const DOORBELL: u64 = B + 0x20;
    const BUSY: u64 = B + 0x28;
    const STATUS: u64 = B + 0x30;
    const TRIGGER_FLUSH: u64 = B + 0x40;
    const TRIGGER_REG: u64 = B + 0x44;
    const SETWA: u64 = B + 0x100;
    const TRIGGER_TABLE: u64 = B + 0x1000;

    /// Firmware of our own design: plain registers in memory, a doorbell
    /// that "injects", and a trigger table in memory.
    struct SimEinj {
        mem: FlatMemory,
        clock: SharedClock,
        use_setwa: bool,
        status: u64,
        busy_after_execute: u32,
        busy_left: u32,
        stuck_busy: bool,
        /// (type, flags, apic id, address, mask, sbdf) per doorbell ring.
        injected: Vec<(u32, u32, u32, u64, u64, u32)>,
    }

    impl SimEinj {
        fn new(use_setwa: bool, clock: SharedClock) -> Self {
            let mut s = SimEinj {
                mem: FlatMemory::default(),
                clock,
                use_setwa,
                status: 0,
                busy_after_execute: 0,
                busy_left: 0,
                stuck_busy: false,
                injected: Vec::new(),
            };
            let supported = ErrorType::PROCESSOR_CORRECTABLE
                | ErrorType::MEMORY_CORRECTABLE
                | ErrorType::MEMORY_UNCORRECTABLE_NON_FATAL;
            s.put(SUPPORTED, 32, supported.bits() as u64);
            s.put(TRIGGER_ADDR, 64, TRIGGER_TABLE);
            s.put_bytes(TRIGGER_TABLE, &trigger_table(16, 2, None));
            s
        }

        fn put(&mut self, addr: u64, bits: u8, v: u64) {
            self.mem
                .write(AddressSpace::SystemMemory, addr, bits, v)
                .unwrap();
        }

        fn get(&mut self, addr: u64, bits: u8) -> u64 {
            self.mem
                .read(AddressSpace::SystemMemory, addr, bits)
                .unwrap()
        }

        fn put_bytes(&mut self, addr: u64, b: &[u8]) {
            for (i, &x) in b.iter().enumerate() {
                self.mem.mem.insert(addr + i as u64, x);
            }
        }

        fn doorbell(&mut self) {
            let inj = if self.use_setwa {
                (
                    self.get(SETWA, 32) as u32,
                    self.get(SETWA + 8, 32) as u32,
                    self.get(SETWA + 12, 32) as u32,
                    self.get(SETWA + 16, 64),
                    self.get(SETWA + 24, 64),
                    self.get(SETWA + 32, 32) as u32,
                )
            } else {
                (self.get(ERROR_TYPE, 32) as u32, 0, 0, 0, 0, 0)
            };
            self.injected.push(inj);
            // Junk around the status byte checks the bit offset and mask.
            let s = 0xAB00_00CD | (self.status << 8);
            self.put(STATUS, 32, s);
            self.busy_left = self.busy_after_execute;
        }
    }

    impl RegisterAccess for SimEinj {
        fn read(
            &mut self,
            space: AddressSpace,
            address: u64,
            bits: u8,
        ) -> Result<u64, AccessError> {
            if address == BUSY {
                let busy = self.stuck_busy || self.busy_left > 0;
                self.busy_left = self.busy_left.saturating_sub(1);
                return Ok(busy as u64 | 0x10);
            }
            self.mem.read(space, address, bits)
        }
        fn write(
            &mut self,
            space: AddressSpace,
            address: u64,
            bits: u8,
            value: u64,
        ) -> Result<(), AccessError> {
            self.mem.write(space, address, bits, value)?;
            if address == DOORBELL {
                self.doorbell();
            }
            Ok(())
        }
        fn stall_us(&mut self, us: u64) {
            self.clock.0.advance(us);
        }
        fn flush_cacheline(&mut self, address: u64) {
            self.mem.flushed.push(address);
        }
    }

    /// A trigger table with a flush and a register write (plus an entry of
    /// another action, which must be ignored); `count` may lie.
    fn trigger_table(header_size: u32, count: u32, table_size: Option<u32>) -> Vec<u8> {
        let mut entries = Vec::new();
        entry(&mut entries, 0xFF, 5, 0, 0, 8, 0, 1, TRIGGER_FLUSH, 0, 0);
        entry(
            &mut entries,
            0xFF,
            3,
            0,
            0,
            32,
            0,
            3,
            TRIGGER_REG,
            0x7416,
            0xFFFF_FFFF,
        );
        let size = table_size.unwrap_or(header_size + entries.len() as u32);
        let mut t = Vec::new();
        t.extend_from_slice(&header_size.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&size.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.resize(header_size as usize, 0);
        t.extend_from_slice(&entries);
        t
    }

    fn einj_entries(with_setwa: bool) -> Vec<u8> {
        let m32 = 0xFFFF_FFFF;
        let mut b = Vec::new();
        entry(&mut b, 0, 3, 0, 0, 32, 0, 3, CMD, 1, m32);
        entry(&mut b, 1, 0, 0, 0, 64, 0, 4, TRIGGER_ADDR, 0, u64::MAX);
        entry(&mut b, 2, 2, 0, 0, 32, 0, 3, ERROR_TYPE, 0, m32);
        entry(&mut b, 3, 0, 0, 0, 32, 0, 3, SUPPORTED, 0, m32);
        entry(&mut b, 4, 3, 0, 0, 32, 0, 3, CMD, 4, m32);
        entry(&mut b, 5, 3, 0, 0, 32, 0, 3, DOORBELL, 1, m32);
        entry(&mut b, 6, 1, 0, 0, 32, 0, 3, BUSY, 1, 1);
        entry(&mut b, 7, 0, 0, 0, 8, 8, 3, STATUS, 0, 0xFF);
        if with_setwa {
            entry(&mut b, 8, 2, 0, 0, 32, 0, 3, SETWA, 0, m32);
        }
        b
    }

    fn einj_table(header_size: u32, count: Option<u32>, entries: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&header_size.to_le_bytes());
        body.extend_from_slice(&[0, 0, 0, 0]);
        let n = count.unwrap_or(entries.len() as u32 / 32);
        body.extend_from_slice(&n.to_le_bytes());
        body.extend_from_slice(entries);
        make_table(b"EINJ", 1, &body)
    }

    fn setup(with_setwa: bool) -> Einj<SimEinj, SharedClock> {
        let clock = SharedClock::default();
        let t = EinjTable::parse(&einj_table(12, None, &einj_entries(with_setwa))).unwrap();
        Einj::new(t, SimEinj::new(with_setwa, clock.clone()), clock)
    }

    fn ram(a: u64) -> bool {
        (0x10_0000..0x8000_0000).contains(&a)
    }

    #[test]
    fn supported_types_and_names() {
        let mut e = setup(false);
        let s = e.supported_types().unwrap();
        assert_eq!(
            format!("{s}"),
            "processor correctable, memory correctable, memory uncorrectable non-fatal"
        );
        assert_eq!(
            format!("{}", ErrorType::from_bits_retain(1 << 20 | 1 << 31)),
            "vendor defined, unknown 0x100000"
        );
        assert_eq!(e.table().set_error_type_with_address(), None);
    }

    #[test]
    fn inject_without_address() {
        let mut e = setup(false);
        let req = InjectRequest::new(ErrorType::MEMORY_CORRECTABLE);
        e.inject(&req, ram).unwrap();
        let sim = e.access_mut();
        assert_eq!(sim.injected, [(1 << 3, 0, 0, 0, 0, 0)]);
        assert_eq!(sim.get(TRIGGER_REG, 32), 0x7416);
        assert_eq!(sim.mem.flushed, [TRIGGER_FLUSH]);
        assert_eq!(sim.get(CMD, 32), 4, "END ran last");
        // Parameters need the address structure.
        let mut req = InjectRequest::new(ErrorType::PROCESSOR_CORRECTABLE);
        req.apic_id = Some(2);
        assert_eq!(e.inject(&req, ram), Err(EinjError::NoAddressStructure));
    }

    #[test]
    fn inject_with_address_structure() {
        let mut e = setup(true);
        assert_eq!(e.table().set_error_type_with_address(), Some(SETWA));
        // The vendor extension offset is the firmware's; it must survive.
        e.access_mut().put(SETWA + 4, 32, 0x55);
        let mut req = InjectRequest::new(ErrorType::MEMORY_UNCORRECTABLE_NON_FATAL);
        req.memory = Some(MemoryTarget {
            address: 0x1234_5678,
            mask: !0xFFF,
        });
        e.inject(&req, ram).unwrap();
        let mut req = InjectRequest::new(ErrorType::PROCESSOR_CORRECTABLE);
        req.apic_id = Some(3);
        e.inject(&req, ram).unwrap();
        let sim = e.access_mut();
        assert_eq!(
            sim.injected,
            [
                (1 << 4, SETWA_MEMORY_VALID, 0, 0x1234_5678, !0xFFF, 0),
                (1, SETWA_APIC_ID_VALID, 3, 0, 0, 0),
            ]
        );
        assert_eq!(sim.get(SETWA + 4, 32), 0x55);
        assert_eq!(sim.get(ERROR_TYPE, 32), 0, "SET_ERROR_TYPE not used");
    }

    #[test]
    fn requests_are_checked_before_touching_hardware() {
        let mut e = setup(true);
        let err = e
            .inject(&InjectRequest::new(ErrorType::PCIE_CORRECTABLE), ram)
            .unwrap_err();
        assert!(matches!(err, EinjError::Unsupported { .. }));
        assert!(format!("{err}").contains("PCIe correctable"));
        let two = ErrorType::MEMORY_CORRECTABLE | ErrorType::PROCESSOR_CORRECTABLE;
        assert_eq!(
            e.inject(&InjectRequest::new(two), ram),
            Err(EinjError::NotSingleType(two))
        );
        let mut req = InjectRequest::new(ErrorType::MEMORY_CORRECTABLE);
        req.memory = Some(MemoryTarget {
            address: 0xFEE0_0000,
            mask: u64::MAX,
        });
        assert_eq!(
            e.inject(&req, ram),
            Err(EinjError::NotRam {
                address: 0xFEE0_0000
            })
        );
        req.memory = Some(MemoryTarget {
            address: 0x20_0000,
            mask: !0xF_FFFF,
        });
        assert!(matches!(
            e.inject(&req, ram),
            Err(EinjError::BadMask { .. })
        ));
        let sim = e.access_mut();
        assert!(sim.injected.is_empty());
        assert_eq!(sim.get(CMD, 32), 0, "BEGIN never ran");
    }

    #[test]
    fn busy_timeout_and_failure_statuses() {
        let mut e = setup(false);
        let req = InjectRequest::new(ErrorType::MEMORY_CORRECTABLE);
        e.access_mut().busy_after_execute = 3;
        e.inject(&req, ram).unwrap();

        e.access_mut().stuck_busy = true;
        e.set_timeout_us(500);
        assert_eq!(e.inject(&req, ram), Err(EinjError::Timeout));
        let now = e.access_mut().clock.0.now_us();
        assert!((500..510).contains(&now));
        e.access_mut().stuck_busy = false;

        e.access_mut().status = 1;
        assert_eq!(e.inject(&req, ram), Err(EinjError::Failed));
        e.access_mut().status = 2;
        assert_eq!(e.inject(&req, ram), Err(EinjError::InvalidAccess));
        e.access_mut().status = 9;
        assert_eq!(e.inject(&req, ram), Err(EinjError::UnknownStatus(9)));
    }

    #[test]
    fn malformed_tables() {
        let entries = einj_entries(false);
        assert!(matches!(
            EinjTable::parse(&einj_table(12, Some(9), &entries)),
            Err(TableError::Parse(ParseError::BadLength { .. }))
        ));
        assert!(EinjTable::parse(&einj_table(12, Some(u32::MAX), &entries)).is_err());
        assert!(EinjTable::parse(&einj_table(7, None, &entries)).is_err());
        let t = einj_table(48, None, &entries);
        assert!(EinjTable::parse(&t).is_ok());
        assert!(EinjTable::parse(&t[..t.len() - 1]).is_err());
        let mut bad = t.clone();
        bad[60] ^= 0x40;
        assert!(matches!(
            EinjTable::parse(&bad),
            Err(TableError::Parse(ParseError::BadChecksum { .. }))
        ));
        // An ERST-only instruction is unknown in EINJ.
        let mut e2 = entries.clone();
        e2[32 + 1] = 13;
        assert_eq!(
            EinjTable::parse(&einj_table(12, None, &e2)),
            Err(TableError::UnknownInstruction {
                index: 1,
                instruction: 13
            })
        );
    }

    #[test]
    fn malformed_trigger_tables() {
        let req = InjectRequest::new(ErrorType::MEMORY_CORRECTABLE);
        let cases: [(Vec<u8>, &str); 4] = [
            // Entry count beyond the table size.
            (trigger_table(16, 3, None), "entry count"),
            (trigger_table(16, 2, Some(60)), "entry count"),
            // Header size beyond the table size; an oversized table.
            (trigger_table(16, 2, Some(8)), "header size"),
            (
                trigger_table(16, 0, Some(MAX_TRIGGER_TABLE + 1)),
                "table size",
            ),
        ];
        for (table, what) in cases {
            let mut e = setup(false);
            e.access_mut().put_bytes(TRIGGER_TABLE, &table);
            let err = e.inject(&req, ram).unwrap_err();
            assert!(matches!(err, EinjError::TriggerTable(_)), "{err}");
            assert!(format!("{err}").contains(what), "{err}");
            assert_eq!(e.access_mut().get(TRIGGER_REG, 32), 0);
        }
        let mut e = setup(false);
        e.access_mut().put(TRIGGER_ADDR, 64, 0);
        assert_eq!(e.inject(&req, ram), Err(EinjError::NoTriggerTable));
        // An empty trigger table is fine: nothing to trigger.
        let mut e = setup(false);
        let empty = vec![16, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0];
        e.access_mut().put_bytes(TRIGGER_TABLE, &empty);
        e.inject(&req, ram).unwrap();
        assert_eq!(e.access_mut().get(CMD, 32), 4);
    }

    #[test]
    fn memory_targets_must_lie_in_one_usable_region() {
        let ram = [(0x1000, 0x9_f000), (0x10_0000, 0x2000_0000)];
        assert!(in_usable_ram(&ram, 0x1000, 0x1000));
        assert!(in_usable_ram(&ram, 0x1fff_f000, 0x1000));
        assert!(!in_usable_ram(&ram, 0x1fff_f000, 0x1001));
        // Straddling two regions, or the hole between them.
        assert!(!in_usable_ram(&ram, 0x9_e000, 0x7_0000));
        assert!(!in_usable_ram(&ram, 0xa_0000, 1));
        // Empty counts as one byte; wrapping around is refused.
        assert!(in_usable_ram(&ram, 0x1000, 0));
        assert!(!in_usable_ram(&ram, 0x2000_0000, 0));
        assert!(!in_usable_ram(&[(0, u64::MAX)], u64::MAX, 1));
        assert!(!in_usable_ram(&[], 0x1000, 1));

        let mut req = InjectRequest::new(ErrorType::MEMORY_CORRECTABLE);
        assert_eq!(req.memory_span(), 4096);
        req.memory = Some(MemoryTarget {
            address: 0x1234_5000,
            mask: !0xFFF,
        });
        assert_eq!(req.memory_span(), 0x1000);
        req.memory = Some(MemoryTarget {
            address: 0x1234_5000,
            mask: !0x3F,
        });
        assert_eq!(req.memory_span(), 0x40);
        req.memory = Some(MemoryTarget {
            address: 0,
            mask: 0,
        });
        assert_eq!(req.memory_span(), 0);
    }
}
