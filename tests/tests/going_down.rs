//! Nothing lost when the machine goes down, on any number of CPUs:
//! broadcasts complete at 32 and 64 vCPUs on an overcommitted host, console
//! lines from #MC context stay whole, the panic path prints and saves every
//! record while another CPU holds the heap or the console, banks are left
//! as they were, and the global no-way-out makes every CPU log all it holds.

use std::time::{Duration, Instant};
use tests::mce::*;
use tests::*;

/// Boots with `cpus` vCPUs (AP start-up under TCG is slow at high counts).
fn boot_many(name: &str, cpus: u32, cmdline: &str) -> Vm {
    let vm = boot_ready(
        name,
        VmOptions::default()
            .cpus(cpus)
            .mem("1G")
            .cmdline(cmdline),
    );
    assert!(
        vm.output().contains(&format!("smp: {cpus} of {cpus} CPUs online")),
        "{}",
        vm.output()
    );
    vm
}

fn srao_broadcasts_complete(cpus: u32) {
    let mut vm = boot_many(&format!("down-srao-{cpus}"), cpus, "");
    for n in 1..=3u32 {
        let addr = format!("{:#x}", 0x1000_0000u64 + n as u64 * 0x10_0000);
        let t = Instant::now();
        mce_b(&mut vm, 0, 1, SRAO_SCRUB, RIPV_MCIP, &addr, MISC_PHYS_LSB12);
        vm.expect_anywhere(
            &format!(r"mce: rendezvous {n}: CPUs 0,1,.*,{} met and were released", cpus - 1),
            Duration::from_secs(120),
        );
        eprintln!("{cpus} vCPUs: broadcast {n} handled in {:?}", t.elapsed());
    }
    assert!(vm.grep("timeout in machine-check rendezvous").is_empty(), "{}", vm.output());
    assert!(vm.grep("Kernel panic").is_empty(), "{}", vm.output());
    assert_eq!(vm.grep(r"mce: CPU 0 BANK 1 \(exception, severity SRAO\)").len(), 3);
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}

#[test]
fn broadcast_sraos_complete_at_32_vcpus() {
    srao_broadcasts_complete(32);
}

#[test]
fn broadcast_sraos_complete_at_64_vcpus() {
    srao_broadcasts_complete(64);
}
