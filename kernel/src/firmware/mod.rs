//! Firmware tables: finding ACPI tables by signature (`tables`, pure,
//! host-tested) and the kernel's view of them (`glue`, bare-metal only):
//! MADT processors (`madt`, pure), raw APEI tables for our own
//! parsers in `crate::apei`, and the hardware those tables describe.

pub mod madt;
pub mod tables;

#[cfg(target_os = "none")]
pub mod glue;
