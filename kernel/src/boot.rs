//! The boot sequence of the bootstrap processor: from the bootloader's hand-off
//! to `READY`, in dependency order.

use crate::arch::x86_64::{apic, cpu::CpuInfo, gdt, idt, percpu, tsc};
use crate::config::Config;
use crate::mm::frame::FrameAllocator;
use crate::{console, info, klog, qemu, warn};
use bootloader_api::info::MemoryRegionKind;
use bootloader_api::BootInfo;
use spin::{Mutex, Once};

/// The kernel's view of the machine, set once during boot.
pub struct Platform {
    pub physical_memory_offset: u64,
    /// The end of the physical-memory mapping (at least 4 GiB).
    pub max_phys: u64,
    pub rsdp: Option<u64>,
    pub cpu: CpuInfo,
}

pub static PLATFORM: Once<Platform> = Once::new();
pub static CONFIG: Once<Mutex<Config>> = Once::new();
pub static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator::new());

/// A copy of the boot configuration.
pub fn config() -> Config {
    CONFIG.get().map(|c| c.lock().clone()).unwrap_or_default()
}

pub fn platform() -> &'static Platform {
    PLATFORM.get().expect("platform known after boot")
}

/// Converts a physical address to its virtual address in the physical-memory
/// mapping the bootloader set up.
pub fn phys_to_virt(phys: u64) -> u64 {
    platform().physical_memory_offset + phys
}

const HEAP_MAX: u64 = 32 << 20;

/// Finds a block for the heap: the largest usable region, at most HEAP_MAX
/// or a quarter of it if that is more. Each started CPU takes about 300 KiB
/// of heap (stacks, tables; `smp` reports it), so 32 MiB ends near 100
/// CPUs; a machine with hundreds of CPUs has the memory for a larger heap.
fn heap_region(boot_info: &BootInfo) -> Option<(u64, u64)> {
    boot_info
        .memory_regions
        .iter()
        .filter(|r| r.kind == MemoryRegionKind::Usable && r.start >= 0x10_0000)
        .map(|r| {
            let len = r.end - r.start;
            (r.start, len.min(HEAP_MAX.max(len / 4)))
        })
        .max_by_key(|&(_, len)| len)
}

pub fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    tsc::mark_boot();
    let serial = console::serial::init();
    let Some(offset) = boot_info.physical_memory_offset.into_option() else {
        qemu::halt_forever();
    };
    // The heap comes first: everything after it may allocate.
    let Some((heap_phys, heap_len)) = heap_region(boot_info) else {
        qemu::halt_forever();
    };
    crate::mm::glue::heap::init(offset + heap_phys, heap_len);
    // From here on, log lines go through the console's line queue.
    console::lines::init(512);

    let framebuffer = match boot_info.framebuffer.take() {
        Some(fb) => {
            let info = fb.info();
            console::framebuffer::init(fb.into_buffer(), info);
            true
        }
        None => false,
    };
    let cmdline = ramdisk_text(boot_info);
    let (config, problems) = Config::parse(&cmdline);
    klog::set_level(config.log);
    // From here on, everything printed is also kept for the panic path.
    crate::pstore::glue::init(config.pstore_log_kib);

    let cpu = CpuInfo::read();
    qemu::set_under_qemu(cpu.is_qemu());
    tsc::calibrate();

    let bsp_tss = gdt::init_cpu();
    register_vectors();
    idt::load();
    let max_phys = boot_info
        .memory_regions
        .iter()
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
        .max(1 << 32);
    PLATFORM.call_once(|| Platform {
        physical_memory_offset: offset,
        max_phys,
        rsdp: boot_info.rsdp_addr.into_option(),
        cpu,
    });

    info!(
        "rasos {} booting on {} family {:#x} model {:#x} stepping {} (hypervisor: {})",
        env!("CARGO_PKG_VERSION"),
        crate::mca::record::CpuVendor::from_cpuid_vendor(&cpu.vendor_id).mcelog_name(),
        cpu.family,
        cpu.model,
        cpu.stepping,
        cpu.hypervisor_name()
    );
    let keyboard = console::keyboard::init();
    info!(
        "console: serial {}, framebuffer {}, PS/2 keyboard {}",
        if serial { "COM1" } else { "absent" },
        if framebuffer { "yes" } else { "no" },
        if keyboard { "yes" } else { "no" }
    );
    for p in &problems {
        warn!("config: {p}");
    }
    info!("config: {config}");
    info!("tsc: {} kHz", tsc::khz());

    // Frames: every usable region, less the heap.
    {
        let mut frames = FRAMES.lock();
        for r in boot_info.memory_regions.iter() {
            if r.kind == MemoryRegionKind::Usable {
                frames.add_region(r.start, r.end);
            }
        }
        frames.reserve(heap_phys, heap_phys + heap_len);
        info!(
            "memory: {} MiB usable, heap {} MiB at {:#x}",
            (frames.free_frames() * 4096) >> 20,
            heap_len >> 20,
            heap_phys
        );
    }

    apic::init_bsp(offset, cpu.x2apic);
    apic::init_cpu();
    let bsp_apic = apic::id();
    percpu::init(0, bsp_apic, bsp_tss);
    let per_ms = apic::calibrate_timer();
    info!(
        "local APIC: id {} {} mode (x2APIC {}), version {:#x}, timer {} ticks/ms",
        bsp_apic,
        if apic::is_x2apic() { "x2APIC" } else { "xAPIC" },
        if cpu.x2apic { "offered" } else { "not offered" },
        apic::version() & 0xff,
        per_ms
    );
    CONFIG.call_once(|| Mutex::new(config.clone()));
    crate::smp::mark_online(0, bsp_apic);
    if let Some(t) = rtc_unix_now() {
        crate::firmware::glue::erst::BOOT_UNIX
            .store(t as u32, core::sync::atomic::Ordering::SeqCst);
        info!("rtc: {t} seconds since the epoch");
    }

    // Machine checks: rings and subscribers first, then this CPU's banks.
    crate::mca::glue::state::init(crate::cpuset::MAX_CPUS, &config);
    crate::mca::log::glue::consumer::subscribe(
        crate::mca::recovery::glue::memory_failure::subscriber(),
    );
    crate::mca::corrected::glue::storm::configure(&config);
    crate::mca::corrected::glue::cec::init(config.cec_threshold, config.cec_window_s);
    crate::mca::log::glue::consumer::subscribe(crate::mca::corrected::glue::cec::subscriber());
    crate::task::init();
    // Firmware-first banks (HEST) before any CPU claims CMCI banks.
    crate::mca::glue::state::FIRMWARE_FIRST.store(
        crate::firmware::glue::reports::firmware_first_mask(),
        core::sync::atomic::Ordering::SeqCst,
    );
    crate::mca::glue::init::init_cpu(0, bsp_apic);

    apic::start_timer(crate::timer::TICK_MS);
    x86_64::instructions::interrupts::enable();
    crate::smp::start_aps();

    // APEI: the tables, errors the firmware saw (BERT), error sources
    // (HEST: firmware-first banks), the persistent store, then the GHES
    // sources (a fatal one is saved in the store).
    crate::firmware::glue::reports::tables_line();
    crate::firmware::glue::reports::report_bert();
    let ff = crate::firmware::glue::reports::report_hest();
    crate::mca::glue::state::FIRMWARE_FIRST.store(ff, core::sync::atomic::Ordering::SeqCst);
    crate::firmware::glue::erst::init();
    crate::firmware::glue::ghes::init();
    let usable: alloc::vec::Vec<(u64, u64)> = boot_info
        .memory_regions
        .iter()
        .filter(|r| r.kind == MemoryRegionKind::Usable)
        .map(|r| (r.start, r.end))
        .collect();
    crate::firmware::glue::einj::init(config.einj, &usable);

    crate::tests::run_early(&config);
    info!("READY");
    crate::idle::run()
}

/// The ramdisk holds the boot configuration as text (see `boot/`).
fn ramdisk_text(boot_info: &BootInfo) -> alloc::string::String {
    let Some(addr) = boot_info.ramdisk_addr.into_option() else {
        return alloc::string::String::new();
    };
    let len = (boot_info.ramdisk_len as usize).min(4096);
    // SAFETY: the bootloader mapped the ramdisk at `addr` for `ramdisk_len`
    // bytes and never reuses it; we only read it.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, len) };
    let text = core::str::from_utf8(bytes).unwrap_or("");
    alloc::string::String::from(text.trim_matches(char::from(0)).trim())
}

/// Every layer that owns a vector registers its handler before the IDT is
/// built (arch/ dispatches and calls no one above it).
fn register_vectors() {
    crate::trap::register();
    crate::nmi::register();
    crate::mca::exception::glue::handler::register();
    crate::mca::corrected::glue::poll::register();
    crate::mca::inject::glue::injector::register();
    crate::mca::log::glue::consumer::register();
    crate::smp::register();
    crate::task::scheduler::register();
}

/// Seconds since the Unix epoch from the RTC.
fn rtc_unix_now() -> Option<u64> {
    let t = crate::arch::x86_64::rtc::read()?;
    let dt = crate::apei::cper::DateTime {
        year: t.year,
        month: t.month,
        day: t.day,
        hour: t.hour,
        minute: t.minute,
        second: t.second,
        precise: false,
    };
    u64::try_from(dt.to_unix()).ok()
}
