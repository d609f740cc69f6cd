//! `make bench`: measurements of the kernel under QEMU (TCG), printed as a
//! table and appended as JSON lines to `target/bench.jsonl`:
//! `{"metric": ..., "value": ..., "unit": ..., "conditions": ...}`.
//!
//! Timings under TCG on a shared 2-core machine vary; each figure is a
//! median of several runs and says what it was measured under.
//!
//! Environment:
//! - `BENCH_RUNS=n`: runs per median (default 5).
//! - `BENCH_ONLY=group,group`: run only these groups (default all):
//!   - `boot`: QEMU start and kernel entry to `READY`, BIOS and UEFI;
//!   - `inject`: QMP `mce` to the decoded console line, for a corrected
//!     error (found by polling, at `mce.poll_ms=20` and the default 1000),
//!     an SRAO and a fatal error;
//!   - `rendezvous`: the #MC rendezvous (first arrival to last exit, as the
//!     kernel reports it) with 1, 2, 4, 8, 16, 32 and 64 vCPUs, each beside
//!     the QMP return time of the same injection and the time from that
//!     return to the first decoded line (the kernel's own share);
//!   - `kernel`: the console's `bench` command: record ring throughput, one
//!     poll of all banks, ERST write/read/clear of one record;
//!   - `storm`: corrected errors absorbed per second during a storm;
//!   - `ghes`: the host writing a CPER error status block (playing GHES
//!     firmware in shared guest RAM) to the decoded console line, for a
//!     polled source and an NMI-notified one;
//!   - `daemon`: a record's wake-up of the ring-3 daemon `mcelogd`: the
//!     kernel's timestamp of the decoded record line to that of mcelogd's
//!     line for the same record.
//!
//! Progress goes to stderr; a group that fails is reported and skipped, the
//! others' figures are still written (and the exit status is 1).

use std::io::Write;
use std::time::{Duration, Instant};
use tests::mce::*;
use tests::*;

struct Metric {
    name: String,
    value: f64,
    unit: &'static str,
    conditions: String,
}

impl Metric {
    fn new(name: impl Into<String>, value: f64, unit: &'static str, conditions: String) -> Self {
        Metric {
            name: name.into(),
            value,
            unit,
            conditions,
        }
    }
}

/// A metric group: boots what it needs, returns its figures.
type Group = fn(&Bench) -> Vec<Metric>;

/// The groups `BENCH_ONLY` can name, in the order they run.
const GROUPS: &[(&str, Group)] = &[
    ("boot", boot),
    ("inject", inject),
    ("rendezvous", rendezvous),
    ("kernel", kernel),
    ("storm", storm),
    ("ghes", ghes),
    ("daemon", daemon),
];

/// What every group needs to know.
struct Bench {
    runs: usize,
    /// "QEMU 7.2.x TCG on N host cores": the start of every condition.
    host: String,
}

impl Bench {
    /// The usual VM description for conditions.
    fn vm(&self, firmware: Firmware, cpus: u32, cmdline: &str) -> String {
        format!(
            "{}, {} firmware, release kernel, {cpus} vCPUs, 512M, Intel model (Skylake-SP identity), CMDLINE '{cmdline}'",
            self.host,
            firmware.name()
        )
    }

    fn progress(&self, what: &str, run: usize) {
        eprintln!("bench: {what} run {}/{}", run + 1, self.runs);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Kernel-side seconds from the `<N>[   s.micros]` prefix of a line.
fn stamp(line: &str) -> Option<f64> {
    let line = line
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .map_or(line, |(_, r)| r);
    let inner = line.strip_prefix('[')?.split(']').next()?;
    inner.trim().parse().ok()
}

/// The first capture of `pattern` in `line`, as a number.
fn capture(line: &str, pattern: &str) -> f64 {
    regex::Regex::new(pattern)
        .unwrap()
        .captures(line)
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or_else(|| panic!("no /{pattern}/ in {line:?}"))
}

/// Moves the VM's line cursor past everything printed so far, so the next
/// `expect_line` sees only what follows.
fn skip_to_end(vm: &mut Vm) {
    vm.wait_line(r"\A\x00never\x00\z", Duration::ZERO);
}

/// A pseudo-random duration below `max` (the phase of an injection against
/// the poll timer; nothing here needs real randomness).
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos() as u64;
    let x = nanos.wrapping_mul(6364136223846793005) >> 33;
    max.mul_f64((x % 10_000) as f64 / 10_000.0)
}

// ---------------------------------------------------------------------------
// boot

fn boot(b: &Bench) -> Vec<Metric> {
    let mut out = boot_to_ready(b, Firmware::Bios);
    out.extend(boot_to_ready(b, Firmware::Uefi));
    out
}

fn boot_to_ready(b: &Bench, firmware: Firmware) -> Vec<Metric> {
    let mut wall = Vec::new();
    let mut kernel = Vec::new();
    for i in 0..b.runs {
        b.progress(&format!("boot {}", firmware.name()), i);
        let t0 = Instant::now();
        let mut vm = Vm::start(
            &format!("bench-boot-{}-{i}", firmware.name()),
            VmOptions::default().firmware(firmware),
        );
        let line = vm.expect_line(r"\] READY$", BOOT);
        wall.push(ms(t0.elapsed()));
        kernel.push(stamp(&line).unwrap_or(0.0) * 1000.0);
        vm.quit();
    }
    let cond = format!("{}, median of {}", b.vm(firmware, 4, ""), b.runs);
    vec![
        Metric::new(
            format!("boot_to_ready_{}", firmware.name()),
            median(wall),
            "ms",
            format!("{cond}; QEMU start to READY on the host (includes building the image)"),
        ),
        Metric::new(
            format!("kernel_entry_to_ready_{}", firmware.name()),
            median(kernel),
            "ms",
            format!("{cond}; kernel timestamp of READY (since kernel entry)"),
        ),
    ]
}

// ---------------------------------------------------------------------------
// inject

fn inject(b: &Bench) -> Vec<Metric> {
    let mut out = vec![ce_latency(b, 20), ce_latency(b, 1000)];
    out.push(srao_latency(b));
    out.push(fatal_latency(b));
    out
}

/// The decoded header line of a record: `mce: CPU <c> BANK <b> (<source>`.
fn record_line(cpu: u32, bank: u8, source: &str) -> String {
    format!(r"mce: CPU {cpu} BANK {bank} \({source}, severity ")
}

/// Sends one injection and returns the host wall time until the record's
/// decoded line shows up on the console.
fn time_to_line(vm: &mut Vm, send: impl FnOnce(&mut Vm), pattern: &str) -> f64 {
    skip_to_end(vm);
    let t0 = Instant::now();
    send(vm);
    vm.expect_line(pattern, STEP);
    ms(t0.elapsed())
}

/// A corrected error is only seen when CPU 0 next polls its banks. Between
/// injections we wait until the interval is back at `poll_ms` (it halves
/// after an error and doubles per quiet poll), plus a random phase, so each
/// sample lands uniformly within one steady-state interval.
fn ce_latency(b: &Bench, poll_ms: u64) -> Metric {
    let cmdline = format!("mce.poll_ms={poll_ms}");
    let mut vm = boot_ready(
        &format!("bench-ce-{poll_ms}"),
        VmOptions::default().cmdline(&cmdline),
    );
    let poll = Duration::from_millis(poll_ms);
    let mut v = Vec::new();
    for i in 0..b.runs {
        b.progress(&format!("inject CE poll_ms={poll_ms}"), i);
        std::thread::sleep(poll * 2 + jitter(poll));
        let addr = format!("{:#x}", 0x1234000 + i * 0x1000);
        v.push(time_to_line(
            &mut vm,
            |vm| mce(vm, 0, 9, CE_MEM_RD_CH2, "0", &addr, MISC_PHYS_LSB12),
            &record_line(0, 9, "poll"),
        ));
    }
    vm.quit();
    Metric::new(
        format!("ce_inject_to_line_poll{poll_ms}ms"),
        median(v),
        "ms",
        format!(
            "{}, median of {}; host wall time from QMP `mce 0 9` (corrected memory read error) to the decoded `mce: CPU 0 BANK 9 (poll` line; found by polling: the interval adapts between one 10 ms tick and mce.poll_ms (halved after an error, doubled per quiet poll); each injection after 2 intervals + a random phase, so the interval is back at {poll_ms} ms and about half of it is expected",
            b.vm(Firmware::Bios, 4, &cmdline),
            b.runs
        ),
    )
}

/// An SRAO through `mce -b` (every CPU takes the #MC, as on Intel servers):
/// #MC, rendezvous, grading, consumer, decoded line.
fn srao_latency(b: &Bench) -> Metric {
    let mut vm = boot_ready("bench-srao", VmOptions::default());
    let mut v = Vec::new();
    for i in 0..b.runs {
        b.progress("inject SRAO", i);
        let pfn = 0x10000 + i as u64;
        let addr = format!("{:#x}", pfn << 12);
        v.push(time_to_line(
            &mut vm,
            |vm| mce_b(vm, 0, 9, SRAO_SCRUB, RIPV_MCIP, &addr, MISC_PHYS_LSB12),
            &record_line(0, 9, "exception"),
        ));
        // The machine check is over (page poisoned) before the next one.
        vm.expect_anywhere(&format!(r"Memory failure: {pfn:#x}: "), STEP);
    }
    vm.quit();
    Metric::new(
        "srao_inject_to_line",
        median(v),
        "ms",
        format!(
            "{}, median of {}; host wall time from QMP `mce -b 0 9` (SRAO memory scrub) to the decoded `mce: CPU 0 BANK 9 (exception` line; one VM, one injection after the previous one's Memory failure line",
            b.vm(Firmware::Bios, 4, ""),
            b.runs
        ),
    )
}

/// A fatal error (PCC) through `mce -b`: the decoded line comes from the
/// panic path, before the VM exits; one fresh VM per run.
fn fatal_latency(b: &Bench) -> Metric {
    let mut v = Vec::new();
    for i in 0..b.runs {
        b.progress("inject fatal", i);
        let mut vm = boot_ready(&format!("bench-fatal-{i}"), VmOptions::default());
        v.push(time_to_line(
            &mut vm,
            |vm| mce_b(vm, 0, 2, FATAL_PCC, RIPV_EIPV_MCIP, "0", "0"),
            &record_line(0, 2, "exception"),
        ));
        let exit = vm.exit_status(STEP);
        assert_eq!(exit, ExitKind::MachineCheckPanic, "fatal run {i}");
    }
    Metric::new(
        "fatal_inject_to_line",
        median(v),
        "ms",
        format!(
            "{}, median of {}; host wall time from QMP `mce -b 0 2` (processor context corrupt) to the decoded `mce: CPU 0 BANK 2 (exception` line printed by the machine-check panic path (the VM then exits 0x12); a fresh VM per run",
            b.vm(Firmware::Bios, 4, ""),
            b.runs
        ),
    )
}

// ---------------------------------------------------------------------------
// rendezvous

/// vCPU counts; 32 and 64 under TCG on 2 host cores take seconds per
/// broadcast (QEMU's own delivery) but complete.
const RENDEZVOUS_CPUS: &[u32] = &[1, 2, 4, 8, 16, 32, 64];

fn rendezvous(b: &Bench) -> Vec<Metric> {
    RENDEZVOUS_CPUS
        .iter()
        .flat_map(|&n| rendezvous_with(b, n))
        .collect()
}

/// SRAO broadcasts (`mce -b`, target the last CPU) into one VM of `cpus`
/// vCPUs; the kernel's own report line gives the rendezvous time. With one
/// CPU online the kernel handles the #MC locally (no rendezvous, no report
/// line), so only the injection-to-line time is given for it.
fn rendezvous_with(b: &Bench, cpus: u32) -> Vec<Metric> {
    // The default configuration: its timeouts survive an overcommitted
    // host (they count only a waiter's own running time).
    let cmdline = "";
    let mut vm = boot_ready(
        &format!("bench-rdv-{cpus}"),
        VmOptions::default().cpus(cpus).cmdline(cmdline),
    );
    let all = (0..cpus)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let target = cpus - 1;
    let (mut rdv, mut line, mut qmp, mut after) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..b.runs {
        b.progress(&format!("rendezvous {cpus} vCPUs"), i);
        let pfn = 0x10000 + i as u64;
        let addr = format!("{:#x}", pfn << 12);
        skip_to_end(&mut vm);
        let t0 = Instant::now();
        mce_b(
            &mut vm,
            target,
            9,
            SRAO_SCRUB,
            RIPV_MCIP,
            &addr,
            MISC_PHYS_LSB12,
        );
        let returned = t0.elapsed();
        vm.expect_line(
            &record_line(target, 9, "exception"),
            Duration::from_secs(120),
        );
        let seen = t0.elapsed();
        qmp.push(ms(returned));
        line.push(ms(seen));
        after.push(ms(seen.saturating_sub(returned)));
        vm.expect_anywhere(
            &format!(r"Memory failure: {pfn:#x}: "),
            Duration::from_secs(120),
        );
        if cpus > 1 {
            let report = vm.expect_anywhere(
                &format!(
                    r"mce: rendezvous {}: CPUs {all} met and were released; \d+ us",
                    i + 1
                ),
                Duration::from_secs(120),
            );
            rdv.push(capture(&report, r"released; (\d+) us"));
        }
    }
    if cpus == 1 {
        assert!(
            vm.grep("mce: rendezvous").is_empty(),
            "rendezvous with 1 CPU"
        );
    }
    vm.quit();
    let cond = format!(
        "{}, median of {}; SRAO `mce -b {target} 9` (every vCPU takes the #MC), one VM, one injection after the previous one's Memory failure line",
        b.vm(Firmware::Bios, cpus, cmdline),
        b.runs
    );
    let mut out = Vec::new();
    if cpus > 1 {
        out.push(Metric::new(
            format!("rendezvous_{cpus}cpu"),
            median(rdv),
            "us",
            format!("{cond}; kernel-side: `mce: rendezvous N: ... D us from first arrival to last exit` (TSC)"),
        ));
    }
    let note = if cpus == 1 {
        "; one CPU online: no rendezvous, the kernel handles the #MC locally, so there is no rendezvous_1cpu figure"
    } else {
        ""
    };
    out.push(Metric::new(
        format!("srao_inject_to_line_{cpus}cpu"),
        median(line),
        "ms",
        format!("{cond}; host wall time from QMP `mce -b` to the decoded `mce: CPU {target} BANK 9 (exception` line{note}"),
    ));
    out.push(Metric::new(
        format!("srao_qmp_return_{cpus}cpu"),
        median(qmp),
        "ms",
        format!(
            "{cond}; host wall time from sending QMP `mce -b` to its return (QEMU's own share)"
        ),
    ));
    out.push(Metric::new(
        format!("srao_line_after_qmp_{cpus}cpu"),
        median(after),
        "ms",
        format!("{cond}; from QMP's return to the first decoded line (the kernel's share, plus the serial pipe){note}"),
    ));
    out
}

// ---------------------------------------------------------------------------
// kernel

/// Counts given to the console's `bench` command.
const RING_N: u64 = 1_000_000;
const POLL_N: u64 = 1000;
const ERST_N: u64 = 20;

/// The console's `bench` command, BENCH_RUNS times in one VM; each figure
/// is the median over the runs of what the kernel printed.
fn kernel(b: &Bench) -> Vec<Metric> {
    let mut vm = boot_ready("bench-kernel", VmOptions::default());
    let num = r"([0-9]+(?:\.[0-9]+)?)";
    let mut series: Vec<Vec<f64>> = vec![Vec::new(); 10];
    for i in 0..b.runs {
        b.progress("kernel bench ring/poll/erst", i);
        vm.send(&format!("bench ring {RING_N}\r"));
        let single = vm.expect_line(r"^bench: ring push\+pop .*M records/s$", STEP);
        series[0].push(capture(&single, &format!(r"1 CPU: {num} ns/record")));
        series[1].push(capture(&single, &format!(r", {num} M records/s")));
        let conc = vm.expect_line(r"^bench: ring \d+ producers .* dropped$", STEP);
        series[2].push(capture(&conc, &format!(r"{num} ns/record")));
        series[3].push(capture(&conc, &format!(r", {num} M records/s")));
        let pushes = capture(&conc, r", (\d+) pushes");
        series[4].push(100.0 * capture(&conc, r"(\d+) dropped$") / pushes);

        vm.send(&format!("bench poll {POLL_N}\r"));
        let poll = vm.expect_line(r"^bench: poll .* found$", STEP);
        series[5].push(capture(&poll, &format!(r"median {num} us")));
        series[6].push(capture(&poll, r"\((\d+) cycles\)"));

        vm.send(&format!("bench erst {ERST_N}\r"));
        let erst = vm.expect_line(r"^bench: erst \d+ records .*\(median\)$", STEP);
        series[7].push(capture(&erst, &format!(r"write {num} us")));
        series[8].push(capture(&erst, &format!(r"read {num} us")));
        series[9].push(capture(&erst, &format!(r"clear {num} us")));
    }
    vm.quit();
    let base = format!(
        "{}, median over {} runs in one VM of the console command",
        b.vm(Firmware::Bios, 4, ""),
        b.runs
    );
    let ring = format!(
        "{base} `bench ring {RING_N}` (TSC-timed in the kernel; a fresh RecordRing<MceRecord> of 1024)"
    );
    let single = format!("{ring}: one CPU pushes then pops batches of 512");
    let conc = format!(
        "{ring}: the 3 APs push {} each at once (call_on, interrupt context) while the BSP pops",
        RING_N / 3
    );
    let poll = format!(
        "{base} `bench poll {POLL_N}`: poll_banks(cpu0, Poll) over 10 empty banks, each call timed alone with interrupts off, median of the calls; cycles are the guest TSC's"
    );
    let erst = format!(
        "{base} `bench erst {ERST_N}`: QEMU acpi-erst (64 KiB store), one CPER MCE record, median of {ERST_N} write/read/clear rounds"
    );
    let mut s = series.into_iter().map(median);
    let mut next = || s.next().unwrap();
    vec![
        Metric::new("ring_push_pop_1cpu_ns", next(), "ns", single.clone()),
        Metric::new("ring_push_pop_1cpu_throughput", next(), "Mrec/s", single),
        Metric::new("ring_3producers_ns", next(), "ns", conc.clone()),
        Metric::new(
            "ring_3producers_throughput",
            next(),
            "Mrec/s",
            format!("{conc}; records popped per second"),
        ),
        Metric::new(
            "ring_3producers_dropped",
            next(),
            "%",
            format!("{conc}; pushes refused because the ring was full"),
        ),
        Metric::new("poll_all_banks_us", next(), "us", poll.clone()),
        Metric::new("poll_all_banks_cycles", next(), "cycles", poll),
        Metric::new(
            "erst_write_us",
            next(),
            "us",
            format!("{erst}; write = encode_mce + store.write"),
        ),
        Metric::new(
            "erst_read_us",
            next(),
            "us",
            format!("{erst}; read = store.read"),
        ),
        Metric::new(
            "erst_clear_us",
            next(),
            "us",
            format!("{erst}; clear = store.clear"),
        ),
    ]
}

const STORM_N: u64 = 20_000;

/// Corrected errors absorbed during a storm: the console's `bench storm`,
/// which puts a corrected error in a bank, polls and consumes it, STORM_N
/// times once the bank is in a storm (records logged, counted and kept off
/// the console).
fn storm(b: &Bench) -> Vec<Metric> {
    let mut vm = boot_ready("bench-storm", VmOptions::default());
    let num = r"([0-9]+(?:\.[0-9]+)?)";
    let mut rate = Vec::new();
    let mut ns = Vec::new();
    let mut cycles = Vec::new();
    for i in 0..b.runs {
        b.progress("kernel bench storm", i);
        vm.send(&format!("bench storm {STORM_N}\r"));
        let l = vm.expect_line(r"^bench: storm \d+ corrected errors: .* dropped", BOOT);
        assert!(
            l.contains(", 0 dropped"),
            "records lost during the storm bench: {l}"
        );
        rate.push(capture(&l, &format!(r"errors: {num} errors/s")));
        cycles.push(capture(&l, r"absorbed, (\d+) cycles"));
        ns.push(capture(&l, r"cycles \((\d+) ns\)"));
    }
    vm.quit();
    let cond = format!(
        "{}, median over {} runs of `bench storm {STORM_N}` in one VM: per error, write a corrected error into bank 7 (MSRs), poll all banks, consume the record (storm path: logged, counted, kept off the console), consumer drained every 16 errors; TSC-timed with interrupts off",
        b.vm(Firmware::Bios, 4, ""),
        b.runs
    );
    vec![
        Metric::new("storm_errors_per_s", median(rate), "errors/s", cond.clone()),
        Metric::new("storm_cpu_ns_per_error", median(ns), "ns", cond.clone()),
        Metric::new("storm_cycles_per_error", median(cycles), "cycles", cond),
    ]
}

// ---------------------------------------------------------------------------

fn qemu_version() -> String {
    std::process::Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.split_whitespace()
                .nth(3)
                .map(|v| v.trim_end_matches(',').to_string())
        })
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------------------
// ghes

/// GHES sources: source 1 polled every `GHES_POLL_MS` (the HEST interval),
/// source 2 GHESv2 notified by NMI (the host raises it with QMP
/// `inject-nmi` right after writing the block). Each sample: write a
/// corrected memory error block (status last), time to the kernel's
/// `Hardware error from APEI Generic Hardware Error Source: N` line, wait
/// for the block status to be cleared before the next.
const GHES_POLL_MS: u32 = 20;

fn ghes(b: &Bench) -> Vec<Metric> {
    use tests::ghes::*;
    let mut vm = boot(
        "bench-ghes",
        VmOptions::default(),
        &[
            ghes(1, POLLED, GHES_POLL_MS, None),
            ghes(2, NMI, 0, Some(ack(2))),
        ],
        &[1, 2],
    );
    let header = |id: u16| {
        format!(
            r"\[Hardware Error\]: Hardware error from APEI Generic Hardware Error Source: {id}$"
        )
    };
    let (mut polled, mut nmi) = (Vec::new(), Vec::new());
    for i in 0..b.runs {
        b.progress("ghes polled", i);
        std::thread::sleep(jitter(Duration::from_millis(GHES_POLL_MS as u64)));
        let blk1 = memory_block(CORRECTED, CE_ADDR + i as u64 * 0x1000, 2);
        polled.push(time_to_line(&mut vm, |vm| post(vm, 1, &blk1), &header(1)));
        wait_cleared(&vm, 1);
        b.progress("ghes NMI", i);
        let blk2 = memory_block(CORRECTED, CE_ADDR + i as u64 * 0x1000, 2);
        nmi.push(time_to_line(
            &mut vm,
            |vm| {
                post(vm, 2, &blk2);
                vm.qmp_execute("inject-nmi", serde_json::json!({}));
            },
            &header(2),
        ));
        wait_cleared(&vm, 2);
    }
    vm.quit();
    let cond = b.vm(Firmware::Bios, 4, "");
    vec![
        Metric::new(
            format!("ghes_write_to_line_poll{GHES_POLL_MS}ms"),
            median(polled),
            "ms",
            format!(
                "{cond}, median of {}; host wall time from writing a corrected memory error block (status word last) into shared guest RAM to the decoded `Hardware error from APEI Generic Hardware Error Source: 1` line; source polled by the BSP tick at its HEST interval of {GHES_POLL_MS} ms (10 ms tick), each write at a random phase, so about half an interval is expected",
                b.runs
            ),
        ),
        Metric::new(
            "ghes_write_to_line_nmi",
            median(nmi),
            "ms",
            format!(
                "{cond}, median of {}; host wall time from writing the block into shared guest RAM, then QMP `inject-nmi`, to the decoded `... Source: 2` line (GHESv2, NMI-notified: checked by the NMI handler, copied into a record slot, cleared and acked, printed by the consumer)",
                b.runs
            ),
        ),
    ]
}

// ---------------------------------------------------------------------------
// daemon

/// Records per daemon sample set (at least).
const DAEMON_N: usize = 20;

/// Corrected errors through QMP into a VM running `mcelogd`, one at a time:
/// for each, the kernel-side time from the consumer's decoded line (the
/// record is logged and handed to the readers right after it) to mcelogd's
/// own line for that record (read, decoded and written in ring 3).
fn daemon(b: &Bench) -> Vec<Metric> {
    // A storm would keep the records off the console (not from mcelogd).
    let cmdline = "mcelogd=on mce.poll_ms=20 mce.storm_threshold=64";
    let mut vm = boot_ready("bench-daemon", VmOptions::default().cmdline(cmdline));
    vm.expect_line(r"mcelogd: reading records from reader \d+$", STEP);
    let n = DAEMON_N.max(b.runs * 4);
    let mut v = Vec::new();
    for i in 0..n {
        if i % 4 == 0 {
            b.progress("daemon wake-up", i / 4);
        }
        std::thread::sleep(Duration::from_millis(100) + jitter(Duration::from_millis(20)));
        skip_to_end(&mut vm);
        let addr = format!("{:#x}", 0x1234000 + i * 0x1000);
        mce(&mut vm, 0, 9, CE_MEM_RD_CH2, "0", &addr, MISC_PHYS_LSB12);
        let logged = vm.expect_line(&record_line(0, 9, "poll"), STEP);
        let printed = vm.expect_line(r"mcelogd: record \d+: CPU 0 BANK 9 corrected", STEP);
        // A line may follow the shell's prompt redraw.
        let t = |l: &str| capture(l, r"<\d>\[\s*(\d+\.\d+)\]");
        v.push((t(&printed) - t(&logged)) * 1e6);
    }
    // The kernel's own measure: each read's oldest record, from its
    // queueing for the reader to the read that took it.
    vm.send("stats\r");
    let reader = vm.expect_line(r"^mcelog reader \d+ of task \d+: .* reads$", STEP);
    vm.quit();
    let num = r"([0-9]+)";
    let wake_median = capture(&reader, &format!(r"median {num} us"));
    let wake_max = capture(&reader, &format!(r"max {num} us"));
    let reads = capture(&reader, &format!(r"over {num} reads"));
    let max = v.iter().cloned().fold(0.0, f64::max);
    let cond = format!(
        "{}, {n} corrected errors (QMP `mce 0 9`) one at a time, 100-120 ms apart, into one VM; kernel timestamps (TSC) from the decoded `mce: CPU 0 BANK 9 (poll` line (then the record goes to the readers) to mcelogd's `record K: CPU 0 BANK 9` line (woken, mce_read, decoded, write in ring 3); most of it is the consumer printing the record's ~35 lines on the serial console before handing it to the readers",
        b.vm(Firmware::Bios, 4, cmdline)
    );
    vec![
        Metric::new(
            "daemon_line_to_line_median_us",
            median(v),
            "us",
            format!("{cond}; median"),
        ),
        Metric::new("daemon_line_to_line_max_us", max, "us", format!("{cond}; largest")),
        Metric::new(
            "daemon_queue_to_read_median_us",
            wake_median,
            "us",
            format!("{cond}; the kernel's figure in `stats` (`mcelog reader ...: wake-up (queued to read) median`): TSC from the record's queueing for mcelogd's reader to the mce_read that took it, median of its last 32 of {reads} reads"),
        ),
        Metric::new(
            "daemon_queue_to_read_max_us",
            wake_max,
            "us",
            format!("{cond}; as daemon_queue_to_read_median_us, the largest of all {reads} reads"),
        ),
    ]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let only: Option<Vec<String>> = std::env::var("BENCH_ONLY")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|g| g.trim().to_string()).collect());
    if let Some(only) = &only {
        for g in only {
            if !GROUPS.iter().any(|(name, _)| name == g) {
                let names: Vec<&str> = GROUPS.iter().map(|(n, _)| *n).collect();
                eprintln!(
                    "bench: unknown group '{g}' in BENCH_ONLY (groups: {})",
                    names.join(",")
                );
                std::process::exit(2);
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let b = Bench {
        runs,
        host: format!("QEMU {} TCG on {cores} host cores", qemu_version()),
    };
    // Build the kernel before any timing.
    kernel_elf();

    let t0 = Instant::now();
    let mut metrics = Vec::new();
    let mut failed = Vec::new();
    for (name, group) in GROUPS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|g| g == name)) {
            continue;
        }
        let started = Instant::now();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| group(&b))) {
            Ok(m) => metrics.extend(m),
            Err(_) => failed.push(*name),
        }
        eprintln!(
            "bench: group {name} took {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }

    println!("{:<40} {:>12} {:<6} conditions", "metric", "value", "unit");
    for m in &metrics {
        println!(
            "{:<40} {:>12.3} {:<6} {}",
            m.name, m.value, m.unit, m.conditions
        );
    }
    let path = workspace_root().join("target/bench.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open target/bench.jsonl");
    for m in &metrics {
        let line = serde_json::json!({
            "metric": m.name, "value": m.value, "unit": m.unit, "conditions": m.conditions,
        });
        writeln!(f, "{line}").unwrap();
    }
    println!(
        "written to {} ({:.0} s)",
        path.display(),
        t0.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        eprintln!("bench: failed groups: {}", failed.join(","));
        std::process::exit(1);
    }
}
