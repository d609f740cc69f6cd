//! The GHES service steps over simulated firmware memory: peek, copy_block,
//! clear_and_ack, then the actions and the CPER record of a valid block.
//!
//! Input: flags (bit 0 GHESv2, bit 1 address register 0), block length
//! (u16), read-ack bit offset, preserve (u64), write (u64), the ack
//! register's value (u64), then the block as the firmware wrote it.
#![no_main]

use kernel::apei::cper::{self, ErrorStatusBlock};
use kernel::apei::ghes::{self, Acked, Cleared, SourceConfig};
use kernel::apei::hest::{GenericAddress, GenericSource, Notification, NotifyType, ReadAck};
use kernel_fuzz::{le64, FuzzClock, Memory};
use libfuzzer_sys::fuzz_target;

const REG: u64 = 0x1000;
const ACK: u64 = 0x2000;
const BLK: u64 = 0x10000;

fn gas(address: u64, offset: u8) -> GenericAddress {
    GenericAddress {
        space_id: 0,
        bit_width: 64 - offset,
        bit_offset: offset,
        access_size: 4,
        address,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 28 {
        return;
    }
    let v2 = data[0] & 1 != 0;
    let block_len = u16::from_le_bytes([data[1], data[2]]) as u32;
    let off = data[3] % 64;
    let preserve = le64(data, 4).unwrap();
    let write = le64(data, 12).unwrap();
    let ack_before = le64(data, 20).unwrap();
    let fw = &data[28..];
    let g = GenericSource {
        source_id: 1,
        related_source_id: 0xffff,
        enabled: true,
        records_to_preallocate: 1,
        max_sections_per_record: 1,
        max_raw_data_length: 0,
        error_status_address: gas(REG, 0),
        notification: Notification {
            kind: NotifyType::Polled,
            length: 28,
            config_write_enable: 0,
            poll_interval: 10,
            vector: 0,
            polling_threshold_value: 0,
            polling_threshold_window: 0,
            error_threshold_value: 0,
            error_threshold_window: 0,
        },
        error_block_length: block_len,
        read_ack: v2.then_some(ReadAck {
            register: gas(ACK, off),
            preserve,
            write,
        }),
    };
    let Ok(cfg) = SourceConfig::from_hest(&g, if v2 { 2 } else { 1 }) else {
        assert!((block_len as usize) < ErrorStatusBlock::HEADER_LEN);
        return;
    };
    let mut m = Memory::strict(FuzzClock::default());
    let addr = if data[0] & 2 != 0 { 0 } else { BLK };
    m.load(REG, &addr.to_le_bytes());
    m.load(ACK, &ack_before.to_le_bytes());
    m.load(BLK, fw);

    let p = match ghes::peek(&cfg, &mut m) {
        Ok(None) => {
            assert!(addr == 0 || fw.get(..4) == Some(&[0; 4]));
            return;
        }
        Ok(Some(p)) => p,
        Err(e) => {
            // Only a block shorter than its header cannot be peeked here.
            assert!(fw.len() < ErrorStatusBlock::HEADER_LEN, "{e}");
            return;
        }
    };
    assert_eq!(&p.header[..], &fw[..ErrorStatusBlock::HEADER_LEN]);
    let mut buf = vec![0u8; cfg.block_len as usize];
    let (n, checked) = ghes::copy_block(&cfg, &mut m, &p, &mut buf);
    assert!(n <= cfg.block_len as usize && n <= fw.len().max(ErrorStatusBlock::HEADER_LEN));
    assert_eq!(&buf[..n], &fw[..n]);
    let _ = format!("{checked:?}");
    if checked.is_ok() {
        assert_eq!(cper::claimed_block_len(&p.header), Some(n as u64));
        let b = cper::parse_error_status_block(&buf[..n]).expect("checked block parses");
        let grade = ghes::block_grade(&b);
        for e in &b.entries {
            let _ = ghes::entry_action(grade, &e);
        }
        let mut out = vec![0u8; ghes::record_len(&b)];
        let len = ghes::encode_block_record(&b, cper::guids::NOTIFY_NMI, 7, Some(1), &mut out)
            .expect("room for the record");
        let r = cper::parse_record(&out[..len]).expect("the record parses");
        assert_eq!(r.sections.len(), b.entries.len());
        for (i, e) in b.entries.iter().enumerate() {
            assert_eq!(r.section_data(i), Some(e.payload));
        }
    } else if let Err(e) = checked {
        assert!(!format!("{e}").is_empty());
    }
    let (cleared, acked) = ghes::clear_and_ack(&cfg, &mut m, p.paddr);
    assert_eq!(cleared, Cleared::Yes);
    let mut status = [0u8; 4];
    use kernel::apei::ghes::BlockAccess;
    m.read_bytes(BLK, &mut status).unwrap();
    assert_eq!(status, [0; 4]);
    match acked {
        Acked::NotV2 => assert!(!v2),
        Acked::Yes(v) => {
            let sh = off as u32;
            let want = (ack_before & preserve.checked_shl(sh).unwrap_or(0))
                | write.checked_shl(sh).unwrap_or(0);
            assert_eq!(v, want);
            let mut now = [0u8; 8];
            m.read_bytes(ACK, &mut now).unwrap();
            assert_eq!(u64::from_le_bytes(now), want);
        }
        Acked::Failed(e) => panic!("ack failed on plain memory: {e}"),
    }
});
