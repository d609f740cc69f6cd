//! Recovery from uncorrected errors: which address recovery may act on
//! (`address`), and in `glue/` memory_failure and the fixups of recoverable
//! copy routines.

pub mod address;

#[cfg(target_os = "none")]
pub mod glue;
