//! CPU-specific exceptions to the architectural rules, as data: each entry
//! says which CPUs it applies to, what it changes, and why. The entries are
//! the vendors' (`intel::QUIRKS`, `amd::QUIRKS`); per-CPU init looks them up
//! once and applies them while programming the banks.

use crate::mca::record::CpuVendor;

/// What a quirk changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Do not write MCi_CTL of this bank (leave the firmware's value).
    SkipBankCtl { bank: u8 },
    /// Clear these bits of MCi_CTL of this bank (errors not to be reported).
    ClearBankCtlBits { bank: u8, bits: u64 },
    /// Ignore the bank entirely: never enabled, polled or logged.
    IgnoreBank { bank: u8 },
}

#[derive(Clone, Copy, Debug)]
pub struct Quirk {
    pub vendor: CpuVendor,
    pub family: u32,
    /// Models `min..=max` of that family.
    pub models: (u32, u32),
    pub action: Action,
    pub why: &'static str,
}

/// The quirks that apply to a CPU.
pub fn for_cpu(vendor: CpuVendor, family: u32, model: u32) -> impl Iterator<Item = &'static Quirk> {
    let table = match vendor {
        CpuVendor::Intel => super::intel::QUIRKS,
        CpuVendor::Amd => super::amd::QUIRKS,
        CpuVendor::Other => &[],
    };
    table.iter().filter(move |q| {
        q.vendor == vendor && q.family == family && (q.models.0..=q.models.1).contains(&model)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_identity() {
        assert_eq!(for_cpu(CpuVendor::Intel, 6, 0x0f).count(), 1);
        // QEMU's Skylake-SP identity has none.
        assert_eq!(for_cpu(CpuVendor::Intel, 6, 0x55).count(), 0);
        let k8: Vec<_> = for_cpu(CpuVendor::Amd, 0xf, 0x6b).collect();
        assert_eq!(k8.len(), 1);
        assert!(matches!(
            k8[0].action,
            Action::ClearBankCtlBits { bank: 4, .. }
        ));
    }
}
