//! Granite Rapids (display family 6, models 0xAD, 0xAE), as mcelog's
//! Granite Rapids decoder (granite.c) prints it.
//!
//! Banks: 5 UPI; 6 Punit (power management); 12 B2CMI (the mesh-to-memory
//! bridge); 13-24 the twelve memory channels (MCCHAN), one bank each. The
//! channel MISC is decoded only when MISCV and MCi_STATUS bit 33 (other
//! info bit 1) are both set, and never for MSCOD 0x800-0x82f.

use core::fmt::{self, Write};

use super::super::record::{CpuVendor, MceRecord};
use super::super::regs::{self, status};
use super::model::{bits, table, table_by_class, Model, Names};

/// UPI MSCOD (the table's length masks the value to bits 21:16).
static UPI_2: Names = Names(&[
    (0x00, 0x00, "UC Phy Initialization Failure (NumInit)"),
    (0x01, 0x01, "UC Phy Detected Drift Buffer Alarm"),
    (0x02, 0x02, "UC Phy Detected Latency Buffer Rollover"),
    (
        0x10,
        0x10,
        "UC LL Rx detected CRC error: unsuccessful LLR (entered Abort state)",
    ),
    (0x11, 0x11, "UC LL Rx Unsupported/Undefined packet"),
    (0x12, 0x12, "UC LL or Phy Control Error"),
    (0x13, 0x13, "UC LL Rx Parameter Exception"),
    (0x14, 0x14, "UC LL TDX Failure"),
    (0x15, 0x15, "UC LL SGX Failure"),
    (0x16, 0x16, "UC LL Tx SDC Parity Error"),
    (0x17, 0x17, "UC LL Rx SDC Parity Error"),
    (0x18, 0x18, "UC LL FLE Failure"),
    (0x1f, 0x1f, "UC LL Detected Control Error"),
    (0x20, 0x20, "COR Phy Initialization Abort"),
    (0x21, 0x21, "COR Phy Inband Reset"),
    (0x22, 0x22, "COR Phy Lane failure, recovery in x8 width"),
    (0x23, 0x23, "COR Phy L0c error corrected without Phy reset"),
    (0x24, 0x24, "COR Phy L0c error triggering Phy reset"),
    (0x25, 0x25, "COR Phy L0p exit error corrected with reset"),
    (
        0x30,
        0x30,
        "COR LL Rx detected CRC error: successful LLR without Phy Reinit",
    ),
    (
        0x31,
        0x31,
        "COR LL Rx detected CRC error: successful LLR with Phy Reinit",
    ),
]);

/// Punit MSCOD bits 23:16.
static PUNIT_1: Names = Names(&[
    (
        0x02,
        0x03,
        "Power Management Unit microcontroller double-bit ECC error",
    ),
    (0x08, 0x09, "Power Management Unit microcontroller error"),
    (
        0x0a,
        0x0a,
        "Power Management Unit microcontroller patch load error",
    ),
    (
        0x0b,
        0x0b,
        "Power Management Unit microcontroller POReqValid error",
    ),
    (
        0x10,
        0x10,
        "Power Management Unit microcontroller TeleSRAM double-bit ECC error",
    ),
    (0x20, 0x20, "Power Management Agent signaled error"),
    (0x80, 0x80, "S3M signaled error"),
    (
        0xa0,
        0xa0,
        "Power Management Unit HPMSRAM double-bit ECC error detected",
    ),
    (
        0xb0,
        0xb0,
        "Power Management Unit TPMISRAM double-bit ECC error detected",
    ),
]);

/// Punit MSCOD bits 31:24.
static PUNIT_2: Names = Names(&[
    (
        0x09,
        0x09,
        "MCA_TSC_DOWNLOAD_TIMEOUT: TSC download timed out",
    ),
    (
        0x0b,
        0x0b,
        "MCA_GPSB_TIMEOUT: GPSB does not respond within timeout value",
    ),
    (
        0x0c,
        0x0c,
        "MCA_PMSB_TIMEOUT: PMSB does not respond within timeout value",
    ),
    (0x10, 0x10, "MCA_PMAX_CALIB_ERROR: PMAX calibration error"),
    (
        0x1a,
        0x1a,
        "MCA_DISP_RUN_BUSY_TIMEOUT: Dispatcher busy beyond timeout",
    ),
    (
        0x1d,
        0x1d,
        "MCA_MORE_THAN_ONE_LT_AGENT: During Boot Mode Processing, >1 LT Agent detected",
    ),
    (0x23, 0x23, "MCA_PCU_SVID_ERROR: SVID error"),
    (
        0x35,
        0x35,
        "MCA_SVID_LOADLINE_INVALID: Invalid SVID VCCIN Loadline resistance value",
    ),
    (
        0x36,
        0x36,
        "MCA_SVID_ICCMAX_INVALID: Invalid SVID ICCMAX value",
    ),
    (
        0x40,
        0x40,
        "MCA_SVID_VIDMAX_INVALID: Invalid SVID VID_MAX value",
    ),
    (
        0x41,
        0x41,
        "MCA_SVID_VDDRAMP_INVALID: Invalid ramp voltage for VDD_RAMP",
    ),
    (
        0x48,
        0x48,
        "MCA_ITD_FUSE_INVALID: ITD fuse settings are not valid",
    ),
    (
        0x49,
        0x49,
        "MCA_SVID_DC_LL_INVALID: ITD fuse settings are not valid",
    ),
    (
        0x4a,
        0x4a,
        "MCA_FIVR_PD_HARDERR: PM event has issued some FIVR Fault",
    ),
    (
        0x4c,
        0x4c,
        "MCA_HPM_DOUBLE_BIT_ERROR_DETECTED: Read from HPM SRAM resulted in Double bit error",
    ),
    (
        0x56,
        0x56,
        "SVID_ACTIVE_VID_FUSE_ERROR: Invaid fuse values programmed for SVID Active vid",
    ),
]);

/// B2CMI MSCOD (the table's length masks the value to bits 19:16).
static B2CMI_1: Names = Names(&[
    (0x01, 0x01, "Read ECC error"),
    (0x02, 0x02, "Bucket1 error"),
    (0x03, 0x03, "Tracker Parity error"),
    (0x04, 0x04, "Security mismatch"),
    (0x07, 0x07, "Read completion parity error"),
    (0x08, 0x08, "Response parity error"),
    (0x09, 0x09, "Timeout error"),
    (0x0a, 0x0a, "Address parity error"),
    (0x0c, 0x0c, "CMI credit over subscription error"),
    (0x0d, 0x0d, "SAI mismatch error"),
]);

/// MCCHAN MSCOD bits 23:16 when bits 31:24 are 0.
static MCCHAN_0: Names = Names(&[
    (0x01, 0x01, "Address Parity Error (APPP)"),
    (0x02, 0x02, "CMI Wr data parity Error on sCH0"),
    (0x03, 0x03, "CMI Uncorr/Corr ECC error on sCH0"),
    (0x04, 0x04, "CMI Wr BE parity Error on sCH0"),
    (0x05, 0x05, "CMI Wr MAC parity Error on sCH0"),
    (0x08, 0x08, "Corr Patrol Scrub Error"),
    (0x10, 0x10, "UnCorr Patrol Scrub Error"),
    (0x20, 0x20, "Corr Spare Error"),
    (0x40, 0x40, "UnCorr Spare Error"),
    (
        0x80,
        0x80,
        "Transient or Correctable Error for Demand or Underfill Reads",
    ),
    (
        0xa0,
        0xa0,
        "Uncorrectable Error for Demand or Underfill Reads",
    ),
    (
        0xb0,
        0xb0,
        "Poison was read from memory when poison was disabled in memory controller",
    ),
    (0xc0, 0xc0, "Read 2LM MetaData Error"),
]);

/// ... 1.
static MCCHAN_1: Names = Names(&[
    (0x00, 0x00, "WDB Read Parity Error on sCH0"),
    (0x02, 0x02, "WDB Read Uncorr/Corr ECC Error on sCH0"),
    (0x04, 0x04, "WDB BE Read Parity Error on sCH0"),
    (0x06, 0x06, "WDB Read Persistent Corr ECC Error on sCH0"),
    (0x08, 0x08, "DDR Link Fail"),
    (0x09, 0x09, "Illegal incoming opcode"),
]);

/// ... 2.
static MCCHAN_2: Names = Names(&[(0x00, 0x00, "DDR CAParity or WrCRC Error")]);

/// ... 4.
static MCCHAN_4: Names = Names(&[(0x00, 0x00, "Scheduler address parity error")]);

/// ... 8.
static MCCHAN_8: Names = Names(&[
    (0x32, 0x32, "MC Internal Errors"),
    (0x33, 0x33, "MCTracker Address RF parity error"),
]);

/// ... 32 (sub-channel 1).
static MCCHAN_32: Names = Names(&[
    (0x02, 0x02, "CMI Wr data parity Error on sCH1"),
    (0x03, 0x03, "CMI Uncorr/Corr ECC error on sCH1"),
    (0x04, 0x04, "CMI Wr BE parity Error on sCH1"),
    (0x05, 0x05, "CMI Wr MAC parity Error on sCH1"),
]);

/// ... 33 (sub-channel 1).
static MCCHAN_33: Names = Names(&[
    (0x00, 0x00, "WDB Read Parity Error on sCH1"),
    (0x02, 0x02, "WDB Read Uncorr/Corr ECC Error on sCH1"),
    (0x04, 0x04, "WDB BE Read Parity Error on sCH1"),
    (0x06, 0x06, "WDB Read Persistent Corr ECC Error on sCH1"),
]);

/// The channel MISC fields (granite_imc_misc).
fn imc_misc(st: u64, misc: u64, out: &mut dyn Write) -> fmt::Result {
    let mscod = u64::from(regs::mscod(st));
    if (0x800..=0x82f).contains(&mscod) {
        return Ok(());
    }
    let column = bits(misc, 9, 18) << 2;
    let row = bits(misc, 19, 36);
    let bank = bits(misc, 37, 38);
    let bankgroup = bits(misc, 39, 41);
    let fdevice = bits(misc, 43, 48);
    let subrank = bits(misc, 51, 54);
    let chipselect = bits(misc, 55, 57);
    let eccmode = bits(misc, 58, 61);
    let transient = bits(misc, 63, 63) != 0;
    writeln!(
        out,
        "bank: 0x{bank:x} bankgroup: 0x{bankgroup:x} row: 0x{row:x} column: 0x{column:x}"
    )?;
    if !transient {
        writeln!(out, "failed device: 0x{fdevice:x}")?;
    }
    writeln!(out, "chipselect: 0x{chipselect:x} subrank: 0x{subrank:x}")?;
    out.write_str("ecc mode: ")?;
    out.write_str(match eccmode {
        1 => "SDDC 128b 1LM\n",
        2 => "SDDC 125b 1LM\n",
        3 => "SDDC 96b 1LM\n",
        4 => "SDDC 96b 2LM\n",
        5 => "ADDDC 80b 1LM\n",
        6 => "ADDDC 80b 2LM\n",
        7 => "ADDDC 64b 1LM\n",
        8 => "9x4 61b 1LM\n",
        9 => "9x4 32b 1LM\n",
        10 => "9x4 32b 2LM\n",
        _ => "Invalid/unknown ECC mode\n",
    })?;
    if transient {
        out.write_str("transient\n")?;
    }
    Ok(())
}

fn decode(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    let st = rec.status;
    match rec.bank {
        5 => {
            out.write_str("UPI: ")?;
            table(u64::from(regs::mscod(st)), &UPI_2, out)
        }
        6 => {
            out.write_str("Punit: ")?;
            table(bits(st, 16, 23), &PUNIT_1, out)?;
            table(bits(st, 24, 31), &PUNIT_2, out)
        }
        12 => {
            out.write_str("B2CMI: ")?;
            table(u64::from(regs::mscod(st)), &B2CMI_1, out)
        }
        13..=24 => {
            out.write_str("MCCHAN: ")?;
            table_by_class(
                st,
                &[
                    (0, &MCCHAN_0),
                    (1, &MCCHAN_1),
                    (2, &MCCHAN_2),
                    (4, &MCCHAN_4),
                    (8, &MCCHAN_8),
                    (32, &MCCHAN_32),
                    (33, &MCCHAN_33),
                ],
                out,
            )?;
            // MISCV and other-info bit 1 say MISC holds the DRAM address.
            if st & status::MISCV != 0 && bits(st, 33, 33) != 0 {
                imc_misc(st, rec.misc, out)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// granite_memerr_misc: one bank per channel.
fn channel(bank: u8, _cccc: u8) -> Option<u8> {
    match bank {
        13..=24 => Some(bank - 13),
        _ => None,
    }
}

pub(super) static GRANITE_RAPIDS: Model = Model {
    name: "Granite Rapids",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0xad, 0xae],
    decode,
    channel,
    mirror_banks: &[],
};
