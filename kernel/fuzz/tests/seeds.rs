//! The checked-in seed corpus under `corpus/<target>/` is what
//! `kernel_fuzz::seeds::all()` builds, and the seeds are valid inputs.
//!
//! Regenerate after changing a seed:
//!   cd kernel/fuzz && WRITE_SEEDS=1 cargo test --test seeds

use std::path::PathBuf;

use kernel::apei::{bert, cper, einj::EinjTable, erst::ErstTable, hest, interp, table::SdtHeader};
use kernel::firmware::tables;
use kernel_fuzz::seeds;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

#[test]
fn corpus_is_current() {
    let write = std::env::var_os("WRITE_SEEDS").is_some();
    let mut stale = Vec::new();
    for (target, name, bytes) in seeds::all() {
        assert!(seeds::TARGETS.contains(&target), "{target} is not a target");
        let path = corpus().join(target).join(name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale seeds (WRITE_SEEDS=1 regenerates): {stale:?}"
    );
    for t in seeds::TARGETS {
        let target = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz_targets")
            .join(format!("{t}.rs"));
        assert!(target.exists(), "no fuzz target for {t}");
        assert!(seeds::all().iter().any(|(s, ..)| s == t), "no seed for {t}");
    }
}

#[test]
fn seeds_are_valid() {
    for (target, name, b) in seeds::all() {
        let what = format!("{target}/{name}");
        match target {
            "sdt_header" | "root_table" => {
                SdtHeader::parse_checked(&b).expect(&what);
                if target == "root_table" {
                    assert_eq!(tables::root_entries(&b).expect(&what).len(), 3, "{what}");
                }
            }
            "erst_table" => {
                ErstTable::parse(&b).expect(&what);
            }
            "einj_table" if b.starts_with(b"EINJ") => {
                EinjTable::parse(&b).expect(&what);
            }
            "hest" => {
                let h = hest::parse_hest(&b).expect(&what);
                assert_eq!(h.error, None, "{what}");
                assert_eq!(h.sources.len() as u32, h.declared_count, "{what}");
            }
            "bert_region" if b.starts_with(b"BERT") => {
                bert::parse_bert(&b).expect(&what);
            }
            "bert_region" => {
                let mut out = String::new();
                bert::describe_boot_errors(&b, &mut out).unwrap();
                assert!(!out.contains("invalid"), "{what}: {out}");
            }
            "cper_record" => {
                cper::parse_record(&b).expect(&what);
            }
            "pstore_record" => {
                kernel::pstore::record::parse_pstore(&b)
                    .expect(&what)
                    .expect(&what);
            }
            "error_status_block" => {
                cper::parse_error_status_block(&b).expect(&what);
            }
            "cper_sections" => {
                let mut out = String::new();
                let ty = match b[0] {
                    0 => cper::guids::SEC_PLATFORM_MEM,
                    1 => cper::guids::SEC_PROC_GENERIC,
                    2 => cper::guids::SEC_PCIE,
                    3 => cper::guids::SEC_FW_ERR_REC_REF,
                    _ => kernel::apei::guid::Guid(b[2..18].try_into().unwrap()),
                };
                let body = if b[0] < 5 { &b[2..] } else { &b[18..] };
                cper::write_section(&mut out, 0, &ty, body).unwrap();
                assert!(!out.contains("too small"), "{what}: {out}");
            }
            "ghes_service" => {
                cper::parse_error_status_block(&b[28..]).expect(&what);
            }
            "apei_entries" => {
                let set = if b[0] & 1 == 0 {
                    interp::InstructionSet::Erst
                } else {
                    interp::InstructionSet::Einj
                };
                let count = u32::from_le_bytes(b[2..6].try_into().unwrap());
                interp::parse_entries(&b, b[1] as usize, count, set).expect(&what);
            }
            "rsdp" => {
                tables::parse_rsdp(&b).expect(&what);
            }
            "mce_inject" => {
                kernel::mca::inject::language::parse(std::str::from_utf8(&b).unwrap()).expect(&what);
            }
            "config" if name == "all_keys" => {
                let (_, problems) = kernel::config::Config::parse(std::str::from_utf8(&b).unwrap());
                assert!(problems.is_empty(), "{what}: {problems:?}");
            }
            "shell_words" => {
                kernel::shell::split(std::str::from_utf8(&b).unwrap()).expect(&what);
            }
            _ => {}
        }
    }
}
