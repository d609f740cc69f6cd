//! x86_64 primitives: CPU identification, MSRs, descriptor tables, the local
//! APIC, the PIT, the TSC clock, per-CPU data and AP start-up. Each file is
//! small and documents its `unsafe`.

pub mod apic;
pub mod cpu;
pub mod gdt;
pub mod idt;
pub mod msr;
pub mod percpu;
pub mod pit;
pub mod rtc;
pub mod trampoline;
pub mod tsc;
