//! The kernel binary: the bootloader's entry point, nothing else. All the
//! kernel lives in the library so its pure parts can be tested on the host.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod entry {
    use bootloader_api::config::{BootloaderConfig, Mapping};

    /// The physical-memory mapping gives the kernel every physical address
    /// (RAM, ACPI tables, MMIO below 4 GiB) at a fixed offset.
    pub static BOOTLOADER_CONFIG: BootloaderConfig = {
        let mut config = BootloaderConfig::new_default();
        config.mappings.physical_memory = Some(Mapping::Dynamic);
        config.kernel_stack_size = 256 * 1024;
        config
    };

    bootloader_api::entry_point!(start, config = &BOOTLOADER_CONFIG);

    fn start(boot_info: &'static mut bootloader_api::BootInfo) -> ! {
        kernel::boot::kernel_main(boot_info)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the kernel runs on bare metal; build it with `cargo kbuild` (see the Makefile)");
}
