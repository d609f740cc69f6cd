//! `erst`: the persistent error-record store from the console.

use crate::apei::cper;
use crate::firmware::glue::erst::{self, ERST, EXPORTED};
use crate::kprint;
use crate::mca::record::{MceRecord, Severity, Source};
use core::sync::atomic::{AtomicU64, Ordering};

pub const USAGE: &str = "usage: erst list | show <id> | export | clear <id>|all | fill | readers\n";

pub fn run(args: &[&str]) {
    if ERST.lock().is_none() {
        kprint!("erst: no usable ERST on this machine\n");
        return;
    }
    match args {
        ["list"] | [] => list(),
        ["show", id] => with_id(id, show),
        ["export"] => export(),
        ["clear", "all"] => clear_all(),
        ["clear", id] => with_id(id, clear),
        ["fill"] => fill(),
        ["readers"] => readers(),
        _ => kprint!("{USAGE}"),
    }
}

fn with_id(s: &str, f: fn(u64)) {
    match crate::shell::words::parse_number(s) {
        Some(id) => f(id),
        None => kprint!("erst: '{s}' is not a record id\n"),
    }
}

/// Reads a record into a fresh buffer.
fn read(id: u64) -> Result<alloc::vec::Vec<u8>, alloc::string::String> {
    let mut g = ERST.lock();
    let store = g.as_mut().ok_or("no store")?;
    let mut buf = alloc::vec![0u8; store.error_log_range().length as usize];
    let n = store
        .read(id, &mut buf)
        .map_err(|e| alloc::format!("{e}"))?;
    buf.truncate(n);
    Ok(buf)
}

fn ids() -> Result<alloc::vec::Vec<u64>, alloc::string::String> {
    let mut g = ERST.lock();
    let store = g.as_mut().ok_or("no store")?;
    store.ids().map_err(|e| alloc::format!("{e}"))
}

fn list() {
    let ids = match ids() {
        Ok(i) => i,
        Err(e) => {
            kprint!("erst: {e}\n");
            return;
        }
    };
    kprint!("erst: {} record(s)\n", ids.len());
    let exported = EXPORTED.lock().clone();
    for id in ids {
        let what = match read(id) {
            Ok(b) => match crate::pstore::glue::summary(&b) {
                Some(s) => s,
                None => match cper::decode_mce(&b) {
                    Ok((_, r)) => alloc::format!(
                        "MCE cpu{} bank {} status {:#018x} severity {}",
                        r.cpu,
                        r.bank,
                        r.status,
                        r.severity.name()
                    ),
                    Err(e) => alloc::format!("{e}"),
                },
            },
            Err(e) => alloc::format!("unreadable: {e}"),
        };
        kprint!(
            "  {id:#018x} {} {what}\n",
            if exported.contains(&id) {
                "exported"
            } else {
                "new     "
            }
        );
    }
}

fn show(id: u64) {
    match read(id) {
        Ok(b) => erst::print_record(id, &b, None),
        Err(e) => kprint!("erst: record {id:#x}: {e}\n"),
    }
}

fn export() {
    let Ok(ids) = ids() else { return };
    for id in &ids {
        if let Ok(b) = read(*id) {
            erst::export_hex(*id, &b);
            EXPORTED.lock().insert(*id);
        }
    }
    kprint!("erst: exported {} record(s)\n", ids.len());
}

fn clear(id: u64) {
    let r = ERST.lock().as_mut().map(|s| s.clear(id));
    match r {
        Some(Ok(())) => {
            EXPORTED.lock().remove(&id);
            kprint!("erst: cleared record {id:#018x}\n");
        }
        Some(Err(e)) => kprint!("erst: clearing {id:#018x} failed: {e}\n"),
        None => {}
    }
}

fn clear_all() {
    let Ok(ids) = ids() else { return };
    for id in &ids {
        clear(*id);
    }
    kprint!("erst: cleared {} record(s)\n", ids.len());
}

/// Fills the store with synthetic machine-check records until it is full
/// (to exercise the full-store path).
fn fill() {
    let mut n = 0;
    loop {
        let rec = MceRecord {
            status: 0x9c00_0040_0000_0092,
            bank: 9,
            severity: Severity::Some,
            source: Source::Poll,
            ..Default::default()
        };
        let id = erst::next_record_id();
        let bytes = cper::encode_mce(&rec, id, None);
        let r = ERST.lock().as_mut().map(|s| s.write(&bytes));
        match r {
            Some(Ok(())) => n += 1,
            Some(Err(e)) => {
                kprint!("erst: wrote {n} record(s); then: {e}\n");
                return;
            }
            None => return,
        }
        if n > 10_000 {
            kprint!("erst: wrote {n} records without filling the store; stopped\n");
            return;
        }
    }
}

/// Each CPU's (count, sum of ids) from its own enumeration.
static SEEN: [AtomicU64; 2 * crate::cpuset::MAX_CPUS] =
    [const { AtomicU64::new(u64::MAX) }; 2 * crate::cpuset::MAX_CPUS];

/// Enumerates the store with a reader of its own, one step per lock hold so
/// the CPUs' enumerations interleave.
fn enumerate(_: u64) {
    let cpu = crate::arch::x86_64::percpu::current().index as usize;
    let mut reader = match ERST.lock().as_mut() {
        Some(s) => s.reader_begin(),
        None => return,
    };
    let (mut count, mut sum) = (0u64, 0u64);
    loop {
        let next = ERST.lock().as_mut().map(|s| s.reader_next(&mut reader));
        match next {
            Some(Ok(Some(id))) => {
                count += 1;
                sum = sum.wrapping_add(id);
            }
            _ => break,
        }
        core::hint::spin_loop();
    }
    if let Some(s) = ERST.lock().as_mut() {
        s.reader_end(reader);
    }
    SEEN[2 * cpu].store(count, Ordering::SeqCst);
    SEEN[2 * cpu + 1].store(sum, Ordering::SeqCst);
}

/// Every CPU enumerates the store at once; each must see every record.
fn readers() {
    let online = crate::smp::online();
    let me = crate::arch::x86_64::percpu::current().index;
    for s in SEEN.iter() {
        s.store(u64::MAX, Ordering::SeqCst);
    }
    let mut calls = alloc::vec::Vec::new();
    for cpu in online.iter() {
        if cpu != me {
            // In the APs' idle loops: enumerating may allocate (the id
            // cache grows), which interrupt context must never do.
            match crate::smp::call_in_idle(cpu, enumerate, 0) {
                Ok(c) => calls.push((cpu, c)),
                Err(e) => kprint!("erst: cpu{cpu}: {e}\n"),
            }
        }
    }
    enumerate(0);
    for (cpu, c) in calls {
        if !c.wait(5_000_000) {
            kprint!("erst: cpu{cpu} did not finish enumerating\n");
        }
    }
    let expected = ids().map(|v| {
        (
            v.len() as u64,
            v.iter().fold(0u64, |a, b| a.wrapping_add(*b)),
        )
    });
    let Ok((n, sum)) = expected else { return };
    let mut all_ok = true;
    for cpu in online.iter() {
        let cpu = cpu as usize;
        let (c, s) = (
            SEEN[2 * cpu].load(Ordering::SeqCst),
            SEEN[2 * cpu + 1].load(Ordering::SeqCst),
        );
        let ok = c == n && s == sum;
        all_ok &= ok;
        kprint!(
            "erst: cpu{cpu} enumerated {c} record(s){}\n",
            if ok { "" } else { " (MISMATCH)" }
        );
    }
    kprint!(
        "erst: concurrent enumeration on {} CPUs: {}\n",
        online.count(),
        if all_ok {
            "every CPU saw every record"
        } else {
            "FAILED"
        }
    );
}
