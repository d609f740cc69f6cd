//! Disk images: the kernel ELF plus the boot configuration, packed by the
//! `bootloader` crate into a BIOS (MBR) or UEFI (GPT + ESP) image.
//!
//! The boot configuration (the kernel command line) is carried as the
//! bootloader's ramdisk: a small text file on the image. That works the same
//! under QEMU and from a USB stick, with no firmware or QEMU feature needed.

use bootloader::DiskImageBuilder;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    Bios,
    Uefi,
}

impl Firmware {
    pub fn parse(s: &str) -> Option<Firmware> {
        match s {
            "bios" => Some(Firmware::Bios),
            "uefi" => Some(Firmware::Uefi),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

/// Writes `<out_dir>/<firmware>.img` for the kernel at `kernel` with
/// `cmdline` as its boot configuration; returns the image path.
pub fn build(
    kernel: &Path,
    cmdline: &str,
    firmware: Firmware,
    out_dir: &Path,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    if !kernel.exists() {
        return Err(format!(
            "kernel ELF {} not found (build it with `make build`)",
            kernel.display()
        ));
    }
    let cmdline_file = out_dir.join("cmdline.txt");
    // The kernel reads at most 4 KiB of it; a trailing newline is trimmed.
    std::fs::write(&cmdline_file, format!("{}\n", cmdline.trim()))
        .map_err(|e| format!("{}: {e}", cmdline_file.display()))?;
    let mut builder = DiskImageBuilder::new(kernel.to_path_buf());
    builder.set_ramdisk(cmdline_file);
    let image = out_dir.join(format!("{}.img", firmware.name()));
    let result = match firmware {
        Firmware::Bios => builder.create_bios_image(&image),
        Firmware::Uefi => builder.create_uefi_image(&image),
    };
    result.map_err(|e| format!("creating {}: {e:#}", image.display()))?;
    Ok(image)
}
