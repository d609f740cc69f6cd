//! The console log kept in ERST as Linux's pstore keeps it: a fatal machine
//! check's panic log is read back on the next boot; a store with room for
//! the MCE record only keeps that record and says the log was not saved;
//! a store holding Linux's own pstore records (built here in Linux's
//! layout) lists them, a malformed one described and skipped.

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

/// The record id ending a line like `... written as record 0x...`.
fn last_word(l: &str) -> String {
    l.rsplit(' ').next().unwrap().to_string()
}

#[test]
fn the_panic_log_is_read_back_on_the_next_boot() {
    let erst = store("pstore-panic");
    let mut vm = boot_ready("pstore-panic-1", VmOptions::default().erst(erst.clone()));
    mce_b(&mut vm, 1, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    // The MCE record first, then the log.
    let mce_at = out
        .find("erst: cpu1 bank 2 saved as record")
        .expect("MCE saved");
    let part1 =
        vm.grep(r"pstore: Panic#1 Part1 \(\d+ bytes of log\) written as record 0x[0-9a-f]{16}$");
    assert_eq!(part1.len(), 1, "{out}");
    assert!(out.find("pstore: Panic#1 Part1").unwrap() > mce_at, "{out}");
    assert!(
        out.contains("pstore: console log of Panic#1 saved: "),
        "{out}"
    );
    let id = last_word(&part1[0]);
    drop(vm);

    let mut vm = boot_ready("pstore-panic-2", VmOptions::default().erst(erst));
    let out = vm.output();
    assert!(
        out.contains(&format!(
            "erst: record {id}: console log from an earlier boot (pstore dmesg Panic#1 Part1)"
        )),
        "{out}"
    );
    // The previous boot's panic line, as it printed it.
    assert!(
        !vm.grep(r"erst:   \| <3>\[ *\d+\.\d{6}\] Kernel panic - not syncing: Fatal machine check")
            .is_empty(),
        "{out}"
    );
    assert!(
        out.contains("mce: CPU 1 BANK 2 (persistent, severity panic)"),
        "{out}"
    );
    vm.send("erst list\r");
    vm.expect_line(
        &format!(r"{id} exported dmesg Panic#1 Part1 \d+ bytes of log"),
        STEP,
    );
    vm.send(&format!("erst show {id}\r"));
    // The whole part: the dump's header line too.
    vm.expect_line(
        r"erst:   \| .*mce: \[Hardware Error\]: .*printing all machine-check records",
        STEP,
    );
    vm.send("erst export\r");
    vm.expect_line(r"erst: exported \d+ record\(s\)", STEP);
    assert!(!vm
        .grep(&format!(
            "erst-export {} 00c0 ",
            id.trim_start_matches("0x")
        ))
        .is_empty());
    vm.quit();
}

#[test]
fn a_store_too_small_for_the_log_keeps_the_mce_record() {
    let erst = store("pstore-small");
    let mut vm = boot_ready("pstore-small-1", VmOptions::default().erst(erst.clone()));
    // Full of this boot's (not exported, so not reclaimable) records...
    vm.send("erst fill\r");
    vm.expect_line(r"erst: wrote \d+ record\(s\); then: ", STEP);
    vm.send("erst list\r");
    let first = vm.expect_line(r"^  0x[0-9a-f]{16} new ", STEP);
    let second = vm.expect_line(r"^  0x[0-9a-f]{16} new ", STEP);
    // ...but two: room for the machine-check records alone (the PCC and
    // the other CPU's EN-clear filler, a record too).
    for line in [first, second] {
        let victim = line.split_whitespace().next().unwrap().to_string();
        vm.send(&format!("erst clear {victim}\r"));
        vm.expect_line(&format!("erst: cleared record {victim}"), STEP);
    }
    mce_b(&mut vm, 1, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0");
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    let saved = vm.grep(r"erst: cpu1 bank 2 saved as record 0x[0-9a-f]{16}$");
    assert_eq!(saved.len(), 1, "{out}");
    let id = last_word(&saved[0]);
    assert!(
        out.contains("erst: store full and no exported record to reclaim; record not saved"),
        "{out}"
    );
    assert!(
        !vm.grep(r"pstore: console log of Panic#1: parts 1\.\.\d+ not saved \(\d+ bytes of log lost\); the machine-check records came first")
            .is_empty(),
        "{out}"
    );
    assert!(
        vm.grep(r"pstore: Panic#1 Part\d+ .* written as record")
            .is_empty(),
        "{out}"
    );
    drop(vm);

    let vm = boot_ready("pstore-small-2", VmOptions::default().erst(erst));
    let out = vm.output();
    assert!(
        out.contains(&format!(
            "erst: record {id}: machine check from an earlier boot"
        )),
        "{out}"
    );
    assert!(!out.contains("console log from an earlier boot"), "{out}");
}

/// A record as Linux's `erst_writer` makes it (drivers/acpi/apei/erst.c):
/// header, one section descriptor, the body at 200.
fn linux_pstore_record(id: u64, section_type: [u8; 16], body: &[u8], unix: u64) -> Vec<u8> {
    const CREATOR_PSTORE: [u8; 16] = guid(
        0x75a574e3,
        0x5052,
        0x4b29,
        [0x8a, 0x8e, 0xbe, 0x2c, 0x64, 0x90, 0xb8, 0x9d],
    );
    const NOTIFY_MCE: [u8; 16] = guid(
        0xe8f56ffe,
        0x919c,
        0x4cc5,
        [0xba, 0x88, 0x65, 0xab, 0xe1, 0x49, 0x13, 0xbb],
    );
    let mut r = vec![0u8; 200];
    r[0..4].copy_from_slice(b"CPER");
    r[4..6].copy_from_slice(&0x0100u16.to_le_bytes());
    r[6..10].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
    r[10..12].copy_from_slice(&1u16.to_le_bytes());
    r[12..16].copy_from_slice(&1u32.to_le_bytes()); // CPER_SEV_FATAL
    r[16..20].copy_from_slice(&2u32.to_le_bytes()); // CPER_VALID_TIMESTAMP
    r[20..24].copy_from_slice(&((200 + body.len()) as u32).to_le_bytes());
    r[24..32].copy_from_slice(&unix.to_le_bytes());
    r[64..80].copy_from_slice(&CREATOR_PSTORE);
    r[80..96].copy_from_slice(&NOTIFY_MCE);
    r[96..104].copy_from_slice(&id.to_le_bytes());
    r[104..108].copy_from_slice(&2u32.to_le_bytes()); // CPER_HW_ERROR_FLAGS_PREVERR
    r[128..132].copy_from_slice(&200u32.to_le_bytes());
    r[132..136].copy_from_slice(&(body.len() as u32).to_le_bytes());
    r[136..138].copy_from_slice(&0x0100u16.to_le_bytes());
    r[140..144].copy_from_slice(&1u32.to_le_bytes()); // CPER_SEC_PRIMARY
    r[144..160].copy_from_slice(&section_type);
    r[176..180].copy_from_slice(&1u32.to_le_bytes());
    r.extend_from_slice(body);
    r
}

const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

#[test]
fn linuxs_pstore_records_are_listed() {
    const DMESG: [u8; 16] = guid(
        0xc197e04e,
        0xd545,
        0x4a70,
        [0x9c, 0x17, 0xa5, 0x54, 0x94, 0x19, 0xeb, 0x12],
    );
    const DMESG_Z: [u8; 16] = guid(
        0x4f118707,
        0x04dd,
        0x4055,
        [0xb5, 0xdd, 0x95, 0x6d, 0x34, 0xdd, 0xfa, 0xc6],
    );
    let erst = store("pstore-linux");
    let mut vm = boot_ready("pstore-linux-1", VmOptions::default().erst(erst.clone()));
    vm.send("erst fill\r");
    vm.expect_line(r"erst: wrote \d+ record\(s\); then: ", STEP);
    vm.quit();
    drop(vm);

    // Turn the first three MCE records into Linux's pstore records, each
    // keeping its slot and record id; the fourth stays an MCE record.
    let mut bytes = std::fs::read(&erst).unwrap();
    let at: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"CPER")
        .map(|(i, _)| i)
        .collect();
    assert!(at.len() >= 4, "records in the store: {}", at.len());
    let slot = at[1] - at[0];
    let id_of = |b: &[u8], i: usize| u64::from_le_bytes(b[i + 96..i + 104].try_into().unwrap());
    let ids: Vec<u64> = at[..4].iter().map(|i| id_of(&bytes, *i)).collect();
    let text = b"Panic#2 Part1\n<4>[  812.000102] mce: [Hardware Error]: CPU 3: Machine Check Exception: 5 Bank 4: b200000000000005\n<0>[  812.000200] Kernel panic - not syncing: Fatal machine check\n";
    let compressed: Vec<u8> = (0..700u32).map(|i| (i * 37 % 251) as u8).collect();
    let mut bad = linux_pstore_record(ids[2], DMESG, b"Oops#1 Part1\nshort\n", 1_700_000_300);
    // The section claims more than the record holds.
    bad[132..136].copy_from_slice(&4000u32.to_le_bytes());
    let recs = [
        linux_pstore_record(ids[0], DMESG, text, 1_700_000_100),
        linux_pstore_record(ids[1], DMESG_Z, &compressed, 1_700_000_200),
        bad,
    ];
    for (i, r) in recs.iter().enumerate() {
        assert!(r.len() <= slot);
        bytes[at[i]..at[i] + slot].fill(0);
        bytes[at[i]..at[i] + r.len()].copy_from_slice(r);
    }
    std::fs::write(&erst, &bytes).unwrap();

    let mut vm = boot_ready("pstore-linux-2", VmOptions::default().erst(erst));
    let out = vm.output();
    let hex = |id: u64| format!("{id:#018x}");
    assert!(
        out.contains(&format!(
            "erst: record {}: console log from an earlier boot (pstore dmesg Panic#2 Part1), {} bytes, 2 line(s), written at Unix time 1700000100:",
            hex(ids[0]),
            text.len() - 14
        )),
        "{out}"
    );
    assert!(
        out.contains("erst:   | <0>[  812.000200] Kernel panic - not syncing: Fatal machine check"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "erst: record {}: Linux pstore compressed console log (dmesg-Z), 700 bytes, written at Unix time 1700000200; not decoded",
            hex(ids[1])
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("erst: record {}: ", hex(ids[2])))
            && !out.contains("erst:   | short"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "erst: record {}: machine check from an earlier boot",
            hex(ids[3])
        )),
        "{out}"
    );
    vm.send("erst list\r");
    vm.expect_line(
        &format!("{} exported dmesg Panic#2 Part1 ", hex(ids[0])),
        STEP,
    );
    vm.expect_line(
        &format!(
            r"{} exported dmesg-Z compressed 700 bytes \(Linux's; not decoded\)",
            hex(ids[1])
        ),
        STEP,
    );
    vm.expect_line(&format!("{} exported ", hex(ids[2])), STEP);
    vm.expect_line(&format!("{} exported MCE cpu0 bank 9", hex(ids[3])), STEP);
    vm.quit();
}
