//! Generic Hardware Error Sources, version 1 and 2 (ACPI spec 18.3.2.7 and
//! 18.3.2.8): firmware-first error reporting. The firmware handles an error
//! itself, writes a Generic Error Status Block (CPER sections, decoded by
//! [`crate::apei::cper`]) where the source's error status address register
//! points, and tells the OS (by NMI, an interrupt, or not at all: polled).
//! The OS reads and checks the block, acts on it, clears its block status
//! and, for GHESv2, acknowledges it through the read-ack register.
//!
//! All pure logic, in the shape of Linux's `ghes.c`:
//! - `source`: a HEST entry checked into a [`SourceConfig`] and its
//!   [`Delivery`] (polled, NMI, or the fallback poll);
//! - `service`: [`peek`], [`copy_block`], [`clear_and_ack`] over
//!   [`BlockAccess`], with every length checked and every [`Problem`] named;
//! - `action`: the [`Grade`] of a block and the [`Action`] per entry;
//! - `record`: a block as a whole CPER record, for ERST.
//!
//! The kernel side (mapping, polling, the NMI check, the record slots, the
//! consumer's printing and actions) is `crate::firmware::glue::ghes`.

mod action;
mod record;
mod service;
mod source;

pub use action::{block_grade, entry_action, Action, Grade};
pub use record::{encode_block_record, record_len};
pub use service::{
    check, clear_and_ack, copy_block, fingerprint, peek, Acked, BlockAccess, Cleared, Malformed,
    Pending, Problem,
};
pub use source::{Delivery, ReadAck, SourceConfig, SourceError, FALLBACK_POLL_MS, MAX_BLOCK_LEN};
