//! The #MC exception path, in the shape of Linux's `do_machine_check()`:
//! grading every bank against the vendor's severity table (`severity`,
//! `grade` with the interrupted context), the bank scan and what it logs,
//! clears or leaves (`scan`), the copies of what each CPU found kept for the
//! panic path (`found`), the Monarch rendezvous of a broadcast machine check
//! (`rendezvous`), and in `glue/` the handler itself.

pub mod found;
pub mod grade;
pub mod rendezvous;
pub mod scan;
pub mod severity;

#[cfg(target_os = "none")]
pub mod glue;
