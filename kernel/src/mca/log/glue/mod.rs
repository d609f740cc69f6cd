//! Kernel side of the record log: the consumer (normal context) and the
//! machine-check panic dump.

pub mod consumer;
pub mod panic_dump;
