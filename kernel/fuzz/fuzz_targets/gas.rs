//! Gas::parse, the width rules, and field reads/writes through a GAS.
//!
//! Input: the 12-byte GAS, then a value to write and the register's
//! initial contents (8 bytes each, zero when missing).
#![no_main]

use kernel::apei::gas::{self, low_bits, AddressSpace, Gas, GasError};
use kernel::apei::table::Reader;
use kernel_fuzz::{gas_encode, le64, FuzzClock, Memory};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let g = match Gas::parse(&mut r) {
        Ok(g) => g,
        Err(_) => {
            assert!(data.len() < Gas::LEN);
            return;
        }
    };
    assert_eq!(r.position(), Gas::LEN);
    assert_eq!(&gas_encode(&g)[..], &data[..Gas::LEN]);
    assert_eq!(AddressSpace::from_id(g.space.id()), g.space);
    let _ = g.space.to_string();

    let bits = match g.access_bits() {
        Ok(bits) => bits,
        Err(e) => {
            let _ = e.to_string();
            assert!(g.field_mask().is_err());
            assert!(g.check_apei().is_err());
            return;
        }
    };
    assert!(matches!(bits, 8 | 16 | 32 | 64));
    assert!(g.bit_offset < bits);
    assert!(u16::from(g.bit_width) + u16::from(g.bit_offset) <= u16::from(bits));
    let mask = g.field_mask().expect("a usable width gives a mask");
    let width = mask.count_ones() as u8;
    assert!(width > 0 && mask == low_bits(width));
    assert!(width + g.bit_offset <= bits);
    if g.bit_width != 0 {
        assert_eq!(width, g.bit_width);
    }
    match g.check_apei() {
        Ok(b) => {
            assert_eq!(b, bits);
            assert!(matches!(
                g.space,
                AddressSpace::SystemMemory | AddressSpace::SystemIo
            ));
            assert_ne!(g.address, 0);
        }
        Err(GasError::UnsupportedSpace(s)) => assert_eq!(s, g.space),
        Err(GasError::ZeroAddress) => assert_eq!(g.address, 0),
        Err(e) => panic!("check_apei failed with {e:?} after access_bits succeeded"),
    }

    // Writes and reads of the field through simulated registers.
    let value = le64(data, 12).unwrap_or(0);
    let initial = le64(data, 20).unwrap_or(0) & low_bits(bits);
    let mut m = Memory::lenient(FuzzClock::default());
    if gas::write_raw(&mut m, &g, initial).is_err() {
        return; // another space, or the access wraps past the top
    }
    assert_eq!(gas::read_raw(&mut m, &g), Ok(initial));
    let field = mask << g.bit_offset;
    assert_eq!(gas::read(&mut m, &g), Ok((initial & field) >> g.bit_offset));
    gas::update(&mut m, &g, value).unwrap();
    let raw = gas::read_raw(&mut m, &g).unwrap();
    assert_eq!(
        raw & !field,
        initial & !field,
        "update keeps the other bits"
    );
    assert_eq!(gas::read(&mut m, &g), Ok(value & mask));
    gas::write(&mut m, &g, value).unwrap();
    assert_eq!(
        gas::read_raw(&mut m, &g),
        Ok((value & mask) << g.bit_offset)
    );
    assert_eq!(gas::read(&mut m, &g), Ok(value & mask));
});
