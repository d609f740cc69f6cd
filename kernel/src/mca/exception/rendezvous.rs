//! The Monarch rendezvous of a broadcast machine check.
//!
//! A broadcast #MC enters the handler on every online CPU at once. The CPUs
//! meet here so that banks shared between them are logged once and so that a
//! single CPU (the Monarch, the first to arrive) sees the whole picture before
//! anyone returns to interrupted code. The phases follow Linux's
//! `do_machine_check` (callin, ordered bank scan, reign); the generation gate
//! follows Xen's machine-check barriers.
//!
//! Calling sequence on each CPU (no allocation, no locks, every wait bounded
//! as described under "Timeouts"):
//!
//! ```text
//! let order = rv.start(cpu, &online, no_way_out, clock, timeout)?;  // phase 1
//! rv.wait_turn(&order, clock, timeout)?;                            // phase 2
//! /* scan this CPU's banks */
//! rv.report(&order, worst_of_my_banks);
//! let outcome = rv.end(order, clock, timeout)?;                     // phase 3
//! ```
//!
//! On `Err(Timeout)` from `wait_turn` the CPU should still scan, `report` and
//! `end` (the turn is passed on regardless). `start` and `end` leave the
//! rendezvous themselves when they return, whatever the result.
//!
//! Generations: the state of one rendezvous (call-in count, scan turn, worst
//! severity, no-way-out votes) is reset only by the last participant to leave,
//! and arrivals are refused ("the gate is closed") from the moment call-in is
//! complete (or given up) until that reset. So a fast CPU that takes a second
//! #MC while a slow one is still reading the first decision waits at the gate
//! instead of corrupting the counters, and rendezvous N+1 cannot see N's state.
//!
//! Timeouts: every wait runs until the awaited event or until no CPU has
//! made progress (arrived, reported its scan, published the decision, left)
//! for `timeout_us` of the waiting CPU's own running time, and never past
//! `cap_us` (see [`Rendezvous::set_cap_us`]) of wall time after the first
//! arrival. So on bare metal a CPU that never comes is named `timeout_us`
//! after the last CPU that did come, and the whole rendezvous ends within
//! `cap_us`. While CPUs keep arriving or scanning, however slowly, it does
//! not give up on them; and time the waiter itself was not running (a host
//! that runs 64 vCPUs on 2 cores deschedules them for long stretches: see
//! [`Watchdog`]) does not count, which is how Linux's timeouts, counted in
//! spin steps, survive such hosts too, but Linux has no bound in time.

use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};

use crate::mca::record::Severity;
use crate::time::{Clock, Watchdog};

use crate::cpuset::AtomicCpuSet;
pub use crate::cpuset::CpuSet;
use crate::cpuset::MAX_CPUS;

/// Extra time given to CPUs that were counted in but have not yet published
/// their arrival bit when call-in is given up, so they are not named missing.
const PUBLISH_GRACE_US: u64 = 100;

// Control word: call-in count, leave count and the closed gate in one atomic,
// so "last to leave" and "no more arrivals" are decided by single operations.
// Each count has 20 bits (up to 1M CPUs), far above MAX_CPUS, so one
// fetch_add can never carry into the next field.
const COUNT_BITS: u32 = 20;
const CALLIN_MASK: u64 = (1 << COUNT_BITS) - 1;
const _: () = assert!(
    MAX_CPUS < (1 << COUNT_BITS),
    "the call-in and leave counts are 20 bits"
);
const LEFT_SHIFT: u32 = COUNT_BITS;
const LEFT_ONE: u64 = 1 << LEFT_SHIFT;
const CLOSED: u64 = 1 << (2 * COUNT_BITS);

const fn callin(ctrl: u64) -> u32 {
    (ctrl & CALLIN_MASK) as u32
}

const fn left(ctrl: u64) -> u32 {
    ((ctrl >> LEFT_SHIFT) & CALLIN_MASK) as u32
}

/// Worst severity and its CPU packed so one `fetch_max` keeps both.
const fn pack_worst(severity: Severity, cpu: u32) -> u64 {
    ((severity as u64) << 32) | (cpu as u64 + 1)
}

fn unpack_worst(packed: u64) -> (Severity, Option<u32>) {
    if packed == 0 {
        return (Severity::NoError, None);
    }
    // An unknown grade can only come from memory corruption: assume the worst.
    let severity = Severity::from_u8((packed >> 32) as u8).unwrap_or(Severity::Panic);
    let cpu = ((packed & 0xffff_ffff) as u32).checked_sub(1);
    (severity, cpu)
}

/// One CPU's view of progress during one wait.
struct Watch {
    seen: u64,
    dog: Watchdog,
}

/// A CPU's place in one rendezvous, handed out by [`Rendezvous::start`].
///
/// Not `Clone`: [`Rendezvous::end`] consumes it, so a CPU leaves exactly once.
#[derive(Debug, PartialEq, Eq)]
pub struct Order {
    cpu: u32,
    position: u32,
    generation: u64,
}

impl Order {
    /// The CPU this order belongs to.
    pub const fn cpu(&self) -> u32 {
        self.cpu
    }
    /// Arrival position, 1 for the first arrival.
    pub const fn position(&self) -> u32 {
        self.position
    }
    /// Which rendezvous this is (counts up from 1).
    pub const fn generation(&self) -> u64 {
        self.generation
    }
    /// The first arrival decides for everyone.
    pub const fn is_monarch(&self) -> bool {
        self.position == 1
    }
}

/// What the Monarch saw; the caller applies its own policy to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
    pub generation: u64,
    /// Highest severity any participant reported.
    pub worst: Severity,
    /// The CPU that reported `worst` (None when nobody found an error, which
    /// for a broadcast uncorrected #MC means "unknown source").
    pub worst_cpu: Option<u32>,
    /// Some CPU found an error that forbids returning to interrupted code.
    pub global_no_way_out: bool,
    /// CPUs that took part.
    pub participants: CpuSet,
    /// The Monarch, when known.
    pub monarch: Option<u32>,
}

/// The wait that ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The previous rendezvous still had CPUs inside (they are `missing`).
    Gate,
    /// Not every online CPU called in.
    Arrive,
    /// An earlier CPU held the scan turn too long.
    Turn,
    /// The Monarch gave up waiting for some CPUs to finish scanning.
    Finish,
    /// The Monarch never released this CPU.
    Release,
    /// The CPU number is not below [`MAX_CPUS`].
    BadCpu,
}

/// A wait ran out. `missing` names the CPUs that did not arrive, did not
/// finish, or did not release; `outcome` is what was known so far (e.g. a
/// panic-level `worst` tells the caller to panic as Linux does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout {
    pub phase: Phase,
    pub missing: CpuSet,
    pub outcome: Outcome,
}

/// Counters for benchmarks and diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stats {
    /// Rendezvous that every participant has left.
    pub completed: u64,
    /// Of those, how many saw a timeout on some CPU.
    pub timed_out: u64,
    /// First arrival to last exit of the last completed rendezvous.
    pub last_duration_us: u64,
    pub max_duration_us: u64,
    /// Who took part in the last completed rendezvous.
    pub last_participants: CpuSet,
}

/// Shared state of the machine-check rendezvous; one static instance serves
/// all CPUs.
pub struct Rendezvous {
    ctrl: AtomicU64,
    /// Current generation, bumped when the last participant leaves.
    generation: AtomicU64,
    arrived: AtomicCpuSet,
    finished: AtomicCpuSet,
    left: AtomicCpuSet,
    /// Position whose turn it is to scan.
    executing: AtomicU32,
    /// Sum of no-way-out votes (Linux's `global_nwo`).
    nwo: AtomicU32,
    worst: AtomicU64,
    /// Generation whose decision has been published.
    released: AtomicU64,
    decision_worst: AtomicU64,
    decision_nwo: AtomicBool,
    decision_missing: AtomicCpuSet,
    timed_out: AtomicBool,
    /// When the first CPU of this generation arrived (microseconds of the
    /// callers' clock), and a count of events others wait for (arrivals,
    /// reports, the decision, departures).
    first_arrival_us: AtomicU64,
    progress: AtomicU64,
    cap_us: AtomicU64,
    cpu_position: [AtomicU32; MAX_CPUS],
    arrival_us: [AtomicU64; MAX_CPUS],
    exit_us: [AtomicU64; MAX_CPUS],
    completed: AtomicU64,
    timeouts: AtomicU64,
    last_duration_us: AtomicU64,
    max_duration_us: AtomicU64,
    last_participants: AtomicCpuSet,
}

impl Default for Rendezvous {
    fn default() -> Self {
        Self::new()
    }
}

impl Rendezvous {
    pub const fn new() -> Self {
        Self {
            ctrl: AtomicU64::new(0),
            generation: AtomicU64::new(1),
            arrived: AtomicCpuSet::new(),
            finished: AtomicCpuSet::new(),
            left: AtomicCpuSet::new(),
            executing: AtomicU32::new(1),
            nwo: AtomicU32::new(0),
            worst: AtomicU64::new(0),
            released: AtomicU64::new(0),
            decision_worst: AtomicU64::new(0),
            decision_nwo: AtomicBool::new(false),
            decision_missing: AtomicCpuSet::new(),
            timed_out: AtomicBool::new(false),
            first_arrival_us: AtomicU64::new(0),
            progress: AtomicU64::new(0),
            cap_us: AtomicU64::new(u64::MAX),
            cpu_position: [const { AtomicU32::new(0) }; MAX_CPUS],
            arrival_us: [const { AtomicU64::new(0) }; MAX_CPUS],
            exit_us: [const { AtomicU64::new(0) }; MAX_CPUS],
            completed: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            last_duration_us: AtomicU64::new(0),
            max_duration_us: AtomicU64::new(0),
            last_participants: AtomicCpuSet::new(),
        }
    }

    /// Bytes of rendezvous state per CPU slot (its per-CPU arrays and CPU
    /// sets are sized MAX_CPUS).
    pub const fn per_cpu_bytes(&self) -> usize {
        core::mem::size_of::<Self>().div_ceil(MAX_CPUS)
    }

    /// The longest a rendezvous may last from its first arrival, however much
    /// progress its CPUs make (default: no bound beyond the no-progress
    /// timeout).
    pub fn set_cap_us(&self, cap_us: u64) {
        self.cap_us.store(cap_us.max(1), SeqCst);
    }

    /// Notes that this CPU did something the others wait for.
    fn progress(&self) {
        self.progress.fetch_add(1, SeqCst);
    }

    /// Starts watching for progress, for one wait.
    fn watch(&self, clock: &impl Clock, timeout_us: u64) -> Watch {
        let now = clock.now_us();
        let cap = self.cap_us.load(SeqCst);
        let mut dog = Watchdog::new(now, timeout_us, cap);
        if let t @ 1.. = self.first_arrival_us.load(SeqCst) {
            dog.cap_from(t, cap);
        }
        Watch {
            seen: self.progress.load(SeqCst),
            dog,
        }
    }

    /// True once no CPU has made progress for `timeout_us` of this CPU's
    /// running time while `w` watched, or the cap from the first arrival
    /// has passed (see [`Watchdog`]).
    fn expired(&self, w: &mut Watch, clock: &impl Clock) -> bool {
        let p = self.progress.load(SeqCst);
        let progressed = p != w.seen;
        w.seen = p;
        if let t @ 1.. = self.first_arrival_us.load(SeqCst) {
            w.dog.cap_from(t, self.cap_us.load(SeqCst));
        }
        w.dog.expired(clock.now_us(), progressed)
    }

    /// Spins until `done` holds or the wait [`expired`](Self::expired); true
    /// when done.
    fn wait(&self, clock: &impl Clock, timeout_us: u64, mut done: impl FnMut() -> bool) -> bool {
        let mut w = self.watch(clock, timeout_us);
        loop {
            if done() {
                return true;
            }
            if self.expired(&mut w, clock) {
                return done();
            }
            spin_loop();
        }
    }

    /// Phase 1: call in and wait for every CPU in `online` (this CPU counts
    /// even if absent from the mask). All CPUs must pass the same mask.
    ///
    /// `no_way_out` is this CPU's own verdict from grading its banks. On
    /// timeout the call-in is closed for everyone, all who did arrive get the
    /// same `Timeout { phase: Arrive, missing }`, and this CPU has left: it
    /// should handle its banks alone (or panic, by policy).
    pub fn start(
        &self,
        cpu: u32,
        online: &CpuSet,
        no_way_out: bool,
        clock: &impl Clock,
        timeout_us: u64,
    ) -> Result<Order, Timeout> {
        if cpu as usize >= MAX_CPUS {
            return Err(Timeout {
                phase: Phase::BadCpu,
                missing: CpuSet::EMPTY,
                outcome: Outcome::default(),
            });
        }
        let expected_set = online.union(&CpuSet::single(cpu));
        let expected = expected_set.count();
        let mut w = self.watch(clock, timeout_us);

        let position = loop {
            let c = self.ctrl.load(SeqCst);
            if c & CLOSED != 0 {
                if self.expired(&mut w, clock) {
                    return Err(Timeout {
                        phase: Phase::Gate,
                        missing: self.arrived.load().difference(&self.left.load()),
                        outcome: Outcome::default(),
                    });
                }
                spin_loop();
                continue;
            }
            let n = callin(c) + 1;
            let next = if n >= expected || n as usize >= MAX_CPUS {
                (c + 1) | CLOSED
            } else {
                c + 1
            };
            if self
                .ctrl
                .compare_exchange_weak(c, next, SeqCst, SeqCst)
                .is_ok()
            {
                break n;
            }
        };

        // Everything below belongs to this generation: the gate cannot reopen
        // before this CPU leaves.
        let generation = self.generation.load(SeqCst);
        let now = clock.now_us();
        if position == 1 {
            self.first_arrival_us.store(now.max(1), SeqCst);
        }
        self.cpu_position[cpu as usize].store(position, SeqCst);
        self.arrival_us[cpu as usize].store(now, SeqCst);
        if no_way_out {
            self.nwo.fetch_add(1, SeqCst);
        }
        self.arrived.insert(cpu);
        self.progress();
        let order = Order {
            cpu,
            position,
            generation,
        };

        loop {
            let c = self.ctrl.load(SeqCst);
            if c & CLOSED != 0 {
                let n = callin(c);
                let grace = clock.now_us().saturating_add(PUBLISH_GRACE_US);
                while self.arrived.load().count() < n && clock.now_us() < grace {
                    spin_loop();
                }
                if n >= expected {
                    return Ok(order);
                }
                let missing = expected_set.difference(&self.arrived.load());
                self.timed_out.store(true, SeqCst);
                let outcome = self.snapshot(generation);
                self.leave(cpu, clock.now_us());
                return Err(Timeout {
                    phase: Phase::Arrive,
                    missing,
                    outcome,
                });
            }
            if self.expired(&mut w, clock) {
                // Close the call-in; losing the race means someone else closed
                // it or the last CPU just arrived: either way look again.
                let _ = self.ctrl.compare_exchange(c, c | CLOSED, SeqCst, SeqCst);
                continue;
            }
            spin_loop();
        }
    }

    /// Phase 2: wait until it is this CPU's turn to scan its banks, so banks
    /// shared between CPUs are logged by the first to look.
    ///
    /// On timeout `missing` names the CPU holding the turn; the caller should
    /// scan and [`report`](Self::report) anyway.
    pub fn wait_turn(
        &self,
        order: &Order,
        clock: &impl Clock,
        timeout_us: u64,
    ) -> Result<(), Timeout> {
        if self.wait(clock, timeout_us, || {
            self.executing.load(SeqCst) >= order.position
        }) {
            return Ok(());
        }
        self.timed_out.store(true, SeqCst);
        let holder = self.executing.load(SeqCst);
        let pending = self.arrived.load().difference(&self.finished.load());
        let mut missing = self.cpus_where(&pending, |p| p == holder);
        if missing.is_empty() {
            missing = self.cpus_where(&pending, |p| p < order.position);
        }
        Err(Timeout {
            phase: Phase::Turn,
            missing,
            outcome: self.snapshot(order.generation),
        })
    }

    /// True when some CPU that called in voted no-way-out. Complete once
    /// [`start`](Self::start) returned `Ok` (every CPU had called in), so
    /// the bank scan can use the global vote, as Linux's `mce_start` hands
    /// it out.
    pub fn global_no_way_out(&self) -> bool {
        self.nwo.load(SeqCst) != 0
    }

    /// Phase 2 done: record this CPU's worst severity and pass the turn on.
    pub fn report(&self, order: &Order, severity: Severity) {
        if severity > Severity::NoError {
            self.worst
                .fetch_max(pack_worst(severity, order.cpu), SeqCst);
        }
        self.finished.insert(order.cpu);
        // fetch_max, not increment: a CPU that timed out waiting for its turn
        // still reports, and a late report from the stuck one changes nothing.
        self.executing.fetch_max(order.position + 1, SeqCst);
        self.progress();
    }

    /// Phase 3: the Monarch waits for every participant to report, reigns
    /// (publishes the worst severity and the no-way-out vote) and releases
    /// the others; the others wait for that decision. Everyone then leaves.
    ///
    /// A CPU that did not `report` is taken to have found nothing. When the
    /// Monarch gave up on some CPUs, every participant gets the same
    /// `Timeout { phase: Finish, missing }` with the decision as `outcome`.
    pub fn end(
        &self,
        order: Order,
        clock: &impl Clock,
        timeout_us: u64,
    ) -> Result<Outcome, Timeout> {
        let result = self.finish(&order, clock, timeout_us);
        self.leave(order.cpu, clock.now_us());
        result
    }

    /// Phase 3 without leaving.
    fn finish(
        &self,
        order: &Order,
        clock: &impl Clock,
        timeout_us: u64,
    ) -> Result<Outcome, Timeout> {
        if !self.finished.contains(order.cpu) {
            self.report(order, Severity::NoError);
        }
        if order.is_monarch() {
            let n = callin(self.ctrl.load(SeqCst));
            let all = self.wait(clock, timeout_us, || self.finished.load().count() >= n);
            let missing = if all {
                CpuSet::EMPTY
            } else {
                self.timed_out.store(true, SeqCst);
                self.arrived.load().difference(&self.finished.load())
            };
            self.decision_worst.store(self.worst.load(SeqCst), SeqCst);
            self.decision_nwo.store(self.nwo.load(SeqCst) != 0, SeqCst);
            self.decision_missing.store(&missing);
            self.released.store(order.generation, SeqCst);
            self.progress();
            return self.decision(order.generation);
        }
        if self.wait(clock, timeout_us, || {
            self.released.load(SeqCst) == order.generation
        }) {
            return self.decision(order.generation);
        }
        self.timed_out.store(true, SeqCst);
        Err(Timeout {
            phase: Phase::Release,
            missing: self.cpus_where(&self.arrived.load(), |p| p == 1),
            outcome: self.snapshot(order.generation),
        })
    }

    /// The Monarch's published decision for `generation`.
    fn decision(&self, generation: u64) -> Result<Outcome, Timeout> {
        let (worst, worst_cpu) = unpack_worst(self.decision_worst.load(SeqCst));
        let participants = self.arrived.load();
        let outcome = Outcome {
            generation,
            worst,
            worst_cpu,
            global_no_way_out: self.decision_nwo.load(SeqCst),
            participants,
            monarch: self.monarch(&participants),
        };
        match self.decision_missing.load() {
            missing if missing.is_empty() => Ok(outcome),
            missing => Err(Timeout {
                phase: Phase::Finish,
                missing,
                outcome,
            }),
        }
    }

    /// What is known so far, for timeouts before a decision exists.
    fn snapshot(&self, generation: u64) -> Outcome {
        let (worst, worst_cpu) = unpack_worst(self.worst.load(SeqCst));
        let participants = self.arrived.load();
        Outcome {
            generation,
            worst,
            worst_cpu,
            global_no_way_out: self.nwo.load(SeqCst) != 0,
            participants,
            monarch: self.monarch(&participants),
        }
    }

    fn monarch(&self, participants: &CpuSet) -> Option<u32> {
        self.cpus_where(participants, |p| p == 1).first()
    }

    /// CPUs of `among` whose arrival position satisfies `pred`.
    fn cpus_where(&self, among: &CpuSet, pred: impl Fn(u32) -> bool) -> CpuSet {
        among
            .iter()
            .filter(|&cpu| pred(self.cpu_position[cpu as usize].load(SeqCst)))
            .collect()
    }

    /// Counts this CPU out; the last one out resets the state and opens the
    /// gate for the next generation, so no reset can race with a participant.
    fn leave(&self, cpu: u32, now_us: u64) {
        self.exit_us[cpu as usize].store(now_us, SeqCst);
        self.left.insert(cpu);
        self.progress();
        let prev = self.ctrl.fetch_add(LEFT_ONE, SeqCst);
        if left(prev) + 1 >= callin(prev) {
            self.reopen();
        }
    }

    fn reopen(&self) {
        let participants = self.arrived.load();
        let mut first = u64::MAX;
        let mut last = 0;
        for cpu in participants.iter() {
            let cpu = cpu as usize;
            first = first.min(self.arrival_us[cpu].load(SeqCst));
            last = last.max(self.exit_us[cpu].load(SeqCst));
        }
        let duration = last.saturating_sub(first);
        self.last_duration_us.store(duration, SeqCst);
        self.max_duration_us.fetch_max(duration, SeqCst);
        self.last_participants.store(&participants);
        self.completed.fetch_add(1, SeqCst);
        if self.timed_out.swap(false, SeqCst) {
            self.timeouts.fetch_add(1, SeqCst);
        }

        self.arrived.clear();
        self.finished.clear();
        self.left.clear();
        self.nwo.store(0, SeqCst);
        self.worst.store(0, SeqCst);
        self.executing.store(1, SeqCst);
        self.first_arrival_us.store(0, SeqCst);
        self.generation.fetch_add(1, SeqCst);
        self.ctrl.store(0, SeqCst);
    }

    /// The generation the next arrival will join (or the one in progress).
    pub fn generation(&self) -> u64 {
        self.generation.load(SeqCst)
    }

    /// When `cpu` arrived in the last completed rendezvous.
    pub fn arrival_us(&self, cpu: u32) -> Option<u64> {
        self.took_part(cpu)
            .then(|| self.arrival_us[cpu as usize].load(SeqCst))
    }

    /// When `cpu` left the last completed rendezvous.
    pub fn exit_us(&self, cpu: u32) -> Option<u64> {
        self.took_part(cpu)
            .then(|| self.exit_us[cpu as usize].load(SeqCst))
    }

    fn took_part(&self, cpu: u32) -> bool {
        self.last_participants.contains(cpu)
    }

    /// First arrival to last exit of the last completed rendezvous.
    pub fn last_duration_us(&self) -> u64 {
        self.last_duration_us.load(SeqCst)
    }

    pub fn stats(&self) -> Stats {
        Stats {
            completed: self.completed.load(SeqCst),
            timed_out: self.timeouts.load(SeqCst),
            last_duration_us: self.last_duration_us.load(SeqCst),
            max_duration_us: self.max_duration_us.load(SeqCst),
            last_participants: self.last_participants.load(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier, Mutex};
    use std::time::{Duration, Instant};
    use std::vec::Vec;

    /// Wall clock for threads. It yields on every read: the waits read the
    /// clock each spin, and the host may have fewer cores than test threads.
    struct WallClock(Instant);

    impl Clock for WallClock {
        fn now_us(&self) -> u64 {
            std::thread::yield_now();
            self.0.elapsed().as_micros() as u64
        }
    }

    fn clock() -> WallClock {
        WallClock(Instant::now())
    }

    const LONG: u64 = 10_000_000;

    fn mask(n: u32) -> CpuSet {
        CpuSet::first_n(n as usize)
    }

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[derive(Debug)]
    struct Round {
        cpu: u32,
        generation: u64,
        position: u32,
        severity: Severity,
        nwo: bool,
        outcome: Outcome,
    }

    fn run_rounds(cpus: u32, rounds: usize) {
        let rv = Rendezvous::new();
        let clock = clock();
        let scans: Mutex<Vec<(u64, u32)>> = Mutex::new(Vec::new());
        let results: Mutex<Vec<Round>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for cpu in 0..cpus {
                let (rv, clock, scans, results) = (&rv, &clock, &scans, &results);
                s.spawn(move || {
                    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ ((cpu as u64 + 1) * 0x1234_5678);
                    for _ in 0..rounds {
                        let severity = Severity::from_u8((xorshift(&mut seed) % 8) as u8).unwrap();
                        let nwo = xorshift(&mut seed).is_multiple_of(16);
                        let order = rv.start(cpu, &mask(cpus), nwo, clock, LONG).unwrap();
                        rv.wait_turn(&order, clock, LONG).unwrap();
                        scans
                            .lock()
                            .unwrap()
                            .push((order.generation(), order.position()));
                        rv.report(&order, severity);
                        let (generation, position) = (order.generation(), order.position());
                        let outcome = rv.end(order, clock, LONG).unwrap();
                        results.lock().unwrap().push(Round {
                            cpu,
                            generation,
                            position,
                            severity,
                            nwo,
                            outcome,
                        });
                    }
                });
            }
        });

        let results = results.into_inner().unwrap();
        let scans = scans.into_inner().unwrap();
        assert_eq!(results.len(), cpus as usize * rounds);
        for g in 1..=rounds as u64 {
            let round: Vec<&Round> = results.iter().filter(|r| r.generation == g).collect();
            assert_eq!(round.len(), cpus as usize, "generation {g}");
            assert_eq!(round.iter().filter(|r| r.position == 1).count(), 1);
            let mut positions: Vec<u32> = round.iter().map(|r| r.position).collect();
            positions.sort();
            assert_eq!(positions, (1..=cpus).collect::<Vec<_>>());
            let order: Vec<u32> = scans.iter().filter(|s| s.0 == g).map(|s| s.1).collect();
            assert_eq!(order, (1..=cpus).collect::<Vec<_>>(), "scan order in {g}");

            let worst = round.iter().map(|r| r.severity).max().unwrap();
            let nwo = round.iter().any(|r| r.nwo);
            let monarch = round.iter().find(|r| r.position == 1).unwrap().cpu;
            for r in &round {
                assert_eq!(r.outcome.generation, g);
                assert_eq!(r.outcome.worst, worst);
                assert_eq!(r.outcome.global_no_way_out, nwo);
                assert_eq!(r.outcome.participants, mask(cpus));
                assert_eq!(r.outcome.monarch, Some(monarch));
                assert_eq!(r.outcome, round[0].outcome);
            }
            match round[0].outcome.worst_cpu {
                None => assert_eq!(worst, Severity::NoError),
                Some(c) => assert_eq!(round.iter().find(|r| r.cpu == c).unwrap().severity, worst),
            }
        }
        let stats = rv.stats();
        assert_eq!(stats.completed, rounds as u64);
        assert_eq!(stats.timed_out, 0);
        assert_eq!(stats.last_participants, mask(cpus));
        assert!(stats.max_duration_us >= stats.last_duration_us);
        assert_eq!(rv.last_duration_us(), stats.last_duration_us);
        for cpu in 0..cpus {
            let (a, e) = (rv.arrival_us(cpu).unwrap(), rv.exit_us(cpu).unwrap());
            assert!(a <= e);
            assert!(e - a <= stats.last_duration_us);
        }
        assert_eq!(rv.arrival_us(cpus), None);
        assert_eq!(rv.generation(), rounds as u64 + 1);
    }

    #[test]
    fn one_cpu() {
        run_rounds(1, 200);
    }

    #[test]
    fn two_cpus() {
        run_rounds(2, 200);
    }

    #[test]
    fn four_cpus() {
        run_rounds(4, 150);
    }

    #[test]
    fn eight_cpus() {
        run_rounds(8, 100);
    }

    #[test]
    fn sixteen_cpus() {
        run_rounds(16, 50);
    }

    #[test]
    fn absent_cpu_is_named_and_nobody_hangs() {
        let rv = Rendezvous::new();
        let clock = clock();
        let timeout = 50_000;
        let online = mask(4);
        let results: Vec<(Result<Order, Timeout>, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|cpu| {
                    let (rv, clock) = (&rv, &clock);
                    s.spawn(move || {
                        let t = clock.now_us();
                        let r = rv.start(cpu, &online, cpu == 1, clock, timeout);
                        (r, clock.now_us() - t)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (r, took) in results {
            let t = r.unwrap_err();
            assert_eq!(t.phase, Phase::Arrive);
            assert_eq!(t.missing, CpuSet::single(3));
            assert_eq!(t.outcome.participants, mask(3));
            assert!(t.outcome.global_no_way_out);
            assert!(took < timeout + 2_000_000, "took {took} us");
        }
        assert_eq!(rv.stats().timed_out, 1);

        // Everyone left: the next rendezvous (CPU 3 now offline) is clean.
        std::thread::scope(|s| {
            for cpu in 0..3 {
                let (rv, clock) = (&rv, &clock);
                s.spawn(move || {
                    let o = rv.start(cpu, &mask(3), false, clock, LONG).unwrap();
                    assert_eq!(o.generation(), 2);
                    rv.wait_turn(&o, clock, LONG).unwrap();
                    rv.report(&o, Severity::Some);
                    let out = rv.end(o, clock, LONG).unwrap();
                    assert_eq!(out.worst, Severity::Some);
                    assert!(!out.global_no_way_out);
                });
            }
        });
        assert_eq!(rv.stats().completed, 2);
        assert_eq!(rv.stats().timed_out, 1);
    }

    /// Adds one to its counter when dropped.
    struct Left<'a>(&'a AtomicU32);

    impl Drop for Left<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn stuck_scanner_is_named() {
        let rv = Rendezvous::new();
        let clock = clock();
        // The finish wait is long enough that a test thread descheduled
        // between its report and its `end` (the whole host test suite runs
        // at once on 2 cores) is not taken for a second missing CPU.
        let (turn, finish) = (50_000, 400_000);
        let stuck = 2u32;
        let online = mask(4);
        let all_in = Barrier::new(4);
        let stuck_done = Mutex::new(None);
        let turn_timeouts = Mutex::new(Vec::new());
        let others_left = AtomicU32::new(0);
        std::thread::scope(|s| {
            for cpu in 0..4 {
                let (rv, clock, all_in, stuck_done, turn_timeouts, others_left) = (
                    &rv,
                    &clock,
                    &all_in,
                    &stuck_done,
                    &turn_timeouts,
                    &others_left,
                );
                s.spawn(move || {
                    // Arrivals in CPU order, so the stuck CPU is in the
                    // middle whatever the host's scheduling.
                    while callin(rv.ctrl.load(SeqCst)) < cpu {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let t0 = clock.now_us();
                    let o = rv.start(cpu, &online, false, clock, LONG).unwrap();
                    all_in.wait();
                    if cpu == stuck {
                        // Reports only once the others have left: after the
                        // Monarch gave up, however long a loaded host makes
                        // its wait (waits count only the waiter's running
                        // time).
                        while others_left.load(SeqCst) < 3 {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        rv.report(&o, Severity::Panic);
                        *stuck_done.lock().unwrap() = Some(rv.end(o, clock, turn));
                        return;
                    }
                    // Counted when this thread leaves, also by a failed
                    // assertion, so the stuck one is never left waiting.
                    let _left = Left(others_left);
                    let stuck_at = rv.cpu_position[stuck as usize].load(SeqCst);
                    match rv.wait_turn(&o, clock, turn) {
                        Ok(()) => {}
                        Err(t) => {
                            // Only a CPU after the stuck one waits in vain,
                            // and it names CPUs before it that had not
                            // reported: the stuck one, or (when threads ran
                            // in another order) one between them.
                            assert!(o.position() > stuck_at);
                            assert_eq!(t.phase, Phase::Turn);
                            assert!(!t.missing.is_empty());
                            for m in t.missing.iter() {
                                assert!(rv.cpu_position[m as usize].load(SeqCst) < o.position());
                            }
                            turn_timeouts.lock().unwrap().push(t.missing);
                        }
                    }
                    rv.report(&o, Severity::Some);
                    // The Monarch gives up, and the others get its verdict:
                    // their own wait is only a backstop, long, as a loaded
                    // host can starve the Monarch's thread for a while.
                    let wait = if o.is_monarch() { finish } else { LONG };
                    let t = rv.end(o, clock, wait).unwrap_err();
                    assert!(matches!(t.phase, Phase::Finish | Phase::Release));
                    // A test thread the host starved may be named too.
                    assert!(t.missing.contains(stuck), "{:?}", t.missing);
                    // Nobody hangs. (A bound in wall time only: the waits
                    // stretch by design while the host starves the thread.)
                    assert!(clock.now_us() - t0 < 30_000_000);
                });
            }
        });
        // The first CPU to give up on its turn found every CPU before the
        // stuck one done: it named the stuck one.
        let turn_timeouts = turn_timeouts.into_inner().unwrap();
        assert!(
            turn_timeouts.contains(&CpuSet::single(stuck)),
            "{turn_timeouts:?}"
        );
        // The stuck CPU's late report is not part of the published decision.
        let late = stuck_done.into_inner().unwrap().unwrap();
        if let Err(t) = late {
            assert!(t.missing.contains(stuck), "{:?}", t.missing);
            assert!(t.outcome.worst < Severity::Panic);
        }
        let stats = rv.stats();
        assert_eq!((stats.completed, stats.timed_out), (1, 1));
        // The state was reset by the last to leave: a clean round follows.
        std::thread::scope(|s| {
            for cpu in 0..4 {
                let (rv, clock) = (&rv, &clock);
                s.spawn(move || {
                    let o = rv.start(cpu, &online, false, clock, LONG).unwrap();
                    rv.wait_turn(&o, clock, LONG).unwrap();
                    rv.report(&o, Severity::NoError);
                    let out = rv.end(o, clock, LONG).unwrap();
                    assert_eq!((out.worst, out.worst_cpu), (Severity::NoError, None));
                });
            }
        });
    }

    #[test]
    fn fast_cpu_waits_at_the_gate_for_the_slow_one_to_leave() {
        let rv = Arc::new(Rendezvous::new());
        let clock = Arc::new(clock());
        let online = mask(2);
        let slow_left_at = Arc::new(AtomicU64::new(0));
        let slow = {
            let (rv, clock, slow_left_at) = (rv.clone(), clock.clone(), slow_left_at.clone());
            std::thread::spawn(move || {
                let o = rv.start(1, &online, false, &*clock, LONG).unwrap();
                rv.wait_turn(&o, &*clock, LONG).unwrap();
                rv.report(&o, Severity::NoError);
                let first = rv.finish(&o, &*clock, LONG).unwrap();
                // Linger between reading the decision and leaving.
                std::thread::sleep(Duration::from_millis(100));
                slow_left_at.store(clock.now_us(), SeqCst);
                rv.leave(1, clock.now_us());
                let o = rv.start(1, &online, false, &*clock, LONG).unwrap();
                rv.wait_turn(&o, &*clock, LONG).unwrap();
                rv.report(&o, Severity::NoError);
                (first, rv.end(o, &*clock, LONG).unwrap())
            })
        };
        let o = rv.start(0, &online, true, &*clock, LONG).unwrap();
        rv.wait_turn(&o, &*clock, LONG).unwrap();
        rv.report(&o, Severity::Panic);
        let first = rv.end(o, &*clock, LONG).unwrap();
        // Second #MC right away.
        let o = rv.start(0, &online, false, &*clock, LONG).unwrap();
        let entered_at = clock.now_us();
        assert!(entered_at >= slow_left_at.load(SeqCst) && slow_left_at.load(SeqCst) > 0);
        assert_eq!(o.generation(), first.generation + 1);
        rv.wait_turn(&o, &*clock, LONG).unwrap();
        rv.report(&o, Severity::NoError);
        let second = rv.end(o, &*clock, LONG).unwrap();
        let (slow_first, slow_second) = slow.join().unwrap();

        assert_eq!(first, slow_first);
        assert_eq!((first.worst, first.worst_cpu), (Severity::Panic, Some(0)));
        assert!(first.global_no_way_out);
        // Nothing of the first rendezvous leaks into the second.
        assert_eq!(second, slow_second);
        assert_eq!((second.worst, second.worst_cpu), (Severity::NoError, None));
        assert!(!second.global_no_way_out);
        assert_eq!(rv.stats().completed, 2);
    }

    #[test]
    fn gate_timeout_names_the_cpu_that_never_left() {
        let rv = Rendezvous::new();
        let clock = clock();
        let online = mask(2);
        let lingerer = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let o = rv.start(1, &online, false, &clock, LONG).unwrap();
                rv.report(&o, Severity::NoError);
                rv.finish(&o, &clock, LONG).unwrap();
                o
            });
            let o = rv.start(0, &online, false, &clock, LONG).unwrap();
            rv.end(o, &clock, LONG).unwrap();
            h.join().unwrap()
        });
        let t = rv.start(0, &online, false, &clock, 20_000).unwrap_err();
        assert_eq!((t.phase, t.missing), (Phase::Gate, CpuSet::single(1)));
        rv.leave(lingerer.cpu(), clock.now_us());
        // Now open: CPU 0 alone times out on call-in instead, naming CPU 1.
        let t = rv.start(0, &online, false, &clock, 20_000).unwrap_err();
        assert_eq!((t.phase, t.missing), (Phase::Arrive, CpuSet::single(1)));
        assert_eq!(rv.generation(), 3);
    }

    #[test]
    fn bad_cpu_is_refused() {
        let rv = Rendezvous::new();
        let t = rv
            .start(MAX_CPUS as u32, &CpuSet::single(0), false, &clock(), 1000)
            .unwrap_err();
        assert_eq!(t.phase, Phase::BadCpu);
        assert_eq!(rv.generation(), 1);
    }

    /// Runs `start` for `cpu` on a thread; returns the outcome and the fake
    /// clock's value when it returned.
    fn arrive(
        rv: &'static Rendezvous,
        clock: &'static crate::time::fake::FakeClock,
        cpu: u32,
        online: CpuSet,
        timeout: u64,
    ) -> std::thread::JoinHandle<(Result<(), Timeout>, u64)> {
        std::thread::spawn(move || {
            let r = rv.start(cpu, &online, false, clock, timeout).map(|o| {
                rv.report(&o, Severity::NoError);
                let _ = rv.end(o, clock, timeout);
            });
            (r, clock.now_us())
        })
    }

    fn wait_for_arrivals(rv: &Rendezvous, n: u32) {
        while rv.arrived.load().count() < n {
            std::thread::yield_now();
        }
    }

    fn leak<T>(v: T) -> &'static T {
        Box::leak(Box::new(v))
    }

    #[test]
    fn late_arrivals_keep_the_rendezvous_alive() {
        let rv = leak(Rendezvous::new());
        let clock = leak(crate::time::fake::FakeClock::default());
        {
            let a = arrive(rv, clock, 0, mask(3), 100);
            wait_for_arrivals(rv, 1);
            clock.advance(80);
            let b = arrive(rv, clock, 1, mask(3), 100);
            wait_for_arrivals(rv, 2);
            // 160 us after the first arrival, but only 80 since the last.
            clock.advance(80);
            std::thread::sleep(Duration::from_millis(20));
            assert!(
                !a.is_finished() && !b.is_finished(),
                "gave up despite progress"
            );
            let c = arrive(rv, clock, 2, mask(3), 100);
            for h in [a, b, c] {
                assert!(h.join().unwrap().0.is_ok());
            }
        }
    }

    #[test]
    fn a_cpu_that_never_comes_is_named_timeout_after_the_last_arrival() {
        let rv = leak(Rendezvous::new());
        let clock = leak(crate::time::fake::FakeClock::default());
        {
            let a = arrive(rv, clock, 0, mask(3), 100);
            wait_for_arrivals(rv, 1);
            clock.advance(80);
            let b = arrive(rv, clock, 1, mask(3), 100);
            wait_for_arrivals(rv, 2);
            clock.advance(90); // 170: 90 since the last arrival
            std::thread::sleep(Duration::from_millis(20));
            assert!(!a.is_finished() && !b.is_finished());
            clock.advance(15); // 185: past 80 + 100
            for h in [a, b] {
                let (r, at) = h.join().unwrap();
                let t = r.unwrap_err();
                assert_eq!((t.phase, t.missing), (Phase::Arrive, CpuSet::single(2)));
                assert!(at >= 180, "named at {at} us");
            }
        }
    }

    #[test]
    fn the_cap_bounds_a_rendezvous_that_keeps_progressing() {
        let rv = leak(Rendezvous::new());
        rv.set_cap_us(150);
        let clock = leak(crate::time::fake::FakeClock::default());
        {
            let a = arrive(rv, clock, 0, mask(3), 100);
            wait_for_arrivals(rv, 1);
            clock.advance(80);
            let b = arrive(rv, clock, 1, mask(3), 100);
            wait_for_arrivals(rv, 2);
            clock.advance(60); // 140: within the cap and the timeout
            std::thread::sleep(Duration::from_millis(20));
            assert!(!a.is_finished() && !b.is_finished());
            clock.advance(15); // 155: past the cap, not past 80 + 100
            for h in [a, b] {
                let (r, at) = h.join().unwrap();
                assert_eq!(r.unwrap_err().phase, Phase::Arrive);
                assert!((150..180).contains(&at), "ended at {at} us");
            }
        }
    }
}
