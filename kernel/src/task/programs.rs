//! The user programs built into the kernel.
//!
//! They are position-independent x86-64 assembly in one image (between
//! `rasos_user_image_start` and `_end`, in read-only data: the kernel never
//! executes it). Every task gets its own copy of the whole image in its code
//! page(s) at [`super::CODE_VA`] and starts at its program's entry offset.
//! Assembly rather than Rust functions copied out of the kernel because a
//! copied Rust function may call other kernel functions or read kernel data
//! through relocations; this image references nothing outside itself (its
//! strings included, all RIP-relative).
//!
//! Conventions: entry with rdi = task id, rsi = TSC ticks per second and rsp
//! at the top of the task's stack page. System calls are `int 0x80` with the
//! number in rax and arguments in rdi, rsi, rdx; the result comes back in
//! rax and every other register is preserved (see [`super::syscall`]).
//! The programs use no SSE/x87 (the kernel does not save that state) and
//! never load a segment register (GS must stay the kernel's; see
//! `percpu.rs`).

/// One program: its name and entry offset in the image.
pub struct Program {
    pub name: &'static str,
    pub entry: usize,
    pub about: &'static str,
}

core::arch::global_asm!(
    r#"
    .section .rodata.rasos_user_image, "a"
    .balign 16
    .global rasos_user_image_start
    .global rasos_user_image_end
    .global rasos_user_toucher
    .global rasos_user_counter
    .global rasos_user_copier
    .global rasos_user_spinner
    .global rasos_user_faulter
rasos_user_image_start:

// ---- toucher: one page, written with a pattern and read back, forever;
// a heartbeat line about every second (from the TSC, no system call in
// the loop, so the CPU stays in user mode).
rasos_user_toucher:
    mov r15, rsi
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
    xor r13d, r13d
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r14, rax
    movabs rbx, 0x5a5a5a5a00000000
.Lt_round:
    inc rbx
    mov rdi, r12
    mov ecx, 512
.Lt_fill:
    mov [rdi], rbx
    add rdi, 8
    dec ecx
    jnz .Lt_fill
    mov rdi, r12
    mov ecx, 512
.Lt_check:
    cmp [rdi], rbx
    jne .Lt_bad
    add rdi, 8
    dec ecx
    jnz .Lt_check
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov rcx, rax
    sub rcx, r14
    cmp rcx, r15
    jb .Lt_round
    mov r14, rax
    inc r13
    lea rdi, [rip + .Ls_heartbeat]
    mov esi, 10
    mov rdx, r13
    call .Lu_print_num
    jmp .Lt_round
.Lt_bad:
    lea rdi, [rip + .Ls_mismatch]
    mov esi, 17
    jmp .Lu_die
.Lt_nomem:
    lea rdi, [rip + .Ls_nomem]
    mov esi, 14
    jmp .Lu_die

// ---- counter: a heartbeat line every second, sleeping in between.
rasos_user_counter:
    xor r12d, r12d
.Lc_loop:
    inc r12
    lea rdi, [rip + .Ls_heartbeat]
    mov esi, 10
    mov rdx, r12
    call .Lu_print_num
    mov eax, 4
    mov edi, 1000
    int 0x80
    jmp .Lc_loop

// ---- copier: fills a page, then asks the kernel to copy it from user
// memory again and again for 20 s (test system call 6); reports the result.
rasos_user_copier:
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
    mov rdi, r12
    mov ecx, 4096
    mov al, 0xa5
    rep stosb
.Lcp_loop:
    lea rdi, [rip + .Ls_copying]
    mov esi, 28
    mov eax, 1
    int 0x80
    mov eax, 6
    mov rdi, r12
    mov esi, 4096
    mov edx, 20000
    int 0x80
    test rax, rax
    js .Lcp_err
    lea rdi, [rip + .Ls_copied]
    mov esi, 7
    mov rdx, rax
    call .Lu_print_num
    jmp .Lcp_loop
.Lcp_err:
    neg rax
    lea rdi, [rip + .Ls_copyfail]
    mov esi, 20
    mov rdx, rax
    call .Lu_print_num
    // Keep going without the page: heartbeats while sleeping.
    xor r13d, r13d
.Lcp_after:
    inc r13
    lea rdi, [rip + .Ls_heartbeat]
    mov esi, 10
    mov rdx, r13
    call .Lu_print_num
    mov eax, 4
    mov edi, 1000
    int 0x80
    jmp .Lcp_after

// ---- spinner: a tight loop in user mode, nothing else.
rasos_user_spinner:
    jmp rasos_user_spinner

// ---- faulter: touches an unmapped address (the kernel kills it).
rasos_user_faulter:
    lea rdi, [rip + .Ls_faulting]
    mov esi, 21
    mov eax, 1
    int 0x80
    xor eax, eax
    mov qword ptr [rax], 1
    jmp rasos_user_faulter

// ---- library
// .Lu_die: write(rdi, rsi), then exit(1).
.Lu_die:
    mov eax, 1
    int 0x80
    mov eax, 2
    mov edi, 1
    int 0x80
    ud2

// .Lu_print_num: writes "<prefix><decimal rdx>\n"; rdi = prefix, rsi = its
// length (at most 64). Clobbers rax, rcx, rdx, rsi, rdi, r8-r10.
.Lu_print_num:
    sub rsp, 104
    xor ecx, ecx
6:
    cmp rcx, rsi
    jae 2f
    mov al, [rdi + rcx]
    mov [rsp + rcx], al
    inc rcx
    jmp 6b
2:
    lea r8, [rsp + 96]
    mov rax, rdx
    mov r9, 10
3:
    xor edx, edx
    div r9
    add dl, 48
    dec r8
    mov [r8], dl
    test rax, rax
    jnz 3b
    lea r10, [rsp + 96]
4:
    cmp r8, r10
    jae 5f
    mov al, [r8]
    mov [rsp + rcx], al
    inc rcx
    inc r8
    jmp 4b
5:
    mov byte ptr [rsp + rcx], 10
    inc rcx
    mov rdi, rsp
    mov rsi, rcx
    mov eax, 1
    int 0x80
    add rsp, 104
    ret

.Ls_heartbeat: .ascii "heartbeat "
.Ls_mismatch: .ascii "pattern mismatch\n"
.Ls_nomem: .ascii "out of memory\n"
.Ls_copying: .ascii "copying from my page (20 s)\n"
.Ls_copied: .ascii "copied "
.Ls_copyfail: .ascii "copy failed: error -"
.Ls_faulting: .ascii "writing to address 0\n"
rasos_user_image_end:
    .text
"#
);

extern "C" {
    static rasos_user_image_start: u8;
    static rasos_user_image_end: u8;
    static rasos_user_toucher: u8;
    static rasos_user_counter: u8;
    static rasos_user_copier: u8;
    static rasos_user_spinner: u8;
    static rasos_user_faulter: u8;
}

/// The image's bytes.
pub fn image() -> &'static [u8] {
    let start = &raw const rasos_user_image_start;
    let end = &raw const rasos_user_image_end;
    // SAFETY: the two labels delimit one block of read-only data in this
    // binary (end after start, same section); it is never written.
    unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
}

fn offset(label: *const u8) -> usize {
    label as usize - &raw const rasos_user_image_start as usize
}

/// Every program, by name.
pub fn all() -> [Program; 5] {
    [
        Program {
            name: "toucher",
            entry: offset(&raw const rasos_user_toucher),
            about:
                "maps a page, writes a pattern and reads it back forever; heartbeat every second",
        },
        Program {
            name: "counter",
            entry: offset(&raw const rasos_user_counter),
            about: "heartbeat every second, sleeping in between",
        },
        Program {
            name: "copier",
            entry: offset(&raw const rasos_user_copier),
            about: "has the kernel copy its page with copy_from_user for 20 s (test)",
        },
        Program {
            name: "spinner",
            entry: offset(&raw const rasos_user_spinner),
            about: "a busy loop in user mode",
        },
        Program {
            name: "faulter",
            entry: offset(&raw const rasos_user_faulter),
            about: "writes to address 0 and is killed by the page fault",
        },
    ]
}

/// The program called `name`.
pub fn find(name: &str) -> Option<Program> {
    all().into_iter().find(|p| p.name == name)
}
