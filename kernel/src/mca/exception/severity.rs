//! Grading machine-check records by severity, and the policy that turns the
//! worst grade of an event into a decision.
//!
//! Grading is table-driven in the manner of Linux's `mce/severity.c`: each
//! [`Rule`] is a set of conditions on MCi_STATUS, MCG_STATUS, MCG_CAP.SER_P,
//! the interrupted context and whether the grading happens inside #MC. Rules
//! are tried in order and the first match wins, so the most severe cases come
//! first and a new case is one line of data. The tables themselves are the
//! vendors' (`vendor::intel::RULES`, `vendor::amd::RULES`): AMD signals
//! recoverability with its own bits (deferred, poison) rather than with
//! SER_P's S/AR.

use crate::mca::record::{CpuVendor, Severity};
use crate::mca::regs::mcg_cap;
use crate::mca::vendor::{amd, intel};
use Severity::{
    ActionOptional as AO, ActionRequired as AR_SEV, Deferred, Keep, NoError, Panic, Some as SOME,
    Uncorrected,
};

/// What the interrupted code was doing, which decides whether consumed poison
/// can be survived (Linux's `error_context()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// User mode (CPL 3): the task can be killed and the page taken away.
    User,
    /// Kernel code without a recovery path: consumed poison is fatal.
    Kernel,
    /// Kernel code with an exception fixup for machine checks (like
    /// `copy_mc`): the access can fail with an error instead of dying.
    KernelRecoverable,
}

/// Everything the grader looks at for one bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GradeInput {
    /// IA32_MCi_STATUS.
    pub status: u64,
    /// IA32_MCG_STATUS at the time.
    pub mcgstatus: u64,
    /// IA32_MCG_CAP (only SER_P is used).
    pub mcgcap: u64,
    pub vendor: CpuVendor,
    pub context: Context,
    /// True inside the #MC handler; false when found by polling or CMCI.
    pub exception: bool,
    /// AMD: CPUID Fn8000_0007 EBX (SUCCOR, McaOverflowRecov); 0 elsewhere.
    pub ras_cap: u32,
}

/// The result of grading one bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grade {
    pub severity: Severity,
    /// What a person reads in the log (Linux's wording where Linux has one).
    pub msg: &'static str,
}

/// The grade when no rule matches (Linux's "No match"): log it, nothing more.
pub const NO_MATCH: Grade = Grade {
    severity: Severity::Some,
    msg: "No match",
};

/// A rule's condition on MCG_CAP.SER_P (software error recovery support).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ser {
    Any,
    /// Only when the CPU supports software error recovery (S and AR are meaningful).
    Required,
    /// Only when it does not.
    Absent,
}

/// A rule's condition on where the grading happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Any,
    /// Only inside the #MC handler.
    Exception,
    /// Only from polling or CMCI.
    Poll,
}

/// A set of [`Context`]s a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contexts(u8);

impl Contexts {
    pub const USER: Self = Self(1);
    pub const KERNEL: Self = Self(2);
    pub const KERNEL_RECOVERABLE: Self = Self(4);
    /// Both kernel contexts.
    pub const ANY_KERNEL: Self = Self(2 | 4);
    pub const ANY: Self = Self(1 | 2 | 4);

    pub const fn or(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn contains(self, c: Context) -> bool {
        let bit = match c {
            Context::User => 1,
            Context::Kernel => 2,
            Context::KernelRecoverable => 4,
        };
        self.0 & bit != 0
    }
}

/// One grading rule: conditions plus the grade it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Matches when `status & mask == value`.
    pub mask: u64,
    pub value: u64,
    /// Matches when `mcgstatus & mcg_mask == mcg_value`.
    pub mcg_mask: u64,
    pub mcg_value: u64,
    pub ser: Ser,
    pub contexts: Contexts,
    pub when: When,
    /// Matches when `ras_cap & ras_mask == ras_value` (AMD's CPUID bits).
    pub ras_mask: u32,
    pub ras_value: u32,
    pub severity: Severity,
    pub msg: &'static str,
}

impl Rule {
    /// A rule that matches everything; narrowed with the builder methods.
    pub const fn new(severity: Severity, msg: &'static str) -> Self {
        Rule {
            mask: 0,
            value: 0,
            mcg_mask: 0,
            mcg_value: 0,
            ser: Ser::Any,
            contexts: Contexts::ANY,
            when: When::Any,
            ras_mask: 0,
            ras_value: 0,
            severity,
            msg,
        }
    }
    /// Require all of `bits` set in MCi_STATUS.
    pub const fn set(mut self, bits: u64) -> Self {
        self.mask |= bits;
        self.value |= bits;
        self
    }
    /// Require all of `bits` clear in MCi_STATUS.
    pub const fn clear(mut self, bits: u64) -> Self {
        self.mask |= bits;
        self.value &= !bits;
        self
    }
    /// Require `status & mask == value` for these bits (Linux's `MASK`).
    pub const fn masked(mut self, mask: u64, value: u64) -> Self {
        self.mask |= mask;
        self.value = (self.value & !mask) | (value & mask);
        self
    }
    /// Require `mcgstatus & mask == value` (Linux's `MCGMASK`).
    pub const fn mcg(mut self, mask: u64, value: u64) -> Self {
        self.mcg_mask = mask;
        self.mcg_value = value & mask;
        self
    }
    /// Require `ras_cap & mask == value` (AMD's CPUID Fn8000_0007 EBX).
    pub const fn ras(mut self, mask: u32, value: u32) -> Self {
        self.ras_mask = mask;
        self.ras_value = value & mask;
        self
    }
    pub const fn ser(mut self) -> Self {
        self.ser = Ser::Required;
        self
    }
    pub const fn noser(mut self) -> Self {
        self.ser = Ser::Absent;
        self
    }
    pub const fn excp(mut self) -> Self {
        self.when = When::Exception;
        self
    }
    pub const fn poll(mut self) -> Self {
        self.when = When::Poll;
        self
    }
    pub const fn ctx(mut self, contexts: Contexts) -> Self {
        self.contexts = contexts;
        self
    }

    /// Whether every condition of this rule holds for `input`.
    pub const fn matches(&self, input: &GradeInput) -> bool {
        let ser_p = input.mcgcap & mcg_cap::SER_P != 0;
        input.status & self.mask == self.value
            && input.mcgstatus & self.mcg_mask == self.mcg_value
            && input.ras_cap & self.ras_mask == self.ras_value
            && match self.ser {
                Ser::Any => true,
                Ser::Required => ser_p,
                Ser::Absent => !ser_p,
            }
            && self.contexts.contains(input.context)
            && match self.when {
                When::Any => true,
                When::Exception => input.exception,
                When::Poll => !input.exception,
            }
    }

    pub const fn grade(&self) -> Grade {
        Grade {
            severity: self.severity,
            msg: self.msg,
        }
    }
}

/// The table `vendor` is graded with (Intel's also for unknown vendors).
pub fn rules_for(vendor: CpuVendor) -> &'static [Rule] {
    match vendor {
        CpuVendor::Amd => &amd::RULES,
        CpuVendor::Intel | CpuVendor::Other => &intel::RULES,
    }
}

/// Index in [`rules_for`] of the first rule matching `input`.
pub fn matching_rule(input: &GradeInput) -> Option<usize> {
    rules_for(input.vendor)
        .iter()
        .position(|r| r.matches(input))
}

/// Grade one bank: the first matching rule of the vendor's table, or [`NO_MATCH`].
pub fn grade(input: &GradeInput) -> Grade {
    rules_for(input.vendor)
        .iter()
        .find(|r| r.matches(input))
        .map_or(NO_MATCH, Rule::grade)
}

/// What the #MC handler does once the worst grade of the event is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Log and return to the interrupted code.
    Continue,
    /// Log, return, and hand the recovery work (kill the consumer, offline
    /// the page) to normal context.
    Recover,
    /// Stop the machine, with the reason to print.
    Panic(&'static str),
}

/// Decide what to do about an #MC event, following the old Linux
/// `mce=tolerant` levels. `worst` is the highest grade seen (on this CPU or
/// across the rendezvous); `no_way_out` says some CPU found the machine
/// cannot continue; `timed_out` says the rendezvous gave up waiting for CPUs.
///
/// - 0: always panic on uncorrected errors: as 1, and also panic when `worst`
///   is ActionOptional or above (SRAO, UC, SRAR).
/// - 1 (default): panic or kill as graded: panic on a Panic grade,
///   `no_way_out` or a rendezvous timeout; Recover for Deferred, SRAO, UC and
///   SRAR; Continue for the rest.
/// - 2: as 1, except that a rendezvous timeout is not fatal (Linux panicked
///   on timeouts only at `tolerant <= 1`). The pre-SER meaning, "log instead
///   of panicking for a UC in kernel", is now part of the grade itself.
/// - 3 and above: never panic, never recover: Continue (for testing only).
pub fn decide(worst: Severity, tolerant: u8, no_way_out: bool, timed_out: bool) -> Decision {
    if tolerant >= 3 {
        return Decision::Continue;
    }
    if no_way_out || worst >= Panic {
        return Decision::Panic("Fatal machine check");
    }
    if timed_out && tolerant <= 1 {
        return Decision::Panic("Timeout synchronizing machine check over CPUs");
    }
    if tolerant == 0 && worst >= AO {
        return Decision::Panic("Uncorrected machine check (tolerant=0)");
    }
    match worst {
        Deferred | AO | Uncorrected | AR_SEV => Decision::Recover,
        NoError | Keep | SOME | Panic => Decision::Continue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::regs::mcg_status::{self, EIPV, RIPV};
    use crate::mca::regs::status::*;
    const ADDR: u64 = ADDRV | MISCV;
    use Context::{Kernel as K, KernelRecoverable as KR, User as U};
    use CpuVendor::{Amd, Intel, Other};

    const SER: u64 = mcg_cap::SER_P | 10;
    const NOSER: u64 = 10;
    const RE: u64 = RIPV | EIPV | mcg_status::MCIP;
    const R: u64 = RIPV | mcg_status::MCIP;
    const E: u64 = EIPV | mcg_status::MCIP;
    const NONE: u64 = mcg_status::MCIP;
    const X: bool = true;
    const P: bool = false;
    const VE: u64 = VAL | EN;
    const SC: u64 = amd::ras_cap::SUCCOR as u64;
    const OR: u64 = amd::ras_cap::OVERFLOW_RECOV as u64;

    /// (status, mcgstatus, mcgcap, vendor, context, exception, severity, message)
    type Case = (
        u64,
        u64,
        u64,
        CpuVendor,
        Context,
        bool,
        Severity,
        &'static str,
    );

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        // Intel
        (0, RE, SER, Intel, U, X, NoError, "Invalid"),
        (VAL | UC, RE, SER, Intel, U, X, NoError, "Not enabled"),
        (VAL | 0x17, RE, SER, Intel, U, P, SOME, "Corrected error"),
        (VE | UC | PCC | S | AR | 0x134, RE, SER, Intel, U, X, Panic, "Processor context corrupt"),
        (VE | UC | PCC, RE, NOSER, Intel, U, P, Panic, "Processor context corrupt"),
        (0xbd80000000100134, RIPV | EIPV, SER, Intel, U, X, Panic, "MCIP not set in MCA handler"),
        (0xbd80000000100134, NONE, SER, Intel, U, X, Panic, "Neither restart nor error IP"),
        (0xbd80000000100134, E, SER, Intel, K, X, Panic, "In kernel and no restart IP"),
        (0xbd80000000100134, E, SER, Intel, KR, X, Panic, "In kernel and no restart IP"),
        (VE | 0x17, RE, NOSER, Intel, K, X, Keep, "Corrected error"),
        (VE | 0x17, 0, SER, Intel, K, P, SOME, "Corrected error"),
        (VE | 0x17, 0, NOSER, Intel, U, P, SOME, "Corrected error"),
        (0xbd000000000000c0, RE, SER, Intel, U, X, AO, "Action optional: memory scrubbing error"),
        (0xbd000000000010cf, RE, SER, Intel, K, X, AO, "Action optional: memory scrubbing error"),
        (VE | UC | ADDR | 0xc3, 0, SER, Intel, K, P, AO, "Action optional: memory scrubbing error"),
        (VE | UC | S | ADDR | 0x17a, RE, SER, Intel, U, X, AO, "Action optional: last level cache writeback error"),
        (VE | UC | ADDR | 0x9f, 0, SER, Intel, K, P, Deferred, "Uncorrected no action required"),
        (VE | OVER | UC | 0x9f, 0, SER, Intel, K, P, Deferred, "Uncorrected no action required"),
        (VE | UC | AR | 0x134, RE, SER, Intel, U, X, Panic, "Illegal combination (UCNA with AR=1)"),
        (VE | 0x17, RE, SER, Intel, U, X, Keep, "Non signaled machine check"),
        (VE | OVER | UC | AR | 0x134, RE, SER, Intel, U, X, Keep, "Non signaled machine check"),
        (0xfd80000000100134, RE, SER, Intel, U, X, Panic, "Action required with lost events"),
        (0xbd80000000100134, R, SER, Intel, K, X, Keep, "Action required but unaffected thread is continuable"),
        (0xbd80000000100134, RE, SER, Intel, KR, X, AR_SEV, "Action required: data load in error recoverable area of kernel"),
        (0xbd80000000100134, RE, SER, Intel, U, X, AR_SEV, "Action required: data load error in a user process"),
        (0xbd80000000101134, RE, SER, Intel, U, X, AR_SEV, "Action required: data load error in a user process"),
        (0xbd80000000100150, E, SER, Intel, U, X, AR_SEV, "Action required: instruction fetch error in a user process"),
        (0xbd80000000100134, RE, SER, Intel, K, X, Panic, "Data load in unrecoverable area of kernel"),
        (0xbd80000000100150, RE, SER, Intel, K, X, Panic, "Instruction fetch error in kernel"),
        (0xbd80000000100150, RE, SER, Intel, KR, X, Panic, "Instruction fetch error in kernel"),
        (0xbd80000000100135, RE, SER, Intel, U, X, Panic, "Action required: unknown MCACOD"),
        (VE | UC | S | AR | 0x134, RE, SER, Intel, U, X, Panic, "Action required: unknown MCACOD"),
        (VE | UC | S | ADDR | 0x9f, RE, SER, Intel, U, X, SOME, "Action optional: unknown MCACOD"),
        (VE | OVER | UC | S | 0x9f, RE, SER, Intel, K, X, SOME, "Action optional with lost events"),
        (VE | OVER | UC | 0x9f, RE, NOSER, Intel, U, X, Panic, "Overflowed uncorrected"),
        (VE | UC | 0x9f, RE, NOSER, Other, U, X, Panic, "Uncorrected error without software error recovery"),
        (VE | UC | 0x9f, 0, NOSER, Intel, K, P, Uncorrected, "Uncorrected"),
        (VE | S | 0x17, RE, SER, Intel, U, X, SOME, "No match"),
        // AMD: the third column is CPUID Fn8000_0007 EBX (SC = SUCCOR, OR =
        // McaOverflowRecov), not MCG_CAP.
        (0, RE, 0, Amd, U, X, NoError, "Invalid"),
        (VAL | UC, RE, SC, Amd, K, X, NoError, "Not enabled"),
        (VE | UC | PCC, RE, SC | OR, Amd, U, X, Panic, "Processor Context Corrupt"),
        (VE | PCC, 0, SC, Amd, K, P, Panic, "Processor Context Corrupt"),
        (VE | AMD_DEFERRED | ADDRV, 0, 0, Amd, K, P, Deferred, "Deferred error"),
        // A deferred error in #MC (SMCA signals some) is still deferred, even with UC.
        (VE | UC | AMD_DEFERRED, RE, 0, Amd, K, X, Deferred, "Deferred error"),
        (VE | 0x11b, RE, 0, Amd, K, X, Keep, "Corrected error"),
        (VAL | 0x11b, 0, 0, Amd, K, P, SOME, "Corrected error"),
        (VE | UC, 0, 0, Amd, K, P, Uncorrected, "Uncorrected error"),
        (VE | UC | OVER, 0, SC, Amd, U, P, Uncorrected, "Uncorrected error"),
        // Overflow: fatal without overflow recovery, whatever the context.
        (VE | UC | OVER | AMD_POISON, RE, SC, Amd, U, X, Panic, "Overflowed uncorrected error without MCA Overflow Recovery"),
        (VE | UC | OVER, RE, 0, Amd, U, X, Panic, "Overflowed uncorrected error without MCA Overflow Recovery"),
        // With it, an overflowed UC is graded as any other.
        (VE | UC | OVER | AMD_POISON, RE, SC | OR, Amd, U, X, AR_SEV, "Action required: poison consumed by a user process"),
        (VE | UC | OVER, RE, SC | OR, Amd, K, X, Panic, "Uncorrected unrecoverable error in kernel context"),
        // No SUCCOR: no uncorrected error is contained, even in user mode.
        (VE | UC | AMD_POISON | ADDRV, RE, 0, Amd, U, X, Panic, "Uncorrected error without MCA Recovery"),
        (VE | UC | OVER, RE, OR, Amd, U, X, Panic, "Uncorrected error without MCA Recovery"),
        (VE | UC, RE, OR, Amd, KR, X, Panic, "Uncorrected error without MCA Recovery"),
        // Without RIPV the context decides (EIPV alone makes it Kernel,
        // grade::context_of); under a fixup the fixup replaces the IP.
        (VE | UC | AMD_POISON, mcg_status::MCIP, SC, Amd, KR, X, AR_SEV, "Action required: poison consumed in recoverable area of kernel"),
        (VE | UC | AMD_POISON, E, SC, Amd, K, X, Panic, "Uncorrected unrecoverable error in kernel context"),
        (VE | UC | AMD_POISON | ADDRV, E, SC, Amd, U, X, AR_SEV, "Action required: poison consumed by a user process"),
        (VE | UC | AMD_POISON | ADDRV, RE, SC, Amd, KR, X, AR_SEV, "Action required: poison consumed in recoverable area of kernel"),
        (VE | UC | AMD_POISON | ADDRV, RE, SC, Amd, K, X, Panic, "Uncorrected unrecoverable error in kernel context"),
        (VE | UC, RE, SC, Amd, K, X, Panic, "Uncorrected unrecoverable error in kernel context"),
        (VE | UC, RE, SC, Amd, KR, X, AR_SEV, "Action required: uncorrected error, kill the current task"),
        (VE | UC, RE, SC | OR, Amd, U, X, AR_SEV, "Action required: uncorrected error, kill the current task"),
    ];

    fn input(c: &Case) -> GradeInput {
        GradeInput {
            status: c.0,
            mcgstatus: c.1,
            mcgcap: if c.3 == Amd { 0 } else { c.2 },
            vendor: c.3,
            context: c.4,
            exception: c.5,
            ras_cap: if c.3 == Amd { c.2 as u32 } else { 0 },
        }
    }

    #[test]
    fn table_cases() {
        for (i, c) in CASES.iter().enumerate() {
            let g = grade(&input(c));
            assert_eq!((g.severity, g.msg), (c.6, c.7), "case {i}: {c:x?}");
        }
    }

    #[test]
    fn every_rule_reachable() {
        for (vendor, table) in [(Intel, &intel::RULES[..]), (Amd, &amd::RULES[..])] {
            for (idx, rule) in table.iter().enumerate() {
                let hit = CASES
                    .iter()
                    .filter(|c| (c.3 == Amd) == (vendor == Amd))
                    .any(|c| matching_rule(&input(c)) == Some(idx));
                assert!(
                    hit,
                    "{vendor:?} rule {idx} ({}) never first match",
                    rule.msg
                );
            }
        }
    }

    #[test]
    fn examples_from_the_brief() {
        let mut i = GradeInput {
            status: 0xbd80000000100134,
            mcgstatus: RE,
            mcgcap: SER,
            vendor: Intel,
            context: U,
            exception: true,
            ras_cap: 0,
        };
        assert_eq!(grade(&i).severity, AR_SEV);
        i.context = K;
        assert_eq!(grade(&i).severity, Panic);
        i.status = 0xbd000000000000c0;
        assert_eq!(grade(&i).severity, AO);
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for n in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = GradeInput {
                status: x,
                mcgstatus: x.rotate_left(7) & 0xf,
                mcgcap: if n & 1 == 0 { SER } else { NOSER },
                vendor: [Intel, Amd, Other][(n % 3) as usize],
                context: [U, K, KR][(n / 3 % 3) as usize],
                exception: n & 4 != 0,
                ras_cap: (n >> 3) & 3,
            };
            let g = grade(&i);
            if i.status & VAL == 0 {
                assert_eq!(g.severity, NoError);
            }
            if i.status & (VAL | PCC) == VAL | PCC && (i.status & EN != 0 || !i.exception) {
                assert_eq!(g.severity, Panic);
            }
        }
    }

    #[test]
    fn decisions_by_tolerant() {
        use Decision::{Continue as C, Recover as Rc};
        let fatal = Decision::Panic("Fatal machine check");
        let timeout = Decision::Panic("Timeout synchronizing machine check over CPUs");
        let t0 = Decision::Panic("Uncorrected machine check (tolerant=0)");
        // (worst, no_way_out, timed_out, [tolerant 0, 1, 2, 3])
        #[rustfmt::skip]
        let table: &[(Severity, bool, bool, [Decision; 4])] = &[
            (NoError, false, false, [C, C, C, C]),
            (Keep, false, false, [C, C, C, C]),
            (SOME, false, false, [C, C, C, C]),
            (Deferred, false, false, [Rc, Rc, Rc, C]),
            (AO, false, false, [t0, Rc, Rc, C]),
            (Uncorrected, false, false, [t0, Rc, Rc, C]),
            (AR_SEV, false, false, [t0, Rc, Rc, C]),
            (Panic, false, false, [fatal, fatal, fatal, C]),
            (SOME, true, false, [fatal, fatal, fatal, C]),
            (AR_SEV, false, true, [timeout, timeout, Rc, C]),
            (SOME, false, true, [timeout, timeout, C, C]),
        ];
        for (worst, nwo, to, want) in table {
            for (t, w) in want.iter().enumerate() {
                assert_eq!(decide(*worst, t as u8, *nwo, *to), *w, "{worst:?} t={t}");
            }
        }
        assert_eq!(decide(Panic, 255, true, true), C);
    }
}
