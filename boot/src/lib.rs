//! The host side of the project: disk images of the kernel for BIOS and UEFI,
//! the QEMU command line with the devices the kernel's tests rely on,
//! running QEMU so that it never outlives us, and writing an image to a USB
//! stick. Used by the `boot` binary (`make image`, `make run`, `make usb`)
//! and by the tests in `tests/`.

pub mod image;
pub mod qemu;
pub mod usb;
