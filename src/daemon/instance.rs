//! One daemon per state file: an exclusive `flock` on `<statefile>.lock`, held for the daemon's
//! lifetime. A second `run` with the same config is refused (exit 2) instead of fighting the first
//! over its addresses, and `status` tells a running daemon by the lock, not by a PID (inside a PID
//! namespace every daemon is pid 1, and a recycled PID looks alive). The kernel drops the lock when
//! the process ends, however it ends; hooks do not inherit it (the descriptor is close-on-exec).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::daemon::service::Options;
use crate::exit::ExitError;

/// The lock file of a state file: beside it, `<statefile>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The running daemon's hold on its lock file; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct Instance {
    _lock: Option<Flock<File>>,
}

/// Takes the lock beside the state file this run writes, or exits 2 when another daemon holds it.
/// A dry run that writes no state file takes no lock: it changes nothing another daemon owns.
pub fn acquire(opts: &Options, config: &crate::config::Config) -> anyhow::Result<Instance> {
    if opts.dry_run && opts.state_file.is_none() {
        return Ok(Instance { _lock: None });
    }
    let state = opts.state_file.as_ref().unwrap_or(&config.policy.statefile);
    lock(state, opts.command).map(|l| Instance { _lock: Some(l) })
}

fn lock(state: &Path, command: &str) -> anyhow::Result<Flock<File>> {
    let path = lock_path(state);
    crate::daemon::state::ensure_parent(state)
        .map_err(|e| ExitError::usage(format!("state file {}: {e}", state.display())))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| ExitError::usage(format!("lock file {}: {e}", path.display())))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let who = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder} in its PID namespace)")
            };
            return Err(ExitError::usage(format!(
                "another failoverctl daemon{who} already runs with state file {}: refusing to start \
                 a second {command} that would fight it over the same addresses (lock {})",
                state.display(),
                path.display()
            ))
            .into());
        }
        Err((_, e)) => {
            return Err(ExitError::usage(format!("lock file {}: {e}", path.display())).into())
        }
    };
    // The PID is for the message above only; liveness is the lock itself.
    let _ = lock.set_len(0);
    let _ = writeln!(lock, "{}", std::process::id());
    Ok(lock)
}

/// Whether a daemon holds the lock of `state` now. No lock file: none ever ran here, or it was
/// removed; an unreadable one is reported.
pub fn is_running(state: &Path) -> std::io::Result<bool> {
    let path = lock_path(state);
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(_released_on_drop) => Ok(false),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(true),
        Err((_, e)) => Err(std::io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: a second `run` with the same config was not refused; and `status` trusted a PID.
    #[test]
    fn a_second_instance_is_refused_and_the_lock_is_liveness() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("run/state.json");
        assert!(!is_running(&state).expect("no lock file yet"));
        let first = lock(&state, "run").expect("the first instance locks");
        assert!(is_running(&state).expect("readable"));
        let err = lock(&state, "run").expect_err("a second instance");
        let text = err.to_string();
        assert!(
            text.contains("already runs with state file") && text.contains("state.json"),
            "{text}"
        );
        assert_eq!(
            err.downcast_ref::<ExitError>().map(|e| e.code),
            Some(crate::exit::USAGE)
        );
        drop(first);
        assert!(!is_running(&state).expect("readable"), "released on exit");
        lock(&state, "run").expect("a later instance locks again");
    }

    /// The lock file is never reached through a planted symlink.
    #[test]
    fn a_symlinked_lock_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep\n").expect("write");
        let state = dir.path().join("state.json");
        std::os::unix::fs::symlink(&victim, lock_path(&state)).expect("symlink");
        assert!(lock(&state, "run").is_err());
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep\n");
    }
}
