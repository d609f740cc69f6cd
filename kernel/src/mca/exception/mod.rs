//! The #MC exception path, in the shape of Linux's `do_machine_check()`:
//! grading every bank against the vendor's severity table (`severity`), the
//! Monarch rendezvous of a broadcast machine check (`rendezvous`), and in
//! `glue/` the handler itself and the glue that grades in context.

pub mod rendezvous;
pub mod severity;

#[cfg(target_os = "none")]
pub mod glue;
