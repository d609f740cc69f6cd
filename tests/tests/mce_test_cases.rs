//! mce-test's soft-injection cases (tests/data/mce-test/soft-inj.txt),
//! each in a fresh 2-vCPU VM through the console's `inject`, run in
//! parallel threads: each must end as Linux ends it (panic and its reason,
//! or no panic with the record logged).

use tests::*;

struct Case {
    name: String,
    record: String,
    expect: String,
    cpus: u32,
    cmdline: String,
}

fn cases() -> Vec<Case> {
    let path = workspace_root().join("tests/data/mce-test/soft-inj.txt");
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert!(f.len() == 4 || f.len() == 5, "{l}");
            let mut case = Case {
                name: f[0].into(),
                record: f[2].into(),
                expect: f[3].into(),
                cpus: 2,
                cmdline: String::new(),
            };
            for word in f.get(4).map_or("", |v| v).split_whitespace() {
                match word.strip_prefix("cpus=") {
                    Some(n) => case.cpus = n.parse().expect(l),
                    None => {
                        case.cmdline.push(' ');
                        case.cmdline.push_str(word);
                    }
                }
            }
            case
        })
        .collect()
}

fn run(case: &Case) -> Result<(), String> {
    let mut vm = boot_ready(
        &format!("mcet-{}", case.name),
        VmOptions::default()
            .cpu("intel")
            .cpus(case.cpus)
            .cmdline(case.cmdline.trim()),
    );
    vm.expect_anywhere(r"rasos> ", STEP);
    vm.send(&format!("inject {}\r", case.record));
    let mut parts = case.expect.split(';');
    let end = parts.next().unwrap_or("");
    let also: Vec<&str> = parts.collect();
    let panic_words = match (end.strip_prefix("panic "), end.strip_prefix("panic~ ")) {
        (Some(msg), _) => Some(format!(
            "Kernel panic - not syncing: Fatal machine check: {msg}"
        )),
        (_, Some(words)) => Some(words.to_string()),
        _ => None,
    };
    if let Some(want) = panic_words {
        if vm.exit_status(STEP) != ExitKind::MachineCheckPanic {
            return Err(format!(
                "{}: no machine-check panic\n{}",
                case.name,
                vm.output()
            ));
        }
        let out = vm.output();
        let line = out
            .lines()
            .find(|l| l.contains("Kernel panic"))
            .unwrap_or("");
        if !line.contains(&want) {
            return Err(format!(
                "{}: wanted '{want}' in the panic line\n{out}",
                case.name
            ));
        }
        for re in &also {
            let re = regex::Regex::new(re).unwrap();
            if !out.lines().any(|l| re.is_match(l)) {
                return Err(format!("{}: no line matches '{re}'\n{out}", case.name));
            }
        }
    } else if let Some(first) = end.strip_prefix("logged ") {
        for re in ["inject: done", first]
            .into_iter()
            .chain(also.iter().copied())
        {
            if vm.wait_anywhere(re, STEP).is_none() {
                let out = vm.output();
                vm.quit();
                return Err(format!("{}: no line matches '{re}'\n{out}", case.name));
            }
        }
        let out = vm.output();
        vm.quit();
        if out.contains("Kernel panic") {
            return Err(format!("{}: panicked\n{out}", case.name));
        }
    } else {
        return Err(format!(
            "{}: unknown expectation {}",
            case.name, case.expect
        ));
    }
    Ok(())
}

/// Runs the cases, a fresh VM each, two at a time: more VMs at once on a
/// small host let a boot take longer than the harness waits for READY.
fn run_all(cases: &[Case]) -> Vec<Result<(), String>> {
    cases
        .chunks(2)
        .flat_map(|pair| {
            std::thread::scope(|s| {
                let hs: Vec<_> = pair
                    .iter()
                    .map(|c| {
                        s.spawn(move || {
                            // A harness failure (a panic) is one case's failure.
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(c)))
                                .unwrap_or_else(|_| {
                                    Err(format!("{}: the harness panicked", c.name))
                                })
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}

#[test]
fn soft_injection_cases_end_as_in_linux() {
    // MCE_TEST_CASES=name,name runs only those (for working on a case).
    let only = std::env::var("MCE_TEST_CASES").unwrap_or_default();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| only.is_empty() || only.split(',').any(|n| n == c.name))
        .collect();
    assert!(!cases.is_empty(), "no case named in MCE_TEST_CASES={only}");
    let started = std::time::Instant::now();
    let results = run_all(&cases);
    eprintln!(
        "mce-test cases: {} VMs in {:?} (two at a time)",
        cases.len(),
        started.elapsed()
    );
    let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// A broadcast PCC with RIPV clear, four times at once: the Monarch's
/// reason is the worst severity's message every time, never a CPU's own
/// "RIPV clear" or whichever CPU claimed the panic first.
#[test]
fn the_panic_reason_is_the_same_on_every_run() {
    let cases: Vec<Case> = (0..4)
        .map(|i| Case {
            name: format!("pcc-bcast-{i}"),
            record: "CPU 1 BANK 4 MCGSTATUS MCIP STATUS FATAL 0x5".into(),
            expect: "panic Processor context corrupt".into(),
            cpus: 2,
            cmdline: String::new(),
        })
        .collect();
    let failed: Vec<String> = run_all(&cases)
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// The no-SER cases (mce-test's panic_noser and poll_noser groups) need a
/// CPU without MCG_CAP.SER_P; QEMU always offers it, so they are skipped.
#[test]
fn no_ser_cases_cannot_be_represented() {
    let mut vm = boot_ready("mcet-noser", VmOptions::default().cpu("intel").cpus(2));
    let cap = vm.expect_anywhere(r"mce: cpu0: \d+ banks, MCG_CAP", STEP);
    assert!(cap.contains("SER_P"), "QEMU offered no SER_P: {cap}");
    let skipped = ["panic_noser/uc_over_corrected", "poll_noser/*"];
    eprintln!("skipped (need a CPU without SER_P): {}", skipped.join(", "));
    vm.quit();
}
