//! The Machine Check Architecture: records, decoding, grading, the record
//! ring, the rendezvous, polling, CMCI, storms and the error collector.

pub mod cmci;
pub mod collector;
pub mod decode;
pub mod inject;
pub mod msr;
pub mod record;
pub mod regs;
pub mod rendezvous;
pub mod ring;
pub mod severity;
pub mod storm;

#[cfg(target_os = "none")]
pub mod handler;
#[cfg(target_os = "none")]
pub mod poll;
#[cfg(target_os = "none")]
pub mod consumer;
