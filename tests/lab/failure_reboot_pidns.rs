//! The real reboot path (`failure::reboot_machine`, no injected command), exercised safely: inside
//! `unshare --pid --fork --mount-proc`, reboot(2) with RB_AUTOBOOT ends only that PID namespace, its
//! init killed by SIGHUP. The helper refuses to call reboot(2) unless it is PID 1 there.

use crate::examples_bin;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

#[test]
fn the_helper_refuses_outside_a_fresh_pid_namespace() {
    let helper = examples_bin::example("reboot_in_pidns");
    let out = Command::new(&helper).output().expect("run the helper");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
}

#[test]
fn reboot_in_a_child_pid_namespace_ends_only_that_namespace() {
    if !nix::unistd::geteuid().is_root() {
        if std::env::var_os("CI").is_some() {
            panic!("unshare --pid needs root, and CI is set: refusing to skip");
        }
        eprintln!("SKIPPED reboot_in_a_child_pid_namespace_ends_only_that_namespace: needs root");
        return;
    }
    let helper = examples_bin::example("reboot_in_pidns");
    let boot_id = || std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    let before = boot_id();
    let status = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(&helper)
        .status()
        .expect("run unshare");
    // unshare --fork passes on the way its child ended: killed by SIGHUP, the kernel's answer to
    // RB_AUTOBOOT in a child PID namespace. Exit 3 or 4 would be the helper refusing or failing.
    assert_eq!(status.signal(), Some(libc::SIGHUP), "{status:?}");
    // And the machine is the same one, still running this test.
    assert_eq!(boot_id(), before);
}
