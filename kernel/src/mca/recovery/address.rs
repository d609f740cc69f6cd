//! Which address of a record recovery may act on.

use crate::mca::record::MceRecord;
use crate::mca::regs::{mcg_cap, misc, status};

/// The physical address of a record's error, when the bank says the address
/// is physical (MISC address mode, with SER_P) or gives no mode at all.
pub fn physical_address(rec: &MceRecord) -> Option<u64> {
    let addr = rec.error_address()?;
    if rec.mcgcap & mcg_cap::SER_P != 0 && rec.status & status::MISCV != 0 {
        let mode = (rec.misc & misc::ADDR_MODE_MASK) >> misc::ADDR_MODE_SHIFT;
        if mode != misc::ADDR_MODE_PHYSICAL {
            return None;
        }
    }
    Some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_only_when_the_misc_mode_says_so() {
        let mut rec = MceRecord {
            status: status::VAL | status::UC | status::ADDRV | status::MISCV,
            addr: 0x1234_5000,
            misc: misc::ADDR_MODE_PHYSICAL << misc::ADDR_MODE_SHIFT,
            mcgcap: mcg_cap::SER_P,
            ..Default::default()
        };
        assert_eq!(physical_address(&rec), Some(0x1234_5000));
        rec.misc = 0; // segment offset mode
        assert_eq!(physical_address(&rec), None);
        rec.status &= !status::ADDRV;
        assert_eq!(physical_address(&rec), None);
    }
}
