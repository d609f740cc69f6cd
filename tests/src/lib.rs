//! A small harness for tests that boot the kernel in QEMU: start a VM with
//! options, wait for console lines matching a pattern (with a timeout, never
//! a blind sleep), talk to QEMU's monitor over QMP (including
//! `human-monitor-command`, e.g. `mce`), and collect the exit status.
//!
//! Each VM gets its own directory under `target/test-vms/` with its own image
//! (carrying its own boot configuration), QMP socket and ERST backing file.

pub mod ghes;
pub mod tasks;

pub use boot::image::Firmware;
pub use boot::qemu::ExitKind;
use regex::Regex;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

/// The workspace root (tests/ is one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The release kernel ELF, built once per test process if needed (`make
/// test` builds it beforehand, so this is normally a quick no-op check).
pub fn kernel_elf() -> PathBuf {
    static BUILD: Once = Once::new();
    let root = workspace_root();
    BUILD.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["kbuild", "--release"])
            .status()
            .expect("running cargo kbuild");
        assert!(status.success(), "building the kernel failed");
    });
    root.join("target/x86_64-target/release/kernel")
}

/// How to start a VM. `Default` is the `make run` configuration: BIOS, 4
/// vCPUs, Intel model, 512 MiB, a fresh ERST store.
#[derive(Clone, Debug)]
pub struct VmOptions {
    pub firmware: Firmware,
    pub cpus: u32,
    /// `intel`, `amd` or a raw QEMU `-cpu` model.
    pub cpu: String,
    pub mem: String,
    pub cmdline: String,
    /// The ERST backing file; `None` gives a fresh one in the VM directory.
    pub erst: Option<PathBuf>,
    /// Back guest RAM with a file the test can read and write while the
    /// guest runs (to play firmware: BERT regions, EINJ mailboxes).
    pub shared_ram: bool,
    /// Run on QEMU 10 (unpacked by `make setup`) instead of the system's QEMU.
    pub qemu10: bool,
    pub extra: Vec<String>,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            firmware: Firmware::Bios,
            cpus: 4,
            cpu: "intel".into(),
            mem: "512M".into(),
            cmdline: String::new(),
            erst: None,
            shared_ram: false,
            qemu10: false,
            extra: Vec::new(),
        }
    }
}

impl VmOptions {
    pub fn cmdline(mut self, c: &str) -> Self {
        self.cmdline = c.into();
        self
    }
    pub fn firmware(mut self, f: Firmware) -> Self {
        self.firmware = f;
        self
    }
    pub fn cpus(mut self, n: u32) -> Self {
        self.cpus = n;
        self
    }
    pub fn cpu(mut self, c: &str) -> Self {
        self.cpu = c.into();
        self
    }
    pub fn mem(mut self, m: &str) -> Self {
        self.mem = m.into();
        self
    }
    pub fn erst(mut self, p: PathBuf) -> Self {
        self.erst = Some(p);
        self
    }
    pub fn qemu_arg(mut self, a: &str) -> Self {
        self.extra.push(a.into());
        self
    }
    /// QEMU 10 (x2APIC under TCG, hundreds of vCPUs; `boot::qemu::Qemu`).
    pub fn qemu10(mut self) -> Self {
        self.qemu10 = true;
        self
    }
    pub fn shared_ram(mut self) -> Self {
        self.shared_ram = true;
        self
    }
    /// Adds an ACPI table (raw bytes with header) with `-acpitable`.
    pub fn acpi_table(mut self, path: &Path) -> Self {
        self.extra.push("-acpitable".into());
        self.extra.push(format!("file={}", path.display()));
        self
    }
}

#[derive(Default)]
struct Console {
    lines: Vec<String>,
    /// Text after the last newline (a prompt, say).
    partial: String,
    closed: bool,
}

/// A console line as a terminal would show it: without its line ending,
/// only what follows the last carriage return (the shell clears its prompt
/// with `\r` before log output), and without ANSI escape sequences.
fn clean(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    let text = text.rsplit('\r').next().unwrap_or("");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters, then one final byte in @..~.
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A running VM. Dropping it kills QEMU's process group.
pub struct Vm {
    pub name: String,
    pub dir: PathBuf,
    child: Child,
    console: Arc<(Mutex<Console>, Condvar)>,
    /// Index of the first line `expect_line` looks at next.
    cursor: usize,
    qmp: Option<Qmp>,
    qmp_path: PathBuf,
    exit: Option<ExitKind>,
    ram: Option<(PathBuf, std::fs::File)>,
}

/// A unique directory for one VM.
fn vm_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = workspace_root().join("target/test-vms").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Vm {
    /// Builds an image with the options' boot configuration and starts QEMU.
    pub fn start(name: &str, o: VmOptions) -> Vm {
        Self::start_with(name, o, |_| {})
    }

    /// Like `start`, with a chance to fill shared guest RAM before the guest
    /// runs (`prepare` gets the RAM file).
    pub fn start_with(name: &str, mut o: VmOptions, prepare: impl FnOnce(&std::fs::File)) -> Vm {
        let dir = vm_dir(name);
        let mut ram = None;
        if o.shared_ram {
            let path = PathBuf::from(format!(
                "/dev/shm/rasos-{name}-{}-{}",
                std::process::id(),
                dir.file_name().unwrap().to_string_lossy()
            ));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .expect("create shared RAM file");
            f.set_len(mem_bytes(&o.mem)).unwrap();
            prepare(&f);
            o.extra.push("-object".into());
            o.extra.push(format!(
                "memory-backend-file,id=ram0,size={},mem-path={},share=on",
                o.mem,
                path.display()
            ));
            o.extra.push("-machine".into());
            o.extra.push("memory-backend=ram0".into());
            ram = Some((path, f));
        }
        let image = boot::image::build(&kernel_elf(), &o.cmdline, o.firmware, &dir)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut q = boot::qemu::Options::new(o.firmware, image, dir.clone());
        q.cpus = o.cpus;
        q.cpu = boot::qemu::cpu_model(&o.cpu);
        q.mem = o.mem.clone();
        let qmp_path = dir.join("qmp.sock");
        q.qmp = Some(qmp_path.clone());
        q.erst = Some(o.erst.clone().unwrap_or_else(|| dir.join("erst.bin")));
        q.extra = o.extra.clone();
        if o.qemu10 {
            q.qemu = boot::qemu::Qemu::Tree(workspace_root().join(boot::qemu::QEMU10_DIR));
        }
        let mut child =
            boot::qemu::spawn(&q, Stdio::piped(), Stdio::piped()).unwrap_or_else(|e| panic!("{e}"));
        let console = Arc::new((Mutex::new(Console::default()), Condvar::new()));
        let out = child.stdout.take().unwrap();
        let c2 = console.clone();
        let log_path = dir.join("serial.log");
        std::thread::spawn(move || {
            use std::io::Read;
            let mut log = std::fs::File::create(log_path).ok();
            let mut out = out;
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if let Some(f) = log.as_mut() {
                    let _ = f.write_all(&buf[..n]);
                }
                pending.extend_from_slice(&buf[..n]);
                let (m, cv) = &*c2;
                let mut c = m.lock().unwrap();
                while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    c.lines.push(clean(&line));
                }
                c.partial = clean(&pending);
                cv.notify_all();
            }
            let (m, cv) = &*c2;
            let mut c = m.lock().unwrap();
            if !pending.is_empty() {
                let last = clean(&pending);
                c.lines.push(last);
            }
            c.partial.clear();
            c.closed = true;
            cv.notify_all();
        });
        Vm {
            name: name.into(),
            dir,
            child,
            console,
            cursor: 0,
            qmp: None,
            qmp_path,
            exit: None,
            ram,
        }
    }

    /// Reads guest-physical memory (shared RAM below the PCI hole).
    pub fn ram_read(&self, phys: u64, len: usize) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let (_, f) = self.ram.as_ref().expect("VM started with shared_ram()");
        let mut b = vec![0u8; len];
        f.read_exact_at(&mut b, phys).unwrap();
        b
    }

    /// Writes guest-physical memory (shared RAM below the PCI hole).
    pub fn ram_write(&self, phys: u64, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let (_, f) = self.ram.as_ref().expect("VM started with shared_ram()");
        f.write_all_at(bytes, phys).unwrap();
    }

    /// Everything the VM printed so far.
    pub fn output(&self) -> String {
        self.console.0.lock().unwrap().lines.join("\n")
    }

    /// All lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.console.0.lock().unwrap().lines.clone()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "[{}] {what}\n----- console of {} -----\n{}\n-----",
            self.name,
            self.dir.display(),
            self.output()
        )
    }

    /// Waits for the next line (after the previously matched one) that
    /// matches `pattern`; returns it and moves past it. Fails the test with
    /// the whole console on timeout or if the VM ends first.
    pub fn expect_line(&mut self, pattern: &str, timeout: Duration) -> String {
        match self.wait_line(pattern, timeout) {
            Some(l) => l,
            None => self.fail(&format!("no line matching /{pattern}/ within {timeout:?}")),
        }
    }

    /// Like `expect_line`, but returns `None` instead of failing.
    pub fn wait_line(&mut self, pattern: &str, timeout: Duration) -> Option<String> {
        let re = Regex::new(pattern).expect("valid regex");
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.console;
        let mut c = m.lock().unwrap();
        loop {
            while self.cursor < c.lines.len() {
                let i = self.cursor;
                self.cursor += 1;
                if re.is_match(&c.lines[i]) {
                    return Some(c.lines[i].clone());
                }
            }
            if c.closed {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            c = cv.wait_timeout(c, deadline - now).unwrap().0;
        }
    }

    /// Waits until any line, from the very first, matches `pattern`
    /// (for lines whose order relative to others is not fixed); does not
    /// move the cursor.
    pub fn expect_anywhere(&mut self, pattern: &str, timeout: Duration) -> String {
        match self.wait_anywhere(pattern, timeout) {
            Some(l) => l,
            None => self.fail(&format!("no line matching /{pattern}/ within {timeout:?}")),
        }
    }

    /// Like `expect_anywhere`, but returns `None` instead of failing.
    pub fn wait_anywhere(&mut self, pattern: &str, timeout: Duration) -> Option<String> {
        let re = Regex::new(pattern).expect("valid regex");
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.console;
        let mut c = m.lock().unwrap();
        let mut seen = 0;
        loop {
            if let Some(l) = c.lines[seen..].iter().find(|l| re.is_match(l)) {
                return Some(l.clone());
            }
            if re.is_match(&c.partial) {
                return Some(c.partial.clone());
            }
            seen = c.lines.len();
            let now = Instant::now();
            if c.closed || now >= deadline {
                return None;
            }
            c = cv.wait_timeout(c, deadline - now).unwrap().0;
        }
    }

    /// Every line so far that matches `pattern` (from the start).
    pub fn grep(&self, pattern: &str) -> Vec<String> {
        let re = Regex::new(pattern).expect("valid regex");
        self.lines()
            .into_iter()
            .filter(|l| re.is_match(l))
            .collect()
    }

    /// Index of the next line `expect_line` will look at.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Types a line on the serial console.
    pub fn send(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn qmp(&mut self) -> &mut Qmp {
        if self.qmp.is_none() {
            let q = Qmp::connect(&self.qmp_path, Duration::from_secs(30))
                .unwrap_or_else(|e| self.fail(&format!("QMP: {e}")));
            self.qmp = Some(q);
        }
        self.qmp.as_mut().unwrap()
    }

    /// Runs a QMP command; returns its `return` value (fails on `error`).
    pub fn qmp_execute(&mut self, command: &str, arguments: Value) -> Value {
        match self.qmp().execute(command, arguments) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("QMP {command}: {e}")),
        }
    }

    /// Runs a human-monitor command (e.g. `mce 0 9 0x... ...`) over QMP and
    /// returns its text output.
    pub fn hmp(&mut self, command: &str) -> String {
        let v = self.qmp_execute("human-monitor-command", json!({ "command-line": command }));
        v.as_str().unwrap_or_default().to_string()
    }

    /// QMP events seen so far (e.g. MEMORY_FAILURE).
    pub fn events(&mut self) -> Vec<Value> {
        self.qmp().events.clone()
    }

    /// Waits for QEMU to end; fails the test on timeout.
    pub fn exit_status(&mut self, timeout: Duration) -> ExitKind {
        if let Some(k) = self.exit {
            return k;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let k = ExitKind::from_status(st);
                self.exit = Some(k);
                // Let the reader thread take the last lines.
                let (m, cv) = &*self.console;
                let mut c = m.lock().unwrap();
                let until = Instant::now() + Duration::from_secs(10);
                while !c.closed && Instant::now() < until {
                    c = cv.wait_timeout(c, Duration::from_millis(50)).unwrap().0;
                }
                return k;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("QEMU still running after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asks QEMU to quit through QMP and waits for it.
    pub fn quit(&mut self) -> ExitKind {
        let _ = self.qmp().execute("quit", json!({}));
        self.exit_status(Duration::from_secs(30))
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        boot::qemu::kill_group(&mut self.child);
        if let Some((path, _)) = &self.ram {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `512M` → bytes.
fn mem_bytes(s: &str) -> u64 {
    let (num, mul) = match s.chars().last() {
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('K') => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1),
    };
    num.parse::<u64>().expect("memory size") * mul
}

/// Building ACPI tables for `-acpitable`.
pub mod acpi {
    use std::path::{Path, PathBuf};

    /// A table: 36-byte header (OEM "RASTST") + body, checksum fixed.
    pub fn sdt(sig: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(sig);
        t.extend_from_slice(&((36 + body.len()) as u32).to_le_bytes());
        t.push(revision);
        t.push(0);
        t.extend_from_slice(b"RASTST");
        t.extend_from_slice(b"RASTABLE");
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(b"RAST");
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(body);
        let sum = t.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        t[9] = 0u8.wrapping_sub(sum);
        t
    }

    /// Writes a table file into `dir`.
    pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A GUID's bytes from its text fields (mixed endian, as ACPI/UEFI store it).
    pub fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
        let mut g = [0u8; 16];
        g[..4].copy_from_slice(&d1.to_le_bytes());
        g[4..6].copy_from_slice(&d2.to_le_bytes());
        g[6..8].copy_from_slice(&d3.to_le_bytes());
        g[8..].copy_from_slice(&d4);
        g
    }
}

/// A QMP connection.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    pub events: Vec<Value>,
}

impl Qmp {
    /// Connects (retrying until QEMU has created the socket), reads the
    /// greeting and negotiates capabilities.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, String> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!("connecting to {}: {e}", path.display()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let mut q = Qmp {
            reader: BufReader::new(stream.try_clone().map_err(|e| e.to_string())?),
            writer: stream,
            events: Vec::new(),
        };
        let greeting = q.read()?;
        if greeting.get("QMP").is_none() {
            return Err(format!("unexpected greeting {greeting}"));
        }
        q.execute("qmp_capabilities", json!({}))?;
        Ok(q)
    }

    fn read(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("QMP connection closed".into());
        }
        serde_json::from_str(&line).map_err(|e| format!("bad QMP JSON {line:?}: {e}"))
    }

    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, String> {
        let msg = if arguments.as_object().is_some_and(|o| o.is_empty()) {
            json!({ "execute": command })
        } else {
            json!({ "execute": command, "arguments": arguments })
        };
        writeln!(self.writer, "{msg}").map_err(|e| e.to_string())?;
        loop {
            let v = self.read()?;
            if v.get("event").is_some() {
                self.events.push(v);
                continue;
            }
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(e.to_string());
            }
        }
    }
}

/// Timeouts sized for TCG on a loaded 2-core machine; generous because a
/// timeout only bounds a failure, it never delays a passing test.
pub const BOOT: Duration = Duration::from_secs(90);
pub const STEP: Duration = Duration::from_secs(30);

/// Boots a VM and waits for `READY`.
pub fn boot_ready(name: &str, o: VmOptions) -> Vm {
    let mut vm = Vm::start(name, o);
    vm.expect_line(r"\] READY$", BOOT);
    vm
}

/// Machine-check injection through QEMU's `mce` monitor command, and the
/// status values the tests use.
pub mod mce {
    use super::Vm;

    /// VAL|EN|MISCV|ADDRV, corrected count 1, memory controller read, channel 2.
    pub const CE_MEM_RD_CH2: &str = "0x9c00004000000092";
    /// MISC: physical address mode (2), least significant valid bit 12.
    pub const MISC_PHYS_LSB12: &str = "0x8c";
    /// VAL|UC|EN|MISCV|ADDRV|S, memory scrubbing channel 0: SRAO.
    pub const SRAO_SCRUB: &str = "0xbd000000000000c0";
    /// VAL|UC|EN|MISCV|ADDRV|S|AR, data cache L1 data read: SRAR.
    pub const SRAR_DATA_LOAD: &str = "0xbd80000000100134";
    /// VAL|UC|EN|PCC, internal parity: fatal.
    pub const FATAL_PCC: &str = "0xb200000000000005";
    pub const RIPV_MCIP: &str = "0x5";
    pub const RIPV_EIPV_MCIP: &str = "0x7";

    #[allow(clippy::too_many_arguments)]
    fn inject(
        vm: &mut Vm,
        b: &str,
        cpu: u32,
        bank: u8,
        st: &str,
        mcg: &str,
        addr: &str,
        misc: &str,
    ) {
        let out = vm.hmp(&format!("mce {b}{cpu} {bank} {st} {mcg} {addr} {misc}"));
        assert!(out.trim().is_empty(), "QEMU refused the injection: {out}");
    }

    /// `mce <cpu> <bank> <status> <mcgstatus> <addr> <misc>`: a corrected
    /// error only fills the bank; an uncorrected one raises #MC on `cpu`.
    pub fn mce(vm: &mut Vm, cpu: u32, bank: u8, st: &str, mcg: &str, addr: &str, misc: &str) {
        inject(vm, "", cpu, bank, st, mcg, addr, misc)
    }

    /// `mce -b`: every CPU takes the #MC, as on real Intel servers; the
    /// others get bank 1 = VAL|UC (not enabled) and MCIP|RIPV.
    pub fn mce_b(vm: &mut Vm, cpu: u32, bank: u8, st: &str, mcg: &str, addr: &str, misc: &str) {
        inject(vm, "-b ", cpu, bank, st, mcg, addr, misc)
    }
}
