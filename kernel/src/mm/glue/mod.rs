//! Kernel side of memory: the heap over the bootloader's memory map.

pub mod heap;
