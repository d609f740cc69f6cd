//! `selftest`: injects one error of each kind through the software injector
//! and reports what the kernel did with it, checked against what it should
//! do. It costs two pages of RAM (poisoned for good by the SRAO and UCNA
//! steps) and briefly runs the fatal step with `mce.tolerant=3`.

use crate::kprint;
use crate::mca::inject::language::{self, Injection};
use crate::mca::record::{MceRecord, Severity, Source};
use crate::mca::{glue::state, inject::glue::injector, log::glue::consumer};
use core::sync::atomic::Ordering;

struct Step {
    name: &'static str,
    record: alloc::string::String,
    source: Source,
    severity: Severity,
    /// The page this step should poison, if any.
    poisons: Option<u64>,
}

/// Runs an injection and returns the record it produced.
fn run(text: &str) -> Result<MceRecord, alloc::string::String> {
    let inj: Injection = language::parse(text)
        .map_err(|e| alloc::format!("{e}"))?
        .into_iter()
        .next()
        .ok_or("no record")?;
    let before = consumer::STATS.lock().total;
    injector::execute(&inj)?;
    // The consumer runs on this CPU: let it take what the step produced.
    consumer::drain();
    let after = consumer::STATS.lock().total;
    if after == before {
        return Err("no record was logged".into());
    }
    let recent = consumer::RECENT.lock();
    recent
        .iter()
        .rev()
        .find(|r| r.cpu == inj.cpu && r.bank == inj.bank)
        .copied()
        .ok_or_else(|| "the record is not in the log".into())
}

pub fn run_all() {
    let other = if crate::smp::is_online(1) { 1 } else { 0 };
    // Two free pages to aim the memory-failure steps at (given back at once:
    // poisoning must find them free).
    let (Some(p1), Some(p2)) = ({
        let mut f = crate::boot::FRAMES.lock();
        let pages = (f.alloc(), f.alloc());
        if let (Some(a), Some(b)) = pages {
            f.free(a);
            f.free(b);
        }
        pages
    }) else {
        kprint!("selftest: no free pages for the memory-failure steps\n");
        return;
    };
    let steps = [
        Step {
            name: "corrected error, found by polling",
            record: alloc::format!(
                "CPU {other} BANK 5 STATUS CORRECTED 0x92 ADDR 0x1000 MISC 0x8c POLL"
            ),
            source: Source::Poll,
            severity: Severity::Some,
            poisons: None,
        },
        Step {
            name: "corrected error, signaled by CMCI",
            record: "CPU 0 BANK 6 STATUS CORRECTED 0x92 ADDR 0x2000 MISC 0x8c CMCI".into(),
            source: Source::Cmci,
            severity: Severity::Some,
            poisons: None,
        },
        Step {
            name: "UCNA, found by polling",
            record: alloc::format!(
                "CPU {other} BANK 7 STATUS UNCORRECTED UCNA 0x9f ADDR {p1:#x} MISC 0x8c POLL"
            ),
            source: Source::Poll,
            severity: Severity::Deferred,
            poisons: Some(p1),
        },
        Step {
            name: "SRAO, #MC on every CPU (rendezvous)",
            record: alloc::format!(
                "CPU {other} BANK 8 STATUS UNCORRECTED SRAO 0xc0 ADDR {p2:#x} MISC 0x8c EXCP"
            ),
            source: Source::Exception,
            severity: Severity::ActionOptional,
            poisons: Some(p2),
        },
        Step {
            name: "fatal (PCC), graded panic; survived only because tolerant=3 for this step",
            record: alloc::format!("CPU {other} BANK 2 STATUS FATAL 0x5 EXCP"),
            source: Source::Exception,
            severity: Severity::Panic,
            poisons: None,
        },
    ];
    let mut passed = 0;
    for (i, s) in steps.iter().enumerate() {
        let fatal = s.severity == Severity::Panic;
        let tolerant = state::TOLERANT.load(Ordering::SeqCst);
        if fatal {
            state::TOLERANT.store(3, Ordering::SeqCst);
        }
        let r = run(&s.record);
        if fatal {
            state::TOLERANT.store(tolerant, Ordering::SeqCst);
        }
        let verdict = match r {
            Err(e) => alloc::format!("FAILED: {e}"),
            Ok(rec) if rec.source != s.source || rec.severity != s.severity => alloc::format!(
                "FAILED: got a {} record graded {}, expected {} graded {}",
                rec.source.name(),
                rec.severity.name(),
                s.source.name(),
                s.severity.name()
            ),
            Ok(rec) => match s.poisons {
                Some(p) if !crate::boot::FRAMES.lock().is_retired(p) => {
                    alloc::format!("FAILED: page {:#x} was not poisoned", p / 4096)
                }
                Some(p) => {
                    passed += 1;
                    alloc::format!(
                        "ok: cpu{} bank {} {} graded {}, page {:#x} poisoned",
                        rec.cpu,
                        rec.bank,
                        rec.source.name(),
                        rec.severity.name(),
                        p / 4096
                    )
                }
                None => {
                    passed += 1;
                    alloc::format!(
                        "ok: cpu{} bank {} {} graded {}",
                        rec.cpu,
                        rec.bank,
                        rec.source.name(),
                        rec.severity.name()
                    )
                }
            },
        };
        kprint!(
            "selftest: {}/{} {}: {verdict}\n",
            i + 1,
            steps.len(),
            s.name
        );
    }
    kprint!("selftest: {passed}/{} passed\n", steps.len());
}
