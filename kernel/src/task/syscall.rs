//! System calls through `int 0x80` (a DPL-3 interrupt gate, so they run
//! with interrupts off): the number in rax, arguments in rdi, rsi, rdx, the
//! result in rax (negative: an error number); every other register is
//! restored as the task left it.
//!
//! | rax | call | result |
//! |---|---|---|
//! | 1 | write(buf, len): a console line `task <id> <name>: <text>` (at most 256 bytes) | bytes written |
//! | 2 | exit(code) | — |
//! | 3 | yield() | 0 |
//! | 4 | sleep(ms) | 0 |
//! | 5 | map(): a zeroed page | its address |
//! | 6 | copyspin(buf, len, ms): test only, copy_from_user of `buf` again and again for `ms` | copies made |
//! | 7 | mce_open(filter, len): a record reader (`mca::log::reader` words) | reader id |
//! | 8 | mce_read(reader, buf, len): whole 128-byte `struct mce` records | records copied |
//! | 9 | mce_poll(reader, ms): block until records arrive (a delivery wakes it) | records waiting (0: timeout, a child ended, or a wake-up of the task meant for another of its readers) |
//! | 10 | mce_lost(reader) | records lost to a full queue |
//! | 11 | mce_close(reader) | 0 |
//! | 12 | spawn(name, len, arg): a built-in program, `arg` 0 or a 128-byte block | task id |
//! | 13 | offline_page(physical address) | 0 |
//! | 14 | getconf(key, keylen, buf, buflen): a boot key (`trigger.ce`, `trigger.uc`, `trigger.rate`) | value length |
//! | 15 | task_wait(child, buf, len): how a spawned task ended, as text (does not block; its end wakes mce_poll) | text length (0: still running) |
//! | 64 | copyoutspin(buf, len, ms): test only, copy_to_user into `buf` from a kernel frame (its physical address printed) again and again for `ms` | copies made |
//!
//! Numbers and error values are in [`crate::abi`].

use super::scheduler::{self, TrapFrame, NEXT_READY};
use super::usercopy::{self, CopyError};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

pub use crate::abi::*;

const WRITE_MAX: usize = 256;

pub fn dispatch(tf: &mut TrapFrame) {
    let r = match tf.rax {
        SYS_WRITE => write(tf.rdi, tf.rsi),
        SYS_EXIT => exit(tf.rdi),
        SYS_YIELD => {
            scheduler::yield_current(NEXT_READY);
            0
        }
        SYS_SLEEP => {
            scheduler::sleep_current(tf.rdi.min(3_600_000));
            0
        }
        SYS_MAP => map(),
        SYS_COPYSPIN => copyspin(tf.rdi, tf.rsi, tf.rdx),
        SYS_COPYOUTSPIN => copyoutspin(tf.rdi, tf.rsi, tf.rdx),
        SYS_MCE_OPEN => super::syscall_mce::open(tf.rdi, tf.rsi),
        SYS_MCE_READ => super::syscall_mce::read(tf.rdi, tf.rsi, tf.rdx),
        SYS_MCE_POLL => super::syscall_mce::poll(tf.rdi, tf.rsi),
        SYS_MCE_LOST => super::syscall_mce::lost(tf.rdi),
        SYS_MCE_CLOSE => super::syscall_mce::close(tf.rdi),
        SYS_SPAWN => super::syscall_mce::spawn(tf.rdi, tf.rsi, tf.rdx),
        SYS_OFFLINE_PAGE => super::syscall_mce::offline_page(tf.rdi),
        SYS_GETCONF => super::syscall_mce::getconf(tf.rdi, tf.rsi, tf.rdx, tf.r10),
        SYS_TASK_WAIT => super::syscall_mce::task_wait(tf.rdi, tf.rsi, tf.rdx),
        _ => ENOSYS,
    };
    tf.rax = r as u64;
}

pub(super) fn task() -> &'static super::Task {
    scheduler::current().expect("system call from a task")
}

/// Says what a failed copy means and gives the system call's error.
pub(super) fn copy_failed(what: &str, e: CopyError) -> i64 {
    let t = task();
    match e {
        CopyError::PoisonConsumed(pa) => crate::warn!(
            "task {} {}: {what}: copy_from_user consumed poison (machine check recovered{}); the system call fails with EFAULT",
            t.id,
            t.name,
            match pa {
                Some(pa) => alloc::format!(", physical {pa:#x}"),
                None => alloc::string::String::new(),
            }
        ),
        CopyError::Fault => crate::warn!(
            "task {} {}: {what}: page fault in the copy to or from user memory; the system call fails with EFAULT",
            t.id,
            t.name
        ),
        CopyError::BadAddress => {}
    }
    e.errno()
}

fn write(buf: u64, len: u64) -> i64 {
    let n = (len as usize).min(WRITE_MAX);
    let mut k = [0u8; WRITE_MAX];
    if let Err(e) = usercopy::copy_from_user(&mut k[..n], buf) {
        return copy_failed("write", e);
    }
    let t = task();
    let text: Vec<u8> = k[..n]
        .iter()
        .map(|&b| {
            if b == b'\n' || (0x20..0x7f).contains(&b) {
                b
            } else {
                b'.'
            }
        })
        .collect();
    // Only printable ASCII and newlines are left.
    let text = core::str::from_utf8(&text).unwrap_or("");
    for line in text.trim_end_matches('\n').split('\n') {
        crate::info!("task {} {}: {line}", t.id, t.name);
    }
    n as i64
}

fn exit(code: u64) -> i64 {
    task().exit_code.store(code, Ordering::SeqCst);
    scheduler::exit_current()
}

fn map() -> i64 {
    match task().map_data_page() {
        Ok(va) => va as i64,
        Err(_) => ENOMEM,
    }
}

/// The kernel source is a frame of its own, so its physical address (where
/// a test aims an error) is known and printed.
fn copyoutspin(buf: u64, len: u64, ms: u64) -> i64 {
    if len == 0 || len > 4096 || ms > 30_000 {
        return EINVAL;
    }
    let Some(pa) = super::address_space::zeroed_frame() else {
        return ENOMEM;
    };
    let t = task();
    crate::info!(
        "task {} {}: copyoutspin: copy_to_user from the kernel frame at physical {pa:#x} for {ms} ms",
        t.id,
        t.name
    );
    // SAFETY: a fresh frame of ours, mapped by the physical mapping, freed
    // below; nothing else refers to it.
    let src = unsafe {
        core::slice::from_raw_parts(crate::boot::phys_to_virt(pa) as *const u8, len as usize)
    };
    let r = match usercopy::copy_to_user_repeat(buf, src, ms) {
        Ok(n) => n as i64,
        Err(e) => {
            // Only a page fault ends it: poison in the kernel frame is not
            // recoverable here (the machine check panics).
            if e == CopyError::Fault {
                crate::warn!(
                    "task {} {}: copyoutspin: page fault in copy_to_user; the system call fails with EFAULT",
                    t.id,
                    t.name
                );
            }
            e.errno()
        }
    };
    crate::boot::FRAMES.lock().free(pa);
    r
}

fn copyspin(buf: u64, len: u64, ms: u64) -> i64 {
    if len == 0 || len > 4096 || ms > 30_000 {
        return EINVAL;
    }
    let mut k = vec![0u8; len as usize];
    match usercopy::copy_from_user_repeat(&mut k, buf, ms) {
        Ok(n) => n as i64,
        Err(e) => copy_failed("copyspin", e),
    }
}
