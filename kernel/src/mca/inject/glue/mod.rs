//! Kernel side of injection: executing mce-inject records on their CPU.

pub mod injector;
