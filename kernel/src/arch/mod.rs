//! Architecture support. Only x86_64 exists; the split keeps the small,
//! `unsafe` hardware primitives in one place.

pub mod x86_64;
