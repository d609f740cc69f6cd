//! `bench`: measurements inside the kernel, timed with the TSC, for `make
//! bench` (which parses the lines) and for people at the console.
//!
//! Each measurement prints exactly one line starting with `bench: `; the
//! formats below are stable (figures are fixed-point with three decimals,
//! cycles are TSC cycles at the calibrated rate):
//!
//! ```text
//! bench: ring push+pop <n> records on 1 CPU: <ns> ns/record, <m> M records/s
//! bench: ring <p> producers + 1 consumer, <n> pushes: <ns> ns/record, <m> M records/s, <k> popped, <d> dropped
//! bench: poll <n> polls of <b> banks on cpu<c>: median <us> us (<cy> cycles), mean <us> us, <f> found
//! bench: erst <n> records of <len> bytes: write <us> us, read <us> us, clear <us> us (median)
//! ```

use crate::apei::cper;
use crate::arch::x86_64::percpu;
use crate::arch::x86_64::tsc::{khz, rdtsc};
use crate::firmware::glue::erst::{next_record_id, ERST};
use crate::kprint;
use crate::mca::log::ring::RecordRing;
use crate::mca::record::{MceRecord, Severity, Source};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use spin::Mutex;

pub const USAGE: &str =
    "usage: bench ring [n] | bench poll [n] | bench erst [n] | bench storm [n]\n";

/// Ring capacity: large enough that batches never fill it on one CPU.
const RING_CAPACITY: usize = 1024;

pub fn run(args: &[&str]) {
    let (what, n) = match args {
        [what] => (*what, None),
        [what, n] => match crate::shell::words::parse_number(n) {
            Some(v) if v > 0 => (*what, Some(v)),
            _ => {
                kprint!("bench: '{n}' is not a positive count\n");
                return;
            }
        },
        _ => {
            kprint!("{USAGE}");
            return;
        }
    };
    match what {
        "ring" => {
            let n = n.unwrap_or(1_000_000).min(100_000_000);
            ring_single(n);
            ring_concurrent(n);
        }
        "poll" => poll(n.unwrap_or(1000).min(100_000)),
        "erst" => erst(n.unwrap_or(20).min(10_000)),
        "storm" => super::storm_bench::run(n.unwrap_or(10_000).min(1_000_000)),
        _ => kprint!("{USAGE}"),
    }
}

/// A value in thousandths, printed with three decimals (no floating point
/// in the kernel: the target is soft-float).
struct Milli(u128);

impl fmt::Display for Milli {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// The calibrated TSC rate (cycles per millisecond); never 0.
fn tsc_khz() -> u128 {
    khz().max(1) as u128
}

/// `cycles` as microseconds, in thousandths.
fn us_milli(cycles: u64) -> Milli {
    Milli(cycles as u128 * 1_000_000 / tsc_khz())
}

/// Nanoseconds per item (thousandths) and millions of items per second
/// (thousandths) for `items` done in `cycles`.
fn rate(items: u64, cycles: u64) -> (Milli, Milli) {
    let (n, c) = (items.max(1) as u128, cycles.max(1) as u128);
    (
        Milli(c * 1_000_000_000 / (tsc_khz() * n)),
        Milli(n * tsc_khz() / c),
    )
}

fn median(v: &mut [u64]) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[v.len() / 2]
}

/// A record of realistic size and content for the ring and the store.
fn sample_record(i: u64) -> MceRecord {
    MceRecord {
        status: 0x9c00_0040_0000_0092,
        addr: 0x0123_4000 + (i << 12),
        misc: 0x8c,
        bank: 9,
        cpu: percpu::current().index,
        severity: Severity::Some,
        source: Source::Poll,
        ..Default::default()
    }
}

/// Push then pop in batches of half the capacity, so the ring wraps often
/// but never drops: the cost of one record through the ring on one CPU.
fn ring_single(n: u64) {
    let ring = RecordRing::<MceRecord>::new(RING_CAPACITY);
    let rec = sample_record(0);
    let batch = (RING_CAPACITY / 2) as u64;
    let mut done = 0u64;
    let t0 = rdtsc();
    while done < n {
        let k = batch.min(n - done);
        for _ in 0..k {
            let _ = black_box(ring.push(black_box(rec)));
        }
        for _ in 0..k {
            black_box(ring.pop());
        }
        done += k;
    }
    let cycles = rdtsc().wrapping_sub(t0);
    let (ns, m) = rate(n, cycles);
    if ring.dropped() != 0 || !ring.is_empty() {
        kprint!(
            "bench: ring push+pop: lost records ({} dropped); measurement invalid\n",
            ring.dropped()
        );
        return;
    }
    kprint!("bench: ring push+pop {n} records on 1 CPU: {ns} ns/record, {m} M records/s\n");
}

/// The ring the APs push into during [`ring_concurrent`].
static SHARED: Mutex<Option<Arc<RecordRing<MceRecord>>>> = Mutex::new(None);
/// Producers start together when this is set.
static GO: AtomicBool = AtomicBool::new(false);
/// Producers that have finished.
static FINISHED: AtomicU32 = AtomicU32::new(0);

/// Runs on an AP (interrupt context, through `smp::call_on`): pushes
/// `count` records into the shared ring as fast as it can.
fn producer(count: u64) {
    let ring = SHARED.lock().clone();
    if let Some(ring) = ring {
        while !GO.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        let rec = sample_record(0);
        for _ in 0..count {
            let _ = black_box(ring.push(black_box(rec)));
        }
    }
    FINISHED.fetch_add(1, Ordering::Release);
}

/// Every AP pushes into one ring while this CPU pops: the throughput of the
/// ring under contention, and how much a slow consumer loses.
fn ring_concurrent(n: u64) {
    let me = percpu::current().index;
    let aps: Vec<u32> = crate::smp::online().iter().filter(|&c| c != me).collect();
    if aps.is_empty() {
        kprint!("bench: ring concurrent: only one CPU online; not measured\n");
        return;
    }
    let per = (n / aps.len() as u64).max(1);
    let ring = Arc::new(RecordRing::<MceRecord>::new(RING_CAPACITY));
    *SHARED.lock() = Some(ring.clone());
    GO.store(false, Ordering::SeqCst);
    FINISHED.store(0, Ordering::SeqCst);
    let mut calls = Vec::new();
    for &cpu in &aps {
        match crate::smp::call_on(cpu, producer, per) {
            Ok(c) => calls.push(c),
            Err(e) => kprint!("bench: ring concurrent: cpu{cpu}: {e}\n"),
        }
    }
    let producers = calls.len() as u32;
    // Bounded: 1 s per million pushes, at least 30 s (TCG is slow).
    let limit = 30_000_000 + per * producers as u64;
    let deadline_cycles = limit as u128 * tsc_khz() / 1000;
    let t0 = rdtsc();
    GO.store(true, Ordering::Release);
    let mut popped = 0u64;
    let mut timed_out = false;
    loop {
        let all_done = FINISHED.load(Ordering::Acquire) == producers;
        match ring.pop() {
            Some(r) => {
                black_box(r);
                popped += 1;
            }
            None if all_done => break,
            None => {
                if rdtsc().wrapping_sub(t0) as u128 > deadline_cycles {
                    timed_out = true;
                    break;
                }
                core::hint::spin_loop();
            }
        }
    }
    let cycles = rdtsc().wrapping_sub(t0);
    *SHARED.lock() = None;
    for c in calls {
        let _ = c.wait(1_000_000);
    }
    if timed_out {
        kprint!(
            "bench: ring concurrent: producers did not finish within {} s\n",
            limit / 1_000_000
        );
        return;
    }
    let pushes = per * producers as u64;
    let (ns, m) = rate(popped, cycles);
    kprint!(
        "bench: ring {producers} producers + 1 consumer, {pushes} pushes: {ns} ns/record, {m} M records/s, {popped} popped, {} dropped\n",
        ring.dropped()
    );
}

/// One scan of every bank as the poll timer does it, with the banks empty:
/// each call timed alone with interrupts off (so a tick's own poll is not
/// counted in), the median and mean reported.
fn poll(n: u64) {
    use crate::mca::corrected::glue::poll::poll_banks;
    let cpu = percpu::current().index as usize;
    let banks = crate::mca::glue::state::mcgcap(cpu).banks();
    if !crate::mca::glue::state::CPUS[cpu]
        .ready
        .load(Ordering::Relaxed)
    {
        kprint!("bench: poll: machine checks are not set up on cpu{cpu}; not measured\n");
        return;
    }
    let mut samples = Vec::with_capacity(n as usize);
    let mut found = 0u64;
    for _ in 0..n {
        x86_64::instructions::interrupts::without_interrupts(|| {
            let t0 = rdtsc();
            found += poll_banks(cpu, Source::Poll) as u64;
            samples.push(rdtsc().wrapping_sub(t0));
        });
    }
    let sum: u64 = samples.iter().sum();
    let mean = sum / n;
    let med = median(&mut samples);
    kprint!(
        "bench: poll {n} polls of {banks} banks on cpu{cpu}: median {} us ({med} cycles), mean {} us, {found} found\n",
        us_milli(med),
        us_milli(mean)
    );
}

/// Write, read back and clear one CPER machine-check record, `n` times; the
/// store ends as it began (our records are cleared one by one, so a small
/// store never fills).
fn erst(n: u64) {
    let Some(buf_len) = ERST
        .lock()
        .as_ref()
        .map(|s| s.error_log_range().length as usize)
    else {
        kprint!("bench: erst: no usable ERST on this machine; not measured\n");
        return;
    };
    let mut buf = alloc::vec![0u8; buf_len];
    let (mut w, mut r, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let mut len = 0;
    for i in 0..n {
        let rec = sample_record(i);
        let t0 = rdtsc();
        let id = next_record_id();
        let bytes = cper::encode_mce(&rec, id, None);
        let wrote = ERST.lock().as_mut().map(|s| s.write(&bytes));
        let t1 = rdtsc();
        if let Some(Err(e)) = wrote {
            kprint!("bench: erst: write {i} failed: {e}\n");
            return;
        }
        len = bytes.len();
        let read = ERST.lock().as_mut().map(|s| s.read(id, &mut buf));
        let t2 = rdtsc();
        let cleared = ERST.lock().as_mut().map(|s| s.clear(id));
        let t3 = rdtsc();
        match read {
            Some(Ok(got)) if buf.get(..got) == Some(&bytes[..]) => {}
            Some(Ok(_)) => {
                kprint!("bench: erst: record {id:#x} read back differs\n");
                return;
            }
            Some(Err(e)) => {
                kprint!("bench: erst: read {id:#x} failed: {e}\n");
                return;
            }
            None => return,
        }
        if let Some(Err(e)) = cleared {
            kprint!("bench: erst: clear {id:#x} failed: {e}\n");
            return;
        }
        w.push(t1.wrapping_sub(t0));
        r.push(t2.wrapping_sub(t1));
        c.push(t3.wrapping_sub(t2));
    }
    kprint!(
        "bench: erst {n} records of {len} bytes: write {} us, read {} us, clear {} us (median)\n",
        us_milli(median(&mut w)),
        us_milli(median(&mut r)),
        us_milli(median(&mut c))
    );
}
