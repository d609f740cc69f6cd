//! Which address of a record recovery may act on.

use crate::mca::record::{CpuVendor, MceRecord};
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

/// Why an address is not usable for recovery (Linux's `mce_usable_address`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    NoAddrv,
    NoMiscv,
    LsbAbovePage,
    NotPhysical,
    AmdNormalizedUmc,
    AmdNotMemory,
}

impl Unusable {
    pub const fn reason(self) -> &'static str {
        match self {
            Unusable::NoAddrv => "ADDRV clear",
            Unusable::NoMiscv => "MISCV clear",
            Unusable::LsbAbovePage => "LSB above page size",
            Unusable::NotPhysical => "address mode not physical",
            Unusable::AmdNormalizedUmc => "SMCA UMC normalized address",
            Unusable::AmdNotMemory => "AMD: not poison nor northbridge DRAM error",
        }
    }
}

const PAGE_SHIFT: u64 = 12;
/// SMCA MCA_IPID HardwareID (bits 43:32) of a UMC bank (Linux `HWID_UMC`).
const SMCA_HWID_UMC: u64 = 0x96;

/// Linux's `mce_usable_address` with its Intel and AMD halves, the reason
/// kept for the console ("address not usable: <reason>"). Not yet wired
/// into the callers of `physical_address`.
pub fn usable_address(rec: &MceRecord) -> Result<u64, Unusable> {
    if rec.status & status::ADDRV == 0 {
        return Err(Unusable::NoAddrv);
    }
    match rec.cpuvendor {
        CpuVendor::Intel => {
            if rec.status & status::MISCV == 0 {
                return Err(Unusable::NoMiscv);
            }
            if rec.misc & misc::LSB_MASK > PAGE_SHIFT {
                return Err(Unusable::LsbAbovePage);
            }
            let mode = (rec.misc & misc::ADDR_MODE_MASK) >> misc::ADDR_MODE_SHIFT;
            if mode != misc::ADDR_MODE_PHYSICAL {
                return Err(Unusable::NotPhysical);
            }
        }
        CpuVendor::Amd => {
            let smca = rec.ipid != 0;
            if smca && (rec.ipid >> 32) & 0xfff == SMCA_HWID_UMC {
                return Err(Unusable::AmdNormalizedUmc);
            }
            // Legacy northbridge DRAM ECC: bank 4, extended error code 8.
            let nb_dram = !smca && rec.bank == 4 && (rec.status >> 16) & 0x1f == 8;
            if !nb_dram && rec.status & status::AMD_POISON == 0 {
                return Err(Unusable::AmdNotMemory);
            }
        }
        CpuVendor::Other => {}
    }
    rec.error_address().ok_or(Unusable::NoAddrv)
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

    #[test]
    fn usable_address_intel_and_amd_rules() {
        let mut rec = MceRecord {
            status: status::VAL | status::UC | status::ADDRV | status::MISCV,
            addr: 0x1234_5000,
            misc: (misc::ADDR_MODE_PHYSICAL << misc::ADDR_MODE_SHIFT) | 12,
            cpuvendor: CpuVendor::Intel,
            ..Default::default()
        };
        assert_eq!(usable_address(&rec), Ok(0x1234_5000));
        rec.misc = (misc::ADDR_MODE_PHYSICAL << misc::ADDR_MODE_SHIFT) | 21;
        assert_eq!(usable_address(&rec), Err(Unusable::LsbAbovePage));
        rec.misc = 6;
        assert_eq!(usable_address(&rec), Err(Unusable::NotPhysical));
        rec.status &= !status::MISCV;
        assert_eq!(usable_address(&rec), Err(Unusable::NoMiscv));
        rec.status &= !status::ADDRV;
        assert_eq!(usable_address(&rec), Err(Unusable::NoAddrv));

        let mut amd = MceRecord {
            status: status::VAL | status::UC | status::ADDRV,
            addr: 0x5000,
            cpuvendor: CpuVendor::Amd,
            ..Default::default()
        };
        assert_eq!(usable_address(&amd), Err(Unusable::AmdNotMemory));
        amd.status |= status::AMD_POISON;
        assert_eq!(usable_address(&amd), Ok(0x5000));
        amd.ipid = SMCA_HWID_UMC << 32;
        assert_eq!(usable_address(&amd), Err(Unusable::AmdNormalizedUmc));
        let nb = MceRecord {
            status: status::VAL | status::UC | status::ADDRV | (8 << 16),
            bank: 4,
            addr: 0x7000,
            cpuvendor: CpuVendor::Amd,
            ..Default::default()
        };
        assert_eq!(usable_address(&nb), Ok(0x7000));
    }
}
