//! Servicing one source, in the steps of Linux's `ghes_read_estatus` /
//! `ghes_clear_estatus` / `ghes_ack_error`, each a separate call so the
//! kernel can claim a record slot between them:
//!
//! 1. [`peek`]: read the error status address register; no address or a
//!    zero block status means nothing to do;
//! 2. [`copy_block`]: check the length the block claims against the
//!    source's error block length, copy it (into a slot the caller owns)
//!    and check the copy, never the firmware's memory, which may change;
//! 3. [`clear_and_ack`]: zero the block status (and read it back: a status
//!    that does not clear is reported), then for GHESv2 write the read-ack
//!    register with its preserve and write masks.
//!
//! Nothing here allocates, waits for a lock or panics on any input: the NMI
//! handler runs it.

use core::fmt;

use super::source::SourceConfig;
use crate::apei::cper::{self, CperError, CperSeverity, ErrorStatusBlock};
use crate::apei::gas::{self, AccessError, AddressSpace, RegisterAccess};
use crate::apei::table::ParseError;

/// Physical memory as GHES reads and writes it: the status block is plain
/// memory the firmware fills. The defaults go a byte at a time through
/// [`RegisterAccess`]; the kernel copies through its mapping instead.
pub trait BlockAccess: RegisterAccess {
    fn read_bytes(&mut self, phys: u64, out: &mut [u8]) -> Result<(), AccessError> {
        for (i, b) in out.iter_mut().enumerate() {
            let a = phys.checked_add(i as u64).ok_or(AccessError::Fault {
                space: AddressSpace::SystemMemory,
                address: phys,
            })?;
            *b = self.read(AddressSpace::SystemMemory, a, 8)? as u8;
        }
        Ok(())
    }
    fn write_bytes(&mut self, phys: u64, data: &[u8]) -> Result<(), AccessError> {
        for (i, &b) in data.iter().enumerate() {
            let a = phys.checked_add(i as u64).ok_or(AccessError::Fault {
                space: AddressSpace::SystemMemory,
                address: phys,
            })?;
            self.write(AddressSpace::SystemMemory, a, 8, b as u64)?;
        }
        Ok(())
    }
}

/// What is wrong with a block, without the allocation [`CperError`] may
/// carry (so it can sit in a record slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// A header field that cannot be right (data length, raw data offset).
    Field { field: &'static str, value: u64 },
    /// An entry's payload runs past the data area.
    EntryOverrun {
        index: usize,
        offset: usize,
        length: u32,
        end: usize,
    },
    /// An entry header cut by the end of the data area.
    EntryCut { offset: usize, needed: usize },
    /// A block severity no CPER version defines.
    UnknownSeverity(u32),
}

impl Malformed {
    fn of(e: &CperError) -> Malformed {
        match *e {
            CperError::BadStatusBlock { field, value } => Malformed::Field { field, value },
            CperError::EntryOutOfBounds {
                index,
                offset,
                length,
                end,
            } => Malformed::EntryOverrun {
                index,
                offset,
                length,
                end,
            },
            CperError::Parse(ParseError::Truncated { offset, needed }) => {
                Malformed::EntryCut { offset, needed }
            }
            _ => Malformed::Field {
                field: "header",
                value: 0,
            },
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Malformed::Field { field, value } => write!(f, "bad {field} {value:#x}"),
            Malformed::EntryOverrun {
                index,
                offset,
                length,
                end,
            } => write!(
                f,
                "section {index} at offset {offset} (length {length}) overruns the data area ending at {end}"
            ),
            Malformed::EntryCut { offset, needed } => write!(
                f,
                "a section header at offset {offset} is cut by the end of the data area ({needed} byte(s) short)"
            ),
            Malformed::UnknownSeverity(v) => write!(f, "unknown block severity {v}"),
        }
    }
}

/// Why a source's error could not be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The error status address register could not be read.
    AddressUnreadable(AccessError),
    /// The block at `paddr` could not be read.
    BlockUnreadable { paddr: u64, err: AccessError },
    /// The block claims more bytes than the source's error block length.
    BlockTooLong { paddr: u64, claimed: u64, room: u32 },
    /// The copy does not hold together.
    Malformed { paddr: u64, why: Malformed },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::AddressUnreadable(e) => {
                write!(f, "cannot read the error status block address: {e}")
            }
            Problem::BlockUnreadable { paddr, err } => {
                write!(f, "cannot read the error status block at {paddr:#x}: {err}")
            }
            Problem::BlockTooLong {
                paddr,
                claimed,
                room,
            } => write!(
                f,
                "error status block at {paddr:#x} claims {claimed} bytes, past its region of {room} bytes (error block length)"
            ),
            Problem::Malformed { paddr, why } => {
                write!(f, "malformed error status block at {paddr:#x}: {why}")
            }
        }
    }
}

/// A block found by [`peek`]: where it is and its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    pub paddr: u64,
    pub header: [u8; ErrorStatusBlock::HEADER_LEN],
}

/// Reads the error status address register and the header it points at.
/// `Ok(None)`: nothing to do (address 0 or block status 0).
pub fn peek<A: BlockAccess>(cfg: &SourceConfig, a: &mut A) -> Result<Option<Pending>, Problem> {
    let paddr = gas::read(a, &cfg.error_status_address).map_err(Problem::AddressUnreadable)?;
    if paddr == 0 {
        return Ok(None);
    }
    let mut header = [0u8; ErrorStatusBlock::HEADER_LEN];
    a.read_bytes(paddr, &mut header)
        .map_err(|err| Problem::BlockUnreadable { paddr, err })?;
    if header[..4] == [0; 4] {
        return Ok(None);
    }
    Ok(Some(Pending { paddr, header }))
}

/// Copies the block `p` found into `buf` and checks the copy. Returns the
/// bytes copied (only the header when the block is too long for its
/// region) and whether the copy is a valid block. `buf` must hold at least
/// `cfg.block_len` bytes; when shorter the block is treated as too long.
pub fn copy_block<A: BlockAccess>(
    cfg: &SourceConfig,
    a: &mut A,
    p: &Pending,
    buf: &mut [u8],
) -> (usize, Result<(), Problem>) {
    let hl = ErrorStatusBlock::HEADER_LEN;
    let claimed = cper::claimed_block_len(&p.header).unwrap_or(0);
    let room = (cfg.block_len as usize).min(buf.len());
    let paddr = p.paddr;
    if claimed > room as u64 || buf.len() < hl {
        let n = hl.min(buf.len());
        buf[..n].copy_from_slice(&p.header[..n]);
        return (
            n,
            Err(Problem::BlockTooLong {
                paddr,
                claimed,
                room: cfg.block_len,
            }),
        );
    }
    let len = claimed as usize;
    if let Err(err) = a.read_bytes(paddr, &mut buf[..len]) {
        buf[..hl].copy_from_slice(&p.header);
        return (hl, Err(Problem::BlockUnreadable { paddr, err }));
    }
    (
        len,
        check(&buf[..len]).map_err(|why| Problem::Malformed { paddr, why }),
    )
}

/// Checks a copied block: it parses, and its severity is one CPER defines.
pub fn check(bytes: &[u8]) -> Result<(), Malformed> {
    let b = cper::parse_error_status_block(bytes).map_err(|e| Malformed::of(&e))?;
    match b.error_severity {
        CperSeverity::Unknown(v) => Err(Malformed::UnknownSeverity(v)),
        _ => Ok(()),
    }
}

/// How clearing the block status went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cleared {
    Yes,
    /// Written as 0, read back as this: the firmware's memory does not
    /// take the write, so the same block will be found again.
    Stuck(u32),
    Failed(AccessError),
}

/// How the GHESv2 read acknowledgment went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acked {
    /// A GHES (version 1) source has no read-ack register.
    NotV2,
    /// Wrote this value.
    Yes(u64),
    Failed(AccessError),
}

/// Gives the block back to the firmware: zeroes its block status (checking
/// it reads back as 0), then acknowledges it on GHESv2 (Linux
/// `ghes_ack_error`: keep the preserve bits, set the write bits, both at
/// the register's bit offset). The ack is written whatever the clear did:
/// the firmware waits for it.
pub fn clear_and_ack<A: BlockAccess>(
    cfg: &SourceConfig,
    a: &mut A,
    paddr: u64,
) -> (Cleared, Acked) {
    let cleared = match a.write_bytes(paddr, &[0; 4]) {
        Err(e) => Cleared::Failed(e),
        Ok(()) => {
            let mut back = [0u8; 4];
            match a.read_bytes(paddr, &mut back) {
                Err(e) => Cleared::Failed(e),
                Ok(()) if back == [0; 4] => Cleared::Yes,
                Ok(()) => Cleared::Stuck(u32::from_le_bytes(back)),
            }
        }
    };
    let acked = match &cfg.read_ack {
        None => Acked::NotV2,
        Some(r) => {
            let shift = r.register.bit_offset as u32;
            let v = gas::read_raw(a, &r.register).and_then(|old| {
                let v = (old & r.preserve.checked_shl(shift).unwrap_or(0))
                    | r.write.checked_shl(shift).unwrap_or(0);
                gas::write_raw(a, &r.register, v).map(|()| v)
            });
            match v {
                Ok(v) => Acked::Yes(v),
                Err(e) => Acked::Failed(e),
            }
        }
    };
    (cleared, acked)
}

/// FNV-1a of a block's bytes: tells a stuck block found again from a new one.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::guids;
    use crate::apei::cper::tests::{block, entry, memory_block, memory_error_payload};
    use crate::apei::gas::tests::FlatMemory;
    use crate::apei::ghes::source::tests::generic;
    use crate::apei::hest::NotifyType;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Memory with a read-only range (writes there are dropped, as ROM) and
    /// a range where every access faults.
    #[derive(Default)]
    struct Firmware {
        mem: FlatMemory,
        rom: Option<(u64, u64)>,
        hole: Option<(u64, u64)>,
    }

    impl Firmware {
        fn put(&mut self, at: u64, bytes: &[u8]) {
            for (i, &b) in bytes.iter().enumerate() {
                self.mem.mem.insert(at + i as u64, b);
            }
        }
        fn get(&self, at: u64, n: usize) -> Vec<u8> {
            (0..n as u64)
                .map(|i| *self.mem.mem.get(&(at + i)).unwrap_or(&0))
                .collect()
        }
        fn faults(&self, a: u64) -> bool {
            self.hole.is_some_and(|(s, e)| (s..e).contains(&a))
        }
    }

    impl RegisterAccess for Firmware {
        fn read(&mut self, s: AddressSpace, a: u64, bits: u8) -> Result<u64, AccessError> {
            if self.faults(a) {
                return Err(AccessError::Fault {
                    space: s,
                    address: a,
                });
            }
            self.mem.read(s, a, bits)
        }
        fn write(&mut self, s: AddressSpace, a: u64, bits: u8, v: u64) -> Result<(), AccessError> {
            if self.faults(a) {
                return Err(AccessError::Fault {
                    space: s,
                    address: a,
                });
            }
            if self.rom.is_some_and(|(lo, hi)| (lo..hi).contains(&a)) {
                return Ok(());
            }
            self.mem.write(s, a, bits, v)
        }
        fn stall_us(&mut self, _: u64) {}
        fn flush_cacheline(&mut self, _: u64) {}
    }

    impl BlockAccess for Firmware {}

    const REG: u64 = 0x1000;
    const ACK: u64 = 0x1008;
    const BLOCK: u64 = 0x2000;

    fn setup(v2: bool, block_bytes: &[u8]) -> (SourceConfig, Firmware) {
        let g = generic(NotifyType::Polled, 10, v2);
        let cfg = SourceConfig::from_hest(&g, if v2 { 2 } else { 1 }).unwrap();
        let mut fw = Firmware::default();
        fw.put(REG, &BLOCK.to_le_bytes());
        fw.put(ACK, &0xf0u64.to_le_bytes());
        fw.put(BLOCK, block_bytes);
        (cfg, fw)
    }

    /// What one service found: the copy, its check, the clear and the ack.
    type Serviced = (Vec<u8>, Result<(), Problem>, Cleared, Acked);

    /// The whole service of one source, as the kernel runs it.
    fn service(cfg: &SourceConfig, fw: &mut Firmware) -> Option<Serviced> {
        let p = match peek(cfg, fw) {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => return Some((vec![], Err(e), Cleared::Yes, Acked::NotV2)),
        };
        let mut buf = vec![0u8; cfg.block_len as usize];
        let (n, ok) = copy_block(cfg, fw, &p, &mut buf);
        let (c, a) = clear_and_ack(cfg, fw, p.paddr);
        Some((buf[..n].to_vec(), ok, c, a))
    }

    #[test]
    fn a_good_block_is_copied_cleared_and_acked() {
        let b = memory_block(0x1_2345_6000);
        let (cfg, mut fw) = setup(true, &b);
        let (copy, ok, cleared, acked) = service(&cfg, &mut fw).unwrap();
        assert_eq!(copy, b);
        assert_eq!(ok, Ok(()));
        assert_eq!(cleared, Cleared::Yes);
        assert_eq!(fw.get(BLOCK, 4), [0; 4]);
        // Preserve 0xfffe keeps 0xf0, write 1 sets bit 0.
        assert_eq!(acked, Acked::Yes(0xf1));
        assert_eq!(fw.get(ACK, 8), 0xf1u64.to_le_bytes());
        // The rest of the block is left as the firmware wrote it.
        assert_eq!(fw.get(BLOCK + 4, b.len() - 4), b[4..]);
        // Now nothing is pending.
        assert!(service(&cfg, &mut fw).is_none());
        // GHES v1: no ack register is touched.
        let (cfg, mut fw) = setup(false, &b);
        let (.., acked) = service(&cfg, &mut fw).unwrap();
        assert_eq!(acked, Acked::NotV2);
        assert_eq!(fw.get(ACK, 8), 0xf0u64.to_le_bytes());
    }

    #[test]
    fn no_address_or_zero_status_is_nothing() {
        let (cfg, mut fw) = setup(true, &memory_block(0x1000));
        fw.put(REG, &0u64.to_le_bytes());
        assert!(service(&cfg, &mut fw).is_none());
        let (cfg, mut fw) = setup(true, &block(0, 2, &[]));
        assert!(service(&cfg, &mut fw).is_none());
        assert_eq!(
            fw.get(ACK, 8),
            0xf0u64.to_le_bytes(),
            "no ack without a block"
        );
    }

    #[test]
    fn bad_blocks_are_named_and_still_given_back() {
        // Block length past the region (4096 bytes).
        let mut b = memory_block(0x1000);
        b[12..16].copy_from_slice(&5000u32.to_le_bytes());
        let (cfg, mut fw) = setup(true, &b);
        let (copy, ok, cleared, acked) = service(&cfg, &mut fw).unwrap();
        assert_eq!(copy.len(), 20);
        assert_eq!(
            ok,
            Err(Problem::BlockTooLong {
                paddr: BLOCK,
                claimed: 5020,
                room: 4096
            })
        );
        assert!(alloc::format!("{}", ok.unwrap_err())
            .contains("claims 5020 bytes, past its region of 4096 bytes"));
        assert_eq!((cleared, acked), (Cleared::Yes, Acked::Yes(0xf1)));
        // Raw data past the region.
        let mut b = memory_block(0x1000);
        b[4..8].copy_from_slice(&4000u32.to_le_bytes());
        b[8..12].copy_from_slice(&200u32.to_le_bytes());
        let (cfg, mut fw) = setup(false, &b);
        assert!(matches!(
            service(&cfg, &mut fw).unwrap().1,
            Err(Problem::BlockTooLong { claimed: 4200, .. })
        ));
        // A section overrunning the data area.
        let mut b = memory_block(0x1000);
        b[20 + 24..20 + 28].copy_from_slice(&200u32.to_le_bytes());
        let (cfg, mut fw) = setup(false, &b);
        let ok = service(&cfg, &mut fw).unwrap().1;
        assert!(
            matches!(
                ok,
                Err(Problem::Malformed {
                    why: Malformed::EntryOverrun {
                        index: 0,
                        length: 200,
                        ..
                    },
                    ..
                })
            ),
            "{ok:?}"
        );
        assert!(alloc::format!("{}", ok.unwrap_err())
            .contains("section 0 at offset 20 (length 200) overruns the data area ending at"));
        // A data length that cuts the entry header.
        let mut b = memory_block(0x1000);
        b[12..16].copy_from_slice(&30u32.to_le_bytes());
        let (cfg, mut fw) = setup(false, &b);
        assert!(matches!(
            service(&cfg, &mut fw).unwrap().1,
            Err(Problem::Malformed {
                why: Malformed::EntryCut { .. },
                ..
            })
        ));
        // An unknown block severity.
        let b = block(
            1 | 1 << 4,
            9,
            &[entry(
                guids::SEC_PLATFORM_MEM,
                0,
                0x300,
                &memory_error_payload(0x1000),
            )],
        );
        let (cfg, mut fw) = setup(false, &b);
        let ok = service(&cfg, &mut fw).unwrap().1;
        assert_eq!(
            ok,
            Err(Problem::Malformed {
                paddr: BLOCK,
                why: Malformed::UnknownSeverity(9)
            })
        );
    }

    #[test]
    fn unreadable_registers_and_blocks() {
        let (cfg, mut fw) = setup(true, &memory_block(0x1000));
        fw.hole = Some((REG, REG + 8));
        let r = service(&cfg, &mut fw).unwrap().1;
        assert!(matches!(
            r,
            Err(Problem::AddressUnreadable(AccessError::Fault { .. }))
        ));
        let (cfg, mut fw) = setup(true, &memory_block(0x1000));
        fw.hole = Some((BLOCK, BLOCK + 1));
        assert!(matches!(
            peek(&cfg, &mut fw),
            Err(Problem::BlockUnreadable { paddr: BLOCK, .. })
        ));
        // Header readable, the rest not.
        let (cfg, mut fw) = setup(true, &memory_block(0x1000));
        fw.hole = Some((BLOCK + 40, BLOCK + 41));
        let p = peek(&cfg, &mut fw).unwrap().unwrap();
        let mut buf = vec![0u8; 4096];
        let (n, r) = copy_block(&cfg, &mut fw, &p, &mut buf);
        assert_eq!(n, 20);
        assert!(matches!(r, Err(Problem::BlockUnreadable { .. })));
        // A buffer smaller than the block.
        let (n, r) = copy_block(&cfg, &mut fw, &p, &mut buf[..50]);
        assert_eq!(n, 20);
        assert!(matches!(r, Err(Problem::BlockTooLong { .. })));
    }

    #[test]
    fn a_status_that_never_clears_and_an_ack_that_cannot_be_written() {
        let b = memory_block(0x1000);
        let (cfg, mut fw) = setup(true, &b);
        fw.rom = Some((BLOCK, BLOCK + 4096));
        fw.hole = Some((ACK, ACK + 8));
        let (copy, ok, cleared, acked) = service(&cfg, &mut fw).unwrap();
        assert_eq!((copy.as_slice(), ok), (b.as_slice(), Ok(())));
        assert_eq!(
            cleared,
            Cleared::Stuck(u32::from_le_bytes(b[..4].try_into().unwrap()))
        );
        assert!(matches!(
            acked,
            Acked::Failed(AccessError::Fault { address: ACK, .. })
        ));
        // Found again, the same bytes: the fingerprint says so.
        let (copy2, ..) = service(&cfg, &mut fw).unwrap();
        assert_eq!(fingerprint(&copy2), fingerprint(&copy));
        assert_ne!(fingerprint(&copy), fingerprint(&memory_block(0x2000)));
    }
}
