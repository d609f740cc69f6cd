//! The host side of the project: disk images of the kernel for BIOS and UEFI,
//! the QEMU command line with the devices the kernel's tests rely on, and
//! running QEMU so that it never outlives us. Used by the `boot` binary
//! (`make image`, `make run`) and by the tests in `tests/`.

pub mod image;
pub mod qemu;
