//! What differs between CPU vendors, one file each, as Linux splits
//! `mce/intel.c` and `mce/amd.c`: the severity table, the quirks and the
//! vendor's part of per-CPU init. The shared quirk types are in `quirks`.

pub mod amd;
pub mod intel;
pub mod quirks;
pub mod smca;
