//! Corrected errors: what the poller logs and how often it polls
//! (`poll_policy`), CMCI bank ownership (`cmci`), storm detection (`storm`),
//! the corrected-error collector (`collector`); in `glue/` the poller and
//! CMCI handler, the per-CPU storm trackers and the collector subscriber.

pub mod cmci;
pub mod collector;
pub mod poll_policy;
pub mod storm;

#[cfg(test)]
mod shared_banks;

#[cfg(target_os = "none")]
pub mod glue;
