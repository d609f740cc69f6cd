//! EINJ on this machine: finds the table, keeps the firmware's register
//! pages away from the frame allocator, and, only when booted with
//! `einj=on`, drives injections through `apei::einj` over [`HwAccess`].
//!
//! Injection plants real hardware errors, so it is off unless asked for,
//! and memory targets must lie in RAM the boot memory map called usable.

use super::access::HwAccess;
use super::acpi::find;
use crate::apei::einj::{
    in_usable_ram, Einj, EinjError, EinjTable, ErrorType, InjectRequest, DEFAULT_TIMEOUT_US,
};
use crate::apei::gas::AddressSpace;
use crate::apei::interp::InstructionEntry;
use crate::boot::FRAMES;
use crate::clock::TscClock;
use crate::{error, info, warn};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use spin::Mutex;

pub type Injector = Einj<HwAccess, TscClock>;

/// The injector, present only when the table is usable and `einj=on`.
pub static EINJ: Mutex<Option<Injector>> = Mutex::new(None);

/// What boot found, for the console's refusals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No EINJ table (the usual case under QEMU, which has none).
    Absent,
    /// The table was rejected at boot (the reason was logged then).
    Malformed,
    /// A usable table, but the boot configuration has `einj=off`.
    Disabled,
    Enabled,
}

static STATE: Mutex<State> = Mutex::new(State::Absent);

/// Usable RAM from the boot memory map, as (start, end). Recorded at init
/// because the frame allocator only knows the ranges that are still free.
static USABLE: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// Size of the SET_ERROR_TYPE_WITH_ADDRESS structure (ACPI 6.x): type,
/// vendor extension offset, flags, APIC id (u32 each), address, mask (u64
/// each), PCIe SBDF (u32).
const SETWA_LEN: u64 = 36;

pub fn state() -> State {
    *STATE.lock()
}

/// Reserves the pages the table's memory registers (and the
/// SET_ERROR_TYPE_WITH_ADDRESS structure) live in: the firmware owns them,
/// even when (as in the tests) they sit in RAM the memory map called usable.
fn reserve_registers(table: &EinjTable) {
    let mut frames = FRAMES.lock();
    for e in &table.entries {
        let r = &e.register;
        if r.space == AddressSpace::SystemMemory && r.address != 0 {
            frames.reserve(r.address, r.address.saturating_add(register_len(e)));
        }
    }
    if let Some(at) = table.set_error_type_with_address() {
        frames.reserve(at, at.saturating_add(SETWA_LEN));
    }
}

fn register_len(e: &InstructionEntry) -> u64 {
    e.register.access_bits().map_or(8, |b| (b / 8) as u64)
}

/// Finds and checks the EINJ; with `enabled`, takes it over and lists the
/// error types the platform can inject. `usable` is the boot memory map's
/// usable RAM, used to refuse memory targets that are not RAM.
pub fn init(enabled: bool, usable: &[(u64, u64)]) {
    *USABLE.lock() = usable.to_vec();
    let Some(t) = find(b"EINJ") else {
        info!("einj: no EINJ table; error injection through firmware is not available");
        return;
    };
    let table = match EinjTable::parse(t.bytes) {
        Ok(tab) => tab,
        Err(e) => {
            error!(
                "einj: EINJ table at {:#x} rejected ({e}); ignored, injection unavailable",
                t.phys
            );
            *STATE.lock() = State::Malformed;
            return;
        }
    };
    reserve_registers(&table);
    let entries = table.entries.len();
    let setwa = table.set_error_type_with_address();
    if !enabled {
        info!(
            "einj: EINJ present at {:#x} ({entries} entries) but disabled (boot with einj=on to enable)",
            t.phys
        );
        *STATE.lock() = State::Disabled;
        return;
    }
    let mut einj = Injector::new(table, HwAccess, TscClock);
    info!(
        "einj: EINJ at {:#x} enabled: {entries} entries, {}",
        t.phys,
        match setwa {
            Some(a) => format!("SET_ERROR_TYPE_WITH_ADDRESS structure at {a:#x}"),
            None => "no SET_ERROR_TYPE_WITH_ADDRESS (no address or APIC id targets)".into(),
        }
    );
    match einj.supported_types() {
        Ok(types) => info!("einj: supported error types ({:#x}): {types}", types.bits()),
        Err(e) => warn!("einj: cannot read the supported error types: {e}"),
    }
    *EINJ.lock() = Some(einj);
    *STATE.lock() = State::Enabled;
}

/// Why injection is not possible, when it is not.
pub fn unavailable() -> Option<&'static str> {
    match state() {
        State::Absent => Some("no EINJ table on this machine"),
        State::Malformed => Some("the EINJ table was rejected at boot (see the boot log)"),
        State::Disabled => Some("error injection is disabled (boot with einj=on to enable)"),
        State::Enabled => None,
    }
}

/// The error types the platform reports (GET_ERROR_TYPE).
pub fn supported() -> Result<ErrorType, String> {
    if let Some(why) = unavailable() {
        return Err(why.into());
    }
    let mut g = EINJ.lock();
    let einj = g.as_mut().ok_or("EINJ not initialised")?;
    einj.supported_types().map_err(|e| format!("{e}"))
}

/// Injects `req`: refused when disabled; a memory target must cover only
/// usable RAM (the whole range its mask leaves open, as Linux checks).
/// Returns what was done, or why not.
pub fn inject(req: &InjectRequest) -> Result<String, String> {
    if let Some(why) = unavailable() {
        return Err(why.into());
    }
    let usable = USABLE.lock().clone();
    let span = req.memory_span();
    let is_ram = |base: u64| in_usable_ram(&usable, base, span);
    let mut g = EINJ.lock();
    let einj = g.as_mut().ok_or("EINJ not initialised")?;
    match einj.inject(req, is_ram) {
        Ok(()) => Ok(format!(
            "firmware injected {} and its trigger actions ran",
            req.error_type
        )),
        Err(EinjError::Timeout) => Err(format!(
            "{} (still busy after {} ms)",
            EinjError::Timeout,
            DEFAULT_TIMEOUT_US / 1000
        )),
        Err(e) => Err(format!("{e}")),
    }
}
