//! The application-processor start-up trampoline: 16-bit real-mode code
//! that an AP runs after INIT-SIPI-SIPI, at a page below 1 MiB. It goes
//! straight from real mode to long mode (PAE, EFER.LME|NXE, CR0.PE|PG in one
//! step, then a far jump into a 64-bit code segment) and jumps to the
//! kernel's AP entry with its stack and CPU number, once it has claimed
//! them (see the claim word: an AP that arrives after the BSP gave up on it
//! must not take the next AP's).
//!
//! The code only uses offsets relative to its own start, so it runs
//! wherever it is copied; the start-up code patches the variables at its end
//! (page-table root, stack, argument, entry, and the two absolute addresses
//! real mode needs: the GDT base and the far-jump target).

use core::arch::global_asm;

global_asm!(
    r#"
.section .text.ap_trampoline, "ax"
.global ap_trampoline_start
.global ap_trampoline_end
.global ap_tr_gdt_ptr
.global ap_tr_gdt
.global ap_tr_far
.global ap_tr_long
.global ap_tr_cr3
.global ap_tr_cr4
.global ap_tr_stack
.global ap_tr_arg
.global ap_tr_entry
.global ap_tr_claim
.global ap_tr_stray
.global ap_tr_want
.code16
ap_trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    // The assembler cannot take a label difference as a memory operand, so
    // these three are spelled as bytes with a 16-bit displacement.
    // lgdt [ap_tr_gdt_ptr]
    .byte 0x0F, 0x01, 0x16
    .word ap_tr_gdt_ptr - ap_trampoline_start
    // mov eax, [ap_tr_cr4]
    .byte 0x66, 0xA1
    .word ap_tr_cr4 - ap_trampoline_start
    mov cr4, eax
    // mov eax, [ap_tr_cr3]
    .byte 0x66, 0xA1
    .word ap_tr_cr3 - ap_trampoline_start
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    or eax, 0x80010001
    mov cr0, eax
    // o32 jmp far [ap_tr_far]: the 16:32 pointer to the 64-bit code.
    .byte 0x66, 0xFF, 0x2E
    .word ap_tr_far - ap_trampoline_start
.code64
ap_tr_long:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    // Claim the parameters: only the AP they were written for may take
    // them. Its APIC id is CPUID 0xB EDX (the 32-bit x2APIC id) where leaf
    // 0xB exists, else CPUID 1 EBX[31:24]; the BSP put the id it started in
    // ap_tr_want. One that comes after the BSP gave up on it finds another
    // AP's id, or the claim revoked, and parks instead of sharing that AP's
    // stack and number.
    xor eax, eax
    cpuid
    cmp eax, 0xb
    jb 4f
    mov eax, 0xb
    xor ecx, ecx
    cpuid
    mov ebx, edx
    jmp 5f
4:
    mov eax, 1
    cpuid
    shr ebx, 24
5:
    cmp ebx, dword ptr [rip + ap_tr_want]
    jne 2f
    mov eax, 1
    mov ecx, 2
    lock cmpxchg dword ptr [rip + ap_tr_claim], ecx
    jne 2f
    mov rsp, qword ptr [rip + ap_tr_stack]
    mov rdi, qword ptr [rip + ap_tr_arg]
    mov rax, qword ptr [rip + ap_tr_entry]
    // Taken: the BSP may now write the next AP's parameters.
    mov dword ptr [rip + ap_tr_claim], 3
    jmp rax
2:
    // Say who came (the BSP names it if its AP never claims).
    mov dword ptr [rip + ap_tr_stray], ebx
3:
    cli
    hlt
    jmp 3b
.balign 8
ap_tr_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
ap_tr_gdt_ptr:
    .word 23
    .long 0
.balign 8
ap_tr_far:
    .long 0
    .word 0x08
.balign 8
ap_tr_cr3:
    .long 0
ap_tr_cr4:
    .long 0
ap_tr_stack:
    .quad 0
ap_tr_arg:
    .quad 0
ap_tr_entry:
    .quad 0
ap_tr_claim:
    .long 0
ap_tr_want:
    .long 0
ap_tr_stray:
    .long 0xffffffff
ap_trampoline_end:
.text
"#
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_tr_gdt_ptr: u8;
    static ap_tr_gdt: u8;
    static ap_tr_far: u8;
    static ap_tr_long: u8;
    static ap_tr_cr3: u8;
    static ap_tr_cr4: u8;
    static ap_tr_stack: u8;
    static ap_tr_arg: u8;
    static ap_tr_entry: u8;
    static ap_tr_claim: u8;
    static ap_tr_stray: u8;
    static ap_tr_want: u8;
}

/// The trampoline's bytes.
pub fn code() -> &'static [u8] {
    let start = &raw const ap_trampoline_start;
    let end = &raw const ap_trampoline_end;
    // SAFETY: both symbols delimit the assembled trampoline in .text, which
    // is mapped and never changes.
    unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
}

fn offset(sym: *const u8) -> usize {
    sym as usize - (&raw const ap_trampoline_start) as usize
}

/// Offsets of the variables the start-up code fills in.
pub struct Layout {
    pub gdt_ptr_base: usize,
    pub gdt: usize,
    pub far_target: usize,
    pub long_mode: usize,
    pub cr3: usize,
    pub cr4: usize,
    pub stack: usize,
    pub arg: usize,
    pub entry: usize,
    /// The claim word: [`CLAIM_OPEN`] for the AP in `want`, [`CLAIM_TAKING`]
    /// while it reads its parameters, [`CLAIM_TAKEN`] once it has, 0 when
    /// revoked.
    pub claim: usize,
    /// The APIC id of the AP the parameters are for.
    pub want: usize,
    /// Written by an AP that was not the one wanted (or came too late): its
    /// APIC id; `u32::MAX` when none came.
    pub stray: usize,
}

pub fn layout() -> Layout {
    Layout {
        // The base follows the 16-bit limit.
        gdt_ptr_base: offset(&raw const ap_tr_gdt_ptr) + 2,
        gdt: offset(&raw const ap_tr_gdt),
        far_target: offset(&raw const ap_tr_far),
        long_mode: offset(&raw const ap_tr_long),
        cr3: offset(&raw const ap_tr_cr3),
        cr4: offset(&raw const ap_tr_cr4),
        stack: offset(&raw const ap_tr_stack),
        arg: offset(&raw const ap_tr_arg),
        entry: offset(&raw const ap_tr_entry),
        claim: offset(&raw const ap_tr_claim),
        stray: offset(&raw const ap_tr_stray),
        want: offset(&raw const ap_tr_want),
    }
}

/// The parameters are there for the AP in `want`.
pub const CLAIM_OPEN: u32 = 1;
/// The AP has claimed its parameters and is reading them.
pub const CLAIM_TAKING: u32 = 2;
/// The AP has its stack and number: the page may be rewritten.
pub const CLAIM_TAKEN: u32 = 3;
