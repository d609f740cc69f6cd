//! Exception fixups for machine checks: code ranges (recoverable copy
//! routines) where consumed poison makes the operation fail with an error
//! instead of panicking the kernel, like Linux's `copy_mc` and its
//! exception table.

/// One recoverable range `[start, end)` and where to resume on a machine
/// check inside it.
#[derive(Clone, Copy, Debug)]
pub struct Fixup {
    pub start: u64,
    pub end: u64,
    pub resume: u64,
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

pub fn has_fixup(rip: u64) -> bool {
    lookup(rip).is_some()
}
