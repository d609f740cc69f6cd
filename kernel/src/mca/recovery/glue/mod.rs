//! Kernel side of recovery: `memory_failure` (poison the page, unmap it from
//! tasks) and the machine-check fixup table of copy routines.

pub mod fixup;
pub mod memory_failure;
