//! APEI register access on this machine: the [`RegisterAccess`] the
//! interpreter runs over (system memory through the physical mapping, system
//! I/O through ports, TSC stalls, clflush), its [`BlockAccess`] for GHES
//! status blocks (copied through the mapping), and [`MappedLog`], ERST's
//! error log address range read and written through the mapping.

use super::acpi::phys_bytes;
use crate::apei::erst::LogBuffer;
use crate::apei::gas::{AccessError, AddressSpace, RegisterAccess};
use crate::apei::ghes::BlockAccess;
use crate::arch::x86_64::tsc;
use crate::boot::phys_to_virt;
use x86_64::instructions::port::Port;

/// Register access for the APEI interpreter on this machine.
pub struct HwAccess;

impl RegisterAccess for HwAccess {
    fn read(&mut self, space: AddressSpace, address: u64, bits: u8) -> Result<u64, AccessError> {
        match space {
            AddressSpace::SystemMemory => {
                let bytes = bits as usize / 8;
                phys_bytes(address, bytes).ok_or(AccessError::Fault { space, address })?;
                let p = phys_to_virt(address);
                // SAFETY: the range was checked to lie in the physical
                // mapping; APEI registers are read with the declared width.
                Ok(unsafe {
                    match bits {
                        8 => core::ptr::read_volatile(p as *const u8) as u64,
                        16 => core::ptr::read_volatile(p as *const u16) as u64,
                        32 => core::ptr::read_volatile(p as *const u32) as u64,
                        _ => core::ptr::read_volatile(p as *const u64),
                    }
                })
            }
            AddressSpace::SystemIo => {
                let port =
                    u16::try_from(address).map_err(|_| AccessError::Fault { space, address })?;
                // SAFETY: the firmware's table names this port as an APEI
                // register; reading it is the protocol.
                Ok(unsafe {
                    match bits {
                        8 => Port::<u8>::new(port).read() as u64,
                        16 => Port::<u16>::new(port).read() as u64,
                        _ => Port::<u32>::new(port).read() as u64,
                    }
                })
            }
            _ => Err(AccessError::Fault { space, address }),
        }
    }

    fn write(
        &mut self,
        space: AddressSpace,
        address: u64,
        bits: u8,
        v: u64,
    ) -> Result<(), AccessError> {
        match space {
            AddressSpace::SystemMemory => {
                phys_bytes(address, bits as usize / 8)
                    .ok_or(AccessError::Fault { space, address })?;
                let p = phys_to_virt(address);
                // SAFETY: as in `read`; the firmware designated this
                // register for the OS to write.
                unsafe {
                    match bits {
                        8 => core::ptr::write_volatile(p as *mut u8, v as u8),
                        16 => core::ptr::write_volatile(p as *mut u16, v as u16),
                        32 => core::ptr::write_volatile(p as *mut u32, v as u32),
                        _ => core::ptr::write_volatile(p as *mut u64, v),
                    }
                }
                Ok(())
            }
            AddressSpace::SystemIo => {
                let port =
                    u16::try_from(address).map_err(|_| AccessError::Fault { space, address })?;
                // SAFETY: as in `read`.
                unsafe {
                    match bits {
                        8 => Port::<u8>::new(port).write(v as u8),
                        16 => Port::<u16>::new(port).write(v as u16),
                        _ => Port::<u32>::new(port).write(v as u32),
                    }
                }
                Ok(())
            }
            _ => Err(AccessError::Fault { space, address }),
        }
    }

    fn stall_us(&mut self, us: u64) {
        tsc::delay_us(us);
    }

    fn flush_cacheline(&mut self, address: u64) {
        if phys_bytes(address, 1).is_some() {
            // SAFETY: clflush of a mapped address has no other effect.
            unsafe { core::arch::asm!("clflush [{}]", in(reg) phys_to_virt(address)) };
        }
    }
}

/// Status blocks are plain memory: copied through the physical mapping
/// (volatile, the firmware writes them behind our back). No allocation, no
/// lock: the NMI handler reads blocks this way.
impl BlockAccess for HwAccess {
    fn read_bytes(&mut self, phys: u64, out: &mut [u8]) -> Result<(), AccessError> {
        let src = phys_bytes(phys, out.len()).ok_or(AccessError::Fault {
            space: AddressSpace::SystemMemory,
            address: phys,
        })?;
        for (o, s) in out.iter_mut().zip(src) {
            // SAFETY: `s` is a byte of the physical mapping (checked by
            // `phys_bytes`); a volatile read sees the firmware's latest write.
            *o = unsafe { core::ptr::read_volatile(s) };
        }
        Ok(())
    }

    fn write_bytes(&mut self, phys: u64, data: &[u8]) -> Result<(), AccessError> {
        phys_bytes(phys, data.len()).ok_or(AccessError::Fault {
            space: AddressSpace::SystemMemory,
            address: phys,
        })?;
        let p = phys_to_virt(phys) as *mut u8;
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: inside the physical mapping (checked above); the
            // firmware's status block is memory the OS is told to clear.
            unsafe { core::ptr::write_volatile(p.add(i), b) };
        }
        Ok(())
    }
}

/// The error log address range, read and written through the mapping.
pub struct MappedLog {
    virt: u64,
    len: usize,
}

impl MappedLog {
    /// The `len` bytes mapped at `virt`.
    ///
    /// # Safety
    ///
    /// `virt..virt + len` must stay mapped, and be memory the firmware lets
    /// the OS read and write (the error log address range), for as long as
    /// the value is used.
    pub unsafe fn new(virt: u64, len: usize) -> Self {
        MappedLog { virt, len }
    }
}

impl LogBuffer for MappedLog {
    fn size(&self) -> usize {
        self.len
    }
    fn read_at(&mut self, offset: usize, out: &mut [u8]) -> bool {
        let Some(end) = offset.checked_add(out.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: inside the range `new` was given (checked above).
            *b =
                unsafe { core::ptr::read_volatile((self.virt + (offset + i) as u64) as *const u8) };
        }
        true
    }
    fn write_at(&mut self, offset: usize, data: &[u8]) -> bool {
        let Some(end) = offset.checked_add(data.len()) else {
            return false;
        };
        if end > self.len {
            return false;
        }
        for (i, b) in data.iter().enumerate() {
            // SAFETY: inside the range `new` was given (checked above).
            unsafe { core::ptr::write_volatile((self.virt + (offset + i) as u64) as *mut u8, *b) };
        }
        true
    }
}
