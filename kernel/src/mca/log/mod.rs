//! The record log: lock-free per-CPU rings that #MC, NMI and polling write
//! into (`ring`), subscriber filters (`notify`), and in `glue/` the consumer
//! that drains the rings, prints, counts and hands records on.

pub mod notify;
pub mod ring;

#[cfg(target_os = "none")]
pub mod glue;
