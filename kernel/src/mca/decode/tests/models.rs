//! Model-specific lines, one group per mcelog decoder. The expected strings
//! are what mcelog prints for the same record, worked out from its sources
//! (each test names the function): its `decode_bitfield` joins names with
//! spaces, prints `<bit:hex>` for a non-zero value its table does not name,
//! masks a value to the table's size, and starts a new line past 75
//! characters; a unit prefix with nothing after it runs into mcelog's next
//! line, which we end instead.

use super::*;

use super::SKX_CPUID as SKX;
pub(super) const ICX: u32 = 0x0006_06a6;
pub(super) const ICX_D: u32 = 0x0006_06c1;
pub(super) const SPR: u32 = 0x0008_06f8;
pub(super) const EMR: u32 = 0x000c_06f2;
pub(super) const GNR_AP: u32 = 0x000a_06d1;
pub(super) const GNR_SP: u32 = 0x000a_06e1;

fn on(cpuid: u32, bank: u8, status: u64, misc: u64) -> MceRecord {
    MceRecord {
        bank,
        socketid: 1,
        cpuid,
        misc,
        ..record(status)
    }
}

fn ms(mscod: u64) -> u64 {
    mscod << 16
}

/// The record's lines from the one after the class line (and its
/// Transaction line) up to, not including, the first of our trailing lines.
fn model_lines(rec: &MceRecord) -> Vec<String> {
    let all = lines(rec);
    let mca = all.iter().position(|l| l.starts_with("MCA: ")).unwrap();
    // With the F bit the class follows on a line of its own.
    let start = if all[mca].starts_with("MCA: corrected filtering") {
        mca + 2
    } else {
        mca + 1
    };
    let start = match all.get(start) {
        Some(l) if l.starts_with("Transaction: ") || l.starts_with("BUS error") => start + 1,
        _ => start,
    };
    all[start..]
        .iter()
        .take_while(|l| {
            !l.starts_with("Corrected error count")
                && !l.starts_with("ADDR ")
                && !l.starts_with("MISC ")
                && !l.starts_with("TSC ")
                && !l.starts_with("RIP")
        })
        .cloned()
        .collect()
}

fn assert_model(rec: &MceRecord, want: &[&str]) {
    assert_eq!(model_lines(rec), want, "in:\n{}", decoded(rec));
}

#[test]
fn models_chosen_as_mcelogs_cputype_table() {
    let name = |cpuid| model::lookup(CpuVendor::Intel, cpuid).map(|m| m.name);
    assert_eq!(name(SKX), Some("Skylake-SP"));
    assert_eq!(name(0x0005_0657), Some("Skylake-SP")); // Cascade Lake
    assert_eq!(name(ICX), Some("Ice Lake-SP"));
    assert_eq!(name(ICX_D), Some("Ice Lake-D"));
    assert_eq!(name(SPR), Some("Sapphire Rapids"));
    assert_eq!(name(EMR), Some("Emerald Rapids"));
    assert_eq!(name(GNR_AP), Some("Granite Rapids"));
    assert_eq!(name(GNR_SP), Some("Granite Rapids"));
    assert_eq!(name(0x000a_06f3), None); // Sierra Forest: no decoder
    assert_eq!(name(0x0003_06f2), None); // Haswell-EP
    assert!(model::lookup(CpuVendor::Amd, SKX).is_none());
}

// skylake_s_decode_model (skylake_xeon.c), bank 4.
#[test]
fn skx_pcu() {
    let uc = VAL | UC | EN | PCC;
    assert_model(
        &on(SKX, 4, uc | ms(0x0d00) | 0x0402, 0),
        &["PCU: Internal errors MCA_DMI_TRAINING_TIMEOUT"],
    );
    // The F bit is ignored when choosing the heading; MSCOD bits 19:16 add
    // "PCU internal error"; bits 31:24 of 0 are named "No Error".
    assert_model(
        &on(SKX, 4, uc | ms(0x0005) | 0x1407, 0),
        &["PCU: Other UBOX Internal errors PCU internal error No Error"],
    );
    // A value past the table's end.
    assert_model(
        &on(SKX, 4, uc | ms(0x9000) | 0x0406, 0),
        &["PCU: Intel TXT errors <24:90>"],
    );
    assert!(!decoded(&on(SKX, 4, uc | ms(0x0d00) | 0x0402, 0)).contains("Model-specific"));
}

// skylake_s_decode_model, banks 5, 12, 19.
#[test]
fn skx_upi() {
    let st = VAL | EN | 0x0e0f;
    for bank in [5, 12, 19] {
        assert_model(
            &on(SKX, bank, st | ms(0x0030), 0),
            &["UPI: COR LL Rx detected CRC error - successful LLR without Phy Reinit"],
        );
    }
    // Code 0x12 adds its sub-bits on a line of their own.
    assert_model(
        &on(SKX, 12, st | ms(0x0252), 0),
        &[
            "UPI: UC LL or Phy control error",
            "Phy Control Error RF parity error",
        ],
    );
    // All ten sub-bits: wrapped past 75 characters as mcelog wraps.
    assert_model(
        &on(SKX, 19, st | ms(0xffd2), 0),
        &[
            "UPI: UC LL or Phy control error",
            "Phy Control Error Unexpected Retry.Ack flit Unexpected Retry.Req flit",
            "RF parity error Routeback Table error",
            "unexpected Tx Protocol flit (EOP, Header or Data)",
            "Rx Header-or-Credit BGF credit overflow/underflow",
            "Link Layer Reset still in progress when Phy enters L0",
            "Link Layer reset initiated while protocol traffic not idle",
            "Link Layer Tx Parity Error",
        ],
    );
    // Sub-bits are read only under code 0x12.
    assert_model(
        &on(SKX, 5, st | ms(0x0040), 0),
        &["UPI: UC Phy Initialization Failure"],
    );
}

// skylake_s_decode_model banks 7, 8; skylake_s_ce_type; skylake_memerr_misc.
#[test]
fn skx_m2m_and_mirroring() {
    let st = VAL | EN | MISCV | ms(0x0005) | 0x0091;
    let rec = on(SKX, 7, st, 1 << 62);
    assert_model(
        &rec,
        &[
            "M2M: MscodDataRdErr MscodPtlWrErr",
            "Location: SOCKET:1 CHANNEL:1 DIMM:? (Skylake-SP)",
        ],
    );
    assert_in_order(
        &lines(&rec),
        &[
            "MCi status:",
            "Corrected error by mirroring. Primary channel scrubbed successfully",
            "Error enabled",
        ],
    );
    let rec = on(SKX, 8, st, 1 << 63);
    assert_in_order(
        &lines(&rec),
        &[
            "Corrected error by mirroring with channel failover",
            "Location: SOCKET:1 CHANNEL:4 DIMM:? (Skylake-SP)",
        ],
    );
    // Without MISCV, or uncorrected, no mirroring; no M2M bits: the prefix
    // alone (mcelog runs its next line into it).
    let plain = on(SKX, 8, VAL | EN | 0x009f, 1 << 63);
    assert!(lines(&plain).contains(&String::from("Corrected error")));
    assert_model(&plain, &["M2M: "]);
    let uc = on(SKX, 7, VAL | UC | EN | MISCV | 0x0091, 1 << 63);
    assert!(!decoded(&uc).contains("mirroring"));
    // Other banks never say mirroring.
    assert!(!decoded(&on(SKX, 13, st, 1 << 63)).contains("mirroring"));
}

// skylake_s_decode_model banks 13-18 (memctrl_mc13 / mc_bits).
#[test]
fn skx_imc() {
    let st = VAL | EN | MISCV | ADDRV | 0x00c1;
    assert_model(
        &on(SKX, 14, st | ms(0x0008), 0x8c),
        &[
            "MemCtrl: Corrected patrol scrub error",
            "Location: SOCKET:1 CHANNEL:1 DIMM:? (Skylake-SP)",
        ],
    );
    assert_model(
        &on(SKX, 15, VAL | UC | EN | ms(0x0011) | 0x00c0, 0),
        &[
            "MemCtrl: Address parity error Uncorrected patrol scrub error",
            "Location: SOCKET:1 CHANNEL:3 DIMM:? (Skylake-SP)",
        ],
    );
    // Bit 27 (MSCOD bit 11): bits 19:16 enumerate.
    let uc = VAL | UC | EN | 0x0090;
    assert_model(
        &on(SKX, 13, uc | ms(0x0805), 0),
        &[
            "MemCtrl: Completion FIFO overflow",
            "Location: SOCKET:1 CHANNEL:0 DIMM:? (Skylake-SP)",
        ],
    );
    assert_model(
        &on(SKX, 17, uc | ms(0x0800), 0),
        &[
            "MemCtrl: Unrecognized request type",
            "Location: SOCKET:1 CHANNEL:2 DIMM:? (Skylake-SP)",
        ],
    );
    assert_model(
        &on(SKX, 18, uc | ms(0x080f), 0),
        &[
            "MemCtrl: <16:f>",
            "Location: SOCKET:1 CHANNEL:5 DIMM:? (Skylake-SP)",
        ],
    );
    // Channel 0xf: no location; a non-memory code: none either.
    assert_model(
        &on(SKX, 16, VAL | EN | ms(0x0008) | 0x009f, 0),
        &["MemCtrl: Corrected patrol scrub error"],
    );
    assert_model(
        &on(SKX, 16, VAL | EN | ms(0x0001) | 0x0405, 0),
        &["MemCtrl: Address parity error"],
    );
    // Banks without a unit: the raw MSCOD, our own line.
    assert_model(
        &on(SKX, 1, VAL | EN | ms(0x0008) | 0x0150, 0),
        &["Model-specific error code 0x0008"],
    );
}

/// An Ice Lake / Sapphire Rapids style MISC built from its fields.
#[allow(clippy::too_many_arguments)]
fn icx_misc(
    col: u64,
    row: u64,
    bg: u64,
    bank: u64,
    fdev: u64,
    sub: u64,
    rank: u64,
    ecc: u64,
) -> u64 {
    (col << 9)
        | (row << 19)
        | ((bg & 3) << 40)
        | (bank << 42)
        | ((bg >> 2) << 44)
        | (fdev << 46)
        | (sub << 52)
        | (rank << 56)
        | (ecc << 59)
}

// i10nm_decode_model (i10nm.c), BT_PCU and BT_UPI of the icelake table.
#[test]
fn icx_pcu_and_upi() {
    let uc = VAL | UC | EN | PCC | 0x0402;
    assert_model(
        &on(ICX, 4, uc | ms(0x7053), 0),
        &[
            "PCU: MCA_PKGS_RESET_PREP_TIMEOUT",
            "SMBus controller raised SMI",
            "Invalid OpCode seen",
        ],
    );
    assert_model(&on(ICX, 4, uc | ms(0xc000), 0), &["PCU: <0:c0>"]);
    // 8 masked to pcu_3's three bits is 0, which names nothing.
    assert_model(&on(ICX, 4, uc | ms(0x0008), 0), &["PCU: "]);
    let st = VAL | EN | 0x0e0f;
    for bank in [5, 7, 8] {
        assert_model(
            &on(ICX, bank, st | ms(0x0032), 0),
            &["UPI: Tx received LLR"],
        );
    }
    assert_model(
        &on(ICX, 8, st | ms(0x0092), 0),
        &["UPI: Unexpected Retry.Ack flit", "LL or Phy Control Error"],
    );
    // Ice Lake-D has no UPI banks.
    assert_model(
        &on(ICX_D, 5, st | ms(0x0030), 0),
        &["Model-specific error code 0x0030"],
    );
}

// i10nm_decode_model BT_M2M; i10nm_ce_type; i10nm_memerr_misc.
#[test]
fn icx_m2m() {
    let st = VAL | EN | MISCV | ms(0x0921) | 0x0090;
    let rec = on(ICX, 16, st, 1 << 63);
    assert_model(
        &rec,
        &[
            "M2M: MscodDDRType=0x1",
            "MscodMiscErrs=0x2",
            "MC read data error M2M time out",
            "Location: SOCKET:1 CHANNEL:3 DIMM:? (Ice Lake-SP)",
        ],
    );
    assert!(lines(&rec).contains(&String::from(
        "Corrected error by mirroring with channel failover"
    )));
    // Ice Lake-D: same M2M lines, mcelog checks no mirroring there.
    let d = on(ICX_D, 16, st, 1 << 63);
    assert!(lines(&d).contains(&String::from("Corrected error")));
    assert_model(
        &d,
        &[
            "M2M: MscodDDRType=0x1",
            "MscodMiscErrs=0x2",
            "MC read data error M2M time out",
            "Location: SOCKET:1 CHANNEL:3 DIMM:? (Ice Lake-D)",
        ],
    );
}

// i10nm_decode_model BT_IMC and i10nm_imc_misc.
#[test]
fn icx_imc() {
    let misc = icx_misc(0x15, 0x1234, 6, 3, 0x11, 2, 5, 4);
    assert_model(
        &on(ICX, 22, VAL | EN | MISCV | ms(0x0008) | 0x00c2, misc),
        &[
            "MemCtrl: Corrected patrol scrub error",
            "bank: 0x3 bankgroup: 0x6 row: 0x1234 column: 0x54",
            "failed device: 0x11",
            "rank: 0x5 subrank: 0x2",
            "ecc mode: ADDDC memory mode",
            "Location: SOCKET:1 CHANNEL:8 DIMM:? (Ice Lake-SP)",
        ],
    );
    // Uncorrected and transient: no failed device.
    assert_model(
        &on(
            ICX,
            13,
            VAL | UC | EN | ms(0x00a0) | 0x009f,
            (1 << 63) | (9 << 59),
        ),
        &[
            "MemCtrl: Uncorrected read error",
            "bank: 0x0 bankgroup: 0x0 row: 0x0 column: 0x0",
            "rank: 0x0 subrank: 0x0",
            "ecc mode: unknown",
            "transient",
        ],
    );
    // An MSCOD class without a table: mcelog's MISC line follows the prefix.
    assert_model(
        &on(ICX, 27, VAL | EN | ms(0x0300) | 0x009f, 0),
        &[
            "MemCtrl: bank: 0x0 bankgroup: 0x0 row: 0x0 column: 0x0",
            "failed device: 0x0",
            "rank: 0x0 subrank: 0x0",
            "ecc mode: SDDC memory mode",
        ],
    );
    assert_model(
        &on(ICX, 18, VAL | EN | ms(0x1080) | 0x009f, 1 << 59),
        &[
            "MemCtrl: HA_RD_MIRR2ND_ERR",
            "bank: 0x0 bankgroup: 0x0 row: 0x0 column: 0x0",
            "failed device: 0x0",
            "rank: 0x0 subrank: 0x0",
            "ecc mode: SDDC",
        ],
    );
}

// sapphire_decode_model (sapphire.c) BT_PCU, BT_UPI, BT_M2M, BT_HBMM2M.
#[test]
fn spr_pcu_upi_m2m() {
    let uc = VAL | UC | EN | PCC;
    assert_model(
        &on(SPR, 4, uc | ms(0xc002) | 0x040c, 0),
        &[
            "PCU: MCA_DISPATCHER_RUN_BUSY_TIMEOUT",
            "MCE when MCIP bit is set",
        ],
    );
    assert_model(
        &on(SPR, 4, uc | ms(0x0002) | 0x0402, 0),
        &["PCU: Double bit RAM error on Instruction Fetch"],
    );
    let st = VAL | EN | 0x0e0f;
    assert_model(
        &on(SPR, 5, st | ms(0x0015), 0),
        &["UPI: UC LL Rx SGX MAC Error"],
    );
    assert_model(&on(SPR, 5, st, 0), &["UPI: Phy Initialization Failure"]);
    // M2M: 0x11 masked to the table's four bits is 1.
    assert_model(
        &on(SPR, 12, VAL | UC | EN | ms(0x0111) | 0x0405, 0),
        &["M2M: HBM Error", "Read ECC error"],
    );
    assert_model(
        &on(SPR, 29, VAL | UC | EN | ms(0x0009) | 0x0405, 0),
        &["HBM: M2M: Timeout error"],
    );
}

// sapphire_decode_model BT_IMC / BT_HBMIMC, sapphire_imc_misc,
// sapphire_memerr_misc.
#[test]
fn spr_imc_and_hbm() {
    let misc = (0x15 << 9) | (0x123 << 19) | (0x2a << 43) | (3 << 56) | (5 << 59);
    assert_model(
        &on(SPR, 15, VAL | EN | MISCV | ms(0x0200) | 0x0090, misc),
        &[
            "MemCtrl: DDR5 command / address parity error",
            "bank: 0x0 bankgroup: 0x0 row: 0x123 column: 0x54",
            "failed device: 0x2a",
            "rank: 0x3 subrank: 0x0",
            "ecc mode: ADDDC",
            "Location: SOCKET:1 CHANNEL:2 DIMM:? (Sapphire Rapids)",
        ],
    );
    let misc = (9 << 59) | (3 << 51);
    assert_model(
        &on(SPR, 31, VAL | EN | MISCV | ms(0x0010) | 0x0090, misc),
        &[
            "HBM: MemCtrl: Uncorrected patrol scrub error",
            "bank: 0x0 bankgroup: 0x0 row: 0x0 column: 0x0",
            "failed device: 0x3,0x0",
            "rank: 0x0 subrank: 0x1",
            "HBM 32B read",
            "Location: SOCKET:1 CHANNEL:9 DIMM:? (Sapphire Rapids)",
        ],
    );
}

// p4.c sends Emerald Rapids to sapphire_decode_model, whose bank map is for
// Sapphire Rapids only: no unit lines, but sapphire_memerr_misc's channel.
#[test]
fn emr_channel_only() {
    assert_model(
        &on(EMR, 4, VAL | UC | EN | PCC | ms(0xc002) | 0x040c, 0),
        &["Model-specific error code 0xc002"],
    );
    assert_model(
        &on(EMR, 13, VAL | EN | ms(0x0008) | 0x00c0, 0),
        &[
            "Location: SOCKET:1 CHANNEL:0 DIMM:? (Emerald Rapids)",
            "Model-specific error code 0x0008",
        ],
    );
}

// granite_decode_model (granite.c) banks 5, 6, 12.
#[test]
fn gnr_upi_punit_b2cmi() {
    let st = VAL | UC | EN | 0x0e0f;
    assert_model(
        &on(GNR_AP, 5, st | ms(0x0014), 0),
        &["UPI: UC LL TDX Failure"],
    );
    // 0x40 masked to the table's six bits is 0.
    assert_model(
        &on(GNR_SP, 5, st | ms(0x0040), 0),
        &["UPI: UC Phy Initialization Failure (NumInit)"],
    );
    // A name longer than 75 characters starts on a new line even when it is
    // the first of its field list: mcelog leaves an empty line.
    assert_model(
        &on(GNR_AP, 6, VAL | UC | EN | PCC | ms(0x4c10) | 0x0402, 0),
        &[
            "Punit: Power Management Unit microcontroller TeleSRAM double-bit ECC error",
            "",
            "MCA_HPM_DOUBLE_BIT_ERROR_DETECTED: Read from HPM SRAM resulted in Double bit error",
        ],
    );
    assert_model(
        &on(GNR_AP, 6, VAL | UC | EN | PCC | ms(0x0300) | 0x0402, 0),
        &["Punit: <0:3>"],
    );
    assert_model(
        &on(GNR_AP, 12, VAL | UC | EN | ms(0x000d) | 0x0405, 0),
        &["B2CMI: SAI mismatch error"],
    );
}

// granite_decode_model banks 13-24, granite_imc_misc, granite_memerr_misc.
#[test]
fn gnr_mcchan() {
    let misc = (0x15 << 9)
        | (0x2345 << 19)
        | (2 << 37)
        | (5 << 39)
        | (7 << 43)
        | (3 << 51)
        | (4 << 55)
        | (8 << 58);
    let other_info_1 = 1 << 33;
    let st = VAL | EN | MISCV | ms(0x2003) | 0x0090;
    assert_model(
        &on(GNR_AP, 20, st | other_info_1, misc),
        &[
            "MCCHAN: CMI Uncorr/Corr ECC error on sCH1",
            "bank: 0x2 bankgroup: 0x5 row: 0x2345 column: 0x54",
            "failed device: 0x7",
            "chipselect: 0x4 subrank: 0x3",
            "ecc mode: 9x4 61b 1LM",
            "Location: SOCKET:1 CHANNEL:7 DIMM:? (Granite Rapids)",
        ],
    );
    // MISC is read only with other-info bit 1.
    assert_model(
        &on(GNR_AP, 20, st, misc),
        &[
            "MCCHAN: CMI Uncorr/Corr ECC error on sCH1",
            "Location: SOCKET:1 CHANNEL:7 DIMM:? (Granite Rapids)",
        ],
    );
    // MSCOD 0x800-0x82f: never; 0x10 is not in the 0x8xx table.
    assert_model(
        &on(
            GNR_AP,
            24,
            VAL | EN | MISCV | other_info_1 | ms(0x0810) | 0x009f,
            misc,
        ),
        &["MCCHAN: <0:10>"],
    );
}
