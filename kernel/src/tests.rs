//! In-kernel test scenarios, chosen with `test=<name>` on the command line.
//! The host-driven tests in `tests/` use them to reach paths that need the
//! kernel's cooperation (a panic, an unexpected exception).

use crate::config::Config;

/// Runs the scenario named in the configuration just before `READY`.
pub fn run_early(config: &Config) {
    match config.test.as_str() {
        "" => {}
        "panic" => {
            info!("test: panicking on purpose");
            panic!("test scenario requested a panic");
        }
        "exception" => {
            info!("test: executing ud2 on purpose");
            raise_invalid_opcode();
        }
        "exit" => {
            info!("test: exiting on purpose");
            crate::qemu::exit(crate::qemu::ExitCode::Success);
        }
        other => crate::warn!("test: unknown scenario '{other}', ignored"),
    }
}

fn raise_invalid_opcode() {
    // SAFETY: ud2 only raises #UD; the IDT is loaded and its handler panics.
    unsafe { core::arch::asm!("ud2") };
}
