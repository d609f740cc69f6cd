//! `make bench`: measurements of the kernel under QEMU (TCG), printed as a
//! table and appended as JSON lines to `target/bench.jsonl`:
//! `{"metric": ..., "value": ..., "unit": ..., "conditions": ...}`.
//!
//! Timings under TCG on a shared 2-core machine vary; each figure is a
//! median of several runs and says what it was measured under.

use std::io::Write;
use std::time::{Duration, Instant};
use tests::*;

struct Metric {
    name: String,
    value: f64,
    unit: &'static str,
    conditions: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Kernel-side seconds from the `[   s.micros]` prefix of a line.
fn stamp(line: &str) -> Option<f64> {
    let inner = line.strip_prefix('[')?.split(']').next()?;
    inner.trim().parse().ok()
}

fn boot_to_ready(firmware: Firmware, runs: usize) -> Vec<Metric> {
    let mut wall = Vec::new();
    let mut kernel = Vec::new();
    for i in 0..runs {
        let t0 = Instant::now();
        let mut vm = Vm::start(
            &format!("bench-boot-{}-{i}", firmware.name()),
            VmOptions::default().firmware(firmware),
        );
        let line = vm.expect_line(r"\] READY$", BOOT);
        wall.push(t0.elapsed().as_secs_f64() * 1000.0);
        kernel.push(stamp(&line).unwrap_or(0.0) * 1000.0);
        vm.quit();
    }
    let cond = format!(
        "QEMU 7.2 TCG, {} firmware, release kernel, 4 vCPUs, 512M, Intel model, median of {runs}",
        firmware.name()
    );
    vec![
        Metric {
            name: format!("boot_to_ready_{}", firmware.name()),
            value: median(wall),
            unit: "ms",
            conditions: format!("{cond}; QEMU start to READY on the host"),
        },
        Metric {
            name: format!("kernel_entry_to_ready_{}", firmware.name()),
            value: median(kernel),
            unit: "ms",
            conditions: format!("{cond}; kernel timestamp of READY (since kernel entry)"),
        },
    ]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut metrics = Vec::new();
    metrics.extend(boot_to_ready(Firmware::Bios, runs));
    metrics.extend(boot_to_ready(Firmware::Uefi, runs));

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
    println!("written to {}", path.display());
    let _ = Duration::ZERO;
}
