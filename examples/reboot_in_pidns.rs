//! Test helper: calls the library's real reboot path (`sync()` + `reboot(2)`, no injected command),
//! but only as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`), where the kernel
//! turns reboot(2) into "kill this namespace's init with SIGHUP" instead of rebooting the machine.
//!
//! Anywhere else it REFUSES and exits 3: a process started by a test is never the host's PID 1, and
//! a non-init process must never call reboot(2) (in a container that would end the container).

use std::process::ExitCode;

fn main() -> ExitCode {
    let pid = std::process::id();
    if pid != 1 {
        eprintln!("reboot_in_pidns: refusing, PID is {pid}, not 1 of a fresh PID namespace");
        return ExitCode::from(3);
    }
    // Returns only on failure; success ends this process with SIGHUP.
    match failoverctl::daemon::failure::reboot_machine() {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("reboot_in_pidns: {e}");
            ExitCode::from(4)
        }
    }
}
