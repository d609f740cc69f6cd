//! The QEMU command line and process handling.
//!
//! Defaults match what the kernel and its tests expect: q35, 4 vCPUs,
//! 512 MiB, an Intel CPU model (Skylake-SP identity), serial on stdio,
//! `isa-debug-exit` so the kernel can report how it ended, a QMP socket for
//! injecting machine checks, and the `acpi-erst` device backed by a file so
//! error records persist between runs.

use crate::image::Firmware;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

/// `-cpu` for `CPU=intel`: QEMU's `max` model with the identity of a
/// Skylake-SP Xeon, so the kernel applies Intel machine-check semantics.
pub const INTEL_CPU: &str = "max,vendor=GenuineIntel,family=6,model=85,stepping=4";
/// `-cpu` for `CPU=amd`: QEMU's `max` model presents an AuthenticAMD CPU.
pub const AMD_CPU: &str = "max";

pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// The ERST backing file's default size (`ERST_SIZE`).
pub const DEFAULT_ERST_SIZE: u64 = 0x10000;

#[derive(Clone, Debug)]
pub struct Options {
    pub firmware: Firmware,
    pub image: PathBuf,
    pub cpus: u32,
    /// The `-cpu` argument.
    pub cpu: String,
    pub mem: String,
    pub qmp: Option<PathBuf>,
    /// The ERST backing file; `None` leaves the device out.
    pub erst: Option<PathBuf>,
    pub erst_size: u64,
    /// Where to keep the writable copy of the UEFI variable store.
    pub work_dir: PathBuf,
    /// Extra arguments, appended last.
    pub extra: Vec<String>,
    /// Which QEMU runs the guest.
    pub qemu: Qemu,
}

/// The system's QEMU (Debian 12: 7.2) or QEMU 10 unpacked by `make setup`
/// (`boot/setup-qemu10.sh`) under a folder of its own: the one that offers
/// x2APIC under TCG and hundreds of vCPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Qemu {
    System,
    /// The unpacked tree's root (it holds `usr/bin`, `usr/lib`, `usr/share`).
    Tree(PathBuf),
}

/// Where `make setup` unpacks QEMU 10, relative to the workspace.
pub const QEMU10_DIR: &str = "target/qemu10";

impl Qemu {
    /// `--qemu 7|system` or `--qemu 10` (the tree under `workspace`).
    pub fn parse(name: &str, workspace: &std::path::Path) -> Option<Qemu> {
        match name {
            "" | "7" | "system" => Some(Qemu::System),
            "10" => Some(Qemu::Tree(workspace.join(QEMU10_DIR))),
            _ => None,
        }
    }

    fn program(&self) -> PathBuf {
        match self {
            Qemu::System => "qemu-system-x86_64".into(),
            Qemu::Tree(root) => root.join("usr/bin/qemu-system-x86_64"),
        }
    }
}

impl Options {
    pub fn new(firmware: Firmware, image: PathBuf, work_dir: PathBuf) -> Options {
        Options {
            firmware,
            image,
            cpus: 4,
            cpu: INTEL_CPU.into(),
            mem: "512M".into(),
            qmp: None,
            erst: None,
            erst_size: DEFAULT_ERST_SIZE,
            work_dir,
            extra: Vec::new(),
            qemu: Qemu::System,
        }
    }
}

/// Maps `CPU=intel|amd` (or a raw QEMU model) to a `-cpu` argument.
pub fn cpu_model(name: &str) -> String {
    match name {
        "intel" | "" => INTEL_CPU.into(),
        "amd" => AMD_CPU.into(),
        other => other.into(),
    }
}

/// Splits `QEMU_ARGS` the way a shell would for simple words (quotes allowed).
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What q35 needs beyond `-smp N` for N vCPUs. APIC ids above 255 exist
/// only in x2APIC mode, and interrupts from the I/O APIC (and MSIs) can
/// reach them only through interrupt remapping in extended mode (EIM), as on
/// real servers; QEMU's VT-d model provides that.
pub fn cpu_count_args(cpus: u32) -> Vec<String> {
    if cpus > 255 {
        vec!["-device".into(), "intel-iommu,intremap=on,eim=on".into()]
    } else {
        Vec::new()
    }
}

/// Builds the argument list (without the program name).
pub fn args(o: &Options) -> Result<Vec<String>, String> {
    let mut a: Vec<String> = Vec::new();
    if let Qemu::Tree(root) = &o.qemu {
        // Its own firmware and option ROMs, not the system QEMU's.
        a.push("-L".into());
        a.push(root.join("usr/share/qemu").display().to_string());
        // No sound: else it probes for audio back ends and prints that
        // libpipewire is missing (7.2's `-audio` wants a model too).
        a.push("-audio".into());
        a.push("none".into());
    }
    a.extend([
        "-machine".into(),
        "q35".into(),
        "-smp".into(),
        o.cpus.to_string(),
        "-m".into(),
        o.mem.clone(),
        "-cpu".into(),
        o.cpu.clone(),
        "-serial".into(),
        "stdio".into(),
        "-display".into(),
        "none".into(),
        // A guest reset (triple fault) ends the run instead of rebooting.
        "-no-reboot".into(),
        "-device".into(),
        "isa-debug-exit,iobase=0xf4,iosize=0x04".into(),
    ]);
    a.extend(cpu_count_args(o.cpus));
    if let Some(qmp) = &o.qmp {
        let _ = std::fs::remove_file(qmp);
        a.push("-qmp".into());
        a.push(format!("unix:{},server=on,wait=off", qmp.display()));
    }
    if let Some(erst) = &o.erst {
        if let Some(dir) = erst.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        a.push("-object".into());
        a.push(format!(
            "memory-backend-file,id=erstnvram,mem-path={},size={:#x},share=on",
            erst.display(),
            o.erst_size
        ));
        a.push("-device".into());
        a.push("acpi-erst,memdev=erstnvram".into());
    }
    match o.firmware {
        Firmware::Bios => {}
        Firmware::Uefi => {
            std::fs::create_dir_all(&o.work_dir)
                .map_err(|e| format!("{}: {e}", o.work_dir.display()))?;
            let vars = o.work_dir.join("OVMF_VARS.fd");
            if !vars.exists() {
                std::fs::copy(OVMF_VARS, &vars).map_err(|e| {
                    format!("{OVMF_VARS}: {e} (install the `ovmf` package: make setup)")
                })?;
            }
            a.push("-drive".into());
            a.push(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"));
            a.push("-drive".into());
            a.push(format!(
                "if=pflash,format=raw,snapshot=on,file={}",
                vars.display()
            ));
        }
    }
    a.push("-drive".into());
    // snapshot=on: writes go to a temporary overlay, so any number of runs
    // and tests can share one image (no "write" lock).
    a.push(format!("format=raw,snapshot=on,file={}", o.image.display()));
    a.extend(o.extra.iter().cloned());
    Ok(a)
}

/// Starts QEMU in a process group of its own (so the whole group can be
/// killed) that also dies if we die (PR_SET_PDEATHSIG). Serial output comes
/// on the child's stdout.
pub fn spawn(o: &Options, stdin: Stdio, stdout: Stdio) -> Result<Child, String> {
    let args = args(o)?;
    let program = o.qemu.program();
    if let Qemu::Tree(_) = &o.qemu {
        if !program.exists() {
            return Err(format!(
                "{}: not found (QEMU 10 is unpacked there by `make setup`)",
                program.display()
            ));
        }
    }
    let mut cmd = Command::new(&program);
    if let Qemu::Tree(root) = &o.qemu {
        // Without this QEMU 10 loads the system QEMU's modules and aborts
        // ("Only modules from the same build can be loaded").
        cmd.env(
            "QEMU_MODULE_DIR",
            root.join("usr/lib/x86_64-linux-gnu/qemu"),
        );
    }
    cmd.args(&args).stdin(stdin).stdout(stdout).process_group(0);
    // SAFETY: prctl is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| {
        format!(
            "starting {}: {e} (make setup installs QEMU: the `qemu-system-x86` package, and QEMU 10 under {QEMU10_DIR})",
            program.display()
        )
    })
}

/// Kills a child's whole process group.
pub fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) with a negative pid signals the process group that
    // `spawn` created with the child as its leader.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
}

/// How a run ended, from QEMU's exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// The kernel wrote 0x10 to isa-debug-exit: a requested exit or a test
    /// scenario that passed.
    Success,
    /// 0x11: a kernel panic (including unexpected CPU exceptions).
    KernelPanic,
    /// 0x12: the machine-check handler decided to panic.
    MachineCheckPanic,
    /// QEMU exited 0 without the kernel's code: a guest reset or triple fault
    /// (with -no-reboot), or `quit` on the monitor.
    NoExitCode,
    /// QEMU failed (bad arguments, missing files) or wrote another code.
    QemuError(i32),
    /// Killed by a signal (ours, on Ctrl-C or a timeout).
    Killed,
}

impl ExitKind {
    pub fn from_status(status: ExitStatus) -> ExitKind {
        match status.code() {
            Some(33) => ExitKind::Success,
            Some(35) => ExitKind::KernelPanic,
            Some(37) => ExitKind::MachineCheckPanic,
            Some(0) => ExitKind::NoExitCode,
            Some(c) => ExitKind::QemuError(c),
            None => ExitKind::Killed,
        }
    }

    /// The exit status of `make run` / `boot run` (documented in the README).
    pub fn exit_code(self) -> i32 {
        match self {
            ExitKind::Success => 0,
            ExitKind::KernelPanic => 1,
            ExitKind::MachineCheckPanic => 2,
            ExitKind::NoExitCode => 3,
            ExitKind::QemuError(_) => 4,
            ExitKind::Killed => 130,
        }
    }

    pub fn describe(self) -> String {
        match self {
            ExitKind::Success => "kernel exited with success".into(),
            ExitKind::KernelPanic => "kernel panic".into(),
            ExitKind::MachineCheckPanic => "machine-check panic".into(),
            ExitKind::NoExitCode => {
                "QEMU stopped without the kernel's exit code (guest reset/triple fault, or quit)"
                    .into()
            }
            ExitKind::QemuError(c) => format!("QEMU failed (exit status {c})"),
            ExitKind::Killed => "QEMU was killed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_a_shell() {
        assert_eq!(
            split_args(r#"-d int  -object "a b" ''"#),
            vec!["-d", "int", "-object", "a b", ""]
        );
        assert!(split_args("   ").is_empty());
    }

    #[test]
    fn command_line_has_the_devices_tests_rely_on() {
        let dir = std::env::temp_dir().join("boot-args-test");
        let mut o = Options::new(Firmware::Bios, "/x/bios.img".into(), dir.clone());
        o.qmp = Some(dir.join("qmp.sock"));
        o.erst = Some(dir.join("erst.bin"));
        o.extra = vec!["-S".into()];
        let a = args(&o).unwrap().join(" ");
        assert!(a.contains(
            "-machine q35 -smp 4 -m 512M -cpu max,vendor=GenuineIntel,family=6,model=85,stepping=4"
        ));
        assert!(a.contains("isa-debug-exit,iobase=0xf4,iosize=0x04"));
        assert!(a.contains("acpi-erst,memdev=erstnvram"));
        assert!(a.contains("size=0x10000"));
        assert!(a.contains(&format!(
            "unix:{},server=on,wait=off",
            dir.join("qmp.sock").display()
        )));
        assert!(a.ends_with("format=raw,snapshot=on,file=/x/bios.img -S"));
        assert!(!a.contains("pflash"));
    }

    #[test]
    fn qemu10_uses_its_own_data_and_many_cpus_get_interrupt_remapping() {
        let dir = std::env::temp_dir().join("boot-args-test10");
        let mut o = Options::new(Firmware::Bios, "/x/bios.img".into(), dir);
        assert!(!args(&o).unwrap().contains(&"-L".to_string()));
        let ws = std::path::Path::new("/ws");
        assert_eq!(Qemu::parse("7", ws), Some(Qemu::System));
        assert_eq!(Qemu::parse("8", ws), None);
        o.qemu = Qemu::parse("10", ws).unwrap();
        assert_eq!(
            o.qemu.program(),
            PathBuf::from("/ws/target/qemu10/usr/bin/qemu-system-x86_64")
        );
        o.cpus = 255;
        let a = args(&o).unwrap().join(" ");
        assert!(
            a.starts_with("-L /ws/target/qemu10/usr/share/qemu -audio none -machine q35 -smp 255"),
            "{a}"
        );
        assert!(!a.contains("intel-iommu"));
        o.cpus = 288;
        let a = args(&o).unwrap().join(" ");
        assert!(a.contains("-smp 288"));
        assert!(a.contains("-device intel-iommu,intremap=on,eim=on"), "{a}");
    }

    #[test]
    fn exit_codes() {
        use std::os::unix::process::ExitStatusExt;
        let st = |c: i32| ExitStatus::from_raw(c << 8);
        assert_eq!(ExitKind::from_status(st(33)), ExitKind::Success);
        assert_eq!(ExitKind::from_status(st(35)).exit_code(), 1);
        assert_eq!(ExitKind::from_status(st(37)).exit_code(), 2);
        assert_eq!(ExitKind::from_status(st(0)).exit_code(), 3);
        assert_eq!(ExitKind::from_status(st(1)).exit_code(), 4);
        assert_eq!(
            ExitKind::from_status(ExitStatus::from_raw(9)),
            ExitKind::Killed
        );
    }
}
