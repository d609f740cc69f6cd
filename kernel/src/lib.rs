//! A bare-metal x86_64 kernel whose subject is hardware-error handling: the
//! Machine Check Architecture and ACPI APEI, done the way a server OS does it.
//!
//! The crate is split in two. Modules that need no hardware (decoding, severity
//! grading, the record ring, table parsing, the APEI interpreter, CPER, the
//! boot configuration, the frame allocator) compile everywhere and are
//! unit-tested on the host with `cargo test -p kernel`. Modules that touch
//! hardware compile only for the bare-metal target (`target_os = "none"`).
#![cfg_attr(not(test), no_std)]
#![cfg_attr(target_os = "none", feature(abi_x86_interrupt))]

extern crate alloc;

pub mod abi;
pub mod apei;
pub mod config;
pub mod cpuset;
pub mod firmware;
pub mod ipi;
pub mod mca;
pub mod mm;
pub mod pstore;
pub mod shell;
pub mod time;

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod clock;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod idle;
#[cfg(target_os = "none")]
#[macro_use]
pub mod klog;
#[cfg(target_os = "none")]
pub mod nmi;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
pub mod qemu;
#[cfg(target_os = "none")]
pub mod smp;
#[cfg(target_os = "none")]
pub mod task;
#[cfg(target_os = "none")]
pub mod tests;
#[cfg(target_os = "none")]
pub mod timer;
#[cfg(target_os = "none")]
pub mod trap;
