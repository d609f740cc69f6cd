//! Sapphire Rapids (display family 6, model 0x8F) and Emerald Rapids (0xCF),
//! as mcelog's 4th-generation Xeon decoder (sapphire.c) prints them.
//!
//! Sapphire Rapids banks: 4 PCU; 5 UPI; 12 M2M; 13-20 the eight DDR5
//! channels; 29 the HBM M2M and 30-31 the HBM channels (channels 8, 9). The
//! PCU's MSCOD bits 19:16 have their own meaning under MCACOD 0x40C.
//!
//! mcelog sends Emerald Rapids to the same decoder, which then decodes
//! nothing for it (its bank map is for Sapphire Rapids only); only the
//! channel of a memory error is derived, as for Sapphire Rapids.

use core::fmt::{self, Write};

use super::super::record::{CpuVendor, MceRecord};
use super::super::regs::{self, status};
use super::icx::{IMC_0, IMC_10, IMC_4, IMC_8, PCU_2, PCU_3, UPI_1};
use super::model::{bits, decode_bitfield, table, table_by_class, Model, Names};

/// PCU MSCOD bits 31:24: Ice Lake's names plus 0xC0.
static PCU_1: Names = pcu_1!((0xc0, 0xc0, "MCA_DISPATCHER_RUN_BUSY_TIMEOUT"),);

/// PCU MSCOD bits 19:16 under MCACOD 0x40C.
static PCU_4: Names = Names(&[
    (0x01, 0x01, "MCE when CR4.MCE is clear"),
    (0x02, 0x02, "MCE when MCIP bit is set"),
    (0x03, 0x03, "MCE under WPS"),
    (
        0x04,
        0x04,
        "Unrecoverable error during security flow execution",
    ),
    (0x05, 0x05, "SW triple fault shutdown"),
    (0x06, 0x06, "VMX exit consistency check failures"),
    (0x07, 0x07, "RSM consistency check failures"),
    (0x08, 0x08, "Invalid conditions on protected mode SMM entry"),
    (
        0x09,
        0x09,
        "Unrecoverable error during security flow execution",
    ),
]);

/// UPI MSCOD bits 21:16.
static UPI_2: Names = Names(&[
    (0x00, 0x00, "Phy Initialization Failure"),
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
    (0x15, 0x15, "UC LL Rx SGX MAC Error"),
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
]);

/// M2M MSCOD bits 23:16 (the table's 13 entries mask the value to 4 bits).
static M2M_0: Names = Names(&[
    (0x01, 0x01, "Read ECC error"),
    (0x02, 0x02, "Bucket1 error"),
    (0x03, 0x03, "RdTrkr Parity error"),
    (0x05, 0x05, "Prefetch channel mismatch"),
    (0x07, 0x07, "Read completion parity error"),
    (0x08, 0x08, "Response parity error"),
    (0x09, 0x09, "Timeout error"),
    (0x0a, 0x0a, "CMI reserved credit pool error"),
    (0x0b, 0x0b, "CMI total credit count error"),
    (0x0c, 0x0c, "CMI credit oversubscription error"),
]);

/// iMC MSCOD bits 23:16 when bits 31:24 are 0x01 (0x00 is Ice Lake's
/// table, the same in sapphire.c).
static IMC_1: Names = Names(&[
    (0x00, 0x00, "WDB read parity error"),
    (0x08, 0x08, "DDR link failure"),
]);

/// ... 0x02.
static IMC_2: Names = Names(&[(0x00, 0x00, "DDR5 command / address parity error")]);

fn pcu(st: u64, out: &mut dyn Write) -> fmt::Result {
    out.write_str("PCU: ")?;
    let f = bits(st, 24, 31);
    if f != 0 {
        table(f, &PCU_1, out)?;
    }
    let f = bits(st, 20, 23);
    if f != 0 {
        table(f, &PCU_2, out)?;
    }
    let f = bits(st, 16, 19);
    if f != 0 {
        table(
            f,
            if regs::mcacod(st) == 0x40c {
                &PCU_4
            } else {
                &PCU_3
            },
            out,
        )?;
    }
    Ok(())
}

/// The iMC MISC fields (sapphire_imc_misc); the HBM channels name a
/// second failed-device field and their read size instead of an ECC mode.
fn imc_misc(hbm: bool, st: u64, misc: u64, out: &mut dyn Write) -> fmt::Result {
    let column = bits(misc, 9, 18) << 2;
    let row = bits(misc, 19, 39);
    let bank = bits(misc, 39, 40);
    let bankgroup = bits(misc, 37, 38) | (bits(misc, 41, 41) << 2);
    let fdevice = bits(misc, 43, 48);
    let hbm_fdevice = bits(misc, 51, 55);
    let subrank = bits(misc, 52, 55);
    let rank = bits(misc, 56, 58);
    let eccmode = bits(misc, 59, 62);
    let transient = bits(misc, 63, 63) != 0;
    writeln!(
        out,
        "bank: 0x{bank:x} bankgroup: 0x{bankgroup:x} row: 0x{row:x} column: 0x{column:x}"
    )?;
    if !transient && st & status::UC == 0 {
        if hbm {
            writeln!(out, "failed device: 0x{hbm_fdevice:x},0x{fdevice:x}")?;
        } else {
            writeln!(out, "failed device: 0x{fdevice:x}")?;
        }
    }
    writeln!(out, "rank: 0x{rank:x} subrank: 0x{subrank:x}")?;
    if hbm {
        match eccmode {
            1 => out.write_str("HBM 64B read\n")?,
            9 => out.write_str("HBM 32B read\n")?,
            _ => {}
        }
    } else {
        out.write_str("ecc mode: ")?;
        out.write_str(match eccmode {
            0 => "SDDC 2LM memory mode\n",
            1 => "SDDC\n",
            2 => "SDDC+1 2LM memory mode\n",
            3 => "SDDC+1\n",
            4 => "ADDDC 2LM memory mode\n",
            5 => "ADDDC\n",
            6 => "ADDDC+1 2LM memory mode\n",
            7 => "ADDDC+1\n",
            8 => "DDRT read\n",
            _ => "unknown\n",
        })?;
    }
    if transient {
        out.write_str("transient\n")?;
    }
    Ok(())
}

fn decode(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    let st = rec.status;
    match rec.bank {
        4 => pcu(st, out),
        5 => {
            out.write_str("UPI: ")?;
            if bits(st, 22, 31) != 0 {
                decode_bitfield(st, &UPI_1, out)?;
            }
            table(bits(st, 16, 21), &UPI_2, out)
        }
        12 | 29 => {
            if rec.bank == 29 {
                out.write_str("HBM: ")?;
            }
            out.write_str("M2M: ")?;
            if bits(st, 24, 25) == 1 {
                out.write_str("HBM Error\n")?;
            }
            table(bits(st, 16, 23), &M2M_0, out)
        }
        13..=20 | 30 | 31 => {
            if rec.bank >= 30 {
                out.write_str("HBM: ")?;
            }
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
            )?;
            imc_misc(rec.bank >= 30, st, rec.misc, out)
        }
        _ => Ok(()),
    }
}

fn decode_nothing(_: &MceRecord, _: &mut dyn Write) -> fmt::Result {
    Ok(())
}

/// sapphire_memerr_misc: one bank per channel, the HBM ones after the DDR5.
fn channel(bank: u8, _cccc: u8) -> Option<u8> {
    match bank {
        13..=20 => Some(bank - 13),
        30 | 31 => Some(8 + bank - 30),
        _ => None,
    }
}

pub(super) static SAPPHIRE_RAPIDS: Model = Model {
    name: "Sapphire Rapids",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0x8f],
    decode,
    channel,
    mirror_banks: &[],
};

pub(super) static EMERALD_RAPIDS: Model = Model {
    name: "Emerald Rapids",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0xcf],
    decode: decode_nothing,
    channel,
    mirror_banks: &[],
};
