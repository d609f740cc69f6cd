//! Kernel side of the record log: the consumer (normal context), the
//! machine-check panic dump, and the ring-3 record readers.

pub mod consumer;
pub mod panic_dump;
pub mod readers;
