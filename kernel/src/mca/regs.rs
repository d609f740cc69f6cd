//! Machine-check MSR addresses and register bit layouts (Intel SDM vol. 3B,
//! chapter 16 "Machine-Check Architecture"; AMD APM vol. 2, chapter 9).
//!
//! Pure constants and tiny accessors: shared by the #MC handler, the poller,
//! the decoder, the severity table and the injector.

/// IA32_MCG_CAP: what the machine-check architecture of this CPU offers.
pub const IA32_MCG_CAP: u32 = 0x179;
/// IA32_MCG_STATUS: state of the processor after a machine check.
pub const IA32_MCG_STATUS: u32 = 0x17A;
/// IA32_MCG_CTL: global enable, present only when MCG_CAP.CTL_P.
pub const IA32_MCG_CTL: u32 = 0x17B;
/// IA32_MCG_EXT_CTL: LMCE_EN (bit 0).
pub const IA32_MCG_EXT_CTL: u32 = 0x4D0;
/// IA32_FEATURE_CONTROL: bit 20 lets the OS enable LMCE.
pub const IA32_FEATURE_CONTROL: u32 = 0x3A;

/// First bank register; bank `i` uses `0x400 + 4*i + {0,1,2,3}`.
pub const IA32_MC0_CTL: u32 = 0x400;

/// IA32_MCi_CTL of bank `i`.
pub const fn mc_ctl(bank: u8) -> u32 {
    IA32_MC0_CTL + 4 * bank as u32
}
/// IA32_MCi_STATUS of bank `i`.
pub const fn mc_status(bank: u8) -> u32 {
    IA32_MC0_CTL + 4 * bank as u32 + 1
}
/// IA32_MCi_ADDR of bank `i`.
pub const fn mc_addr(bank: u8) -> u32 {
    IA32_MC0_CTL + 4 * bank as u32 + 2
}
/// IA32_MCi_MISC of bank `i`.
pub const fn mc_misc(bank: u8) -> u32 {
    IA32_MC0_CTL + 4 * bank as u32 + 3
}
/// An architectural bank register, wherever the CPU keeps it (legacy
/// 0x400 + 4*bank, or the SMCA space).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BankReg {
    Ctl,
    Status,
    Addr,
    Misc,
}

/// A register only AMD Scalable MCA banks have (AMD PPR, "MCA_CONFIG" ...
/// "MCA_DEADDR").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmcaReg {
    Config,
    /// Hardware id (bits 43:32), instance id and MCA type (bits 63:48).
    Ipid,
    /// Syndrome of the error (ECC syndrome for memory banks).
    Synd,
    /// Status of the latest deferred error, kept apart from MCA_STATUS.
    Destat,
    /// Address of the latest deferred error.
    Deaddr,
}

/// First SMCA bank register; bank `i` uses `0xC0002000 + 0x10*i + offset`.
pub const SMCA_MC0_CTL: u32 = 0xC000_2000;

/// Address of `reg` of `bank` in the SMCA register space.
pub const fn smca_reg(bank: u8, reg: SmcaReg) -> u32 {
    let offset = match reg {
        SmcaReg::Config => 4,
        SmcaReg::Ipid => 5,
        SmcaReg::Synd => 6,
        // 7 is reserved.
        SmcaReg::Destat => 8,
        SmcaReg::Deaddr => 9,
    };
    SMCA_MC0_CTL + 0x10 * bank as u32 + offset
}

/// Address of `reg` of `bank`: in the SMCA space (CTL +0 ... MISC +3) when
/// `smca`, otherwise the legacy 0x400 + 4*bank one, as Linux's
/// `mca_msr_reg` chooses.
pub const fn bank_reg(smca: bool, bank: u8, reg: BankReg) -> u32 {
    let offset = match reg {
        BankReg::Ctl => 0,
        BankReg::Status => 1,
        BankReg::Addr => 2,
        BankReg::Misc => 3,
    };
    if smca {
        SMCA_MC0_CTL + 0x10 * bank as u32 + offset
    } else {
        IA32_MC0_CTL + 4 * bank as u32 + offset
    }
}

/// IA32_MCi_CTL2 of bank `i` (CMCI threshold and CMCI_EN; Intel only).
pub const fn mc_ctl2(bank: u8) -> u32 {
    0x280 + bank as u32
}

/// Bits of IA32_MCG_CAP.
pub mod mcg_cap {
    pub const COUNT_MASK: u64 = 0xff;
    pub const CTL_P: u64 = 1 << 8;
    pub const EXT_P: u64 = 1 << 9;
    pub const CMCI_P: u64 = 1 << 10;
    pub const TES_P: u64 = 1 << 11;
    pub const EXT_CNT_SHIFT: u32 = 16;
    pub const EXT_CNT_MASK: u64 = 0xff << EXT_CNT_SHIFT;
    pub const SER_P: u64 = 1 << 24;
    pub const EMC_P: u64 = 1 << 25;
    pub const ELOG_P: u64 = 1 << 26;
    pub const LMCE_P: u64 = 1 << 27;
}

/// Bits of IA32_MCG_STATUS.
pub mod mcg_status {
    pub const RIPV: u64 = 1 << 0;
    pub const EIPV: u64 = 1 << 1;
    pub const MCIP: u64 = 1 << 2;
    pub const LMCE_S: u64 = 1 << 3;
}

/// Bits of IA32_MCi_STATUS.
pub mod status {
    pub const VAL: u64 = 1 << 63;
    pub const OVER: u64 = 1 << 62;
    pub const UC: u64 = 1 << 61;
    pub const EN: u64 = 1 << 60;
    pub const MISCV: u64 = 1 << 59;
    pub const ADDRV: u64 = 1 << 58;
    pub const PCC: u64 = 1 << 57;
    /// Signaled: the error raised #MC (meaningful when MCG_CAP.SER_P).
    pub const S: u64 = 1 << 56;
    /// Action required (meaningful when MCG_CAP.SER_P).
    pub const AR: u64 = 1 << 55;
    /// Threshold-based error status, bits 54:53 (when MCG_CAP.TES_P).
    pub const THRESHOLD_SHIFT: u32 = 53;
    pub const THRESHOLD_MASK: u64 = 0b11 << THRESHOLD_SHIFT;
    /// Firmware updated this status (bit 37; architectural with
    /// MCG_CAP.SER_P, as mcelog reads it).
    pub const FWST: u64 = 1 << 37;
    /// Corrected error count, bits 52:38.
    pub const CEC_SHIFT: u32 = 38;
    pub const CEC_MASK: u64 = 0x7fff << CEC_SHIFT;
    /// AMD: deferred error (bit 44) and poison (bit 43) in legacy banks.
    pub const AMD_DEFERRED: u64 = 1 << 44;
    pub const AMD_POISON: u64 = 1 << 43;
    /// AMD SMCA: MCA_SYND holds this error's syndrome (bit 53).
    pub const SMCA_SYNDV: u64 = 1 << 53;
    /// Model-specific error code, bits 31:16.
    pub const MSCOD_SHIFT: u32 = 16;
    pub const MSCOD_MASK: u64 = 0xffff << MSCOD_SHIFT;
    /// Architectural MCA error code, bits 15:0.
    pub const MCACOD_MASK: u64 = 0xffff;
}

/// Bits of IA32_MCi_MISC when MISCV and MCG_CAP.SER_P.
pub mod misc {
    /// Least significant valid bit of MCi_ADDR, bits 5:0.
    pub const LSB_MASK: u64 = 0x3f;
    /// Address mode, bits 8:6.
    pub const ADDR_MODE_SHIFT: u32 = 6;
    pub const ADDR_MODE_MASK: u64 = 0b111 << ADDR_MODE_SHIFT;
    pub const ADDR_MODE_SEGMENT_OFFSET: u64 = 0;
    pub const ADDR_MODE_LINEAR: u64 = 1;
    pub const ADDR_MODE_PHYSICAL: u64 = 2;
    pub const ADDR_MODE_MEMORY: u64 = 3;
    pub const ADDR_MODE_GENERIC: u64 = 7;
}

/// Bits of IA32_FEATURE_CONTROL (firmware sets them, then locks the MSR).
pub mod feature_control {
    /// Lock (bit 0): the MSR is read-only until reset.
    pub const LOCKED: u64 = 1 << 0;
    /// LMCE on (bit 20): the OS may set IA32_MCG_EXT_CTL.LMCE_EN.
    pub const LMCE: u64 = 1 << 20;
}

/// Bits of IA32_MCG_EXT_CTL.
pub mod mcg_ext_ctl {
    /// LMCE_EN (bit 0): errors that affect only this logical processor
    /// raise #MC on it alone (MCG_STATUS.LMCE_S set).
    pub const LMCE_EN: u64 = 1 << 0;
}

/// IA32_MCi_CTL2 bits.
pub mod ctl2 {
    pub const THRESHOLD_MASK: u64 = 0x7fff;
    pub const CMCI_EN: u64 = 1 << 30;
}

/// The MCA error code (bits 15:0) of a status value.
pub const fn mcacod(status: u64) -> u16 {
    (status & status::MCACOD_MASK) as u16
}

/// The model-specific error code (bits 31:16) of a status value.
pub const fn mscod(status: u64) -> u16 {
    ((status & status::MSCOD_MASK) >> status::MSCOD_SHIFT) as u16
}

/// The corrected-error count (bits 52:38) of a status value.
pub const fn corrected_count(status: u64) -> u16 {
    ((status & status::CEC_MASK) >> status::CEC_SHIFT) as u16
}

/// Number of banks announced by an MCG_CAP value.
pub const fn bank_count(mcg_cap: u64) -> u8 {
    (mcg_cap & mcg_cap::COUNT_MASK) as u8
}
