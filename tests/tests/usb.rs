//! `boot usb` and `make usb` from the outside: argument errors, the refusals
//! that need no stick, exit statuses, and the Makefile's defaults. Host only,
//! no root. Every check, the question, writing and verifying are tested
//! against a fake sysfs in boot/src/usb.rs; nothing here points the tool at
//! a real disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use tests::workspace_root;

/// The `boot` binary of this build profile, built once per test process.
fn boot_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    let release = !cfg!(debug_assertions);
    BUILD.call_once(|| {
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(workspace_root())
            .args(["build", "-q", "-p", "boot"]);
        if release {
            c.arg("--release");
        }
        assert!(
            c.status().expect("running cargo").success(),
            "building boot"
        );
    });
    // This test runs from target/<profile>/deps/.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("boot")
}

/// A fresh scratch directory with an image and a regular file standing in
/// for a device.
fn scratch(name: &str) -> PathBuf {
    let d = workspace_root()
        .join("target/test-usb")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("uefi.img"), vec![0x5a; 10_000]).unwrap();
    std::fs::write(d.join("sdz"), vec![0xaa; 20_000]).unwrap();
    d
}

fn boot_usb(args: &[&str]) -> (i32, String) {
    let out = Command::new(boot_bin())
        .arg("usb")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), stderr(&out))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn bad_arguments_exit_with_4() {
    let d = scratch("args");
    let img = d.join("uefi.img");
    let (code, err) = boot_usb(&["--image", s(&img)]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--dev /dev/sdX is required"), "{err}");
    let (code, err) = boot_usb(&["--dev", "/dev/sdz"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--image IMG is required"), "{err}");
    let (code, err) = boot_usb(&["--image", s(&img), "--dev", "/dev/sdz", "--force"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("unexpected arguments: --force"), "{err}");
}

#[test]
fn a_regular_file_is_refused_and_left_alone() {
    let d = scratch("file");
    let dev = d.join("sdz");
    let (code, err) = boot_usb(&["--image", s(&d.join("uefi.img")), "--dev", s(&dev), "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("sdz is not a block device; give a whole disk such as /dev/sdb"),
        "{err}"
    );
    assert_eq!(std::fs::read(&dev).unwrap(), vec![0xaa; 20_000]);
}

#[test]
fn a_character_device_or_missing_path_is_refused() {
    let d = scratch("chr");
    let img = d.join("uefi.img");
    let (code, err) = boot_usb(&["--image", s(&img), "--dev", "/dev/null", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/dev/null is not a block device"), "{err}");
    let missing = d.join("no-such-disk");
    let (code, err) = boot_usb(&["--image", s(&img), "--dev", s(&missing), "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
}

#[test]
fn a_missing_image_points_at_make_image() {
    let d = scratch("noimage");
    let (code, err) = boot_usb(&[
        "--image",
        s(&d.join("bios.img")),
        "--dev",
        s(&d.join("sdz")),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("(build it with `make image`)"), "{err}");
}

/// `make -n` with a clean environment: what `make usb` would run.
fn make_n(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("make");
    c.current_dir(workspace_root()).arg("-n").args(args);
    for v in ["FIRMWARE", "DEV", "YES", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().expect("running make")
}

fn usb_line(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    let text = String::from_utf8_lossy(&out.stdout).replace("\\\n", "");
    text.lines()
        .find(|l| l.contains(" usb --image "))
        .unwrap_or_else(|| panic!("no usb command in:\n{text}"))
        .to_string()
}

#[test]
fn make_usb_writes_the_uefi_image_by_default() {
    let l = usb_line(&make_n(&["usb", "DEV=/dev/sdz"], &[]));
    assert!(
        l.contains("target/debug/boot usb --image target/images/uefi.img"),
        "{l}"
    );
    assert!(l.contains("--dev '/dev/sdz'"), "{l}");
    assert!(!l.contains("--yes"), "{l}");
    // `run` keeps its BIOS default.
    let run = make_n(&["run"], &[]);
    assert!(String::from_utf8_lossy(&run.stdout).contains("--firmware bios"));
}

#[test]
fn make_usb_takes_firmware_and_yes() {
    let l = usb_line(&make_n(
        &["usb", "DEV=/dev/sdz", "FIRMWARE=bios", "YES=1"],
        &[],
    ));
    assert!(l.contains("--image target/images/bios.img"), "{l}");
    assert!(l.trim_end().ends_with("--yes"), "{l}");
    let l = usb_line(&make_n(&["usb", "DEV=/dev/sdz", "YES=0"], &[]));
    assert!(!l.contains("--yes"), "{l}");
    let l = usb_line(&make_n(&["usb", "DEV=/dev/sdz"], &[("FIRMWARE", "bios")]));
    assert!(l.contains("--image target/images/bios.img"), "{l}");
}

#[test]
fn make_usb_stops_before_building_without_dev() {
    for args in [
        &["usb"][..],
        &["usb", "DEV="],
        &["usb", "DEV=/dev/sdz", "FIRMWARE=efi"],
    ] {
        let out = make_n(args, &[]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("DEV is empty; give the stick's whole disk")
                || err.contains("FIRMWARE must be uefi or bios, not 'efi'"),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "it would have built first");
    }
}
