//! The local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode: the timer that
//! drives the kernel's tick, end-of-interrupt, and inter-processor interrupts
//! (fixed, NMI, INIT and STARTUP) to one CPU, to all but self, or to all.
//!
//! x2APIC (registers as MSRs 0x800+, 32-bit APIC ids) whenever CPUID.1:ECX
//! bit 21 offers it or the firmware left it on, as Linux does; xAPIC
//! through the physical-memory mapping otherwise. Every CPU uses the BSP's
//! mode. The ICR protocol of each mode is in `crate::ipi`.

use super::msr::{rdmsr, wrmsr};
pub use crate::ipi::{Delivery, Dest, SendError};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use x86_64::instructions::port::Port;

const IA32_APIC_BASE: u32 = 0x1B;
const APIC_BASE_X2APIC_ENABLE: u64 = 1 << 10;
const APIC_BASE_GLOBAL_ENABLE: u64 = 1 << 11;

/// Register offsets in the xAPIC MMIO page; the x2APIC MSR is 0x800 + off/16.
pub mod reg {
    pub const ID: u32 = 0x20;
    pub const VERSION: u32 = 0x30;
    pub const TPR: u32 = 0x80;
    pub const EOI: u32 = 0xB0;
    pub const SVR: u32 = 0xF0;
    pub const ESR: u32 = 0x280;
    pub const LVT_CMCI: u32 = 0x2F0;
    pub const ICR_LOW: u32 = 0x300;
    pub const ICR_HIGH: u32 = 0x310;
    pub const LVT_TIMER: u32 = 0x320;
    pub const LVT_LINT0: u32 = 0x350;
    pub const LVT_LINT1: u32 = 0x360;
    pub const LVT_ERROR: u32 = 0x370;
    pub const TIMER_INITIAL: u32 = 0x380;
    pub const TIMER_CURRENT: u32 = 0x390;
    pub const TIMER_DIVIDE: u32 = 0x3E0;
}

const LVT_MASKED: u32 = 1 << 16;
const TIMER_PERIODIC: u32 = 1 << 17;

static X2APIC: AtomicBool = AtomicBool::new(false);
/// Virtual address of the xAPIC MMIO page (through the physical mapping).
static MMIO: AtomicU64 = AtomicU64::new(0);
/// Timer ticks (divide by 16) per millisecond, measured at boot.
static TICKS_PER_MS: AtomicU64 = AtomicU64::new(0);

pub fn is_x2apic() -> bool {
    X2APIC.load(Ordering::Relaxed)
}

fn read(off: u32) -> u32 {
    if is_x2apic() {
        rdmsr(0x800 + off / 16) as u32
    } else {
        let addr = MMIO.load(Ordering::Relaxed) + off as u64;
        // SAFETY: MMIO maps the local APIC page (set in `init_bsp`), `off`
        // is a register offset inside that page, and APIC registers are
        // 32-bit aligned.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }
}

fn write(off: u32, v: u32) {
    if is_x2apic() {
        wrmsr(0x800 + off / 16, v as u64)
    } else {
        let addr = MMIO.load(Ordering::Relaxed) + off as u64;
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
    }
}

/// Masks the legacy 8259 PICs (after moving them off the exception vectors)
/// so that only the local APIC delivers interrupts.
fn disable_legacy_pic() {
    // SAFETY: the standard 8259 initialisation sequence on its own ports;
    // nothing else in the kernel drives the PIC.
    unsafe {
        let mut cmd1: Port<u8> = Port::new(0x20);
        let mut data1: Port<u8> = Port::new(0x21);
        let mut cmd2: Port<u8> = Port::new(0xA0);
        let mut data2: Port<u8> = Port::new(0xA1);
        cmd1.write(0x11);
        cmd2.write(0x11);
        data1.write(super::idt::vector::PIC_BASE);
        data2.write(super::idt::vector::PIC_BASE + 8);
        data1.write(4);
        data2.write(2);
        data1.write(1);
        data2.write(1);
        data1.write(0xff);
        data2.write(0xff);
    }
}

/// Chooses the APIC mode and finds the MMIO page. Call once, on the BSP;
/// `x2apic_offered` is CPUID.1:ECX bit 21.
pub fn init_bsp(physical_memory_offset: u64, x2apic_offered: bool) {
    disable_legacy_pic();
    let base = rdmsr(IA32_APIC_BASE);
    if x2apic_offered || base & APIC_BASE_X2APIC_ENABLE != 0 {
        // `init_cpu` switches each CPU (this one included).
        X2APIC.store(true, Ordering::SeqCst);
    } else {
        MMIO.store(
            physical_memory_offset + (base & 0x000f_ffff_ffff_f000),
            Ordering::SeqCst,
        );
    }
}

/// Enables the calling CPU's local APIC and masks its LVT entries.
pub fn init_cpu() {
    let base = rdmsr(IA32_APIC_BASE);
    let mut want = base | APIC_BASE_GLOBAL_ENABLE;
    // All CPUs use the mode the BSP chose. xAPIC -> x2APIC is EN then
    // EN|EXTD (SDM 11.12.5: EXTD without EN is an invalid state).
    if is_x2apic() {
        want |= APIC_BASE_X2APIC_ENABLE;
        if base & APIC_BASE_GLOBAL_ENABLE == 0 {
            wrmsr(IA32_APIC_BASE, base | APIC_BASE_GLOBAL_ENABLE);
        }
    }
    if want != base {
        wrmsr(IA32_APIC_BASE, want);
    }
    write(reg::TPR, 0);
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::LVT_LINT0, LVT_MASKED);
    write(reg::LVT_ERROR, super::idt::vector::APIC_ERROR as u32);
    // Software enable, spurious vector.
    write(reg::SVR, 0x100 | super::idt::vector::SPURIOUS as u32);
    write(reg::ESR, 0);
    write(reg::ESR, 0);
    eoi();
}

/// This CPU's APIC id.
pub fn id() -> u32 {
    if is_x2apic() {
        read(reg::ID)
    } else {
        read(reg::ID) >> 24
    }
}

pub fn version() -> u32 {
    read(reg::VERSION)
}

pub fn eoi() {
    write(reg::EOI, 0);
}

pub fn read_error() -> u32 {
    write(reg::ESR, 0);
    read(reg::ESR)
}

/// Measures the timer rate against the TSC. Call once, on the BSP, after
/// the TSC is calibrated.
pub fn calibrate_timer() -> u64 {
    write(reg::TIMER_DIVIDE, 0b0011); // divide by 16
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::TIMER_INITIAL, u32::MAX);
    super::tsc::delay_us(10_000);
    let elapsed = u32::MAX - read(reg::TIMER_CURRENT);
    write(reg::TIMER_INITIAL, 0);
    let per_ms = (elapsed as u64 / 10).max(1);
    TICKS_PER_MS.store(per_ms, Ordering::SeqCst);
    per_ms
}

/// Starts the periodic tick on the calling CPU.
pub fn start_timer(period_ms: u64) {
    let count = (TICKS_PER_MS.load(Ordering::Relaxed) * period_ms).clamp(1, u32::MAX as u64);
    write(reg::TIMER_DIVIDE, 0b0011);
    write(
        reg::LVT_TIMER,
        TIMER_PERIODIC | super::idt::vector::TIMER as u32,
    );
    write(reg::TIMER_INITIAL, count as u32);
}

/// Stops the calling CPU's tick.
pub fn stop_timer() {
    write(reg::LVT_TIMER, LVT_MASKED);
    write(reg::TIMER_INITIAL, 0);
}

/// Programs the LVT CMCI entry to deliver `vector` (or masks it).
pub fn set_lvt_cmci(vector: Option<u8>) {
    write(
        reg::LVT_CMCI,
        match vector {
            Some(v) => v as u32,
            None => LVT_MASKED,
        },
    );
}

struct XapicMmio;

impl crate::ipi::XapicIcr for XapicMmio {
    fn read_low(&mut self) -> u32 {
        read(reg::ICR_LOW)
    }
    fn read_high(&mut self) -> u32 {
        read(reg::ICR_HIGH)
    }
    fn write_high(&mut self, v: u32) {
        write(reg::ICR_HIGH, v)
    }
    fn write_low(&mut self, v: u32) {
        write(reg::ICR_LOW, v)
    }
}

/// Sends an inter-processor interrupt. Safe in any context, NMI and #MC
/// included (no lock; the xAPIC write is guarded as `crate::ipi` explains).
/// Fails only for an APIC id the xAPIC cannot address.
pub fn send_ipi(dest: Dest, delivery: Delivery) -> Result<(), SendError> {
    if is_x2apic() {
        // x2APIC ICR: one MSR write sends (SDM 11.12.9).
        wrmsr(0x830, crate::ipi::x2apic_icr(dest, delivery));
        Ok(())
    } else {
        crate::ipi::send_xapic(&mut XapicMmio, dest, delivery)
    }
}
