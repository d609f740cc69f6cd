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

use super::scheduler::{self, TrapFrame, NEXT_READY};
use super::usercopy::{self, CopyError};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

pub const SYS_WRITE: u64 = 1;
pub const SYS_EXIT: u64 = 2;
pub const SYS_YIELD: u64 = 3;
pub const SYS_SLEEP: u64 = 4;
pub const SYS_MAP: u64 = 5;
pub const SYS_COPYSPIN: u64 = 6;

const ENOMEM: i64 = -12;
const EINVAL: i64 = -22;
const ENOSYS: i64 = -38;

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
        _ => ENOSYS,
    };
    tf.rax = r as u64;
}

fn task() -> &'static super::Task {
    scheduler::current().expect("system call from a task")
}

/// Says what a failed copy means and gives the system call's error.
fn copy_failed(what: &str, e: CopyError) -> i64 {
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
            "task {} {}: {what}: page fault in copy_from_user; the system call fails with EFAULT",
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
