//! Kernel side shared by every machine-check concern: the per-CPU state and
//! counters (`state`), per-CPU bring-up (`init`) and taking a CPU out of
//! service (`offline`).

pub mod hw_msr;
pub mod init;
pub mod offline;
pub mod state;
