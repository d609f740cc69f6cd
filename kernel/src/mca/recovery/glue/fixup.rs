//! Exception fixups: code ranges (copy routines) where a fault makes the
//! operation fail with an error instead of the kernel dying, like Linux's
//! exception table. Only ranges marked `mc_safe` (Linux's
//! `EX_TYPE_DEFAULT_MCE_SAFE`, and `EX_TYPE_UACCESS` for copies *from*
//! user memory) also recover from a machine check: there the poison is in
//! memory the operation may lose. A copy *to* user memory reads kernel data;
//! poison there means the kernel's own data is corrupt, so Linux grades it
//! "in kernel" and panics, and so do we (its range is not `mc_safe`).

/// One recoverable range `[start, end)` and where to resume on a machine
/// check inside it.
#[derive(Clone, Copy, Debug)]
pub struct Fixup {
    pub start: u64,
    pub end: u64,
    pub resume: u64,
    /// A machine check (consumed poison) inside the range is recoverable,
    /// not only a page fault.
    pub mc_safe: bool,
}

/// The table; routines register their ranges at boot.
static TABLE: spin::RwLock<[Option<Fixup>; 8]> = spin::RwLock::new([None; 8]);

/// Registers a recoverable range. Returns false when the table is full.
pub fn register(f: Fixup) -> bool {
    let mut t = TABLE.write();
    match t.iter_mut().find(|e| e.is_none()) {
        Some(slot) => {
            *slot = Some(f);
            true
        }
        None => false,
    }
}

/// The fixup covering `rip`, if any. Called from #MC: `try_read` so a
/// machine check during registration never deadlocks (it finds no fixup).
pub fn lookup(rip: u64) -> Option<Fixup> {
    let t = TABLE.try_read()?;
    t.iter()
        .flatten()
        .find(|f| (f.start..f.end).contains(&rip))
        .copied()
}

/// True when a machine check at `rip` is recoverable: a fixup marked
/// `mc_safe` covers it (the #MC handler's `KernelRecoverable` context).
pub fn has_fixup(rip: u64) -> bool {
    lookup(rip).is_some_and(|f| f.mc_safe)
}
