//! Error injection: the input language of Linux's `mce-inject`
//! (`language`, with its `lexer`) and the requests it yields (`request`), the software bank overlay read where bank MSRs cannot be
//! written (`overlay`), and in `glue/` the injector that raises the error.

pub mod language;
mod lexer;
pub mod overlay;
pub mod request;

#[cfg(target_os = "none")]
pub mod glue;
