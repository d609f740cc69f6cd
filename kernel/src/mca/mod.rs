//! The Machine Check Architecture (Intel SDM vol. 3B ch. 16, AMD APM vol. 2
//! ch. 9), grouped by concern. The files at this level are the vocabulary
//! every concern shares: the register layout (`regs`), one record
//! (`record`), MSR access behind a trait (`msr`) and bank programming over it
//! (`banks`).
//!
//! Layout rule: every file outside a `glue/` folder is pure logic (no
//! hardware, compiled and unit-tested on the host); files in a `glue/` folder
//! are the kernel side (`target_os = "none"` only): MSRs, interrupts, per-CPU
//! state, the console.

pub mod banks;
pub mod msr;
pub mod record;
pub mod regs;

/// Corrected errors: polling, CMCI, storms, the corrected-error collector.
pub mod corrected;
/// Turning records into mcelog's text.
pub mod decode;
/// The #MC exception path: severity grading, the Monarch rendezvous.
pub mod exception;
/// Error injection: the mce-inject language, the bank overlay, the injector.
pub mod inject;
/// The record log: per-CPU rings, subscribers, the consumer.
pub mod log;
/// Recovery: memory_failure and exception fixups of copy routines.
pub mod recovery;
/// Intel's and AMD's rules: severity tables, quirks, vendor init.
pub mod vendor;

/// The kernel side shared by every concern: per-CPU state, per-CPU init,
/// taking a CPU offline.
#[cfg(target_os = "none")]
pub mod glue;
