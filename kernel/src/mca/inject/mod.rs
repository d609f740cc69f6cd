//! Error injection: the input language of Linux's `mce-inject`
//! (`language`), the software bank overlay read where bank MSRs cannot be
//! written (`overlay`), and in `glue/` the injector that raises the error.

pub mod language;
pub mod overlay;

#[cfg(target_os = "none")]
pub mod glue;
