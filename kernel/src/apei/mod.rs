//! ACPI Platform Error Interfaces (ACPI spec chapter 18) and the UEFI Common
//! Platform Error Record format (UEFI spec appendix N): table parsers, the
//! instruction interpreter, the ERST record store logic, EINJ, HEST, BERT and
//! CPER. All pure logic over small register/memory interfaces.

pub mod bert;
pub mod cper;
pub mod einj;
pub mod erst;
pub mod gas;
pub mod guid;
pub mod hest;
pub mod interp;
pub mod table;
