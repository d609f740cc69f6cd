//! Which address of a record recovery may act on.

use crate::mca::record::{CpuVendor, MceRecord};
use crate::mca::regs::{misc, status};
use crate::mca::vendor::smca;

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
            Unusable::AmdNormalizedUmc => "SMCA UMC address is normalized, not system physical",
            Unusable::AmdNotMemory => "AMD: neither poison nor a northbridge DRAM ECC error",
        }
    }
}

const PAGE_SHIFT: u64 = 12;

/// Linux's `mce_usable_address` with its Intel and AMD halves, the reason
/// kept for the console ("address not usable: <reason>"). Every caller that
/// acts on an address (memory_failure, the corrected-error collector, the
/// #MC handler's kill and fixup) goes through it.
///
/// Intel: MISC must be valid, its LSB at most the page shift and its
/// address mode physical (SDM 16.3.2.4), whether or not SER_P is set.
/// AMD: the address is a system physical address only for poison (MCA_STATUS
/// bit 43, not defined in the legacy northbridge bank 4) and for the legacy
/// northbridge's DRAM ECC errors (bank 4, extended error code 8); on Scalable
/// MCA a UMC bank reports a normalized DRAM address, never usable as it is.
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
            // An SMCA bank always has a non-zero IPID; legacy banks have none.
            let smca = rec.ipid != 0;
            if !smca && rec.bank == 4 {
                // Legacy northbridge: DRAM ECC (XEC 8) only; bit 43 means
                // something else in this bank.
                if (rec.status >> 16) & 0x1f != 8 {
                    return Err(Unusable::AmdNotMemory);
                }
            } else if rec.status & status::AMD_POISON == 0 {
                return Err(if smca && smca::hwid(rec.ipid) == smca::HWID_UMC {
                    Unusable::AmdNormalizedUmc
                } else {
                    Unusable::AmdNotMemory
                });
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
        // Poison decides before the bank type, as in Linux (a UMC bank
        // never reports poison consumption; the consuming core's bank does).
        amd.ipid = (smca::HWID_UMC as u64) << 32;
        assert_eq!(usable_address(&amd), Ok(0x5000));
        let nb = MceRecord {
            status: status::VAL | status::UC | status::ADDRV | (8 << 16),
            bank: 4,
            addr: 0x7000,
            cpuvendor: CpuVendor::Amd,
            ..Default::default()
        };
        assert_eq!(usable_address(&nb), Ok(0x7000));
        // Bank 4 of the legacy northbridge: bit 43 is not poison there.
        let nb_link = MceRecord {
            status: nb.status & !(0x1f << 16) | (0x0a << 16) | status::AMD_POISON,
            ..nb
        };
        assert_eq!(usable_address(&nb_link), Err(Unusable::AmdNotMemory));
        // SMCA: bank 4 is no northbridge; a UMC record (deferred, no poison)
        // names a normalized address; other banks need poison.
        let umc = MceRecord {
            status: status::VAL | status::ADDRV | status::AMD_DEFERRED | (8 << 16),
            bank: 4,
            ipid: ((smca::HWID_UMC as u64) << 32) | 0x0050_0000,
            addr: 0x9000,
            cpuvendor: CpuVendor::Amd,
            ..Default::default()
        };
        assert_eq!(usable_address(&umc), Err(Unusable::AmdNormalizedUmc));
        let ls = MceRecord {
            ipid: (0xb0 << 32) | 1,
            ..umc
        };
        assert_eq!(usable_address(&ls), Err(Unusable::AmdNotMemory));
        let ls_poison = MceRecord {
            status: ls.status | status::AMD_POISON,
            ..ls
        };
        assert_eq!(usable_address(&ls_poison), Ok(0x9000));
    }

    #[test]
    fn intel_rules_hold_without_ser_p_and_keep_the_lsb() {
        // No SER_P in MCG_CAP: MISC is still required (Linux checks it for
        // every Intel record).
        let rec = MceRecord {
            status: status::VAL | status::UC | status::ADDRV,
            addr: 0x1234_5678,
            cpuvendor: CpuVendor::Intel,
            ..Default::default()
        };
        assert_eq!(usable_address(&rec), Err(Unusable::NoMiscv));
        let lsb6 = MceRecord {
            status: rec.status | status::MISCV,
            misc: (misc::ADDR_MODE_PHYSICAL << misc::ADDR_MODE_SHIFT) | 6,
            ..rec
        };
        assert_eq!(usable_address(&lsb6), Ok(0x1234_5640));
        assert_eq!(Unusable::NoMiscv.reason(), "MISCV clear");
    }
}
