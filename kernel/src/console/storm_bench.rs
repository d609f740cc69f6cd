//! `bench storm [n]`: how many corrected errors per second the kernel
//! absorbs during a storm, and the CPU time it spends on each: the calling
//! CPU puts a corrected error in a bank, runs the poller (as the tick or a
//! CMCI would) and lets the consumer handle the record, `n` times, after a
//! warm-up that starts the storm (so records take the storm path: logged,
//! counted, kept off the console).

use crate::arch::x86_64::{percpu, tsc};
use crate::kprint;
use crate::mca::msr::Msr;
use crate::mca::record::Source;
use crate::mca::{
    corrected::glue::poll, corrected::glue::storm, glue::state, log::glue::consumer, regs,
};

const BANK: u8 = 7;
/// VAL|EN|MISCV|ADDRV, memory controller read, channel 2.
const CE: u64 = 0x9c00_0000_0000_0092;

fn one(cpu: usize) {
    let m = state::cpu_msr(cpu);
    if crate::qemu::under_qemu() {
        m.write(regs::mc_addr(BANK), 0x1234_5000);
        m.write(regs::mc_misc(BANK), 0x8c);
        m.write(regs::mc_status(BANK), CE);
    } else {
        state::OVERLAYS[cpu].set_bank(BANK, CE, 0x1234_5000, 0x8c);
    }
    poll::poll_banks(cpu, Source::Poll);
}

pub fn run(n: u64) {
    let cpu = percpu::current().index as usize;
    let before_total = consumer::STATS.lock().total;
    let dropped_before = state::total_dropped();
    // Warm up until the bank is in a storm (bounded).
    for _ in 0..64 {
        if storm::in_storm(cpu, BANK) {
            break;
        }
        x86_64::instructions::interrupts::without_interrupts(|| one(cpu));
        consumer::drain();
    }
    if !storm::in_storm(cpu, BANK) {
        kprint!("bench: storm: the bank never entered a storm; nothing measured\n");
        return;
    }
    let counted = consumer::STATS.lock().total;
    let t0 = tsc::rdtsc();
    x86_64::instructions::interrupts::without_interrupts(|| {
        for i in 0..n {
            one(cpu);
            if i % 16 == 15 {
                consumer::drain();
            }
        }
        consumer::drain();
    });
    let cycles = tsc::rdtsc() - t0;
    let handled = consumer::STATS.lock().total - counted;
    let dropped = state::total_dropped() - dropped_before;
    let us = tsc::tsc_to_us(cycles).max(1);
    kprint!(
        "bench: storm {n} corrected errors: {} errors/s absorbed, {} cycles ({} ns) of CPU per error, {handled} records handled, {dropped} dropped, {} warm-up records\n",
        n * 1_000_000 / us,
        cycles / n.max(1),
        us * 1000 / n.max(1),
        counted - before_total
    );
}
