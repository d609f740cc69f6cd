//! The record-reader system calls (`/dev/mcelog` for ring-3 tasks) and the
//! two that triggers need: spawn a program with a record, offline a page.
//! Every user pointer goes through `usercopy` (range-checked, faults
//! caught); a bad one fails the call with a console line saying why, and
//! no record is lost by it (a failed read puts its records back).

use super::syscall::{copy_failed, task};
use super::usercopy;
use crate::abi::*;
use crate::apei::cper::LinuxMce;
use crate::mca::log::glue::readers::READERS;
use crate::mca::log::reader;
use alloc::vec::Vec;

/// Longest filter text, program name or key.
const TEXT_MAX: usize = reader::FILTER_MAX;

fn user_text(what: &str, ptr: u64, len: u64) -> Result<alloc::string::String, i64> {
    let t = task();
    if len as usize > TEXT_MAX {
        crate::warn!(
            "task {} {}: {what}: text of {len} bytes (at most {TEXT_MAX}): EINVAL",
            t.id,
            t.name
        );
        return Err(EINVAL);
    }
    let mut k = [0u8; TEXT_MAX];
    usercopy::copy_from_user(&mut k[..len as usize], ptr).map_err(|e| {
        crate::warn!(
            "task {} {}: {what}: bad buffer {ptr:#x} length {len}: EFAULT",
            t.id,
            t.name
        );
        copy_failed(what, e)
    })?;
    match core::str::from_utf8(&k[..len as usize]) {
        Ok(s) => Ok(s.into()),
        Err(_) => {
            crate::warn!(
                "task {} {}: {what}: text is not UTF-8: EINVAL",
                t.id,
                t.name
            );
            Err(EINVAL)
        }
    }
}

pub fn open(ptr: u64, len: u64) -> i64 {
    let text = match user_text("mce_open", ptr, len) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let t = task();
    let filter = match reader::parse_filter(&text) {
        Ok(f) => f,
        Err(e) => {
            crate::warn!("task {} {}: mce_open: {e}: EINVAL", t.id, t.name);
            return EINVAL;
        }
    };
    let opened = READERS
        .lock()
        .open(t.id, filter, crate::arch::x86_64::tsc::now_us());
    match opened {
        Ok(id) => {
            crate::info!(
                "mcelog: task {} {} opened reader {id} ({})",
                t.id,
                t.name,
                if text.trim().is_empty() {
                    "all"
                } else {
                    text.trim()
                }
            );
            id as i64
        }
        Err(e) => {
            crate::warn!("task {} {}: mce_open: {e}: ENOMEM", t.id, t.name);
            ENOMEM
        }
    }
}

fn bad_reader(call: &str, id: u64) -> i64 {
    let t = task();
    crate::warn!(
        "task {} {}: {call}: no reader {id} of this task: EBADF",
        t.id,
        t.name
    );
    EBADF
}

pub fn read(id: u64, buf: u64, len: u64) -> i64 {
    let t = task();
    if len < MCE_LEN as u64 {
        crate::warn!(
            "task {} {}: mce_read: buffer of {len} bytes holds no record ({MCE_LEN} each): EINVAL",
            t.id,
            t.name
        );
        return EINVAL;
    }
    if !crate::task::address_space::is_user_range(buf, len) {
        crate::warn!(
            "task {} {}: mce_read: buffer {buf:#x} length {len} is not in user space: EFAULT",
            t.id,
            t.name
        );
        return EFAULT;
    }
    let max = (len as usize / MCE_LEN).min(reader::QUEUE_LEN);
    let Some(recs) = READERS.lock().take(id as u32, t.id, max) else {
        return bad_reader("mce_read", id);
    };
    let mut bytes = Vec::with_capacity(recs.len() * MCE_LEN);
    for q in &recs {
        bytes.extend_from_slice(&LinuxMce::from_record(&q.rec).encode());
    }
    if let Err(e) = usercopy::copy_to_user(buf, &bytes) {
        // Nothing is lost: the records go back for the next read.
        READERS.lock().untake(id as u32, t.id, recs);
        crate::warn!(
            "task {} {}: mce_read: buffer {buf:#x} length {len} is not mapped writable: EFAULT (records kept)",
            t.id,
            t.name
        );
        return copy_failed("mce_read", e);
    }
    let now = crate::arch::x86_64::tsc::now_us();
    READERS.lock().taken(id as u32, t.id, &recs, now);
    recs.len() as i64
}

/// Blocks until the reader has records, the timeout passes or the task is
/// woken for another reason (a trigger it started ended): records waiting,
/// 0 if none. A delivery wakes it at once (`task::wake`), as records wake
/// /dev/mcelog's pollers; no periodic re-check.
pub fn poll(id: u64, ms: u64) -> i64 {
    use super::scheduler::{end_wait, prepare_wait, wait_current};
    let t = task();
    let deadline = crate::arch::x86_64::tsc::now_us() + ms.min(3_600_000) * 1000;
    loop {
        prepare_wait();
        match READERS.lock().queued(id as u32, t.id) {
            None => {
                end_wait();
                return bad_reader("mce_poll", id);
            }
            Some(n) if n > 0 => {
                end_wait();
                return n as i64;
            }
            Some(_) => {}
        }
        if t.kill_requested() || crate::arch::x86_64::tsc::now_us() >= deadline {
            end_wait();
            return 0;
        }
        if wait_current(deadline) {
            // Woken: records, or another reason (then 0 below, early).
            let n = READERS.lock().queued(id as u32, t.id).unwrap_or(0);
            return n as i64;
        }
    }
}

pub fn lost(id: u64) -> i64 {
    match READERS.lock().lost(id as u32, task().id) {
        Some(n) => n as i64,
        None => bad_reader("mce_lost", id),
    }
}

pub fn close(id: u64) -> i64 {
    if READERS.lock().close(id as u32, task().id) {
        0
    } else {
        bad_reader("mce_close", id)
    }
}

pub fn spawn(name: u64, len: u64, arg: u64) -> i64 {
    let name = match user_text("spawn", name, len) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let t = task();
    let mut block = [0u8; MCE_LEN];
    if arg != 0 {
        if let Err(e) = usercopy::copy_from_user(&mut block, arg) {
            crate::warn!(
                "task {} {}: spawn: bad argument block {arg:#x}: EFAULT",
                t.id,
                t.name
            );
            return copy_failed("spawn", e);
        }
    }
    let a: &[u8] = if arg != 0 { &block } else { &[] };
    match super::spawn_with(&name, None, a, t.id) {
        Ok(n) => n.id as i64,
        Err(e) => {
            crate::warn!("task {} {}: spawn: {e}: ENOENT", t.id, t.name);
            ENOENT
        }
    }
}

pub fn task_wait(child: u64, buf: u64, len: u64) -> i64 {
    let t = task();
    let outcome = match super::child_outcome(t.id, child as u32) {
        Ok(Some(o)) => o,
        Ok(None) => return 0,
        Err(()) => {
            crate::warn!(
                "task {} {}: task_wait: task {child} is not a child of this task: ECHILD",
                t.id,
                t.name
            );
            return ECHILD;
        }
    };
    let n = outcome.len().min(len as usize);
    if let Err(e) = usercopy::copy_to_user(buf, &outcome.as_bytes()[..n]) {
        // Nothing is lost: the end stays for the next task_wait.
        super::child_outcome_put_back(t.id, child as u32, outcome);
        return copy_failed("task_wait", e);
    }
    outcome.len() as i64
}

pub fn offline_page(pa: u64) -> i64 {
    use crate::mm::frame::{RetireResult, Retired};
    let t = task();
    if pa >= 1 << 52 {
        crate::warn!(
            "task {} {}: offline_page: {pa:#x} is not a physical address: EINVAL",
            t.id,
            t.name
        );
        return EINVAL;
    }
    let what = match crate::boot::FRAMES.lock().retire(pa, Retired::Offlined) {
        RetireResult::WasFree => "it was free and is taken out of the allocator",
        RetireResult::InUse => "it is in use; it will not be reused when freed",
        RetireResult::AlreadyRetired => "it was already out of use",
    };
    crate::warn!(
        "task {} {}: page {:#x} offlined: {what}",
        t.id,
        t.name,
        pa >> 12
    );
    0
}

pub fn getconf(key: u64, keylen: u64, buf: u64, buflen: u64) -> i64 {
    let key = match user_text("getconf", key, keylen) {
        Ok(k) => k,
        Err(e) => return e,
    };
    let c = crate::boot::config();
    let rate;
    let value: &str = match key.as_str() {
        "trigger.ce" => &c.trigger_ce,
        "trigger.uc" => &c.trigger_uc,
        "mcelogd.filter" => &c.mcelogd_filter,
        "trigger.rate" => {
            rate = alloc::format!("{}", c.trigger_rate);
            &rate
        }
        _ => return ENOENT,
    };
    let n = value.len().min(buflen as usize);
    if n > 0 {
        if let Err(e) = usercopy::copy_to_user(buf, &value.as_bytes()[..n]) {
            return copy_failed("getconf", e);
        }
    }
    value.len() as i64
}
