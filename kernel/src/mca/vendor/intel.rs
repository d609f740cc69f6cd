//! Intel: the severity table for SER-capable and older CPUs (also used for
//! unknown vendors), in the order Linux's `mce/severity.c` tries them, and
//! Intel's quirks. Facts from the Intel SDM vol. 3B §16.6 (UCR error
//! classification) and Linux's severity table; the wording is mcelog's and
//! Linux's, so panic messages match theirs. Also Intel's part of per-CPU
//! init (Linux `mce_intel_feature_init`): claiming CMCI banks and enabling
//! local machine checks (LMCE, SDM vol. 3B §16.3.1.5).

use super::quirks::{Action, Quirk};
use crate::mca::banks::{BankSet, McgCap};
use crate::mca::corrected::cmci::{self, DiscoverReport};
use crate::mca::exception::severity::{Contexts, Rule};
use crate::mca::msr::Msr;
use crate::mca::record::{CpuVendor, Severity};
use crate::mca::regs::{feature_control, mcg_cap, mcg_ext_ctl, mcg_status, status};
use crate::mca::regs::{IA32_FEATURE_CONTROL, IA32_MCG_EXT_CTL};
use core::fmt;

/// MCA error codes of known recoverable errors (SDM vol. 3B, 16.6.3). Bit 12
/// ("corrected filtering") is ignored when comparing, as Linux does.
pub mod mcacod {
    /// Compare the whole code except bit 12.
    pub const MASK: u64 = 0xefff;
    /// Memory scrubbing, 0xC0-0xCF (low four bits are the channel).
    pub const SCRUB_MASK: u64 = 0xeff0;
    pub const SCRUB: u64 = 0x00c0;
    /// Last-level-cache explicit writeback.
    pub const L3WB: u64 = 0x017a;
    /// Data load.
    pub const DATA: u64 = 0x0134;
    /// Instruction fetch.
    pub const INSTR: u64 = 0x0150;
}

use mcacod::{DATA, INSTR, L3WB, MASK as MCACOD, SCRUB, SCRUB_MASK};
use status::{ADDRV, AR, EN, MISCV, OVER, PCC, S, UC, VAL};
use Severity::{
    ActionOptional as AO, ActionRequired as AR_SEV, Deferred, Keep, NoError, Panic, Some as SOME,
    Uncorrected,
};

const UC_S: u64 = UC | S;
const UC_AR: u64 = UC | AR;
const UC_SAR: u64 = UC | S | AR;
/// The address is usable for recovery only when both ADDR and MISC are valid.
const ADDR: u64 = ADDRV | MISCV;
const RIPV: u64 = mcg_status::RIPV;
const EIPV: u64 = mcg_status::EIPV;
/// Conditions shared by the SRAR rules: signaled, action required, no overflow, address known.
const SRAR: u64 = OVER | UC_SAR | ADDR | MCACOD;

/// Whether local machine checks are on, or why not (Linux's
/// `lmce_supported`): the CPU must offer them (MCG_CAP.LMCE_P, with SER_P,
/// as only recoverable errors can be local) and the firmware must allow them
/// in a locked IA32_FEATURE_CONTROL (bit 20). Then the OS sets
/// IA32_MCG_EXT_CTL.LMCE_EN and an error that affects only one logical
/// processor raises #MC on it alone, with MCG_STATUS.LMCE_S set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lmce {
    On,
    /// MCG_CAP.LMCE_P clear.
    #[default]
    NotOffered,
    /// LMCE_P without SER_P: Linux does not enable it either.
    NoSer,
    /// IA32_FEATURE_CONTROL not locked: the firmware did not finish setting
    /// it up (Linux warns and leaves LMCE off).
    Unlocked,
    /// Locked with bit 20 clear: the firmware forbids LMCE.
    Forbidden,
}

impl Lmce {
    /// The decision from MCG_CAP and IA32_FEATURE_CONTROL (pure).
    pub fn decide(cap: McgCap, fc: u64) -> Self {
        if !cap.has(mcg_cap::LMCE_P) {
            Lmce::NotOffered
        } else if !cap.has(mcg_cap::SER_P) {
            Lmce::NoSer
        } else if fc & feature_control::LOCKED == 0 {
            Lmce::Unlocked
        } else if fc & feature_control::LMCE == 0 {
            Lmce::Forbidden
        } else {
            Lmce::On
        }
    }
}

/// As the MCA inventory line shows it: `LMCE on`, `LMCE off (why)`.
impl fmt::Display for Lmce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lmce::On => "LMCE on",
            Lmce::NotOffered => "LMCE off (not offered)",
            Lmce::NoSer => "LMCE off (no SER_P)",
            Lmce::Unlocked => "LMCE off (FEATURE_CONTROL not locked)",
            Lmce::Forbidden => "LMCE off (FEATURE_CONTROL bit 20 clear)",
        })
    }
}

/// Decides LMCE for the calling CPU and, when allowed, sets
/// IA32_MCG_EXT_CTL.LMCE_EN (Linux's `intel_init_lmce`). FEATURE_CONTROL is
/// read only when LMCE_P says the feature (and MCG_EXT_CTL) exists.
pub fn init_lmce(msr: &impl Msr, cap: McgCap) -> Lmce {
    let fc = if cap.has(mcg_cap::LMCE_P) && cap.has(mcg_cap::SER_P) {
        msr.read(IA32_FEATURE_CONTROL)
    } else {
        0
    };
    let lmce = Lmce::decide(cap, fc);
    if lmce == Lmce::On {
        let ext = msr.read(IA32_MCG_EXT_CTL);
        msr.write(IA32_MCG_EXT_CTL, ext | mcg_ext_ctl::LMCE_EN);
    }
    lmce
}

/// What Intel's part of per-CPU init did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntelInit {
    /// Local machine checks.
    pub lmce: Lmce,
    /// With MCG_CAP.CMCI_P: the banks this CPU owns by CMCI and what the
    /// claiming pass found (banks shared with siblings are owned by the
    /// first CPU to claim them).
    pub cmci: Option<(BankSet, DiscoverReport)>,
}

/// Intel's part of per-CPU init, after the banks are programmed: claims this
/// CPU's share of the CMCI banks, except `firmware_first` ones (HEST leaves
/// their corrected errors to the firmware: no CMCI, as Linux's
/// `mce_disable_bank`). The caller points LVT CMCI at its vector when
/// `cmci` is set.
pub fn init_cpu(msr: &impl Msr, cap: McgCap, firmware_first: BankSet) -> IntelInit {
    let lmce = init_lmce(msr, cap);
    let cmci = cap.has(mcg_cap::CMCI_P).then(|| {
        // Counted as owned for the pass, so it leaves them alone.
        let mut owned = firmware_first;
        let mut report = cmci::discover(msr, cap.banks(), cmci::DEFAULT_THRESHOLD, &mut owned);
        report.already_ours = BankSet(report.already_ours.0 & !firmware_first.0);
        (BankSet(owned.0 & !firmware_first.0), report)
    });
    IntelInit { lmce, cmci }
}

#[rustfmt::skip]
pub static RULES: [Rule; 26] = [
    Rule::new(NoError, "Invalid").clear(VAL),
    Rule::new(NoError, "Not enabled").excp().clear(EN),
    Rule::new(Panic, "Processor context corrupt").set(PCC),
    // MCIP is what says a machine check is in progress: without it nothing is consistent.
    Rule::new(Panic, "MCIP not set in MCA handler").excp().mcg(mcg_status::MCIP, 0),
    Rule::new(Panic, "Neither restart nor error IP").excp().mcg(RIPV | EIPV, 0),
    Rule::new(Panic, "In kernel and no restart IP").excp().ctx(Contexts::ANY_KERNEL).mcg(RIPV, 0),
    // A CE seen in #MC is left in the bank for the poller or CMCI to log.
    Rule::new(Keep, "Corrected error").noser().excp().clear(UC),
    Rule::new(SOME, "Corrected error").poll().clear(UC),
    // Known action-optional codes, whether signaled by #MC or found by CMCI.
    Rule::new(AO, "Action optional: memory scrubbing error").ser().masked(UC_AR | SCRUB_MASK, UC | SCRUB),
    Rule::new(AO, "Action optional: last level cache writeback error").ser().masked(UC_AR | MCACOD, UC | L3WB),
    // UCNA: OVER does not matter, nothing was signaled.
    Rule::new(Deferred, "Uncorrected no action required").ser().masked(UC_SAR, UC),
    Rule::new(Panic, "Illegal combination (UCNA with AR=1)").ser().masked(OVER | UC_SAR, UC | AR),
    Rule::new(Keep, "Non signaled machine check").ser().clear(S),
    Rule::new(Panic, "Action required with lost events").ser().set(OVER | UC_SAR),
    // Broadcast SRAR seen by a CPU that did not consume the poison: it can restart.
    Rule::new(Keep, "Action required but unaffected thread is continuable").ser().masked(OVER | UC_SAR | ADDR, UC_SAR | ADDR).mcg(RIPV | EIPV, RIPV),
    Rule::new(AR_SEV, "Action required: data load in error recoverable area of kernel").ser().masked(SRAR, UC_SAR | ADDR | DATA).ctx(Contexts::KERNEL_RECOVERABLE),
    Rule::new(AR_SEV, "Action required: data load error in a user process").ser().masked(SRAR, UC_SAR | ADDR | DATA).ctx(Contexts::USER),
    Rule::new(AR_SEV, "Action required: instruction fetch error in a user process").ser().masked(SRAR, UC_SAR | ADDR | INSTR).ctx(Contexts::USER),
    Rule::new(Panic, "Data load in unrecoverable area of kernel").ser().masked(SRAR, UC_SAR | ADDR | DATA).ctx(Contexts::KERNEL),
    // Fixups cover data accesses only; poisoned kernel text cannot be recovered.
    Rule::new(Panic, "Instruction fetch error in kernel").ser().masked(SRAR, UC_SAR | ADDR | INSTR).ctx(Contexts::ANY_KERNEL),
    Rule::new(Panic, "Action required: unknown MCACOD").ser().masked(OVER | UC_SAR, UC_SAR),
    Rule::new(SOME, "Action optional: unknown MCACOD").ser().masked(OVER | UC_SAR, UC_S),
    Rule::new(SOME, "Action optional with lost events").ser().masked(OVER | UC_SAR, OVER | UC_S),
    Rule::new(Panic, "Overflowed uncorrected").set(OVER | UC),
    // Without SER_P nothing promises the error was contained (REFERENCE.md).
    Rule::new(Panic, "Uncorrected error without software error recovery").noser().excp().set(UC),
    // Left over: a UC found by polling on a CPU without SER_P (e.g. at boot). Log it.
    Rule::new(Uncorrected, "Uncorrected").set(UC),
];

/// Intel's quirks (Linux `__mcheck_cpu_apply_quirks`).
pub static QUIRKS: &[Quirk] = &[Quirk {
    vendor: CpuVendor::Intel,
    family: 6,
    models: (0, 0x19),
    action: Action::SkipBankCtl { bank: 0 },
    why: "P6-era bank 0 MCi_CTL must not be written by the OS (firmware owns it)",
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::msr::sim::SimMsr;
    use crate::mca::regs::{ctl2, mc_ctl2};
    use std::string::ToString;
    use std::vec::Vec;

    const LOCKED: u64 = feature_control::LOCKED;
    const FC_LMCE: u64 = feature_control::LMCE;
    const LMCE_CAP: u64 = mcg_cap::LMCE_P | mcg_cap::SER_P | 10;

    #[test]
    fn lmce_decision_every_combination() {
        // (LMCE_P, SER_P, locked, bit 20) -> decision, all 16 combinations.
        for bits in 0..16u64 {
            let (lmce_p, ser_p, locked, allow) =
                (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0);
            let cap = McgCap(
                10 | if lmce_p { mcg_cap::LMCE_P } else { 0 }
                    | if ser_p { mcg_cap::SER_P } else { 0 },
            );
            let fc = if locked { LOCKED } else { 0 } | if allow { FC_LMCE } else { 0 };
            let want = match (lmce_p, ser_p, locked, allow) {
                (false, ..) => Lmce::NotOffered,
                (true, false, ..) => Lmce::NoSer,
                (true, true, false, _) => Lmce::Unlocked,
                (true, true, true, false) => Lmce::Forbidden,
                (true, true, true, true) => Lmce::On,
            };
            assert_eq!(Lmce::decide(cap, fc), want, "combination {bits:04b}");

            // The same through the MSRs: MCG_EXT_CTL is written only when on,
            // FEATURE_CONTROL read only when LMCE_P (with SER_P) says it matters.
            let msr = SimMsr::new();
            msr.set(IA32_FEATURE_CONTROL, fc);
            assert_eq!(init_lmce(&msr, cap), want);
            let ext = msr.get(IA32_MCG_EXT_CTL);
            assert_eq!(
                ext & mcg_ext_ctl::LMCE_EN != 0,
                want == Lmce::On,
                "{bits:04b}"
            );
            let wrote: Vec<u32> = msr.writes.borrow().iter().map(|w| w.0).collect();
            assert_eq!(wrote.contains(&IA32_MCG_EXT_CTL), want == Lmce::On);
            assert!(
                !wrote.contains(&IA32_FEATURE_CONTROL),
                "never written by the OS"
            );
        }
    }

    #[test]
    fn lmce_enable_keeps_other_ext_ctl_bits() {
        let msr = SimMsr::new();
        msr.set(IA32_FEATURE_CONTROL, LOCKED | FC_LMCE | 1 << 2);
        msr.set(IA32_MCG_EXT_CTL, 1 << 5);
        assert_eq!(init_lmce(&msr, McgCap(LMCE_CAP)), Lmce::On);
        assert_eq!(msr.get(IA32_MCG_EXT_CTL), 1 << 5 | mcg_ext_ctl::LMCE_EN);
    }

    #[test]
    fn lmce_inventory_text() {
        assert_eq!(Lmce::On.to_string(), "LMCE on");
        assert_eq!(Lmce::NotOffered.to_string(), "LMCE off (not offered)");
        assert_eq!(
            Lmce::Forbidden.to_string(),
            "LMCE off (FEATURE_CONTROL bit 20 clear)"
        );
        assert_eq!(
            Lmce::Unlocked.to_string(),
            "LMCE off (FEATURE_CONTROL not locked)"
        );
    }

    #[test]
    fn init_claims_cmci_banks_only_with_cmci_p() {
        let msr = SimMsr::new();
        assert_eq!(
            init_cpu(&msr, McgCap(4), BankSet::EMPTY),
            IntelInit {
                lmce: Lmce::NotOffered,
                cmci: None
            }
        );
        let got = init_cpu(&msr, McgCap(mcg_cap::CMCI_P | 4), BankSet::EMPTY);
        let (owned, report) = got.cmci.expect("CMCI_P claims");
        assert_eq!(owned.len(), 4);
        assert_eq!(report.claimed, owned);
        assert!(msr.get(mc_ctl2(3)) & ctl2::CMCI_EN != 0);
    }

    #[test]
    fn firmware_first_banks_get_no_cmci() {
        let msr = SimMsr::new();
        let ff = BankSet(1 << 1 | 1 << 3);
        let (owned, report) = init_cpu(&msr, McgCap(mcg_cap::CMCI_P | 4), ff)
            .cmci
            .unwrap();
        assert_eq!(owned, BankSet(1 << 0 | 1 << 2));
        assert_eq!(report.claimed, owned);
        assert_eq!(report.already_ours, BankSet::EMPTY);
        for b in [1, 3] {
            assert_eq!(msr.get(mc_ctl2(b)) & ctl2::CMCI_EN, 0, "bank {b}");
        }
    }
}
