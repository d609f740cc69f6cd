//! Recovery from uncorrected errors in normal context. All kernel side for
//! now (`glue/`): memory_failure and the fixups of recoverable copy routines.

#[cfg(target_os = "none")]
pub mod glue;
