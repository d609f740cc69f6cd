//! The console's commands. Each prints what it did; commands that change
//! state say what changed.

use crate::config::LogLevel;
use crate::mca::record::Severity;
use crate::mca::{
    corrected::glue::poll, decode, glue::state, inject::glue::injector, inject::language,
    log::glue::consumer,
};
use crate::{boot, kprint, smp};
use core::sync::atomic::Ordering;

/// Command names (for completion and `help`).
pub static NAMES: &[&str] = &[
    "help", "cpus", "log", "stats", "config", "inject", "pages", "erst", "einj", "selftest",
    "bench", "tasks", "run", "kill", "demo", "mcelogd", "cpu", "testhook",
];

const HELP: &str = "\
commands:
  help                    this list
  cpus                    CPUs and their machine-check bank inventories
  log [N] [ascii]         the last N records (default 10; GHES blocks too), decoded or as mcelog --ascii input
  stats                   records per severity and CPU, drops, rendezvous times, pages, GHES sources
  config                  the configuration in effect
  config set key=value    change mce.tolerant, mce.poll_ms, mce.monarch_timeout_us or log
  inject <record>         inject in the mce-inject language, e.g.
                          inject CPU 0 BANK 9 STATUS CORRECTED 0x92 ADDR 0x1234000 MISC 0x8c POLL
                          (EXCP IN_PROC without RIP: the #MC comes when that CPU next returns to a user task)
  pages                   pages taken out of use (poisoned or offlined)
  cpu offline <n>         take a CPU out of service (CMCI banks rediscovered by the others)
  erst list|show <id>|export|clear <id>|all|fill|readers
                          the persistent record store (ERST)
  selftest                inject one error of each kind and check what the kernel did
  einj [types] | einj inject <type> [addr=<hex>] [mask=<hex>] [apic=<n>] [sbdf=<hex>]
                          firmware error injection (ACPI EINJ; needs einj=on)
  bench ring|poll|erst|storm [N]
                          in-kernel timings: the record ring, one poll of all banks,
                          ERST write+read, corrected errors absorbed during a storm
  tasks                   user tasks: CPU, state, pages (virtual and physical)
  run <program> [cpu=<n>] start a user task (run alone lists the programs)
  kill <id>               kill a user task
  demo srar               a user task consumes poison (SRAR) and is killed; the rest goes on
  mcelogd [status] | start [filter words] | stop
                          the user-space record daemon (filter words: min= max= cpu= bank= source= kind=)
  testhook hold heap|console <cpu> | testhook print <cpu> <n>
                          test only: that CPU takes the heap's lock or the console for good,
                          or prints n numbered log lines
";

/// Runs one command line.
pub fn run(line: &str) {
    let words = match crate::shell::words::split(line) {
        Ok(w) => w,
        Err(e) => {
            kprint!("error: {e}\n");
            return;
        }
    };
    let Some(cmd) = words.first() else { return };
    let args: alloc::vec::Vec<&str> = words[1..].iter().map(|s| s.as_str()).collect();
    match cmd.as_str() {
        "help" => kprint!("{HELP}"),
        "cpus" => cpus(),
        "log" => log(&args),
        "stats" => stats(),
        "config" => config(&args),
        "inject" => inject_cmd(line),
        "pages" => pages(),
        "cpu" => match args.as_slice() {
            ["offline", n] => match n.parse() {
                Ok(c) => match crate::mca::glue::offline::offline(c) {
                    Ok(s) => kprint!("{s}\n"),
                    Err(e) => kprint!("cpu offline: {e}\n"),
                },
                Err(_) => kprint!("usage: cpu offline <n>\n"),
            },
            _ => kprint!("usage: cpu offline <n>\n"),
        },
        "erst" => super::cmd_erst::run(&args),
        "selftest" => super::cmd_selftest::run_all(),
        "einj" => super::cmd_einj::run(&args),
        "bench" => super::cmd_bench::run(&args),
        "tasks" => super::cmd_task::tasks(),
        "run" => super::cmd_task::run(&args),
        "kill" => super::cmd_task::kill(&args),
        "demo" => super::cmd_task::demo(&args),
        "mcelogd" => super::cmd_mcelogd::run(&args),
        "testhook" => super::cmd_testhook::run(&args),
        other => kprint!("unknown command '{other}' (try help)\n"),
    }
}

fn cpus() {
    let online = smp::online();
    kprint!("{} CPU(s) online: {}\n", online.count(), online);
    for cpu in online.iter() {
        let cpu = cpu as usize;
        let c = &state::CPUS[cpu];
        kprint!(
            "cpu{cpu}: APIC id {}, {}; #MC taken {}, polls {}, errors polled {}, poll interval {} ms\n",
            c.apic_id.load(Ordering::Relaxed),
            state::mcgcap(cpu),
            state::EXCEPTIONS[cpu].load(Ordering::Relaxed),
            poll::POLLS[cpu].load(Ordering::Relaxed),
            poll::FOUND[cpu].load(Ordering::Relaxed),
            poll::interval_us(cpu) / 1000
        );
    }
}

fn log(args: &[&str]) {
    let mut n = 10usize;
    let mut ascii = false;
    for a in args {
        match *a {
            "ascii" => ascii = true,
            a => match a.parse() {
                Ok(v) => n = v,
                Err(_) => {
                    kprint!("usage: log [N] [ascii]\n");
                    return;
                }
            },
        }
    }
    // Machine-check records and GHES blocks, merged by time.
    let blocks = crate::firmware::glue::ghes::recent(n);
    let recent = consumer::RECENT.lock();
    let mut merged: alloc::vec::Vec<(u64, Result<&crate::mca::record::MceRecord, usize>)> = recent
        .iter()
        .skip(recent.len().saturating_sub(n))
        .map(|r| (r.time_us, Ok(r)))
        .chain(blocks.iter().enumerate().map(|(i, b)| (b.time_us, Err(i))))
        .collect();
    merged.sort_by_key(|(t, _)| *t);
    let skip = merged.len().saturating_sub(n);
    let ghes = match blocks.len() {
        0 => alloc::string::String::new(),
        n => alloc::format!(" and {n} GHES block(s)"),
    };
    kprint!(
        "{} record(s) kept (last {}){ghes}, showing {}\n",
        recent.len(),
        consumer::RECENT_CAPACITY,
        merged.len() - skip
    );
    for (_, item) in merged.iter().skip(skip) {
        match item {
            Ok(rec) => crate::console::with_console(|w| {
                let _ = if ascii {
                    decode::write_ascii(rec, w)
                } else {
                    decode::write_decoded(rec, w)
                };
            }),
            // No mcelog form: shown decoded, which mcelog skips over.
            Err(i) => {
                let b = &blocks[*i];
                crate::console::with_console(|w| {
                    let _ = crate::firmware::glue::ghes::write_recent(b, w);
                });
            }
        }
    }
}

fn stats() {
    let s = consumer::STATS.lock();
    kprint!("records: {} in all\n", s.total);
    for sev in 0..8u8 {
        let n = s.by_severity[sev as usize];
        if n > 0 {
            kprint!(
                "  {:<10} {n}\n",
                Severity::from_u8(sev).map_or("?", |v| v.name())
            );
        }
    }
    for (cpu, n) in s.by_cpu.iter().enumerate() {
        if *n > 0 {
            kprint!("  cpu{cpu:<7} {n}\n");
        }
    }
    drop(s);
    kprint!("dropped (ring full): {}", state::total_dropped());
    for cpu in 0..64 {
        let d = state::dropped_on(cpu);
        if d > 0 {
            kprint!(" cpu{cpu}={d}");
        }
    }
    kprint!("\n");
    // Every valid bank read by a logging pass: logged, dropped, or left in
    // its bank for the consumer that owns it (log::accounting).
    for cpu in crate::smp::online().iter() {
        let t = state::ACCOUNTS[cpu as usize].totals();
        kprint!(
            "bank accounting cpu{cpu}: read {} = logged {} + dropped {} + left for owner {}: {}\n",
            t.read,
            t.logged,
            t.dropped,
            t.left,
            if t.balanced() {
                "balanced"
            } else {
                "UNBALANCED"
            }
        );
    }
    kprint!(
        "not-enabled bank errors logged by #MC: {}\n",
        state::NOT_ENABLED_CLEARED.load(Ordering::Relaxed)
    );
    kprint!(
        "storms: {} so far, {} storm record(s) kept off the console\n",
        crate::mca::corrected::glue::storm::STORMS.load(Ordering::Relaxed),
        consumer::STATS.lock().storm_suppressed
    );
    kprint!("{}\n", crate::mca::corrected::glue::cec::summary());
    for line in crate::firmware::glue::ghes::summary() {
        kprint!("{line}\n");
    }
    kprint!(
        "NMIs nobody claimed: {}; interrupts on no handler's vector: {}; console waits given up: {}; console lines lost to a full queue: {}\n",
        crate::nmi::unknown_count(),
        crate::arch::x86_64::idt::unclaimed(),
        crate::console::OVERRUNS.load(Ordering::Relaxed),
        crate::console::lines::DROPPED.load(Ordering::Relaxed)
    );
    let r = crate::mca::exception::glue::handler::RENDEZVOUS.stats();
    kprint!(
        "rendezvous: {} completed, {} with timeouts, last {} us (CPUs {}), longest {} us\n",
        r.completed,
        r.timed_out,
        r.last_duration_us,
        r.last_participants,
        r.max_duration_us
    );
    let retired = boot::FRAMES.lock().retired().len();
    kprint!("pages out of use: {retired}\n");
    for line in crate::mca::log::glue::readers::summary() {
        kprint!("{line}\n");
    }
}

fn config(args: &[&str]) {
    match args {
        [] | ["show"] => kprint!("{}\n", boot::config()),
        ["set", kv] => config_set(kv),
        _ => kprint!("usage: config [show] | config set key=value\n"),
    }
}

fn config_set(kv: &str) {
    let Some(cell) = boot::CONFIG.get() else {
        return;
    };
    let mut cfg = cell.lock();
    let before = cfg.clone();
    if let Err(p) = cfg.set(kv) {
        kprint!("config: {p}\n");
        return;
    }
    let key = kv.split('=').next().unwrap_or("");
    match key {
        "mce.tolerant" => state::TOLERANT.store(cfg.tolerant, Ordering::SeqCst),
        "mce.poll_ms" => state::POLL_MS.store(cfg.poll_ms, Ordering::SeqCst),
        "mce.monarch_timeout_us" => {
            state::MONARCH_TIMEOUT_US.store(cfg.monarch_timeout_us, Ordering::SeqCst)
        }
        "log" => crate::klog::set_level(cfg.log),
        _ => {
            kprint!("config: {key} can only be set at boot (CMDLINE)\n");
            *cfg = before;
            return;
        }
    }
    kprint!(
        "config: changed {key}: was '{}', now '{}'\n",
        value_of(&before, key),
        value_of(&cfg, key)
    );
}

fn value_of(c: &crate::config::Config, key: &str) -> alloc::string::String {
    use alloc::string::ToString;
    match key {
        "mce.tolerant" => c.tolerant.to_string(),
        "mce.poll_ms" => c.poll_ms.to_string(),
        "mce.monarch_timeout_us" => c.monarch_timeout_us.to_string(),
        "log" => LogLevel::name(c.log).into(),
        _ => "?".into(),
    }
}

fn inject_cmd(line: &str) {
    let text = line.trim_start().strip_prefix("inject").unwrap_or("");
    let injections = match language::parse(text) {
        Ok(v) if v.is_empty() => {
            kprint!(
                "inject: nothing to inject (expected a record such as 'CPU 0 BANK 1 STATUS ...')\n"
            );
            return;
        }
        Ok(v) => v,
        Err(mut e) => {
            // The parser counts columns from the start of the record text;
            // report them on the command line as typed.
            if e.line == 1 {
                e.column += line.len() - text.len();
            }
            kprint!("inject: {e}\n");
            return;
        }
    };
    injector::execute_input(
        &injections,
        |inj| {
            kprint!(
                "inject: {}\n",
                language::format(inj).trim_end().replace('\n', " ")
            )
        },
        |result| match result {
            Ok(what) => kprint!("inject: done: {what}\n"),
            Err(e) => kprint!("inject: failed: {e}\n"),
        },
    );
}

fn pages() {
    let frames = boot::FRAMES.lock();
    let list = frames.retired();
    kprint!("{} page(s) out of use\n", list.len());
    for (pfn, why) in list {
        kprint!("  {:#x} ({:#x}): {:?}\n", pfn, pfn * 4096, why);
    }
}
