//! `boot`: make disk images of the kernel, run them in QEMU, write them to
//! a USB stick.
//!
//! ```text
//! boot image --kernel ELF [--out DIR] [--firmware bios|uefi|both] [--cmdline '...']
//! boot run   --kernel ELF [--out DIR] [--firmware bios|uefi] [--cmdline '...']
//!            [--cpus N] [--cpu intel|amd|MODEL] [--mem 512M] [--qmp PATH]
//!            [--erst PATH|none] [--erst-size BYTES] [--qemu 7|10] [--qemu-args '...']
//! boot usb   --image IMG --dev /dev/sdX [--yes]
//! ```
//!
//! `run` exits with the status documented in the README (0 success, 1 kernel
//! panic, 2 machine-check panic, 3 no exit code, 4 QEMU failure, 130
//! interrupted); QEMU's whole process group is killed when `run` ends or is
//! interrupted. `usb` exits with 0 written and verified, 1 refused (nothing
//! written), 2 writing failed, 3 verification failed, 4 bad arguments.

use boot::image::{self, Firmware};
use boot::qemu::{self, ExitKind, Options};
use boot::usb;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

struct Args {
    words: Vec<String>,
}

impl Args {
    fn take(&mut self, flag: &str) -> Option<String> {
        let i = self.words.iter().position(|w| w == flag)?;
        if i + 1 >= self.words.len() {
            die(&format!("{flag} needs a value"));
        }
        let v = self.words.remove(i + 1);
        self.words.remove(i);
        Some(v)
    }

    fn flag(&mut self, flag: &str) -> bool {
        let i = self.words.iter().position(|w| w == flag);
        if let Some(i) = i {
            self.words.remove(i);
        }
        i.is_some()
    }
}

fn die(msg: &str) -> ! {
    eprintln!("boot: {msg}");
    std::process::exit(4)
}

fn main() {
    let mut words: Vec<String> = std::env::args().skip(1).collect();
    if words.is_empty() {
        die("usage: boot image|run --kernel ELF [options], boot usb --image IMG --dev /dev/sdX [--yes] (see boot/src/main.rs)");
    }
    let cmd = words.remove(0);
    let mut a = Args { words };
    if cmd == "usb" {
        std::process::exit(usb_command(a));
    }
    let kernel = PathBuf::from(
        a.take("--kernel")
            .unwrap_or_else(|| die("--kernel ELF is required")),
    );
    let out = PathBuf::from(a.take("--out").unwrap_or_else(|| "target/images".into()));
    let cmdline = a.take("--cmdline").unwrap_or_default();
    let fw = a.take("--firmware").unwrap_or_else(|| "bios".into());
    match cmd.as_str() {
        "image" => {
            let which: Vec<Firmware> = match fw.as_str() {
                "both" => vec![Firmware::Bios, Firmware::Uefi],
                f => vec![Firmware::parse(f).unwrap_or_else(|| die("--firmware bios|uefi|both"))],
            };
            reject_leftovers(&a);
            for f in which {
                match image::build(&kernel, &cmdline, f, &out) {
                    Ok(p) => println!("{} image: {}", f.name(), p.display()),
                    Err(e) => die(&e),
                }
            }
        }
        "run" => {
            let firmware = Firmware::parse(&fw).unwrap_or_else(|| die("--firmware bios|uefi"));
            let img_dir = out.join(format!("run-{}", firmware.name()));
            let image =
                image::build(&kernel, &cmdline, firmware, &img_dir).unwrap_or_else(|e| die(&e));
            let mut o = Options::new(firmware, image, img_dir);
            if let Some(n) = a.take("--cpus") {
                o.cpus = n.parse().unwrap_or_else(|_| die("--cpus takes a number"));
            }
            if let Some(c) = a.take("--cpu") {
                o.cpu = qemu::cpu_model(&c);
            }
            if let Some(m) = a.take("--mem") {
                o.mem = m;
            }
            o.qmp = a.take("--qmp").filter(|s| !s.is_empty()).map(PathBuf::from);
            o.erst = match a.take("--erst").as_deref() {
                Some("none") => None,
                Some("") | None => Some(PathBuf::from("target/erst.bin")),
                Some(p) => Some(PathBuf::from(p)),
            };
            if let Some(sz) = a.take("--erst-size") {
                o.erst_size = parse_num(&sz).unwrap_or_else(|| die("--erst-size takes a number"));
            }
            if let Some(q) = a.take("--qemu") {
                let here = std::env::current_dir().unwrap_or_else(|e| die(&format!("cwd: {e}")));
                o.qemu = qemu::Qemu::parse(&q, &here)
                    .unwrap_or_else(|| die("--qemu 7|10 (7: the system's QEMU; 10: make setup's)"));
            }
            if let Some(q) = a.take("--qemu-args") {
                o.extra = qemu::split_args(&q);
            }
            reject_leftovers(&a);
            std::process::exit(run(&o));
        }
        other => die(&format!("unknown command '{other}' (image, run, usb)")),
    }
}

/// `boot usb`: the checks, the question and the write live in `boot::usb`;
/// this only parses the flags and maps the outcome to an exit status.
fn usb_command(mut a: Args) -> i32 {
    let image = a
        .take("--image")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| die("--image IMG is required"));
    let dev = a
        .take("--dev")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| die("--dev /dev/sdX is required (the whole USB disk, see `lsblk`)"));
    let yes = a.flag("--yes");
    reject_leftovers(&a);
    let req = usb::Request {
        image: image.into(),
        dev: dev.into(),
        yes,
    };
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let env = usb::Env::host();
    match usb::run(
        &env,
        &req,
        &mut stdin.lock(),
        interactive,
        &mut std::io::stderr(),
    ) {
        Ok(_) => 0,
        Err(f) => {
            eprintln!("boot: {f}");
            f.exit_code()
        }
    }
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn reject_leftovers(a: &Args) {
    if !a.words.is_empty() {
        die(&format!("unexpected arguments: {}", a.words.join(" ")));
    }
}

/// Puts the terminal in character mode (no line buffering, no local echo;
/// Ctrl-C still interrupts) so the kernel's shell does its own editing.
struct TerminalMode {
    saved: Option<String>,
}

impl TerminalMode {
    fn enter() -> TerminalMode {
        if !std::io::stdin().is_terminal() {
            return TerminalMode { saved: None };
        }
        let saved = std::process::Command::new("stty")
            .arg("-g")
            .stdin(Stdio::inherit())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let _ = std::process::Command::new("stty")
            .args(["-icanon", "-echo", "min", "1"])
            .stdin(Stdio::inherit())
            .status();
        TerminalMode { saved }
    }
}

impl Drop for TerminalMode {
    fn drop(&mut self) {
        if let Some(s) = &self.saved {
            let _ = std::process::Command::new("stty")
                .arg(s)
                .stdin(Stdio::inherit())
                .status();
        }
    }
}

fn run(o: &Options) -> i32 {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    eprintln!(
        "boot: {}{} image {}, {} vCPUs, -cpu {}, {} RAM{}{}",
        match &o.qemu {
            qemu::Qemu::System => String::new(),
            qemu::Qemu::Tree(root) => format!("QEMU 10 ({}), ", root.display()),
        },
        o.firmware.name(),
        o.image.display(),
        o.cpus,
        o.cpu,
        o.mem,
        o.qmp
            .as_ref()
            .map(|q| format!(", QMP {}", q.display()))
            .unwrap_or_default(),
        o.erst
            .as_ref()
            .map(|e| format!(", ERST {}", e.display()))
            .unwrap_or_default(),
    );
    let term = TerminalMode::enter();
    let mut child = match qemu::spawn(o, Stdio::piped(), Stdio::inherit()) {
        Ok(c) => c,
        Err(e) => {
            drop(term);
            die(&e)
        }
    };
    // Forward our stdin to the serial line; at EOF (stdin not a terminal)
    // QEMU simply keeps running.
    if let Some(mut to_qemu) = child.stdin.take() {
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || to_qemu.write_all(&buf[..n]).is_err() {
                    break;
                }
                let _ = to_qemu.flush();
            }
        });
    }
    let kind = loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            qemu::kill_group(&mut child);
            break ExitKind::Killed;
        }
        match child.try_wait() {
            Ok(Some(status)) => break ExitKind::from_status(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                eprintln!("boot: waiting for QEMU: {e}");
                break ExitKind::QemuError(-1);
            }
        }
    };
    qemu::kill_group(&mut child);
    drop(term);
    eprintln!(
        "boot: {} (exit status {})",
        kind.describe(),
        kind.exit_code()
    );
    kind.exit_code()
}
