//! GHES and GHESv2 sources on this machine (the pure side is
//! `crate::apei::ghes`): found in HEST at boot, their registers and blocks
//! kept from the frame allocator, then serviced
//!
//! - by the timer tick on the bootstrap processor (`notify::on_tick`),
//!   polled sources at their own interval and those whose notification is
//!   not wired (SCI, GSIV, GPIO, ...) at the fallback interval, said at boot;
//! - by the NMI handler (`notify::nmi`) for NMI sources, lock-free.
//!
//! Either way a block is copied into a preallocated record slot
//! ([`crate::mca::log::pool::SlotPool`]), given back to the firmware
//! (cleared and, for GHESv2, acknowledged) and handed to the record
//! consumer (`consume`), which prints it in Linux's words, counts it, keeps
//! it for `log` and acts on it by severity. A fatal block takes the panic
//! path at once, from where it was found, with the block saved in ERST.

mod consume;
mod notify;

pub use consume::{drain, recent, summary, write_recent, RecentBlock};
pub use notify::{nmi, on_tick};

use crate::apei::ghes::{self, Delivery, SourceConfig};
use crate::apei::hest::ErrorSource;
use crate::boot::FRAMES;
use crate::mca::log::pool::SlotPool;
use crate::{error, info, warn};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use spin::Once;

/// Counters of one source, kept by whoever finds the event (NMI, tick,
/// consumer): atomics only.
#[derive(Default)]
pub struct Counters {
    /// Blocks taken (valid ones, by grade: none, corrected, recoverable, fatal).
    pub by_grade: [AtomicU64; 4],
    /// Blocks that claimed more than their region (error block length).
    pub too_long: AtomicU64,
    /// Blocks whose header or sections do not hold together.
    pub malformed: AtomicU64,
    /// The address register or the block could not be read.
    pub unreadable: AtomicU64,
    /// Block statuses that did not clear, and the same block found again.
    pub stuck: AtomicU64,
    pub stuck_repeats: AtomicU64,
    pub clear_failed: AtomicU64,
    pub ack_failed: AtomicU64,
    /// Sections of a type with no decoder here (GUID and length shown).
    pub unknown_sections: AtomicU64,
    /// Blocks left in place because no record slot was free (taken later).
    pub deferred: AtomicU64,
}

/// One serviced source.
pub struct Source {
    pub cfg: SourceConfig,
    /// Taken by whoever services the source right now (never waited for).
    busy: AtomicBool,
    /// A block was left in place for lack of a free slot: look again.
    deferred: AtomicBool,
    next_poll_us: AtomicU64,
    /// Fingerprint of a block whose status did not clear (0: none), so it
    /// is logged once, not on every look.
    stuck: AtomicU64,
    /// The kind of the last problem reported (0: none), so a persistent
    /// one is said once and counted after.
    last_problem: AtomicU8,
    pub counters: Counters,
}

/// A record slot: one copied block and what servicing it found.
pub struct Slot {
    pub source: usize,
    pub cpu: u32,
    pub time_us: u64,
    pub via: Via,
    pub paddr: u64,
    /// Bytes of `bytes` holding the copy (0: a problem before any copy).
    pub len: usize,
    pub problem: Option<ghes::Problem>,
    pub cleared: Option<ghes::Cleared>,
    pub acked: Option<ghes::Acked>,
    pub bytes: Box<[u8]>,
}

/// Who found a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Poll,
    Nmi,
    /// The consumer, taking a block left for lack of a slot.
    Retry,
}

impl Via {
    pub const fn name(self) -> &'static str {
        match self {
            Via::Poll => "poll",
            Via::Nmi => "NMI",
            Via::Retry => "retry",
        }
    }
}

/// The sources, set once at boot, then only read (with their atomics).
static SOURCES: Once<Vec<Source>> = Once::new();
/// Record slots, each as large as the largest source's block.
static POOL: Once<SlotPool<Slot>> = Once::new();
/// Whether any source is NMI-notified (the NMI handler's first test).
static HAS_NMI: AtomicBool = AtomicBool::new(false);

/// Slots: enough for a burst from every source.
const SLOTS: usize = 16;

fn sources() -> &'static [Source] {
    SOURCES.get().map_or(&[], |v| v.as_slice())
}

/// Finds the GHES sources in HEST, checks each, reserves their registers
/// and blocks, and starts servicing them. Said at boot, one line each.
pub fn init() {
    let Some(t) = super::acpi::find(b"HEST") else {
        return;
    };
    let Ok(hest) = crate::apei::hest::parse_hest(t.bytes) else {
        return; // `report_hest` said why.
    };
    let mut list = Vec::new();
    for s in &hest.sources {
        let (g, version) = match s {
            ErrorSource::Generic(g) => (g, 1),
            ErrorSource::GenericV2(g) => (g, 2),
            _ => continue,
        };
        match SourceConfig::from_hest(g, version) {
            Ok(cfg) => {
                info!("ghes: {cfg}");
                list.push(Source {
                    cfg,
                    busy: AtomicBool::new(false),
                    deferred: AtomicBool::new(false),
                    next_poll_us: AtomicU64::new(0),
                    stuck: AtomicU64::new(0),
                    last_problem: AtomicU8::new(0),
                    counters: Counters::default(),
                });
            }
            Err(ghes::SourceError::Disabled) => {
                info!(
                    "ghes: source {}: disabled by the firmware; not serviced",
                    g.source_id
                )
            }
            Err(e) => error!("ghes: source {}: {e}; not serviced", g.source_id),
        }
    }
    if list.is_empty() {
        return;
    }
    reserve(&list);
    let largest = list
        .iter()
        .map(|s| s.cfg.block_len as usize)
        .max()
        .unwrap_or(0);
    POOL.call_once(|| {
        SlotPool::new(SLOTS, || Slot {
            source: 0,
            cpu: 0,
            time_us: 0,
            via: Via::Poll,
            paddr: 0,
            len: 0,
            problem: None,
            cleared: None,
            acked: None,
            bytes: alloc::vec![0u8; largest].into_boxed_slice(),
        })
    });
    let count = |f: fn(&Delivery) -> bool| list.iter().filter(|s| f(&s.cfg.delivery)).count();
    let polled = count(|d| matches!(d, Delivery::Polled { .. }));
    let nmi = count(|d| *d == Delivery::Nmi);
    let fallback = count(|d| matches!(d, Delivery::Fallback { .. }));
    info!(
        "ghes: servicing {} source(s): {polled} polled, {nmi} by NMI, {fallback} on the fallback poll; {SLOTS} record slots of {largest} bytes",
        list.len()
    );
    SOURCES.call_once(|| list);
    HAS_NMI.store(nmi > 0, Ordering::SeqCst);
}

/// Keeps the registers' pages and each block's current region from the
/// frame allocator, as the firmware's.
fn reserve(list: &[Source]) {
    let mut frames = FRAMES.lock();
    let mut a = super::access::HwAccess;
    for s in list {
        let reg = &s.cfg.error_status_address;
        if reg.space == crate::apei::gas::AddressSpace::SystemMemory {
            frames.reserve(reg.address, reg.address.saturating_add(8));
        }
        if let Some(r) = &s.cfg.read_ack {
            if r.register.space == crate::apei::gas::AddressSpace::SystemMemory {
                frames.reserve(r.register.address, r.register.address.saturating_add(8));
            }
        }
        match crate::apei::gas::read(&mut a, reg) {
            Ok(0) => {}
            Ok(block) => frames.reserve(block, block.saturating_add(s.cfg.block_len as u64)),
            Err(e) => warn!(
                "ghes: source {}: cannot read the error status block address: {e}",
                s.cfg.source_id
            ),
        }
    }
}
