//! The ACPI Generic Address Structure (ACPI spec 5.2.3.2) and register access
//! through it.
//!
//! APEI describes every firmware register by a GAS. The kernel provides the
//! actual loads and stores through [`RegisterAccess`] (system memory and
//! system I/O); host tests provide a simulated device instead.

use core::fmt;

use super::table::{ParseError, Reader};

/// The address space a GAS points into (ACPI spec table 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressSpace {
    SystemMemory,
    SystemIo,
    PciConfig,
    EmbeddedController,
    SmBus,
    SystemCmos,
    PciBarTarget,
    Ipmi,
    GeneralPurposeIo,
    GenericSerialBus,
    PlatformCommunicationsChannel,
    FunctionalFixedHardware,
    Other(u8),
}

impl AddressSpace {
    pub const fn from_id(id: u8) -> AddressSpace {
        match id {
            0 => AddressSpace::SystemMemory,
            1 => AddressSpace::SystemIo,
            2 => AddressSpace::PciConfig,
            3 => AddressSpace::EmbeddedController,
            4 => AddressSpace::SmBus,
            5 => AddressSpace::SystemCmos,
            6 => AddressSpace::PciBarTarget,
            7 => AddressSpace::Ipmi,
            8 => AddressSpace::GeneralPurposeIo,
            9 => AddressSpace::GenericSerialBus,
            0x0A => AddressSpace::PlatformCommunicationsChannel,
            0x7F => AddressSpace::FunctionalFixedHardware,
            other => AddressSpace::Other(other),
        }
    }

    pub const fn id(self) -> u8 {
        match self {
            AddressSpace::SystemMemory => 0,
            AddressSpace::SystemIo => 1,
            AddressSpace::PciConfig => 2,
            AddressSpace::EmbeddedController => 3,
            AddressSpace::SmBus => 4,
            AddressSpace::SystemCmos => 5,
            AddressSpace::PciBarTarget => 6,
            AddressSpace::Ipmi => 7,
            AddressSpace::GeneralPurposeIo => 8,
            AddressSpace::GenericSerialBus => 9,
            AddressSpace::PlatformCommunicationsChannel => 0x0A,
            AddressSpace::FunctionalFixedHardware => 0x7F,
            AddressSpace::Other(id) => id,
        }
    }
}

impl fmt::Display for AddressSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressSpace::SystemMemory => f.write_str("system memory"),
            AddressSpace::SystemIo => f.write_str("system I/O"),
            other => write!(f, "address space {:#04x}", other.id()),
        }
    }
}

/// Why a GAS cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GasError {
    /// The access size code is not 0..=4.
    BadAccessSize(u8),
    /// Access size 0 and no bit width either: nothing to derive a width from.
    NoWidth,
    /// The field does not fit in one access.
    FieldTooWide {
        bit_width: u8,
        bit_offset: u8,
        access_bits: u8,
    },
    /// APEI registers must live in system memory or system I/O.
    UnsupportedSpace(AddressSpace),
    /// APEI registers at address 0 are a firmware bug.
    ZeroAddress,
}

impl fmt::Display for GasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GasError::BadAccessSize(code) => write!(f, "invalid access size code {code}"),
            GasError::NoWidth => f.write_str("neither access size nor bit width given"),
            GasError::FieldTooWide {
                bit_width,
                bit_offset,
                access_bits,
            } => write!(
                f,
                "field of {bit_width} bit(s) at bit {bit_offset} does not fit a {access_bits}-bit access"
            ),
            GasError::UnsupportedSpace(s) => write!(f, "registers in {s} are not supported"),
            GasError::ZeroAddress => f.write_str("register address is 0"),
        }
    }
}

/// Why a register access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// The GAS itself is unusable.
    Invalid(GasError),
    /// The platform cannot access this address space.
    UnsupportedSpace(AddressSpace),
    /// The platform cannot do an access of this width in this space.
    UnsupportedWidth { space: AddressSpace, bits: u8 },
    /// The access was refused (unmapped, not allowed, out of a device's range).
    Fault { space: AddressSpace, address: u64 },
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AccessError::Invalid(e) => write!(f, "invalid register: {e}"),
            AccessError::UnsupportedSpace(s) => write!(f, "cannot access {s}"),
            AccessError::UnsupportedWidth { space, bits } => {
                write!(f, "cannot do {bits}-bit accesses in {space}")
            }
            AccessError::Fault { space, address } => {
                write!(f, "access to {space} at {address:#x} failed")
            }
        }
    }
}

impl From<GasError> for AccessError {
    fn from(e: GasError) -> Self {
        AccessError::Invalid(e)
    }
}

/// Loads, stores and delays for the APEI interpreter.
///
/// `access_bits` is 8, 16, 32 or 64. Reads return the value zero-extended;
/// writes use the low `access_bits` bits of `value`.
pub trait RegisterAccess {
    fn read(
        &mut self,
        space: AddressSpace,
        address: u64,
        access_bits: u8,
    ) -> Result<u64, AccessError>;
    fn write(
        &mut self,
        space: AddressSpace,
        address: u64,
        access_bits: u8,
        value: u64,
    ) -> Result<(), AccessError>;
    /// Busy-waits for about `us` microseconds.
    fn stall_us(&mut self, us: u64);
    /// Writes back and invalidates the cache line holding physical `address`.
    fn flush_cacheline(&mut self, address: u64);

    /// Copies `len` bytes of physical memory (MOVE_DATA). The default moves
    /// one byte at a time through `read`/`write`, front to back; override it
    /// with something faster where memory is mapped.
    fn copy_memory(&mut self, dst: u64, src: u64, len: u64) -> Result<(), AccessError> {
        let space = AddressSpace::SystemMemory;
        for i in 0..len {
            let (Some(s), Some(d)) = (src.checked_add(i), dst.checked_add(i)) else {
                return Err(AccessError::Fault {
                    space,
                    address: src.max(dst),
                });
            };
            let b = self.read(space, s, 8)?;
            self.write(space, d, 8, b)?;
        }
        Ok(())
    }
}

/// A Generic Address Structure, 12 bytes in tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gas {
    pub space: AddressSpace,
    pub bit_width: u8,
    pub bit_offset: u8,
    /// 0 undefined (legacy), 1 byte, 2 word, 3 dword, 4 qword.
    pub access_size: u8,
    pub address: u64,
}

impl Gas {
    pub const LEN: usize = 12;

    pub fn parse(r: &mut Reader<'_>) -> Result<Gas, ParseError> {
        Ok(Gas {
            space: AddressSpace::from_id(r.u8()?),
            bit_width: r.u8()?,
            bit_offset: r.u8()?,
            access_size: r.u8()?,
            address: r.u64()?,
        })
    }

    /// The width in bits of each access to this register.
    ///
    /// An access size of 0 (legacy tables) is derived as the smallest access
    /// holding the field. Like Linux's `apei_check_gar`, a 32/64-bit field at
    /// offset 0 on a naturally aligned address is accessed whole even if the
    /// firmware asked for narrower accesses (a common firmware bug).
    pub fn access_bits(&self) -> Result<u8, GasError> {
        let field = self.bit_width as u16 + self.bit_offset as u16;
        let mut bits: u8 = match self.access_size {
            0 => match field {
                0 => return Err(GasError::NoWidth),
                1..=8 => 8,
                9..=16 => 16,
                17..=32 => 32,
                _ => 64,
            },
            code @ 1..=4 => 8 << (code - 1),
            code => return Err(GasError::BadAccessSize(code)),
        };
        if self.bit_offset == 0 {
            if self.bit_width == 32 && self.address & 3 == 0 && bits < 32 {
                bits = 32;
            } else if self.bit_width == 64 && self.address & 7 == 0 && bits < 64 {
                bits = 64;
            }
        }
        if field > bits as u16 || self.bit_offset >= bits {
            return Err(GasError::FieldTooWide {
                bit_width: self.bit_width,
                bit_offset: self.bit_offset,
                access_bits: bits,
            });
        }
        Ok(bits)
    }

    /// Checks the rules APEI adds (ACPI spec 18.5.1.2/18.6.2): a non-zero
    /// address in system memory or system I/O, and a usable width.
    pub fn check_apei(&self) -> Result<u8, GasError> {
        match self.space {
            AddressSpace::SystemMemory | AddressSpace::SystemIo => {}
            s => return Err(GasError::UnsupportedSpace(s)),
        }
        if self.address == 0 {
            return Err(GasError::ZeroAddress);
        }
        self.access_bits()
    }

    /// The field's bits, unshifted (bit width 0 means "up to the access end").
    pub fn field_mask(&self) -> Result<u64, GasError> {
        let bits = self.access_bits()?;
        let width = match self.bit_width {
            0 => bits - self.bit_offset,
            w => w,
        };
        Ok(low_bits(width))
    }
}

/// A mask of the low `n` bits (all ones for 64 or more).
pub const fn low_bits(n: u8) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Reads the whole access unit the GAS points at.
pub fn read_raw<A: RegisterAccess + ?Sized>(access: &mut A, gas: &Gas) -> Result<u64, AccessError> {
    let bits = gas.access_bits()?;
    Ok(access.read(gas.space, gas.address, bits)? & low_bits(bits))
}

/// Writes the whole access unit the GAS points at.
pub fn write_raw<A: RegisterAccess + ?Sized>(
    access: &mut A,
    gas: &Gas,
    value: u64,
) -> Result<(), AccessError> {
    let bits = gas.access_bits()?;
    access.write(gas.space, gas.address, bits, value & low_bits(bits))
}

/// Reads the register's field and returns it shifted down to bit 0.
pub fn read<A: RegisterAccess + ?Sized>(access: &mut A, gas: &Gas) -> Result<u64, AccessError> {
    let mask = gas.field_mask()?;
    let raw = read_raw(access, gas)?;
    Ok(raw.checked_shr(gas.bit_offset as u32).unwrap_or(0) & mask)
}

/// Writes `value` into the register's field; the other bits of the access
/// unit are written as 0. Use [`update`] to keep them.
pub fn write<A: RegisterAccess + ?Sized>(
    access: &mut A,
    gas: &Gas,
    value: u64,
) -> Result<(), AccessError> {
    let mask = gas.field_mask()?;
    let shifted = (value & mask)
        .checked_shl(gas.bit_offset as u32)
        .unwrap_or(0);
    write_raw(access, gas, shifted)
}

/// Read-modify-write of the register's field, keeping the other bits.
pub fn update<A: RegisterAccess + ?Sized>(
    access: &mut A,
    gas: &Gas,
    value: u64,
) -> Result<(), AccessError> {
    let mask = gas.field_mask()?;
    let shift = gas.bit_offset as u32;
    let field = mask.checked_shl(shift).unwrap_or(0);
    let raw = read_raw(access, gas)?;
    let new = (raw & !field) | ((value & mask).checked_shl(shift).unwrap_or(0));
    write_raw(access, gas, new)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    /// Byte-addressed memory and I/O for tests; unknown bytes read as 0.
    #[derive(Default)]
    pub struct FlatMemory {
        pub mem: BTreeMap<u64, u8>,
        pub io: BTreeMap<u64, u8>,
        pub stalled_us: u64,
        pub flushed: Vec<u64>,
        pub log: Vec<(bool, u64, u8, u64)>,
    }

    impl RegisterAccess for FlatMemory {
        fn read(
            &mut self,
            space: AddressSpace,
            address: u64,
            bits: u8,
        ) -> Result<u64, AccessError> {
            let m = match space {
                AddressSpace::SystemMemory => &self.mem,
                AddressSpace::SystemIo => &self.io,
                s => return Err(AccessError::UnsupportedSpace(s)),
            };
            let mut v = 0u64;
            for i in 0..(bits / 8) as u64 {
                v |= (*m.get(&(address + i)).unwrap_or(&0) as u64) << (8 * i);
            }
            self.log.push((false, address, bits, v));
            Ok(v)
        }
        fn write(
            &mut self,
            space: AddressSpace,
            address: u64,
            bits: u8,
            value: u64,
        ) -> Result<(), AccessError> {
            let m = match space {
                AddressSpace::SystemMemory => &mut self.mem,
                AddressSpace::SystemIo => &mut self.io,
                s => return Err(AccessError::UnsupportedSpace(s)),
            };
            for i in 0..(bits / 8) as u64 {
                m.insert(address + i, (value >> (8 * i)) as u8);
            }
            self.log.push((true, address, bits, value));
            Ok(())
        }
        fn stall_us(&mut self, us: u64) {
            self.stalled_us += us;
        }
        fn flush_cacheline(&mut self, address: u64) {
            self.flushed.push(address);
        }
    }

    pub fn gas_bytes(space: u8, width: u8, offset: u8, size: u8, addr: u64) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0] = space;
        b[1] = width;
        b[2] = offset;
        b[3] = size;
        b[4..].copy_from_slice(&addr.to_le_bytes());
        b
    }

    fn gas(width: u8, offset: u8, size: u8, addr: u64) -> Gas {
        Gas::parse(&mut Reader::new(&gas_bytes(0, width, offset, size, addr))).unwrap()
    }

    #[test]
    fn parse_and_short_input() {
        let g = gas(32, 0, 3, 0x1000);
        assert_eq!(g.space, AddressSpace::SystemMemory);
        assert_eq!(g.address, 0x1000);
        assert_eq!(g.access_bits(), Ok(32));
        assert!(Gas::parse(&mut Reader::new(&[0u8; 11])).is_err());
    }

    #[test]
    fn access_width_derivation_and_fixups() {
        assert_eq!(gas(3, 4, 0, 0x10).access_bits(), Ok(8));
        assert_eq!(gas(8, 4, 0, 0x10).access_bits(), Ok(16));
        assert_eq!(gas(64, 0, 0, 0x10).access_bits(), Ok(64));
        assert_eq!(gas(0, 0, 0, 0x10).access_bits(), Err(GasError::NoWidth));
        // Firmware bug: byte access for an aligned 32-bit register.
        assert_eq!(gas(32, 0, 1, 0x1004).access_bits(), Ok(32));
        assert_eq!(gas(64, 0, 2, 0x1008).access_bits(), Ok(64));
        // Not fixed when unaligned: the field cannot fit.
        assert!(matches!(
            gas(32, 0, 1, 0x1002).access_bits(),
            Err(GasError::FieldTooWide { .. })
        ));
        assert_eq!(
            gas(8, 0, 5, 0x10).access_bits(),
            Err(GasError::BadAccessSize(5))
        );
        assert!(gas(0, 64, 4, 0x10).access_bits().is_err());
        assert!(gas(255, 255, 0, 0x10).access_bits().is_err());
    }

    #[test]
    fn apei_rules() {
        let mut g = gas(32, 0, 3, 0);
        assert_eq!(g.check_apei(), Err(GasError::ZeroAddress));
        g.address = 0x10;
        g.space = AddressSpace::PciConfig;
        assert_eq!(
            g.check_apei(),
            Err(GasError::UnsupportedSpace(AddressSpace::PciConfig))
        );
    }

    #[test]
    fn field_read_write_update() {
        let mut m = FlatMemory::default();
        let g = gas(4, 8, 3, 0x2000);
        write_raw(&mut m, &g, 0xAABB_CCDD).unwrap();
        assert_eq!(read(&mut m, &g).unwrap(), 0xC);
        update(&mut m, &g, 0x5).unwrap();
        assert_eq!(read_raw(&mut m, &g).unwrap(), 0xAABB_C5DD);
        write(&mut m, &g, 0x1F).unwrap();
        assert_eq!(read_raw(&mut m, &g).unwrap(), 0x0000_0F00);
        let io = Gas {
            space: AddressSpace::SystemIo,
            ..g
        };
        write(&mut m, &io, 3).unwrap();
        assert_eq!(m.io.get(&0x2001), Some(&3));
    }
}
