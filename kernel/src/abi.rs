//! The system-call ABI shared by the kernel and its built-in user programs
//! (`task::programs`, whose assembly uses these numbers and offsets).
//! `int 0x80`: number in rax, arguments in rdi, rsi, rdx, r10; result in
//! rax, negative = -errno (Linux numbers).

pub const SYS_WRITE: u64 = 1;
pub const SYS_EXIT: u64 = 2;
pub const SYS_YIELD: u64 = 3;
pub const SYS_SLEEP: u64 = 4;
pub const SYS_MAP: u64 = 5;
pub const SYS_COPYSPIN: u64 = 6;
/// mce_open(filter, len): a record reader (filter words: `mca::log::reader`).
pub const SYS_MCE_OPEN: u64 = 7;
/// mce_read(reader, buf, len): whole `struct mce` records, oldest first.
pub const SYS_MCE_READ: u64 = 8;
/// mce_poll(reader, ms): blocks until a record is queued for the reader
/// (the delivery wakes it) or `ms` pass; records waiting (0: none).
pub const SYS_MCE_POLL: u64 = 9;
/// mce_lost(reader): records this reader lost to a full queue.
pub const SYS_MCE_LOST: u64 = 10;
/// mce_close(reader).
pub const SYS_MCE_CLOSE: u64 = 11;
/// spawn(name, len, arg): a built-in program with a 128-byte argument block
/// (a record) at rdx, or none if arg is 0; the new task's id.
pub const SYS_SPAWN: u64 = 12;
/// offline_page(physical address): take the frame out of use.
pub const SYS_OFFLINE_PAGE: u64 = 13;
/// getconf(key, keylen, buf, buflen): a boot key's value; its length.
pub const SYS_GETCONF: u64 = 14;
/// task_wait(child, buf, len): how a task this one spawned ended, as text
/// (`exited with code N`, `killed: <reason>`) into buf; its length, 0 while
/// it runs, ECHILD if it is no child of the caller. Does not block: an
/// ending child wakes its parent's mce_poll.
pub const SYS_TASK_WAIT: u64 = 15;
/// Test only: copy_to_user from a kernel frame again and again (a number
/// apart from the others so new calls do not collide with it).
pub const SYS_COPYOUTSPIN: u64 = 64;

pub const EPERM: i64 = -1;
pub const ENOENT: i64 = -2;
pub const EBADF: i64 = -9;
pub const ECHILD: i64 = -10;
pub const ENOMEM: i64 = -12;
pub const EFAULT: i64 = -14;
pub const EINVAL: i64 = -22;
pub const ENOSYS: i64 = -38;

/// Linux's `struct mce` (uapi asm/mce.h): size and the offsets mcelogd reads.
pub const MCE_LEN: usize = 128;
pub const MCE_STATUS: usize = 0;
pub const MCE_MISC: usize = 8;
pub const MCE_ADDR: usize = 16;
pub const MCE_SEVERITY: usize = 58;
pub const MCE_BANK: usize = 65;
pub const MCE_EXTCPU: usize = 68;
/// MCA_SYND and MCA_IPID of AMD Scalable MCA banks (0 elsewhere).
pub const MCE_SYND: usize = 88;
pub const MCE_IPID: usize = 96;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apei::cper::LinuxMce;
    use crate::mca::record::{MceRecord, Severity};

    #[test]
    fn offsets_match_struct_mce() {
        let rec = MceRecord {
            status: 0x9c00_0000_0001_0090,
            addr: 0x1234_5000,
            misc: 0x8c,
            bank: 7,
            cpu: 3,
            severity: Severity::Uncorrected,
            synd: 0x5a00_0000_0017,
            ipid: 0x0000_0096_0015_0000,
            ..Default::default()
        };
        let b = LinuxMce::from_record(&rec).encode();
        assert_eq!(b.len(), MCE_LEN);
        let q = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(q(MCE_STATUS), rec.status);
        assert_eq!(q(MCE_ADDR), rec.addr);
        assert_eq!(q(MCE_MISC), rec.misc);
        assert_eq!(q(MCE_SYND), rec.synd);
        assert_eq!(q(MCE_IPID), rec.ipid);
        assert_eq!(b[MCE_SEVERITY], 5);
        assert_eq!(b[MCE_BANK], 7);
        assert_eq!(
            u32::from_le_bytes(b[MCE_EXTCPU..MCE_EXTCPU + 4].try_into().unwrap()),
            3
        );
    }
}
