//! AMD Scalable MCA bank types: what MCA_IPID says a bank belongs to. The
//! hardware id (bits 43:32) names the IP block and the MCA type (bits 63:48)
//! its kind; the pairs and names are the ones Linux uses
//! (`smca_hwid_mcatypes` in mce/amd.c, `smca_names` in drivers/edac/mce_amd.c,
//! from the AMD PPRs).

/// The HardwareID of a Unified Memory Controller bank (Linux `HWID_UMC`).
pub const HWID_UMC: u16 = 0x96;

/// MCA_IPID HardwareID, bits 43:32.
pub const fn hwid(ipid: u64) -> u16 {
    ((ipid >> 32) & 0xfff) as u16
}

/// MCA_IPID McaType, bits 63:48.
pub const fn mcatype(ipid: u64) -> u16 {
    (ipid >> 48) as u16
}

/// MCA_IPID InstanceId, bits 31:0: which of several like banks (e.g. UMC 0-11).
pub const fn instance(ipid: u64) -> u32 {
    ipid as u32
}

/// MCA_CONFIG bits (AMD PPR).
pub mod config {
    /// McaX (bit 32): the OS acknowledges it uses the SMCA registers and
    /// handles deferred errors; without it the CPU turns uncorrected errors
    /// into a shutdown (Linux sets it in `smca_configure`).
    pub const MCAX: u64 = 1 << 32;
    /// LsbInStatusSupported (bit 8): the address LSB is in MCA_STATUS[29:24]
    /// rather than in MCA_ADDR[61:56].
    pub const LSB_IN_STATUS: u64 = 1 << 8;
}

/// The error address of an SMCA MCA_ADDR value: MCA_ADDR carries the lowest
/// valid bit in bits 61:56 above a 56-bit address, or, when `lsb_in_status`,
/// MCA_STATUS[29:24] gives it and the address has 57 bits (as Linux's
/// `smca_extract_err_addr`).
pub const fn error_addr(addr: u64, status: u64, lsb_in_status: bool) -> u64 {
    let (lsb, top) = if lsb_in_status {
        ((status >> 24) & 0x3f, 56)
    } else {
        ((addr >> 56) & 0x3f, 55)
    };
    let lsb = if lsb > top { top } else { lsb };
    // Bits top..=lsb.
    let mask = (u64::MAX >> (63 - top)) & !((1u64 << lsb) - 1);
    addr & mask
}

/// A bank type: its short name (as Linux's sysfs and mcelog print it) and
/// the unit's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankType {
    pub short: &'static str,
    pub name: &'static str,
}

const fn t(short: &'static str, name: &'static str) -> BankType {
    BankType { short, name }
}

/// (HWID, MCATYPE) -> bank type.
#[rustfmt::skip]
static TYPES: &[(u16, u16, BankType)] = &[
    // Zen core (HWID 0xB0).
    (0xb0, 0x0, t("LS", "Load Store Unit")),
    (0xb0, 0x10, t("LS", "Load Store Unit")),
    (0xb0, 0x1, t("IF", "Instruction Fetch Unit")),
    (0xb0, 0x2, t("L2", "L2 Cache")),
    (0xb0, 0x3, t("DE", "Decode Unit")),
    // MCA type 4 of the core is reserved.
    (0xb0, 0x5, t("EX", "Execution Unit")),
    (0xb0, 0x6, t("FP", "Floating Point Unit")),
    (0xb0, 0x7, t("L3", "L3 Cache")),
    // Data fabric.
    (0x2e, 0x0, t("CS", "Coherent Slave")),
    (0x2e, 0x1, t("PIE", "Power, Interrupts, etc.")),
    (0x2e, 0x2, t("CS", "Coherent Slave")),
    (0x2e, 0x4, t("MA_LLC", "Memory Attached Last Level Cache")),
    (HWID_UMC, 0x0, t("UMC", "Unified Memory Controller")),
    (HWID_UMC, 0x1, t("UMC", "Unified Memory Controller")),
    (0x05, 0x0, t("PB", "Parameter Block")),
    (0xff, 0x0, t("PSP", "Platform Security Processor")),
    (0xff, 0x1, t("PSP", "Platform Security Processor")),
    (0x01, 0x0, t("SMU", "System Management Unit")),
    (0x01, 0x1, t("SMU", "System Management Unit")),
    (0x01, 0x2, t("MP5", "Microprocessor 5 Unit")),
    (0x01, 0x3, t("MPDMA", "MPDMA Unit")),
    (0x18, 0x0, t("NBIO", "Northbridge IO Unit")),
    (0x46, 0x0, t("PCIE", "PCI Express Unit")),
    (0x46, 0x1, t("PCIE", "PCI Express Unit")),
    (0x50, 0x0, t("XGMI_PCS", "Ext Global Memory Interconnect PCS Unit")),
    (0x6c, 0x0, t("NBIF", "NBIF Unit")),
    (0x80, 0x0, t("SHUB", "System Hub Unit")),
    (0xa8, 0x0, t("SATA", "SATA Unit")),
    (0xaa, 0x0, t("USB", "USB Unit")),
    (0x170, 0x0, t("USR_DP", "Ultra Short Reach Data Plane Controller")),
    (0x180, 0x0, t("USR_CP", "Ultra Short Reach Control Plane Controller")),
    (0x241, 0x0, t("GMI_PCS", "Global Memory Interconnect PCS Unit")),
    (0x259, 0x0, t("XGMI_PHY", "Ext Global Memory Interconnect PHY Unit")),
    (0x267, 0x0, t("WAFL_PHY", "WAFL PHY Unit")),
    (0x269, 0x0, t("GMI_PHY", "Global Memory Interconnect PHY Unit")),
];

/// The bank type MCA_IPID names, `None` for an IPID of 0 (a legacy bank, or
/// an SMCA bank not implemented) and for pairs no PPR defines.
pub fn bank_type(ipid: u64) -> Option<BankType> {
    let (h, m) = (hwid(ipid), mcatype(ipid));
    TYPES
        .iter()
        .find(|&&(th, tm, _)| th == h && tm == m && h != 0)
        .map(|&(_, _, bt)| bt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipid(hwid: u64, mcatype: u64, instance: u64) -> u64 {
        mcatype << 48 | hwid << 32 | instance
    }

    #[test]
    fn names_from_hwid_and_mcatype() {
        #[rustfmt::skip]
        let cases = [
            (0xb0, 0x0, "LS"), (0xb0, 0x10, "LS"), (0xb0, 0x1, "IF"), (0xb0, 0x2, "L2"),
            (0xb0, 0x3, "DE"), (0xb0, 0x5, "EX"), (0xb0, 0x6, "FP"), (0xb0, 0x7, "L3"),
            (0x2e, 0x0, "CS"), (0x2e, 0x1, "PIE"), (0x96, 0x0, "UMC"), (0x96, 0x1, "UMC"),
            (0x05, 0x0, "PB"), (0xff, 0x0, "PSP"), (0x01, 0x0, "SMU"), (0x01, 0x2, "MP5"),
            (0x18, 0x0, "NBIO"), (0x46, 0x0, "PCIE"), (0x50, 0x0, "XGMI_PCS"),
        ];
        for (h, m, want) in cases {
            let got = bank_type(ipid(h, m, 0x1234));
            assert_eq!(
                got.map(|b| b.short),
                Some(want),
                "hwid {h:#x} mcatype {m:#x}"
            );
        }
        assert_eq!(
            bank_type(ipid(0x96, 0, 0x0050_0000)).unwrap().name,
            "Unified Memory Controller"
        );
    }

    #[test]
    fn unknown_and_empty_ipids_have_no_type() {
        assert_eq!(bank_type(0), None);
        // Core MCA type 4 is reserved; HWID 0x123 is not defined.
        assert_eq!(bank_type(ipid(0xb0, 0x4, 0)), None);
        assert_eq!(bank_type(ipid(0x123, 0, 0)), None);
        // Instance id and the bits between the fields do not change the type.
        assert_eq!(bank_type(ipid(0xb0, 0x7, 0xffff_ffff)).unwrap().short, "L3");
    }

    #[test]
    fn error_address_drops_the_lsb_field_and_the_bits_below_it() {
        // LSB 12 in MCA_ADDR[61:56]: page-granular.
        assert_eq!(error_addr(0x0c00_0012_3456_7abc, 0, false), 0x12_3456_7000);
        assert_eq!(error_addr(0x0000_0012_3456_7abc, 0, false), 0x12_3456_7abc);
        // LSB 6 from MCA_STATUS[29:24]; bit 56 belongs to the address then.
        assert_eq!(
            error_addr(0x0100_0000_0000_10ff, 6 << 24, true),
            0x0100_0000_0000_10c0
        );
        // A nonsense LSB (63) leaves the top address bit only.
        assert_eq!(error_addr(u64::MAX, 0, false), 1 << 55);
    }

    #[test]
    fn fields() {
        let i = ipid(0x96, 0x1, 0x0015_0000);
        assert_eq!((hwid(i), mcatype(i), instance(i)), (0x96, 1, 0x0015_0000));
    }
}
