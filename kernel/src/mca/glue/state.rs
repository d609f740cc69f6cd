//! The machine-check subsystem's shared state in the kernel: the per-CPU
//! record rings, each CPU's MCA identity, the tunables that exception
//! context reads (atomics, so #MC never takes a lock), and counters.

use crate::arch::x86_64::tsc;
use crate::cpuset::{AtomicCpuSet, MAX_CPUS};
use crate::mca::banks::McgCap;
use crate::mca::exception::found::FoundBanks;
use crate::mca::glue::hw_msr::HwMsr;
use crate::mca::inject::overlay::{BankOverlay, OverlayMsr};
use crate::mca::log::accounting::BankAccount;
use crate::mca::log::ring::PerCpuRings;
use crate::mca::record::{CpuVendor, MceRecord, Source};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use spin::Once;

/// Records from polling, CMCI and boot, one ring per CPU, drained by the
/// consumer.
pub static RINGS: Once<PerCpuRings<MceRecord>> = Once::new();
/// Records from the #MC handler, apart: a #MC that interrupts this CPU's
/// own poller in the middle of a push must not find its records queued
/// behind that unfinished slot (the panic dump would stop there).
pub static EXC_RINGS: Once<PerCpuRings<MceRecord>> = Once::new();

/// Both ring sets, the #MC records first.
pub fn ring_sets() -> impl Iterator<Item = &'static PerCpuRings<MceRecord>> {
    [EXC_RINGS.get(), RINGS.get()].into_iter().flatten()
}

/// Records lost to full rings, all CPUs.
pub fn total_dropped() -> u64 {
    ring_sets().map(|r| r.total_dropped()).sum()
}

/// Records lost to full rings on `cpu`.
pub fn dropped_on(cpu: usize) -> u64 {
    ring_sets()
        .map(|r| r.ring(cpu).map_or(0, |x| x.dropped()))
        .sum()
}

/// `mce.tolerant`, `mce.monarch_timeout_us`, `mce.poll_ms` as in effect.
pub static TOLERANT: AtomicU8 = AtomicU8::new(1);
pub static MONARCH_TIMEOUT_US: AtomicU64 = AtomicU64::new(1_000_000);
pub static POLL_MS: AtomicU64 = AtomicU64::new(1000);

/// What each CPU's init found.
pub struct CpuMca {
    pub ready: AtomicBool,
    pub mcgcap: AtomicU64,
    pub apic_id: AtomicU32,
    /// Banks a quirk says to ignore (bit per bank).
    pub ignored: AtomicU64,
    /// Banks whose corrected errors this CPU takes by CMCI (bit per bank).
    pub cmci_owned: AtomicU64,
    /// Banks shared with a CPU that owns them by CMCI: that CPU logs them,
    /// so this one neither polls nor clears them (no duplicate records).
    pub cmci_elsewhere: AtomicU64,
}

pub static CPUS: [CpuMca; MAX_CPUS] = [const {
    CpuMca {
        ready: AtomicBool::new(false),
        mcgcap: AtomicU64::new(0),
        apic_id: AtomicU32::new(0),
        ignored: AtomicU64::new(0),
        cmci_owned: AtomicU64::new(0),
        cmci_elsewhere: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// The identity shared by all CPUs (one package type per machine).
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    pub vendor: CpuVendor,
    pub signature: u32,
    pub family: u32,
    pub model: u32,
}

pub static IDENTITY: Once<Identity> = Once::new();

/// Machine checks taken (#MC entries), per CPU.
pub static EXCEPTIONS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Banks the firmware handles first (HEST): their corrected errors are
/// the firmware's (no polling, no CMCI, as Linux's `mce_disable_bank`),
/// but the #MC handler still reads, grades, logs and clears them.
pub static FIRMWARE_FIRST: AtomicU64 = AtomicU64::new(0);

/// Banks the #MC handler leaves alone on `cpu`: those a quirk says to.
pub fn ignored_banks(cpu: usize) -> u64 {
    CPUS.get(cpu)
        .map_or(0, |c| c.ignored.load(Ordering::Relaxed))
}

/// Banks the poller and CMCI leave alone on `cpu`: quirks plus
/// firmware-first banks.
pub fn poll_ignored_banks(cpu: usize) -> u64 {
    ignored_banks(cpu) | FIRMWARE_FIRST.load(Ordering::Relaxed)
}

/// CPUs inside the #MC handler that have not finished logging their banks.
/// The panic path waits (bounded) for them, so a CPU that decides to panic
/// first cannot stop another before its records are in the ring.
pub static SCANNING: AtomicCpuSet = AtomicCpuSet::new();

/// Each CPU's copies of what it found in its banks during the current #MC
/// (see `exception::found`), set up by its MCA init.
static FOUND: [Once<FoundBanks>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];

/// Gives `cpu` its found-bank copies (normal context, at MCA init).
pub fn init_found(cpu: usize, banks: u8) {
    if let Some(f) = FOUND.get(cpu) {
        f.call_once(|| FoundBanks::new(banks as usize));
    }
}

/// `cpu`'s found-bank copies, once its MCA init ran.
pub fn found(cpu: usize) -> Option<&'static FoundBanks> {
    FOUND.get(cpu)?.get()
}

/// Per CPU, the banks its last #MC logged and left uncleared because the
/// machine was going down (for the panic report).
pub static LEFT_BANKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Banks holding an error whose reporting was not enabled, cleared by #MC
/// without a record.
pub static NOT_ENABLED_CLEARED: AtomicU64 = AtomicU64::new(0);

/// `mce.test_unresponsive_cpu`: a CPU that, for tests, hangs in the #MC
/// handler instead of joining the rendezvous (u32::MAX: none).
pub static UNRESPONSIVE_CPU: AtomicU32 = AtomicU32::new(u32::MAX);

/// The injector's software bank overlays, one per CPU.
pub static OVERLAYS: [BankOverlay; MAX_CPUS] = [const { BankOverlay::new() }; MAX_CPUS];

static HW: HwMsr = HwMsr;

/// The MSRs of the calling CPU `cpu` as the machine-check code sees them:
/// the hardware, with any injected overlay on top.
pub fn cpu_msr(cpu: usize) -> OverlayMsr<'static, HwMsr> {
    OverlayMsr {
        inner: &HW,
        overlay: &OVERLAYS[cpu.min(MAX_CPUS - 1)],
    }
}

/// Sets up the rings; called once on the BSP before any CPU enables MCA.
pub fn init(cpus: usize, config: &crate::config::Config) {
    RINGS.call_once(|| PerCpuRings::new(cpus, config.ring_capacity));
    EXC_RINGS.call_once(|| PerCpuRings::new(cpus, config.ring_capacity));
    TOLERANT.store(config.tolerant, Ordering::SeqCst);
    MONARCH_TIMEOUT_US.store(config.monarch_timeout_us, Ordering::SeqCst);
    crate::mca::exception::glue::handler::RENDEZVOUS.set_cap_us(config.rendezvous_cap_us);
    POLL_MS.store(config.poll_ms, Ordering::SeqCst);
    UNRESPONSIVE_CPU.store(
        config.test_unresponsive_cpu.unwrap_or(u32::MAX),
        Ordering::SeqCst,
    );
}

pub fn mcgcap(cpu: usize) -> McgCap {
    McgCap(
        CPUS.get(cpu)
            .map_or(0, |c| c.mcgcap.load(Ordering::Relaxed)),
    )
}

/// A record with the calling CPU's identity and the moment's time, to be
/// completed with one bank's values.
pub fn template(cpu: usize, mcgstatus: u64, source: Source) -> MceRecord {
    let id = IDENTITY.get();
    MceRecord {
        mcgstatus,
        mcgcap: mcgcap(cpu).0,
        tsc: tsc::rdtsc(),
        time_us: tsc::now_us(),
        cpu: cpu as u32,
        apicid: CPUS
            .get(cpu)
            .map_or(0, |c| c.apic_id.load(Ordering::Relaxed)),
        cpuvendor: id.map_or(CpuVendor::Other, |i| i.vendor),
        cpuid: id.map_or(0, |i| i.signature),
        walltime: match crate::firmware::glue::erst::BOOT_UNIX.load(Ordering::Relaxed) {
            0 => 0,
            boot => boot as u64 + tsc::now_us() / 1_000_000,
        },
        source,
        ..Default::default()
    }
}

/// Stores a record in the calling CPU's ring (any context). A full ring
/// counts the drop; the consumer reports it.
pub fn log(cpu: usize, rec: MceRecord) {
    let set = if rec.source == Source::Exception {
        EXC_RINGS.get()
    } else {
        RINGS.get()
    };
    let ok = set.is_some_and(|r| r.push(cpu, rec).is_ok());
    if let Some(a) = ACCOUNTS.get(cpu) {
        a.stored(ok);
    }
}

/// Per CPU: valid banks read by logging passes, and what became of them
/// (see `log::accounting`), shown by `stats`.
pub static ACCOUNTS: [BankAccount; MAX_CPUS] = [const { BankAccount::new() }; MAX_CPUS];

/// A logging pass on `cpu` read `read` valid banks and left `left` of them
/// for the consumer that owns them.
pub fn scanned(cpu: usize, read: u64, left: u64) {
    if let Some(a) = ACCOUNTS.get(cpu) {
        a.scanned(read, left);
    }
}
