//! The kernel side of the firmware tables (bare-metal only): the pure
//! parsers and drivers of `crate::apei` and `super::tables`, run over this
//! machine's physical memory, I/O ports and boot log.
//!
//! - `acpi`: raw tables by signature; MADT processors (parsed by `super::madt`)
//! - `access`: APEI register access and the mapped error log range
//! - `erst`: the ERST store: boot-time takeover, earlier boots' records,
//!   record ids, export
//! - `fatal`: the machine-check panic path's write to the store
//! - `einj`: error injection through EINJ (`einj=on`)
//! - `ghes`: GHES/GHESv2 error sources: polled, NMI-checked, their blocks
//!   into the record log
//! - `reports`: the boot log's table list, BERT and HEST

pub mod access;
pub mod acpi;
pub mod einj;
pub mod erst;
pub mod fatal;
pub mod ghes;
pub mod reports;
