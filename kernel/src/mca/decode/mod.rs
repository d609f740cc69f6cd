//! Turning a machine-check record into the text operators know from mcelog.
//!
//! Three layers, each usable on its own:
//! - [`classify`] / [`class_text`]: the architectural MCA error code (MCi_STATUS
//!   bits 15:0) as the Intel SDM vol. 3B §15.9 defines it;
//! - [`write_decoded`]: a whole record as multi-line human text, in mcelog's
//!   words, plus model-specific fields for the CPU models in [`model`]'s table;
//! - [`write_ascii`]: a record in the input syntax of `mcelog --ascii`, so a
//!   serial log can be decoded by the real mcelog as well.
//!
//! Nothing here panics, allocates or touches hardware: any record, however
//! inconsistent, decodes to some text.

// `model` first: its `flag!` macro serves the model files.
#[macro_use]
mod model;
mod gnr;
#[macro_use]
mod icx;
mod skx;
mod spr;

use core::fmt::{self, Write};

use super::record::{CpuVendor, MceRecord};
use super::regs::{self, mcg_cap, mcg_status, misc, status};

/// Correction-report filtering (F) bit of a compound error code (bit 12).
const F_BIT: u16 = 1 << 12;

/// The class of an MCA error code, with the sub-fields of compound codes.
///
/// Sub-fields are kept as the raw bit values of the SDM's encodings:
/// `tt` (transaction type: 0 instruction, 1 data, 2 generic), `ll` (level:
/// 0..2, 3 generic), `rrrr` (request: 0 generic, 1 read, 2 write, 3 data
/// read, 4 data write, 5 instruction fetch, 6 prefetch, 7 eviction, 8 snoop),
/// `pp` (participation: 0 source, 1 responder, 2 observer, 3 generic), `t`
/// (timeout), `ii` (0 memory, 2 I/O, 3 other), `mmm` (0 generic, 1 read,
/// 2 write, 3 address/command, 4 scrubbing) and `cccc` (channel, 0xF = not
/// specified). `filtered` is the F bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// 0x0000.
    NoError,
    /// 0x0001.
    Unclassified,
    /// 0x0002.
    MicrocodeRomParity,
    /// 0x0003: BINIT# from another processor.
    External,
    /// 0x0004: functional redundancy check master/slave error.
    Frc,
    /// 0x0005.
    InternalParity,
    /// 0x0006.
    SmmHandlerCodeAccessViolation,
    /// 0x0400.
    InternalTimer,
    /// 0x0E0B: an error in the I/O subsystem (a PCIe root port), IO MCA.
    Io,
    /// 0000 01xx xxxx xxxx with at least one x set; holds the code without F.
    InternalUnclassified(u16),
    /// 000F 0000 0000 11LL.
    GenericCacheHierarchy { ll: u8, filtered: bool },
    /// 000F 0000 0001 TTLL.
    Tlb { tt: u8, ll: u8, filtered: bool },
    /// 000F 0000 1MMM CCCC.
    MemoryController { mmm: u8, cccc: u8, filtered: bool },
    /// 000F 0001 RRRR TTLL.
    CacheHierarchy {
        rrrr: u8,
        tt: u8,
        ll: u8,
        filtered: bool,
    },
    /// 000F 1PPT RRRR IILL.
    Bus {
        pp: u8,
        t: bool,
        rrrr: u8,
        ii: u8,
        ll: u8,
        filtered: bool,
    },
    /// Any other encoding; holds the code without F.
    Unknown(u16),
}

impl ErrorClass {
    /// The F bit, for compound classes (false for simple codes).
    pub const fn filtered(&self) -> bool {
        match *self {
            ErrorClass::GenericCacheHierarchy { filtered, .. }
            | ErrorClass::Tlb { filtered, .. }
            | ErrorClass::MemoryController { filtered, .. }
            | ErrorClass::CacheHierarchy { filtered, .. }
            | ErrorClass::Bus { filtered, .. } => filtered,
            _ => false,
        }
    }
}

/// Classify an MCA error code (MCi_STATUS bits 15:0).
///
/// Bit 12 (F) is ignored when matching, for every class: the SDM defines it
/// only for compound codes, but mcelog strips it before matching anything, and
/// a decoder that turned `0x1000` into "unknown" would hide the real error.
/// The compound classes are disjoint once F is masked; 0x0E0B (I/O) is also a
/// bus/interconnect pattern and the SDM's simple-code table wins.
pub const fn classify(code: u16) -> ErrorClass {
    let filtered = code & F_BIT != 0;
    let c = code & !F_BIT;
    let ll = (c & 0x3) as u8;
    let tt = ((c >> 2) & 0x3) as u8;
    let rrrr = ((c >> 4) & 0xf) as u8;
    match c {
        0x0000 => ErrorClass::NoError,
        0x0001 => ErrorClass::Unclassified,
        0x0002 => ErrorClass::MicrocodeRomParity,
        0x0003 => ErrorClass::External,
        0x0004 => ErrorClass::Frc,
        0x0005 => ErrorClass::InternalParity,
        0x0006 => ErrorClass::SmmHandlerCodeAccessViolation,
        0x0400 => ErrorClass::InternalTimer,
        0x0e0b => ErrorClass::Io,
        _ if c & 0xfc00 == 0x0400 => ErrorClass::InternalUnclassified(c),
        _ if c & 0xfffc == 0x000c => ErrorClass::GenericCacheHierarchy { ll, filtered },
        _ if c & 0xfff0 == 0x0010 => ErrorClass::Tlb { tt, ll, filtered },
        _ if c & 0xff80 == 0x0080 => ErrorClass::MemoryController {
            mmm: ((c >> 4) & 0x7) as u8,
            cccc: (c & 0xf) as u8,
            filtered,
        },
        _ if c & 0xff00 == 0x0100 => ErrorClass::CacheHierarchy {
            rrrr,
            tt,
            ll,
            filtered,
        },
        _ if c & 0xf800 == 0x0800 => ErrorClass::Bus {
            pp: ((c >> 9) & 0x3) as u8,
            t: c & 0x100 != 0,
            rrrr,
            ii: tt,
            ll,
            filtered,
        },
        _ => ErrorClass::Unknown(c),
    }
}

// Sub-field words, as mcelog prints them.

const TT: [&str; 4] = ["Instruction", "Data", "Generic", "Unknown"];
const LEVEL: [&str; 4] = ["Level-0", "Level-1", "Level-2", "Level-3"];
const RRRR: [&str; 9] = [
    "Generic",
    "Read",
    "Write",
    "Data-Read",
    "Data-Write",
    "Instruction-Fetch",
    "Prefetch",
    "Eviction",
    "Snoop",
];
const PP: [&str; 4] = [
    "Local-CPU-originated-request",
    // mcelog's spelling, kept so its output and ours compare equal.
    "Responed-to-request",
    "Observed-error-as-third-party",
    "Generic",
];
const II: [&str; 4] = ["Memory-access", "Reserved", "IO", "Other-transaction"];
const MMM_MNEMONIC: [&str; 8] = ["GEN", "RD", "WR", "AC", "MS", "RES5", "RES6", "RES7"];
const MMM_DESC: [&str; 8] = [
    "Generic undefined request",
    "Memory read error",
    "Memory write error",
    "Address/Command error",
    "Memory scrubbing error",
    "Reserved 5",
    "Reserved 6",
    "Reserved 7",
];

fn word(table: &[&'static str], i: u8) -> &'static str {
    table.get(i as usize).copied().unwrap_or("UNKNOWN")
}

/// Cache-hierarchy levels are printed one higher than LL (mcelog: real parts
/// report their first-level caches as LL=0). mcelog indexes its level table
/// with LL+1, so LL=3 falls off its end and prints `UNKNOWN`.
fn cache_level(ll: u8) -> &'static str {
    word(&LEVEL, ll + 1)
}

/// 0x0E0B split as the bus/interconnect code it also is: mcelog prints an I/O
/// error as a bus error (then the root port line).
const IO_AS_BUS: ErrorClass = ErrorClass::Bus {
    pp: 3,
    t: false,
    rrrr: 0,
    ii: 2,
    ll: 3,
    filtered: false,
};

/// Write the one-line text of an error code's class, without a newline and
/// without the F-bit remark (mcelog's words, e.g. `Data CACHE Level-1
/// Data-Read Error`, `MEMORY CONTROLLER RD_CHANNEL2_ERR`). Bus errors are
/// written without the socket and CPU that [`write_decoded`] adds.
pub fn class_text(code: u16, out: &mut dyn Write) -> fmt::Result {
    write_class(classify(code), None, out)
}

/// `where_` is the (socket, cpu) pair mcelog puts into bus-error text.
fn write_class(class: ErrorClass, where_: Option<(u32, u32)>, out: &mut dyn Write) -> fmt::Result {
    match class {
        ErrorClass::NoError => out.write_str("No Error"),
        ErrorClass::Unclassified => out.write_str("Unclassified"),
        ErrorClass::MicrocodeRomParity => out.write_str("Microcode ROM parity error"),
        ErrorClass::External => out.write_str("External error"),
        ErrorClass::Frc => out.write_str("FRC error"),
        ErrorClass::InternalParity => out.write_str("Internal parity error"),
        ErrorClass::SmmHandlerCodeAccessViolation => {
            out.write_str("SMM Handler Code Access Violation")
        }
        ErrorClass::InternalTimer => out.write_str("Internal Timer error"),
        ErrorClass::Io => write_class(IO_AS_BUS, where_, out),
        ErrorClass::InternalUnclassified(c) => write!(out, "Internal unclassified error: {c:x}"),
        ErrorClass::GenericCacheHierarchy { ll, .. } => {
            write!(out, "{} Generic cache hierarchy error", word(&LEVEL, ll))
        }
        ErrorClass::Tlb { tt, ll, .. } => {
            write!(out, "{} TLB {} Error", word(&TT, tt), word(&LEVEL, ll))
        }
        ErrorClass::MemoryController { mmm, cccc, .. } => {
            write!(
                out,
                "MEMORY CONTROLLER {}_CHANNEL",
                word(&MMM_MNEMONIC, mmm)
            )?;
            if cccc == 0xf {
                out.write_str("unspecified")?;
            } else {
                write!(out, "{cccc}")?;
            }
            out.write_str("_ERR")
        }
        ErrorClass::CacheHierarchy { rrrr, tt, ll, .. } => write!(
            out,
            "{} CACHE {} {} Error",
            word(&TT, tt),
            cache_level(ll),
            word(&RRRR, rrrr)
        ),
        ErrorClass::Bus {
            pp,
            t,
            rrrr,
            ii,
            ll,
            ..
        } => {
            out.write_str("BUS error: ")?;
            if let Some((socket, cpu)) = where_ {
                write!(out, "{socket} {cpu} ")?;
            }
            write!(
                out,
                "{} {} {} {} {}",
                word(&LEVEL, ll),
                word(&PP, pp),
                word(&RRRR, rrrr),
                word(&II, ii),
                if t {
                    "Request-timed-out"
                } else {
                    "Request-did-not-timeout"
                }
            )
        }
        ErrorClass::Unknown(c) => write!(out, "Unknown Error {c:x}"),
    }
}

/// The MCi_STATUS flag words, in mcelog's order: `Machine check not valid`,
/// `Error overflow`, `Uncorrected error` / `Corrected error`, `Error enabled`,
/// `MCi_MISC register valid`, `MCi_ADDR register valid`, `Processor context
/// corrupt`, then `SRAO` (S), `SRAR` (S+AR) or `AR` (AR alone) whenever S or
/// AR is set (mcelog prints the word from the bits alone, whatever SER_P and
/// PCC say), then `Firmware may have updated this error` when FWST (bit 37) is
/// set and MCG_CAP.SER_P makes that bit architectural.
pub fn status_words(status: u64, mcgcap: u64) -> impl Iterator<Item = &'static str> {
    let has = |bit: u64| status & bit != 0;
    let recovery = match (has(status::S), has(status::AR)) {
        (true, true) => Some("SRAR"),
        (true, false) => Some("SRAO"),
        (false, true) => Some("AR"),
        (false, false) => None,
    };
    let fwst = mcgcap & mcg_cap::SER_P != 0 && has(status::FWST);
    [
        (!has(status::VAL)).then_some("Machine check not valid"),
        has(status::OVER).then_some("Error overflow"),
        Some(if has(status::UC) {
            "Uncorrected error"
        } else {
            "Corrected error"
        }),
        has(status::EN).then_some("Error enabled"),
        has(status::MISCV).then_some("MCi_MISC register valid"),
        has(status::ADDRV).then_some("MCi_ADDR register valid"),
        has(status::PCC).then_some("Processor context corrupt"),
        recovery,
        fwst.then_some("Firmware may have updated this error"),
    ]
    .into_iter()
    .flatten()
}

/// Our own classification words, for what mcelog's status words leave
/// unnamed: `UCNA` (uncorrected, no action: UC, !PCC, !S, !AR with SER_P; found
/// by polling or CMCI) and, on AMD, `Deferred` (bit 44) and `Poison` (bit 43).
pub fn classification_words(
    status: u64,
    mcgcap: u64,
    vendor: CpuVendor,
) -> impl Iterator<Item = &'static str> {
    let has = |bit: u64| status & bit != 0;
    let ucna = mcgcap & mcg_cap::SER_P != 0
        && has(status::UC)
        && !has(status::PCC)
        && !has(status::S)
        && !has(status::AR);
    let amd = vendor == CpuVendor::Amd;
    [
        ucna.then_some("UCNA"),
        (amd && has(status::AMD_DEFERRED)).then_some("Deferred"),
        (amd && has(status::AMD_POISON)).then_some("Poison"),
    ]
    .into_iter()
    .flatten()
}

/// Display family and model from CPUID leaf 1 EAX (SDM vol. 2A, CPUID): the
/// extended family is added only when the family is 0xF, the extended model
/// is used only for families 6 and 0xF.
pub const fn family_model(cpuid: u32) -> (u32, u32) {
    let base_family = (cpuid >> 8) & 0xf;
    let mut family = base_family;
    if base_family == 0xf {
        family += (cpuid >> 20) & 0xff;
    }
    let mut model = (cpuid >> 4) & 0xf;
    if base_family == 0x6 || base_family == 0xf {
        model |= ((cpuid >> 16) & 0xf) << 4;
    }
    (family, model)
}

const fn stepping(cpuid: u32) -> u32 {
    cpuid & 0xf
}

/// mcelog's short vendor names (`CPUID Vendor Intel ...`).
const fn vendor_short(v: CpuVendor) -> &'static str {
    match v {
        CpuVendor::Intel => "Intel",
        CpuVendor::Amd => "AMD",
        CpuVendor::Other => "Unknown vendor",
    }
}

fn address_mode(mode: u64) -> &'static str {
    match mode {
        misc::ADDR_MODE_SEGMENT_OFFSET => "segment offset",
        misc::ADDR_MODE_LINEAR => "linear",
        misc::ADDR_MODE_PHYSICAL => "physical",
        misc::ADDR_MODE_MEMORY => "memory",
        misc::ADDR_MODE_GENERIC => "generic",
        _ => "reserved",
    }
}

/// Write a record as multi-line human text in mcelog's words, one `\n` after
/// every line and no prefix. Lines, in order (optional ones in brackets):
///
/// ```text
/// CPU <n> BANK <n> (<source>, severity <severity>)
/// STATUS <hex> MCGSTATUS <hex>
/// MCG status:[RIPV ][EIPV ][MCIP ][LMCE ]
/// MCi status:
/// <status words, one a line>                 see status_words
/// [UCNA | Deferred | Poison]                 see classification_words
/// [Threshold based error status: green|yellow|res3]
/// MCA: [corrected filtering (some unreported errors in same region)\n]<class text>
///                                            see class_text
/// [Transaction: <...>]                       memory-controller codes
/// [IO MCA reported by root port s:b:d.f]     I/O code with MISCV
/// [<model-specific lines>]                   mcelog's, e.g. `PCU: ...`, `MemCtrl: ...`
/// [Location: SOCKET:<n> CHANNEL:<n> DIMM:? (<model>)]
/// [Model-specific error code 0x<hex>]        when no model decoder wrote a line
/// [Corrected error count: <n>]
/// [ADDR <hex>]
/// [MISC <hex> (address mode: <mode>, LSB: <n>)]
/// [RIP [!INEXACT!] <cs>:<ip> (<user|kernel>, <what RIPV/EIPV say>)]
/// TSC <hex>
/// [TIME <seconds> <yyyy-mm-dd hh:mm:ss> UTC]
/// MCGCAP <hex> APICID <hex> SOCKETID <n>
/// PROCESSOR <vendor>:<cpuid hex>
/// CPUID Vendor <vendor> Family <n> Model <n> Step <n>
/// [SYND <hex> IPID <hex>]                    AMD SMCA
/// [SMCA bank type <LS|UMC|..> (<unit>), instance <hex>]   from IPID's HWID/MCATYPE
/// ```
pub fn write_decoded(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    let st = rec.status;
    let has = |bit: u64| st & bit != 0;
    let intel_like = rec.cpuvendor != CpuVendor::Amd;

    writeln!(
        out,
        "CPU {} BANK {} ({}, severity {})",
        rec.cpu,
        rec.bank,
        rec.source.name(),
        rec.severity.name()
    )?;
    writeln!(out, "STATUS {:x} MCGSTATUS {:x}", st, rec.mcgstatus)?;

    out.write_str("MCG status:")?;
    for (bit, name) in [
        (mcg_status::RIPV, "RIPV"),
        (mcg_status::EIPV, "EIPV"),
        (mcg_status::MCIP, "MCIP"),
        (mcg_status::LMCE_S, "LMCE"),
    ] {
        if rec.mcgstatus & bit != 0 {
            write!(out, "{name} ")?;
        }
    }
    out.write_str("\nMCi status:\n")?;
    let model = model::lookup(rec.cpuvendor, rec.cpuid);
    // mcelog names a correction by memory mirroring in the status line.
    let mirrored = model.and_then(|m| model::corrected_by(m, rec));
    for w in status_words(st, rec.mcgcap) {
        match mirrored {
            Some(m) if w == "Corrected error" => writeln!(out, "{m}")?,
            _ => writeln!(out, "{w}")?,
        }
    }
    for w in classification_words(st, rec.mcgcap, rec.cpuvendor) {
        writeln!(out, "{w}")?;
    }

    // Threshold-based status (bits 54:53) of corrected errors, where
    // MCG_CAP says TES_P (or says nothing at all), in mcelog's words.
    if intel_like && (rec.mcgcap == 0 || rec.mcgcap & mcg_cap::TES_P != 0) && !has(status::UC) {
        match (st & status::THRESHOLD_MASK) >> status::THRESHOLD_SHIFT {
            1 => writeln!(out, "Threshold based error status: green")?,
            2 => out.write_str(
                "Threshold based error status: yellow\n\
                 Large number of corrected cache errors. System operating, but might lead\n\
                 to uncorrected errors soon\n",
            )?,
            3 => writeln!(out, "Threshold based error status: res3")?,
            _ => {}
        }
    }

    let code = regs::mcacod(st);
    // As mcelog: `MCA: ` once, then the filtering remark (if F) on that line
    // and the class on the next one.
    out.write_str("MCA: ")?;
    if code & F_BIT != 0 {
        out.write_str("corrected filtering (some unreported errors in same region)\n")?;
    }
    let class = classify(code);
    write_class(class, Some((rec.socketid, rec.cpu)), out)?;
    out.write_str("\n")?;
    match class {
        ErrorClass::MemoryController { mmm, .. } => {
            writeln!(out, "Transaction: {}", word(&MMM_DESC, mmm))?;
        }
        ErrorClass::Io if has(status::MISCV) => {
            // MISC of an IO MCA names the reporting root port (segment, bus,
            // device, function); the details are in the port's AER log.
            let m = rec.misc;
            writeln!(
                out,
                "IO MCA reported by root port {:x}:{:02x}:{:02x}.{:x}",
                (m >> 32) & 0xff,
                (m >> 24) & 0xff,
                (m >> 19) & 0x1f,
                (m >> 16) & 0x7
            )?;
        }
        _ => {}
    }

    // The model's decoder names the MSCOD as mcelog does; without one, the
    // raw value is our own line.
    let decoded = match model {
        Some(m) => model::write_fields(m, rec, out)?,
        None => false,
    };
    let mscod = regs::mscod(st);
    if mscod != 0 && !decoded {
        writeln!(out, "Model-specific error code 0x{mscod:04x}")?;
    }

    if intel_like {
        let count = regs::corrected_count(st);
        if count != 0 || !has(status::UC) {
            writeln!(out, "Corrected error count: {count}")?;
        }
    }

    if has(status::ADDRV) {
        writeln!(out, "ADDR {:x}", rec.addr)?;
    }
    if has(status::MISCV) {
        write!(out, "MISC {:x}", rec.misc)?;
        // The address mode and LSB fields exist only with SER_P.
        if rec.mcgcap & mcg_cap::SER_P != 0 {
            let mode = (rec.misc & misc::ADDR_MODE_MASK) >> misc::ADDR_MODE_SHIFT;
            write!(
                out,
                " (address mode: {}, LSB: {})",
                address_mode(mode),
                rec.misc & misc::LSB_MASK
            )?;
        }
        out.write_str("\n")?;
    }

    let ripv = rec.mcgstatus & mcg_status::RIPV != 0;
    let eipv = rec.mcgstatus & mcg_status::EIPV != 0;
    if rec.ip != 0 || ripv || eipv {
        let meaning = match (eipv, ripv) {
            (true, true) => "error at this instruction, restartable",
            (true, false) => "error at this instruction, not restartable",
            (false, true) => "restart point, not the error's instruction",
            (false, false) => "not meaningful: neither RIPV nor EIPV",
        };
        writeln!(
            out,
            "RIP{} {:02x}:{:x} ({}, {})",
            if eipv { "" } else { " !INEXACT!" },
            rec.cs,
            rec.ip,
            if rec.user_mode() { "user" } else { "kernel" },
            meaning
        )?;
    }
    writeln!(out, "TSC {:x}", rec.tsc)?;
    if rec.walltime != 0 {
        write!(out, "TIME {} ", rec.walltime)?;
        write_utc(rec.walltime, out)?;
        out.write_str("\n")?;
    }
    writeln!(
        out,
        "MCGCAP {:x} APICID {:x} SOCKETID {}",
        rec.mcgcap, rec.apicid, rec.socketid
    )?;
    writeln!(
        out,
        "PROCESSOR {}:{:x}",
        rec.cpuvendor.mcelog_name(),
        rec.cpuid
    )?;
    let (family, model) = family_model(rec.cpuid);
    writeln!(
        out,
        "CPUID Vendor {} Family {} Model {} Step {}",
        vendor_short(rec.cpuvendor),
        family,
        model,
        stepping(rec.cpuid)
    )?;
    if rec.synd != 0 || rec.ipid != 0 {
        writeln!(out, "SYND {:x} IPID {:x}", rec.synd, rec.ipid)?;
    }
    if rec.cpuvendor == CpuVendor::Amd {
        if let Some(t) = crate::mca::vendor::smca::bank_type(rec.ipid) {
            writeln!(
                out,
                "SMCA bank type {} ({}), instance {:x}",
                t.short,
                t.name,
                crate::mca::vendor::smca::instance(rec.ipid)
            )?;
        }
    }
    Ok(())
}

/// `yyyy-mm-dd hh:mm:ss UTC` from Unix seconds (days-to-civil, proleptic
/// Gregorian calendar; all arithmetic is unsigned and cannot overflow).
fn write_utc(secs: u64, out: &mut dyn Write) -> fmt::Result {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        year,
        month,
        day,
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A prefix that mcelog's `--ascii` reader strips (it is the Linux kernel's
/// `HW_ERR`): prefix every [`write_ascii`] line with it, or with nothing.
/// Any other prefix turns the lines into text mcelog does not parse.
pub const ASCII_LINE_PREFIX: &str = "mce: [Hardware Error]: ";

/// The line ending a record in [`write_ascii`] output (the Linux kernel's
/// wording): mcelog's reader collects keyword lines until a line that is not
/// one, so without it two records in a row would merge into one.
pub const ASCII_TRAILER: &str = "Run the above through 'mcelog --ascii'";

/// Write a record in the input syntax of `mcelog --ascii` (mcelog.c
/// `decodefatal`), one keyword line each, no prefix, `\n` after every line:
///
/// ```text
/// CPU <dec> BANK <dec>
/// TSC <hex>
/// RIP <cs, 2 hex digits>:<<ip, 16 hex digits>>   only with RIPV or EIPV
/// MISC <hex>                                     only with MISCV
/// ADDR <hex>                                     only with ADDRV
/// STATUS <hex>
/// MCGSTATUS <hex>
/// PROCESSOR <vendor number>:<cpuid hex>
/// TIME <dec>                                     only when walltime != 0
/// SOCKETID <dec>
/// APICID <hex>
/// MCGCAP <hex>
/// Run the above through 'mcelog --ascii'
/// ```
///
/// Hex is written without `0x`: mcelog reads the RIP selector with a
/// two-character width (so only its low byte is written, as in Linux's
/// `struct mce`), and it reads the vendor of `PROCESSOR` as a decimal number
/// (Linux's `X86_VENDOR_*`: 0 Intel, 2 AMD), not as a name.
pub fn write_ascii(rec: &MceRecord, out: &mut dyn Write) -> fmt::Result {
    writeln!(out, "CPU {} BANK {}", rec.cpu, rec.bank)?;
    writeln!(out, "TSC {:x}", rec.tsc)?;
    if rec.mcgstatus & (mcg_status::RIPV | mcg_status::EIPV) != 0 {
        writeln!(out, "RIP {:02x}:<{:016x}>", rec.cs & 0xff, rec.ip)?;
    }
    if rec.status & status::MISCV != 0 {
        writeln!(out, "MISC {:x}", rec.misc)?;
    }
    if rec.status & status::ADDRV != 0 {
        writeln!(out, "ADDR {:x}", rec.addr)?;
    }
    writeln!(out, "STATUS {:x}", rec.status)?;
    writeln!(out, "MCGSTATUS {:x}", rec.mcgstatus)?;
    writeln!(
        out,
        "PROCESSOR {}:{:x}",
        rec.cpuvendor.linux_id(),
        rec.cpuid
    )?;
    if rec.walltime != 0 {
        writeln!(out, "TIME {}", rec.walltime)?;
    }
    writeln!(out, "SOCKETID {}", rec.socketid)?;
    writeln!(out, "APICID {:x}", rec.apicid)?;
    writeln!(out, "MCGCAP {:x}", rec.mcgcap)?;
    writeln!(out, "{ASCII_TRAILER}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mca::record::{Severity, Source};
    use alloc::string::String;
    use alloc::vec::Vec;

    const VAL: u64 = status::VAL;
    const OVER: u64 = status::OVER;
    const UC: u64 = status::UC;
    const EN: u64 = status::EN;
    const MISCV: u64 = status::MISCV;
    const ADDRV: u64 = status::ADDRV;
    const PCC: u64 = status::PCC;
    const S: u64 = status::S;
    const AR: u64 = status::AR;
    /// QEMU's MCG_CAP: 10 banks, CTL_P, SER_P.
    const QEMU_MCGCAP: u64 = 10 | mcg_cap::CTL_P | mcg_cap::SER_P;
    /// QEMU's Intel identity: family 6 model 85 stepping 4.
    const SKX_CPUID: u32 = 0x0005_0654;

    fn decoded(rec: &MceRecord) -> String {
        let mut s = String::new();
        write_decoded(rec, &mut s).unwrap();
        s
    }

    fn lines(rec: &MceRecord) -> Vec<String> {
        decoded(rec).lines().map(String::from).collect()
    }

    fn text(code: u16) -> String {
        let mut s = String::new();
        class_text(code, &mut s).unwrap();
        s
    }

    /// Assert that `want` appear as whole lines of `got`, in this order.
    fn assert_in_order(got: &[String], want: &[&str]) {
        let mut from = 0;
        for w in want {
            match got[from..].iter().position(|l| l == w) {
                Some(i) => from += i + 1,
                None => panic!("line {w:?} missing or out of order in:\n{}", got.join("\n")),
            }
        }
    }

    /// Assert that `want` appear in `got` as consecutive whole lines.
    fn assert_block(got: &[String], want: &[&str]) {
        let found = got
            .windows(want.len())
            .any(|w| w.iter().zip(want).all(|(g, w)| g == w));
        assert!(
            found,
            "lines {want:#?} not found together in:\n{}",
            got.join("\n")
        );
    }

    fn record(status: u64) -> MceRecord {
        MceRecord {
            status,
            mcgcap: QEMU_MCGCAP,
            bank: 1,
            cpu: 0,
            cpuid: 0,
            ..MceRecord::default()
        }
    }

    /// The SDM's masks (REFERENCE.md), applied independently of `classify`:
    /// returns the class name and its sub-fields in SDM order.
    fn oracle(code: u16) -> (&'static str, [u16; 5]) {
        let f_ignored = code & 0xefff;
        let simple = [
            (0x0000, "none"),
            (0x0001, "unclassified"),
            (0x0002, "ucrom"),
            (0x0003, "external"),
            (0x0004, "frc"),
            (0x0005, "parity"),
            (0x0006, "smm"),
            (0x0400, "timer"),
            (0x0e0b, "io"),
        ];
        if let Some(&(_, name)) = simple.iter().find(|(v, _)| *v == f_ignored) {
            return (name, [0; 5]);
        }
        if f_ignored & 0xfc00 == 0x0400 && f_ignored & 0x03ff != 0 {
            return ("internal", [f_ignored, 0, 0, 0, 0]);
        }
        let bits = |hi: u32, lo: u32| (code >> lo) & ((1 << (hi - lo + 1)) - 1);
        let compound: [(u16, u16, &str, [u16; 5]); 5] = [
            (0xeffc, 0x000c, "generic", [bits(1, 0), 0, 0, 0, 0]),
            (0xeff0, 0x0010, "tlb", [bits(3, 2), bits(1, 0), 0, 0, 0]),
            (0xef80, 0x0080, "mc", [bits(6, 4), bits(3, 0), 0, 0, 0]),
            (
                0xef00,
                0x0100,
                "cache",
                [bits(7, 4), bits(3, 2), bits(1, 0), 0, 0],
            ),
            (
                0xe800,
                0x0800,
                "bus",
                [bits(10, 9), bits(8, 8), bits(7, 4), bits(3, 2), bits(1, 0)],
            ),
        ];
        let hits: Vec<_> = compound
            .iter()
            .filter(|(mask, value, _, _)| code & mask == *value)
            .collect();
        assert!(hits.len() <= 1, "masks overlap for {code:#x}");
        match hits.first() {
            Some((_, _, name, fields)) => (name, *fields),
            None => ("unknown", [f_ignored, 0, 0, 0, 0]),
        }
    }

    fn shape(class: ErrorClass) -> (&'static str, [u16; 5]) {
        let w = |x: u8| x as u16;
        match class {
            ErrorClass::NoError => ("none", [0; 5]),
            ErrorClass::Unclassified => ("unclassified", [0; 5]),
            ErrorClass::MicrocodeRomParity => ("ucrom", [0; 5]),
            ErrorClass::External => ("external", [0; 5]),
            ErrorClass::Frc => ("frc", [0; 5]),
            ErrorClass::InternalParity => ("parity", [0; 5]),
            ErrorClass::SmmHandlerCodeAccessViolation => ("smm", [0; 5]),
            ErrorClass::InternalTimer => ("timer", [0; 5]),
            ErrorClass::Io => ("io", [0; 5]),
            ErrorClass::InternalUnclassified(c) => ("internal", [c, 0, 0, 0, 0]),
            ErrorClass::GenericCacheHierarchy { ll, .. } => ("generic", [w(ll), 0, 0, 0, 0]),
            ErrorClass::Tlb { tt, ll, .. } => ("tlb", [w(tt), w(ll), 0, 0, 0]),
            ErrorClass::MemoryController { mmm, cccc, .. } => ("mc", [w(mmm), w(cccc), 0, 0, 0]),
            ErrorClass::CacheHierarchy { rrrr, tt, ll, .. } => {
                ("cache", [w(rrrr), w(tt), w(ll), 0, 0])
            }
            ErrorClass::Bus {
                pp,
                t,
                rrrr,
                ii,
                ll,
                ..
            } => ("bus", [w(pp), t as u16, w(rrrr), w(ii), w(ll)]),
            ErrorClass::Unknown(c) => ("unknown", [c, 0, 0, 0, 0]),
        }
    }

    #[test]
    fn every_code_classifies_as_the_sdm_masks_say() {
        for base in 0..=0x0fffu16 {
            for f in [0, F_BIT] {
                let code = base | f;
                let class = classify(code);
                assert_eq!(shape(class), oracle(code), "code {code:#06x}");
                let compound = matches!(oracle(code).0, "generic" | "tlb" | "mc" | "cache" | "bus");
                assert_eq!(class.filtered(), compound && f != 0, "code {code:#06x}");
                let t = text(code);
                assert!(
                    !t.is_empty() && !t.contains('\n'),
                    "code {code:#06x}: {t:?}"
                );
            }
        }
    }

    #[test]
    fn codes_above_bit_12_are_unknown_and_never_panic() {
        for code in 0x2000..=0xffffu16 {
            assert!(matches!(classify(code), ErrorClass::Unknown(_)));
            assert!(!text(code).is_empty());
        }
    }

    #[test]
    fn class_texts_use_mcelogs_words() {
        assert_eq!(text(0x0000), "No Error");
        assert_eq!(text(0x0006), "SMM Handler Code Access Violation");
        assert_eq!(text(0x0400), "Internal Timer error");
        assert_eq!(text(0x0405), "Internal unclassified error: 405");
        assert_eq!(
            text(0x0e0b),
            "BUS error: Level-3 Generic Generic IO Request-did-not-timeout"
        );
        assert_eq!(text(0x000e), "Level-2 Generic cache hierarchy error");
        assert_eq!(text(0x0014), "Data TLB Level-0 Error");
        assert_eq!(text(0x0011), "Instruction TLB Level-1 Error");
        assert_eq!(text(0x0134), "Data CACHE Level-1 Data-Read Error");
        assert_eq!(
            text(0x0150),
            "Instruction CACHE Level-1 Instruction-Fetch Error"
        );
        assert_eq!(text(0x017a), "Generic CACHE Level-3 Eviction Error");
        assert_eq!(text(0x010b), "Generic CACHE UNKNOWN Generic Error");
        assert_eq!(text(0x010f), "Unknown CACHE UNKNOWN Generic Error");
        assert_eq!(text(0x00c3), "MEMORY CONTROLLER MS_CHANNEL3_ERR");
        assert_eq!(text(0x009f), "MEMORY CONTROLLER RD_CHANNELunspecified_ERR");
        assert_eq!(text(0x01f0), "Instruction CACHE Level-1 UNKNOWN Error");
        assert_eq!(text(0x0007), "Unknown Error 7");
        assert_eq!(text(0x1007), "Unknown Error 7");
    }

    #[test]
    fn srar_data_load_golden() {
        let rec = MceRecord {
            status: 0xbd80_0000_0010_0134,
            mcgstatus: mcg_status::EIPV | mcg_status::MCIP,
            addr: 0x1234_5000,
            misc: 0x8c,
            severity: Severity::ActionRequired,
            ..record(0)
        };
        let got = lines(&rec);
        assert_in_order(
            &got,
            &[
                "CPU 0 BANK 1 (exception, severity SRAR)",
                "STATUS bd80000000100134 MCGSTATUS 6",
                "MCG status:EIPV MCIP ",
                "Uncorrected error",
                "Error enabled",
                "MCi_MISC register valid",
                "MCi_ADDR register valid",
                "SRAR",
                "MCA: Data CACHE Level-1 Data-Read Error",
                "Model-specific error code 0x0010",
                "ADDR 12345000",
                "MISC 8c (address mode: physical, LSB: 12)",
            ],
        );
        for absent in [
            "Machine check not valid",
            "Error overflow",
            "Processor context corrupt",
        ] {
            assert!(!got.iter().any(|l| l == absent), "{absent}");
        }
        assert!(!got
            .iter()
            .any(|l| l == "UCNA" || l.starts_with("Corrected error")));
    }

    #[test]
    fn corrected_memory_read_error_on_channel_2() {
        let rec = record(VAL | EN | ADDRV | (3 << status::CEC_SHIFT) | 0x0092);
        assert_in_order(
            &lines(&rec),
            &[
                "Corrected error",
                "Error enabled",
                "MCi_ADDR register valid",
                "MCA: MEMORY CONTROLLER RD_CHANNEL2_ERR",
                "Transaction: Memory read error",
                "Corrected error count: 3",
            ],
        );
    }

    #[test]
    fn filtering_bit_comes_first() {
        // mcelog: `MCA: ` once, the remark on that line, the class below it.
        let got = lines(&record(VAL | EN | 0x1134));
        assert_block(
            &got,
            &[
                "MCA: corrected filtering (some unreported errors in same region)",
                "Data CACHE Level-1 Data-Read Error",
            ],
        );
        assert_eq!(got.iter().filter(|l| l.starts_with("MCA: ")).count(), 1);
        assert!(!lines(&record(VAL | EN | 0x0134))
            .iter()
            .any(|l| l.contains("filtering")));
    }

    #[test]
    fn bus_and_io_errors() {
        let rec = MceRecord {
            cpu: 3,
            socketid: 1,
            ..record(VAL | UC | EN | PCC | 0x0d0f)
        };
        assert_in_order(
            &lines(&rec),
            &[
                "Processor context corrupt",
                "MCA: BUS error: 1 3 Level-3 Observed-error-as-third-party Generic \
                 Other-transaction Request-timed-out",
            ],
        );
        assert_eq!(
            text(0x0a29),
            "BUS error: Level-1 Responed-to-request Write IO Request-did-not-timeout"
        );
        // IO MCA: the bus-error line (socket 1, CPU 3), then the root port
        // taken from MISC, F bit or not.
        let io = MceRecord {
            cpu: 3,
            socketid: 1,
            misc: (1 << 32) | (0x3a << 24) | (2 << 19) | (1 << 16),
            ..record(VAL | UC | EN | MISCV | 0x0e0b)
        };
        assert_block(
            &lines(&io),
            &[
                "MCA: BUS error: 1 3 Level-3 Generic Generic IO Request-did-not-timeout",
                "IO MCA reported by root port 1:3a:02.1",
            ],
        );
        let io_filtered = MceRecord {
            status: io.status | 0x1000,
            ..io
        };
        assert_block(
            &lines(&io_filtered),
            &[
                "MCA: corrected filtering (some unreported errors in same region)",
                "BUS error: 1 3 Level-3 Generic Generic IO Request-did-not-timeout",
                "IO MCA reported by root port 1:3a:02.1",
            ],
        );
        // Without MISCV there is no port to name.
        let no_port = MceRecord {
            status: io.status & !MISCV,
            ..io
        };
        assert!(!lines(&no_port).iter().any(|l| l.starts_with("IO MCA")));
    }

    #[test]
    fn tlb_error() {
        assert_in_order(
            &lines(&record(VAL | EN | 0x0014)),
            &["Corrected error", "MCA: Data TLB Level-0 Error"],
        );
    }

    #[test]
    fn recovery_word_from_s_and_ar_alone() {
        let rec = record(VAL | OVER | UC | EN | S | 0x00c0);
        assert_in_order(
            &lines(&rec),
            &[
                "Error overflow",
                "Uncorrected error",
                "Error enabled",
                "SRAO",
            ],
        );
        // mcelog prints the word whenever S or AR is set: SER_P and PCC do
        // not matter.
        let words = |st, cap| status_words(st, cap).collect::<Vec<_>>();
        assert_eq!(words(VAL | UC | EN | AR, QEMU_MCGCAP).last(), Some(&"AR"));
        assert_eq!(words(VAL | UC | S | AR, 0), ["Uncorrected error", "SRAR"]);
        assert_eq!(words(VAL | UC | S, 0), ["Uncorrected error", "SRAO"]);
        assert_eq!(
            words(VAL | UC | PCC | S | AR, QEMU_MCGCAP),
            ["Uncorrected error", "Processor context corrupt", "SRAR"]
        );
        assert_eq!(
            words(VAL | UC | EN, QEMU_MCGCAP),
            ["Uncorrected error", "Error enabled"]
        );
        assert_eq!(words(0, 0), ["Machine check not valid", "Corrected error"]);
    }

    #[test]
    fn firmware_updated_needs_fwst_and_ser_p() {
        let rec = record(VAL | UC | EN | S | AR | status::FWST | 0x0134);
        assert_block(
            &lines(&rec),
            &[
                "Uncorrected error",
                "Error enabled",
                "SRAR",
                "Firmware may have updated this error",
                "MCA: Data CACHE Level-1 Data-Read Error",
            ],
        );
        let words = |st, cap| status_words(st, cap).collect::<Vec<_>>();
        // Without SER_P bit 37 is not FWST.
        assert_eq!(words(VAL | status::FWST, 0), ["Corrected error"]);
        // With no S/AR word, the line follows the last flag.
        assert_eq!(
            words(VAL | EN | status::FWST, QEMU_MCGCAP),
            [
                "Corrected error",
                "Error enabled",
                "Firmware may have updated this error"
            ]
        );
    }

    #[test]
    fn ucna_deferred_and_poison() {
        let w = |st, cap, v| classification_words(st, cap, v).collect::<Vec<_>>();
        assert_eq!(w(VAL | UC | EN, QEMU_MCGCAP, CpuVendor::Intel), ["UCNA"]);
        assert!(w(VAL | UC | EN, 0, CpuVendor::Intel).is_empty());
        assert!(w(VAL | UC | EN | S, QEMU_MCGCAP, CpuVendor::Intel).is_empty());
        assert!(w(VAL | UC | EN | PCC, QEMU_MCGCAP, CpuVendor::Intel).is_empty());
        let amd = VAL | status::AMD_DEFERRED | status::AMD_POISON;
        assert_eq!(w(amd, 0, CpuVendor::Amd), ["Deferred", "Poison"]);
        assert!(w(amd, 0, CpuVendor::Intel).is_empty());
        let rec = MceRecord {
            source: Source::Poll,
            severity: Severity::Deferred,
            ..record(VAL | UC | EN | ADDRV | MISCV | 0x009f)
        };
        assert_in_order(
            &lines(&rec),
            &[
                "CPU 0 BANK 1 (poll, severity deferred)",
                "Uncorrected error",
                "UCNA",
                "MCA: MEMORY CONTROLLER RD_CHANNELunspecified_ERR",
            ],
        );
    }

    #[test]
    fn mcg_flags_threshold_rip_time() {
        let rec = MceRecord {
            mcgstatus: 0xf,
            mcgcap: QEMU_MCGCAP | mcg_cap::TES_P,
            cs: 0x10,
            ip: 0xffff_ffff_8101_e4b3,
            walltime: 1_700_000_000,
            ..record(VAL | EN | (1 << status::THRESHOLD_SHIFT) | 0x000c)
        };
        assert_in_order(
            &lines(&rec),
            &[
                "MCG status:RIPV EIPV MCIP LMCE ",
                "Threshold based error status: green",
                "MCA: Level-0 Generic cache hierarchy error",
                "Corrected error count: 0",
                "RIP 10:ffffffff8101e4b3 (kernel, error at this instruction, restartable)",
                "TSC 0",
                "TIME 1700000000 2023-11-14 22:13:20 UTC",
            ],
        );
        let user = MceRecord {
            mcgstatus: mcg_status::RIPV,
            mcgcap: mcg_cap::TES_P,
            cs: 0x33,
            ip: 0x40_1000,
            ..record(VAL | EN | (2 << status::THRESHOLD_SHIFT))
        };
        let got = lines(&user);
        assert_in_order(
            &got,
            &[
                "MCG status:RIPV ",
                // p4.c decode_tracking: the yellow text spans three lines.
                "Threshold based error status: yellow",
                "Large number of corrected cache errors. System operating, but might lead",
                "to uncorrected errors soon",
                "RIP !INEXACT! 33:401000 (user, restart point, not the error's instruction)",
            ],
        );
        assert!(!got.iter().any(|l| l.starts_with("TIME")));
        // A record without MCG_CAP is decoded as if TES_P were set; 3 is "res3".
        let res3 = MceRecord {
            mcgcap: 0,
            ..record(VAL | EN | (3 << status::THRESHOLD_SHIFT))
        };
        assert_block(
            &lines(&res3),
            &["Threshold based error status: res3", "MCA: No Error"],
        );
        // Only corrected errors carry a threshold status.
        let uc = MceRecord {
            mcgcap: mcg_cap::TES_P,
            ..record(VAL | UC | EN | (1 << status::THRESHOLD_SHIFT))
        };
        assert!(!decoded(&uc).contains("Threshold"));
        assert_in_order(&lines(&record(VAL)), &["MCG status:"]);
        assert!(!lines(&record(VAL)).iter().any(|l| l.starts_with("RIP")));
    }

    #[test]
    fn processor_lines_and_family_model() {
        let rec = MceRecord {
            cpuid: SKX_CPUID,
            apicid: 0x12,
            socketid: 1,
            ..record(VAL)
        };
        assert_in_order(
            &lines(&rec),
            &[
                "MCGCAP 100010a APICID 12 SOCKETID 1",
                "PROCESSOR GenuineIntel:50654",
                "CPUID Vendor Intel Family 6 Model 85 Step 4",
            ],
        );
        assert_eq!(family_model(SKX_CPUID), (6, 0x55));
        assert_eq!(family_model(0x0083_0f10), (0x17, 0x31));
        assert_eq!(family_model(0x00a2_0f12), (0x19, 0x21));
        assert_eq!(family_model(0x0000_0f29), (0xf, 0x2));
        // Extended model counts only for families 6 and 0xF.
        assert_eq!(family_model(0x000f_0543), (5, 4));
    }

    #[test]
    fn ascii_record_exactly() {
        let rec = MceRecord {
            status: 0xbd80_0000_0010_0134,
            misc: 0x8c,
            addr: 0x1234_5000,
            mcgstatus: mcg_status::RIPV | mcg_status::EIPV | mcg_status::MCIP,
            mcgcap: QEMU_MCGCAP,
            ip: 0xffff_ffff_8101_e4b3,
            cs: 0x10,
            tsc: 0x1_2345_6789,
            walltime: 1_700_000_000,
            bank: 1,
            cpu: 2,
            apicid: 0x2,
            socketid: 0,
            cpuvendor: CpuVendor::Intel,
            cpuid: SKX_CPUID,
            ..MceRecord::default()
        };
        let mut s = String::new();
        write_ascii(&rec, &mut s).unwrap();
        assert_eq!(
            s,
            "CPU 2 BANK 1\n\
             TSC 123456789\n\
             RIP 10:<ffffffff8101e4b3>\n\
             MISC 8c\n\
             ADDR 12345000\n\
             STATUS bd80000000100134\n\
             MCGSTATUS 7\n\
             PROCESSOR 0:50654\n\
             TIME 1700000000\n\
             SOCKETID 0\n\
             APICID 2\n\
             MCGCAP 100010a\n\
             Run the above through 'mcelog --ascii'\n"
        );
        // No RIP without RIPV/EIPV, no MISC/ADDR unless valid, no TIME when unknown.
        let bare = MceRecord {
            status: VAL | EN | 0x0092,
            mcgstatus: mcg_status::MCIP,
            walltime: 0,
            cpuvendor: CpuVendor::Amd,
            ..rec
        };
        let mut s = String::new();
        write_ascii(&bare, &mut s).unwrap();
        for absent in ["RIP", "MISC", "ADDR", "TIME"] {
            assert!(!s.lines().any(|l| l.starts_with(absent)), "{absent}:\n{s}");
        }
        assert!(s.contains("PROCESSOR 2:50654\n"));
    }

    #[test]
    fn smca_bank_type_syndrome_and_deferred_address_are_printed() {
        // A deferred DRAM ECC error of UMC instance 0x150000, as read from
        // MCA_DESTAT/MCA_DEADDR.
        let rec = MceRecord {
            cpuvendor: CpuVendor::Amd,
            cpuid: 0x00a0_0f11,
            bank: 15,
            status: VAL | EN | status::AMD_DEFERRED | ADDRV | status::SMCA_SYNDV,
            addr: 0x7700_1000,
            synd: 0x5a00_0000_0017,
            ipid: 0x0000_0096_0015_0000,
            ..record(0)
        };
        let got = decoded(&rec);
        assert!(got.contains("SYND 5a0000000017 IPID 9600150000\n"), "{got}");
        assert!(
            got.contains("SMCA bank type UMC (Unified Memory Controller), instance 150000\n"),
            "{got}"
        );
        assert!(got.contains("ADDR 77001000"), "{got}");
        let ls = MceRecord {
            ipid: 0x0000_00b0_0000_0000,
            ..rec
        };
        assert!(decoded(&ls).contains("SMCA bank type LS (Load Store Unit)"));
        // Legacy banks (IPID 0) and other vendors get no type line.
        assert!(!decoded(&MceRecord { ipid: 0, ..rec }).contains("SMCA"));
        let intel = MceRecord {
            cpuvendor: CpuVendor::Intel,
            ..rec
        };
        assert!(!decoded(&intel).contains("SMCA bank type"));
    }

    /// Per-model decoding, one test group per mcelog decoder.
    mod models;

    #[test]
    fn arbitrary_records_never_fail() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000u32 {
            let rec = MceRecord {
                status: next(),
                misc: next(),
                addr: next(),
                mcgstatus: next(),
                mcgcap: next(),
                ip: next(),
                cs: next() as u16,
                tsc: next(),
                walltime: if i % 7 == 0 { u64::MAX } else { next() },
                bank: next() as u8,
                cpu: next() as u32,
                apicid: next() as u32,
                socketid: next() as u32,
                // Intel two times in three, so every model's decoder (and its
                // `<bit:hex>` buffer) gets its share of arbitrary records.
                cpuvendor: if i % 3 == 2 {
                    CpuVendor::from_linux_id((next() % 3) as u8)
                } else {
                    CpuVendor::Intel
                },
                cpuid: {
                    use models::{EMR, GNR_AP, GNR_SP, ICX, ICX_D, SPR};
                    let models = [SKX_CPUID, ICX, ICX_D, SPR, EMR, GNR_AP, GNR_SP];
                    models.get(i as usize % 8).copied().unwrap_or(next() as u32)
                },
                synd: next(),
                ipid: next(),
                ..MceRecord::default()
            };
            let mut s = String::new();
            write_decoded(&rec, &mut s).unwrap();
            assert!(s.ends_with('\n'));
            s.clear();
            write_ascii(&rec, &mut s).unwrap();
            assert!(s.ends_with(&alloc::format!("{ASCII_TRAILER}\n")));
        }
    }
}
