//! Access to model-specific registers behind a small interface, so that code
//! which programs banks (init, polling, CMCI ownership, injection) runs the
//! same in the kernel and against a simulated MSR space in host tests.

/// Read and write MSRs of the current CPU.
///
/// Reads of an MSR the CPU does not implement raise #GP on real hardware;
/// callers only touch MSRs that MCG_CAP (or CPUID) says exist.
pub trait Msr {
    fn read(&self, msr: u32) -> u64;
    fn write(&self, msr: u32, value: u64);
    /// Whether the banks are at their AMD Scalable MCA addresses
    /// (0xC0002000 + 0x10*bank) rather than at 0x400 + 4*bank.
    fn smca(&self) -> bool {
        false
    }
}

/// A simulated MSR space for host tests: a map from address to value, with an
/// optional write filter to model registers that accept only some values
/// (e.g. MCi_CTL2.CMCI_EN that does not stick on a bank owned elsewhere).
#[cfg(test)]
pub mod sim {
    use super::Msr;
    use alloc::boxed::Box;
    use alloc::collections::BTreeMap;
    use core::cell::RefCell;

    /// Decides what a write stores: gets (msr, old value, written value) and
    /// returns the value the register holds afterwards.
    pub type WriteFilter = Box<dyn Fn(u32, u64, u64) -> u64>;

    #[derive(Default)]
    pub struct SimMsr {
        pub regs: RefCell<BTreeMap<u32, u64>>,
        pub filter: Option<WriteFilter>,
        /// Every write in order, for tests that check what was programmed.
        pub writes: RefCell<alloc::vec::Vec<(u32, u64)>>,
        /// Banks at the SMCA addresses (an AMD Zen part).
        pub smca: bool,
    }

    impl SimMsr {
        pub fn new() -> Self {
            Self::default()
        }
        pub fn set(&self, msr: u32, value: u64) {
            self.regs.borrow_mut().insert(msr, value);
        }
        pub fn get(&self, msr: u32) -> u64 {
            self.regs.borrow().get(&msr).copied().unwrap_or(0)
        }
    }

    /// One CPU's view of a package where some banks are shared with its
    /// siblings (per core or per package, as on real CPUs): every register
    /// of a bank in `shared_banks` (CTL, STATUS, ADDR, MISC and CTL2, so
    /// also CTL2's CMCI_EN) lives in the one `shared` space all siblings
    /// see; the rest in the CPU's `own` space.
    pub struct Sibling<'a> {
        pub own: SimMsr,
        pub shared: &'a SimMsr,
        pub shared_banks: crate::mca::banks::BankSet,
    }

    impl Sibling<'_> {
        fn space(&self, msr: u32) -> &SimMsr {
            use crate::mca::regs::{mc_ctl, mc_ctl2};
            let shared = self
                .shared_banks
                .iter()
                .any(|b| mc_ctl2(b) == msr || (mc_ctl(b)..mc_ctl(b) + 4).contains(&msr));
            if shared {
                self.shared
            } else {
                &self.own
            }
        }
    }

    impl Msr for Sibling<'_> {
        fn read(&self, msr: u32) -> u64 {
            self.space(msr).read(msr)
        }
        fn write(&self, msr: u32, value: u64) {
            self.space(msr).write(msr, value)
        }
    }

    impl Msr for SimMsr {
        fn read(&self, msr: u32) -> u64 {
            self.get(msr)
        }
        fn write(&self, msr: u32, value: u64) {
            self.writes.borrow_mut().push((msr, value));
            let old = self.get(msr);
            let new = match &self.filter {
                Some(f) => f(msr, old, value),
                None => value,
            };
            self.set(msr, new);
        }
        fn smca(&self) -> bool {
            self.smca
        }
    }
}
