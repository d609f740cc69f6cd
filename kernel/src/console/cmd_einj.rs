//! `einj`: firmware error injection (ACPI EINJ) from the console.

use crate::apei::einj::{ErrorType, InjectRequest, MemoryTarget};
use crate::firmware::glue::einj;
use crate::kprint;

pub const USAGE: &str = "\
usage: einj [types]
       einj inject <type> [addr=<hex>] [mask=<hex>] [apic=<n>] [sbdf=<hex>]
types: processor-correctable processor-uncorrectable processor-fatal
       memory-correctable memory-uncorrectable memory-fatal
       pcie-correctable pcie-uncorrectable pcie-fatal
       platform-correctable platform-uncorrectable platform-fatal vendor
       (or the type bit as a number, e.g. 0x8)
";

/// Console names of the error types (ACPI spec table 18.30), in bit order.
const TYPES: [(&str, ErrorType); 13] = [
    ("processor-correctable", ErrorType::PROCESSOR_CORRECTABLE),
    (
        "processor-uncorrectable",
        ErrorType::PROCESSOR_UNCORRECTABLE_NON_FATAL,
    ),
    ("processor-fatal", ErrorType::PROCESSOR_UNCORRECTABLE_FATAL),
    ("memory-correctable", ErrorType::MEMORY_CORRECTABLE),
    (
        "memory-uncorrectable",
        ErrorType::MEMORY_UNCORRECTABLE_NON_FATAL,
    ),
    ("memory-fatal", ErrorType::MEMORY_UNCORRECTABLE_FATAL),
    ("pcie-correctable", ErrorType::PCIE_CORRECTABLE),
    (
        "pcie-uncorrectable",
        ErrorType::PCIE_UNCORRECTABLE_NON_FATAL,
    ),
    ("pcie-fatal", ErrorType::PCIE_UNCORRECTABLE_FATAL),
    ("platform-correctable", ErrorType::PLATFORM_CORRECTABLE),
    (
        "platform-uncorrectable",
        ErrorType::PLATFORM_UNCORRECTABLE_NON_FATAL,
    ),
    ("platform-fatal", ErrorType::PLATFORM_UNCORRECTABLE_FATAL),
    ("vendor", ErrorType::VENDOR_DEFINED),
];

/// A memory target without `mask=` is exact to the page (Linux insists on
/// page granularity or finer).
const DEFAULT_MASK: u64 = !0xFFF;

pub fn run(args: &[&str]) {
    match args {
        [] | ["types"] => types(),
        ["inject", ty, params @ ..] => inject(ty, params),
        _ => kprint!("{USAGE}"),
    }
}

fn types() {
    let supported = match einj::supported() {
        Ok(t) => t,
        Err(e) => {
            kprint!("einj: {e}\n");
            return;
        }
    };
    kprint!("einj: the platform can inject ({:#x}):\n", supported.bits());
    let mut rest = supported;
    for (name, bit) in TYPES {
        if supported.contains(bit) {
            kprint!("  {name:<24} {bit}\n");
            rest.remove(bit);
        }
    }
    if !rest.is_empty() {
        kprint!("  {:<24} {rest}\n", alloc::format!("{:#x}", rest.bits()));
    }
    if supported.is_empty() {
        kprint!("  (nothing)\n");
    }
}

fn parse_type(s: &str) -> Option<ErrorType> {
    if let Some((_, t)) = TYPES.iter().find(|(n, _)| *n == s) {
        return Some(*t);
    }
    let n = crate::shell::words::parse_number(s)?;
    u32::try_from(n).ok().map(ErrorType::from_bits_retain)
}

/// Hex with or without `0x`.
fn parse_hex(s: &str) -> Option<u64> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits.replace('_', ""), 16).ok()
}

fn parse_request(ty: &str, params: &[&str]) -> Result<InjectRequest, alloc::string::String> {
    let error_type = parse_type(ty).ok_or_else(|| {
        alloc::format!("unknown error type '{ty}' (einj with no arguments lists them)")
    })?;
    let mut req = InjectRequest::new(error_type);
    let (mut addr, mut mask) = (None, None);
    for p in params {
        let (key, value) = p
            .split_once('=')
            .ok_or_else(|| alloc::format!("'{p}': expected key=value"))?;
        let bad = || alloc::format!("'{p}': bad value for {key}");
        match key {
            "addr" => addr = Some(parse_hex(value).ok_or_else(bad)?),
            "mask" => mask = Some(parse_hex(value).ok_or_else(bad)?),
            "apic" => {
                let n = crate::shell::words::parse_number(value).ok_or_else(bad)?;
                req.apic_id = Some(u32::try_from(n).map_err(|_| bad())?);
            }
            "sbdf" => {
                let n = parse_hex(value).ok_or_else(bad)?;
                req.pcie_sbdf = Some(u32::try_from(n).map_err(|_| bad())?);
            }
            _ => return Err(alloc::format!("unknown parameter '{key}'")),
        }
    }
    match (addr, mask) {
        (Some(address), m) => {
            req.memory = Some(MemoryTarget {
                address,
                mask: m.unwrap_or(DEFAULT_MASK),
            })
        }
        (None, Some(_)) => return Err("mask= needs addr=".into()),
        (None, None) => {}
    }
    Ok(req)
}

fn inject(ty: &str, params: &[&str]) {
    // Say no before looking at the request: nothing is injected unless the
    // machine was booted to allow it.
    if let Some(why) = einj::unavailable() {
        kprint!("einj: refused: {why}\n");
        return;
    }
    let req = match parse_request(ty, params) {
        Ok(r) => r,
        Err(e) => {
            kprint!("einj: {e}\n{USAGE}");
            return;
        }
    };
    kprint!("einj: requesting {}", req.error_type);
    if let Some(m) = req.memory {
        kprint!(" at {:#x} mask {:#x}", m.address, m.mask);
    }
    if let Some(a) = req.apic_id {
        kprint!(" on APIC id {a}");
    }
    if let Some(s) = req.pcie_sbdf {
        kprint!(" at PCIe SBDF {s:#x}");
    }
    kprint!("\n");
    match einj::inject(&req) {
        Ok(what) => kprint!("einj: done: {what}\n"),
        Err(e) => kprint!("einj: failed: {e}\n"),
    }
}
