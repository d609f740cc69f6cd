//! Memory: the physical frame allocator (which also keeps poisoned and
//! offlined pages out of circulation for good) and, in `glue/`, the kernel
//! heap.

pub mod frame;

#[cfg(target_os = "none")]
pub mod glue;
