//! Skylake-SP / Cascade Lake-SP / Cooper Lake (display family 6, model 0x55),
//! as mcelog's Skylake-server decoder prints it. Facts from mcelog
//! (skylake_xeon.c) and the Intel SDM vol. 3B §16.9 (PCU, UPI, iMC and M2M
//! MC error code tables).
//!
//! Banks: 4 PCU; 5, 12, 19 UPI links; 7, 8 the mesh-to-memory units (M2M)
//! of the two memory controllers, naming the channel in the error code; 13-18
//! the per-channel iMC banks. Channels are numbered socket-wide 0-2 on iMC 0
//! and 3-5 on iMC 1. MISC has no DIMM field on this model.

use core::fmt::{self, Write};

use super::super::record::{CpuVendor, MceRecord};
use super::model::{bit, decode_bitfield, Field, Model, Names};

/// PCU MSCOD bits 31:24 (SDM "Machine Check Error Codes for IA32_MC4_STATUS").
static PCU: Names = Names(&[
    (0x00, 0x00, "No Error"),
    (0x0d, 0x0d, "MCA_DMI_TRAINING_TIMEOUT"),
    (0x0f, 0x0f, "MCA_DMI_CPU_RESET_ACK_TIMEOUT"),
    (0x10, 0x10, "MCA_MORE_THAN_ONE_LT_AGENT"),
    (0x1e, 0x1e, "MCA_BIOS_RST_CPL_INVALID_SEQ"),
    (0x1f, 0x1f, "MCA_BIOS_INVALID_PKG_STATE_CONFIG"),
    (0x25, 0x25, "MCA_MESSAGE_CHANNEL_TIMEOUT"),
    (0x27, 0x27, "MCA_MSGCH_PMREQ_CMP_TIMEOUT"),
    (0x30, 0x30, "MCA_PKGC_DIRECT_WAKE_RING_TIMEOUT"),
    (0x31, 0x31, "MCA_PKGC_INVALID_RSP_PCH"),
    (0x33, 0x33, "MCA_PKGC_WATCHDOG_HANG_CBZ_DOWN"),
    (0x34, 0x34, "MCA_PKGC_WATCHDOG_HANG_CBZ_UP"),
    (0x38, 0x38, "MCA_PKGC_WATCHDOG_HANG_C3_UP_SF"),
    (0x40, 0x40, "MCA_SVID_VCCIN_VR_ICC_MAX_FAILURE"),
    (0x41, 0x41, "MCA_SVID_COMMAND_TIMEOUT"),
    (0x42, 0x42, "MCA_SVID_VCCIN_VR_VOUT_FAILURE"),
    (0x43, 0x43, "MCA_SVID_CPU_VR_CAPABILITY_ERROR"),
    (0x44, 0x44, "MCA_SVID_CRITICAL_VR_FAILED"),
    (0x45, 0x45, "MCA_SVID_SA_ITD_ERROR"),
    (0x46, 0x46, "MCA_SVID_READ_REG_FAILED"),
    (0x47, 0x47, "MCA_SVID_WRITE_REG_FAILED"),
    (0x48, 0x48, "MCA_SVID_PKGC_INIT_FAILED"),
    (0x49, 0x49, "MCA_SVID_PKGC_CONFIG_FAILED"),
    (0x4a, 0x4a, "MCA_SVID_PKGC_REQUEST_FAILED"),
    (0x4b, 0x4b, "MCA_SVID_IMON_REQUEST_FAILED"),
    (0x4c, 0x4c, "MCA_SVID_ALERT_REQUEST_FAILED"),
    (0x4d, 0x4d, "MCA_SVID_MCP_VR_ABSENT_OR_RAMP_ERROR"),
    (0x4e, 0x4e, "MCA_SVID_UNEXPECTED_MCP_VR_DETECTED"),
    (0x51, 0x51, "MCA_FIVR_CATAS_OVERVOL_FAULT"),
    (0x52, 0x52, "MCA_FIVR_CATAS_OVERCUR_FAULT"),
    (0x58, 0x58, "MCA_WATCHDOG_TIMEOUT_PKGC_SLAVE"),
    (0x59, 0x59, "MCA_WATCHDOG_TIMEOUT_PKGC_MASTER"),
    (0x5a, 0x5a, "MCA_WATCHDOG_TIMEOUT_PKGS_MASTER"),
    (0x61, 0x61, "MCA_PKGS_CPD_UNCPD_TIMEOUT"),
    (0x63, 0x63, "MCA_PKGS_INVALID_REQ_PCH"),
    (0x64, 0x64, "MCA_PKGS_INVALID_REQ_INTERNAL"),
    (0x65, 0x65, "MCA_PKGS_INVALID_RSP_INTERNAL"),
    (0x6b, 0x6b, "MCA_PKGS_SMBUS_VPP_PAUSE_TIMEOUT"),
    (0x81, 0x81, "MCA_RECOVERABLE_DIE_THERMAL_TOO_HOT"),
]);
static PCU_FIELDS: [Field; 1] = [Field {
    start: 24,
    names: &PCU,
}];

/// UPI MSCOD bits 21:16.
static UPI: Names = Names(&[
    (0x00, 0x00, "UC Phy Initialization Failure"),
    (0x01, 0x01, "UC Phy detected drift buffer alarm"),
    (0x02, 0x02, "UC Phy detected latency buffer rollover"),
    (
        0x10,
        0x10,
        "UC LL Rx detected CRC error: unsuccessful LLR: entered abort state",
    ),
    (0x11, 0x11, "UC LL Rx unsupported or undefined packet"),
    (0x12, 0x12, "UC LL or Phy control error"),
    (0x13, 0x13, "UC LL Rx parameter exchange exception"),
    (
        0x1f,
        0x1f,
        "UC LL detected control error from the link-mesh interface",
    ),
    (0x20, 0x20, "COR Phy initialization abort"),
    (0x21, 0x21, "COR Phy reset"),
    (0x22, 0x22, "COR Phy lane failure, recovery in x8 width"),
    (0x23, 0x23, "COR Phy L0c error corrected without Phy reset"),
    (0x24, 0x24, "COR Phy L0c error triggering Phy Reset"),
    (
        0x25,
        0x25,
        "COR Phy L0p exit error corrected with Phy reset",
    ),
    (
        0x30,
        0x30,
        "COR LL Rx detected CRC error - successful LLR without Phy Reinit",
    ),
    (
        0x31,
        0x31,
        "COR LL Rx detected CRC error - successful LLR with Phy Reinit",
    ),
]);
static UPI_FIELDS: [Field; 1] = [Field {
    start: 16,
    names: &UPI,
}];

/// MSCOD bits 31:22 of UPI code 0x12 ("UC LL or Phy control error").
static UPI_0X12: [Field; 10] = [
    bit(22, flag!("Phy Control Error")),
    bit(23, flag!("Unexpected Retry.Ack flit")),
    bit(24, flag!("Unexpected Retry.Req flit")),
    bit(25, flag!("RF parity error")),
    bit(26, flag!("Routeback Table error")),
    bit(
        27,
        flag!("unexpected Tx Protocol flit (EOP, Header or Data)"),
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

/// iMC MSCOD with bit 27 clear: one status bit per condition.
static IMC_BITS: [Field; 11] = [
    bit(16, flag!("Address parity error")),
    bit(17, flag!("HA write data parity error")),
    bit(18, flag!("HA write byte enable parity error")),
    bit(19, flag!("Corrected patrol scrub error")),
    bit(20, flag!("Uncorrected patrol scrub error")),
    bit(21, flag!("Corrected spare error")),
    bit(22, flag!("Uncorrected spare error")),
    bit(23, flag!("Any HA read error")),
    bit(24, flag!("WDB read parity error")),
    bit(25, flag!("DDR4 command address parity error")),
    bit(26, flag!("Uncorrected address parity error")),
];

/// iMC MSCOD 0x08xx (bit 27 set): bits 19:16 enumerate.
static IMC_0X8XX: Names = Names(&[
    (0x0, 0x0, "Unrecognized request type"),
    (0x1, 0x1, "Read response to an invalid scoreboard entry"),
    (0x2, 0x2, "Unexpected read response"),
    (0x3, 0x3, "DDR4 completion to an invalid scoreboard entry"),
    (0x4, 0x4, "Completion to an invalid scoreboard entry"),
    (0x5, 0x5, "Completion FIFO overflow"),
    (0x6, 0x6, "Correctable parity error"),
    (0x7, 0x7, "Uncorrectable error"),
    (
        0x8,
        0x8,
        "Interrupt received while outstanding interrupt was not ACKed",
    ),
    (0x9, 0x9, "ERID FIFO overflow"),
    (0xa, 0xa, "Error on Write credits"),
    (0xb, 0xb, "Error on Read credits"),
    (0xc, 0xc, "Scheduler error"),
    (0xd, 0xd, "Error event"),
]);
static IMC_0X8XX_FIELDS: [Field; 1] = [Field {
    start: 16,
    names: &IMC_0X8XX,
}];

/// M2M MSCOD bits 23:16, one bit each (mcelog prints the SDM's short names).
static M2M_BITS: [Field; 8] = [
    bit(16, flag!("MscodDataRdErr")),
    bit(17, flag!("Reserved")),
    bit(18, flag!("MscodPtlWrErr")),
    bit(19, flag!("MscodFullWrErr")),
    bit(20, flag!("MscodBgfErr")),
    bit(21, flag!("MscodTimeout")),
    bit(22, flag!("MscodParErr")),
    bit(23, flag!("MscodBucket1Err")),
];

fn decode(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    let st = rec.status;
    match rec.bank {
        4 => {
            out.write_str("PCU: ")?;
            // The MCACOD without its filtering bit picks a heading.
            match st & 0xffff & !(1 << 12) {
                0x402 | 0x403 => out.write_str("Internal errors ")?,
                0x406 => out.write_str("Intel TXT errors ")?,
                0x407 => out.write_str("Other UBOX Internal errors ")?,
                _ => {}
            }
            if (st >> 16) & 0xf != 0 {
                out.write_str("PCU internal error ")?;
            }
            decode_bitfield(st, &PCU_FIELDS, out)
        }
        5 | 12 | 19 => {
            out.write_str("UPI: ")?;
            decode_bitfield(st, &UPI_FIELDS, out)?;
            if (st >> 16) & 0x3f == 0x12 {
                decode_bitfield(st, &UPI_0X12, out)?;
            }
            Ok(())
        }
        7 | 8 => {
            out.write_str("M2M: ")?;
            decode_bitfield(st, &M2M_BITS, out)
        }
        13..=18 => {
            out.write_str("MemCtrl: ")?;
            if st & (1 << 27) != 0 {
                decode_bitfield(st, &IMC_0X8XX_FIELDS, out)
            } else {
                decode_bitfield(st, &IMC_BITS, out)
            }
        }
        _ => Ok(()),
    }
}

/// mcelog's skylake_memerr_misc: M2M 1 (bank 8) serves channels 3-5; the
/// iMC banks are one channel each.
fn channel(bank: u8, cccc: u8) -> Option<u8> {
    match bank {
        7 => Some(cccc),
        8 => Some(cccc + 3),
        13 => Some(0),
        14 => Some(1),
        15 => Some(3),
        16 => Some(4),
        17 => Some(2),
        18 => Some(5),
        _ => None,
    }
}

pub(super) static SKYLAKE_SP: Model = Model {
    name: "Skylake-SP",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0x55],
    decode,
    channel,
    mirror_banks: &[7, 8],
};
