//! The Machine Check Architecture: records, decoding, grading, the record
//! ring, the rendezvous, polling, CMCI, storms and the error collector.

pub mod banks;
pub mod cmci;
pub mod collector;
pub mod decode;
pub mod grade;
pub mod inject;
pub mod msr;
pub mod notify;
pub mod overlay;
pub mod poll_policy;
pub mod quirks;
pub mod record;
pub mod regs;
pub mod rendezvous;
pub mod ring;
pub mod severity;
pub mod storm;

// The kernel side: MSRs, the #MC entry, timers, the consumer.
#[cfg(target_os = "none")]
pub mod cec;
#[cfg(target_os = "none")]
pub mod consumer;
#[cfg(target_os = "none")]
pub mod fixup;
#[cfg(target_os = "none")]
pub mod handler;
#[cfg(target_os = "none")]
pub mod init;
#[cfg(target_os = "none")]
pub mod injector;
#[cfg(target_os = "none")]
pub mod offline;
#[cfg(target_os = "none")]
pub mod poll;
#[cfg(target_os = "none")]
pub mod recovery;
#[cfg(target_os = "none")]
pub mod state;
#[cfg(target_os = "none")]
pub mod storm_state;
