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
    .global rasos_user_mcelogd
    .global rasos_user_trigger_print
    .global rasos_user_trigger_offline
    .global rasos_user_slowreader
    .global rasos_user_trigger_crash
    .global rasos_user_badreader
    .global rasos_user_napper
    .global rasos_user_copyout
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

// ---- mcelogd: the record daemon. Reads every record (reader "all") in
// struct mce form, prints each decoded, keeps per-severity counts and runs
// the trigger program of its kind (trigger.ce / trigger.uc boot keys) with
// the record as argument block, at most trigger.rate runs per second.
// The filter of its reader is the argument block's text (NUL-ended; the
// console's `mcelogd start <words>`), else the `mcelogd.filter` key, else
// all. It follows the triggers it started (task_wait, woken in mce_poll
// when one ends) and prints how each ended.
// Its page: 0 records (16), 2048 ce name, 2112 uc name, 2176.. state,
// 2304 counts by severity, 2400 running triggers (8 x: task id 8, record
// number 4, kind 4), 2560 the line being built, 3072 the filter,
// 3584 scratch, 3600 a trigger's outcome.
rasos_user_mcelogd:
    mov r15, rsi
    mov r14, rdx
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
    // The filter: the argument block's text, or the boot key.
    xor ecx, ecx
    test r14, r14
    jz 2f
1:
    movzx eax, byte ptr [r14 + rcx]
    test al, al
    jz 3f
    mov [r12 + 3072 + rcx], al
    inc ecx
    cmp ecx, 128
    jb 1b
    jmp 3f
2:
    mov eax, 14
    lea rdi, [rip + .Ls_kfilter]
    mov esi, 14
    lea rdx, [r12 + 3072]
    mov r10d, 128
    int 0x80
    mov rcx, rax
    test rcx, rcx
    jns 4f
    xor ecx, ecx
4:
    cmp rcx, 128
    jbe 3f
    mov ecx, 128
3:
    mov [r12 + 2296], rcx
    mov eax, 14
    lea rdi, [rip + .Ls_kce]
    mov esi, 10
    lea rdx, [r12 + 2048]
    mov r10d, 64
    int 0x80
    call .Ld_clamp
    mov [r12 + 2176], rax
    mov eax, 14
    lea rdi, [rip + .Ls_kuc]
    mov esi, 10
    lea rdx, [r12 + 2112]
    mov r10d, 64
    int 0x80
    call .Ld_clamp
    mov [r12 + 2184], rax
    mov eax, 14
    lea rdi, [rip + .Ls_krate]
    mov esi, 12
    lea rdx, [r12 + 3584]
    mov r10d, 16
    int 0x80
    call .Ld_clamp
    xor r8d, r8d
    xor ecx, ecx
.Ld_rate:
    cmp rcx, rax
    jae .Ld_rate_done
    movzx edx, byte ptr [r12 + 3584 + rcx]
    sub edx, 48
    cmp edx, 9
    ja .Ld_rate_done
    imul r8, r8, 10
    add r8, rdx
    inc rcx
    jmp .Ld_rate
.Ld_rate_done:
    test r8, r8
    jnz 1f
    mov r8d, 10
1:
    mov [r12 + 2192], r8
    mov rsi, [r12 + 2296]
    test rsi, rsi
    jz .Ld_open_all
    mov eax, 7
    lea rdi, [r12 + 3072]
    int 0x80
    test rax, rax
    jns .Ld_opened
    // A filter the kernel refuses (it says why): all records instead.
    mov r11, rax
    lea rbx, [r12 + 2560]
    lea rdi, [rip + .Ls_dbadfilter]
    mov esi, 8
    call .Lm_str
    lea rdi, [r12 + 3072]
    mov rsi, [r12 + 2296]
    call .Lm_str
    lea rdi, [rip + .Ls_dbadfilter2]
    mov esi, 18
    call .Lm_str
    mov rax, r11
    neg rax
    call .Lm_dec
    lea rdi, [rip + .Ls_dbadfilter3]
    mov esi, 22
    call .Lm_str
    call .Lm_flush
.Ld_open_all:
    mov eax, 7
    lea rdi, [rip + .Ls_all]
    mov esi, 3
    int 0x80
    test rax, rax
    js .Ld_openfail
.Ld_opened:
    mov [r12 + 2232], rax
    lea rdi, [rip + .Ls_dreading]
    mov esi, 28
    mov rdx, rax
    call .Lu_print_num
.Ld_loop:
    call .Ld_reap
    mov eax, 9
    mov rdi, [r12 + 2232]
    mov esi, 1000
    int 0x80
    test rax, rax
    js .Ld_err
    jz .Ld_loop
    mov eax, 8
    mov rdi, [r12 + 2232]
    mov rsi, r12
    mov edx, 2048
    int 0x80
    test rax, rax
    js .Ld_err
    jz .Ld_loop
    mov r13, rax
    mov r14, r12
.Ld_rec:
    call .Ld_one
    add r14, 128
    dec r13
    jnz .Ld_rec
    call .Ld_summary
    jmp .Ld_loop
.Ld_err:
    neg rax
    lea rdi, [rip + .Ls_dreadfail]
    mov esi, 20
    mov rdx, rax
    call .Lu_print_num
    mov eax, 4
    mov edi, 1000
    int 0x80
    jmp .Ld_loop
.Ld_openfail:
    lea rdi, [rip + .Ls_dopenfail]
    mov esi, 28
    jmp .Lu_die

// rax: a getconf result → 0 if an error, at most 64.
.Ld_clamp:
    test rax, rax
    jns 1f
    xor eax, eax
1:
    cmp rax, 64
    jbe 2f
    mov eax, 64
2:
    ret

// One record at r14: count it, print it decoded, run its trigger.
.Ld_one:
    inc qword ptr [r12 + 2216]
    movzx eax, byte ptr [r14 + 58]
    and eax, 7
    inc qword ptr [r12 + 2304 + rax * 8]
    lea rbx, [r12 + 2560]
    lea rdi, [rip + .Ls_drecord]
    mov esi, 7
    call .Lm_str
    mov rax, [r12 + 2216]
    call .Lm_dec
    lea rdi, [rip + .Ls_dcpu]
    mov esi, 6
    call .Lm_str
    mov eax, [r14 + 68]
    call .Lm_dec
    lea rdi, [rip + .Ls_dbank]
    mov esi, 6
    call .Lm_str
    movzx eax, byte ptr [r14 + 65]
    call .Lm_dec
    mov rax, [r14]
    bt rax, 61
    jc 1f
    inc qword ptr [r12 + 2240]
    lea rdi, [rip + .Ls_dce]
    mov esi, 10
    jmp 2f
1:
    inc qword ptr [r12 + 2248]
    lea rdi, [rip + .Ls_duc]
    mov esi, 12
2:
    call .Lm_str
    lea rdi, [rip + .Ls_dsev]
    mov esi, 11
    call .Lm_str
    movzx eax, byte ptr [r14 + 58]
    and eax, 7
    call .Lm_sevname
    lea rdi, [rip + .Ls_dmcacod]
    mov esi, 9
    call .Lm_str
    movzx eax, word ptr [r14]
    call .Lm_hex
    lea rdi, [rip + .Ls_dstatus]
    mov esi, 9
    call .Lm_str
    mov rax, [r14]
    call .Lm_hex
    mov rax, [r14]
    bt rax, 58
    jnc 3f
    lea rdi, [rip + .Ls_daddr]
    mov esi, 7
    call .Lm_str
    mov rax, [r14 + 16]
    call .Lm_hex
3:
    call .Lm_flush
    // Its trigger, by kind.
    mov rax, [r14]
    bt rax, 61
    jc 4f
    lea rax, [r12 + 2048]
    mov rcx, [r12 + 2176]
    jmp 5f
4:
    lea rax, [r12 + 2112]
    mov rcx, [r12 + 2184]
5:
    test rcx, rcx
    jz 9f
    mov [r12 + 2272], rax
    mov [r12 + 2280], rcx
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov rcx, rax
    sub rcx, [r12 + 2200]
    cmp rcx, r15
    jb 6f
    mov [r12 + 2200], rax
    mov qword ptr [r12 + 2208], 0
6:
    mov rax, [r12 + 2208]
    cmp rax, [r12 + 2192]
    jae 8f
    inc qword ptr [r12 + 2208]
    mov eax, 12
    mov rdi, [r12 + 2272]
    mov rsi, [r12 + 2280]
    mov rdx, r14
    int 0x80
    mov [r12 + 2288], rax
    call .Ld_trigger_head
    mov rax, [r12 + 2288]
    test rax, rax
    js 7f
    inc qword ptr [r12 + 2256]
    // Follow it in a free slot (with none free, only the kernel's own
    // line says how it ended).
    xor ecx, ecx
10:
    lea rdx, [r12 + 2400]
    mov rsi, rcx
    shl rsi, 4
    add rdx, rsi
    cmp qword ptr [rdx], 0
    je 11f
    inc ecx
    cmp ecx, 8
    jb 10b
    jmp 12f
11:
    mov rax, [r12 + 2288]
    mov [rdx], rax
    mov eax, [r12 + 2216]
    mov [rdx + 8], eax
    mov rax, [r14]
    shr rax, 61
    and eax, 1
    mov [rdx + 12], eax
12:
    lea rdi, [rip + .Ls_dstarted]
    mov esi, 16
    call .Lm_str
    mov rax, [r12 + 2288]
    call .Lm_dec
    jmp .Ld_for_record
7:
    cmp qword ptr [r12 + 2288], -2
    jne 13f
    lea rdi, [rip + .Ls_dnoprog]
    mov esi, 34
    call .Lm_str
    jmp .Ld_for_record
13:
    lea rdi, [rip + .Ls_dfailed]
    mov esi, 15
    call .Lm_str
    mov rax, [r12 + 2288]
    neg rax
    call .Lm_dec
    jmp .Ld_for_record
8:
    inc qword ptr [r12 + 2264]
    call .Ld_trigger_head
    lea rdi, [rip + .Ls_dlimited]
    mov esi, 23
    call .Lm_str
    mov rax, [r12 + 2192]
    call .Lm_dec
    lea rdi, [rip + .Ls_dpersec]
    mov esi, 11
    call .Lm_str
.Ld_for_record:
    lea rdi, [rip + .Ls_dforrec]
    mov esi, 12
    call .Lm_str
    mov rax, [r12 + 2216]
    call .Lm_dec
    call .Lm_flush
9:
    ret

// Every followed trigger that ended: "trigger <name>: task <id> for
// record <k> <outcome>" (the kernel's words: exited with code N, killed:
// reason), and its slot is freed. r9-r11 are scratch here.
.Ld_reap:
    xor r9d, r9d
1:
    lea r10, [r12 + 2400]
    mov rax, r9
    shl rax, 4
    add r10, rax
    mov rdi, [r10]
    test rdi, rdi
    jz 8f
    mov eax, 15
    lea rsi, [r12 + 3600]
    mov edx, 240
    int 0x80
    test rax, rax
    jz 8f
    mov r11, rax
    mov eax, [r10 + 12]
    test eax, eax
    jnz 2f
    lea rax, [r12 + 2048]
    mov rcx, [r12 + 2176]
    jmp 3f
2:
    lea rax, [r12 + 2112]
    mov rcx, [r12 + 2184]
3:
    mov [r12 + 2272], rax
    mov [r12 + 2280], rcx
    call .Ld_trigger_head
    lea rdi, [rip + .Ls_dtask]
    mov esi, 5
    call .Lm_str
    mov rax, [r10]
    call .Lm_dec
    lea rdi, [rip + .Ls_dforrec]
    mov esi, 12
    call .Lm_str
    mov eax, [r10 + 8]
    call .Lm_dec
    mov byte ptr [rbx], 32
    inc rbx
    test r11, r11
    js 4f
    mov rsi, r11
    cmp rsi, 240
    jbe 5f
    mov esi, 240
5:
    lea rdi, [r12 + 3600]
    call .Lm_str
    jmp 6f
4:
    lea rdi, [rip + .Ls_dlosttrack]
    mov esi, 25
    call .Lm_str
    mov rax, r11
    neg rax
    call .Lm_dec
6:
    call .Lm_flush
    mov qword ptr [r10], 0
8:
    inc r9
    cmp r9, 8
    jb 1b
    ret

// "trigger <name> " into a fresh line.
.Ld_trigger_head:
    lea rbx, [r12 + 2560]
    lea rdi, [rip + .Ls_dtrigger]
    mov esi, 8
    call .Lm_str
    mov rdi, [r12 + 2272]
    mov rsi, [r12 + 2280]
    call .Lm_str
    lea rdi, [rip + .Ls_dsep]
    mov esi, 2
    call .Lm_str
    ret

// "counts: records T, corrected C, uncorrected U, <severity> N..., lost L"
.Ld_summary:
    lea rbx, [r12 + 2560]
    lea rdi, [rip + .Ls_dcounts]
    mov esi, 16
    call .Lm_str
    mov rax, [r12 + 2216]
    call .Lm_dec
    lea rdi, [rip + .Ls_dcorr]
    mov esi, 12
    call .Lm_str
    mov rax, [r12 + 2240]
    call .Lm_dec
    lea rdi, [rip + .Ls_duncorr]
    mov esi, 14
    call .Lm_str
    mov rax, [r12 + 2248]
    call .Lm_dec
    xor r9d, r9d
1:
    mov rax, [r12 + 2304 + r9 * 8]
    test rax, rax
    jz 2f
    mov byte ptr [rbx], 44
    mov byte ptr [rbx + 1], 32
    add rbx, 2
    mov rax, r9
    call .Lm_sevname
    mov byte ptr [rbx], 32
    inc rbx
    mov rax, [r12 + 2304 + r9 * 8]
    call .Lm_dec
2:
    inc r9
    cmp r9, 8
    jb 1b
    mov eax, 10
    mov rdi, [r12 + 2232]
    int 0x80
    mov [r12 + 2224], rax
    lea rdi, [rip + .Ls_dlost]
    mov esi, 7
    call .Lm_str
    mov rax, [r12 + 2224]
    call .Lm_dec
    call .Lm_flush
    ret

// ---- trigger-print: prints the record it was started with (rdx).
rasos_user_trigger_print:
    test rdx, rdx
    jz .Lp_none
    mov r14, rdx
    sub rsp, 512
    mov r12, rsp
    lea rbx, [r12 + 0]
    lea rdi, [rip + .Ls_precord]
    mov esi, 12
    call .Lm_str
    mov eax, [r14 + 68]
    call .Lm_dec
    lea rdi, [rip + .Ls_dbank]
    mov esi, 6
    call .Lm_str
    movzx eax, byte ptr [r14 + 65]
    call .Lm_dec
    lea rdi, [rip + .Ls_dstatus]
    mov esi, 9
    call .Lm_str
    mov rax, [r14]
    call .Lm_hex
    lea rdi, [rip + .Ls_daddr]
    mov esi, 7
    call .Lm_str
    mov rax, [r14 + 16]
    call .Lm_hex
    lea rdi, [rip + .Ls_dsev]
    mov esi, 11
    call .Lm_str
    movzx eax, byte ptr [r14 + 58]
    and eax, 7
    call .Lm_sevname
    mov rdi, r12
    mov rsi, rbx
    sub rsi, rdi
    mov eax, 1
    int 0x80
    mov eax, 2
    xor edi, edi
    int 0x80
.Lp_none:
    lea rdi, [rip + .Ls_pnone]
    mov esi, 25
    jmp .Lu_die

// ---- trigger-offline: offlines the page of its record's address.
rasos_user_trigger_offline:
    test rdx, rdx
    jz .Lp_none
    mov rax, [rdx]
    bt rax, 58
    jnc .Lo_noaddr
    mov rdi, [rdx + 16]
    mov r12, rdi
    mov eax, 13
    int 0x80
    test rax, rax
    js .Lo_fail
    lea rdi, [rip + .Ls_ooffl]
    mov esi, 23
    mov rdx, r12
    shr rdx, 12
    call .Lu_print_num
    mov eax, 2
    xor edi, edi
    int 0x80
.Lo_fail:
    lea rdi, [rip + .Ls_ofail]
    mov esi, 20
    jmp .Lu_die
.Lo_noaddr:
    lea rdi, [rip + .Ls_onoaddr]
    mov esi, 46
    mov eax, 1
    int 0x80
    mov eax, 2
    mov edi, 2
    int 0x80

// ---- slowreader: a reader of corrected errors that takes one record
// every 500 ms and says where it stands (delivered, lost, still queued).
rasos_user_slowreader:
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
    mov eax, 7
    lea rdi, [rip + .Ls_kindce]
    mov esi, 7
    int 0x80
    test rax, rax
    js .Ld_openfail
    mov r13, rax
    xor r14d, r14d
    lea rdi, [rip + .Ls_sreader]
    mov esi, 7
    mov rdx, r13
    call .Lu_print_num
.Lr_loop:
    mov eax, 9
    mov rdi, r13
    mov esi, 60000
    int 0x80
    test rax, rax
    jz .Lr_loop
    js .Lr_err
    mov eax, 4
    mov edi, 500
    int 0x80
    mov eax, 8
    mov rdi, r13
    mov rsi, r12
    mov edx, 128
    int 0x80
    test rax, rax
    js .Lr_err
    add r14, rax
    lea rbx, [r12 + 2048]
    lea rdi, [rip + .Ls_sdeliv]
    mov esi, 10
    call .Lm_str
    mov rax, r14
    call .Lm_dec
    lea rdi, [rip + .Ls_dlost]
    mov esi, 7
    call .Lm_str
    mov eax, 10
    mov rdi, r13
    int 0x80
    call .Lm_dec
    lea rdi, [rip + .Ls_squeued]
    mov esi, 9
    call .Lm_str
    mov eax, 9
    mov rdi, r13
    xor esi, esi
    int 0x80
    call .Lm_dec
    lea rdi, [r12 + 2048]
    mov rsi, rbx
    sub rsi, rdi
    mov eax, 1
    int 0x80
    jmp .Lr_loop

.Lr_err:
    lea rdi, [rip + .Ls_dreadfail]
    mov esi, 20
    neg rax
    mov rdx, rax
    call .Lu_print_num
    mov eax, 2
    mov edi, 1
    int 0x80

// ---- trigger-crash: a trigger that faults (reads address 0); the kernel
// kills it and mcelogd says so.
rasos_user_trigger_crash:
    lea rdi, [rip + .Ls_ccrash]
    mov esi, 39
    mov eax, 1
    int 0x80
    xor eax, eax
    mov rax, [rax]
    ud2

// ---- badreader: a reader that passes bad input to the record-reader
// calls, one case per line (`<case>: <result>`, negative = -errno), then
// shows its records were kept (a misaligned read) and exits with code 0.
// Wants a record logged before it starts.
rasos_user_badreader:
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
    mov eax, 7
    lea rdi, [rip + .Ls_bcolour]
    mov esi, 10
    int 0x80
    lea rdi, [rip + .Ls_bopen_word]
    mov esi, 32
    call .Lb_report
    mov eax, 7
    movabs rdi, 0xffff800000000000
    mov esi, 3
    int 0x80
    lea rdi, [rip + .Ls_bopen_kernel]
    mov esi, 36
    call .Lb_report
    mov eax, 7
    mov rdi, r12
    mov esi, 4096
    int 0x80
    lea rdi, [rip + .Ls_bopen_long]
    mov esi, 32
    call .Lb_report
    mov eax, 7
    lea rdi, [rip + .Ls_all]
    mov esi, 3
    int 0x80
    test rax, rax
    js .Ld_openfail
    mov r13, rax
    mov eax, 9
    mov rdi, r13
    mov esi, 30000
    int 0x80
    lea rdi, [rip + .Ls_bqueued]
    mov esi, 15
    call .Lb_report
    mov eax, 8
    mov rdi, r13
    mov rsi, r12
    xor edx, edx
    int 0x80
    lea rdi, [rip + .Ls_bread_0]
    mov esi, 16
    call .Lb_report
    mov eax, 8
    mov rdi, r13
    mov rsi, r12
    mov edx, 100
    int 0x80
    lea rdi, [rip + .Ls_bread_100]
    mov esi, 18
    call .Lb_report
    mov eax, 8
    mov rdi, r13
    mov rsi, r12
    movabs rdx, 0x4000000000000000
    int 0x80
    lea rdi, [rip + .Ls_bread_huge]
    mov esi, 19
    call .Lb_report
    mov eax, 8
    mov rdi, r13
    movabs rsi, 0xffff800000000000
    mov edx, 128
    int 0x80
    lea rdi, [rip + .Ls_bread_kernel]
    mov esi, 26
    call .Lb_report
    mov eax, 8
    mov rdi, r13
    lea rsi, [r12 + 0x100000]
    mov edx, 128
    int 0x80
    lea rdi, [rip + .Ls_bread_unmapped]
    mov esi, 26
    call .Lb_report
    mov eax, 8
    mov rdi, r13
    lea rsi, [r12 + 4000]
    mov edx, 128
    int 0x80
    lea rdi, [rip + .Ls_bread_edge]
    mov esi, 31
    call .Lb_report
    mov eax, 8
    mov edi, 99
    mov rsi, r12
    mov edx, 128
    int 0x80
    lea rdi, [rip + .Ls_bread_id]
    mov esi, 19
    call .Lb_report
    mov eax, 9
    mov edi, 99
    xor esi, esi
    int 0x80
    lea rdi, [rip + .Ls_bpoll_id]
    mov esi, 17
    call .Lb_report
    mov eax, 15
    mov edi, 1
    mov rsi, r12
    mov edx, 64
    int 0x80
    lea rdi, [rip + .Ls_bwait]
    mov esi, 20
    call .Lb_report
    // Nothing was lost: a misaligned buffer is fine and gets the record.
    mov eax, 8
    mov rdi, r13
    lea rsi, [r12 + 1]
    mov edx, 128
    int 0x80
    lea rdi, [rip + .Ls_bread_odd]
    mov esi, 29
    call .Lb_report
    lea rbx, [r12 + 2560]
    lea rdi, [rip + .Ls_bfirst]
    mov esi, 25
    call .Lm_str
    mov rax, [r12 + 1]
    call .Lm_hex
    call .Lm_flush
    mov eax, 10
    mov rdi, r13
    int 0x80
    lea rdi, [rip + .Ls_blost]
    mov esi, 12
    call .Lb_report
    lea rdi, [rip + .Ls_bdone]
    mov esi, 5
    mov eax, 1
    int 0x80
    mov eax, 2
    xor edi, edi
    int 0x80

// "<rdi, rsi>: <rax as a signed number>" as a line.
.Lb_report:
    mov r11, rax
    lea rbx, [r12 + 2560]
    call .Lm_str
    mov byte ptr [rbx], 58
    mov byte ptr [rbx + 1], 32
    add rbx, 2
    mov rax, r11
    test rax, rax
    jns 1f
    mov byte ptr [rbx], 45
    inc rbx
    neg rax
1:
    call .Lm_dec
    call .Lm_flush
    ret

// ---- line building (rbx = the cursor); clobber rax, rcx, rdx, rsi,
// rdi, r8.
.Lm_str:
    test rsi, rsi
    jz 2f
1:
    mov al, [rdi]
    mov [rbx], al
    inc rdi
    inc rbx
    dec rsi
    jnz 1b
2:
    ret
.Lm_sevname:
    lea rdi, [rip + .Ls_sevnames]
    lea rdi, [rdi + rax * 8]
    mov ecx, 8
1:
    mov al, [rdi]
    test al, al
    jz 2f
    mov [rbx], al
    inc rdi
    inc rbx
    dec ecx
    jnz 1b
2:
    ret
.Lm_dec:
    mov ecx, 10
    jmp .Lm_num
.Lm_hex:
    mov byte ptr [rbx], 48
    mov byte ptr [rbx + 1], 120
    add rbx, 2
    mov ecx, 16
.Lm_num:
    sub rsp, 32
    lea r8, [rsp + 32]
1:
    xor edx, edx
    div rcx
    add dl, 48
    cmp dl, 57
    jbe 2f
    add dl, 39
2:
    dec r8
    mov [r8], dl
    test rax, rax
    jnz 1b
    lea rcx, [rsp + 32]
3:
    cmp r8, rcx
    jae 4f
    mov al, [r8]
    mov [rbx], al
    inc rbx
    inc r8
    jmp 3b
4:
    add rsp, 32
    ret
// Writes the line (r12 + 2560 up to rbx).
.Lm_flush:
    lea rdi, [r12 + 2560]
    mov rsi, rbx
    sub rsi, rdi
    mov eax, 1
    int 0x80
    ret

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
.Ls_kce: .ascii "trigger.ce"
.Ls_kuc: .ascii "trigger.uc"
.Ls_krate: .ascii "trigger.rate"
.Ls_all: .ascii "all"
.Ls_dreading: .ascii "reading records from reader "
.Ls_dreadfail: .ascii "read failed: error -"
.Ls_dopenfail: .ascii "cannot open a record reader\n"
.Ls_drecord: .ascii "record "
.Ls_dcpu: .ascii ": CPU "
.Ls_dbank: .ascii " BANK "
.Ls_dce: .ascii " corrected"
.Ls_duc: .ascii " uncorrected"
.Ls_dsev: .ascii ", severity "
.Ls_dmcacod: .ascii ", MCACOD "
.Ls_dstatus: .ascii ", STATUS "
.Ls_daddr: .ascii ", ADDR "
.Ls_dstarted: .ascii "started as task "
.Ls_dfailed: .ascii "failed: error -"
.Ls_dlimited: .ascii "skipped: rate limit of "
.Ls_dpersec: .ascii " per second"
.Ls_dforrec: .ascii " for record "
.Ls_dtrigger: .ascii "trigger "
.Ls_dsep: .ascii ": "
.Ls_dcounts: .ascii "counts: records "
.Ls_dcorr: .ascii ", corrected "
.Ls_duncorr: .ascii ", uncorrected "
.Ls_dlost: .ascii ", lost "
.Ls_precord: .ascii "record: CPU "
.Ls_pnone: .ascii "started without a record\n"
.Ls_ooffl: .ascii "offlined the page, pfn "
.Ls_ofail: .ascii "offline_page failed\n"
.Ls_onoaddr: .ascii "the record has no address; nothing to offline\n"
.Ls_kindce: .ascii "kind=ce"
.Ls_sreader: .ascii "reader "
.Ls_sdeliv: .ascii "delivered "
.Ls_squeued: .ascii ", queued "
.Ls_kfilter: .ascii "mcelogd.filter"
.Ls_dbadfilter: .ascii "filter '"
.Ls_dbadfilter2: .ascii "' refused (error -"
.Ls_dbadfilter3: .ascii "); reading all records"
.Ls_dnoprog: .ascii "failed: no such program (error -2)"
.Ls_dtask: .ascii "task "
.Ls_dlosttrack: .ascii "lost track of it: error -"
.Ls_ccrash: .ascii "crashing on purpose: reading address 0\n"
.Ls_bcolour: .ascii "colour=red"
.Ls_bopen_word: .ascii "open with an unknown filter word"
.Ls_bopen_kernel: .ascii "open with a kernel address as filter"
.Ls_bopen_long: .ascii "open with a filter of 4096 bytes"
.Ls_bqueued: .ascii "records waiting"
.Ls_bread_0: .ascii "read of length 0"
.Ls_bread_100: .ascii "read of length 100"
.Ls_bread_huge: .ascii "read of length 2^62"
.Ls_bread_kernel: .ascii "read into a kernel address"
.Ls_bread_unmapped: .ascii "read into an unmapped page"
.Ls_bread_edge: .ascii "read across the end of the page"
.Ls_bread_id: .ascii "read from reader 99"
.Ls_bpoll_id: .ascii "poll of reader 99"
.Ls_bwait: .ascii "task_wait for task 1"
.Ls_bread_odd: .ascii "read into a misaligned buffer"
.Ls_bfirst: .ascii "its first record: STATUS "
.Ls_blost: .ascii "records lost"
.Ls_bdone: .ascii "done\n"
.Ls_sevnames: .ascii "noerror\0deferredkeep\0\0\0\0some\0\0\0\0ao\0\0\0\0\0\0uc\0\0\0\0\0\0ar\0\0\0\0\0\0panic\0\0\0"
// ---- napper: maps a page and fills it, then sleeps with a heartbeat
// every 500 ms. Once the first word of its stack page is non-zero (a test
// sets it from outside the guest) it reads its page again every round and
// says so; until then it never touches the page.
rasos_user_napper:
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
    mov rdi, r12
    mov ecx, 4096
    mov al, 0x5a
    rep stosb
    xor r13d, r13d
.Ln_loop:
    inc r13
    lea rdi, [rip + .Ls_heartbeat]
    mov esi, 10
    mov rdx, r13
    call .Lu_print_num
    mov eax, 4
    mov edi, 500
    int 0x80
    lea rax, [rsp - 8]
    and rax, -4096
    cmp qword ptr [rax], 0
    je .Ln_loop
    movzx edx, byte ptr [r12]
    lea rdi, [rip + .Ls_nreread]
    mov esi, 20
    call .Lu_print_num
    jmp .Ln_loop
.Ls_nreread: .ascii "read my page again: "

// ---- copyout: has the kernel copy into its page with copy_to_user for
// 20 s at a time (test system call 64), from a kernel frame; reports it.
rasos_user_copyout:
    mov eax, 5
    int 0x80
    test rax, rax
    js .Lt_nomem
    mov r12, rax
.Lco_loop:
    mov eax, 64
    mov rdi, r12
    mov esi, 4096
    mov edx, 20000
    int 0x80
    mov rdx, rax
    lea rdi, [rip + .Ls_copied]
    mov esi, 7
    call .Lu_print_num
    jmp .Lco_loop

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
    static rasos_user_mcelogd: u8;
    static rasos_user_trigger_print: u8;
    static rasos_user_trigger_offline: u8;
    static rasos_user_slowreader: u8;
    static rasos_user_trigger_crash: u8;
    static rasos_user_badreader: u8;
    static rasos_user_napper: u8;
    static rasos_user_copyout: u8;
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
pub fn all() -> [Program; 13] {
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
        Program {
            name: "mcelogd",
            entry: offset(&raw const rasos_user_mcelogd),
            about:
                "the record daemon: reads every record, prints it decoded, counts, runs triggers",
        },
        Program {
            name: "trigger-print",
            entry: offset(&raw const rasos_user_trigger_print),
            about: "trigger: prints the record it was started with",
        },
        Program {
            name: "trigger-offline",
            entry: offset(&raw const rasos_user_trigger_offline),
            about: "trigger: offlines the page of its record's address (system call)",
        },
        Program {
            name: "slowreader",
            entry: offset(&raw const rasos_user_slowreader),
            about: "reads corrected-error records slowly, one per 500 ms (test)",
        },
        Program {
            name: "trigger-crash",
            entry: offset(&raw const rasos_user_trigger_crash),
            about: "trigger: crashes (reads address 0) to show mcelogd reporting it (test)",
        },
        Program {
            name: "badreader",
            entry: offset(&raw const rasos_user_badreader),
            about: "passes bad buffers, lengths and ids to the record reader calls (test)",
        },
        Program {
            name: "napper",
            entry: offset(&raw const rasos_user_napper),
            about: "maps a page, then sleeps; reads the page again once told to (test: late kill)",
        },
        Program {
            name: "copyout",
            entry: offset(&raw const rasos_user_copyout),
            about: "has the kernel copy into its page with copy_to_user for 20 s (test)",
        },
    ]
}

/// The program called `name`.
pub fn find(name: &str) -> Option<Program> {
    all().into_iter().find(|p| p.name == name)
}
