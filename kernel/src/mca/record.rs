//! One machine-check record: everything the kernel knows about one error in
//! one bank at one moment. The shape follows Linux's `struct mce` so that the
//! same facts can be printed for mcelog and written to ERST in Linux's layout.

use super::regs::{mcg_status, status};

/// The CPU vendor, as far as machine checks are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CpuVendor {
    #[default]
    Intel,
    Amd,
    Other,
}

impl CpuVendor {
    /// Linux's `X86_VENDOR_*` number, used in `struct mce.cpuvendor`.
    pub const fn linux_id(self) -> u8 {
        match self {
            CpuVendor::Intel => 0,
            CpuVendor::Amd => 2,
            CpuVendor::Other => 0xff,
        }
    }

    /// From the CPUID leaf 0 vendor string.
    pub fn from_cpuid_vendor(id: &[u8; 12]) -> Self {
        match id {
            b"GenuineIntel" => CpuVendor::Intel,
            b"AuthenticAMD" | b"HygonGenuine" => CpuVendor::Amd,
            _ => CpuVendor::Other,
        }
    }

    pub const fn from_linux_id(id: u8) -> Self {
        match id {
            0 => CpuVendor::Intel,
            2 => CpuVendor::Amd,
            _ => CpuVendor::Other,
        }
    }

    /// The name mcelog uses in `PROCESSOR <vendor>:<cpuid>`.
    pub const fn mcelog_name(self) -> &'static str {
        match self {
            CpuVendor::Intel => "GenuineIntel",
            CpuVendor::Amd => "AuthenticAMD",
            CpuVendor::Other => "Unknown",
        }
    }
}

/// Where a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Source {
    /// Found in a bank at boot, left there before this kernel started.
    Boot,
    /// Gathered by the #MC exception handler.
    #[default]
    Exception,
    /// Found by the periodic poller.
    Poll,
    /// Found by the CMCI interrupt handler.
    Cmci,
    /// Read back from persistent storage (ERST) written by an earlier boot.
    Persistent,
}

impl Source {
    pub const fn name(self) -> &'static str {
        match self {
            Source::Boot => "boot",
            Source::Exception => "exception",
            Source::Poll => "poll",
            Source::Cmci => "cmci",
            Source::Persistent => "persistent",
        }
    }
}

/// Severity classes, lowest to highest, in Linux's order (severity.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
#[repr(u8)]
pub enum Severity {
    /// Nothing to report.
    #[default]
    NoError = 0,
    /// Uncorrected, no action needed (UCNA) or AMD deferred: log, maybe offline the page.
    Deferred = 1,
    /// Belongs to another CPU's event; keep it in the bank for now.
    Keep = 2,
    /// Corrected or otherwise harmless: log it.
    Some = 3,
    /// Software recoverable, action optional (SRAO).
    ActionOptional = 4,
    /// Uncorrected: recoverable only by killing what used it.
    Uncorrected = 5,
    /// Software recoverable, action required (SRAR).
    ActionRequired = 6,
    /// The machine cannot continue.
    Panic = 7,
}

impl Severity {
    /// Linux's short names (MCE_*_SEVERITY), used in logs.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::NoError => "no error",
            Severity::Deferred => "deferred",
            Severity::Keep => "keep",
            Severity::Some => "some",
            Severity::ActionOptional => "SRAO",
            Severity::Uncorrected => "UC",
            Severity::ActionRequired => "SRAR",
            Severity::Panic => "panic",
        }
    }

    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Severity::NoError,
            1 => Severity::Deferred,
            2 => Severity::Keep,
            3 => Severity::Some,
            4 => Severity::ActionOptional,
            5 => Severity::Uncorrected,
            6 => Severity::ActionRequired,
            7 => Severity::Panic,
            _ => return None,
        })
    }
}

/// One machine-check record (the kernel's `struct mce`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MceRecord {
    /// IA32_MCi_STATUS.
    pub status: u64,
    /// IA32_MCi_MISC (0 unless MISCV).
    pub misc: u64,
    /// IA32_MCi_ADDR (0 unless ADDRV).
    pub addr: u64,
    /// IA32_MCG_STATUS at the time.
    pub mcgstatus: u64,
    /// IA32_MCG_CAP of the reporting CPU.
    pub mcgcap: u64,
    /// Interrupted instruction pointer (0 when not known / not RIPV|EIPV).
    pub ip: u64,
    /// Interrupted code segment selector (its low two bits are the privilege level).
    pub cs: u16,
    /// Time stamp counter when gathered.
    pub tsc: u64,
    /// Microseconds since boot when gathered.
    pub time_us: u64,
    /// Wall-clock seconds since the Unix epoch, 0 when unknown.
    pub walltime: u64,
    /// Bank number.
    pub bank: u8,
    /// Logical CPU number (kernel's numbering).
    pub cpu: u32,
    /// Local APIC id of the reporting CPU.
    pub apicid: u32,
    /// Physical package (socket).
    pub socketid: u32,
    /// Vendor of the reporting CPU.
    pub cpuvendor: CpuVendor,
    /// CPUID leaf 1 EAX (family/model/stepping signature).
    pub cpuid: u32,
    /// AMD SMCA: MCA_SYND and MCA_IPID (0 otherwise).
    pub synd: u64,
    pub ipid: u64,
    /// Where the record was found.
    pub source: Source,
    /// The grade given by the severity engine.
    pub severity: Severity,
}

impl MceRecord {
    pub const fn valid(&self) -> bool {
        self.status & status::VAL != 0
    }
    pub const fn uncorrected(&self) -> bool {
        self.status & status::UC != 0
    }
    /// True when the interrupted context was user mode (CPL 3).
    pub const fn user_mode(&self) -> bool {
        self.cs & 3 == 3
    }
    /// True when MCG_STATUS says the interrupted IP can be restarted.
    pub const fn ripv(&self) -> bool {
        self.mcgstatus & mcg_status::RIPV != 0
    }
    /// The address with the bits below MISC's "least significant valid bit"
    /// cleared, when the bank says ADDR and MISC are valid; otherwise the raw
    /// address when ADDRV, else `None`.
    pub fn error_address(&self) -> Option<u64> {
        if self.status & status::ADDRV == 0 {
            return None;
        }
        if self.status & status::MISCV != 0 {
            let lsb = (self.misc & super::regs::misc::LSB_MASK) as u32;
            if lsb < 64 {
                return Some(self.addr & !((1u64 << lsb) - 1));
            }
        }
        Some(self.addr)
    }
}
