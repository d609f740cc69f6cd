//! The record log: lock-free per-CPU rings that #MC, NMI and polling write
//! into (`ring`), a lock-free pool of large preallocated records (`pool`,
//! GHES error status blocks), subscriber filters (`notify`), and in `glue/`
//! the consumer that drains them, prints, counts and hands records on.

pub mod accounting;
pub mod notify;
pub mod pool;
pub mod reader;
pub mod ring;

#[cfg(target_os = "none")]
pub mod glue;
