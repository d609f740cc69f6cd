//! The RDMSR and WRMSR instructions.

pub fn rdmsr(msr: u32) -> u64 {
    // SAFETY: callers only name MSRs that CPUID/MCG_CAP say exist; reading an
    // MSR has no memory-safety effect.
    unsafe { x86_64::registers::model_specific::Msr::new(msr).read() }
}

pub fn wrmsr(msr: u32, value: u64) {
    // SAFETY: callers only write machine-check, APIC and segment-base MSRs
    // this kernel owns, with values the SDM allows.
    unsafe { x86_64::registers::model_specific::Msr::new(msr).write(value) }
}
