//! Kernel side of the #MC path: the exception handler (`handler`) and the
//! interrupted context fed to the severity table (`grade`).

pub mod grade;
pub mod handler;
