//! Writing a disk image to a USB stick without destroying the wrong disk.
//!
//! A mistyped device name overwrites someone's data, so nothing is written
//! unless the target is a whole disk (not a partition), removable, on the USB
//! bus, read-write, not mounted or used by anything (swap, device-mapper,
//! RAID), not the disk the running system lives on, and large enough. Then
//! the user sees what will be overwritten and confirms (or passed `--yes`);
//! the image is written synchronously and read back to verify it.
//!
//! Everything about the machine is read through [`Env`] (the sysfs root, the
//! mount and swap tables, `/dev`), so the tests run every check against a fake
//! sysfs tree in a temporary directory: no stick and no root needed.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

/// Bytes per write and per read-back: large enough that `O_SYNC` costs
/// little per byte, small enough for steady progress.
pub const CHUNK: usize = 4 << 20;

/// sysfs `size` attributes count 512-byte sectors whatever the block size.
const SECTOR: u64 = 512;

/// `BLKFLSBUF` = `_IO(0x12, 97)`, which libc does not define.
const BLKFLSBUF: libc::Ioctl = 0x1261;

/// Mount points whose devices make up the running system.
const SYSTEM_MOUNTS: [&str; 3] = ["/", "/boot", "/boot/efi"];

/// How deep to follow `slaves` links (dm on md on partitions is three).
const MAX_STACK: u32 = 8;

/// Where the machine's state is read from. [`Env::host`] is the real system;
/// tests point the paths into a temporary directory.
#[derive(Clone, Debug)]
pub struct Env {
    /// The sysfs mount, `/sys`.
    pub sys: PathBuf,
    /// The mount table, `/proc/self/mounts`.
    pub mounts: PathBuf,
    /// Active swap areas, `/proc/swaps`.
    pub swaps: PathBuf,
    /// Where device paths in the mount and swap tables (`/dev/...`) live.
    pub dev: PathBuf,
    /// Paths whose filesystem's device counts as the running system (matched
    /// through `st_dev`, which works even when the mount table says
    /// `/dev/root`).
    pub system_paths: Vec<PathBuf>,
    /// Test only: accept a regular file as the target, identified by its file
    /// name in sysfs, so tests can exercise writing and verifying.
    pub allow_file: bool,
}

impl Env {
    pub fn host() -> Env {
        Env {
            sys: "/sys".into(),
            mounts: "/proc/self/mounts".into(),
            swaps: "/proc/swaps".into(),
            dev: "/dev".into(),
            system_paths: vec!["/".into(), "/boot".into()],
            allow_file: false,
        }
    }
}

/// What to write where.
#[derive(Clone, Debug)]
pub struct Request {
    pub image: PathBuf,
    pub dev: PathBuf,
    /// Skip the question (`--yes`, `YES=1`).
    pub yes: bool,
}

/// Why the stick was not written, or not written correctly. The exit code
/// tells a script whether the stick was touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was written: a check failed, the user did not confirm, or the
    /// device could not be opened.
    Refused(String),
    /// Writing stopped part-way; the device holds part of the image.
    Write(String),
    /// Everything was written but reads back differently from `offset` on.
    Verify { offset: u64, detail: String },
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Refused(_) => 1,
            Failure::Write(_) => 2,
            Failure::Verify { .. } => 3,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(m) => write!(f, "{m}"),
            Failure::Write(m) => write!(f, "write failed: {m}"),
            Failure::Verify { offset, detail } => write!(
                f,
                "verification failed: first difference at byte {offset} ({offset:#x}): {detail}"
            ),
        }
    }
}

fn refuse(msg: String) -> Failure {
    Failure::Refused(msg)
}

/// The target disk as sysfs describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// The path as given (may be a `/dev/disk/by-id/...` link).
    pub given: PathBuf,
    /// The device node, symlinks followed.
    pub path: PathBuf,
    /// The kernel's name, e.g. `sdb`.
    pub name: String,
    /// The device's sysfs directory, symlinks followed.
    pub node: PathBuf,
    /// A real block device (false only for a test file under `allow_file`).
    pub block: bool,
    pub size: u64,
    pub vendor: String,
    pub model: String,
    pub partitions: Vec<Partition>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub size: u64,
}

/// Checks, shows, asks, writes and verifies; returns the bytes written.
/// `interactive` says whether `input` is a terminal a person can answer on.
pub fn run(
    env: &Env,
    req: &Request,
    input: &mut dyn BufRead,
    interactive: bool,
    log: &mut dyn Write,
) -> Result<u64, Failure> {
    let len = image_size(&req.image)?;
    let disk = inspect(env, &req.dev)?;
    check(env, &disk, len)?;
    let _ = log.write_all(describe(&disk, &req.image, len).as_bytes());
    confirm(&disk, req.yes, interactive, input, log)?;
    // The question may have been open a while: the stick may have been
    // automounted, or pulled and another device given its name.
    let again = inspect(env, &req.dev)?;
    if again != disk {
        return Err(refuse(format!(
            "{} changed while waiting for confirmation; nothing written",
            disk.path.display()
        )));
    }
    check(env, &again, len)?;
    write_image(&req.image, &disk, len, log)?;
    verify_image(&req.image, &disk, len, log)?;
    let _ = writeln!(
        log,
        "{}: wrote and verified {} ({len} bytes); it can be removed",
        disk.path.display(),
        human(len)
    );
    Ok(len)
}

/// The image's length; it must be a non-empty regular file.
pub fn image_size(image: &Path) -> Result<u64, Failure> {
    let meta = fs::metadata(image).map_err(|e| {
        refuse(format!(
            "image {}: {e} (build it with `make image`)",
            image.display()
        ))
    })?;
    if !meta.is_file() || meta.len() == 0 {
        return Err(refuse(format!(
            "image {} is not a non-empty regular file",
            image.display()
        )));
    }
    Ok(meta.len())
}

/// Finds the device's sysfs entry and describes it; refuses anything but a
/// whole disk (a partition gets a hint naming its disk).
pub fn inspect(env: &Env, given: &Path) -> Result<Disk, Failure> {
    let path = fs::canonicalize(given).map_err(|e| refuse(format!("{}: {e}", given.display())))?;
    let meta = fs::metadata(&path).map_err(|e| refuse(format!("{}: {e}", path.display())))?;
    let block = meta.file_type().is_block_device();
    let node = if block {
        node_of_devnum(env, meta.rdev())
    } else if env.allow_file && meta.is_file() {
        node_of_name(env, &file_name(&path))
    } else {
        return Err(refuse(format!(
            "{} is not a block device; give a whole disk such as /dev/sdb (see `lsblk`)",
            given.display()
        )));
    };
    let node = node.ok_or_else(|| {
        refuse(format!(
            "{}: no entry for it under {}",
            given.display(),
            env.sys.display()
        ))
    })?;
    if node.join("partition").exists() {
        return Err(partition_refusal(env, given, &node));
    }
    Ok(Disk {
        given: given.to_path_buf(),
        name: file_name(&node),
        size: sectors(&node),
        vendor: attr(&node, "device/vendor"),
        model: attr(&node, "device/model"),
        partitions: partitions(&node),
        path,
        node,
        block,
    })
}

fn partition_refusal(env: &Env, given: &Path, node: &Path) -> Failure {
    let disk = node.parent().map(file_name).unwrap_or_default();
    refuse(format!(
        "{} is a partition; give the whole disk, {}",
        given.display(),
        env.dev.join(disk).display()
    ))
}

/// All checks on a whole disk for an image of `len` bytes. The system disk
/// comes first: it is the worst mistake and deserves the clearest message.
pub fn check(env: &Env, disk: &Disk, len: u64) -> Result<(), Failure> {
    check_not_system(env, disk)?;
    check_removable(disk)?;
    check_usb(env, disk)?;
    check_writable(disk)?;
    check_unused(env, disk)?;
    check_size(disk, len)
}

fn check_not_system(env: &Env, disk: &Disk) -> Result<(), Failure> {
    if system_disks(env)?.contains(&disk.name) {
        return Err(refuse(format!(
            "{} holds the running system (/ or /boot); refusing to overwrite it",
            disk.path.display()
        )));
    }
    Ok(())
}

fn check_removable(disk: &Disk) -> Result<(), Failure> {
    match attr(&disk.node, "removable").as_str() {
        "1" => Ok(()),
        v => Err(refuse(format!(
            "{} is not removable (sysfs removable={}); only removable USB disks are written",
            disk.path.display(),
            if v.is_empty() { "?" } else { v }
        ))),
    }
}

/// A USB disk has a `usbN` directory (its host controller's root hub) on
/// its sysfs device path; SATA, NVMe, virtio and loop devices do not.
fn check_usb(env: &Env, disk: &Disk) -> Result<(), Failure> {
    let sys = fs::canonicalize(&env.sys).unwrap_or_else(|_| env.sys.clone());
    let rel = disk.node.strip_prefix(&sys).unwrap_or(&disk.node);
    let usb = rel.components().any(|c| match c {
        Component::Normal(s) => s.to_str().is_some_and(|s| s.starts_with("usb")),
        _ => false,
    });
    if usb {
        return Ok(());
    }
    Err(refuse(format!(
        "{} is not on the USB bus (sysfs {})",
        disk.path.display(),
        disk.node.display()
    )))
}

/// A card with its write-protect switch on shows as read-only; writing
/// would fail on the first chunk.
fn check_writable(disk: &Disk) -> Result<(), Failure> {
    if attr(&disk.node, "ro") == "1" {
        return Err(refuse(format!(
            "{} is read-only (write-protect switch?)",
            disk.path.display()
        )));
    }
    Ok(())
}

fn check_size(disk: &Disk, len: u64) -> Result<(), Failure> {
    if disk.size == 0 {
        return Err(refuse(format!(
            "{} has size 0 (no medium inserted?)",
            disk.path.display()
        )));
    }
    if len > disk.size {
        return Err(refuse(format!(
            "the image ({len} bytes) is larger than {} ({} bytes)",
            disk.path.display(),
            disk.size
        )));
    }
    Ok(())
}

/// Refuses if the disk or any partition is mounted, used as swap, or held by
/// another block device (device-mapper, LUKS, LVM, RAID).
fn check_unused(env: &Env, disk: &Disk) -> Result<(), Failure> {
    let ids = identities(disk);
    for (source, target) in mount_table(env)? {
        if let Some(name) = matching(env, &source, &ids) {
            return Err(refuse(format!(
                "{name} is mounted on {target}; unmount it first (umount {source})"
            )));
        }
    }
    for source in swap_list(env) {
        if let Some(name) = matching(env, &source, &ids) {
            return Err(refuse(format!(
                "{name} is in use as swap; run `swapoff {source}` first"
            )));
        }
    }
    for (name, node) in members(disk) {
        let holders = list_dir(&node.join("holders"));
        if !holders.is_empty() {
            return Err(refuse(format!(
                "{name} is in use by {} (device-mapper, LUKS, LVM or RAID); close that first",
                holders.join(", ")
            )));
        }
    }
    Ok(())
}

/// The disk and its partitions with their sysfs directories.
fn members(disk: &Disk) -> Vec<(String, PathBuf)> {
    let mut v = vec![(disk.name.clone(), disk.node.clone())];
    for p in &disk.partitions {
        v.push((p.name.clone(), disk.node.join(&p.name)));
    }
    v
}

/// Kernel name and `major:minor` of the disk and each partition, the two
/// ways a mount-table entry is matched to them.
fn identities(disk: &Disk) -> Vec<(String, String)> {
    members(disk)
        .into_iter()
        .map(|(name, node)| (name, attr(&node, "dev")))
        .collect()
}

/// Which of `ids` a device path from the mount or swap table refers to:
/// by kernel name after following symlinks (`/dev/disk/by-uuid/...`), and
/// for a device node also by its `major:minor`.
fn matching(env: &Env, source: &str, ids: &[(String, String)]) -> Option<String> {
    let path = dev_path(env, source)?;
    let num = fs::metadata(&path)
        .ok()
        .filter(|m| m.file_type().is_block_device())
        .map(|m| devnum(m.rdev()));
    let name = file_name(&path);
    ids.iter()
        .find(|(n, d)| *n == name || num.as_deref().is_some_and(|num| !d.is_empty() && num == d))
        .map(|(n, _)| n.clone())
}

/// A `/dev/...` path from a table, placed under `env.dev` and resolved;
/// `None` for sources that are no device (`tmpfs`, `overlay`, ...).
fn dev_path(env: &Env, source: &str) -> Option<PathBuf> {
    let rest = source.strip_prefix("/dev/")?;
    let p = env.dev.join(rest);
    Some(fs::canonicalize(&p).unwrap_or(p))
}

/// The whole disks under `/`, `/boot` and `/boot/efi`: from the mount table
/// and from `st_dev` of [`Env::system_paths`], through partitions to their
/// disk and through `slaves` to the disks under dm and md devices.
fn system_disks(env: &Env) -> Result<BTreeSet<String>, Failure> {
    let mut nodes = Vec::new();
    for p in &env.system_paths {
        if let Some(n) = fs::metadata(p)
            .ok()
            .and_then(|m| node_of_devnum(env, m.dev()))
        {
            nodes.push(n);
        }
    }
    for (source, target) in mount_table(env)? {
        if !SYSTEM_MOUNTS.contains(&target.as_str()) {
            continue;
        }
        if let Some(n) = dev_path(env, &source).and_then(|p| node_of_path(env, &p)) {
            nodes.push(n);
        }
    }
    let mut disks = BTreeSet::new();
    for n in nodes {
        whole_disks(env, &n, 0, &mut disks);
    }
    Ok(disks)
}

fn whole_disks(env: &Env, node: &Path, depth: u32, out: &mut BTreeSet<String>) {
    let slaves = list_dir(&node.join("slaves"));
    if !slaves.is_empty() && depth < MAX_STACK {
        for s in slaves {
            if let Some(n) = node_of_name(env, &s) {
                whole_disks(env, &n, depth + 1, out);
            }
        }
        return;
    }
    let disk = if node.join("partition").exists() {
        node.parent().unwrap_or(node)
    } else {
        node
    };
    out.insert(file_name(disk));
}

/// The sysfs directory of a device node: by `major:minor` for a real node,
/// else by file name.
fn node_of_path(env: &Env, path: &Path) -> Option<PathBuf> {
    match fs::metadata(path) {
        Ok(m) if m.file_type().is_block_device() => node_of_devnum(env, m.rdev()),
        _ => node_of_name(env, &file_name(path)),
    }
}

fn node_of_devnum(env: &Env, dev: u64) -> Option<PathBuf> {
    fs::canonicalize(env.sys.join("dev/block").join(devnum(dev))).ok()
}

fn node_of_name(env: &Env, name: &str) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    fs::canonicalize(env.sys.join("class/block").join(name)).ok()
}

fn devnum(dev: u64) -> String {
    format!("{}:{}", libc::major(dev), libc::minor(dev))
}

/// Partitions are the subdirectories with a `partition` attribute, ordered
/// by number (so sdb10 follows sdb9).
fn partitions(node: &Path) -> Vec<Partition> {
    let mut parts: Vec<(u64, Partition)> = list_dir(node)
        .into_iter()
        .filter_map(|name| {
            let p = node.join(&name);
            let number = attr(&p, "partition").parse().ok()?;
            let size = sectors(&p);
            Some((number, Partition { name, size }))
        })
        .collect();
    parts.sort_by_key(|(n, _)| *n);
    parts.into_iter().map(|(_, p)| p).collect()
}

/// `(source, mount point)` pairs. An unreadable table is a refusal: without
/// it nothing can be said about what is mounted.
fn mount_table(env: &Env) -> Result<Vec<(String, String)>, Failure> {
    let text = fs::read_to_string(&env.mounts)
        .map_err(|e| refuse(format!("{}: {e}", env.mounts.display())))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((unescape(f.next()?), unescape(f.next()?)))
        })
        .collect())
}

/// Swap files and partitions; none if the kernel has no swap support.
fn swap_list(env: &Env) -> Vec<String> {
    let text = fs::read_to_string(&env.swaps).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(unescape))
        .collect()
}

/// The kernel writes space, tab, newline and backslash in table fields as
/// three-digit octal escapes (`\040`).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let code = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match (b[i], code) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The device's size in bytes; 0 if unknown, which the size check refuses.
fn sectors(node: &Path) -> u64 {
    let n: u64 = attr(node, "size").parse().unwrap_or(0);
    n.saturating_mul(SECTOR)
}

/// A sysfs attribute, trimmed; empty if absent.
fn attr(node: &Path, name: &str) -> String {
    fs::read_to_string(node.join(name))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Decimal units, as sticks are sold.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_999 => format!("{:.1} kB", b / 1e3),
        1_000_000..=999_999_999 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.1} GB", b / 1e9),
    }
}

/// What is about to be overwritten, for the user to check before confirming.
pub fn describe(disk: &Disk, image: &Path, len: u64) -> String {
    let given = if disk.given == disk.path {
        String::new()
    } else {
        format!(" (given as {})", disk.given.display())
    };
    let parts: Vec<String> = disk
        .partitions
        .iter()
        .map(|p| format!("{} {}", p.name, human(p.size)))
        .collect();
    let parts = if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    };
    let ident = format!("{} {}", disk.vendor, disk.model);
    format!(
        "About to overwrite {}{given}\n  \
         device:     {}, {:.1} GB ({} bytes)\n  \
         partitions: {parts}\n  \
         image:      {}, {} ({len} bytes)\n\
         Everything on {} will be lost.\n",
        disk.path.display(),
        if ident.trim().is_empty() {
            "unknown model"
        } else {
            ident.trim()
        },
        disk.size as f64 / 1e9,
        disk.size,
        image.display(),
        human(len),
        disk.path.display(),
    )
}

/// Asks for the device path or `yes` to be typed back. Without a terminal
/// there is nobody to ask, so only `--yes` lets the write go ahead.
pub fn confirm(
    disk: &Disk,
    yes: bool,
    interactive: bool,
    input: &mut dyn BufRead,
    log: &mut dyn Write,
) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !interactive {
        return Err(refuse(
            "stdin is not a terminal and --yes (YES=1) was not given; nothing written".into(),
        ));
    }
    let _ = write!(
        log,
        "Type {} or yes to write it, anything else to stop: ",
        disk.path.display()
    );
    let _ = log.flush();
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| refuse(format!("reading the answer: {e}")))?;
    let answer = line.trim();
    let path = Path::new(answer);
    if answer == "yes" || path == disk.path || path == disk.given {
        Ok(())
    } else {
        Err(refuse("not confirmed; nothing written".into()))
    }
}

/// Writes the image's first `len` bytes to the disk with `O_SYNC`, then
/// `fsync`s. `O_EXCL` on a block device makes the kernel refuse it if
/// something claimed it since the checks (a mount, for one).
pub fn write_image(
    image: &Path,
    disk: &Disk,
    len: u64,
    log: &mut dyn Write,
) -> Result<(), Failure> {
    let mut src =
        File::open(image).map_err(|e| refuse(format!("image {}: {e}", image.display())))?;
    let mut dst = open_for_writing(disk).map_err(|e| open_refusal(disk, e))?;
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(CHUNK as u64) as usize;
        let n = fill(&mut src, &mut buf[..want])
            .map_err(|e| Failure::Write(format!("reading {}: {e}", image.display())))?;
        if n < want {
            return Err(Failure::Write(format!(
                "{} shrank to {} bytes while being written",
                image.display(),
                done + n as u64
            )));
        }
        dst.write_all(&buf[..n])
            .map_err(|e| Failure::Write(format!("{} at byte {done}: {e}", disk.path.display())))?;
        done += n as u64;
        progress(log, "writing", done, len);
    }
    let _ = writeln!(log);
    dst.sync_all()
        .map_err(|e| Failure::Write(format!("fsync {}: {e}", disk.path.display())))
}

fn open_for_writing(disk: &Disk) -> io::Result<File> {
    let mut flags = libc::O_SYNC | libc::O_CLOEXEC;
    if disk.block {
        flags |= libc::O_EXCL;
    }
    OpenOptions::new()
        .write(true)
        .custom_flags(flags)
        .open(&disk.path)
}

fn open_refusal(disk: &Disk, e: io::Error) -> Failure {
    let hint = match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " (run as root; `make usb` uses sudo when needed)"
        }
        Some(libc::EBUSY) => " (mounted or in use)",
        _ => "",
    };
    refuse(format!(
        "opening {}: {e}{hint}; nothing written",
        disk.path.display()
    ))
}

/// Reads the disk's first `len` bytes back and compares them with the
/// image; a difference, or the disk ending early, is reported at the first
/// offset where it happens.
pub fn verify_image(
    image: &Path,
    disk: &Disk,
    len: u64,
    log: &mut dyn Write,
) -> Result<(), Failure> {
    let mut src =
        File::open(image).map_err(|e| Failure::Write(format!("image {}: {e}", image.display())))?;
    let mut dst = File::open(&disk.path)
        .map_err(|e| Failure::Write(format!("reopening {}: {e}", disk.path.display())))?;
    if let Err(e) = drop_cache(&dst, disk.block) {
        let _ = writeln!(
            log,
            "warning: could not drop cached pages ({e}); the read-back may come from memory"
        );
    }
    let mut want_buf = vec![0u8; CHUNK];
    let mut got_buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(CHUNK as u64) as usize;
        let a = fill(&mut src, &mut want_buf[..want])
            .map_err(|e| Failure::Write(format!("reading {}: {e}", image.display())))?;
        let b = fill(&mut dst, &mut got_buf[..a]).map_err(|e| Failure::Verify {
            offset: done,
            detail: format!("reading {}: {e}", disk.path.display()),
        })?;
        if let Some(i) = first_difference(&want_buf[..b], &got_buf[..b]) {
            return Err(Failure::Verify {
                offset: done + i as u64,
                detail: format!(
                    "the image has {:#04x}, {} has {:#04x}",
                    want_buf[i],
                    disk.path.display(),
                    got_buf[i]
                ),
            });
        }
        if b < a {
            return Err(Failure::Verify {
                offset: done + b as u64,
                detail: format!("{} ends there", disk.path.display()),
            });
        }
        done += a as u64;
        progress(log, "verifying", done, len);
    }
    let _ = writeln!(log);
    Ok(())
}

/// The read-back must come from the device, not from the pages just
/// written. After `fsync` those pages are clean, so `POSIX_FADV_DONTNEED`
/// evicts them; on a block device `BLKFLSBUF` also flushes and invalidates
/// its buffer cache (it needs CAP_SYS_ADMIN; without it the advice has to
/// do). The stick's own internal cache is beyond anyone's reach.
fn drop_cache(f: &File, block: bool) -> io::Result<()> {
    let fd = f.as_raw_fd();
    if block {
        // SAFETY: BLKFLSBUF takes no argument; fd is open.
        unsafe { libc::ioctl(fd, BLKFLSBUF, 0) };
    }
    // SAFETY: plain syscall on an open fd.
    match unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_DONTNEED) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Reads until `buf` is full or the end; returns how much was read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

fn progress(log: &mut dyn Write, what: &str, done: u64, total: u64) {
    let _ = write!(
        log,
        "\r{what} {:.1} of {:.1} MB ({}%)",
        done as f64 / 1e6,
        total as f64 / 1e6,
        done * 100 / total.max(1)
    );
    let _ = log.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const USB: &str = "devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0";
    const SATA: &str = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0";
    /// 16 GB in sectors.
    const STICK: u64 = 31_250_000;

    /// A fake machine in a temporary directory: sysfs, /dev (regular files
    /// standing in for device nodes), the mount and swap tables.
    struct Fake {
        root: PathBuf,
    }

    impl Fake {
        fn new(name: &str) -> Fake {
            static N: AtomicUsize = AtomicUsize::new(0);
            let root = std::env::temp_dir().join(format!(
                "boot-usb-{name}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = fs::remove_dir_all(&root);
            for d in [
                "sys/class/block",
                "sys/block",
                "sys/dev/block",
                "dev/disk/by-uuid",
            ] {
                fs::create_dir_all(root.join(d)).unwrap();
            }
            fs::write(root.join("mounts"), "sysfs /sys sysfs rw 0 0\n").unwrap();
            fs::write(root.join("swaps"), "Filename Type Size Used Priority\n").unwrap();
            Fake { root }
        }

        fn env(&self) -> Env {
            Env {
                sys: self.root.join("sys"),
                mounts: self.root.join("mounts"),
                swaps: self.root.join("swaps"),
                dev: self.root.join("dev"),
                system_paths: Vec::new(),
                allow_file: true,
            }
        }

        fn dev(&self, name: &str) -> PathBuf {
            self.root.join("dev").join(name)
        }

        /// A disk under sysfs path `bus` with `(name, sectors)` partitions;
        /// its /dev file is filled with 0xaa so untouched bytes show.
        fn disk(
            &self,
            name: &str,
            bus: &str,
            removable: &str,
            sectors: u64,
            parts: &[(&str, u64)],
        ) {
            let rel = format!("{bus}/block/{name}");
            let node = self.root.join("sys").join(&rel);
            fs::create_dir_all(node.join("device")).unwrap();
            fs::create_dir_all(node.join("holders")).unwrap();
            for (f, v) in [
                ("removable", removable.to_string()),
                ("size", sectors.to_string()),
                // A major no real device has, so only names match here.
                ("dev", "4000:16".to_string()),
                ("ro", "0".to_string()),
                ("device/vendor", "SanDisk ".to_string()),
                ("device/model", "Cruzer Blade    ".to_string()),
            ] {
                fs::write(node.join(f), format!("{v}\n")).unwrap();
            }
            symlink(format!("../{rel}"), self.root.join("sys/block").join(name)).unwrap();
            symlink(
                format!("../../{rel}"),
                self.root.join("sys/class/block").join(name),
            )
            .unwrap();
            fs::write(self.dev(name), vec![0xaa; 64 << 10]).unwrap();
            for (i, (p, sectors)) in parts.iter().enumerate() {
                let pn = node.join(p);
                fs::create_dir_all(pn.join("holders")).unwrap();
                fs::write(pn.join("partition"), format!("{}\n", i + 1)).unwrap();
                fs::write(pn.join("size"), format!("{sectors}\n")).unwrap();
                fs::write(pn.join("dev"), format!("4000:{}\n", 17 + i)).unwrap();
                symlink(
                    format!("../../{rel}/{p}"),
                    self.root.join("sys/class/block").join(p),
                )
                .unwrap();
                fs::write(self.dev(p), b"").unwrap();
            }
        }

        /// The usual target: a 16 GB removable USB stick with two partitions.
        fn stick(&self) {
            self.disk(
                "sdb",
                USB,
                "1",
                STICK,
                &[("sdb1", 2048), ("sdb2", STICK - 4096)],
            );
        }

        fn set(&self, rel: &str, text: &str) {
            let p = self.root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }

        fn image(&self, len: usize) -> PathBuf {
            let p = self.root.join("image.img");
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            fs::write(&p, data).unwrap();
            p
        }

        fn request(&self, dev: &str, len: usize) -> Request {
            Request {
                image: self.image(len),
                dev: self.dev(dev),
                yes: true,
            }
        }

        fn run(&self, req: &Request) -> (Result<u64, Failure>, String) {
            self.run_with(&self.env(), req, "", false)
        }

        fn run_with(
            &self,
            env: &Env,
            req: &Request,
            answer: &str,
            tty: bool,
        ) -> (Result<u64, Failure>, String) {
            let mut log = Vec::new();
            let r = run(env, req, &mut answer.as_bytes(), tty, &mut log);
            (r, String::from_utf8_lossy(&log).into_owned())
        }

        fn refusal(&self, req: &Request) -> String {
            match self.run(req).0 {
                Err(Failure::Refused(m)) => m,
                other => panic!("expected a refusal, got {other:?}"),
            }
        }

        fn target(&self, name: &str) -> Vec<u8> {
            fs::read(self.dev(name)).unwrap()
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    fn untouched(f: &Fake) {
        assert!(
            f.target("sdb").iter().all(|&b| b == 0xaa),
            "the target was written"
        );
    }

    #[test]
    fn writes_and_verifies_a_stick() {
        let f = Fake::new("ok");
        f.stick();
        let req = f.request("sdb", 40_000);
        let (r, log) = f.run(&req);
        assert_eq!(r, Ok(40_000), "{log}");
        let t = f.target("sdb");
        assert_eq!(&t[..40_000], &fs::read(&req.image).unwrap()[..]);
        assert!(
            t[40_000..].iter().all(|&b| b == 0xaa),
            "wrote past the image"
        );
        for want in [
            "About to overwrite",
            "SanDisk Cruzer Blade, 16.0 GB (16000000000 bytes)",
            "partitions: sdb1 1.0 MB, sdb2 16.0 GB",
            "image.img, 40.0 kB (40000 bytes)",
            "writing 0.0 of 0.0 MB (100%)",
            "verifying 0.0 of 0.0 MB (100%)",
            "wrote and verified 40.0 kB (40000 bytes)",
        ] {
            assert!(log.contains(want), "missing {want:?} in:\n{log}");
        }
    }

    #[test]
    fn writes_an_image_of_several_chunks() {
        let f = Fake::new("chunks");
        f.stick();
        let req = f.request("sdb", 2 * CHUNK + 12_345);
        let (r, log) = f.run(&req);
        assert_eq!(r, Ok(2 * CHUNK as u64 + 12_345), "{log}");
        assert_eq!(f.target("sdb"), fs::read(&req.image).unwrap());
        assert!(log.contains("writing 4.2 of 8.4 MB (49%)"), "{log}");
    }

    #[test]
    fn a_by_id_link_names_the_disk() {
        let f = Fake::new("link");
        f.stick();
        fs::create_dir_all(f.dev("disk/by-id")).unwrap();
        symlink("../../sdb", f.dev("disk/by-id/usb-SanDisk_Cruzer")).unwrap();
        let mut req = f.request("sdb", 1000);
        req.dev = f.dev("disk/by-id/usb-SanDisk_Cruzer");
        let (r, log) = f.run(&req);
        assert_eq!(r, Ok(1000), "{log}");
        assert!(log.contains("(given as "), "{log}");
    }

    #[test]
    fn typed_confirmation_accepts_the_path_or_yes() {
        let f = Fake::new("confirm");
        f.stick();
        let mut req = f.request("sdb", 1000);
        req.yes = false;
        let path = format!("{}\n", f.dev("sdb").display());
        for answer in [path.as_str(), "yes\n", "  yes  \n"] {
            let (r, log) = f.run_with(&f.env(), &req, answer, true);
            assert_eq!(r, Ok(1000), "{answer:?}: {log}");
            assert!(log.contains("Type "), "{log}");
        }
    }

    #[test]
    fn refuses_without_confirmation() {
        let f = Fake::new("noconfirm");
        f.stick();
        let mut req = f.request("sdb", 1000);
        req.yes = false;
        for answer in ["no\n", "\n", "", "y\n", "/dev/sdc\n"] {
            let (r, _) = f.run_with(&f.env(), &req, answer, true);
            assert_eq!(
                r,
                Err(Failure::Refused("not confirmed; nothing written".into()))
            );
        }
        let (r, _) = f.run_with(&f.env(), &req, "yes\n", false);
        let m = format!("{}", r.unwrap_err());
        assert!(
            m.contains("stdin is not a terminal and --yes (YES=1) was not given"),
            "{m}"
        );
        untouched(&f);
    }

    #[test]
    fn refuses_a_partition_with_a_hint() {
        let f = Fake::new("part");
        f.stick();
        let m = f.refusal(&f.request("sdb1", 1000));
        assert!(
            m.contains("sdb1 is a partition; give the whole disk"),
            "{m}"
        );
        assert!(m.ends_with("/dev/sdb"), "{m}");
    }

    #[test]
    fn refuses_what_is_not_a_block_device() {
        let f = Fake::new("notblock");
        f.stick();
        let req = f.request("sdb", 1000);
        let mut env = f.env();
        env.allow_file = false;
        let (r, _) = f.run_with(&env, &req, "", false);
        let m = r.unwrap_err().to_string();
        assert!(
            m.contains("sdb is not a block device; give a whole disk"),
            "{m}"
        );
        let mut null = req.clone();
        null.dev = "/dev/null".into();
        assert!(f.refusal(&null).contains("/dev/null is not a block device"));
        let mut missing = req.clone();
        missing.dev = f.dev("sdz");
        assert!(f.refusal(&missing).contains("No such file"));
        untouched(&f);
    }

    #[test]
    fn refuses_a_fixed_disk() {
        let f = Fake::new("fixed");
        f.disk("sdb", USB, "0", STICK, &[]);
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(
            m.contains("sdb is not removable (sysfs removable=0)"),
            "{m}"
        );
        untouched(&f);
    }

    #[test]
    fn refuses_a_disk_not_on_usb() {
        let f = Fake::new("sata");
        f.disk("sdb", SATA, "1", STICK, &[]);
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.contains("sdb is not on the USB bus (sysfs "), "{m}");
        assert!(m.contains("ata1"), "{m}");
        untouched(&f);
    }

    #[test]
    fn usb_must_be_a_path_component_below_sysfs() {
        // "usb" elsewhere in the name does not count.
        let f = Fake::new("usb-in-name");
        f.disk("sdb", "devices/pci0000:00/notusb0/host0", "1", STICK, &[]);
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.contains("not on the USB bus"), "{m}");
    }

    #[test]
    fn refuses_a_write_protected_card() {
        let f = Fake::new("ro");
        f.stick();
        f.set("sys/block/sdb/ro", "1\n");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.contains("sdb is read-only"), "{m}");
    }

    #[test]
    fn refuses_a_mounted_partition() {
        let f = Fake::new("mounted");
        f.stick();
        f.set(
            "mounts",
            "/dev/sda2 / ext4 rw 0 0\n/dev/sdb1 /media/my\\040stick vfat rw 0 0\n",
        );
        let m = f.refusal(&f.request("sdb", 1000));
        assert_eq!(
            m,
            "sdb1 is mounted on /media/my stick; unmount it first (umount /dev/sdb1)"
        );
        untouched(&f);
    }

    #[test]
    fn refuses_a_mount_named_through_a_link() {
        let f = Fake::new("mounted-link");
        f.stick();
        symlink("../../sdb2", f.dev("disk/by-uuid/1234-ABCD")).unwrap();
        f.set("mounts", "/dev/disk/by-uuid/1234-ABCD /mnt ext4 rw 0 0\n");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.starts_with("sdb2 is mounted on /mnt"), "{m}");
    }

    #[test]
    fn refuses_a_mounted_whole_disk() {
        let f = Fake::new("mounted-disk");
        f.disk("sdb", USB, "1", STICK, &[]);
        f.set("mounts", "/dev/sdb /mnt iso9660 ro 0 0\n");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.starts_with("sdb is mounted on /mnt"), "{m}");
    }

    #[test]
    fn matches_a_mount_by_major_minor() {
        // A real device node (any the host has) whose name differs from the
        // partition's: only its major:minor can tie it to the stick.
        let Some(node) = some_block_device() else {
            eprintln!("no block device under /dev; skipped");
            return;
        };
        let f = Fake::new("devnum");
        f.stick();
        let num = devnum(fs::metadata(&node).unwrap().rdev());
        f.set("sys/block/sdb/sdb2/dev", &format!("{num}\n"));
        symlink(&node, f.dev("mapper-alias")).unwrap();
        f.set("mounts", "/dev/mapper-alias /srv ext4 rw 0 0\n");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.starts_with("sdb2 is mounted on /srv"), "{m}");
    }

    fn some_block_device() -> Option<PathBuf> {
        fs::read_dir("/dev")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| fs::metadata(p).is_ok_and(|m| m.file_type().is_block_device()))
    }

    #[test]
    fn refuses_a_swap_partition() {
        let f = Fake::new("swap");
        f.stick();
        f.set(
            "swaps",
            "Filename Type Size Used Priority\n/dev/sdb2 partition 1000 0 -2\n",
        );
        let m = f.refusal(&f.request("sdb", 1000));
        assert_eq!(m, "sdb2 is in use as swap; run `swapoff /dev/sdb2` first");
    }

    #[test]
    fn refuses_a_partition_held_by_device_mapper() {
        let f = Fake::new("holders");
        f.stick();
        f.set("sys/block/sdb/sdb2/holders/dm-0", "");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.starts_with("sdb2 is in use by dm-0"), "{m}");
    }

    #[test]
    fn refuses_the_system_disk_from_the_mount_table() {
        let f = Fake::new("system-mount");
        f.stick();
        f.set("mounts", "/dev/sdb2 / ext4 rw 0 0\n");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.contains("sdb holds the running system"), "{m}");
        untouched(&f);
    }

    #[test]
    fn refuses_the_system_disk_under_device_mapper() {
        let f = Fake::new("system-dm");
        f.stick();
        f.disk("dm-0", "devices/virtual", "0", STICK, &[]);
        f.set("sys/devices/virtual/block/dm-0/slaves/sdb2", "");
        fs::create_dir_all(f.dev("mapper")).unwrap();
        symlink("../dm-0", f.dev("mapper/root")).unwrap();
        f.set("mounts", "/dev/mapper/root / ext4 rw 0 0\n");
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.contains("sdb holds the running system"), "{m}");
    }

    #[test]
    fn refuses_the_system_disk_from_st_dev() {
        // The mount table says nothing (as with /dev/root); the device of
        // the system path leads to the stick's partition.
        let f = Fake::new("system-stdev");
        f.stick();
        let sysroot = f.root.join("sysroot");
        fs::create_dir_all(&sysroot).unwrap();
        let num = devnum(fs::metadata(&sysroot).unwrap().dev());
        symlink(
            "../../block/sdb/sdb1",
            f.root.join("sys/dev/block").join(num),
        )
        .unwrap();
        let mut env = f.env();
        env.system_paths = vec![sysroot];
        let (r, _) = f.run_with(&env, &f.request("sdb", 1000), "", false);
        let m = r.unwrap_err().to_string();
        assert!(m.contains("sdb holds the running system"), "{m}");
    }

    #[test]
    fn another_system_disk_does_not_matter() {
        let f = Fake::new("system-other");
        f.stick();
        f.disk(
            "sda",
            SATA,
            "0",
            STICK * 4,
            &[("sda1", 2048), ("sda2", STICK)],
        );
        f.set(
            "mounts",
            "/dev/sda2 / ext4 rw 0 0\n/dev/sda1 /boot/efi vfat rw 0 0\n",
        );
        let (r, log) = f.run(&f.request("sdb", 1000));
        assert_eq!(r, Ok(1000), "{log}");
    }

    #[test]
    fn refuses_an_image_larger_than_the_stick() {
        let f = Fake::new("small");
        f.disk("sdb", USB, "1", 100, &[]);
        let m = f.refusal(&f.request("sdb", 51_201));
        assert!(
            m.contains("the image (51201 bytes) is larger than")
                && m.ends_with("sdb (51200 bytes)"),
            "{m}"
        );
        let (r, log) = f.run(&f.request("sdb", 51_200));
        assert_eq!(r, Ok(51_200), "{log}");
    }

    #[test]
    fn refuses_a_reader_without_a_card() {
        let f = Fake::new("nomedium");
        f.disk("sdb", USB, "1", 0, &[]);
        let m = f.refusal(&f.request("sdb", 1000));
        assert!(m.contains("has size 0 (no medium inserted?)"), "{m}");
    }

    #[test]
    fn refuses_a_missing_image() {
        let f = Fake::new("noimage");
        f.stick();
        let mut req = f.request("sdb", 10);
        req.image = f.root.join("none.img");
        let m = f.refusal(&req);
        assert!(m.contains("(build it with `make image`)"), "{m}");
    }

    /// Answers "yes", doing something to the machine while the question is
    /// open.
    struct Meddler<F: FnOnce()>(Option<F>);

    impl<F: FnOnce()> Read for Meddler<F> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(meddle) = self.0.take() else {
                return Ok(0);
            };
            meddle();
            buf[..4].copy_from_slice(b"yes\n");
            Ok(4)
        }
    }

    fn answer_while(f: &Fake, meddle: impl FnOnce()) -> String {
        let mut req = f.request("sdb", 1000);
        req.yes = false;
        let mut input = io::BufReader::new(Meddler(Some(meddle)));
        let r = run(&f.env(), &req, &mut input, true, &mut Vec::new());
        untouched(f);
        r.unwrap_err().to_string()
    }

    #[test]
    fn checks_again_after_the_question() {
        let f = Fake::new("automount");
        f.stick();
        let m = answer_while(&f, || {
            f.set("mounts", "/dev/sdb1 /media/stick vfat rw 0 0\n");
        });
        assert!(m.starts_with("sdb1 is mounted on /media/stick"), "{m}");
    }

    #[test]
    fn refuses_a_device_swapped_during_the_question() {
        let f = Fake::new("swapped");
        f.stick();
        let m = answer_while(&f, || f.set("sys/block/sdb/device/model", "Other\n"));
        assert!(
            m.ends_with("sdb changed while waiting for confirmation; nothing written"),
            "{m}"
        );
    }

    fn written(f: &Fake, len: usize) -> (Request, Disk) {
        let req = f.request("sdb", len);
        let disk = inspect(&f.env(), &req.dev).unwrap();
        write_image(&req.image, &disk, len as u64, &mut Vec::new()).unwrap();
        (req, disk)
    }

    #[test]
    fn verify_reports_the_first_corrupt_byte() {
        let f = Fake::new("corrupt");
        f.stick();
        let len = CHUNK + 5000;
        let (req, disk) = written(&f, len);
        let mut t = f.target("sdb");
        let at = CHUNK + 1234;
        t[at] ^= 0xff;
        t[at + 10] ^= 0xff;
        fs::write(f.dev("sdb"), &t).unwrap();
        let e = verify_image(&req.image, &disk, len as u64, &mut Vec::new()).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let Failure::Verify { offset, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*offset, at as u64);
        assert!(e.to_string().starts_with(&format!(
            "verification failed: first difference at byte {at} ({at:#x}): the image has "
        )));
    }

    #[test]
    fn verify_reports_a_short_device() {
        let f = Fake::new("short");
        f.stick();
        let (req, disk) = written(&f, 30_000);
        fs::OpenOptions::new()
            .write(true)
            .open(f.dev("sdb"))
            .unwrap()
            .set_len(20_000)
            .unwrap();
        let e = verify_image(&req.image, &disk, 30_000, &mut Vec::new()).unwrap_err();
        assert_eq!(
            e,
            Failure::Verify {
                offset: 20_000,
                detail: format!("{} ends there", disk.path.display()),
            }
        );
    }

    #[test]
    fn exit_codes_tell_whether_the_stick_was_touched() {
        assert_eq!(Failure::Refused(String::new()).exit_code(), 1);
        assert_eq!(Failure::Write(String::new()).exit_code(), 2);
        let v = Failure::Verify {
            offset: 0,
            detail: String::new(),
        };
        assert_eq!(v.exit_code(), 3);
    }

    #[test]
    fn table_fields_are_unescaped() {
        assert_eq!(unescape(r"/media/a\040b\011c\134d"), "/media/a b\tc\\d");
        assert_eq!(unescape(r"trailing\04"), r"trailing\04");
        assert_eq!(unescape(r"\"), r"\");
    }

    #[test]
    fn sizes_are_decimal() {
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1_500), "1.5 kB");
        assert_eq!(human(48_234_496), "48.2 MB");
        assert_eq!(human(16_000_000_000), "16.0 GB");
    }

    #[test]
    fn partitions_are_in_numeric_order() {
        let f = Fake::new("order");
        let parts: Vec<(String, u64)> = (1..=11).map(|i| (format!("sdb{i}"), 2048)).collect();
        let refs: Vec<(&str, u64)> = parts.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        f.disk("sdb", USB, "1", STICK, &refs);
        let disk = inspect(&f.env(), &f.dev("sdb")).unwrap();
        let names: Vec<&str> = disk.partitions.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[8..], ["sdb9", "sdb10", "sdb11"]);
    }
}
