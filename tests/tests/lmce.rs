//! Local machine checks (LMCE). What QEMU shows: TCG (7.2 and 10) offers
//! MCG_CAP.LMCE_P with `-cpu ...,lmce=on`, but IA32_FEATURE_CONTROL reads
//! as 0 (not locked, bit 20 clear) and MCG_EXT_CTL is not kept, so the kernel
//! rightly leaves LMCE off and QEMU never sets MCG_STATUS.LMCE_S itself. The
//! enable decision for every MSR combination is host-tested with simulated
//! MSRs (kernel `mca::vendor::intel` tests). The local #MC path is driven
//! here by the software injector (overlay MSRs with MCG_STATUS.LMCE_S, raised
//! on one CPU only): the kernel's real handler must decide on that CPU alone.

use std::time::Duration;
use tests::tasks::*;
use tests::*;

const INTEL_LMCE: &str = "max,vendor=GenuineIntel,family=6,model=85,stepping=4,lmce=on";

/// Without `lmce=on` the line says `LMCE off (not offered)`: checked with
/// the rest of the inventory line in mce.rs.
#[test]
fn inventory_line_says_why_lmce_is_off_when_offered() {
    let mut vm = boot_ready("lmce-inv-tcg", VmOptions::default().cpus(2).cpu(INTEL_LMCE));
    // LMCE_P offered, but the firmware (QEMU TCG) never locked
    // FEATURE_CONTROL: Linux leaves LMCE off then, and so does the kernel.
    assert_eq!(
        vm.grep(r"mce: cpu\d: .* LMCE_P.*; LMCE off \(FEATURE_CONTROL not locked\)")
            .len(),
        2,
        "{}",
        vm.output()
    );
    assert!(vm.grep("LMCE on").is_empty(), "{}", vm.output());
    vm.quit();
}

/// `cpus` listing: how many #MC each CPU took.
fn mc_taken(vm: &mut Vm) -> Vec<u64> {
    vm.send("cpus\r");
    vm.expect_line(r"CPU\(s\) online", STEP);
    vm.expect_anywhere(r"rasos> $", STEP);
    std::thread::sleep(Duration::from_millis(300));
    let re = regex::Regex::new(r"^cpu(\d+): APIC id .*#MC taken (\d+),").unwrap();
    let lines = vm.lines();
    let start = lines
        .iter()
        .rposition(|l| l.contains("CPU(s) online"))
        .unwrap_or(0);
    let mut taken = vec![0; 4];
    for c in lines[start..].iter().filter_map(|l| re.captures(l)) {
        taken[c[1].parse::<usize>().unwrap()] = c[2].parse().unwrap();
    }
    taken
}

#[test]
fn a_local_srar_in_user_mode_is_decided_by_its_cpu_alone() {
    let mut vm = boot_ready(
        "lmce-srar",
        VmOptions::default()
            .cpu(INTEL_LMCE)
            .cmdline("mce.monarch_timeout_us=200000"),
    );
    vm.expect_anywhere(r"rasos> ", STEP);
    vm.send("run toucher cpu=1\r");
    let line = vm.expect_line(r"run: task \d+ toucher started, pinned to cpu1$", STEP);
    let id: u32 = line
        .split_whitespace()
        .skip_while(|w| *w != "task")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let re = regex::Regex::new(&format!(
        r"^\s+task {id} page: virtual 0x[0-9a-f]+ physical (0x[0-9a-f]+) data"
    ))
    .unwrap();
    let mut page = None;
    for _ in 0..20 {
        vm.send("tasks\r");
        vm.expect_line(r"^\d+ task\(s\)$", STEP);
        vm.expect_anywhere(r"rasos> $", STEP);
        std::thread::sleep(Duration::from_millis(300));
        page = vm
            .lines()
            .iter()
            .rev()
            .find_map(|l| re.captures(l).map(|c| hex(&c[1])));
        if page.is_some() {
            break;
        }
    }
    let page = page.expect("the toucher maps a data page");
    let before = mc_taken(&mut vm);

    // SRAR data load, MCG_STATUS RIPV|EIPV|MCIP|LMCE_S, raised when cpu1 next
    // returns to the toucher.
    vm.send(&format!(
        "inject CPU 1 BANK 1 STATUS {} MCGSTATUS RIPV EIPV MCIP LMCES ADDR {:#x} MISC 0x8c EXCP IN_PROC\r",
        tests::mce::SRAR_DATA_LOAD,
        page + 0x40
    ));
    let done = vm.expect_line(r"inject: (done|failed)", STEP);
    assert!(done.contains("inject: done"), "{done}");
    assert!(!done.contains("broadcast"), "{done}");
    // The record says it was local (mcelog's MCG status line).
    vm.expect_anywhere(r"mce: MCG status:RIPV EIPV MCIP LMCE $", STEP);
    vm.expect_anywhere(
        &format!(r"task {id} toucher killed: machine check \(SRAR\) at physical 0x[0-9a-f]+"),
        STEP,
    );
    vm.expect_anywhere(r"mce: CPU 1 BANK 1 \(exception, severity SRAR\)$", STEP);
    let after = mc_taken(&mut vm);
    assert_eq!(
        after[1],
        before[1] + 1,
        "cpu1 took the #MC: {before:?} -> {after:?}"
    );
    for cpu in [0, 2, 3] {
        assert_eq!(
            after[cpu], before[cpu],
            "cpu{cpu} never entered #MC: {before:?} -> {after:?}"
        );
    }
    let out = vm.output();
    assert!(vm.grep("rendezvous").is_empty(), "{out}");
    assert!(
        !out.contains("Kernel panic") && !out.contains("KERNEL PANIC"),
        "{out}"
    );
    vm.quit();
}
