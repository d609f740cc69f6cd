//! User address spaces: one PML4 per task that shares every kernel entry.
//!
//! With bootloader 0.11 the kernel and the physical-memory mapping live in
//! the LOWER half (the kernel at PML4 index 1, the physical mapping at a
//! dynamic slot), so there is no fixed "upper half for the kernel" split.
//! At boot [`init`] scans the kernel's PML4 and gives user space the highest
//! empty slot below 256 (512 GiB, canonical, never used by the kernel).
//! A task's PML4 is a copy of the kernel's 512 entries (with the user bit
//! cleared, so ring 3 reaches none of them) plus that one slot, whose
//! tables belong to the task. The kernel adds no PML4 entries after boot,
//! so the copies stay true.
//!
//! Page-table frames and user pages come from the frame allocator and are
//! written through the physical-memory mapping.

use crate::boot::{phys_to_virt, FRAMES};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const HUGE: u64 = 1 << 7;
const NO_EXECUTE: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// The PML4 slot given to user space (0 until [`init`]).
static USER_SLOT: AtomicU64 = AtomicU64::new(0);
/// The kernel's PML4 (physical), as loaded at boot.
static KERNEL_PML4: AtomicU64 = AtomicU64::new(0);
/// EFER.NXE is on: data pages can be mapped non-executable.
static NX: AtomicU64 = AtomicU64::new(0);

/// How a user page may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read and execute (program text).
    Code,
    /// Read and write, never execute (stack, data).
    Data,
}

fn entry_ptr(table: u64, index: u64) -> *mut u64 {
    (phys_to_virt(table) + index * 8) as *mut u64
}

fn read_entry(table: u64, index: u64) -> u64 {
    // SAFETY: `table` is a page-table frame (the kernel's PML4 or one this
    // module allocated), reached through the physical mapping; index < 512.
    unsafe { core::ptr::read_volatile(entry_ptr(table, index)) }
}

fn write_entry(table: u64, index: u64, value: u64) {
    // SAFETY: as in `read_entry`; only tables of a user address space (never
    // the kernel's own) are written.
    unsafe { core::ptr::write_volatile(entry_ptr(table, index), value) }
}

/// A zeroed frame from the allocator.
pub fn zeroed_frame() -> Option<u64> {
    let f = FRAMES.lock().alloc()?;
    // SAFETY: a fresh frame, ours alone, mapped by the physical mapping.
    unsafe { core::ptr::write_bytes(phys_to_virt(f) as *mut u8, 0, 4096) };
    Some(f)
}

/// Picks the user slot. Call once on the bootstrap processor, after the
/// frame allocator and before any task exists. Returns the slot.
pub fn init() -> Option<u64> {
    let (frame, _) = x86_64::registers::control::Cr3::read();
    let pml4 = frame.start_address().as_u64();
    KERNEL_PML4.store(pml4, Ordering::SeqCst);
    let efer = x86_64::registers::model_specific::Efer::read();
    if efer.contains(x86_64::registers::model_specific::EferFlags::NO_EXECUTE_ENABLE) {
        NX.store(NO_EXECUTE, Ordering::SeqCst);
    }
    let slot = (1..256u64)
        .rev()
        .find(|&i| read_entry(pml4, i) & PRESENT == 0)?;
    USER_SLOT.store(slot, Ordering::SeqCst);
    Some(slot)
}

/// The kernel's PML4 (physical).
pub fn kernel_pml4() -> u64 {
    KERNEL_PML4.load(Ordering::Relaxed)
}

/// The first address of user space.
pub fn user_base() -> u64 {
    USER_SLOT.load(Ordering::Relaxed) << 39
}

/// True when `[va, va + len)` lies inside user space.
pub fn is_user_range(va: u64, len: u64) -> bool {
    let base = user_base();
    base != 0
        && va >= base
        && va
            .checked_add(len)
            .is_some_and(|end| end <= base + (1 << 39))
}

/// Whether EFER.NXE is on.
pub fn has_nx() -> bool {
    NX.load(Ordering::Relaxed) != 0
}

fn index(va: u64, level: u32) -> u64 {
    (va >> (12 + 9 * (level - 1))) & 511
}

/// One task's page tables.
pub struct AddressSpace {
    pml4: u64,
    /// Every page-table frame of the user slot (PDPT, PDs, PTs), to free.
    tables: Vec<u64>,
}

impl AddressSpace {
    /// A PML4 with the kernel's entries (user bit cleared) and an empty
    /// user slot.
    pub fn new() -> Option<Self> {
        let kernel = kernel_pml4();
        let pml4 = zeroed_frame()?;
        for i in 0..512 {
            write_entry(pml4, i, read_entry(kernel, i) & !USER);
        }
        Some(AddressSpace {
            pml4,
            tables: Vec::new(),
        })
    }

    /// The PML4's physical address (for CR3).
    pub fn root(&self) -> u64 {
        self.pml4
    }

    /// The table below `table[idx]`, created when `create` is set.
    fn next(&mut self, table: u64, idx: u64, create: bool) -> Option<u64> {
        let e = read_entry(table, idx);
        if e & PRESENT != 0 {
            if e & HUGE != 0 {
                return None;
            }
            return Some(e & ADDR_MASK);
        }
        if !create {
            return None;
        }
        let t = zeroed_frame()?;
        self.tables.push(t);
        write_entry(table, idx, t | PRESENT | WRITABLE | USER);
        Some(t)
    }

    /// The last-level table covering `va`.
    fn walk(&mut self, va: u64, create: bool) -> Option<u64> {
        if self.pml4 == 0 || !is_user_range(va, 4096) {
            return None;
        }
        let mut t = self.pml4;
        for level in (2..=4).rev() {
            t = self.next(t, index(va, level), create)?;
        }
        Some(t)
    }

    /// Maps the user page `va` to frame `pa`.
    pub fn map(&mut self, va: u64, pa: u64, access: Access) -> Result<(), &'static str> {
        let pt = self.walk(va, true).ok_or("no memory for page tables")?;
        let i = index(va, 1);
        if read_entry(pt, i) & PRESENT != 0 {
            return Err("address already mapped");
        }
        let flags = match access {
            Access::Code => PRESENT | USER,
            Access::Data => PRESENT | USER | WRITABLE | NX.load(Ordering::Relaxed),
        };
        write_entry(pt, i, (pa & ADDR_MASK) | flags);
        Ok(())
    }

    /// Removes the mapping of `va`; returns the frame it mapped. The caller
    /// flushes TLBs where the address space may be live.
    pub fn unmap(&mut self, va: u64) -> Option<u64> {
        let pt = self.walk(va, false)?;
        let i = index(va, 1);
        let e = read_entry(pt, i);
        if e & PRESENT == 0 {
            return None;
        }
        write_entry(pt, i, 0);
        Some(e & ADDR_MASK)
    }

    /// The frame `va` maps, if any.
    pub fn translate(&mut self, va: u64) -> Option<u64> {
        let pt = self.walk(va, false)?;
        let e = read_entry(pt, index(va, 1));
        (e & PRESENT != 0).then_some(e & ADDR_MASK)
    }

    /// Frees the page-table frames (not the pages they map: the task owns
    /// those). The address space is empty afterwards; it must not be any
    /// CPU's CR3.
    pub fn destroy(&mut self) {
        let mut frames = FRAMES.lock();
        for t in self.tables.drain(..) {
            frames.free(t);
        }
        if self.pml4 != 0 {
            frames.free(self.pml4);
            self.pml4 = 0;
        }
    }
}
