//! ERST under QEMU (`-device acpi-erst` backed by a file): fatal machine
//! checks survive a reboot, the store fills up and reclaims exported records,
//! corrupt records are reported and skipped, and several CPUs enumerate the
//! store at once.

use std::path::PathBuf;
use tests::mce::*;
use tests::*;

fn store(name: &str) -> PathBuf {
    let d = workspace_root()
        .join("target/test-vms")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.join("erst.bin")
}

/// The record id in a line like `erst: cpu1 bank 2 saved as record 0x...`
/// for the injected error in bank 2 (the broadcast's EN-clear filler in the
/// other CPUs' bank 1 is saved too, as a record of its own).
fn saved_id(vm: &Vm) -> String {
    let l = vm.grep(r"bank 2 saved as record 0x[0-9a-f]{16}");
    assert_eq!(l.len(), 1, "{}", vm.output());
    l[0].rsplit(' ').next().unwrap().to_string()
}

#[test]
fn a_fatal_machine_check_is_read_back_on_the_next_boot() {
    let erst = store("erst-fatal");
    let mut vm = boot_ready("erst-fatal-1", VmOptions::default().erst(erst.clone()));
    assert!(vm.output().contains("erst: 27 entries"), "{}", vm.output());
    mce_b(&mut vm, 1, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let id = saved_id(&vm);
    drop(vm);

    let mut vm = boot_ready("erst-fatal-2", VmOptions::default().erst(erst));
    let out = vm.output();
    assert!(
        out.contains(&format!(
            "erst: record {id}: machine check from an earlier boot:"
        )),
        "{out}"
    );
    assert!(
        out.contains("mce: CPU 1 BANK 2 (persistent, severity panic)"),
        "{out}"
    );
    assert!(
        out.contains("mce: STATUS b200000000000005 MCGSTATUS 7"),
        "{out}"
    );
    assert!(out.contains("mce: Processor context corrupt"));
    // The machine-readable copy: CPER signature first.
    let hex_id = id.trim_start_matches("0x");
    assert!(
        out.contains(&format!("erst-export {hex_id} 0000 43504552")),
        "{out}"
    );
    // The PCC, the other CPU's EN-clear filler (a record too) and the
    // console log parts (pstore) written after them.
    assert!(!vm
        .grep(r"erst: ([3-9]|\d{2,}) record\(s\) from earlier boots listed and exported")
        .is_empty());
    // Kept until asked: clearing is a console command.
    vm.send(&format!("erst clear {id}\r"));
    vm.expect_line(&format!("erst: cleared record {id}"), STEP);
    // What is left are the console log parts of the panic.
    vm.send("erst list\r");
    vm.expect_line(r"erst: \d+ record\(s\)", STEP);
    vm.send("erst clear all\r");
    vm.expect_line(r"erst: cleared \d+ record\(s\)", STEP);
    vm.send("erst list\r");
    vm.expect_line(r"erst: 0 record\(s\)", STEP);
    vm.quit();
}

#[test]
fn a_full_store_reclaims_the_oldest_exported_record() {
    let erst = store("erst-full");
    let mut vm = boot_ready("erst-full-1", VmOptions::default().erst(erst.clone()));
    vm.send("erst fill\r");
    let line = vm.expect_line(r"erst: wrote \d+ record\(s\); then: ", STEP);
    assert!(line.contains("the error record store is full"), "{line}");
    vm.quit();
    drop(vm);

    // Next boot: the records are listed (exported); a fatal error then needs
    // room and takes the oldest exported record's place.
    let mut vm = boot_ready("erst-full-2", VmOptions::default().erst(erst.clone()));
    let listed = vm
        .grep(r"erst: record 0x[0-9a-f]+: machine check from an earlier boot")
        .len();
    assert!(listed >= 2, "{}", vm.output());
    let first = vm.grep(r"erst: record 0x[0-9a-f]+: machine check")[0].clone();
    let oldest = first
        .split("record ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string();
    mce_b(&mut vm, 0, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains(&format!(
            "erst: store full: cleared exported record {oldest} (oldest) to make room"
        )),
        "{out}"
    );
    let id = saved_id(&vm);
    drop(vm);

    let vm = boot_ready("erst-full-3", VmOptions::default().erst(erst));
    let out = vm.output();
    assert!(
        out.contains(&format!(
            "erst: record {id}: machine check from an earlier boot"
        )),
        "{out}"
    );
    assert!(!out.contains(&format!("erst: record {oldest}:")), "{out}");
}

#[test]
fn a_corrupt_record_is_reported_and_skipped() {
    let erst = store("erst-corrupt");
    let mut vm = boot_ready("erst-corrupt-1", VmOptions::default().erst(erst.clone()));
    mce_b(&mut vm, 0, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    drop(vm);
    // Break the stored records (the PCC and the other CPU's filler): each
    // section descriptor now points outside.
    let mut bytes = std::fs::read(&erst).unwrap();
    let ats: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"CPER")
        .map(|(i, _)| i)
        .collect();
    assert!(!ats.is_empty(), "a CPER record in the store");
    for at in ats {
        bytes[at + 128..at + 132].copy_from_slice(&0xffff_0000u32.to_le_bytes());
    }
    std::fs::write(&erst, &bytes).unwrap();

    let vm = boot_ready("erst-corrupt-2", VmOptions::default().erst(erst));
    let out = vm.output();
    let line = vm.grep(r"erst: record 0x[0-9a-f]+: ");
    assert!(!line.is_empty(), "{out}");
    assert!(
        !line[0].contains("machine check from an earlier boot"),
        "{out}"
    );
    assert!(line[0].contains("section"), "{}", line[0]);
    assert!(
        !out.contains("(persistent"),
        "a corrupt record must not be decoded: {out}"
    );
}

#[test]
fn several_cpus_enumerate_the_store_at_once() {
    let erst = store("erst-readers");
    let mut vm = boot_ready("erst-readers", VmOptions::default().erst(erst));
    vm.send("erst fill\r");
    vm.expect_line(r"erst: wrote \d+ record\(s\)", STEP);
    vm.send("erst readers\r");
    for cpu in 0..4 {
        vm.expect_anywhere(
            &format!(r"erst: cpu{cpu} enumerated [1-9]\d* record\(s\)$"),
            STEP,
        );
    }
    vm.expect_line(
        r"erst: concurrent enumeration on 4 CPUs: every CPU saw every record",
        STEP,
    );
    vm.quit();
}
