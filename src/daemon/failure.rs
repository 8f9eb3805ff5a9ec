//! How the failure action's command is carried out (`[policy] onfailure=`): the real reboot, or the
//! injected reboot command and the `exec:` command (the daemon runs those as child processes of its
//! event loop, see `children.rs`; [`FailureExecutor::execute`] runs them to completion for callers
//! that may wait). A demote is decided and done by the core.
//!
//! **`reboot` means the whole machine**: `reboot(2)` with `RB_AUTOBOOT`, after `sync()`. Network
//! namespaces do not contain it; only a child PID namespace does (there it ends that namespace's init
//! with SIGHUP). So nothing in tests or demos may reach [`reboot_machine`] outside such a namespace:
//! the executor runs `FAILOVERCTL_REBOOT_COMMAND` (or [`FailureExecutor::reboot_command`]) instead of
//! `reboot(2)` whenever it is set, and every test sets it.

use std::convert::Infallible;
use std::time::Duration;

use crate::config::model::{Channel, FailureAction};
use crate::daemon::hooks::{run_hook, HookEnv, HookError, HookEvent, HookOutcome};

/// The environment variable that replaces `reboot(2)` by a shell command.
pub const REBOOT_COMMAND_ENV: &str = "FAILOVERCTL_REBOOT_COMMAND";

/// Errors of the failure action.
#[derive(Debug, thiserror::Error)]
pub enum FailureError {
    /// `reboot(2)` refused: the daemon lacks CAP_SYS_BOOT.
    #[error("reboot: permission denied (needs CAP_SYS_BOOT)")]
    Privilege,
    /// `reboot(2)` failed otherwise.
    #[error("reboot: {0}")]
    Reboot(nix::errno::Errno),
    /// The exec or injected reboot command could not be started.
    #[error(transparent)]
    Command(#[from] HookError),
}

/// What the executor did; the daemon logs it and, for `Demote`, carries out the demotion itself
/// (release the activeips, take back the passiveips, become passive) since that needs its
/// address control and its decision core.
#[derive(Debug)]
pub enum FailureOutcome {
    /// The caller must demote.
    Demote,
    /// The `exec:` command ran (successful or not: it is reported, not fatal).
    Exec(HookOutcome),
    /// The injected reboot command ran instead of `reboot(2)`.
    RebootCommand(HookOutcome),
}

/// Carries out a [`FailureAction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureExecutor {
    /// When set, `reboot` runs this command (through `/bin/sh -c`) instead of `reboot(2)`.
    pub reboot_command: Option<String>,
    /// Bound of the exec and injected reboot commands.
    pub timeout: Duration,
}

impl Default for FailureExecutor {
    fn default() -> Self {
        FailureExecutor {
            reboot_command: None,
            timeout: crate::daemon::hooks::DEFAULT_TIMEOUT,
        }
    }
}

impl FailureExecutor {
    /// The executor of a running daemon: `FAILOVERCTL_REBOOT_COMMAND` replaces `reboot(2)` if set
    /// (and not empty).
    pub fn from_env() -> Self {
        FailureExecutor {
            reboot_command: std::env::var(REBOOT_COMMAND_ENV)
                .ok()
                .filter(|c| !c.trim().is_empty()),
            ..FailureExecutor::default()
        }
    }

    /// Carries out `action` for the failed `channel`. For the real reboot this does not return on
    /// success (the machine goes down).
    pub fn execute(
        &self,
        action: &FailureAction,
        channel: &Channel,
    ) -> Result<FailureOutcome, FailureError> {
        match action {
            FailureAction::Demote => Ok(FailureOutcome::Demote),
            FailureAction::Exec(command) => {
                let env = HookEnv::for_channel(HookEvent::Failure, channel);
                Ok(FailureOutcome::Exec(run_hook(command, &env, self.timeout)?))
            }
            FailureAction::Reboot => match &self.reboot_command {
                Some(command) => {
                    let env = HookEnv::for_channel(HookEvent::Reboot, channel);
                    Ok(FailureOutcome::RebootCommand(run_hook(
                        command,
                        &env,
                        self.timeout,
                    )?))
                }
                None => match reboot_machine()? {},
            },
        }
    }
}

/// Reboots **the whole machine**: `sync()`, then `reboot(2)` with `RB_AUTOBOOT`. Returns only on
/// failure. Inside a child PID namespace the kernel instead ends that namespace's init with SIGHUP;
/// that is how the test exercises this function (see `examples/reboot_in_pidns.rs`).
pub fn reboot_machine() -> Result<Infallible, FailureError> {
    // Flush file systems first: reboot(2) itself does not.
    nix::unistd::sync();
    nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT).map_err(|e| match e {
        nix::errno::Errno::EPERM => FailureError::Privilege,
        e => FailureError::Reboot(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::hooks::HookStatus;
    use std::net::Ipv4Addr;

    fn channel() -> Channel {
        Channel {
            ident: "if-1".into(),
            device: "eth1".into(),
            activeip: Ipv4Addr::new(192, 0, 2, 10).into(),
            passiveip: Ipv4Addr::new(192, 0, 2, 11).into(),
            prefix: None,
            testips: vec![Ipv4Addr::new(192, 0, 2, 1).into()],
            checkonlyidle: true,
            probes: None,
            check: None,
            line: 1,
            lines: Default::default(),
        }
    }

    #[test]
    fn exec_runs_with_the_failed_channels_values() {
        let ex = FailureExecutor {
            reboot_command: Some("exit 99".into()),
            timeout: Duration::from_secs(10),
        };
        let cmd = "echo $FAILOVERCTL_EVENT $FAILOVERCTL_CHANNEL $FAILOVERCTL_DEVICE \
                   $FAILOVERCTL_ACTIVEIP $FAILOVERCTL_PASSIVEIP";
        match ex.execute(&FailureAction::Exec(cmd.into()), &channel()) {
            Ok(FailureOutcome::Exec(o)) => {
                assert!(o.success(), "{o}");
                assert_eq!(o.stdout, "failure if-1 eth1 192.0.2.10 192.0.2.11\n");
            }
            other => panic!("expected Exec, got {other:?}"),
        }
    }

    #[test]
    fn reboot_runs_the_injected_command_and_never_reboot2() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let marker = dir.path().join("rebooted");
        let ex = FailureExecutor {
            reboot_command: Some(format!(
                "echo $FAILOVERCTL_EVENT $FAILOVERCTL_CHANNEL > '{}'",
                marker.display()
            )),
            timeout: Duration::from_secs(10),
        };
        match ex.execute(&FailureAction::Reboot, &channel()) {
            Ok(FailureOutcome::RebootCommand(o)) => assert!(o.success(), "{o}"),
            other => panic!("expected RebootCommand, got {other:?}"),
        }
        let seen = std::fs::read_to_string(&marker).expect("the injected command ran");
        assert_eq!(seen, "reboot if-1\n");
    }

    #[test]
    fn a_failing_exec_is_reported() {
        let ex = FailureExecutor {
            reboot_command: Some("exit 99".into()),
            timeout: Duration::from_secs(10),
        };
        match ex.execute(&FailureAction::Exec("exit 3".into()), &channel()) {
            Ok(FailureOutcome::Exec(o)) => assert_eq!(o.status, HookStatus::Exited(3)),
            other => panic!("expected Exec, got {other:?}"),
        }
    }

    #[test]
    fn demote_is_left_to_the_caller() {
        let ex = FailureExecutor {
            reboot_command: Some("exit 99".into()),
            timeout: Duration::from_secs(10),
        };
        assert!(matches!(
            ex.execute(&FailureAction::Demote, &channel()),
            Ok(FailureOutcome::Demote)
        ));
    }
}
