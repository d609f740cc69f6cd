//! The console log kept across a reboot, as Linux's pstore keeps it in
//! ERST: a fixed ring holding the tail of everything printed ([`tail`]),
//! and at panic that tail written as uncompressed "dmesg" records in the
//! layout Linux's `erst_writer` uses ([`record`]), so a Linux booted on the
//! same store lists them as `dmesg-erst-<id>`; the next boot of this kernel
//! lists and shows them. Linux's compressed logs are described, not decoded.

pub mod record;
pub mod tail;

#[cfg(target_os = "none")]
pub mod glue;
