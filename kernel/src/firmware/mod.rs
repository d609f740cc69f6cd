//! Firmware tables: finding ACPI tables by signature (pure, host-tested)
//! and the kernel's view of them (MADT processors through the `acpi` crate,
//! raw APEI tables for our own parsers).

pub mod tables;

#[cfg(target_os = "none")]
pub mod acpi;
#[cfg(target_os = "none")]
pub mod apei;
#[cfg(target_os = "none")]
pub mod einj;
