//! The boot log's firmware reports: the ACPI table list, BERT's boot error
//! region (errors the firmware saw before us) and HEST's error sources
//! (whose firmware-first banks are not polled and get no CMCI).

use super::acpi::{find, phys_bytes};
use crate::boot::FRAMES;
use crate::{error, info};

/// Reports BERT's boot error region (errors the firmware saw before us).
pub fn report_bert() {
    let Some(t) = find(b"BERT") else {
        info!("bert: no BERT table");
        return;
    };
    let bert = match crate::apei::bert::parse_bert(t.bytes) {
        Ok(b) => b,
        Err(e) => {
            error!(
                "bert: BERT table at {:#x} is malformed ({e}); ignored",
                t.phys
            );
            return;
        }
    };
    let Some(region) = phys_bytes(bert.region_address, bert.region_length as usize) else {
        error!(
            "bert: boot error region {:#x}+{:#x} is not readable memory; ignored",
            bert.region_address, bert.region_length
        );
        return;
    };
    // The region belongs to the firmware; never hand its pages out.
    FRAMES.lock().reserve(
        bert.region_address,
        bert.region_address + bert.region_length as u64,
    );
    info!(
        "bert: boot error region {:#x} ({} bytes):",
        bert.region_address, bert.region_length
    );
    crate::klog::log_with(crate::config::LogLevel::Warn, "bert: ", |w| {
        let _ = crate::apei::bert::describe_boot_errors(region, w);
    });
}

/// Lists HEST's error sources; returns the banks the firmware handles
/// first (corrected errors).
pub fn report_hest() -> u64 {
    let Some(t) = find(b"HEST") else {
        info!("hest: no HEST table; the OS handles every bank");
        return 0;
    };
    let hest = match crate::apei::hest::parse_hest(t.bytes) {
        Ok(h) => h,
        Err(e) => {
            error!(
                "hest: HEST table at {:#x} is malformed ({e}); ignored",
                t.phys
            );
            return 0;
        }
    };
    info!("hest: {} error source(s)", hest.sources.len());
    for s in &hest.sources {
        info!("hest:   {s}");
    }
    if let Some(e) = &hest.error {
        error!("hest: parsing stopped early: {e}; sources before it are used");
    }
    let mask = mask_of(&hest);
    if mask != 0 {
        info!(
            "hest: banks handled firmware-first: {}; their corrected errors are the firmware's (no polling, no CMCI), #MC still reads them",
            crate::mca::banks::BankSet(mask)
        );
    }
    mask
}

fn mask_of(hest: &crate::apei::hest::Hest) -> u64 {
    crate::apei::hest::firmware_first_banks(hest)
        .filter(|&b| b < 64)
        .fold(0, |m, b| m | 1 << b)
}

/// The banks HEST marks firmware-first, without a word (read before the
/// CPUs claim their CMCI banks; [`report_hest`] says it later).
pub fn firmware_first_mask() -> u64 {
    find(b"HEST")
        .and_then(|t| crate::apei::hest::parse_hest(t.bytes).ok())
        .map_or(0, |h| mask_of(&h))
}

/// All table signatures, for the boot log.
pub fn tables_line() {
    info!("acpi: tables: {}", super::acpi::summary());
}
