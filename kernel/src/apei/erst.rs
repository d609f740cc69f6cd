//! The Error Record Serialization Table (ACPI spec 18.5): a firmware-backed
//! persistent store of CPER records, driven through the APEI interpreter.
//!
//! Records travel through the error log address range, memory the firmware
//! tells us about and the kernel maps ([`LogBuffer`]). The firmware has a
//! single record-id cursor (GET_RECORD_IDENTIFIER), so independent readers
//! would steal each other's position; [`Erst`] keeps a cache of the ids it has
//! seen and gives every [`ErstReader`] its own position in that cache (the
//! scheme Linux's erst.c uses).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;

use super::busy;
use super::gas::RegisterAccess;
use super::interp::{
    self, ExecContext, ExecError, InstructionEntry, InstructionSet, Limits, TableError,
};
use super::table::{Reader, SdtHeader};
use crate::time::Clock;

/// Serialization actions (ACPI spec table 18.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ErstAction {
    BeginWriteOperation = 0,
    BeginReadOperation = 1,
    BeginClearOperation = 2,
    EndOperation = 3,
    SetRecordOffset = 4,
    ExecuteOperation = 5,
    CheckBusyStatus = 6,
    GetCommandStatus = 7,
    GetRecordIdentifier = 8,
    SetRecordIdentifier = 9,
    GetRecordCount = 10,
    BeginDummyWriteOperation = 11,
    GetErrorLogAddressRange = 13,
    GetErrorLogAddressRangeLength = 14,
    GetErrorLogAddressRangeAttributes = 15,
    GetExecuteOperationTimings = 16,
}

/// Command status values (ACPI spec table 18.19).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandStatus {
    Success,
    NotEnoughSpace,
    HardwareNotAvailable,
    Failed,
    RecordStoreEmpty,
    RecordNotFound,
    Unknown(u64),
}

impl CommandStatus {
    pub fn from_raw(v: u64) -> Self {
        match v {
            0 => CommandStatus::Success,
            1 => CommandStatus::NotEnoughSpace,
            2 => CommandStatus::HardwareNotAvailable,
            3 => CommandStatus::Failed,
            4 => CommandStatus::RecordStoreEmpty,
            5 => CommandStatus::RecordNotFound,
            v => CommandStatus::Unknown(v),
        }
    }

    fn into_result(self) -> Result<(), ErstError> {
        match self {
            CommandStatus::Success => Ok(()),
            CommandStatus::NotEnoughSpace => Err(ErstError::NotEnoughSpace),
            CommandStatus::HardwareNotAvailable => Err(ErstError::HardwareNotAvailable),
            CommandStatus::Failed => Err(ErstError::Failed),
            CommandStatus::RecordStoreEmpty => Err(ErstError::StoreEmpty),
            CommandStatus::RecordNotFound => Err(ErstError::RecordNotFound),
            CommandStatus::Unknown(v) => Err(ErstError::UnknownStatus(v)),
        }
    }
}

/// The record id meaning "no (more) records"; never a real record's id.
pub const EMPTY_RECORD_ID: u64 = u64::MAX;

/// A CPER record header is 128 bytes; its length is the u32 at byte 20 and
/// its record id the u64 at byte 96 (UEFI spec N.2.1).
const CPER_HEADER_LEN: usize = 128;
const CPER_LENGTH_OFFSET: usize = 20;
const CPER_RECORD_ID_OFFSET: usize = 96;

/// Error log address range attribute bits (ACPI spec 18.5.1.1).
pub const RANGE_NVRAM: u64 = 1 << 1;
pub const RANGE_SLOW: u64 = 1 << 2;

/// Linux's default time for one operation to finish (FIRMWARE_TIMEOUT).
pub const DEFAULT_TIMEOUT_US: u64 = 30_000;
/// How many times [`Erst::write_reclaiming`] tries a write (each try that
/// finds the store full clears one record first).
pub const RECLAIM_ATTEMPTS: usize = 8;
/// Upper bound on GET_RECORD_IDENTIFIER calls in one walk of the cursor.
const MAX_CURSOR_WALK: usize = 1 << 16;

/// A parsed ERST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErstTable {
    pub header: SdtHeader,
    pub header_length: u32,
    pub entries: Vec<InstructionEntry>,
}

impl ErstTable {
    /// Offset of the first instruction entry.
    pub const ENTRIES_OFFSET: usize = 48;

    /// Parses and checks an ERST: checksum, signature, header length (48, or
    /// 12 as some firmware counts it), and an entry list that fits.
    pub fn parse(table: &[u8]) -> Result<ErstTable, TableError> {
        let t = interp::parse_action_table(
            table,
            b"ERST",
            "serialization header length",
            InstructionSet::Erst,
        )?;
        Ok(ErstTable {
            header: t.header,
            header_length: t.header_size,
            entries: t.entries,
        })
    }
}

/// Where the firmware exchanges records with us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorLogRange {
    pub address: u64,
    pub length: u64,
    pub attributes: u64,
}

/// The mapped error log address range. Offsets are relative to its start;
/// `read_at`/`write_at` return false when the bytes are out of range.
pub trait LogBuffer {
    fn size(&self) -> usize;
    fn read_at(&mut self, offset: usize, out: &mut [u8]) -> bool;
    fn write_at(&mut self, offset: usize, data: &[u8]) -> bool;
}

impl LogBuffer for [u8] {
    fn size(&self) -> usize {
        self.len()
    }
    fn read_at(&mut self, offset: usize, out: &mut [u8]) -> bool {
        let src = offset
            .checked_add(out.len())
            .and_then(|end| self.get(offset..end));
        match src {
            Some(s) => {
                out.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
    fn write_at(&mut self, offset: usize, data: &[u8]) -> bool {
        let dst = offset
            .checked_add(data.len())
            .and_then(|end| self.get_mut(offset..end));
        match dst {
            Some(d) => {
                d.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

impl LogBuffer for Vec<u8> {
    fn size(&self) -> usize {
        self.len()
    }
    fn read_at(&mut self, offset: usize, out: &mut [u8]) -> bool {
        self.as_mut_slice().read_at(offset, out)
    }
    fn write_at(&mut self, offset: usize, data: &[u8]) -> bool {
        self.as_mut_slice().write_at(offset, data)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErstError {
    Table(TableError),
    Interp(ExecError),
    /// The record store has no room for the record.
    NotEnoughSpace,
    HardwareNotAvailable,
    Failed,
    StoreEmpty,
    RecordNotFound,
    UnknownStatus(u64),
    /// The firmware stayed busy longer than the timeout.
    Timeout,
    /// The record is larger than the error log address range.
    TooLarge {
        len: usize,
        capacity: usize,
    },
    /// The caller's buffer cannot hold the record.
    BufferTooSmall {
        needed: usize,
    },
    /// The record (ours or the firmware's) is not a valid CPER record.
    BadRecord(&'static str),
    /// Record ids 0 and all ones are reserved.
    InvalidRecordId(u64),
    /// The mapped buffer is smaller than the range the firmware reported.
    LogBufferTooSmall {
        mapped: usize,
        range: u64,
    },
    LogBufferAccess,
    /// A non-volatile error log range is used differently; not supported
    /// (nor by Linux).
    NvramRangeUnsupported,
}

impl fmt::Display for ErstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErstError::Table(e) => write!(f, "ERST table rejected: {e}"),
            ErstError::Interp(e) => write!(f, "ERST firmware instructions failed: {e}"),
            ErstError::NotEnoughSpace => f.write_str("the error record store is full"),
            ErstError::HardwareNotAvailable => {
                f.write_str("the error record store hardware is not available")
            }
            ErstError::Failed => f.write_str("the firmware reported that the operation failed"),
            ErstError::StoreEmpty => f.write_str("the error record store is empty"),
            ErstError::RecordNotFound => f.write_str("no record with that id"),
            ErstError::UnknownStatus(v) => write!(f, "the firmware returned unknown status {v}"),
            ErstError::Timeout => f.write_str("the firmware did not finish in time"),
            ErstError::TooLarge { len, capacity } => write!(
                f,
                "record of {len} bytes does not fit the {capacity}-byte error log range"
            ),
            ErstError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: the record has {needed} bytes")
            }
            ErstError::BadRecord(why) => write!(f, "bad record: {why}"),
            ErstError::InvalidRecordId(id) => write!(f, "record id {id:#x} is reserved"),
            ErstError::LogBufferTooSmall { mapped, range } => write!(
                f,
                "mapped {mapped} bytes of an error log range of {range} bytes"
            ),
            ErstError::LogBufferAccess => f.write_str("error log range access out of bounds"),
            ErstError::NvramRangeUnsupported => {
                f.write_str("non-volatile error log address ranges are not supported")
            }
        }
    }
}

impl From<TableError> for ErstError {
    fn from(e: TableError) -> Self {
        ErstError::Table(e)
    }
}

impl From<ExecError> for ErstError {
    fn from(e: ExecError) -> Self {
        ErstError::Interp(e)
    }
}

/// Why [`Erst::write_reclaiming`] did not store the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReclaimError {
    /// The store is full and no record was offered for clearing.
    NothingToReclaim,
    /// The write failed for another reason than a full store.
    Write(ErstError),
    /// Still full after [`RECLAIM_ATTEMPTS`] tries.
    StillFull,
}

/// One reader's position in the record-id cache. Get it from
/// [`Erst::reader_begin`] and give it back to [`Erst::reader_end`].
#[derive(Debug)]
pub struct ErstReader {
    pos: usize,
    refilled: bool,
}

/// Ids seen so far; cleared ids become [`EMPTY_RECORD_ID`] tombstones so
/// readers' positions stay valid, and are compacted when no reader is active.
#[derive(Default)]
struct IdCache {
    ids: Vec<u64>,
    readers: usize,
    /// The firmware cursor is known to be at the first record (it has just
    /// reported the end; the spec and QEMU restart from the first record).
    cursor_at_start: bool,
}

impl IdCache {
    fn remove(&mut self, id: u64) {
        for slot in self.ids.iter_mut().filter(|s| **s == id) {
            *slot = EMPTY_RECORD_ID;
        }
        self.compact();
    }

    fn compact(&mut self) {
        if self.readers == 0 {
            self.ids.retain(|&id| id != EMPTY_RECORD_ID);
        }
    }
}

/// The ERST driver over a register interface, a clock and the mapped error
/// log address range.
pub struct Erst<A: RegisterAccess, C: Clock, L: LogBuffer> {
    table: ErstTable,
    access: A,
    clock: C,
    log: L,
    range: ErrorLogRange,
    limits: Limits,
    timeout_us: u64,
    cache: IdCache,
}

/// Runs one action with `input` and returns the output value.
fn exec<A: RegisterAccess + ?Sized, C: Clock + ?Sized>(
    table: &ErstTable,
    access: &mut A,
    clock: &C,
    limits: &Limits,
    action: ErstAction,
    input: u64,
) -> Result<u64, ErstError> {
    let mut ctx = ExecContext::with_input(input);
    interp::run_action(
        &table.entries,
        action as u8,
        &mut ctx,
        access,
        clock,
        limits,
    )?;
    Ok(ctx.value)
}

impl<A: RegisterAccess, C: Clock, L: LogBuffer> Erst<A, C, L> {
    /// Asks the firmware where the error log address range is, so the kernel
    /// can map it before calling [`Erst::new`].
    pub fn probe_error_log_range(
        table: &ErstTable,
        access: &mut A,
        clock: &C,
    ) -> Result<ErrorLogRange, ErstError> {
        let l = Limits::default();
        Ok(ErrorLogRange {
            address: exec(
                table,
                access,
                clock,
                &l,
                ErstAction::GetErrorLogAddressRange,
                0,
            )?,
            length: exec(
                table,
                access,
                clock,
                &l,
                ErstAction::GetErrorLogAddressRangeLength,
                0,
            )?,
            attributes: exec(
                table,
                access,
                clock,
                &l,
                ErstAction::GetErrorLogAddressRangeAttributes,
                0,
            )?,
        })
    }

    /// Takes over the firmware interface. `log` must map at least the error
    /// log address range.
    pub fn new(table: ErstTable, mut access: A, clock: C, log: L) -> Result<Self, ErstError> {
        let range = Self::probe_error_log_range(&table, &mut access, &clock)?;
        if range.attributes & RANGE_NVRAM != 0 {
            return Err(ErstError::NvramRangeUnsupported);
        }
        if (log.size() as u64) < range.length || range.length < CPER_HEADER_LEN as u64 {
            return Err(ErstError::LogBufferTooSmall {
                mapped: log.size(),
                range: range.length,
            });
        }
        let mut erst = Erst {
            table,
            access,
            clock,
            log,
            range,
            limits: Limits::default(),
            timeout_us: DEFAULT_TIMEOUT_US,
            cache: IdCache::default(),
        };
        // Like Linux: a slow range may need longer than the default; the
        // timings action reports the maximum in bits 63:32 (milliseconds).
        if range.attributes & RANGE_SLOW != 0 {
            if let Ok(Some((max, _))) = erst.execute_operation_timings() {
                let us = (max as u64).saturating_mul(1000).min(10_000_000);
                erst.timeout_us = erst.timeout_us.max(us);
            }
        }
        Ok(erst)
    }

    pub fn error_log_range(&self) -> ErrorLogRange {
        self.range
    }

    pub fn table(&self) -> &ErstTable {
        &self.table
    }

    /// The register interface (tests inspect their simulated device here).
    pub fn access_mut(&mut self) -> &mut A {
        &mut self.access
    }

    pub fn log_mut(&mut self) -> &mut L {
        &mut self.log
    }

    /// How long one operation may keep the firmware busy.
    pub fn set_timeout_us(&mut self, us: u64) {
        self.timeout_us = us;
    }

    fn exec(&mut self, action: ErstAction, input: u64) -> Result<u64, ErstError> {
        exec(
            &self.table,
            &mut self.access,
            &self.clock,
            &self.limits,
            action,
            input,
        )
    }

    /// (maximum, nominal) time of one operation, if the table offers the
    /// GET_EXECUTE_OPERATION_TIMINGS action (ACPI 6.3).
    pub fn execute_operation_timings(&mut self) -> Result<Option<(u32, u32)>, ErstError> {
        let a = ErstAction::GetExecuteOperationTimings as u8;
        if !interp::has_action(&self.table.entries, a) {
            return Ok(None);
        }
        let v = self.exec(ErstAction::GetExecuteOperationTimings, 0)?;
        Ok(Some(((v >> 32) as u32, v as u32)))
    }

    /// The number of records in the store.
    pub fn record_count(&mut self) -> Result<u64, ErstError> {
        self.exec(ErstAction::GetRecordCount, 0)
    }

    /// Moves the firmware's single cursor and returns the id it yields
    /// ([`EMPTY_RECORD_ID`] at the end). Prefer readers, which do not
    /// disturb each other.
    pub fn get_next_record_id(&mut self) -> Result<u64, ErstError> {
        let id = self.exec(ErstAction::GetRecordIdentifier, 0)?;
        self.cache.cursor_at_start = id == EMPTY_RECORD_ID;
        Ok(id)
    }

    /// EXECUTE_OPERATION, then poll CHECK_BUSY_STATUS until clear, then
    /// GET_COMMAND_STATUS, then END_OPERATION.
    fn execute_and_finish(&mut self) -> Result<(), ErstError> {
        self.exec(ErstAction::ExecuteOperation, 0)?;
        let (table, clock, limits) = (&self.table, &self.clock, &self.limits);
        busy::wait_while_busy(
            &mut self.access,
            clock,
            self.timeout_us,
            ErstError::Timeout,
            |access| Ok(exec(table, access, clock, limits, ErstAction::CheckBusyStatus, 0)? != 0),
        )?;
        let status = self.exec(ErstAction::GetCommandStatus, 0)?;
        self.exec(ErstAction::EndOperation, 0)?;
        CommandStatus::from_raw(status).into_result()
    }

    /// Stores a CPER record. Its length comes from its header; its record id
    /// (header byte 96) names it in the store, and writing an existing id
    /// replaces that record.
    pub fn write(&mut self, record: &[u8]) -> Result<(), ErstError> {
        let len = cper_length(record)?;
        let body = record
            .get(..len)
            .ok_or(ErstError::BadRecord("record shorter than its header says"))?;
        if body.get(..4) != Some(b"CPER".as_slice()) {
            return Err(ErstError::BadRecord("missing CPER signature"));
        }
        let id = read_u64(body, CPER_RECORD_ID_OFFSET).unwrap_or(0);
        if id == 0 || id == EMPTY_RECORD_ID {
            return Err(ErstError::InvalidRecordId(id));
        }
        let capacity = self.capacity();
        if len > capacity {
            return Err(ErstError::TooLarge { len, capacity });
        }
        if !self.log.write_at(0, body) {
            return Err(ErstError::LogBufferAccess);
        }
        self.exec(ErstAction::BeginWriteOperation, 0)?;
        self.exec(ErstAction::SetRecordOffset, 0)?;
        self.execute_and_finish()
    }

    /// Stores `record` like [`Erst::write`]; while the store is full, clears
    /// the record `next_victim` names, tells `cleared` (with the outcome of
    /// the clear) and tries again, [`RECLAIM_ATTEMPTS`] tries in all.
    pub fn write_reclaiming(
        &mut self,
        record: &[u8],
        mut next_victim: impl FnMut() -> Option<u64>,
        mut cleared: impl FnMut(u64, Result<(), ErstError>),
    ) -> Result<(), ReclaimError> {
        for _ in 0..RECLAIM_ATTEMPTS {
            match self.write(record) {
                Ok(()) => return Ok(()),
                Err(ErstError::NotEnoughSpace) => {
                    let victim = next_victim().ok_or(ReclaimError::NothingToReclaim)?;
                    let r = self.clear(victim);
                    cleared(victim, r);
                }
                Err(e) => return Err(ReclaimError::Write(e)),
            }
        }
        Err(ReclaimError::StillFull)
    }

    /// Reads record `id` into `buf` and returns its length.
    pub fn read(&mut self, id: u64, buf: &mut [u8]) -> Result<usize, ErstError> {
        if id == 0 || id == EMPTY_RECORD_ID {
            return Err(ErstError::InvalidRecordId(id));
        }
        // Reading may move the firmware cursor (QEMU resets it on a miss).
        self.cache.cursor_at_start = false;
        self.exec(ErstAction::BeginReadOperation, 0)?;
        self.exec(ErstAction::SetRecordOffset, 0)?;
        self.exec(ErstAction::SetRecordIdentifier, id)?;
        match self.execute_and_finish() {
            Err(ErstError::RecordNotFound) => {
                self.cache.remove(id);
                return Err(ErstError::RecordNotFound);
            }
            r => r?,
        }
        let mut header = [0u8; CPER_HEADER_LEN];
        if !self.log.read_at(0, &mut header) {
            return Err(ErstError::LogBufferAccess);
        }
        let len = cper_length(&header)?;
        if len > self.capacity() {
            return Err(ErstError::BadRecord(
                "firmware record longer than the error log range",
            ));
        }
        let out = buf
            .get_mut(..len)
            .ok_or(ErstError::BufferTooSmall { needed: len })?;
        if !self.log.read_at(0, out) {
            return Err(ErstError::LogBufferAccess);
        }
        Ok(len)
    }

    /// Removes record `id` from the store (and from the id cache).
    pub fn clear(&mut self, id: u64) -> Result<(), ErstError> {
        if id == 0 || id == EMPTY_RECORD_ID {
            return Err(ErstError::InvalidRecordId(id));
        }
        self.exec(ErstAction::BeginClearOperation, 0)?;
        self.exec(ErstAction::SetRecordIdentifier, id)?;
        let r = self.execute_and_finish();
        if matches!(r, Ok(()) | Err(ErstError::RecordNotFound)) {
            self.cache.remove(id);
        }
        r
    }

    /// Usable bytes of the error log address range.
    fn capacity(&self) -> usize {
        usize::try_from(self.range.length)
            .unwrap_or(usize::MAX)
            .min(self.log.size())
    }

    /// Starts an enumeration of the store that other readers do not disturb.
    pub fn reader_begin(&mut self) -> ErstReader {
        self.cache.readers += 1;
        ErstReader {
            pos: 0,
            refilled: false,
        }
    }

    /// The reader's next record id, or `None` when it has seen them all.
    /// Reaching the end of the cache walks the firmware cursor once for ids
    /// written since.
    pub fn reader_next(&mut self, reader: &mut ErstReader) -> Result<Option<u64>, ErstError> {
        loop {
            while let Some(&id) = self.cache.ids.get(reader.pos) {
                reader.pos += 1;
                if id != EMPTY_RECORD_ID {
                    return Ok(Some(id));
                }
            }
            if reader.refilled {
                return Ok(None);
            }
            reader.refilled = true;
            self.refill_ids()?;
        }
    }

    /// Ends a reader; when none is left, cleared ids are dropped from the
    /// cache.
    pub fn reader_end(&mut self, _reader: ErstReader) {
        self.cache.readers = self.cache.readers.saturating_sub(1);
        self.cache.compact();
    }

    /// Every record id in the store.
    pub fn ids(&mut self) -> Result<Vec<u64>, ErstError> {
        let mut r = self.reader_begin();
        let mut out = Vec::new();
        let res = loop {
            match self.reader_next(&mut r) {
                Ok(Some(id)) => out.push(id),
                Ok(None) => break Ok(out),
                Err(e) => break Err(e),
            }
        };
        self.reader_end(r);
        res
    }

    /// Walks the firmware cursor and appends ids not yet cached. If the
    /// cursor's position is unknown it may start mid-list, so the walk goes
    /// on past the first end marker for one full pass; a cursor that wraps
    /// without an end marker is stopped by the first repeated id.
    fn refill_ids(&mut self) -> Result<(), ErstError> {
        let mut ends_left = if self.cache.cursor_at_start { 1 } else { 2 };
        let mut seen = BTreeSet::new();
        for _ in 0..MAX_CURSOR_WALK {
            let id = self.get_next_record_id()?;
            if id == EMPTY_RECORD_ID || id == 0 {
                ends_left -= 1;
                if ends_left == 0 {
                    break;
                }
                continue;
            }
            if !seen.insert(id) {
                break;
            }
            if !self.cache.ids.contains(&id) {
                self.cache.ids.push(id);
            }
        }
        Ok(())
    }
}

/// The record length from a CPER header, checked to cover the header.
fn cper_length(record: &[u8]) -> Result<usize, ErstError> {
    let len = Reader::at(record, CPER_LENGTH_OFFSET)
        .u32()
        .map_err(|_| ErstError::BadRecord("shorter than a CPER header"))?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len < CPER_HEADER_LEN {
        return Err(ErstError::BadRecord(
            "record length below the CPER header size",
        ));
    }
    Ok(len)
}

fn read_u64(b: &[u8], offset: usize) -> Option<u64> {
    Reader::at(b, offset).u64().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::gas::{AccessError, AddressSpace};
    use crate::apei::interp::testutil::{entry, SharedClock};
    use crate::apei::table::make_table;
    use crate::apei::table::ParseError;
    use alloc::format;
    use alloc::rc::Rc;
    use alloc::vec;
    use core::cell::RefCell;

    const BAR0: u64 = 0xFEBF_F000;
    const BAR1: u64 = 0xFEC0_0000;
    const RECORD_SIZE: usize = 8192;
    const EXECUTE_MAGIC: u64 = 0x9C;

    /// The error log range as the test and the simulated device both see it.
    #[derive(Clone)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl LogBuffer for Shared {
        fn size(&self) -> usize {
            self.0.borrow().len()
        }
        fn read_at(&mut self, offset: usize, out: &mut [u8]) -> bool {
            self.0.borrow_mut().read_at(offset, out)
        }
        fn write_at(&mut self, offset: usize, data: &[u8]) -> bool {
            self.0.borrow_mut().write_at(offset, data)
        }
    }

    /// Behaves like QEMU 7.2's acpi-erst: an ACTION register at BAR0+0 and a
    /// VALUE register at BAR0+8; everything happens on the write of an action;
    /// records live in fixed slots keyed by record id (0 = free).
    struct SimErst {
        reg_value: u64,
        operation: u64,
        command_status: u64,
        record_offset: u64,
        record_id: u64,
        ids: Vec<u64>,
        slots: Vec<Vec<u8>>,
        next_index: usize,
        exchange: Shared,
        clock: SharedClock,
        /// CHECK_BUSY_STATUS reports busy this many more times.
        busy_left: u32,
        busy_after_execute: u32,
        stuck_busy: bool,
    }

    impl SimErst {
        fn new(slots: usize, exchange: Shared, clock: SharedClock) -> Self {
            SimErst {
                reg_value: 0,
                operation: 0,
                command_status: 0,
                record_offset: 0,
                record_id: 0,
                ids: vec![0; slots],
                slots: vec![Vec::new(); slots],
                next_index: 0,
                exchange,
                clock,
                busy_left: 0,
                busy_after_execute: 0,
                stuck_busy: false,
            }
        }

        fn count(&self) -> u64 {
            self.ids.iter().filter(|&&id| id != 0).count() as u64
        }

        fn lookup(&self, id: u64) -> Option<usize> {
            (id != 0).then(|| self.ids.iter().position(|&x| x == id))?
        }

        fn next_id(&mut self, first: bool) -> u64 {
            if first {
                self.next_index = 0;
            }
            while self.next_index < self.ids.len() {
                let i = self.next_index;
                self.next_index += 1;
                if self.ids[i] != 0 {
                    return self.ids[i];
                }
            }
            self.next_index = 0;
            EMPTY_RECORD_ID
        }

        fn exchange_len_at(&self, off: usize) -> Option<usize> {
            let ex = self.exchange.0.borrow();
            let b = ex.get(off + 20..off + 24)?;
            Some(u32::from_le_bytes(b.try_into().unwrap()) as usize)
        }

        fn write_record(&mut self) -> u64 {
            let off = self.record_offset as usize;
            if off > RECORD_SIZE - 128 {
                return 3;
            }
            let Some(len) = self.exchange_len_at(off) else {
                return 3;
            };
            if len < 128 || len > RECORD_SIZE - off {
                return 3;
            }
            let data = self.exchange.0.borrow()[off..off + len].to_vec();
            let id = u64::from_le_bytes(data[96..104].try_into().unwrap());
            if id == 0 || id == EMPTY_RECORD_ID {
                return 3;
            }
            let slot = match self.lookup(id) {
                Some(i) => i,
                None => match self.ids.iter().position(|&x| x == 0) {
                    Some(i) => i,
                    None => return 1,
                },
            };
            self.ids[slot] = id;
            self.slots[slot] = data;
            0
        }

        fn read_record(&mut self) -> u64 {
            if self.count() == 0 {
                return 4;
            }
            if self.record_id == 0 {
                self.record_id = self.next_id(true);
            }
            if self.record_id == EMPTY_RECORD_ID {
                return 3;
            }
            let off = self.record_offset as usize;
            if off > RECORD_SIZE - 128 {
                return 3;
            }
            match self.lookup(self.record_id) {
                Some(i) => {
                    let data = self.slots[i].clone();
                    self.exchange.0.borrow_mut()[off..off + data.len()].copy_from_slice(&data);
                    0
                }
                None => {
                    self.next_id(true);
                    5
                }
            }
        }

        fn clear_record(&mut self) -> u64 {
            if self.record_id == 0 || self.record_id == EMPTY_RECORD_ID {
                return 3;
            }
            match self.lookup(self.record_id) {
                Some(i) => {
                    self.ids[i] = 0;
                    0
                }
                None => 5,
            }
        }

        fn action(&mut self, action: u64) {
            match action {
                0 | 1 | 2 | 3 | 11 => self.operation = action,
                // QEMU keeps the offset in 32 bits.
                4 => self.record_offset = self.reg_value as u32 as u64,
                5 if self.reg_value as u8 == EXECUTE_MAGIC as u8 => {
                    self.command_status = match self.operation {
                        0 => self.write_record(),
                        1 => self.read_record(),
                        2 => self.clear_record(),
                        3 | 11 => 0,
                        _ => 3,
                    };
                    self.busy_left = self.busy_after_execute;
                }
                6 => {
                    let busy = self.stuck_busy || self.busy_left > 0;
                    self.busy_left = self.busy_left.saturating_sub(1);
                    self.reg_value = busy as u64;
                }
                7 => self.reg_value = self.command_status,
                8 => self.reg_value = self.next_id(false),
                9 => self.record_id = self.reg_value,
                10 => self.reg_value = self.count(),
                13 => self.reg_value = BAR1,
                14 => self.reg_value = RECORD_SIZE as u64,
                15 => self.reg_value = 0,
                16 => self.reg_value = (100 << 32) | 10,
                _ => {}
            }
        }
    }

    impl RegisterAccess for SimErst {
        fn read(
            &mut self,
            space: AddressSpace,
            address: u64,
            bits: u8,
        ) -> Result<u64, AccessError> {
            match (space, address, bits) {
                (AddressSpace::SystemMemory, a, 32) if a == BAR0 + 8 => {
                    Ok(self.reg_value & 0xFFFF_FFFF)
                }
                (AddressSpace::SystemMemory, a, 64) if a == BAR0 + 8 => Ok(self.reg_value),
                _ => Err(AccessError::Fault { space, address }),
            }
        }
        fn write(
            &mut self,
            space: AddressSpace,
            address: u64,
            bits: u8,
            value: u64,
        ) -> Result<(), AccessError> {
            match (space, address, bits) {
                (AddressSpace::SystemMemory, a, 32) if a == BAR0 => self.action(value),
                (AddressSpace::SystemMemory, a, 32) if a == BAR0 + 8 => {
                    self.reg_value = (self.reg_value & !0xFFFF_FFFF) | value
                }
                (AddressSpace::SystemMemory, a, 64) if a == BAR0 + 8 => self.reg_value = value,
                _ => return Err(AccessError::Fault { space, address }),
            }
            Ok(())
        }
        fn stall_us(&mut self, us: u64) {
            self.clock.0.advance(us);
        }
        fn flush_cacheline(&mut self, _: u64) {}
    }

    /// The 27 entries QEMU's build_erst emits, in its order.
    fn qemu_erst_entries() -> Vec<u8> {
        let mut b = Vec::new();
        // (action, instruction, register offset, width, value)
        let list: &[(u8, u8, u64, u8, u64)] = &[
            (0, 3, 0, 32, 0),
            (1, 3, 0, 32, 1),
            (2, 3, 0, 32, 2),
            (3, 3, 0, 32, 3),
            (4, 2, 8, 32, 0),
            (4, 3, 0, 32, 4),
            (5, 3, 8, 32, EXECUTE_MAGIC),
            (5, 3, 0, 32, 5),
            (6, 3, 0, 32, 6),
            (6, 1, 8, 32, 1),
            (7, 3, 0, 32, 7),
            (7, 0, 8, 32, 0),
            (8, 3, 0, 32, 8),
            (8, 0, 8, 64, 0),
            (9, 2, 8, 64, 0),
            (9, 3, 0, 32, 9),
            (10, 3, 0, 32, 10),
            (10, 0, 8, 32, 0),
            (11, 3, 0, 32, 11),
            (13, 3, 0, 32, 13),
            (13, 0, 8, 64, 0),
            (14, 3, 0, 32, 14),
            (14, 0, 8, 64, 0),
            (15, 3, 0, 32, 15),
            (15, 0, 8, 32, 0),
            (16, 3, 0, 32, 16),
            (16, 0, 8, 64, 0),
        ];
        for &(action, ins, off, width, value) in list {
            let size = if width == 64 { 4 } else { 3 };
            let mask = if width == 64 { u64::MAX } else { 0xFFFF_FFFF };
            entry(
                &mut b,
                action,
                ins,
                0,
                0,
                width,
                0,
                size,
                BAR0 + off,
                value,
                mask,
            );
        }
        b
    }

    fn erst_table(header_length: u32, count: u32, entries: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&header_length.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&count.to_le_bytes());
        body.extend_from_slice(entries);
        make_table(b"ERST", 1, &body)
    }

    fn qemu_table() -> Vec<u8> {
        erst_table(48, 27, &qemu_erst_entries())
    }

    fn record(id: u64, len: usize, fill: u8) -> Vec<u8> {
        let mut r = vec![fill; len];
        r[..4].copy_from_slice(b"CPER");
        r[20..24].copy_from_slice(&(len as u32).to_le_bytes());
        r[96..104].copy_from_slice(&id.to_le_bytes());
        r
    }

    type TestErst = Erst<SimErst, SharedClock, Shared>;

    fn setup(slots: usize) -> TestErst {
        let clock = SharedClock::default();
        let exchange = Shared(Rc::new(RefCell::new(vec![0; RECORD_SIZE])));
        let sim = SimErst::new(slots, exchange.clone(), clock.clone());
        let table = ErstTable::parse(&qemu_table()).unwrap();
        Erst::new(table, sim, clock, exchange).unwrap()
    }

    fn sorted(mut v: Vec<u64>) -> Vec<u64> {
        v.sort_unstable();
        v
    }

    #[test]
    fn parses_qemu_table() {
        let t = qemu_table();
        assert_eq!(t.len(), 912);
        let erst = ErstTable::parse(&t).unwrap();
        assert_eq!(erst.entries.len(), 27);
        assert_eq!(erst.header_length, 48);
    }

    #[test]
    fn write_read_clear_count_enumerate() {
        let mut e = setup(8);
        assert_eq!(
            e.error_log_range(),
            ErrorLogRange {
                address: BAR1,
                length: RECORD_SIZE as u64,
                attributes: 0
            }
        );
        assert_eq!(e.execute_operation_timings().unwrap(), Some((100, 10)));
        assert_eq!(e.record_count().unwrap(), 0);
        assert_eq!(e.ids().unwrap(), Vec::<u64>::new());
        assert_eq!(e.get_next_record_id().unwrap(), EMPTY_RECORD_ID);

        let recs = [
            record(11, 200, 0xA1),
            record(22, 128, 0xB2),
            record(33, 4000, 0xC3),
        ];
        for r in &recs {
            e.write(r).unwrap();
        }
        assert_eq!(e.record_count().unwrap(), 3);
        assert_eq!(sorted(e.ids().unwrap()), [11, 22, 33]);
        let mut buf = vec![0u8; RECORD_SIZE];
        for r in &recs {
            let id = u64::from_le_bytes(r[96..104].try_into().unwrap());
            let n = e.read(id, &mut buf).unwrap();
            assert_eq!(&buf[..n], &r[..]);
        }

        e.clear(22).unwrap();
        assert_eq!(e.record_count().unwrap(), 2);
        assert_eq!(sorted(e.ids().unwrap()), [11, 33]);
        assert_eq!(e.read(22, &mut buf), Err(ErstError::RecordNotFound));
        assert_eq!(e.clear(22), Err(ErstError::RecordNotFound));

        // Same id again replaces the record.
        let newer = record(11, 300, 0xDD);
        e.write(&newer).unwrap();
        assert_eq!(e.record_count().unwrap(), 2);
        assert_eq!(e.read(11, &mut buf).unwrap(), 300);
        assert_eq!(&buf[..300], &newer[..]);

        let mut small = [0u8; 200];
        assert_eq!(
            e.read(11, &mut small),
            Err(ErstError::BufferTooSmall { needed: 300 })
        );
        assert_eq!(e.read(0, &mut buf), Err(ErstError::InvalidRecordId(0)));
    }

    #[test]
    fn bad_records_are_refused_before_the_firmware_sees_them() {
        let mut e = setup(4);
        assert_eq!(
            e.write(&record(1, RECORD_SIZE + 8, 0)),
            Err(ErstError::TooLarge {
                len: RECORD_SIZE + 8,
                capacity: RECORD_SIZE
            })
        );
        let mut r = record(1, 128, 0);
        r[0] = b'X';
        assert!(matches!(e.write(&r), Err(ErstError::BadRecord(_))));
        assert!(matches!(e.write(&[0u8; 10]), Err(ErstError::BadRecord(_))));
        let mut r = record(1, 128, 0);
        r[20..24].copy_from_slice(&500u32.to_le_bytes());
        assert!(matches!(e.write(&r), Err(ErstError::BadRecord(_))));
        r[20..24].copy_from_slice(&64u32.to_le_bytes());
        assert!(matches!(e.write(&r), Err(ErstError::BadRecord(_))));
        assert_eq!(
            e.write(&record(EMPTY_RECORD_ID, 128, 0)),
            Err(ErstError::InvalidRecordId(EMPTY_RECORD_ID))
        );
        assert_eq!(e.record_count().unwrap(), 0);
    }

    #[test]
    fn full_store_reports_not_enough_space() {
        let mut e = setup(2);
        e.write(&record(1, 128, 1)).unwrap();
        e.write(&record(2, 128, 2)).unwrap();
        let err = e.write(&record(3, 128, 3)).unwrap_err();
        assert_eq!(err, ErstError::NotEnoughSpace);
        assert!(format!("{err}").contains("full"));
        // Overwriting an existing record still works when full.
        e.write(&record(2, 256, 9)).unwrap();
    }

    #[test]
    fn a_full_store_reclaims_the_victims_it_is_given() {
        let mut e = setup(2);
        e.write(&record(1, 128, 1)).unwrap();
        e.write(&record(2, 128, 2)).unwrap();
        // Room made by clearing the first victim offered.
        let mut victims = vec![2u64, 1];
        let mut log = Vec::new();
        let r = e.write_reclaiming(
            &record(3, 128, 3),
            || victims.pop(),
            |id, r| log.push((id, r)),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(log, [(1, Ok(()))]);
        assert_eq!(sorted(e.ids().unwrap()), [2, 3]);
        // Not full: nothing is cleared.
        e.clear(3).unwrap();
        let r = e.write_reclaiming(&record(4, 128, 4), || panic!("not full"), |_, _| {});
        assert_eq!(r, Ok(()));
        // Full and nothing to give up.
        let r = e.write_reclaiming(&record(5, 128, 5), || None, |_, _| panic!("nothing"));
        assert_eq!(r, Err(ReclaimError::NothingToReclaim));
        // A victim that is not there frees nothing: the tries run out.
        let mut log = Vec::new();
        let r = e.write_reclaiming(&record(5, 128, 5), || Some(99), |id, r| log.push((id, r)));
        assert_eq!(r, Err(ReclaimError::StillFull));
        assert_eq!(
            log,
            [(99, Err(ErstError::RecordNotFound)); RECLAIM_ATTEMPTS]
        );
        // Other failures are not a reason to clear anything.
        assert_eq!(
            e.write_reclaiming(&record(0, 128, 0), || panic!("bad"), |_, _| {}),
            Err(ReclaimError::Write(ErstError::InvalidRecordId(0)))
        );
        assert_eq!(sorted(e.ids().unwrap()), [2, 4]);
    }

    #[test]
    fn busy_is_polled_and_times_out() {
        let mut e = setup(2);
        e.access_mut().busy_after_execute = 5;
        e.write(&record(1, 128, 1)).unwrap();
        assert_eq!(e.access_mut().busy_left, 0);

        e.access_mut().stuck_busy = true;
        let start = e.access_mut().clock.0.now_us();
        let err = e.write(&record(2, 128, 1)).unwrap_err();
        assert_eq!(err, ErstError::Timeout);
        let waited = e.access_mut().clock.0.now_us() - start;
        assert!((DEFAULT_TIMEOUT_US..DEFAULT_TIMEOUT_US + 10).contains(&waited));
        assert!(!format!("{err}").is_empty());
    }

    #[test]
    fn readers_each_see_every_record() {
        let mut e = setup(8);
        for id in [5, 6, 7, 8] {
            e.write(&record(id, 128, id as u8)).unwrap();
        }
        // Move the firmware cursor to the middle first.
        e.get_next_record_id().unwrap();
        e.get_next_record_id().unwrap();

        let mut r1 = e.reader_begin();
        let first = e.reader_next(&mut r1).unwrap().unwrap();
        let mut r2 = e.reader_begin();
        let mut all2 = Vec::new();
        while let Some(id) = e.reader_next(&mut r2).unwrap() {
            all2.push(id);
            // Someone else pokes the firmware cursor meanwhile.
            e.get_next_record_id().unwrap();
        }
        let mut all1 = vec![first];
        while let Some(id) = e.reader_next(&mut r1).unwrap() {
            all1.push(id);
        }
        assert_eq!(sorted(all1), [5, 6, 7, 8]);
        assert_eq!(sorted(all2), [5, 6, 7, 8]);
        e.reader_end(r2);

        // A clear during a pass hides the id from readers still before it.
        let mut r3 = e.reader_begin();
        let a = e.reader_next(&mut r3).unwrap().unwrap();
        let victim = [5, 6, 7, 8].into_iter().find(|&x| x != a).unwrap();
        e.clear(victim).unwrap();
        let mut rest = vec![a];
        while let Some(id) = e.reader_next(&mut r3).unwrap() {
            rest.push(id);
        }
        assert_eq!(rest.len(), 3);
        assert!(!rest.contains(&victim));
        e.reader_end(r3);
        e.reader_end(r1);
        assert_eq!(e.cache.ids.len(), 3);
        // A record written later is found by a new reader.
        e.write(&record(9, 128, 9)).unwrap();
        assert_eq!(sorted(e.ids().unwrap()).len(), 4);
    }

    #[test]
    fn malformed_tables_are_rejected() {
        let entries = qemu_erst_entries();
        // Count larger than the table holds.
        let t = erst_table(48, 28, &entries);
        let err = ErstTable::parse(&t).unwrap_err();
        assert!(matches!(
            err,
            TableError::Parse(ParseError::BadLength { value: 28, .. })
        ));
        assert!(format!("{}", ErstError::from(err)).contains("entry count"));
        let t = erst_table(48, u32::MAX, &entries);
        assert!(ErstTable::parse(&t).is_err());
        // Truncated: the header says more than we have.
        let t = qemu_table();
        assert!(matches!(
            ErstTable::parse(&t[..500]),
            Err(TableError::Parse(ParseError::Truncated { .. }))
        ));
        assert!(ErstTable::parse(&t[..40]).is_err());
        // Bad checksum.
        let mut bad = t.clone();
        bad[100] ^= 1;
        assert!(matches!(
            ErstTable::parse(&bad),
            Err(TableError::Parse(ParseError::BadChecksum { .. }))
        ));
        // Wrong signature.
        assert!(matches!(
            ErstTable::parse(&make_table(b"EINJ", 1, &t[36..])),
            Err(TableError::Parse(ParseError::BadSignature { .. }))
        ));
        // Unknown instruction in entry 3.
        let mut e2 = entries.clone();
        e2[3 * 32 + 1] = 0x42;
        let err = ErstTable::parse(&erst_table(48, 27, &e2)).unwrap_err();
        assert_eq!(
            err,
            TableError::UnknownInstruction {
                index: 3,
                instruction: 0x42
            }
        );
        assert!(format!("{err}").contains("entry 3"));
        // Bad header length, and a register in PCI config space.
        assert!(ErstTable::parse(&erst_table(20, 27, &entries)).is_err());
        let mut e3 = entries.clone();
        e3[5 * 32 + 4] = 2;
        assert!(matches!(
            ErstTable::parse(&erst_table(48, 27, &e3)),
            Err(TableError::BadRegister { index: 5, .. })
        ));
        // A table lacking the range actions cannot be used.
        let t = erst_table(48, 4, &entries[..4 * 32]);
        let table = ErstTable::parse(&t).unwrap();
        let clock = SharedClock::default();
        let ex = Shared(Rc::new(RefCell::new(vec![0; RECORD_SIZE])));
        let sim = SimErst::new(1, ex.clone(), clock.clone());
        assert!(matches!(
            Erst::new(table, sim, clock, ex).err(),
            Some(ErstError::Interp(ExecError::NoSuchAction { action: 13 }))
        ));
    }

    #[test]
    fn mutated_tables_never_panic() {
        let base = qemu_table();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let mut t = base.clone();
            for _ in 0..1 + next() % 4 {
                let i = 36 + (next() as usize % (t.len() - 36));
                t[i] = next() as u8;
            }
            t[9] = 0;
            t[9] = 0u8.wrapping_sub(crate::apei::table::checksum(&t));
            let Ok(table) = ErstTable::parse(&t) else {
                continue;
            };
            let clock = SharedClock::default();
            let ex = Shared(Rc::new(RefCell::new(vec![0; RECORD_SIZE])));
            let sim = SimErst::new(2, ex.clone(), clock.clone());
            if let Ok(mut e) = Erst::new(table, sim, clock, ex) {
                let _ = e.write(&record(1, 128, 1));
                let _ = e.read(1, &mut [0u8; 256]);
                let _ = e.ids();
                let _ = e.clear(1);
            }
        }
    }

    #[test]
    fn log_buffer_must_cover_the_range() {
        let clock = SharedClock::default();
        let ex = Shared(Rc::new(RefCell::new(vec![0; RECORD_SIZE])));
        let sim = SimErst::new(1, ex.clone(), clock.clone());
        let table = ErstTable::parse(&qemu_table()).unwrap();
        let small: Vec<u8> = vec![0; 100];
        assert!(matches!(
            Erst::new(table, sim, clock, small).err(),
            Some(ErstError::LogBufferTooSmall { mapped: 100, .. })
        ));
    }
}
