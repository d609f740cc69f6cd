//! Periodic polling of the banks (filled in by the machine-check core).

pub fn on_tick(_cpu: usize) {}

pub fn cmci_interrupt() {}
