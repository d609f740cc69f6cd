//! Kernel side of the record log: the consumer (normal context).

pub mod consumer;
