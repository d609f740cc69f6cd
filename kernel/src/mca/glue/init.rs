//! Per-CPU machine-check initialisation, run by every CPU as it comes up:
//! decode MCG_CAP, apply quirks, log and clear errors left from before boot,
//! enable MCG_CTL and every MCi_CTL, then set CR4.MCE.

use crate::arch::x86_64::cpu::CpuInfo;
use crate::mca::banks::{self, McgCap};
use crate::mca::glue::hw_msr::HwMsr;
use crate::mca::glue::state;
use crate::mca::msr::Msr;
use crate::mca::record::{CpuVendor, Source};
use crate::mca::regs;
use crate::mca::vendor::{intel, quirks};
use crate::{info, warn};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use x86_64::registers::control::{Cr4, Cr4Flags};

/// Brings up machine-check reporting on the calling CPU. Returns false (and
/// says why) when the CPU has no machine-check architecture.
pub fn init_cpu(cpu: usize, apic_id: u32) -> bool {
    let info = CpuInfo::read();
    let vendor = CpuVendor::from_cpuid_vendor(&info.vendor_id);
    if vendor == CpuVendor::Amd {
        // Before any bank is touched: SMCA decides the bank addresses.
        crate::mca::vendor::amd::set_ras_cap(info.ras_cap);
        if cpu == 0 {
            info!("mce: AMD {}", crate::mca::vendor::amd::RasCap(info.ras_cap));
        }
    }
    state::IDENTITY.call_once(|| state::Identity {
        vendor,
        signature: info.signature,
        family: info.family,
        model: info.model,
    });
    if !info.mce || !info.mca {
        warn!(
            "mce: cpu{cpu}: no machine-check architecture (CPUID MCE={} MCA={}); errors will not be reported",
            info.mce, info.mca
        );
        return false;
    }
    let msr = HwMsr;
    let cap = McgCap(msr.read(regs::IA32_MCG_CAP));
    let slot = &state::CPUS[cpu];
    slot.mcgcap.store(cap.0, Ordering::SeqCst);
    slot.apic_id.store(apic_id, Ordering::SeqCst);
    state::init_found(cpu, cap.banks());
    let quirks: Vec<_> = quirks::for_cpu(vendor, info.family, info.model).collect();
    let template = state::template(cpu, msr.read(regs::IA32_MCG_STATUS), Source::Boot);
    let report = banks::init_banks(&msr, cap, &quirks, &template, |mut rec| {
        rec.severity = crate::mca::exception::grade::grade_polled(&rec);
        // At boot every valid bank is logged: read one, log one.
        state::scanned(cpu, 1, 0);
        state::log(cpu, rec);
    });
    slot.ignored.store(report.ignored, Ordering::SeqCst);
    let lmce = (vendor != CpuVendor::Amd).then(|| intel_init(cpu, cap));
    // Only now may #MC be raised: the handler and the banks are ready.
    // SAFETY: setting CR4.MCE enables #MC delivery; the IDT has a handler on
    // its own IST stack.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::MACHINE_CHECK_EXCEPTION)) };
    slot.ready.store(true, Ordering::SeqCst);
    info!(
        "mce: cpu{cpu}: {}; {} {:#x}/{:#x}/{}; banks enabled {:#x}{}{}{}",
        cap,
        vendor.mcelog_name(),
        info.family,
        info.model,
        info.stepping,
        report.enabled,
        match lmce {
            Some(l) => alloc::format!("; {l}"),
            None => alloc::string::String::new(),
        },
        if report.boot_errors > 0 {
            alloc::format!(
                "; {} error(s) left from before boot logged",
                report.boot_errors
            )
        } else {
            alloc::string::String::new()
        },
        if quirks.is_empty() {
            alloc::string::String::new()
        } else {
            let mut s = alloc::string::String::from("; quirks:");
            for q in &quirks {
                s.push_str(" [");
                s.push_str(q.why);
                s.push(']');
            }
            s
        }
    );
    true
}

/// Intel's part ([`intel::init_cpu`]): LMCE enabled where allowed, CMCI banks
/// claimed here (a bank shared by several CPUs is owned by the first to set
/// CMCI_EN; the others record it as owned elsewhere and never poll it), and
/// the LVT CMCI entry pointed at the CMCI vector.
fn intel_init(cpu: usize, cap: McgCap) -> intel::Lmce {
    let ff = crate::mca::banks::BankSet(state::FIRMWARE_FIRST.load(Ordering::SeqCst));
    let init = intel::init_cpu(&HwMsr, cap, ff);
    let Some((owned, r)) = init.cmci else {
        return init.lmce;
    };
    // Elsewhere first: between the stores the bank is skipped, never read twice.
    state::CPUS[cpu]
        .cmci_elsewhere
        .store(r.owned_elsewhere.0, Ordering::SeqCst);
    state::CPUS[cpu].cmci_owned.store(owned.0, Ordering::SeqCst);
    crate::arch::x86_64::apic::set_lvt_cmci(Some(crate::arch::x86_64::idt::vector::CMCI));
    info!(
        "cmci: cpu{cpu}: owns banks {} (claimed now {}), owned by other CPUs {}, without CMCI {}",
        owned, r.claimed, r.owned_elsewhere, r.unsupported
    );
    init.lmce
}
