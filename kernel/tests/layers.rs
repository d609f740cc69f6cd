//! The layout rules of `docs/ARCHITECTURE.md`, checked on the source tree:
//!
//! 1. `arch/` depends on nothing above it: a file under `kernel/src/arch/`
//!    names no `crate::` module but `crate::arch` (the layers that own a
//!    vector register their handlers; arch dispatches) and pure leaf
//!    modules: a top-level file that is not kernel-only and names no
//!    `crate::` module itself (such as `ipi`, the ICR encoding arch sends
//!    with), so it sits below arch and is host-tested.
//! 2. A file is kernel glue by its place: under a kernel-only top-level
//!    module (declared under `#[cfg(target_os = "none")]` in `lib.rs`) or in
//!    a `glue/` folder. Every other file is pure logic: it names no glue
//!    module, and its only `cfg(target_os = "none")` is the one that
//!    declares its folder's `glue` module.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Code without comments (line comments and doc comments), so prose may
/// name any module.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `lib.rs` declares for the kernel only.
fn kernel_only_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut out = BTreeSet::new();
    let mut cfg = false;
    for line in lib.lines().map(str::trim) {
        if line == "#[cfg(target_os = \"none\")]" {
            cfg = true;
            continue;
        }
        if cfg && line.starts_with('#') {
            continue; // e.g. #[macro_use]
        }
        if cfg {
            let name = line
                .trim_start_matches("pub ")
                .trim_start_matches("mod ")
                .trim_end_matches(';');
            out.insert(name.to_string());
        }
        cfg = false;
    }
    assert!(
        out.contains("arch"),
        "lib.rs declares arch for the kernel only"
    );
    out
}

/// Every `crate::name` a file's code names, `use crate::{a, b::c}` included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
        rest = after;
    }
    out
}

fn relative(p: &Path) -> String {
    p.strip_prefix(src())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

fn is_glue(rel: &str, kernel_only: &BTreeSet<String>) -> bool {
    let first = rel.split('/').next().unwrap().trim_end_matches(".rs");
    kernel_only.contains(first) || rel.split('/').any(|c| c == "glue")
}

/// A top-level single-file module, compiled on the host too, whose code
/// names no `crate::` module: below every layer, arch included.
fn is_pure_leaf(name: &str) -> bool {
    let file = src().join(format!("{name}.rs"));
    let Ok(text) = fs::read_to_string(&file) else {
        return false;
    };
    !kernel_only_modules().contains(name) && crate_paths(&code_of(&text)).is_empty()
}

#[test]
fn arch_names_no_module_above_it() {
    let mut files = Vec::new();
    rust_files(&src().join("arch"), &mut files);
    assert!(files.len() > 5, "arch/ has its files");
    let mut bad = Vec::new();
    for f in &files {
        let code = code_of(&fs::read_to_string(f).unwrap());
        for name in crate_paths(&code) {
            if name != "arch" && !is_pure_leaf(&name) {
                bad.push(format!("{} names crate::{name}", relative(f)));
            }
        }
        if code.contains("kernel::") {
            bad.push(format!("{} names the kernel crate", relative(f)));
        }
    }
    assert!(
        bad.is_empty(),
        "arch/ must not depend on the layers above it:\n{}",
        bad.join("\n")
    );
}

#[test]
fn pure_files_name_no_kernel_glue() {
    let kernel_only = kernel_only_modules();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut bad = Vec::new();
    let mut pure = 0;
    for f in &files {
        let rel = relative(f);
        if rel == "lib.rs" || rel == "main.rs" || is_glue(&rel, &kernel_only) {
            continue;
        }
        pure += 1;
        let text = fs::read_to_string(f).unwrap();
        let code = code_of(&text);
        for name in crate_paths(&code) {
            if kernel_only.contains(&name) {
                bad.push(format!("{rel} (pure) names kernel-only crate::{name}"));
            }
        }
        if code.contains("::glue::") {
            bad.push(format!("{rel} (pure) names a glue module"));
        }
        let lines: Vec<&str> = code
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        for (i, l) in lines.iter().enumerate() {
            if l.contains("target_os = \"none\"") && lines.get(i + 1) != Some(&"pub mod glue;") {
                bad.push(format!(
                    "{rel} (pure) has kernel-only code; it belongs in a glue/ folder: {l} {}",
                    lines.get(i + 1).unwrap_or(&"")
                ));
            }
        }
    }
    assert!(pure > 40, "found {pure} pure files");
    assert!(bad.is_empty(), "pure/glue rule broken:\n{}", bad.join("\n"));
}

#[test]
fn the_rule_catches_what_it_should() {
    // The checks above are only as good as their parsers.
    let paths = crate_paths("use crate::{mca::regs, smp};\nlet x = crate::task::current();");
    assert_eq!(
        paths,
        ["mca", "smp", "task"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert_eq!(
        code_of("let a = 1; // crate::smp\n/// crate::task"),
        "let a = 1; \n"
    );
    let k: BTreeSet<String> = ["arch", "smp"].iter().map(|s| s.to_string()).collect();
    assert!(is_glue("arch/x86_64/idt.rs", &k));
    assert!(is_glue("smp.rs", &k));
    assert!(is_glue("mca/log/glue/consumer.rs", &k));
    assert!(!is_glue("mca/log/ring.rs", &k));
}
