//! Poison consumed inside the kernel's user copies, both directions (Linux's
//! `error_context`: only a copy *from* user memory is a recoverable kernel
//! context):
//! * copy_from_user reading a poisoned user page: the machine check is
//!   recovered, the system call fails with EFAULT, the machine goes on;
//! * copy_to_user reading a poisoned kernel source: the kernel's own data is
//!   corrupt, the #MC is graded in kernel context and the machine panics
//!   with the reason ("Data load in unrecoverable area of kernel").
//!
//! The #MC is aimed as in tests/tests/recovery.rs: the VM is stopped, the
//! target vCPU's RIP checked to be inside the copy routine, then the error
//! injected and the VM resumed.

use tests::mce::*;
use tests::tasks::*;
use tests::*;

/// Boots; returns the VM and the copy routines' ranges from the boot log:
/// (copy from user, copy to user).
fn boot(name: &str) -> (Vm, (u64, u64), (u64, u64)) {
    let mut vm = boot_ready(name, VmOptions::default());
    vm.expect_anywhere(r"rasos> ", STEP);
    let line = vm.grep(r"tasks: user space at PML4 slot").join("");
    let re = regex::Regex::new(
        r"copy routines (0x[0-9a-f]+)-(0x[0-9a-f]+) \(from user\), (0x[0-9a-f]+)-(0x[0-9a-f]+) \(to user, page faults only\) registered",
    )
    .unwrap();
    let c = re.captures(&line).unwrap_or_else(|| panic!("{line}"));
    let from = (hex(&c[1]), hex(&c[2]));
    let to = (hex(&c[3]), hex(&c[4]));
    (vm, from, to)
}

/// vCPU state inside the copy routine `range`, in ring 0.
fn in_kernel_range(range: (u64, u64)) -> impl Fn(u32, u64) -> bool {
    move |cpl, rip| cpl == 0 && (range.0..range.1).contains(&rip)
}

#[test]
fn poison_in_the_kernel_source_of_copy_to_user_panics() {
    let (mut vm, _, to_user) = boot("ucp-to-user");
    let id = run_task(&mut vm, "copyout", 2);
    let line = vm.expect_anywhere(
        &format!(
            r"task {id} copyout: copyoutspin: copy_to_user from the kernel frame at physical (0x[0-9a-f]+) for 20000 ms$"
        ),
        STEP,
    );
    let frame = hex(line
        .split("physical ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap());
    let addr = frame + 0x100;
    inject_while(
        &mut vm,
        2,
        &format!("mce -b 2 1 {SRAR_DATA_LOAD} {RIPV_EIPV_MCIP} {addr:#x} {MISC_PHYS_LSB12}"),
        in_kernel_range(to_user),
    );
    assert_eq!(vm.exit_status(STEP), ExitKind::MachineCheckPanic);
    let out = vm.output();
    assert!(
        out.contains("mce: CPU 2 BANK 1 (exception, severity panic)"),
        "{out}"
    );
    assert!(
        out.contains("Kernel panic - not syncing: Fatal machine check: Data load in unrecoverable area of kernel"),
        "{out}"
    );
    // Not recovered as a copy: no EFAULT, no "recoverable area".
    assert!(!out.contains("fails with EFAULT"), "{out}");
    assert!(!out.contains("in error recoverable area"), "{out}");
}

#[test]
fn poison_in_the_user_source_of_copy_from_user_fails_the_call() {
    let (mut vm, from_user, _) = boot("ucp-from-user");
    let id = run_task(&mut vm, "copier", 2);
    vm.expect_anywhere(
        &format!(r"task {id} copier: copying from my page \(20 s\)$"),
        STEP,
    );
    let page = task_page(&mut vm, id, "data");
    let addr = page + 0x800;
    inject_while(
        &mut vm,
        2,
        &format!("mce -b 2 1 {SRAR_DATA_LOAD} {RIPV_EIPV_MCIP} {addr:#x} {MISC_PHYS_LSB12}"),
        in_kernel_range(from_user),
    );
    vm.expect_anywhere(r"mce: CPU 2 BANK 1 \(exception, severity SRAR\)$", STEP);
    vm.expect_anywhere(
        &format!(
            r"task {id} copier: copyspin: copy_from_user consumed poison \(machine check recovered, physical {page:#x}\); the system call fails with EFAULT$"
        ),
        STEP,
    );
    vm.expect_anywhere(&format!(r"task {id} copier: heartbeat 2$"), STEP);
    assert!(!vm.output().contains("Kernel panic"), "{}", vm.output());
    assert_eq!(vm.quit(), ExitKind::NoExitCode);
}
