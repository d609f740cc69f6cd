//! ACPI Platform Error Interfaces (ACPI spec chapter 18) and the UEFI Common
//! Platform Error Record format (UEFI spec appendix N): table parsers, the
//! instruction interpreter and its busy wait, the ERST record store logic and
//! record ids, EINJ, HEST, BERT, CPER and GHES. All pure logic over small
//! register/memory interfaces; the kernel's side is `crate::firmware::glue`.

pub mod bert;
pub mod busy;
pub mod cper;
pub mod einj;
pub mod erst;
pub mod gas;
pub mod ghes;
pub mod guid;
pub mod hest;
pub mod interp;
pub mod record_id;
pub mod table;
