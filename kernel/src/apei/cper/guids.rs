//! The GUIDs CPER records name things by, with readable names: notification
//! types (UEFI spec N.2.1, the record header's Notification Type), section
//! types (N.2.2, the section descriptor's Section Type; Linux's own types for
//! its `struct mce` and pstore sections) and creator ids.

use core::fmt;

use crate::apei::guid::Guid;

/// Notification type: Corrected Machine Check.
pub const NOTIFY_CMC: Guid = Guid::new(
    0x2DCE8BB1,
    0xBDD7,
    0x450E,
    [0xB9, 0xAD, 0x9C, 0xF4, 0xEB, 0xD4, 0xF8, 0x90],
);
/// Notification type: Corrected Platform Error.
pub const NOTIFY_CPE: Guid = Guid::new(
    0x4E292F96,
    0xD843,
    0x4A55,
    [0xA8, 0xC2, 0xD4, 0x81, 0xF2, 0x7E, 0xBE, 0xEE],
);
/// Notification type: Machine Check Exception.
pub const NOTIFY_MCE: Guid = Guid::new(
    0xE8F56FFE,
    0x919C,
    0x4CC5,
    [0xBA, 0x88, 0x65, 0xAB, 0xE1, 0x49, 0x13, 0xBB],
);
/// Notification type: PCI Express error.
pub const NOTIFY_PCIE: Guid = Guid::new(
    0xCF93C01F,
    0x1A16,
    0x4DFC,
    [0xB8, 0xBC, 0x9C, 0x4D, 0xAF, 0x67, 0xC1, 0x04],
);
/// Notification type: INIT record.
pub const NOTIFY_INIT: Guid = Guid::new(
    0xCC5263E8,
    0x9308,
    0x454A,
    [0x89, 0xD0, 0x34, 0x0B, 0xD3, 0x9B, 0xC9, 0x8E],
);
/// Notification type: Non-Maskable Interrupt.
pub const NOTIFY_NMI: Guid = Guid::new(
    0x5BAD89FF,
    0xB7E6,
    0x42C9,
    [0x81, 0x4A, 0xCF, 0x24, 0x85, 0xD6, 0xE9, 0x8A],
);
/// Notification type: Boot error record.
pub const NOTIFY_BOOT: Guid = Guid::new(
    0x3D61A466,
    0xAB40,
    0x409A,
    [0xA6, 0x98, 0xF3, 0x62, 0xD4, 0x64, 0xB3, 0x8F],
);
/// Notification type: DMA remapping error.
pub const NOTIFY_DMAR: Guid = Guid::new(
    0x667DD791,
    0xC6B3,
    0x4C27,
    [0x8A, 0x6B, 0x0F, 0x8E, 0x72, 0x2D, 0xEB, 0x41],
);

/// Section type: Processor Generic error (UEFI N.2.4.1).
pub const SEC_PROC_GENERIC: Guid = Guid::new(
    0x9876CCAD,
    0x47B4,
    0x4BDB,
    [0xB6, 0x5E, 0x16, 0xF1, 0x93, 0xC4, 0xF3, 0xDB],
);
/// Section type: IA32/X64 processor error (UEFI N.2.4.2).
pub const SEC_PROC_IA: Guid = Guid::new(
    0xDC3EA0B0,
    0xA144,
    0x4797,
    [0xB9, 0x5B, 0x53, 0xFA, 0x24, 0x2B, 0x6E, 0x1D],
);
/// Section type: Platform Memory error (UEFI N.2.5).
pub const SEC_PLATFORM_MEM: Guid = Guid::new(
    0xA5BC1114,
    0x6F64,
    0x4EDE,
    [0xB8, 0x63, 0x3E, 0x83, 0xED, 0x7C, 0x83, 0xB1],
);
/// Section type: PCI Express error (UEFI N.2.7).
pub const SEC_PCIE: Guid = Guid::new(
    0xD995E954,
    0xBBC1,
    0x430F,
    [0xAD, 0x91, 0xB4, 0x4D, 0xCB, 0x3C, 0x6F, 0x35],
);
/// Section type: Firmware Error Record Reference (UEFI N.2.10).
pub const SEC_FW_ERR_REC_REF: Guid = Guid::new(
    0x81212A96,
    0x09ED,
    0x4996,
    [0x94, 0x71, 0x8D, 0x72, 0x9C, 0x8E, 0x69, 0xED],
);
/// Section type: PCI/PCI-X bus error.
pub const SEC_PCI_X_BUS: Guid = Guid::new(
    0xC5753963,
    0x3B84,
    0x4095,
    [0xBF, 0x78, 0xED, 0xDA, 0xD3, 0xF9, 0xC9, 0xDD],
);
/// Section type: PCI component/device error.
pub const SEC_PCI_DEV: Guid = Guid::new(
    0xEB5E4685,
    0xCA66,
    0x4769,
    [0xB6, 0xA2, 0x26, 0x06, 0x8B, 0x00, 0x13, 0x26],
);
/// Section type: DMAr generic error.
pub const SEC_DMAR_GENERIC: Guid = Guid::new(
    0x5B51FEF7,
    0xC79D,
    0x4434,
    [0x8F, 0x1B, 0xAA, 0x62, 0xDE, 0x3E, 0x2C, 0x64],
);

/// Linux: a raw `struct mce` (arch/x86/kernel/cpu/mce/apei.c).
pub const SEC_LINUX_MCE: Guid = Guid::new(
    0xFE08FFBE,
    0x95E4,
    0x4BE7,
    [0xBC, 0x73, 0x40, 0x96, 0x04, 0x4A, 0x38, 0xFC],
);
/// Linux pstore: kernel log text.
pub const SEC_LINUX_DMESG: Guid = Guid::new(
    0xC197E04E,
    0xD545,
    0x4A70,
    [0x9C, 0x17, 0xA5, 0x54, 0x94, 0x19, 0xEB, 0x12],
);
/// Linux pstore: compressed kernel log.
pub const SEC_LINUX_DMESG_Z: Guid = Guid::new(
    0x4F118707,
    0x04DD,
    0x4055,
    [0xB5, 0xDD, 0x95, 0x6D, 0x34, 0xDD, 0xFA, 0xC6],
);

/// Creator id Linux uses for its MCE records. Linux's pstore (panic
/// log) records use the very same creator id, so only the section type
/// tells them apart.
pub const CREATOR_LINUX_MCE: Guid = Guid::new(
    0x75A574E3,
    0x5052,
    0x4B29,
    [0x8A, 0x8E, 0xBE, 0x2C, 0x64, 0x90, 0xB8, 0x9D],
);

/// Creator id of the records rasos writes for GHES blocks it saves on a
/// fatal error (a status block turned into a whole CPER record).
pub const CREATOR_RASOS_GHES: Guid = Guid::new(
    0x7D5E7A13,
    0x3C2B,
    0x4F51,
    [0x9C, 0x1E, 0x52, 0x41, 0x53, 0x4F, 0x53, 0x31],
);

/// A readable name for a notification type GUID.
pub fn notification_type_name(g: &Guid) -> Option<&'static str> {
    Some(match *g {
        NOTIFY_CMC => "corrected machine check",
        NOTIFY_CPE => "corrected platform error",
        NOTIFY_MCE => "machine check exception",
        NOTIFY_PCIE => "PCI Express error",
        NOTIFY_INIT => "INIT",
        NOTIFY_NMI => "NMI",
        NOTIFY_BOOT => "boot error",
        NOTIFY_DMAR => "DMA remapping error",
        _ => return None,
    })
}

/// A readable name for a section type GUID.
pub fn section_type_name(g: &Guid) -> Option<&'static str> {
    Some(match *g {
        SEC_PROC_GENERIC => "generic processor error",
        SEC_PROC_IA => "IA32/X64 processor error",
        SEC_PLATFORM_MEM => "memory error",
        SEC_PCIE => "PCIe error",
        SEC_FW_ERR_REC_REF => "firmware error record reference",
        SEC_PCI_X_BUS => "PCI/PCI-X bus error",
        SEC_PCI_DEV => "PCI component error",
        SEC_DMAR_GENERIC => "DMAr generic error",
        SEC_LINUX_MCE => "Linux machine check (struct mce)",
        SEC_LINUX_DMESG => "Linux kernel log (dmesg)",
        SEC_LINUX_DMESG_Z => "Linux compressed kernel log (dmesg)",
        _ => return None,
    })
}

/// A readable name for a creator id GUID.
pub fn creator_name(g: &Guid) -> Option<&'static str> {
    match *g {
        CREATOR_LINUX_MCE => Some("Linux (MCE / pstore)"),
        CREATOR_RASOS_GHES => Some("rasos (GHES error status block)"),
        _ => None,
    }
}

/// Prints a GUID with its name when it has one.
pub(super) struct Named<'a>(pub(super) &'a Guid, pub(super) Option<&'static str>);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(n) => write!(f, "{} ({})", n, self.0),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::apei::cper::guids;

    #[test]
    fn guid_constants_have_spec_bytes() {
        assert_eq!(
            guids::SEC_LINUX_MCE.0,
            [
                0xBE, 0xFF, 0x08, 0xFE, 0xE4, 0x95, 0xE7, 0x4B, 0xBC, 0x73, 0x40, 0x96, 0x04, 0x4A,
                0x38, 0xFC
            ]
        );
        assert_eq!(
            alloc::format!("{}", guids::CREATOR_LINUX_MCE),
            "75A574E3-5052-4B29-8A8E-BE2C6490B89D"
        );
        assert_eq!(
            alloc::format!("{}", guids::SEC_PLATFORM_MEM),
            "A5BC1114-6F64-4EDE-B863-3E83ED7C83B1"
        );
        assert_eq!(
            alloc::format!("{}", guids::SEC_PROC_IA),
            "DC3EA0B0-A144-4797-B95B-53FA242B6E1D"
        );
        assert_eq!(
            alloc::format!("{}", guids::NOTIFY_CMC),
            "2DCE8BB1-BDD7-450E-B9AD-9CF4EBD4F890"
        );
    }
}
