//! Inter-processor interrupts as the local APIC's Interrupt Command Register
//! (ICR) takes them: the encoding (SDM vol. 3A 11.6.1 and 11.12.9), and the
//! order of register accesses for each APIC mode. Hardware-free; the
//! registers are behind [`XapicIcr`] so host tests can interrupt a sender at
//! every step.
//!
//! x2APIC: the ICR is one 64-bit MSR (0x830), destination in bits 63:32; a
//! single WRMSR sends, so nothing can come between destination and command,
//! and there is no delivery-status bit to poll.
//!
//! xAPIC: the ICR is two 32-bit MMIO registers; the destination (ICR high,
//! bits 31:24) must be written before the command (ICR low), whose write
//! sends. An NMI or #MC that arrives between the two writes and sends an IPI
//! of its own would leave its destination in ICR high, and the interrupted
//! sender's IPI would go to the wrong CPU. So every xAPIC send saves ICR
//! high first and puts it back after its own IPI has left: interrupts nest
//! strictly (the interrupted sender resumes only after the interrupting one
//! has finished), so whatever a sender wrote is back in place when it
//! resumes. Disabling interrupts around the two writes (enough for ordinary
//! IPIs) cannot keep out an NMI or #MC, and a lock would deadlock against
//! the CPU it interrupted. It costs one MMIO read and write per IPI; IPIs
//! are rare here.

/// How an IPI is delivered (ICR bits 10:8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Fixed(u8),
    Nmi,
    Init,
    /// Start-up at page `n` (vector field = physical page number).
    Startup(u8),
}

/// Who receives an IPI (ICR destination shorthand, bits 19:18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Apic(u32),
    SelfOnly,
    All,
    AllButSelf,
}

/// ICR low bit 12 (xAPIC only): the previous IPI has not left yet.
pub const DELIVERY_PENDING: u32 = 1 << 12;
/// Bounded wait for ICR idle: a wedged APIC must not hang an NMI handler.
pub const IDLE_SPINS: u32 = 1_000_000;

/// The command word (ICR bits 31:0) and the destination APIC id.
pub fn encode(dest: Dest, delivery: Delivery) -> (u32, u32) {
    let (mode, vector) = match delivery {
        Delivery::Fixed(v) => (0b000, v as u32),
        Delivery::Nmi => (0b100, 0),
        Delivery::Init => (0b101, 0),
        Delivery::Startup(page) => (0b110, page as u32),
    };
    let (shorthand, target) = match dest {
        Dest::Apic(id) => (0b00, id),
        Dest::SelfOnly => (0b01, 0),
        Dest::All => (0b10, 0),
        Dest::AllButSelf => (0b11, 0),
    };
    // Level = assert (bit 14), edge triggered, physical destination mode.
    (vector | (mode << 8) | (1 << 14) | (shorthand << 18), target)
}

/// The x2APIC ICR value (MSR 0x830) for an IPI.
pub fn x2apic_icr(dest: Dest, delivery: Delivery) -> u64 {
    let (low, target) = encode(dest, delivery);
    ((target as u64) << 32) | low as u64
}

/// The two xAPIC ICR registers.
pub trait XapicIcr {
    fn read_low(&mut self) -> u32;
    fn read_high(&mut self) -> u32;
    fn write_high(&mut self, v: u32);
    /// Writing the low half sends the IPI.
    fn write_low(&mut self, v: u32);
}

/// Why an IPI was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// xAPIC destinations are 8 bits; ids above 254 exist only in x2APIC
    /// mode (255 is the xAPIC broadcast id, never a CPU).
    IdTooLarge(u32),
}

fn wait_idle(r: &mut impl XapicIcr) {
    let mut spins = 0;
    while r.read_low() & DELIVERY_PENDING != 0 && spins < IDLE_SPINS {
        core::hint::spin_loop();
        spins += 1;
    }
}

/// Sends an IPI through the xAPIC ICR, safe against being interrupted
/// (between any two accesses) by another sender on the same CPU.
pub fn send_xapic(r: &mut impl XapicIcr, dest: Dest, delivery: Delivery) -> Result<(), SendError> {
    let (low, target) = encode(dest, delivery);
    if target > 254 {
        return Err(SendError::IdTooLarge(target));
    }
    let saved = r.read_high();
    // An IPI this sender interrupted may still be in flight: it must leave
    // with its own destination before that is overwritten.
    wait_idle(r);
    r.write_high(target << 24);
    r.write_low(low);
    wait_idle(r);
    r.write_high(saved);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A simulated xAPIC ICR: each IPI is sent to the destination ICR high
    /// holds when ICR low is written. `interrupt_at` runs a nested send
    /// (as an NMI handler would) before the n-th register access.
    struct SimIcr {
        high: u32,
        sent: Vec<(u32, u32)>,
        accesses: usize,
        interrupt_at: Option<usize>,
        nested: Option<(Dest, Delivery)>,
    }

    impl SimIcr {
        fn new(interrupt_at: Option<usize>, nested: (Dest, Delivery)) -> Self {
            SimIcr {
                high: 0,
                sent: Vec::new(),
                accesses: 0,
                interrupt_at,
                nested: Some(nested),
            }
        }
        fn step(&mut self) {
            self.accesses += 1;
            if self.interrupt_at == Some(self.accesses) {
                let (d, v) = self.nested.take().unwrap();
                send_xapic(self, d, v).unwrap();
            }
        }
    }

    impl XapicIcr for SimIcr {
        fn read_low(&mut self) -> u32 {
            self.step();
            0
        }
        fn read_high(&mut self) -> u32 {
            self.step();
            self.high
        }
        fn write_high(&mut self, v: u32) {
            self.step();
            self.high = v;
        }
        fn write_low(&mut self, v: u32) {
            self.step();
            self.sent.push((self.high >> 24, v));
        }
    }

    #[test]
    fn x2apic_icr_is_one_64_bit_value_with_a_32_bit_destination() {
        assert_eq!(
            x2apic_icr(Dest::Apic(0x1_0203), Delivery::Nmi),
            0x0001_0203_0000_4400
        );
        assert_eq!(
            x2apic_icr(Dest::AllButSelf, Delivery::Fixed(0xF3)),
            0x000C_40F3
        );
        assert_eq!(
            x2apic_icr(Dest::Apic(5), Delivery::Startup(0x8)),
            0x5_0000_4608
        );
        assert_eq!(encode(Dest::Apic(3), Delivery::Init), (0x4500, 3));
    }

    #[test]
    fn xapic_refuses_ids_it_cannot_address() {
        let mut r = SimIcr::new(None, (Dest::SelfOnly, Delivery::Nmi));
        assert_eq!(
            send_xapic(&mut r, Dest::Apic(255), Delivery::Nmi),
            Err(SendError::IdTooLarge(255))
        );
        assert!(r.sent.is_empty());
    }

    /// An NMI sender interrupting before each of the outer sender's register
    /// accesses: both IPIs reach their own CPU, and ICR high ends as it was.
    #[test]
    fn a_nested_sender_never_redirects_the_interrupted_one() {
        let outer = (Dest::Apic(7), Delivery::Fixed(0x40));
        let nested = (Dest::Apic(9), Delivery::Nmi);
        let mut plain = SimIcr::new(None, nested);
        send_xapic(&mut plain, outer.0, outer.1).unwrap();
        let steps = plain.accesses;
        assert!(steps >= 5);
        for at in 1..=steps {
            let mut r = SimIcr::new(Some(at), nested);
            r.high = 0xAB00_0000;
            send_xapic(&mut r, outer.0, outer.1).unwrap();
            let (o_low, _) = encode(outer.0, outer.1);
            let (n_low, _) = encode(nested.0, nested.1);
            assert_eq!(r.sent.len(), 2, "interrupted at access {at}");
            assert!(
                r.sent.contains(&(7, o_low)),
                "outer IPI at access {at}: {:?}",
                r.sent
            );
            assert!(
                r.sent.contains(&(9, n_low)),
                "nested IPI at access {at}: {:?}",
                r.sent
            );
            assert_eq!(r.high, 0xAB00_0000, "ICR high restored (access {at})");
        }
    }
}
