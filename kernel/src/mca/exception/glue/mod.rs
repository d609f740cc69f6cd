//! Kernel side of the #MC path: the exception handler.

pub mod handler;
