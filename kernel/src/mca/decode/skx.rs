//! Skylake-SP / Cascade Lake-SP / Cooper Lake (display family 6, model 0x55):
//! the memory units. Facts from the Intel SDM vol. 3B §16.9 (tables "Intel
//! IMC MC Error Codes for IA32_MCi_STATUS" and "M2M MC Error Codes"); the bank
//! to channel map and the mirroring bits follow mcelog's Skylake decoder.
//!
//! Banks 7 and 8 are the mesh-to-memory units (M2M, the home agents) of the
//! two memory controllers, each serving three channels and naming the channel
//! in the error code; banks 13-18 are the per-channel iMC banks. Channels are
//! numbered socket-wide 0-2 on iMC 0 and 3-5 on iMC 1. The iMC banks' MISC
//! has no DIMM or rank field on this model, so the DIMM stays unknown.

use super::super::record::CpuVendor;
use super::model::{Bank, Channel, Model, Mscod, Unit};

/// iMC MSCOD when bit 11 is clear: one bit per condition.
static IMC_FLAGS: Mscod = Mscod::Flags(&[
    (0, "Address parity error"),
    (1, "HA write data parity error"),
    (2, "HA write byte enable parity error"),
    (3, "Corrected patrol scrub error"),
    (4, "Uncorrected patrol scrub error"),
    (5, "Corrected spare error"),
    (6, "Uncorrected spare error"),
    (7, "Any HA read error"),
    (8, "WDB read parity error"),
    (9, "DDR4 command address parity error"),
    (10, "Uncorrected address parity error"),
]);

/// iMC MSCOD when bit 11 is set: an enumerated code.
static IMC_VALUES: Mscod = Mscod::Values(&[
    (0x0800, "Unrecognized request type"),
    (0x0801, "Read response to an invalid scoreboard entry"),
    (0x0802, "Unexpected read response"),
    (0x0803, "DDR4 completion to an invalid scoreboard entry"),
    (0x0804, "Completion to an invalid scoreboard entry"),
    (0x0805, "Completion FIFO overflow"),
    (0x0806, "Correctable parity error"),
    (0x0807, "Uncorrectable error"),
    (
        0x0808,
        "Interrupt received while outstanding interrupt was not ACKed",
    ),
    (0x0809, "ERID FIFO overflow"),
    (0x080a, "Error on Write credits"),
    (0x080b, "Error on Read credits"),
    (0x080c, "Scheduler error"),
    (0x080d, "Error event"),
]);

static IMC_MSCOD: Mscod = Mscod::Select {
    bit: 11,
    set: &IMC_VALUES,
    clear: &IMC_FLAGS,
};

static M2M_MSCOD: Mscod = Mscod::Flags(&[
    (0, "MscodDataRdErr (MC read data error)"),
    (1, "Reserved"),
    (2, "MscodPtlWrErr (MC partial write data error)"),
    (3, "MscodFullWrErr (full write data error)"),
    (4, "MscodBgfErr (M2M clock-domain-crossing buffer error)"),
    (5, "MscodTimeOut (M2M time out)"),
    (6, "MscodParErr (M2M tracker parity error)"),
    (7, "MscodBucket1Err (fatal Bucket1 error)"),
]);

static IMC: Unit = Unit {
    name: "MemCtrl",
    mscod: &IMC_MSCOD,
    first_error_device: true,
    mirror_misc: false,
};

static M2M: Unit = Unit {
    name: "M2M",
    mscod: &M2M_MSCOD,
    first_error_device: true,
    mirror_misc: true,
};

pub(super) static SKYLAKE_SP: Model = Model {
    name: "Skylake-SP",
    vendor: CpuVendor::Intel,
    family: 6,
    models: &[0x55],
    banks: &[
        Bank {
            bank: 7,
            unit: &M2M,
            channel: Channel::FromCode { offset: 0 },
        },
        Bank {
            bank: 8,
            unit: &M2M,
            channel: Channel::FromCode { offset: 3 },
        },
        Bank {
            bank: 13,
            unit: &IMC,
            channel: Channel::Fixed(0),
        },
        Bank {
            bank: 14,
            unit: &IMC,
            channel: Channel::Fixed(1),
        },
        Bank {
            bank: 15,
            unit: &IMC,
            channel: Channel::Fixed(3),
        },
        Bank {
            bank: 16,
            unit: &IMC,
            channel: Channel::Fixed(4),
        },
        Bank {
            bank: 17,
            unit: &IMC,
            channel: Channel::Fixed(2),
        },
        Bank {
            bank: 18,
            unit: &IMC,
            channel: Channel::Fixed(5),
        },
    ],
};
