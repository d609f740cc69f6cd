//! AMD's recovery rules in QEMU's AMD model (`-cpu max`): TCG offers neither
//! SUCCOR nor Scalable MCA (CPUID 8000_0007 EBX is 0), so the kernel must say
//! so and panic on an uncorrected error it cannot know was contained, as
//! Linux's `mce_severity_amd` does. Legacy banks (0x400 + 4*bank) are used;
//! SMCA banks are covered by host tests with simulated MSRs.

use tests::*;

#[test]
fn uncorrected_error_without_succor_panics() {
    let mut vm = boot_ready("amd-no-succor", VmOptions::default().cpu("amd"));
    vm.expect_anywhere(
        r"mce: AMD RAS: SUCCOR no, McaOverflowRecov no, Scalable MCA no \(uncorrected errors panic\)",
        STEP,
    );
    vm.expect_anywhere(r"rasos> ", STEP);
    // A UC with AMD's poison bit (43), no PCC: with SUCCOR it would be
    // graded by context.
    vm.send("inject CPU 1 BANK 3 STATUS UNCORRECTED 0x80000000135 EXCP\r");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("mce: CPU 1 BANK 3 (exception, severity panic)"),
        "{out}"
    );
    assert!(
        out.contains(
            "Kernel panic - not syncing: Fatal machine check: Uncorrected error without MCA Recovery"
        ),
        "{out}"
    );
}
