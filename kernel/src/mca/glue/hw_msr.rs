//! The real MSR instructions behind the [`Msr`] interface the pure bank code
//! is written against.

use crate::arch::x86_64::msr::{rdmsr, wrmsr};
use crate::mca::msr::Msr;

/// MSR access on the CPU this code runs on.
pub struct HwMsr;

impl Msr for HwMsr {
    fn read(&self, msr: u32) -> u64 {
        rdmsr(msr)
    }
    fn write(&self, msr: u32, value: u64) {
        wrmsr(msr, value)
    }
    fn smca(&self) -> bool {
        crate::mca::vendor::amd::smca()
    }
}
