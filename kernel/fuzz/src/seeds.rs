//! The seed corpus: a few valid inputs per target, built from the same
//! layouts the kernel's unit tests use (QEMU-like ERST and EINJ, a HEST with
//! every source type, Linux's MCE record, ...). `tests/seeds.rs` writes them
//! to `corpus/<target>/` and checks the checked-in files are current.

use kernel::apei::cper::{
    self, block_status, entry_valid, guids, mem_valid, CperHeader, CperSeverity, CperTimestamp,
    MemoryError, ProcessorGenericError, SectionDescriptor,
};
use kernel::apei::guid::Guid;
use kernel::mca::record::{CpuVendor, MceRecord, Severity, Source};

use crate::{entry, gas_bytes, make_table};

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[&str] = &[
    "sdt_header",
    "erst_table",
    "einj_table",
    "hest",
    "bert_region",
    "cper_record",
    "pstore_record",
    "error_status_block",
    "cper_sections",
    "ghes_service",
    "apei_entries",
    "gas",
    "rsdp",
    "root_table",
    "mce_inject",
    "config",
    "shell_words",
    "shell_editor",
    "keymap",
];

/// (target, file name, contents) for every seed.
pub fn all() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut s: Vec<(&'static str, &'static str, Vec<u8>)> = Vec::new();
    let mut add = |t, n, b: Vec<u8>| s.push((t, n, b));

    add("sdt_header", "erst", qemu_erst(48));
    add("sdt_header", "empty_body", make_table(b"SSDT", 2, &[]));
    add("sdt_header", "rsdt", rsdt());

    add("erst_table", "qemu", qemu_erst(48));
    add("erst_table", "header_length_12", qemu_erst(12));
    add("erst_table", "no_entries", erst_table(48, &[]));

    add("einj_table", "qemu", qemu_einj(12, true));
    add("einj_table", "no_setwa_48", qemu_einj(48, false));
    add("einj_table", "harness", einj_harness_table());
    add("einj_table", "trigger", trigger_table(16, 2, None));
    add("einj_table", "trigger_empty", trigger_table(16, 0, None));

    add("hest", "all_types", hest_all());
    add("hest", "mce_only", hest(1, &[hest_mce(0, 1, &[0, 1, 2])]));

    add("bert_region", "bert", bert(0x1000));
    add(
        "bert_region",
        "one_block",
        [memory_block(0x1_2345_6000), vec![0; 20]].concat(),
    );
    add(
        "bert_region",
        "two_blocks",
        [memory_block(0x1000), proc_block(), vec![0; 4]].concat(),
    );

    add(
        "cper_record",
        "linux_mce",
        cper::encode_mce(&mce_record(), 0x6000_0000_0000_0001, Some(1_709_210_096)),
    );
    add(
        "cper_record",
        "linux_mce_no_time",
        cper::encode_mce(&mce_record(), 1, None),
    );
    add("cper_record", "memory", memory_record());
    add("cper_record", "two_sections", two_section_record());
    add("pstore_record", "panic_part1", {
        let text = b"[    2.000000] ERROR Kernel panic - not syncing: Fatal machine check\n";
        let mut out = vec![0u8; 512];
        let n = kernel::pstore::record::encode_dmesg(1, 1, text, 0x6000_0000_0000_0002, Some(1_709_210_096), &mut out)
            .expect("fits");
        out.truncate(n);
        out
    });

    add("error_status_block", "memory", memory_block(0x1_2345_6000));
    add("error_status_block", "processor_v2", proc_block());
    add("error_status_block", "raw_data", raw_data_block());
    add("error_status_block", "empty", block(0, 3, &[]));

    add(
        "cper_sections",
        "memory",
        [&[0u8, 2][..], &memory_error_payload(0x1000)].concat(),
    );
    add(
        "cper_sections",
        "processor",
        [&[1u8, 1][..], &processor_payload()].concat(),
    );
    add("cper_sections", "pcie", [&[2u8, 3][..], &pcie_payload()].concat());
    add(
        "cper_sections",
        "fw_record_ref",
        [&[3u8, 0, 2, 2, 0, 0, 0, 0, 0, 0][..], &[0x11; 30]].concat(),
    );
    add(
        "cper_sections",
        "unknown",
        [&[5u8, 1][..], &[0x42; 16], b"vendor data"].concat(),
    );

    add(
        "ghes_service",
        "v2_memory",
        ghes_input(1, 4096, 0, memory_block(0x1_2345_6000)),
    );
    add("ghes_service", "v1_processor", ghes_input(0, 4096, 0, proc_block()));
    add(
        "ghes_service",
        "v2_offset_too_long",
        ghes_input(1, 100, 4, memory_block(0x1000)),
    );

    add(
        "apei_entries",
        "erst",
        entries_input(0, &qemu_erst_entries()),
    );
    add(
        "apei_entries",
        "einj",
        entries_input(1, &qemu_einj_entries(true)),
    );
    add("apei_entries", "loop", entries_input(0, &loop_entries()));

    add(
        "gas",
        "memory_dword",
        gas_input(gas_bytes(0, 32, 0, 3, 0x1000), 0x1234_5678),
    );
    add(
        "gas",
        "io_bits",
        gas_input(gas_bytes(1, 4, 3, 1, 0xb2), 0xf),
    );
    add(
        "gas",
        "legacy_size",
        gas_input(gas_bytes(0, 64, 0, 0, 0xfed4_0008), u64::MAX),
    );

    add("rsdp", "v1", rsdp(0));
    add("rsdp", "v2", rsdp(2));

    add("root_table", "rsdt", rsdt());
    add("root_table", "xsdt", xsdt());

    for (name, text) in INJECT_TEXTS {
        add("mce_inject", name, text.as_bytes().to_vec());
    }

    add(
        "config",
        "all_keys",
        b"mce.tolerant=2 mce.monarch_timeout_us=500000 mce.poll_ms=100 mce.ring_capacity=128 \
          mce.storm_threshold=5 mce.storm_poll_ms=1000 mce.storm_clean_polls=30 cec.threshold=10 \
          cec.window_s=86400 einj=on log=debug mce.test_unresponsive_cpu=3 test=panic"
            .to_vec(),
    );
    add(
        "config",
        "problems",
        b"log=loud mce.tolerant=0x2 bogus=1 noequals einj=off".to_vec(),
    );

    add(
        "shell_words",
        "quotes",
        br#"erst dump 0x1000 "two words" 'single \ quoted' esc\ aped # note"#.to_vec(),
    );
    add(
        "shell_words",
        "escapes",
        br#"inject "a \"b\" \\c \d" '' """#.to_vec(),
    );

    add(
        "shell_editor",
        "lines",
        b"help\rerst list\r\ninject CPU 0 BANK 1\n".to_vec(),
    );
    add(
        "shell_editor",
        "editing",
        b"abc def\x1b[D\x1b[D\x7fX\x01Y\x05\x17\x1b[1;5D\x1b[3~\x1bOH\x1b[F\x0bq\x15zz\r\x1b[A\x1b[A\x1b[B\r\x10\x0e\x0c\x03".to_vec(),
    );
    add("shell_editor", "complete", b"he\t\rin\t\t\re\t \r".to_vec());

    // "help", Enter, Shift-h, arrows, caps lock, Ctrl-c.
    add(
        "keymap",
        "typing",
        vec![
            0x23, 0xa3, 0x12, 0x92, 0x26, 0xa6, 0x19, 0x99, 0x1c, 0x9c, 0x2a, 0x23, 0xa3, 0xaa,
            0xe0, 0x48, 0xe0, 0xc8, 0xe0, 0x4b, 0xe0, 0xcb, 0x3a, 0xba, 0x1e, 0x9e, 0x3a, 0xba,
            0x1d, 0x2e, 0xae, 0x9d, 0xe0, 0x53, 0xe0, 0xd3, 0xe0, 0x1c, 0xe0, 0x9c,
        ],
    );
    s
}

// ---------------------------------------------------------------------------
// ERST and EINJ

const MEM: u8 = 0;
/// QEMU's ERST register bank: ACTION at +0, VALUE at +8.
const ERST_BASE: u64 = 0xfebf_f000;

/// The entries QEMU's ERST declares (hw/acpi/erst.c), in its shape: write
/// the action number to the ACTION register, then read or write VALUE.
pub fn qemu_erst_entries() -> Vec<[u8; 32]> {
    let action_reg = gas_bytes(MEM, 32, 0, 3, ERST_BASE);
    let value32 = gas_bytes(MEM, 32, 0, 3, ERST_BASE + 8);
    let value64 = gas_bytes(MEM, 64, 0, 4, ERST_BASE + 8);
    const RD: u8 = 0;
    const RD_VAL: u8 = 1;
    const WR: u8 = 2;
    const WR_VAL: u8 = 3;
    let mut e = Vec::new();
    let select = |a: u8| entry(a, WR_VAL, 0, action_reg, a as u64, 0xffff_ffff);
    for a in [0u8, 1, 2, 3, 0xb] {
        // BEGIN_WRITE/READ/CLEAR, END, BEGIN_DUMMY_WRITE
        e.push(select(a));
    }
    // SET_RECORD_OFFSET
    e.push(entry(4, WR, 0, value32, 0, 0xffff_ffff));
    e.push(select(4));
    // EXECUTE_OPERATION: the magic byte to VALUE.
    e.push(entry(
        5,
        WR_VAL,
        0,
        gas_bytes(MEM, 8, 0, 1, ERST_BASE + 8),
        0x9c,
        0xff,
    ));
    // CHECK_BUSY_STATUS
    e.push(select(6));
    e.push(entry(6, RD_VAL, 0, value32, 1, 1));
    // GET_COMMAND_STATUS, GET_RECORD_IDENTIFIER, GET_RECORD_COUNT,
    // GET_ERROR_LOG_ADDRESS_RANGE(_LENGTH/_ATTRIBUTES), GET_EXECUTE_OPERATION_TIMINGS
    for (a, wide) in [
        (7u8, false),
        (8, true),
        (0xa, false),
        (0xd, true),
        (0xe, false),
        (0xf, false),
        (0x10, true),
    ] {
        e.push(select(a));
        if wide {
            e.push(entry(a, RD, 0, value64, 0, u64::MAX));
        } else {
            e.push(entry(a, RD, 0, value32, 0, 0xffff_ffff));
        }
    }
    // SET_RECORD_IDENTIFIER
    e.push(entry(9, WR, 0, value64, 0, u64::MAX));
    e.push(select(9));
    e
}

pub fn erst_table(header_length: u32, entries: &[[u8; 32]]) -> Vec<u8> {
    let mut body = header_length.to_le_bytes().to_vec();
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    entries.iter().for_each(|e| body.extend_from_slice(e));
    make_table(b"ERST", 1, &body)
}

pub fn qemu_erst(header_length: u32) -> Vec<u8> {
    erst_table(header_length, &qemu_erst_entries())
}

/// An EINJ in the common firmware shape: action selection through a
/// command register, SET_ERROR_TYPE_WITH_ADDRESS when `setwa`.
pub fn qemu_einj_entries(setwa: bool) -> Vec<[u8; 32]> {
    let base = 0x7fe0_0000u64;
    let r32 = |off: u64| gas_bytes(MEM, 32, 0, 3, base + off);
    let r64 = |off: u64| gas_bytes(MEM, 64, 0, 4, base + off);
    let mut e = vec![
        entry(0, 3, 1, r32(0), 1, 0xffff_ffff),  // BEGIN: write 1
        entry(1, 0, 1, r64(8), 0, u64::MAX),     // GET_TRIGGER_ERROR_ACTION_TABLE
        entry(2, 2, 1, r32(16), 0, 0xffff_ffff), // SET_ERROR_TYPE
        entry(3, 0, 1, r32(24), 0, 0xffff_ffff), // GET_ERROR_TYPE
        entry(4, 3, 1, r32(0), 0, 0xffff_ffff),  // END
        entry(5, 3, 1, gas_bytes(1, 8, 0, 1, 0xb2), 0x9a, 0xff), // EXECUTE: SMI port
        entry(6, 1, 1, r32(32), 1, 1),           // CHECK_BUSY_STATUS
        entry(7, 0, 1, r32(40), 0, 0x1fe),       // GET_COMMAND_STATUS
        entry(9, 0, 1, r64(48), 0, u64::MAX),    // GET_EXECUTE_OPERATION_TIMINGS
        entry(5, 4, 0, [0; 12], 0, 0),           // NOOP
    ];
    if setwa {
        e.push(entry(8, 2, 1, r64(56), 0, u64::MAX));
    }
    e
}

pub fn einj_table(header_size: u32, entries: &[[u8; 32]]) -> Vec<u8> {
    let mut body = header_size.to_le_bytes().to_vec();
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    entries.iter().for_each(|e| body.extend_from_slice(e));
    make_table(b"EINJ", 1, &body)
}

pub fn qemu_einj(header_size: u32, setwa: bool) -> Vec<u8> {
    einj_table(header_size, &qemu_einj_entries(setwa))
}

/// Where the einj target's simulated firmware keeps its registers.
pub const EINJ_CTRL: u64 = 0x1000;
/// Where the einj target maps its input as the trigger error action table.
pub const EINJ_TRIGGER_AT: u64 = 0x10_0000;

/// The EINJ the einj target injects through: every register in the page
/// at [`EINJ_CTRL`]; GET_TRIGGER_ERROR_ACTION_TABLE reads the u64 at
/// `EINJ_CTRL + 0x28`, where the target puts [`EINJ_TRIGGER_AT`].
pub fn einj_harness_table() -> Vec<u8> {
    let c = EINJ_CTRL;
    let r32 = |off: u64| gas_bytes(MEM, 32, 0, 3, c + off);
    let entries = [
        entry(0, 4, 0, [0; 12], 0, 0),             // BEGIN: NOOP
        entry(3, 0, 0, r32(0x00), 0, 0xffff_ffff), // GET_ERROR_TYPE
        entry(2, 2, 0, r32(0x08), 0, 0xffff_ffff), // SET_ERROR_TYPE
        entry(5, 3, 0, r32(0x10), 1, 0xffff_ffff), // EXECUTE
        entry(6, 1, 0, r32(0x18), 1, 1),           // CHECK_BUSY_STATUS
        entry(7, 0, 0, r32(0x20), 0, 0xff),        // GET_COMMAND_STATUS
        entry(1, 0, 0, gas_bytes(MEM, 64, 0, 4, c + 0x28), 0, u64::MAX), // GET_TRIGGER_...
        entry(4, 4, 0, [0; 12], 0, 0),             // END: NOOP
    ];
    einj_table(12, &entries)
}

/// A trigger error action table at [`EINJ_TRIGGER_AT`]: a flush and a
/// register write for TRIGGER_ERROR, plus an entry of another action.
pub fn trigger_table(header_size: u32, count: u32, table_size: Option<u32>) -> Vec<u8> {
    let mut entries = Vec::new();
    entries.extend_from_slice(&entry(
        0xff,
        5,
        0,
        gas_bytes(MEM, 64, 0, 4, EINJ_CTRL + 0x40),
        0,
        0,
    ));
    entries.extend_from_slice(&entry(
        0xff,
        3,
        0,
        gas_bytes(MEM, 32, 0, 3, EINJ_CTRL + 0x48),
        0x1234,
        0xffff_ffff,
    ));
    entries.extend_from_slice(&entry(
        0x7,
        0,
        0,
        gas_bytes(MEM, 32, 0, 3, EINJ_CTRL + 0x50),
        0,
        0xff,
    ));
    let entries = &entries[..(count as usize * 32).min(entries.len())];
    let size = table_size.unwrap_or(header_size + entries.len() as u32);
    let mut t = Vec::new();
    for v in [header_size, 0x100, size, count] {
        t.extend_from_slice(&v.to_le_bytes());
    }
    t.resize(header_size.max(16) as usize, 0);
    t.extend_from_slice(entries);
    t
}

/// The apei_entries input: set byte, offset byte, count, entries at 6.
pub fn entries_input(set: u8, entries: &[[u8; 32]]) -> Vec<u8> {
    let mut v = vec![set, 6];
    v.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    entries.iter().for_each(|e| v.extend_from_slice(e));
    v
}

/// An ERST action with arithmetic, a conditional skip, a bounded stall
/// and a GOTO loop (action 0x20, made up).
fn loop_entries() -> Vec<[u8; 32]> {
    let r = |off: u64| gas_bytes(MEM, 32, 0, 3, 0x2000 + off);
    vec![
        entry(0x20, 5, 0, r(0), 0, 0xffff_ffff),   // LOAD_VAR1
        entry(0x20, 6, 0, r(4), 0, 0xffff_ffff),   // LOAD_VAR2
        entry(0x20, 8, 0, [0; 12], 0, 0),          // ADD
        entry(0x20, 7, 0, r(8), 0, 0xffff_ffff),   // STORE_VAR1
        entry(0x20, 10, 0, r(12), 1, 0xffff_ffff), // ADD_VALUE
        entry(0x20, 14, 0, r(12), 5, 0xffff_ffff), // SKIP_NEXT_INSTRUCTION_IF_TRUE
        entry(0x20, 15, 0, [0; 12], 4, 0),         // GOTO 4
        entry(0x20, 12, 0, [0; 12], 10, 0),        // STALL
        entry(0x20, 13, 0, r(16), 1, 1),           // STALL_WHILE_TRUE
        entry(0x20, 16, 0, r(20), 0, 0xffff_ffff), // SET_SRC_ADDRESS_BASE
        entry(0x20, 17, 0, r(24), 0, 0xffff_ffff), // SET_DST_ADDRESS_BASE
        entry(0x20, 18, 0, r(28), 0, 0xffff_ffff), // MOVE_DATA
    ]
}

// ---------------------------------------------------------------------------
// HEST and BERT

fn notify(kind: u8, poll_ms: u32, vector: u32) -> Vec<u8> {
    let mut n = vec![kind, 28];
    n.extend_from_slice(&0x3fu16.to_le_bytes());
    for v in [poll_ms, vector, 1, 2, 3, 4] {
        n.extend_from_slice(&v.to_le_bytes());
    }
    n
}

fn bank(n: u8) -> Vec<u8> {
    let mut b = vec![n, 1, 1, 0];
    let base = 0x400 + 4 * n as u32;
    b.extend_from_slice(&base.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    for r in [base + 1, base + 2, base + 3] {
        b.extend_from_slice(&r.to_le_bytes());
    }
    b
}

fn head(ty: u16, id: u16) -> Vec<u8> {
    let mut s = ty.to_le_bytes().to_vec();
    s.extend_from_slice(&id.to_le_bytes());
    s
}

fn hest_mce(id: u16, flags: u8, banks: &[u8]) -> Vec<u8> {
    let mut s = head(0, id);
    s.extend_from_slice(&[0, 0, flags, 1]);
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&2u32.to_le_bytes());
    s.extend_from_slice(&0x0100_0c0au64.to_le_bytes());
    s.extend_from_slice(&u64::MAX.to_le_bytes());
    s.push(banks.len() as u8);
    s.extend_from_slice(&[0; 7]);
    banks.iter().for_each(|&b| s.extend_from_slice(&bank(b)));
    s
}

fn hest_cmc(ty: u16, id: u16, flags: u8, banks: &[u8]) -> Vec<u8> {
    let mut s = head(ty, id);
    s.extend_from_slice(&[0, 0, flags, 1]);
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&notify(5, 0, 0xf0));
    s.push(banks.len() as u8);
    s.extend_from_slice(&[0; 3]);
    banks.iter().for_each(|&b| s.extend_from_slice(&bank(b)));
    s
}

fn hest_nmi(id: u16) -> Vec<u8> {
    let mut s = head(2, id);
    for v in [0u32, 1, 1, 4096] {
        s.extend_from_slice(&v.to_le_bytes());
    }
    s
}

fn hest_aer(ty: u16, id: u16) -> Vec<u8> {
    let mut s = head(ty, id);
    s.extend_from_slice(&[0, 0, 0, 1]);
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&0x0103u32.to_le_bytes());
    s.extend_from_slice(&2u16.to_le_bytes());
    s.extend_from_slice(&1u16.to_le_bytes());
    s.extend_from_slice(&0x2fu16.to_le_bytes());
    s.extend_from_slice(&0u16.to_le_bytes());
    for v in [0x10u32, 0x20, 0x30, 0x40] {
        s.extend_from_slice(&v.to_le_bytes());
    }
    match ty {
        6 => s.extend_from_slice(&7u32.to_le_bytes()),
        8 => [0x50u32, 0x60, 0x70]
            .iter()
            .for_each(|v| s.extend_from_slice(&v.to_le_bytes())),
        _ => {}
    }
    s
}

fn hest_ghes(ty: u16, id: u16) -> Vec<u8> {
    let mut s = head(ty, id);
    s.extend_from_slice(&0xffffu16.to_le_bytes());
    s.extend_from_slice(&[0, 1]);
    for v in [1u32, 1, 0x1000] {
        s.extend_from_slice(&v.to_le_bytes());
    }
    s.extend_from_slice(&[0, 64, 0, 4]);
    s.extend_from_slice(&0x7fff_0000u64.to_le_bytes());
    s.extend_from_slice(&notify(3, 0, 9));
    s.extend_from_slice(&0x1000u32.to_le_bytes());
    if ty == 10 {
        s.extend_from_slice(&[0, 64, 0, 4]);
        s.extend_from_slice(&0x7fff_1000u64.to_le_bytes());
        s.extend_from_slice(&0xfffe_u64.to_le_bytes());
        s.extend_from_slice(&1u64.to_le_bytes());
    }
    s
}

pub fn hest(count: u32, structs: &[Vec<u8>]) -> Vec<u8> {
    let mut body = count.to_le_bytes().to_vec();
    structs.iter().for_each(|s| body.extend_from_slice(s));
    make_table(b"HEST", 1, &body)
}

fn hest_all() -> Vec<u8> {
    let structs = [
        hest_mce(0, 0, &[0, 1]),
        hest_cmc(1, 1, 1, &[2, 3]),
        hest_cmc(11, 2, 1, &[4]),
        hest_nmi(3),
        hest_aer(6, 4),
        hest_aer(7, 5),
        hest_aer(8, 6),
        hest_ghes(9, 7),
        hest_ghes(10, 8),
    ];
    hest(structs.len() as u32, &structs)
}

fn bert(region_length: u32) -> Vec<u8> {
    let mut body = region_length.to_le_bytes().to_vec();
    body.extend_from_slice(&0x7ffe_0000u64.to_le_bytes());
    make_table(b"BERT", 1, &body)
}

// ---------------------------------------------------------------------------
// CPER

fn mce_record() -> MceRecord {
    MceRecord {
        status: 0xbe00_0000_0001_0090,
        misc: 0x8c,
        addr: 0x1_2345_6000,
        mcgstatus: 0x7,
        mcgcap: 0x0100_0c0a,
        ip: 0xffff_ffff_8100_0000,
        cs: 0x10,
        tsc: 0x1234_5678_9abc,
        time_us: 0,
        walltime: 1_709_210_096,
        bank: 4,
        cpu: 3,
        apicid: 6,
        socketid: 1,
        cpuvendor: CpuVendor::Intel,
        cpuid: 0x50654,
        synd: 0,
        ipid: 0,
        source: Source::Persistent,
        severity: Severity::Panic,
    }
}

fn memory_error_payload(addr: u64) -> Vec<u8> {
    let mut m = vec![0u8; MemoryError::LEN];
    let valid = mem_valid::PA
        | mem_valid::NODE
        | mem_valid::BANK
        | mem_valid::ROW
        | mem_valid::ERROR_TYPE
        | mem_valid::ROW_EXT;
    m[0..8].copy_from_slice(&valid.to_le_bytes());
    m[16..24].copy_from_slice(&addr.to_le_bytes());
    m[32..34].copy_from_slice(&1u16.to_le_bytes());
    m[38..40].copy_from_slice(&5u16.to_le_bytes());
    m[42..44].copy_from_slice(&0x1234u16.to_le_bytes());
    m[72] = 3;
    m[73] = 1;
    m
}

fn processor_payload() -> Vec<u8> {
    let mut p = vec![0u8; ProcessorGenericError::LEN];
    p[0..8].copy_from_slice(&0x1fffu64.to_le_bytes());
    p[8..14].copy_from_slice(&[0, 1, 1, 1, 0, 2]);
    p[16..24].copy_from_slice(&0x50654u64.to_le_bytes());
    p[152..160].copy_from_slice(&3u64.to_le_bytes());
    p[160..168].copy_from_slice(&0x1000u64.to_le_bytes());
    p[184..192].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes());
    p
}

/// A record with one section per (type, payload), sections right after the
/// descriptors.
fn record(sections: &[(Guid, Vec<u8>)]) -> Vec<u8> {
    let descs = CperHeader::LEN + sections.len() * SectionDescriptor::LEN;
    let total = descs + sections.iter().map(|(_, p)| p.len()).sum::<usize>();
    let header = CperHeader {
        revision: cper::RECORD_REVISION,
        section_count: sections.len() as u16,
        error_severity: CperSeverity::Recoverable.as_u32(),
        validation_bits: cper::validation::TIMESTAMP | cper::validation::PLATFORM_ID,
        record_length: total as u32,
        timestamp: CperTimestamp::from_unix(1_709_210_096).unwrap(),
        platform_id: Guid::new(0x1234_5678, 0x9abc, 0xdef0, [1, 2, 3, 4, 5, 6, 7, 8]),
        notification_type: guids::NOTIFY_MCE,
        record_id: 42,
        flags: cper::flags::RECOVERED,
        ..Default::default()
    };
    let mut out = header.encode().to_vec();
    let mut at = descs;
    for (i, (ty, payload)) in sections.iter().enumerate() {
        let mut fru_text = [0u8; 20];
        fru_text[..5].copy_from_slice(b"DIMM0");
        let d = SectionDescriptor {
            section_offset: at as u32,
            section_length: payload.len() as u32,
            revision: cper::SECTION_REVISION,
            validation_bits: 3,
            flags: if i == 0 {
                cper::section_flags::PRIMARY
            } else {
                0
            },
            section_type: *ty,
            section_severity: CperSeverity::Recoverable.as_u32(),
            fru_text,
            ..Default::default()
        };
        out.extend_from_slice(&d.encode());
        at += payload.len();
    }
    sections.iter().for_each(|(_, p)| out.extend_from_slice(p));
    out
}

fn memory_record() -> Vec<u8> {
    record(&[(guids::SEC_PLATFORM_MEM, memory_error_payload(0x1_2345_6000))])
}

fn two_section_record() -> Vec<u8> {
    record(&[
        (guids::SEC_PROC_GENERIC, processor_payload()),
        (guids::SEC_PLATFORM_MEM, memory_error_payload(0x8000)),
    ])
}

fn status_entry(ty: Guid, sev: u32, rev: u16, payload: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(&ty.0);
    e.extend_from_slice(&sev.to_le_bytes());
    e.extend_from_slice(&rev.to_le_bytes());
    e.push(if rev >= 0x300 {
        entry_valid::TIMESTAMP | entry_valid::FRU_TEXT
    } else {
        entry_valid::FRU_ID
    });
    e.push(0);
    e.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    e.extend_from_slice(&[0x11; 16]);
    let mut fru = [0u8; 20];
    fru[..5].copy_from_slice(b"DIMM0");
    e.extend_from_slice(&fru);
    if rev >= 0x300 {
        e.extend_from_slice(
            &CperTimestamp::from_unix(1_709_210_096)
                .unwrap()
                .0
                .to_le_bytes(),
        );
    }
    e.extend_from_slice(payload);
    e
}

fn block(status: u32, sev: u32, entries: &[Vec<u8>]) -> Vec<u8> {
    let data: Vec<u8> = entries.concat();
    let mut b = Vec::new();
    b.extend_from_slice(&status.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&sev.to_le_bytes());
    b.extend_from_slice(&data);
    b
}

fn memory_block(addr: u64) -> Vec<u8> {
    block(
        block_status::UNCORRECTABLE_VALID | (1 << block_status::ENTRY_COUNT_SHIFT),
        1,
        &[status_entry(
            guids::SEC_PLATFORM_MEM,
            1,
            0x0300,
            &memory_error_payload(addr),
        )],
    )
}

fn proc_block() -> Vec<u8> {
    block(
        block_status::CORRECTABLE_VALID
            | block_status::MULTIPLE_CORRECTABLE
            | (2 << block_status::ENTRY_COUNT_SHIFT),
        2,
        &[
            status_entry(guids::SEC_PROC_GENERIC, 2, 0x0201, &processor_payload()),
            status_entry(
                guids::SEC_LINUX_MCE,
                2,
                0x0201,
                &cper::LinuxMce::from_record(&mce_record()).encode(),
            ),
        ],
    )
}

fn raw_data_block() -> Vec<u8> {
    let mut b = block(
        block_status::UNCORRECTABLE_VALID | (1 << block_status::ENTRY_COUNT_SHIFT),
        0,
        &[status_entry(guids::SEC_PCIE, 0, 0x0300, &[0xaa; 24])],
    );
    let raw_at = b.len() as u32;
    b[4..8].copy_from_slice(&raw_at.to_le_bytes());
    b[8..12].copy_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&[0x55; 16]);
    b
}

/// A PCIe error section at 0000:03:00.1 with AER information.
fn pcie_payload() -> Vec<u8> {
    let mut b = vec![0u8; kernel::apei::cper::PcieError::LEN];
    b[0..8].copy_from_slice(&0xffu64.to_le_bytes());
    b[8..12].copy_from_slice(&4u32.to_le_bytes());
    b[24..28].copy_from_slice(&[0x86, 0x80, 0x30, 0x20]);
    b[31] = 1;
    b[35] = 3;
    b[116..120].copy_from_slice(&0x0010_0000u32.to_le_bytes());
    b
}

/// `ghes_service` input: flags, block length, ack bit offset, preserve
/// 0xfffe, write 1, ack register 0xa0, then the block.
fn ghes_input(flags: u8, block_len: u16, ack_offset: u8, block: Vec<u8>) -> Vec<u8> {
    let mut v = vec![flags];
    v.extend_from_slice(&block_len.to_le_bytes());
    v.push(ack_offset);
    for x in [0xfffeu64, 1, 0xa0] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&block);
    v
}

// ---------------------------------------------------------------------------
// Small inputs

fn gas_input(gas: [u8; 12], value: u64) -> Vec<u8> {
    let mut v = gas.to_vec();
    v.extend_from_slice(&value.to_le_bytes());
    v.extend_from_slice(&0xa5a5_a5a5_a5a5_a5a5u64.to_le_bytes());
    v
}

fn rsdp(revision: u8) -> Vec<u8> {
    let mut r = b"RSD PTR ".to_vec();
    r.push(0);
    r.extend_from_slice(b"RASOS ");
    r.push(revision);
    r.extend_from_slice(&0x7ffe_1000u32.to_le_bytes());
    let sum = |b: &[u8]| b.iter().fold(0u8, |a, &x| a.wrapping_add(x));
    r[8] = 0u8.wrapping_sub(sum(&r));
    if revision >= 2 {
        r.extend_from_slice(&36u32.to_le_bytes());
        r.extend_from_slice(&0x7ffe_2000u64.to_le_bytes());
        r.extend_from_slice(&[0, 0, 0, 0]);
        r[32] = 0u8.wrapping_sub(sum(&r));
    }
    r
}

fn rsdt() -> Vec<u8> {
    let body: Vec<u8> = [0x7ffe_3000u32, 0x7ffe_4000, 0x7ffe_5000]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    make_table(b"RSDT", 1, &body)
}

fn xsdt() -> Vec<u8> {
    let body: Vec<u8> = [0x7ffe_3000u64, 0x1_0000_0000, 0x7ffe_5000]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    make_table(b"XSDT", 1, &body)
}

pub const INJECT_TEXTS: &[(&str, &str)] = &[
    (
        "example",
        "CPU 0 BANK 1\nSTATUS UNCORRECTED SRAR 0x134\nMCGSTATUS RIPV EIPV MCIP\nADDR 0x123456000\n\
         MISC 0x8c\nRIP 0x10:0xffffffff81000000\nEXCP\nNMIBROADCAST\n",
    ),
    ("panic_line", "CPU 1: Machine Check Exception: 5 Bank 4: 0xb200000000000000\n"),
    (
        "several",
        "# corrected, then a held fatal one and a CMCI\nCPU 2 BANK 3\nSTATUS CORRECTED|0x1\nPOLL\n\
         CPU 3 1\nSTATUS FATAL\nMCGSTATUS MCIP|EIPV\nHOLD IN_IRQ\nTSC 0x1234 TIME 1700000000 SOCKETID 1 APICID 4\n\
         MCGCAP 0x1000c14 PROCESSOR 0:0x50654\nRIP 0x33:<0x401000> {main}\n\
         MCE STATUS val en 017 ADDR 0x1000 CMCI NOBROADCAST IN_PROC\n",
    ),
];
