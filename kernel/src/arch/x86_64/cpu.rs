//! CPU identification through CPUID: vendor, family/model/stepping, the
//! machine-check feature bits and whether we run under a hypervisor.

use core::arch::x86_64::{__cpuid, __cpuid_count, CpuidResult};

pub fn cpuid(leaf: u32) -> CpuidResult {
    // CPUID exists on every x86_64 CPU and has no side effects.
    __cpuid(leaf)
}

pub fn cpuid_count(leaf: u32, sub: u32) -> CpuidResult {
    __cpuid_count(leaf, sub)
}

/// What CPUID says about this CPU, as far as this kernel cares.
#[derive(Clone, Copy, Debug)]
pub struct CpuInfo {
    /// The CPUID leaf 0 vendor string, e.g. "GenuineIntel".
    pub vendor_id: [u8; 12],
    /// CPUID.1:EAX, the family/model/stepping signature.
    pub signature: u32,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
    /// CPUID.1:EDX bit 7: machine-check exception (#MC, CR4.MCE).
    pub mce: bool,
    /// CPUID.1:EDX bit 14: the machine-check architecture (MCG_CAP and banks).
    pub mca: bool,
    /// CPUID.1:ECX bit 21.
    pub x2apic: bool,
    /// CPUID.1:ECX bit 31: running under a hypervisor.
    pub hypervisor: bool,
    /// The hypervisor's CPUID 0x40000000 signature, e.g. "TCGTCGTCGTCG".
    pub hypervisor_id: [u8; 12],
    /// CPUID.1:EBX bits 31:24: the initial APIC id.
    pub initial_apic_id: u32,
    /// CPUID 0x80000007:EDX bit 8: invariant TSC.
    pub invariant_tsc: bool,
    /// CPUID 0x80000007:EBX: AMD's RAS capabilities (McaOverflowRecov,
    /// SUCCOR, ScalableMca), 0 when the leaf is absent.
    pub ras_cap: u32,
}

impl CpuInfo {
    pub fn read() -> CpuInfo {
        let v = cpuid(0);
        let mut id = [0u8; 12];
        id[..4].copy_from_slice(&v.ebx.to_le_bytes());
        id[4..8].copy_from_slice(&v.edx.to_le_bytes());
        id[8..].copy_from_slice(&v.ecx.to_le_bytes());
        let l1 = cpuid(1);
        let (family, model) = family_model(l1.eax);
        let hypervisor = l1.ecx & (1 << 31) != 0;
        let mut hypervisor_id = [0u8; 12];
        if hypervisor {
            let h = cpuid(0x4000_0000);
            hypervisor_id[..4].copy_from_slice(&h.ebx.to_le_bytes());
            hypervisor_id[4..8].copy_from_slice(&h.ecx.to_le_bytes());
            hypervisor_id[8..].copy_from_slice(&h.edx.to_le_bytes());
        }
        let max_ext = cpuid(0x8000_0000).eax;
        let (invariant_tsc, ras_cap) = if max_ext >= 0x8000_0007 {
            let l = cpuid(0x8000_0007);
            (l.edx & (1 << 8) != 0, l.ebx)
        } else {
            (false, 0)
        };
        CpuInfo {
            vendor_id: id,
            signature: l1.eax,
            family,
            model,
            stepping: l1.eax & 0xf,
            mce: l1.edx & (1 << 7) != 0,
            mca: l1.edx & (1 << 14) != 0,
            x2apic: l1.ecx & (1 << 21) != 0,
            hypervisor,
            hypervisor_id,
            initial_apic_id: l1.ebx >> 24,
            invariant_tsc,
            ras_cap,
        }
    }

    /// True under QEMU (TCG or KVM): decides whether `isa-debug-exit` may
    /// be used to end a run.
    pub fn is_qemu(&self) -> bool {
        self.hypervisor
            && (&self.hypervisor_id == b"TCGTCGTCGTCG" || &self.hypervisor_id == b"KVMKVMKVM\0\0\0")
    }

    pub fn hypervisor_name(&self) -> &str {
        if !self.hypervisor {
            return "none";
        }
        let end = self
            .hypervisor_id
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(12);
        core::str::from_utf8(&self.hypervisor_id[..end]).unwrap_or("?")
    }
}

/// Family and model from a CPUID.1:EAX signature, with the extended fields
/// folded in as the SDM describes (extended family only for family 0xF,
/// extended model for families 6 and 0xF).
pub const fn family_model(sig: u32) -> (u32, u32) {
    let base_family = (sig >> 8) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((sig >> 20) & 0xff)
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xf {
        ((sig >> 4) & 0xf) | (((sig >> 16) & 0xf) << 4)
    } else {
        (sig >> 4) & 0xf
    };
    (family, model)
}
