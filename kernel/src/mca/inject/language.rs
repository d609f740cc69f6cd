//! The input language of Linux's `mce-inject` tool, parsed into injection
//! requests the kernel can execute (by writing bank MSRs or a software overlay
//! and entering the #MC or poll path; executing them is not done here).
//!
//! Keeping mce-inject's language means the test files written for Linux (and
//! a pasted kernel panic line) can be replayed here unchanged.
//!
//! # Grammar
//!
//! Keywords and flag words are case-insensitive. `#` starts a comment that
//! runs to the end of the line. Numbers are C-style: `0x` hex, a leading `0`
//! means octal, otherwise decimal; all must fit in 64 bits (and in the field).
//!
//! ```text
//! input    := record*
//! record   := start term*
//! start    := CPU n [n]                  second number is the bank
//!           | CPU n ':' MACHINE CHECK EXCEPTION ':' n BANK n ':' n
//!                                        kernel panic line: mcgstatus, bank, status
//!           | MCE                         cpu 0
//! term     := STATUS list | MCGSTATUS list
//!           | BANK n | ADDR n | MISC n | TSC n | TIME n | MCGCAP n
//!           | SOCKETID n | APICID n | PROCESSOR n ':' n
//!           | RIP rip
//!           | EXCP | POLL | CMCI
//!           | NOBROADCAST | NMIBROADCAST | IRQBROADCAST
//!           | HOLD | IN_IRQ | IN_PROC
//! rip      := n | n ':' n | n ':' '<' n '>'      cs:ip; may end with a '{symbol}'
//! list     := item (['|'] item)*                items are OR-ed together
//! item     := n | flag word (see STATUS_FLAGS / MCGSTATUS_FLAGS)
//! ```
//!
//! A record runs until the next `CPU` or `MCE`.
//!
//! # Meaning, and where it differs from mce-inject
//!
//! * Status bits are taken literally: a bare number or single-bit word adds
//!   nothing implicit. Only `CORRECTED` (VAL|EN), `UNCORRECTED` (VAL|UC|EN)
//!   and `FATAL` (VAL|UC|EN|PCC) carry VAL and EN, as in mce-inject.
//! * `UCNA`, `SRAO` and `SRAR` include UC here (mce-inject gives 0, S and
//!   S|AR and expects them next to `UNCORRECTED`; written that way both agree).
//! * `ADDR` and `MISC` set ADDRV and MISCV wherever they appear in the record
//!   (mce-inject loses them when `STATUS` comes later).
//! * A field given twice in one record, `STATUS` or `MCGSTATUS` without a
//!   value, conflicting modes/broadcasts/contexts, and `NMIBROADCAST` or
//!   `IRQBROADCAST` on a non-exception injection are errors, not silently
//!   resolved.
//! * Without `EXCP`/`POLL`/`CMCI` the mode is an exception when the status
//!   has UC and a poll otherwise (mce-inject's rule). `CMCI` is our addition.
//! * Without `MCGSTATUS`, an exception gets MCIP|EIPV plus RIPV unless PCC
//!   (what Linux's own injector writes before raising #MC); otherwise 0.
//! * Extensions over mce-inject: `VALID`, `MISCV`, `ADDRV`, `TES_GREEN`,
//!   `TES_YELLOW`, `LMCE`, `CMCI`; `LMCES` and `SEAM_NR` follow newer
//!   mce-inject test files. No `CPU` ranges and no `CPU BROADCAST`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::lexer::{Kind, Lexer, Pos, Token};
pub use super::request::*;
use crate::mca::regs::{mcg_status, status};

/// Parses every record of `text`.
pub fn parse(text: &str) -> Result<Vec<Injection>, ParseError> {
    Parser::new(text).records()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyword {
    Cpu,
    Mce,
    Status,
    McgStatus,
    Bank,
    Addr,
    Misc,
    Tsc,
    Time,
    SocketId,
    ApicId,
    McgCap,
    Rip,
    Processor,
    NoBroadcast,
    IrqBroadcast,
    NmiBroadcast,
    Hold,
    InIrq,
    InProc,
    Poll,
    Excp,
    Cmci,
}

const KEYWORDS: &[(&str, Keyword)] = &[
    ("CPU", Keyword::Cpu),
    ("MCE", Keyword::Mce),
    ("STATUS", Keyword::Status),
    ("MCGSTATUS", Keyword::McgStatus),
    ("BANK", Keyword::Bank),
    ("ADDR", Keyword::Addr),
    ("MISC", Keyword::Misc),
    ("TSC", Keyword::Tsc),
    ("TIME", Keyword::Time),
    ("SOCKETID", Keyword::SocketId),
    ("APICID", Keyword::ApicId),
    ("MCGCAP", Keyword::McgCap),
    ("RIP", Keyword::Rip),
    ("PROCESSOR", Keyword::Processor),
    ("NOBROADCAST", Keyword::NoBroadcast),
    ("IRQBROADCAST", Keyword::IrqBroadcast),
    ("NMIBROADCAST", Keyword::NmiBroadcast),
    ("HOLD", Keyword::Hold),
    ("IN_IRQ", Keyword::InIrq),
    ("IN_PROC", Keyword::InProc),
    ("POLL", Keyword::Poll),
    ("EXCP", Keyword::Excp),
    ("CMCI", Keyword::Cmci),
];

fn keyword(word: &str) -> Option<Keyword> {
    KEYWORDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|&(_, k)| k)
}

fn lookup_flag(table: &[Flag], word: &str) -> Option<u64> {
    table
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(word))
        .map(|f| f.bits)
}

/// One record being filled in, with what is needed to check it when it ends.
struct Draft<'a> {
    inj: Injection,
    /// Keywords already given, to refuse a field given twice.
    seen: Vec<Keyword>,
    mode: Option<(Mode, Token<'a>)>,
    broadcast: Option<(Broadcast, Token<'a>)>,
    context: Option<(Context, Token<'a>)>,
}

impl<'a> Draft<'a> {
    fn new(cpu: u32) -> Self {
        Draft {
            inj: Injection {
                cpu,
                bank: 0,
                status: 0,
                mcgstatus: 0,
                addr: 0,
                misc: 0,
                ip: None,
                cs: None,
                tsc: None,
                time: None,
                socketid: None,
                apicid: None,
                mcgcap: None,
                processor: None,
                mode: Mode::Poll,
                broadcast: Broadcast::Default,
                hold: false,
                context: None,
            },
            seen: Vec::new(),
            mode: None,
            broadcast: None,
            context: None,
        }
    }

    fn first_time(&mut self, keyword: Keyword, token: &Token) -> Result<(), ParseError> {
        if self.seen.contains(&keyword) {
            return Err(token.error(format!(
                "{} is given twice in this record",
                token.text.to_ascii_uppercase()
            )));
        }
        self.seen.push(keyword);
        Ok(())
    }

    /// Applies the defaults and the checks that need the whole record.
    fn finish(mut self) -> Result<Injection, ParseError> {
        let inj = &mut self.inj;
        if self.seen.contains(&Keyword::Addr) {
            inj.status |= status::ADDRV;
        }
        if self.seen.contains(&Keyword::Misc) {
            inj.status |= status::MISCV;
        }
        inj.mode = match self.mode {
            Some((mode, _)) => mode,
            None if inj.status & status::UC != 0 => Mode::Exception,
            None => Mode::Poll,
        };
        if let Some((broadcast, token)) = self.broadcast {
            let pulls_others = matches!(broadcast, Broadcast::Nmi | Broadcast::Irq);
            if pulls_others && inj.mode != Mode::Exception {
                return Err(token.error(format!(
                    "{} only applies to an exception (EXCP) injection",
                    token.text.to_ascii_uppercase()
                )));
            }
            inj.broadcast = broadcast;
        }
        inj.context = self.context.map(|(context, _)| context);
        if !self.seen.contains(&Keyword::McgStatus) && inj.mode == Mode::Exception {
            inj.mcgstatus = mcg_status::MCIP | mcg_status::EIPV;
            if inj.status & status::PCC == 0 {
                inj.mcgstatus |= mcg_status::RIPV;
            }
        }
        Ok(self.inj)
    }
}

/// Records a one-of choice, refusing a different one given earlier.
fn choose<'a, T: Copy + PartialEq>(
    slot: &mut Option<(T, Token<'a>)>,
    value: T,
    token: Token<'a>,
) -> Result<(), ParseError> {
    match slot {
        Some((old, first)) if *old != value => Err(token.error(format!(
            "{} conflicts with {} earlier in this record",
            token.text.to_ascii_uppercase(),
            first.text.to_ascii_uppercase()
        ))),
        _ => {
            *slot = Some((value, token));
            Ok(())
        }
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            lexer: Lexer {
                src: text,
                pos: 0,
                at: Pos { line: 1, column: 1 },
            },
            peeked: None,
        }
    }

    fn peek(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        if self.peeked.is_none() {
            self.peeked = self.lexer.next_token()?;
        }
        Ok(self.peeked)
    }

    fn next(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        let token = self.peek()?;
        self.peeked = None;
        Ok(token)
    }

    fn end_error(&self, message: String) -> ParseError {
        ParseError {
            line: self.lexer.at.line,
            column: self.lexer.at.column,
            message,
            token: String::new(),
        }
    }

    /// The next token, which must be a number; `after` names what needs it.
    fn number(&mut self, after: &str) -> Result<(u64, Token<'a>), ParseError> {
        match self.next()? {
            Some(t) => match t.kind {
                Kind::Number(n) => Ok((n, t)),
                _ => Err(t.error(format!("{} needs a number, found '{}'", after, t.text))),
            },
            None => Err(self.end_error(format!("{} needs a number, found end of input", after))),
        }
    }

    /// A number no larger than `max`; `what` names the field in the error.
    fn bounded(&mut self, after: &str, what: &str, max: u64) -> Result<u64, ParseError> {
        let (n, token) = self.number(after)?;
        if n > max {
            return Err(token.error(format!(
                "{} {} out of range (at most {})",
                what, token.text, max
            )));
        }
        Ok(n)
    }

    fn expect(&mut self, kind: Kind, after: &str, what: &str) -> Result<(), ParseError> {
        match self.next()? {
            Some(t) if t.kind == kind => Ok(()),
            Some(t) => Err(t.error(format!(
                "expected {} after {}, found '{}'",
                what, after, t.text
            ))),
            None => Err(self.end_error(format!(
                "expected {} after {}, found end of input",
                what, after
            ))),
        }
    }

    fn expect_word(&mut self, word: &str, after: &str) -> Result<(), ParseError> {
        match self.next()? {
            Some(t) if t.is_word(word) => Ok(()),
            Some(t) => Err(t.error(format!(
                "expected {} after {}, found '{}'",
                word, after, t.text
            ))),
            None => Err(self.end_error(format!(
                "expected {} after {}, found end of input",
                word, after
            ))),
        }
    }

    fn records(mut self) -> Result<Vec<Injection>, ParseError> {
        let mut records = Vec::new();
        let mut draft: Option<Draft<'a>> = None;
        while let Some(token) = self.next()? {
            let starts = match (token.kind, keyword(token.text)) {
                (Kind::Word, Some(Keyword::Cpu)) => Some(self.cpu_start()?),
                (Kind::Word, Some(Keyword::Mce)) => Some(Draft::new(0)),
                _ => None,
            };
            if let Some(next) = starts {
                if let Some(done) = draft.replace(next) {
                    records.push(done.finish()?);
                }
                continue;
            }
            match draft.as_mut() {
                Some(d) => self.term(d, token)?,
                None => {
                    return Err(token.error(format!(
                        "expected CPU or MCE to start a record, found '{}'",
                        token.text
                    )))
                }
            }
        }
        if let Some(done) = draft {
            records.push(done.finish()?);
        }
        Ok(records)
    }

    /// After `CPU`: the cpu, then an optional bank or a kernel panic line.
    fn cpu_start(&mut self) -> Result<Draft<'a>, ParseError> {
        let cpu = self.bounded("CPU", "cpu", u64::from(u32::MAX))?;
        let mut draft = Draft::new(cpu as u32);
        let Some(next) = self.peek()? else {
            return Ok(draft);
        };
        match next.kind {
            Kind::Number(_) => {
                self.next()?;
                draft.first_time(Keyword::Bank, &next)?;
                draft.inj.bank = self.checked_bank(next)?;
            }
            Kind::Colon => {
                self.next()?;
                let after = "CPU n:";
                self.expect_word("MACHINE", after)?;
                self.expect_word("CHECK", "MACHINE")?;
                self.expect_word("EXCEPTION", "CHECK")?;
                self.expect(Kind::Colon, "EXCEPTION", "':'")?;
                draft.inj.mcgstatus = self.number("MACHINE CHECK EXCEPTION:")?.0;
                self.expect_word("BANK", "the MCG status")?;
                let (_, bank) = self.number("BANK")?;
                draft.inj.bank = self.checked_bank(bank)?;
                self.expect(Kind::Colon, "the bank", "':'")?;
                draft.inj.status = self.number("BANK n:")?.0;
                draft
                    .seen
                    .extend([Keyword::McgStatus, Keyword::Bank, Keyword::Status]);
            }
            _ => {}
        }
        Ok(draft)
    }

    fn checked_bank(&self, token: Token) -> Result<u8, ParseError> {
        match token.kind {
            Kind::Number(n) if n < 64 => Ok(n as u8),
            _ => Err(token.error(format!(
                "bank {} out of range (banks are 0 to 63)",
                token.text
            ))),
        }
    }

    fn term(&mut self, d: &mut Draft<'a>, token: Token<'a>) -> Result<(), ParseError> {
        let kw = match (token.kind, keyword(token.text)) {
            (Kind::Word, Some(kw)) => kw,
            (Kind::Word, None) => {
                let is_flag = lookup_flag(STATUS_FLAGS, token.text).is_some()
                    || lookup_flag(MCGSTATUS_FLAGS, token.text).is_some();
                return Err(token.error(if is_flag {
                    format!("flag '{}' must follow STATUS or MCGSTATUS", token.text)
                } else {
                    format!("unknown keyword '{}'", token.text)
                }));
            }
            _ => return Err(token.error(format!("expected a keyword, found '{}'", token.text))),
        };
        match kw {
            Keyword::Status => {
                d.first_time(kw, &token)?;
                d.inj.status = self.flag_list("STATUS", STATUS_FLAGS, "status flag")?;
            }
            Keyword::McgStatus => {
                d.first_time(kw, &token)?;
                d.inj.mcgstatus = self.flag_list("MCGSTATUS", MCGSTATUS_FLAGS, "MCGSTATUS flag")?;
            }
            Keyword::Bank => {
                d.first_time(kw, &token)?;
                let (_, bank) = self.number("BANK")?;
                d.inj.bank = self.checked_bank(bank)?;
            }
            Keyword::Addr => {
                d.first_time(kw, &token)?;
                d.inj.addr = self.number("ADDR")?.0;
            }
            Keyword::Misc => {
                d.first_time(kw, &token)?;
                d.inj.misc = self.number("MISC")?.0;
            }
            Keyword::Tsc => {
                d.first_time(kw, &token)?;
                d.inj.tsc = Some(self.number("TSC")?.0);
            }
            Keyword::Time => {
                d.first_time(kw, &token)?;
                d.inj.time = Some(self.number("TIME")?.0);
            }
            Keyword::McgCap => {
                d.first_time(kw, &token)?;
                d.inj.mcgcap = Some(self.number("MCGCAP")?.0);
            }
            Keyword::SocketId => {
                d.first_time(kw, &token)?;
                let id = self.bounded("SOCKETID", "socket id", u64::from(u32::MAX))?;
                d.inj.socketid = Some(id as u32);
            }
            Keyword::ApicId => {
                d.first_time(kw, &token)?;
                let id = self.bounded("APICID", "APIC id", u64::from(u32::MAX))?;
                d.inj.apicid = Some(id as u32);
            }
            Keyword::Processor => {
                d.first_time(kw, &token)?;
                let vendor = self.bounded("PROCESSOR", "vendor", u64::from(u8::MAX))?;
                self.expect(Kind::Colon, "the vendor", "':'")?;
                let cpuid = self.bounded("PROCESSOR vendor:", "cpuid", u64::from(u32::MAX))?;
                d.inj.processor = Some(Processor {
                    vendor: vendor as u8,
                    cpuid: cpuid as u32,
                });
            }
            Keyword::Rip => {
                d.first_time(kw, &token)?;
                self.rip(&mut d.inj)?;
            }
            Keyword::NoBroadcast => choose(&mut d.broadcast, Broadcast::None, token)?,
            Keyword::NmiBroadcast => choose(&mut d.broadcast, Broadcast::Nmi, token)?,
            Keyword::IrqBroadcast => choose(&mut d.broadcast, Broadcast::Irq, token)?,
            Keyword::Excp => choose(&mut d.mode, Mode::Exception, token)?,
            Keyword::Poll => choose(&mut d.mode, Mode::Poll, token)?,
            Keyword::Cmci => choose(&mut d.mode, Mode::Cmci, token)?,
            Keyword::InIrq => choose(&mut d.context, Context::Irq, token)?,
            Keyword::InProc => choose(&mut d.context, Context::Process, token)?,
            Keyword::Hold => d.inj.hold = true,
            // Record starts are handled by the caller.
            Keyword::Cpu | Keyword::Mce => {}
        }
        Ok(())
    }

    /// `ip`, `cs:ip` or `cs:<ip>`, optionally followed by `{symbol}`.
    fn rip(&mut self, inj: &mut Injection) -> Result<(), ParseError> {
        let (first, first_token) = self.number("RIP")?;
        if self.peek()?.is_some_and(|t| t.kind == Kind::Colon) {
            self.next()?;
            if first > u64::from(u16::MAX) {
                return Err(first_token.error(format!(
                    "code segment {} out of range (at most 0xffff)",
                    first_token.text
                )));
            }
            let bracketed = self.peek()?.is_some_and(|t| t.kind == Kind::Less);
            if bracketed {
                self.next()?;
            }
            inj.ip = Some(self.number("RIP cs:")?.0);
            if bracketed {
                self.expect(Kind::Greater, "the RIP", "'>'")?;
            }
            inj.cs = Some(first as u16);
        } else {
            inj.ip = Some(first);
        }
        if self.peek()?.is_some_and(|t| t.kind == Kind::Symbol) {
            self.next()?;
        }
        Ok(())
    }

    /// Numbers and flag words OR-ed together, optionally separated by `|`;
    /// ends at the next keyword or anything that cannot be part of it.
    fn flag_list(&mut self, after: &str, table: &[Flag], what: &str) -> Result<u64, ParseError> {
        let mut value = 0;
        let mut items = 0;
        let mut open_pipe: Option<Token<'a>> = None;
        while let Some(t) = self.peek()? {
            match t.kind {
                Kind::Number(n) => value |= n,
                Kind::Word => match lookup_flag(table, t.text) {
                    Some(bits) => value |= bits,
                    None if keyword(t.text).is_some() => break,
                    None => return Err(t.error(format!("unknown {} '{}'", what, t.text))),
                },
                Kind::Pipe if items > 0 && open_pipe.is_none() => {
                    self.next()?;
                    open_pipe = Some(t);
                    continue;
                }
                Kind::Pipe => {
                    return Err(t.error(String::from("'|' must stand between two flags or numbers")))
                }
                _ => break,
            }
            self.next()?;
            items += 1;
            open_pipe = None;
        }
        if let Some(pipe) = open_pipe {
            return Err(pipe.error(String::from("'|' must stand between two flags or numbers")));
        }
        if items == 0 {
            let message =
                |found: &str| format!("{} needs a flag or number, found {}", after, found);
            return Err(match self.peek()? {
                Some(t) => t.error(message(&format!("'{}'", t.text))),
                None => self.end_error(message("end of input")),
            });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn one(text: &str) -> Injection {
        let mut all = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(all.len(), 1, "{text:?}");
        all.remove(0)
    }

    /// Asserts the error's position and its full Display text.
    fn fails(text: &str, line: usize, column: usize, message: &str) {
        let e = parse(text).expect_err(text);
        assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
        assert_eq!(
            e.to_string(),
            format!("line {line}, column {column}: {message}")
        );
    }

    const EXAMPLE: &str = "CPU 0 BANK 1\n\
        STATUS UNCORRECTED SRAR 0x134\n\
        MCGSTATUS RIPV EIPV MCIP\n\
        ADDR 0x123456000\n\
        MISC 0x8c\n\
        RIP 0x10:0xffffffff81000000\n\
        EXCP\n\
        NMIBROADCAST\n";

    #[test]
    fn example_record() {
        let inj = one(EXAMPLE);
        assert_eq!(inj.cpu, 0);
        assert_eq!(inj.bank, 1);
        let srar = status::VAL | status::UC | status::EN | status::S | status::AR;
        assert_eq!(inj.status, srar | status::ADDRV | status::MISCV | 0x134);
        assert_eq!(
            inj.mcgstatus,
            mcg_status::RIPV | mcg_status::EIPV | mcg_status::MCIP
        );
        assert_eq!(inj.addr, 0x1_2345_6000);
        assert_eq!(inj.misc, 0x8c);
        assert_eq!(inj.ip, Some(0xffff_ffff_8100_0000));
        assert_eq!(inj.cs, Some(0x10));
        assert_eq!(inj.mode, Mode::Exception);
        assert_eq!(inj.broadcast, Broadcast::Nmi);
        assert!(!inj.hold);
        assert_eq!(inj.context, None);
        assert_eq!((inj.tsc, inj.time, inj.mcgcap), (None, None, None));
    }

    #[test]
    fn example_formats_back() {
        let text = format(&one(EXAMPLE));
        assert_eq!(
            text,
            "CPU 0 BANK 1\n\
             STATUS VAL|UC|EN|MISCV|ADDRV|S|AR|0x134\n\
             MCGSTATUS RIPV|EIPV|MCIP\n\
             ADDR 0x123456000\n\
             MISC 0x8c\n\
             RIP 0x10:0xffffffff81000000\n\
             EXCP NMIBROADCAST\n"
        );
        assert_eq!(parse(&text), Ok(vec![one(EXAMPLE)]));
    }

    /// A valid use of each keyword; the match makes a new keyword need one.
    fn sample(kw: Keyword) -> &'static str {
        match kw {
            Keyword::Cpu => "CPU 3",
            Keyword::Mce => "MCE",
            Keyword::Status => "STATUS 5",
            Keyword::McgStatus => "MCGSTATUS 5",
            Keyword::Bank => "BANK 5",
            Keyword::Addr => "ADDR 5",
            Keyword::Misc => "MISC 5",
            Keyword::Tsc => "TSC 5",
            Keyword::Time => "TIME 5",
            Keyword::SocketId => "SOCKETID 5",
            Keyword::ApicId => "APICID 5",
            Keyword::McgCap => "MCGCAP 5",
            Keyword::Rip => "RIP 5",
            Keyword::Processor => "PROCESSOR 2:5",
            Keyword::NoBroadcast => "NOBROADCAST",
            Keyword::IrqBroadcast => "IRQBROADCAST EXCP",
            Keyword::NmiBroadcast => "NMIBROADCAST EXCP",
            Keyword::Hold => "HOLD",
            Keyword::InIrq => "IN_IRQ",
            Keyword::InProc => "IN_PROC",
            Keyword::Poll => "POLL",
            Keyword::Excp => "EXCP",
            Keyword::Cmci => "CMCI",
        }
    }

    #[test]
    fn every_keyword() {
        let blank = one("CPU 0");
        for &(name, kw) in KEYWORDS {
            assert_eq!(keyword(name), Some(kw));
            assert_eq!(keyword(&name.to_ascii_lowercase()), Some(kw));
            let inj = match kw {
                Keyword::Cpu | Keyword::Mce => one(sample(kw)),
                _ => one(&format!("CPU 0 {}", sample(kw))),
            };
            let mut want = blank;
            match kw {
                Keyword::Cpu => want.cpu = 3,
                Keyword::Mce => {}
                Keyword::Status => want.status = 5,
                Keyword::McgStatus => want.mcgstatus = 5,
                Keyword::Bank => want.bank = 5,
                Keyword::Addr => (want.addr, want.status) = (5, status::ADDRV),
                Keyword::Misc => (want.misc, want.status) = (5, status::MISCV),
                Keyword::Tsc => want.tsc = Some(5),
                Keyword::Time => want.time = Some(5),
                Keyword::SocketId => want.socketid = Some(5),
                Keyword::ApicId => want.apicid = Some(5),
                Keyword::McgCap => want.mcgcap = Some(5),
                Keyword::Rip => want.ip = Some(5),
                Keyword::Processor => {
                    want.processor = Some(Processor {
                        vendor: 2,
                        cpuid: 5,
                    })
                }
                Keyword::NoBroadcast => want.broadcast = Broadcast::None,
                Keyword::IrqBroadcast | Keyword::NmiBroadcast | Keyword::Excp => {
                    want.mode = Mode::Exception;
                    // No MCGSTATUS given: Linux's injector defaults.
                    want.mcgstatus = mcg_status::MCIP | mcg_status::EIPV | mcg_status::RIPV;
                    want.broadcast = match kw {
                        Keyword::IrqBroadcast => Broadcast::Irq,
                        Keyword::NmiBroadcast => Broadcast::Nmi,
                        _ => Broadcast::Default,
                    };
                }
                Keyword::Hold => want.hold = true,
                Keyword::InIrq => want.context = Some(Context::Irq),
                Keyword::InProc => want.context = Some(Context::Process),
                Keyword::Poll => want.mode = Mode::Poll,
                Keyword::Cmci => want.mode = Mode::Cmci,
            }
            assert_eq!(inj, want, "{name}");
        }
    }

    #[test]
    fn every_status_flag() {
        for f in STATUS_FLAGS {
            for name in [f.name.to_string(), f.name.to_ascii_lowercase()] {
                let inj = one(&format!("CPU 0 STATUS {name} MCGSTATUS 0"));
                assert_eq!(inj.status, f.bits, "{name}");
            }
        }
    }

    #[test]
    fn every_mcgstatus_flag() {
        for f in MCGSTATUS_FLAGS {
            for name in [f.name.to_string(), f.name.to_ascii_lowercase()] {
                let inj = one(&format!("CPU 0 MCGSTATUS {name}"));
                assert_eq!(inj.mcgstatus, f.bits, "{name}");
            }
        }
    }

    #[test]
    fn flag_meanings() {
        let bits = |name| lookup_flag(STATUS_FLAGS, name).unwrap();
        assert_eq!(bits("VAL"), 1 << 63);
        assert_eq!(bits("VALID"), 1 << 63);
        assert_eq!(bits("OVER"), 1 << 62);
        assert_eq!(bits("UC"), 1 << 61);
        assert_eq!(bits("EN"), 1 << 60);
        assert_eq!(bits("MISCV"), 1 << 59);
        assert_eq!(bits("ADDRV"), 1 << 58);
        assert_eq!(bits("PCC"), 1 << 57);
        assert_eq!(bits("S"), 1 << 56);
        assert_eq!(bits("AR"), 1 << 55);
        assert_eq!(bits("TES_GREEN"), 1 << 53);
        assert_eq!(bits("TES_YELLOW"), 2 << 53);
        assert_eq!(bits("CORRECTED"), bits("VAL") | bits("EN"));
        assert_eq!(bits("UNCORRECTED"), bits("VAL") | bits("UC") | bits("EN"));
        assert_eq!(bits("FATAL"), bits("UNCORRECTED") | bits("PCC"));
        assert_eq!(bits("UCNA"), bits("UC"));
        assert_eq!(bits("SRAO"), bits("UC") | bits("S"));
        assert_eq!(bits("SRAR"), bits("UC") | bits("S") | bits("AR"));
        let mcg = |name| lookup_flag(MCGSTATUS_FLAGS, name).unwrap();
        assert_eq!([mcg("RIPV"), mcg("EIPV"), mcg("MCIP")], [1, 2, 4]);
        assert_eq!([mcg("LMCES"), mcg("LMCE"), mcg("SEAM_NR")], [8, 8, 1 << 12]);
    }

    #[test]
    fn flags_and_numbers_combine() {
        let want = status::VAL | status::UC | status::EN | status::S | status::AR | 0x134;
        for list in [
            "UNCORRECTED SRAR 0x134",
            "UNCORRECTED|SRAR|0x134",
            "0x134 | srar | uncorrected",
            "VAL UC EN S AR 0x100 0x34",
            "0xbd80000000000134 | 0",
            "13654914070187344180",
            "0 1 2 0x130",
        ] {
            let inj = one(&format!("CPU 0 STATUS {list} MCGSTATUS 0 EXCP"));
            let got = inj.status & !status::MISCV & !status::ADDRV;
            if list.starts_with("0 1") {
                assert_eq!(got, 0x133, "{list}");
            } else {
                assert_eq!(got, want, "{list}");
            }
        }
        assert_eq!(one("CPU 0 MCGSTATUS RIPV|0x10 MCIP").mcgstatus, 0x15);
        // Octal, as in C.
        assert_eq!(one("CPU 0 BANK 010").bank, 8);
        assert_eq!(one("CPU 0 MISC 0").misc, 0);
        assert_eq!(one("CPU 0 MISC 0X1F").misc, 0x1f);
    }

    #[test]
    fn case_insensitive() {
        let upper = one(EXAMPLE);
        let lower = one(&EXAMPLE.to_ascii_lowercase());
        let mixed = one(
            "Cpu 0 Bank 1 Status Uncorrected sRaR 0x134 McgStatus ripv Eipv mCIP \
             addr 0X123456000 misc 0x8C rip 0x10:0xFFFFFFFF81000000 Excp NmiBroadcast",
        );
        assert_eq!(upper, lower);
        assert_eq!(upper, mixed);
    }

    #[test]
    fn comments_and_layout() {
        let text = "# leading comment\n\
                    \tCPU 0 # cpu\r\n\
                    STATUS UC#no space needed\n\
                    \n   # only a comment\n\
                    BANK 2 # last line, no newline";
        let inj = one(text);
        assert_eq!((inj.cpu, inj.bank, inj.status), (0, 2, status::UC));
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("  # nothing\n\n#"), Ok(vec![]));
    }

    #[test]
    fn multiple_records() {
        let all = parse(
            "CPU 0 BANK 1 STATUS CORRECTED 0x17a\n\
             CPU 1 2\n STATUS UNCORRECTED HOLD IN_PROC\n\
             MCE STATUS FATAL\n\
             CPU 7 BANK 63 CMCI STATUS CORRECTED",
        )
        .unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!((all[0].cpu, all[0].bank, all[0].mode), (0, 1, Mode::Poll));
        assert_eq!(all[0].status, status::VAL | status::EN | 0x17a);
        assert_eq!(all[0].mcgstatus, 0);
        assert_eq!(
            (all[1].cpu, all[1].bank, all[1].mode),
            (1, 2, Mode::Exception)
        );
        assert!(all[1].hold);
        assert_eq!(all[1].context, Some(Context::Process));
        assert_eq!((all[2].cpu, all[2].bank), (0, 0));
        // PCC: the interrupted context cannot be restarted.
        assert_eq!(all[2].mcgstatus, mcg_status::MCIP | mcg_status::EIPV);
        assert_eq!((all[3].cpu, all[3].bank, all[3].mode), (7, 63, Mode::Cmci));
        assert!(!all[3].hold, "HOLD belongs to its own record");
    }

    #[test]
    fn defaults() {
        let uc = one("CPU 0 STATUS UNCORRECTED");
        assert_eq!(uc.mode, Mode::Exception);
        assert_eq!(uc.broadcast, Broadcast::Default);
        assert_eq!(
            uc.mcgstatus,
            mcg_status::MCIP | mcg_status::EIPV | mcg_status::RIPV
        );
        let ce = one("CPU 0 STATUS CORRECTED");
        assert_eq!((ce.mode, ce.mcgstatus), (Mode::Poll, 0));
        // An explicit MCGSTATUS, even 0, wins over the default.
        assert_eq!(one("CPU 0 STATUS UC MCGSTATUS 0").mcgstatus, 0);
        // A forced poll of a UC error gets no exception defaults.
        let polled = one("CPU 0 STATUS UC POLL");
        assert_eq!((polled.mode, polled.mcgstatus), (Mode::Poll, 0));
        // ADDR and MISC mark themselves valid wherever STATUS is.
        let late = one("CPU 0 ADDR 0x1000 MISC 0x86 STATUS VAL");
        assert_eq!(late.status, status::VAL | status::ADDRV | status::MISCV);
        // Repeating the same choice is harmless.
        let same = one("CPU 0 POLL POLL NOBROADCAST NOBROADCAST IN_IRQ IN_IRQ HOLD HOLD");
        assert_eq!((same.mode, same.broadcast), (Mode::Poll, Broadcast::None));
    }

    #[test]
    fn kernel_panic_forms() {
        let inj = one(
            "CPU 1: Machine Check Exception: 5 Bank 4: 0xb200000000000000\n\
             RIP 0x10:<0xffffffff8100abcd> {do_something+0x12/0x40}\n\
             TSC 0x1234 ADDR 0x5000 MISC 0x86\n\
             PROCESSOR 0:0x406f1 TIME 1700000000 SOCKETID 1 APICID 0x22 MCGCAP 0x1000c14",
        );
        assert_eq!((inj.cpu, inj.bank, inj.mcgstatus), (1, 4, 5));
        assert_eq!(
            inj.status,
            0xb200_0000_0000_0000 | status::ADDRV | status::MISCV
        );
        assert_eq!((inj.cs, inj.ip), (Some(0x10), Some(0xffff_ffff_8100_abcd)));
        assert_eq!(inj.tsc, Some(0x1234));
        assert_eq!(
            inj.processor,
            Some(Processor {
                vendor: 0,
                cpuid: 0x406f1
            })
        );
        assert_eq!(inj.time, Some(1_700_000_000));
        assert_eq!((inj.socketid, inj.apicid), (Some(1), Some(0x22)));
        assert_eq!(inj.mcgcap, Some(0x100_0c14));
        // mce-inject's own test file.
        let t = one("CPU 0 BANK 2\nSTATUS UNCORRECTED SRAR 0x134\nRIP 0x73:0x1eadbabe");
        assert_eq!((t.cs, t.ip), (Some(0x73), Some(0x1ead_babe)));
        assert_eq!(one("CPU 0 RIP 0x1234").cs, None);
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases: &[(&str, usize, usize, &str)] = &[
            (
                "CPU 0 BANK 1\nSTATUS UNCORRECTED SRRA 0x134",
                2,
                20,
                "unknown status flag 'SRRA'",
            ),
            (
                "CPU 0 MCGSTATUS RIPV UC",
                1,
                22,
                "unknown MCGSTATUS flag 'UC'",
            ),
            ("CPU 0\n  FROB 1", 2, 3, "unknown keyword 'FROB'"),
            (
                "CPU 0 UC",
                1,
                7,
                "flag 'UC' must follow STATUS or MCGSTATUS",
            ),
            (
                "STATUS UC",
                1,
                1,
                "expected CPU or MCE to start a record, found 'STATUS'",
            ),
            ("CPU 0 BANK 1 5", 1, 14, "expected a keyword, found '5'"),
            (
                "CPU 0 : 1",
                1,
                9,
                "expected MACHINE after CPU n:, found '1'",
            ),
            // Ranges.
            (
                "CPU 0 BANK 64",
                1,
                12,
                "bank 64 out of range (banks are 0 to 63)",
            ),
            (
                "CPU 0 0x40",
                1,
                7,
                "bank 0x40 out of range (banks are 0 to 63)",
            ),
            (
                "CPU 4294967296",
                1,
                5,
                "cpu 4294967296 out of range (at most 4294967295)",
            ),
            (
                "CPU 0 RIP 0x10000:0x1",
                1,
                11,
                "code segment 0x10000 out of range (at most 0xffff)",
            ),
            (
                "CPU 0 PROCESSOR 256:1",
                1,
                17,
                "vendor 256 out of range (at most 255)",
            ),
            // Numbers.
            (
                "CPU 0 ADDR 0x10000000000000000",
                1,
                12,
                "number '0x10000000000000000' does not fit in 64 bits",
            ),
            (
                "CPU 0 ADDR 18446744073709551616",
                1,
                12,
                "number '18446744073709551616' does not fit in 64 bits",
            ),
            ("CPU 0 MISC 0x", 1, 12, "invalid number '0x'"),
            ("CPU 0 MISC 12ab", 1, 12, "invalid number '12ab'"),
            ("CPU 0 MISC 09", 1, 12, "invalid number '09'"),
            // Missing values.
            (
                "CPU 0 BANK",
                1,
                11,
                "BANK needs a number, found end of input",
            ),
            (
                "CPU 0 BANK\n",
                2,
                1,
                "BANK needs a number, found end of input",
            ),
            ("CPU", 1, 4, "CPU needs a number, found end of input"),
            (
                "CPU 0 ADDR STATUS UC",
                1,
                12,
                "ADDR needs a number, found 'STATUS'",
            ),
            (
                "CPU 0 STATUS\nBANK 1",
                2,
                1,
                "STATUS needs a flag or number, found 'BANK'",
            ),
            (
                "CPU 0 MCGSTATUS",
                1,
                16,
                "MCGSTATUS needs a flag or number, found end of input",
            ),
            (
                "CPU 0 RIP 0x10:",
                1,
                16,
                "RIP cs: needs a number, found end of input",
            ),
            (
                "CPU 0 RIP 0x10:<0x20 STATUS UC",
                1,
                22,
                "expected '>' after the RIP, found 'STATUS'",
            ),
            (
                "CPU 0 PROCESSOR 1 2",
                1,
                19,
                "expected ':' after the vendor, found '2'",
            ),
            // Separators.
            (
                "CPU 0 STATUS | UC",
                1,
                14,
                "'|' must stand between two flags or numbers",
            ),
            (
                "CPU 0 STATUS UC |",
                1,
                17,
                "'|' must stand between two flags or numbers",
            ),
            (
                "CPU 0 STATUS UC || EN",
                1,
                18,
                "'|' must stand between two flags or numbers",
            ),
            (
                "CPU 0 STATUS UC | BANK 1",
                1,
                17,
                "'|' must stand between two flags or numbers",
            ),
            ("CPU 0 | 1", 1, 7, "expected a keyword, found '|'"),
            // Conflicts and duplicates.
            (
                "CPU 0 POLL\nEXCP",
                2,
                1,
                "EXCP conflicts with POLL earlier in this record",
            ),
            (
                "CPU 0 nobroadcast EXCP NMIBROADCAST",
                1,
                24,
                "NMIBROADCAST conflicts with NOBROADCAST earlier in this record",
            ),
            (
                "CPU 0 IN_IRQ IN_PROC",
                1,
                14,
                "IN_PROC conflicts with IN_IRQ earlier in this record",
            ),
            (
                "CPU 0 STATUS CORRECTED IRQBROADCAST",
                1,
                24,
                "IRQBROADCAST only applies to an exception (EXCP) injection",
            ),
            (
                "CPU 0 STATUS UC CMCI nmibroadcast",
                1,
                22,
                "NMIBROADCAST only applies to an exception (EXCP) injection",
            ),
            (
                "CPU 0 STATUS UC status EN",
                1,
                17,
                "STATUS is given twice in this record",
            ),
            ("CPU 0 1 BANK 2", 1, 9, "BANK is given twice in this record"),
            (
                "CPU 0: MACHINE CHECK EXCEPTION: 5 BANK 1: 0x10 STATUS 1",
                1,
                48,
                "STATUS is given twice in this record",
            ),
            // Characters.
            ("CPU 0 $", 1, 7, "unexpected character '$'"),
            ("CPU 0\nSTATUS UC é", 2, 11, "unexpected character 'é'"),
            ("é CPU", 1, 1, "unexpected character 'é'"),
            ("CPU 0\0", 1, 6, "unexpected character '\\0'"),
            (
                "CPU 0 RIP 1 {foo\n}",
                1,
                13,
                "'{' without a closing '}' on its line",
            ),
            ("CPU 0 {x}", 1, 7, "expected a keyword, found '{x}'"),
        ];
        for &(text, line, column, message) in cases {
            fails(text, line, column, message);
        }
        let e = parse("CPU 0 STATUS SRRA").unwrap_err();
        assert_eq!(e.token, "SRRA");
        assert_eq!(parse("CPU 0 BANK").unwrap_err().token, "");
    }

    #[test]
    fn errors_in_later_records_are_found() {
        fails(
            "CPU 0 STATUS UC\nCPU 1 STATUS UC\nCPU 2 BANK 99",
            3,
            12,
            "bank 99 out of range (banks are 0 to 63)",
        );
        // A record is checked as a whole when the next one starts.
        fails(
            "CPU 0 STATUS CORRECTED NMIBROADCAST\nCPU 1",
            1,
            24,
            "NMIBROADCAST only applies to an exception (EXCP) injection",
        );
    }

    /// xorshift64*: deterministic, so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// `make`'s value half of the time.
        fn maybe<T>(&mut self, make: impl FnOnce(&mut Self) -> T) -> Option<T> {
            if self.below(2) == 0 {
                Some(make(self))
            } else {
                None
            }
        }
    }

    fn round_trips(inj: &Injection) {
        let text = format(inj);
        assert_eq!(parse(&text), Ok(vec![*inj]), "{text}");
    }

    #[test]
    fn format_round_trips_parsed_records() {
        let all = parse(
            "CPU 0 BANK 1 STATUS CORRECTED\n\
             CPU 4294967295 BANK 63 STATUS 0xffffffffffffffff MCGSTATUS 0xffffffffffffffff\n\
             MCE STATUS FATAL TES_GREEN TES_YELLOW RIP 0xffff:0 IN_IRQ HOLD\n\
             CPU 2 STATUS UC CMCI NOBROADCAST ADDR 0 MISC 0\n\
             CPU 3 STATUS UC IRQBROADCAST IN_PROC TSC 0 TIME 0 SOCKETID 0 APICID 0 \
             MCGCAP 0 PROCESSOR 255:0xffffffff\n\
             CPU 4 MCGSTATUS LMCES SEAM_NR STATUS 0",
        )
        .unwrap();
        assert_eq!(all.len(), 6);
        for inj in &all {
            round_trips(inj);
        }
        let mut many = String::new();
        for inj in &all {
            many.push_str(&format(inj));
        }
        assert_eq!(parse(&many), Ok(all));
    }

    #[test]
    fn format_round_trips_random_injections() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let mut status = rng.next();
            let addr = rng.maybe(Rng::next).unwrap_or(0);
            let misc = rng.maybe(Rng::next).unwrap_or(0);
            if addr != 0 {
                status |= status::ADDRV;
            }
            if misc != 0 {
                status |= status::MISCV;
            }
            let mode = [Mode::Exception, Mode::Poll, Mode::Cmci][rng.below(3) as usize];
            let broadcast = match (mode, rng.below(4)) {
                (_, 0) => Broadcast::Default,
                (_, 1) => Broadcast::None,
                (Mode::Exception, 2) => Broadcast::Nmi,
                (Mode::Exception, _) => Broadcast::Irq,
                _ => Broadcast::None,
            };
            let ip = rng.maybe(Rng::next);
            let inj = Injection {
                cpu: rng.next() as u32,
                bank: rng.below(64) as u8,
                status,
                mcgstatus: rng.next() >> rng.below(64),
                addr,
                misc,
                ip,
                cs: ip.and_then(|_| rng.maybe(|r| r.next() as u16)),
                tsc: rng.maybe(Rng::next),
                time: rng.maybe(Rng::next),
                socketid: rng.maybe(|r| r.next() as u32),
                apicid: rng.maybe(|r| r.next() as u32),
                mcgcap: rng.maybe(Rng::next),
                processor: rng.maybe(|r| Processor {
                    vendor: r.next() as u8,
                    cpuid: r.next() as u32,
                }),
                mode,
                broadcast,
                hold: rng.below(2) == 0,
                context: [None, Some(Context::Irq), Some(Context::Process)][rng.below(3) as usize],
            };
            round_trips(&inj);
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(1);
        for _ in 0..20_000 {
            let len = rng.below(64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text);
        }
    }

    #[test]
    fn random_token_soup_never_panics() {
        let mut vocabulary: Vec<&str> = KEYWORDS.iter().map(|&(name, _)| name).collect();
        vocabulary.extend(STATUS_FLAGS.iter().map(|f| f.name));
        vocabulary.extend(MCGSTATUS_FLAGS.iter().map(|f| f.name));
        vocabulary.extend([
            "0",
            "1",
            "63",
            "64",
            "0x",
            "0x134",
            "0xffffffffffffffff",
            "99999999999999999999",
            "010",
            "08",
            ":",
            "|",
            "<",
            ">",
            "{sym}",
            "{",
            "}",
            "#",
            "\n",
            " ",
            "MACHINE",
            "CHECK",
            "EXCEPTION",
            "é",
            "$",
        ]);
        let mut rng = Rng(42);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..rng.below(24) {
                text.push_str(vocabulary[rng.below(vocabulary.len() as u64) as usize]);
                text.push(if rng.below(4) == 0 { '\n' } else { ' ' });
            }
            if let Ok(all) = parse(&text) {
                parsed += 1;
                for inj in &all {
                    round_trips(inj);
                }
            }
        }
        assert!(parsed > 100, "the soup should sometimes be valid: {parsed}");
    }
}
