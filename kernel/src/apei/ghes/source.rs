//! One GHES or GHESv2 source as the kernel services it, from its HEST entry
//! (ACPI spec 18.3.2.7 and 18.3.2.8): where its error status block's
//! address is found, how long the block may be, its read-ack register, and
//! how the kernel learns of errors (its notification, or the fallback poll
//! when the notification needs wiring this kernel does not do).

use core::fmt;

use crate::apei::gas::{AddressSpace, Gas, GasError};
use crate::apei::hest::{GenericAddress, GenericSource, NotifyType};

/// The longest error status block serviced (Linux's
/// `GHES_ESTATUS_MAX_SIZE`); longer error block lengths are cut to it.
pub const MAX_BLOCK_LEN: u32 = 65536;

/// How often sources whose notification is not wired are polled.
pub const FALLBACK_POLL_MS: u32 = 1000;

/// How the kernel learns that a source has an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Polled at the source's own interval.
    Polled { interval_ms: u32 },
    /// Checked by the NMI handler on every NMI.
    Nmi,
    /// A notification this kernel cannot wire (SCI, GSIV and GPIO need AML;
    /// interrupt vectors need a route through an interrupt controller; a
    /// polled source with interval 0), so it is polled every `interval_ms`.
    Fallback { kind: NotifyType, interval_ms: u32 },
}

impl Delivery {
    /// The poll interval, for polled and fallback sources.
    pub const fn poll_interval_ms(self) -> Option<u32> {
        match self {
            Delivery::Polled { interval_ms } | Delivery::Fallback { interval_ms, .. } => {
                Some(interval_ms)
            }
            Delivery::Nmi => None,
        }
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Delivery::Polled { interval_ms } => write!(f, "polled every {interval_ms} ms"),
            Delivery::Nmi => f.write_str("notified by NMI"),
            Delivery::Fallback {
                kind: NotifyType::Polled,
                interval_ms,
            } => write!(
                f,
                "polled with interval 0 in HEST; polled every {interval_ms} ms instead"
            ),
            Delivery::Fallback { kind, interval_ms } => write!(
                f,
                "notified by {}, which this kernel does not wire ({}); polled every {interval_ms} ms instead",
                kind.name(),
                match kind {
                    NotifyType::Sci | NotifyType::Gsiv | NotifyType::Gpio => "it needs AML",
                    NotifyType::ExternalInterrupt | NotifyType::LocalInterrupt => {
                        "no interrupt routing"
                    }
                    _ => "not an x86 notification this kernel handles",
                }
            ),
        }
    }
}

/// GHESv2's read acknowledgment: after taking a block, the OS reads the
/// register, keeps the `preserve` bits, sets the `write` bits (both shifted
/// by the register's bit offset) and writes it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAck {
    pub register: Gas,
    pub preserve: u64,
    pub write: u64,
}

/// A source ready to service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    pub source_id: u16,
    /// 1 (GHES) or 2 (GHESv2).
    pub version: u8,
    /// The register holding the status block's physical address.
    pub error_status_address: Gas,
    /// Room for the block: the HEST error block length, at most
    /// [`MAX_BLOCK_LEN`].
    pub block_len: u32,
    /// What HEST said, when it was cut to [`MAX_BLOCK_LEN`].
    pub declared_block_len: u32,
    pub read_ack: Option<ReadAck>,
    pub delivery: Delivery,
}

/// Why a source is not serviced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceError {
    /// The firmware marked it disabled.
    Disabled,
    /// Shorter than a status block header.
    BlockLengthTooShort(u32),
    /// The error status address register is unusable.
    StatusAddress(GasError),
    /// The read-ack register is unusable.
    ReadAck(GasError),
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Disabled => f.write_str("disabled by the firmware"),
            SourceError::BlockLengthTooShort(n) => {
                write!(
                    f,
                    "invalid error block length {n} (a status block needs 20)"
                )
            }
            SourceError::StatusAddress(e) => write!(f, "error status address register: {e}"),
            SourceError::ReadAck(e) => write!(f, "read ack register: {e}"),
        }
    }
}

pub(crate) fn gas_of(g: &GenericAddress) -> Gas {
    Gas {
        space: AddressSpace::from_id(g.space_id),
        bit_width: g.bit_width,
        bit_offset: g.bit_offset,
        access_size: g.access_size,
        address: g.address,
    }
}

impl SourceConfig {
    /// The configuration of HEST source `g` (`version` 1 for type 9, 2 for
    /// type 10), as Linux's `ghes_probe` checks it: enabled, a block long
    /// enough for a header (cut at 64 KiB), usable registers.
    pub fn from_hest(g: &GenericSource, version: u8) -> Result<SourceConfig, SourceError> {
        if !g.enabled {
            return Err(SourceError::Disabled);
        }
        if (g.error_block_length as usize) < crate::apei::cper::ErrorStatusBlock::HEADER_LEN {
            return Err(SourceError::BlockLengthTooShort(g.error_block_length));
        }
        let error_status_address = gas_of(&g.error_status_address);
        error_status_address
            .check_apei()
            .map_err(SourceError::StatusAddress)?;
        let read_ack = match (version, g.read_ack) {
            (2.., Some(a)) => {
                let register = gas_of(&a.register);
                register.check_apei().map_err(SourceError::ReadAck)?;
                Some(ReadAck {
                    register,
                    preserve: a.preserve,
                    write: a.write,
                })
            }
            _ => None,
        };
        let n = &g.notification;
        let delivery = match n.kind {
            NotifyType::Polled if n.poll_interval > 0 => Delivery::Polled {
                interval_ms: n.poll_interval,
            },
            NotifyType::Nmi => Delivery::Nmi,
            kind => Delivery::Fallback {
                kind,
                interval_ms: FALLBACK_POLL_MS,
            },
        };
        Ok(SourceConfig {
            source_id: g.source_id,
            version,
            error_status_address,
            block_len: g.error_block_length.min(MAX_BLOCK_LEN),
            declared_block_len: g.error_block_length,
            read_ack,
            delivery,
        })
    }
}

impl fmt::Display for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "source {} (GHES{}): {}; status block address in {} at {:#x}, block length {}",
            self.source_id,
            if self.version >= 2 { "v2" } else { "" },
            self.delivery,
            self.error_status_address.space,
            self.error_status_address.address,
            self.block_len
        )?;
        if self.declared_block_len != self.block_len {
            write!(
                f,
                " (HEST says {}, too long; cut to {MAX_BLOCK_LEN})",
                self.declared_block_len
            )?;
        }
        if let Some(a) = &self.read_ack {
            write!(
                f,
                "; read ack in {} at {:#x} (preserve {:#x}, write {:#x})",
                a.register.space, a.register.address, a.preserve, a.write
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::apei::hest::{Notification, ReadAck as HestReadAck};
    use alloc::format;

    pub fn mem_gas(address: u64) -> GenericAddress {
        GenericAddress {
            space_id: 0,
            bit_width: 64,
            bit_offset: 0,
            access_size: 4,
            address,
        }
    }

    pub fn generic(kind: NotifyType, poll_ms: u32, v2: bool) -> GenericSource {
        GenericSource {
            source_id: 7,
            related_source_id: 0xffff,
            enabled: true,
            records_to_preallocate: 1,
            max_sections_per_record: 1,
            max_raw_data_length: 0,
            error_status_address: mem_gas(0x1000),
            notification: Notification {
                kind,
                length: 28,
                config_write_enable: 0,
                poll_interval: poll_ms,
                vector: 0,
                polling_threshold_value: 0,
                polling_threshold_window: 0,
                error_threshold_value: 0,
                error_threshold_window: 0,
            },
            error_block_length: 4096,
            read_ack: v2.then_some(HestReadAck {
                register: mem_gas(0x1008),
                preserve: 0xfffe,
                write: 1,
            }),
        }
    }

    #[test]
    fn deliveries() {
        let c = SourceConfig::from_hest(&generic(NotifyType::Polled, 50, false), 1).unwrap();
        assert_eq!(c.delivery, Delivery::Polled { interval_ms: 50 });
        assert_eq!(c.read_ack, None);
        assert_eq!(
            format!("{c}"),
            "source 7 (GHES): polled every 50 ms; status block address in system memory at 0x1000, block length 4096"
        );
        let c = SourceConfig::from_hest(&generic(NotifyType::Nmi, 0, true), 2).unwrap();
        assert_eq!(c.delivery, Delivery::Nmi);
        assert_eq!(c.read_ack.unwrap().preserve, 0xfffe);
        assert!(format!("{c}")
            .ends_with("; read ack in system memory at 0x1008 (preserve 0xfffe, write 0x1)"));
        for kind in [NotifyType::Sci, NotifyType::Gsiv, NotifyType::Gpio] {
            let c = SourceConfig::from_hest(&generic(kind, 0, false), 1).unwrap();
            assert_eq!(c.delivery.poll_interval_ms(), Some(FALLBACK_POLL_MS));
            assert!(format!("{c}").contains(&format!(
                "notified by {}, which this kernel does not wire (it needs AML); polled every 1000 ms instead",
                kind.name()
            )));
        }
        let c = SourceConfig::from_hest(&generic(NotifyType::Polled, 0, false), 1).unwrap();
        assert!(format!("{c}").contains("interval 0 in HEST; polled every 1000 ms instead"));
        let c =
            SourceConfig::from_hest(&generic(NotifyType::ExternalInterrupt, 0, false), 1).unwrap();
        assert!(format!("{}", c.delivery).contains("no interrupt routing"));
    }

    #[test]
    fn bad_sources_are_refused_with_a_reason() {
        let mut g = generic(NotifyType::Polled, 10, true);
        g.enabled = false;
        assert_eq!(SourceConfig::from_hest(&g, 2), Err(SourceError::Disabled));
        let mut g = generic(NotifyType::Polled, 10, true);
        g.error_block_length = 19;
        assert_eq!(
            SourceConfig::from_hest(&g, 2),
            Err(SourceError::BlockLengthTooShort(19))
        );
        let mut g = generic(NotifyType::Polled, 10, true);
        g.error_status_address.address = 0;
        assert_eq!(
            SourceConfig::from_hest(&g, 2),
            Err(SourceError::StatusAddress(GasError::ZeroAddress))
        );
        let mut g = generic(NotifyType::Polled, 10, true);
        g.read_ack.as_mut().unwrap().register.space_id = 2;
        let e = SourceConfig::from_hest(&g, 2).unwrap_err();
        assert!(format!("{e}").starts_with("read ack register: registers in address space 0x02"));
        // Too long a block is cut, and said.
        let mut g = generic(NotifyType::Polled, 10, false);
        g.error_block_length = 1 << 20;
        let c = SourceConfig::from_hest(&g, 1).unwrap();
        assert_eq!(c.block_len, MAX_BLOCK_LEN);
        assert!(format!("{c}").contains("(HEST says 1048576, too long; cut to 65536)"));
    }
}
