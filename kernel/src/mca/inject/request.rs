//! An injection request: what one record of the mce-inject language asks
//! for (the bank values, the target CPU, how the error is raised), the flag
//! words of its STATUS and MCGSTATUS fields, and the request printed back in
//! the language ([`format`]). Parsing is in [`super::language`].

use alloc::string::String;
use core::fmt::{self, Write};

use crate::mca::regs::{mcg_status, status};

/// How the error reaches the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Raise #MC on the target CPU (`EXCP`).
    Exception,
    /// Leave it in the bank for the poller (`POLL`).
    Poll,
    /// Signal a corrected-machine-check interrupt (`CMCI`, our extension).
    Cmci,
}

/// Whether and how the other CPUs join an injected exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Broadcast {
    /// Not stated: the executor does what real hardware would (exceptions
    /// reach every CPU, polls and CMCIs stay local).
    #[default]
    Default,
    /// Only the target CPU sees it (`NOBROADCAST`).
    None,
    /// Pull the others in with an NMI (`NMIBROADCAST`).
    Nmi,
    /// Pull the others in with an IPI (`IRQBROADCAST`).
    Irq,
}

/// The context the target CPU should be in when the error is raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// From an interrupt handler (`IN_IRQ`).
    Irq,
    /// From process/thread context (`IN_PROC`).
    Process,
}

/// `PROCESSOR vendor:cpuid`, as the kernel prints it in panic messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Processor {
    /// Linux's `X86_VENDOR_*` number (see `CpuVendor::linux_id`).
    pub vendor: u8,
    /// CPUID leaf 1 EAX.
    pub cpuid: u32,
}

/// One injection request: what to put in which bank of which CPU, and how to
/// deliver it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Injection {
    pub cpu: u32,
    /// Below 64 here; the executor checks it against the real bank count.
    pub bank: u8,
    pub status: u64,
    pub mcgstatus: u64,
    pub addr: u64,
    pub misc: u64,
    /// Interrupted instruction pointer (`RIP`).
    pub ip: Option<u64>,
    /// Interrupted code segment; only given together with `ip`.
    pub cs: Option<u16>,
    pub tsc: Option<u64>,
    /// Wall-clock time for the record (`TIME`).
    pub time: Option<u64>,
    pub socketid: Option<u32>,
    pub apicid: Option<u32>,
    /// MCG_CAP to report in the record.
    pub mcgcap: Option<u64>,
    pub processor: Option<Processor>,
    pub mode: Mode,
    pub broadcast: Broadcast,
    /// Queue it and raise it together with the next record that is not held,
    /// so several CPUs can be hit at once.
    pub hold: bool,
    pub context: Option<Context>,
}

/// A flag word usable after `STATUS` or `MCGSTATUS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag {
    pub name: &'static str,
    pub bits: u64,
    /// `format` spells these bits with this word; aliases and classes are
    /// only read.
    pub shown: bool,
}

const fn flag(name: &'static str, bits: u64, shown: bool) -> Flag {
    Flag { name, bits, shown }
}

/// Threshold-based error status (bits 54:53): 01 green, 10 yellow.
const TES_GREEN: u64 = 1 << status::THRESHOLD_SHIFT;
const TES_YELLOW: u64 = 2 << status::THRESHOLD_SHIFT;
/// IA32_MCG_STATUS.SEAM_NR: the error hit TDX SEAM non-root mode.
const MCG_SEAM_NR: u64 = 1 << 12;

/// Words accepted after `STATUS`.
pub const STATUS_FLAGS: &[Flag] = &[
    flag("VAL", status::VAL, true),
    flag("VALID", status::VAL, false),
    flag("OVER", status::OVER, true),
    flag("UC", status::UC, true),
    flag("EN", status::EN, true),
    flag("MISCV", status::MISCV, true),
    flag("ADDRV", status::ADDRV, true),
    flag("PCC", status::PCC, true),
    flag("S", status::S, true),
    flag("AR", status::AR, true),
    flag("TES_GREEN", TES_GREEN, false),
    flag("TES_YELLOW", TES_YELLOW, false),
    flag("CORRECTED", status::VAL | status::EN, false),
    flag("UNCORRECTED", status::VAL | status::UC | status::EN, false),
    flag(
        "FATAL",
        status::VAL | status::UC | status::EN | status::PCC,
        false,
    ),
    // The software-recoverable classes of the SDM: PCC stays clear.
    flag("UCNA", status::UC, false),
    flag("SRAO", status::UC | status::S, false),
    flag("SRAR", status::UC | status::S | status::AR, false),
];

/// Words accepted after `MCGSTATUS`.
pub const MCGSTATUS_FLAGS: &[Flag] = &[
    flag("RIPV", mcg_status::RIPV, true),
    flag("EIPV", mcg_status::EIPV, true),
    flag("MCIP", mcg_status::MCIP, true),
    flag("LMCES", mcg_status::LMCE_S, true),
    flag("LMCE", mcg_status::LMCE_S, false),
    flag("SEAM_NR", MCG_SEAM_NR, true),
];

/// Why the text was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    pub message: String,
    /// The offending token's text; empty at end of input.
    pub token: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Prints `inj` in the language `parse` reads, every field explicit, so the
/// console can show what will be done. `parse(&format(x))` gives back `x` for
/// every `x` that `parse` produces; an `addr`/`misc` without ADDRV/MISCV, or a
/// `cs` without `ip`, cannot be written and would read back differently.
pub fn format(inj: &Injection) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_injection(&mut out, inj);
    out
}

fn write_injection(out: &mut String, inj: &Injection) -> fmt::Result {
    writeln!(out, "CPU {} BANK {}", inj.cpu, inj.bank)?;
    writeln!(out, "STATUS {}", flag_text(inj.status, STATUS_FLAGS))?;
    writeln!(
        out,
        "MCGSTATUS {}",
        flag_text(inj.mcgstatus, MCGSTATUS_FLAGS)
    )?;
    if inj.addr != 0 || inj.status & status::ADDRV != 0 {
        writeln!(out, "ADDR {:#x}", inj.addr)?;
    }
    if inj.misc != 0 || inj.status & status::MISCV != 0 {
        writeln!(out, "MISC {:#x}", inj.misc)?;
    }
    match (inj.cs, inj.ip) {
        (Some(cs), ip) => writeln!(out, "RIP {:#x}:{:#x}", cs, ip.unwrap_or(0))?,
        (None, Some(ip)) => writeln!(out, "RIP {:#x}", ip)?,
        (None, None) => {}
    }
    if let Some(tsc) = inj.tsc {
        writeln!(out, "TSC {:#x}", tsc)?;
    }
    if let Some(time) = inj.time {
        writeln!(out, "TIME {}", time)?;
    }
    if let Some(id) = inj.socketid {
        writeln!(out, "SOCKETID {}", id)?;
    }
    if let Some(id) = inj.apicid {
        writeln!(out, "APICID {}", id)?;
    }
    if let Some(cap) = inj.mcgcap {
        writeln!(out, "MCGCAP {:#x}", cap)?;
    }
    if let Some(p) = inj.processor {
        writeln!(out, "PROCESSOR {}:{:#x}", p.vendor, p.cpuid)?;
    }
    let mut line = String::from(match inj.mode {
        Mode::Exception => "EXCP",
        Mode::Poll => "POLL",
        Mode::Cmci => "CMCI",
    });
    match inj.broadcast {
        Broadcast::Default => {}
        Broadcast::None => line.push_str(" NOBROADCAST"),
        Broadcast::Nmi => line.push_str(" NMIBROADCAST"),
        Broadcast::Irq => line.push_str(" IRQBROADCAST"),
    }
    if inj.hold {
        line.push_str(" HOLD");
    }
    match inj.context {
        None => {}
        Some(Context::Irq) => line.push_str(" IN_IRQ"),
        Some(Context::Process) => line.push_str(" IN_PROC"),
    }
    writeln!(out, "{}", line)
}

/// `value` as shown flag words plus a hex rest, joined by `|`.
fn flag_text(value: u64, table: &[Flag]) -> String {
    let mut text = String::new();
    let mut rest = value;
    for f in table.iter().filter(|f| f.shown) {
        if rest & f.bits == f.bits {
            if !text.is_empty() {
                text.push('|');
            }
            text.push_str(f.name);
            rest &= !f.bits;
        }
    }
    if rest != 0 || text.is_empty() {
        if !text.is_empty() {
            text.push('|');
        }
        let _ = write!(text, "{:#x}", rest);
    }
    text
}
