//! Ice Lake-SP (display family 6, model 0x6A) and Ice Lake-D (0x6C), as
//! mcelog's 10nm decoder (i10nm.c) prints them.
//!
//! Ice Lake-SP banks: 4 PCU; 5, 7, 8 UPI; 12, 16, 20, 24 the M2M units of
//! memory controllers 0-3; the three banks after each M2M the controller's
//! channels. Ice Lake-D has the PCU and controllers 0 and 1 only. Channels
//! are numbered socket-wide controller * 3 + the error code's channel; the
//! iMC MISC carries the DRAM bank, row, column, rank and failed device.

use core::fmt::{self, Write};

use super::super::record::{CpuVendor, MceRecord};
use super::super::regs::status;
use super::model::{bit, bits, decode_bitfield, table, table_by_class, Field, Model, Names};

/// PCU MSCOD bits 31:24 on the 10nm server parts; Sapphire Rapids names one
/// more value, given as `extra`.
macro_rules! pcu_1 {
    ($($extra:tt)*) => {
        Names(&[
    (0x0d, 0x0d, "MCA_LLC_BIST_ACTIVE_TIMEOUT"),
    (0x0e, 0x0e, "MCA_DMI_TRAINING_TIMEOUT"),
    (0x0f, 0x0f, "MCA_DMI_STRAP_SET_ARRIVAL_TIMEOUT"),
    (0x10, 0x10, "MCA_DMI_CPU_RESET_ACK_TIMEOUT"),
    (0x11, 0x11, "MCA_MORE_THAN_ONE_LT_AGENT"),
    (0x14, 0x14, "MCA_INCOMPATIBLE_PCH_TYPE"),
    (0x1e, 0x1e, "MCA_BIOS_RST_CPL_INVALID_SEQ"),
    (0x1f, 0x1f, "MCA_BIOS_INVALID_PKG_STATE_CONFIG"),
    (0x2d, 0x2d, "MCA_PCU_PMAX_CALIB_ERROR"),
    (0x2e, 0x2e, "MCA_TSC100_SYNC_TIMEOUT"),
    (0x3a, 0x3a, "MCA_GPSB_TIMEOUT"),
    (0x3b, 0x3b, "MCA_PMSB_TIMEOUT"),
    (0x3e, 0x3e, "MCA_IOSFSB_PMREQ_CMP_TIMEOUT"),
    (0x40, 0x40, "MCA_SVID_VCCIN_VR_ICC_MAX_FAILURE"),
    (0x42, 0x42, "MCA_SVID_VCCIN_VR_VOUT_FAILURE"),
    (0x43, 0x43, "MCA_SVID_CPU_VR_CAPABILITY_ERROR"),
    (0x44, 0x44, "MCA_SVID_CRITICAL_VR_FAILED"),
    (0x45, 0x45, "MCA_SVID_SA_ITD_ERROR"),
    (0x46, 0x46, "MCA_SVID_READ_REG_FAILED"),
    (0x47, 0x47, "MCA_SVID_WRITE_REG_FAILED"),
    (0x4a, 0x4a, "MCA_SVID_PKGC_REQUEST_FAILED"),
    (0x4b, 0x4b, "MCA_SVID_IMON_REQUEST_FAILED"),
    (0x4c, 0x4c, "MCA_SVID_ALERT_REQUEST_FAILED"),
    (0x4d, 0x4d, "MCA_SVID_MCP_VR_RAMP_ERROR"),
    (0x56, 0x56, "MCA_FIVR_PD_HARDERR"),
    (0x58, 0x58, "MCA_WATCHDOG_TIMEOUT_PKGC_SECONDARY"),
    (0x59, 0x59, "MCA_WATCHDOG_TIMEOUT_PKGC_MAIN"),
    (0x5a, 0x5a, "MCA_WATCHDOG_TIMEOUT_PKGS_MAIN"),
    (0x5b, 0x5b, "MCA_WATCHDOG_TIMEOUT_MSG_CH_FSM"),
    (0x5c, 0x5c, "MCA_WATCHDOG_TIMEOUT_BULK_CR_FSM"),
    (0x5d, 0x5d, "MCA_WATCHDOG_TIMEOUT_IOSFSB_FSM"),
    (0x60, 0x60, "MCA_PKGS_SAFE_WP_TIMEOUT"),
    (0x61, 0x61, "MCA_PKGS_CPD_UNCPD_TIMEOUT"),
    (0x62, 0x62, "MCA_PKGS_INVALID_REQ_PCH"),
    (0x63, 0x63, "MCA_PKGS_INVALID_REQ_INTERNAL"),
    (0x64, 0x64, "MCA_PKGS_INVALID_RSP_INTERNAL"),
    (0x65, 0x7a, "MCA_PKGS_RESET_PREP_TIMEOUT"),
    (0x7b, 0x7b, "MCA_PKGS_SMBUS_VPP_PAUSE_TIMEOUT"),
    (0x7c, 0x7c, "MCA_PKGS_SMBUS_MCP_PAUSE_TIMEOUT"),
    (0x7d, 0x7d, "MCA_PKGS_SMBUS_SPD_PAUSE_TIMEOUT"),
    (0x80, 0x80, "MCA_PKGC_DISP_BUSY_TIMEOUT"),
    (0x81, 0x81, "MCA_PKGC_INVALID_RSP_PCH"),
    (0x83, 0x83, "MCA_PKGC_WATCHDOG_HANG_CBZ_DOWN"),
    (0x84, 0x84, "MCA_PKGC_WATCHDOG_HANG_CBZ_UP"),
    (0x87, 0x87, "MCA_PKGC_WATCHDOG_HANG_C2_BLKMASTER"),
    (0x88, 0x88, "MCA_PKGC_WATCHDOG_HANG_C2_PSLIMIT"),
    (0x89, 0x89, "MCA_PKGC_WATCHDOG_HANG_SETDISP"),
    (0x8b, 0x8b, "MCA_PKGC_ALLOW_L1_ERROR"),
    (0x90, 0x90, "MCA_RECOVERABLE_DIE_THERMAL_TOO_HOT"),
    (0xa0, 0xa0, "MCA_ADR_SIGNAL_TIMEOUT"),
    (0xa1, 0xa1, "MCA_BCLK_FREQ_OC_ABOVE_THRESHOLD"),
    (0xb0, 0xb0, "MCA_DISPATCHER_RUN_BUSY_TIMEOUT"),
            $($extra)*
        ])
    };
}

/// PCU MSCOD bits 31:24.
pub(super) static PCU_1: Names = pcu_1!();

/// PCU MSCOD bits 23:20.
pub(super) static PCU_2: Names = Names(&[
    (0x04, 0x04, "Clock/power IP response timeout"),
    (0x05, 0x05, "SMBus controller raised SMI"),
    (0x09, 0x09, "PM controller received invalid transaction"),
]);

/// PCU MSCOD bits 19:16.
pub(super) static PCU_3: Names = Names(&[
    (0x01, 0x01, "Instruction address out of valid space"),
    (0x02, 0x02, "Double bit RAM error on Instruction Fetch"),
    (0x03, 0x03, "Invalid OpCode seen"),
    (0x04, 0x04, "Stack Underflow"),
    (0x05, 0x05, "Stack Overflow"),
    (0x06, 0x06, "Data address out of valid space"),
    (0x07, 0x07, "Double bit RAM error on Data Fetch"),
]);

/// UPI MSCOD bits 31:22, one bit each.
pub(super) static UPI_1: [Field; 10] = [
    bit(22, flag!("Phy Control Error")),
    bit(23, flag!("Unexpected Retry.Ack flit")),
    bit(24, flag!("Unexpected Retry.Req flit")),
    bit(25, flag!("RF parity error")),
    bit(26, flag!("Routeback Table error")),
    bit(
        27,
        flag!("Unexpected Tx Protocol flit (EOP, Header or Data)"),
    ),
    bit(
        28,
        flag!("Rx Header-or-Credit BGF credit overflow/underflow"),
    ),
    bit(
        29,
        flag!("Link Layer Reset still in progress when Phy enters L0"),
    ),
    bit(
        30,
        flag!("Link Layer reset initiated while protocol traffic not idle"),
    ),
    bit(31, flag!("Link Layer Tx Parity Error")),
];

/// UPI MSCOD bits 21:16.
static UPI_2: Names = Names(&[
    (0x00, 0x00, "Phy Initialization Failure (NumInit)"),
    (0x01, 0x01, "Phy Detected Drift Buffer Alarm"),
    (0x02, 0x02, "Phy Detected Latency Buffer Rollover"),
    (
        0x10,
        0x10,
        "LL Rx detected CRC error: unsuccessful LLR (entered Abort state)",
    ),
    (0x11, 0x11, "LL Rx Unsupported/Undefined packet"),
    (0x12, 0x12, "LL or Phy Control Error"),
    (0x13, 0x13, "LL Rx Parameter Exception"),
    (0x1f, 0x1f, "LL Detected Control Error"),
    (0x20, 0x20, "Phy Initialization Abort"),
    (0x21, 0x21, "Phy Inband Reset"),
    (0x22, 0x22, "Phy Lane failure, recovery in x8 width"),
    (0x23, 0x23, "Phy L0c error corrected without Phy reset"),
    (0x24, 0x24, "Phy L0c error triggering Phy reset"),
    (0x25, 0x25, "Phy L0p exit error corrected with reset"),
    (
        0x30,
        0x30,
        "LL Rx detected CRC error: successful LLR without Phy Reinit",
    ),
    (
        0x31,
        0x31,
        "LL Rx detected CRC error: successful LLR with Phy Reinit",
    ),
    (0x32, 0x32, "Tx received LLR"),
]);

/// M2M MSCOD bits 23:16, one bit each.
static M2M_BITS: [Field; 8] = [
    bit(16, flag!("MC read data error")),
    bit(17, flag!("Reserved")),
    bit(18, flag!("MC partial write data error")),
    bit(19, flag!("Full write data error")),
    bit(20, flag!("M2M clock-domain-crossing buffer (BGF) error")),
    bit(21, flag!("M2M time out")),
    bit(22, flag!("M2M tracker parity error")),
    bit(23, flag!("fatal Bucket1 error")),
];

/// iMC MSCOD bits 23:16 when bits 31:24 are 0x00.
pub(super) static IMC_0: Names = Names(&[
    (0x01, 0x01, "Address parity error"),
    (0x02, 0x02, "Data parity error"),
    (0x03, 0x03, "Data ECC error"),
    (0x04, 0x04, "Data byte enable parity error"),
    (0x07, 0x07, "Transaction ID parity error"),
    (0x08, 0x08, "Corrected patrol scrub error"),
    (0x10, 0x10, "Uncorrected patrol scrub error"),
    (0x20, 0x20, "Corrected spare error"),
    (0x40, 0x40, "Uncorrected spare error"),
    (0x80, 0x80, "Corrected read error"),
    (0xa0, 0xa0, "Uncorrected read error"),
    (0xc0, 0xc0, "Uncorrected metadata"),
]);

/// ... 0x01.
static IMC_1: Names = Names(&[
    (0x00, 0x00, "WDB read parity error"),
    (0x03, 0x03, "RPA parity error"),
    (0x06, 0x06, "DDR_T_DPPP data BE error"),
    (0x07, 0x07, "DDR_T_DPPP data error"),
    (0x08, 0x08, "DDR link failure"),
    (0x11, 0x11, "PCLS CAM error"),
    (0x12, 0x12, "PCLS data error"),
]);

/// ... 0x02.
static IMC_2: Names = Names(&[
    (0x00, 0x00, "DDR command / address parity error"),
    (0x20, 0x20, "HBM command / address parity error"),
    (0x21, 0x21, "HBM data parity error"),
]);

/// ... 0x04.
pub(super) static IMC_4: Names = Names(&[(0x00, 0x00, "RPQ parity (primary) error")]);

/// ... 0x08.
pub(super) static IMC_8: Names = Names(&[
    (0x00, 0x00, "DDR-T bad request"),
    (0x01, 0x01, "DDR Data response to an invalid entry"),
    (
        0x02,
        0x02,
        "DDR data response to an entry not expecting data",
    ),
    (0x03, 0x03, "DDR completion to an invalid entry"),
    (0x04, 0x04, "DDR-T completion to an invalid entry"),
    (0x05, 0x05, "DDR data/completion FIFO overflow"),
    (0x06, 0x06, "DDR-T ERID correctable parity error"),
    (0x07, 0x07, "DDR-T ERID uncorrectable error"),
    (
        0x08,
        0x08,
        "DDR-T interrupt received while outstanding interrupt was not ACKed",
    ),
    (0x09, 0x09, "ERID FI FO overflow"),
    (0x0a, 0x0a, "DDR-T error on FNV write credits"),
    (0x0b, 0x0b, "DDR-T error on FNV read credits"),
    (0x0c, 0x0c, "DDR-T scheduler error"),
    (0x0d, 0x0d, "DDR-T FNV error event"),
    (0x0e, 0x0e, "DDR-T FNV thermal event"),
    (0x0f, 0x0f, "CMI packet while idle"),
    (0x10, 0x10, "DDR_T_RPQ_REQ_PARITY_ERR"),
    (0x11, 0x11, "DDR_T_WPQ_REQ_PARITY_ERR"),
    (0x12, 0x12, "2LM_NMFILLWR_CAM_ERR"),
    (0x13, 0x13, "CMI_CREDIT_OVERSUB_ERR"),
    (0x14, 0x14, "CMI_CREDIT_TOTAL_ERR"),
    (0x15, 0x15, "CMI_CREDIT_RSVD_POOL_ERR"),
    (0x16, 0x16, "DDR_T_RD_ERROR"),
    (0x17, 0x17, "WDB_FIFO_ERR"),
    (0x18, 0x18, "CMI_REQ_FIFO_OVERFLOW"),
    (0x19, 0x19, "CMI_REQ_FIFO_UNDERFLOW"),
    (0x1a, 0x1a, "CMI_RSP_FIFO_OVERFLOW"),
    (0x1b, 0x1b, "CMI_RSP_FIFO_UNDERFLOW"),
    (0x1c, 0x1c, "CMI _MISC_MC_CRDT_ERRORS"),
    (0x1d, 0x1d, "CMI_MISC_MC_ARB_ERRORS"),
    (0x1e, 0x1e, "DDR_T_WR_CMPL_FI FO_OVERFLOW"),
    (0x1f, 0x1f, "DDR_T_WR_CMPL_FI FO_UNDERFLOW"),
    (0x20, 0x20, "CMI_RD_CPL_FIFO_OVERFLOW"),
    (0x21, 0x21, "CMI_RD_CPL_FIFO_UNDERFLOW"),
    (0x22, 0x22, "TME_KEY_PAR_ERR"),
    (0x23, 0x23, "TME_CMI_MISC_ERR"),
    (0x24, 0x24, "TME_CMI_OVFL_ERR"),
    (0x25, 0x25, "TME_CMI_UFL_ERR"),
    (0x26, 0x26, "TME_TEM_SECURE_ERR"),
    (0x27, 0x27, "TME_UFILL_PAR_ERR"),
    (0x29, 0x29, "INTERNAL_ERR"),
    (0x2a, 0x2a, "TME_INTEGRITY_ERR"),
    (0x2b, 0x2b, "TME_TDX_ERR"),
    (0x2c, 0x2c, "TME_UFILL_TEM_SECURE_ERR"),
    (0x2d, 0x2d, "TME_KEY_POISON_ERR"),
    (0x2e, 0x2e, "TME_SECURITY_ENGINE_ERR"),
]);

/// ... 0x10 (errors on the mirror's secondary channel).
pub(super) static IMC_10: Names = Names(&[
    (0x08, 0x08, "CORR_PATSCRUB_MIRR2ND_ERR"),
    (0x10, 0x10, "UC_PATSCRUB_MIRR2ND_ERR"),
    (0x20, 0x20, "COR_SPARE_MIRR2ND_ERR"),
    (0x40, 0x40, "UC_SPARE_MIRR2ND_ERR"),
    (0x80, 0x80, "HA_RD_MIRR2ND_ERR"),
    (0xa0, 0xa0, "HA_UNCORR_RD_MIRR2ND_ERR"),
]);

/// The PCU's three MSCOD fields, each printed when non-zero.
fn pcu(st: u64, out: &mut dyn Write) -> fmt::Result {
    out.write_str("PCU: ")?;
    for (lo, hi, names) in [(24, 31, &PCU_1), (20, 23, &PCU_2), (16, 19, &PCU_3)] {
        let f = bits(st, lo, hi);
        if f != 0 {
            table(f, names, out)?;
        }
    }
    Ok(())
}

/// The iMC MSCOD: bits 31:24 choose the table for bits 23:16.
fn imc_mscod(st: u64, out: &mut dyn Write) -> fmt::Result {
    out.write_str("MemCtrl: ")?;
    table_by_class(
        st,
        &[
            (0, &IMC_0),
            (1, &IMC_1),
            (2, &IMC_2),
            (4, &IMC_4),
            (8, &IMC_8),
            (0x10, &IMC_10),
        ],
        out,
    )
}

/// The iMC MISC fields (i10nm_imc_misc).
fn imc_misc(st: u64, misc: u64, out: &mut dyn Write) -> fmt::Result {
    let column = bits(misc, 9, 18) << 2;
    let row = bits(misc, 19, 39);
    let bank = bits(misc, 42, 43);
    let bankgroup = bits(misc, 40, 41) | (bits(misc, 44, 44) << 2);
    let fdevice = bits(misc, 46, 51);
    let subrank = bits(misc, 52, 55);
    let rank = bits(misc, 56, 58);
    let eccmode = bits(misc, 59, 62);
    let transient = bits(misc, 63, 63) != 0;
    writeln!(
        out,
        "bank: 0x{bank:x} bankgroup: 0x{bankgroup:x} row: 0x{row:x} column: 0x{column:x}"
    )?;
    // Bit 61 is UC: an uncorrected error names no failed device.
    if !transient && st & status::UC == 0 {
        writeln!(out, "failed device: 0x{fdevice:x}")?;
    }
    writeln!(out, "rank: 0x{rank:x} subrank: 0x{subrank:x}")?;
    out.write_str("ecc mode: ")?;
    out.write_str(match eccmode {
        0 => "SDDC memory mode\n",
        1 => "SDDC\n",
        4 => "ADDDC memory mode\n",
        5 => "ADDDC\n",
        8 => "DDRT read\n",
        _ => "unknown\n",
    })?;
    if transient {
        out.write_str("transient\n")?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Unit {
    Pcu,
    Upi,
    M2m,
    Imc,
}

fn decode_with(unit: Option<Unit>, rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    let st = rec.status;
    match unit {
        None => Ok(()),
        Some(Unit::Pcu) => pcu(st, out),
        Some(Unit::Upi) => {
            out.write_str("UPI: ")?;
            if bits(st, 22, 31) != 0 {
                decode_bitfield(st, &UPI_1, out)?;
            }
            table(bits(st, 16, 21), &UPI_2, out)
        }
        Some(Unit::M2m) => {
            out.write_str("M2M: ")?;
            writeln!(out, "MscodDDRType=0x{:x}", bits(st, 24, 25))?;
            writeln!(out, "MscodMiscErrs=0x{:x}", bits(st, 26, 31))?;
            decode_bitfield(st, &M2M_BITS, out)
        }
        Some(Unit::Imc) => {
            imc_mscod(st, out)?;
            imc_misc(st, rec.misc, out)
        }
    }
}

/// Ice Lake-SP's bank map (mcelog's `icelake` bank-type table).
fn icelake_unit(bank: u8) -> Option<Unit> {
    match bank {
        4 => Some(Unit::Pcu),
        5 | 7 | 8 => Some(Unit::Upi),
        12 | 16 | 20 | 24 => Some(Unit::M2m),
        13..=15 | 17..=19 | 21..=23 | 25..=27 => Some(Unit::Imc),
        _ => None,
    }
}

/// Ice Lake-D's (`icelake_de`): no UPI, two memory controllers.
fn icelake_d_unit(bank: u8) -> Option<Unit> {
    match bank {
        4 => Some(Unit::Pcu),
        12 | 16 => Some(Unit::M2m),
        13..=15 | 17..=19 => Some(Unit::Imc),
        _ => None,
    }
}

fn decode_sp(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    decode_with(icelake_unit(rec.bank), rec, out)
}

fn decode_d(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    decode_with(icelake_d_unit(rec.bank), rec, out)
}

/// i10nm_memerr_misc: memory controller (bank - 12) / 4, three channels each.
fn channel(bank: u8, cccc: u8) -> Option<u8> {
    match bank {
        12..=27 => Some((bank - 12) / 4 * 3 + cccc),
        _ => None,
    }
}

pub(super) static ICELAKE_SP: Model = Model {
    name: "Ice Lake-SP",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0x6a],
    decode: decode_sp,
    channel,
    mirror_banks: &[12, 16, 20, 24],
};

/// mcelog checks mirroring (i10nm_ce_type) for Ice Lake-SP only.
pub(super) static ICELAKE_D: Model = Model {
    name: "Ice Lake-D",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0x6c],
    decode: decode_d,
    channel,
    mirror_banks: &[],
};
