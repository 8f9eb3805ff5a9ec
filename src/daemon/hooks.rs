//! The `up`/`down` hooks (and the `exec` failure command): a shell command run with the channel's
//! values in its environment, as ucarp's and keepalived's notify scripts are, bounded by a timeout and
//! with its output captured for the log. A failing hook is reported, never fatal.

use std::io::Read;
use std::net::IpAddr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::model::Channel;

/// How long a hook may run before it is killed, unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Captured output kept per stream; the rest is read and dropped so the hook never blocks on a pipe.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// Why a hook runs: the value of `FAILOVERCTL_EVENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// After this node took the channel's activeip.
    Up,
    /// After this node released it.
    Down,
    /// The `onfailure=exec:` command, for the failed channel.
    Failure,
    /// The injected reboot command (`FAILOVERCTL_REBOOT_COMMAND`), for the failed channel.
    Reboot,
    /// The service check (`[policy] check=`), with the first channel's values.
    Check,
}

impl HookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::Up => "up",
            HookEvent::Down => "down",
            HookEvent::Failure => "failure",
            HookEvent::Reboot => "reboot",
            HookEvent::Check => "check",
        }
    }
}

/// The values a hook sees, one channel's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEnv {
    pub event: HookEvent,
    pub channel: String,
    pub device: String,
    pub activeip: IpAddr,
    pub passiveip: IpAddr,
    /// The prefix actually used (or configured); empty in the environment when unknown.
    pub prefix: Option<u8>,
}

impl HookEnv {
    pub fn for_channel(event: HookEvent, channel: &Channel) -> Self {
        HookEnv {
            event,
            channel: channel.ident.clone(),
            device: channel.device.clone(),
            activeip: channel.activeip,
            passiveip: channel.passiveip,
            prefix: channel.prefix,
        }
    }

    /// The environment variables, names and values.
    pub fn vars(&self) -> [(&'static str, String); 6] {
        [
            ("FAILOVERCTL_EVENT", self.event.as_str().to_string()),
            ("FAILOVERCTL_CHANNEL", self.channel.clone()),
            ("FAILOVERCTL_DEVICE", self.device.clone()),
            ("FAILOVERCTL_ACTIVEIP", self.activeip.to_string()),
            ("FAILOVERCTL_PASSIVEIP", self.passiveip.to_string()),
            (
                "FAILOVERCTL_PREFIX",
                self.prefix.map(|p| p.to_string()).unwrap_or_default(),
            ),
        ]
    }
}

/// How a hook ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStatus {
    Exited(i32),
    Signaled(i32),
    /// Still running at the timeout; it was killed.
    TimedOut,
}

/// The result of one hook run, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOutcome {
    pub command: String,
    pub status: HookStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl HookOutcome {
    pub fn success(&self) -> bool {
        self.status == HookStatus::Exited(0)
    }
}

impl std::fmt::Display for HookOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.status {
            HookStatus::Exited(c) => format!("exited with {c}"),
            HookStatus::Signaled(s) => format!("killed by signal {s}"),
            HookStatus::TimedOut => "timed out and was killed".to_string(),
        };
        write!(f, "`{}` {how} after {:?}", self.command, self.elapsed)
    }
}

/// The hook could not be started at all.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for `{command}`: {source}")]
    Wait {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `command` through `/bin/sh -c` with `env`'s variables, for at most `timeout`.
///
/// The hook runs in a process group of its own, led by its PID; on timeout that group is killed, so a
/// child the script started (`sleep`, a pipeline) dies with it and cannot hold the output pipes open.
pub fn run_hook(command: &str, env: &HookEnv, timeout: Duration) -> Result<HookOutcome, HookError> {
    let start = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .envs(env.vars())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| HookError::Spawn {
            command: command.to_string(),
            source,
        })?;
    let pid = child.id();
    let out = child.stdout.take().expect("stdout was piped");
    let err = child.stderr.take().expect("stderr was piped");
    let out = thread::spawn(move || read_limited(out));
    let err = thread::spawn(move || read_limited(err));

    let deadline = start + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(source) => {
                return Err(HookError::Wait {
                    command: command.to_string(),
                    source,
                })
            }
        }
    };
    let status = match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => HookStatus::Exited(code),
            (None, Some(sig)) => HookStatus::Signaled(sig),
            (None, None) => HookStatus::Exited(-1),
        },
        None => {
            // The group id is the hook's PID (process_group(0)); nothing else is in it.
            let group = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("PIDs fit in i32"));
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            HookStatus::TimedOut
        }
    };
    // The group is gone or finished, so the pipes reach EOF. A grandchild that left the group on
    // purpose could still hold them: that is the hook's own doing and is waited for.
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(HookOutcome {
        command: command.to_string(),
        status,
        stdout,
        stderr,
        elapsed: start.elapsed(),
    })
}

fn read_limited(mut r: impl Read) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(event: HookEvent) -> HookEnv {
        HookEnv {
            event,
            channel: "if-1".into(),
            device: "eth1".into(),
            activeip: IpAddr::from([192, 0, 2, 10]),
            passiveip: IpAddr::from([192, 0, 2, 11]),
            prefix: Some(24),
        }
    }

    #[test]
    fn the_channel_values_reach_the_script() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("env");
        let cmd = format!(
            "env | grep ^FAILOVERCTL_ | sort > '{}'; echo hello; echo oops >&2",
            file.display()
        );
        let o = run_hook(&cmd, &env(HookEvent::Up), Duration::from_secs(10)).expect("hook runs");
        assert!(o.success(), "{o}");
        assert_eq!(o.stdout, "hello\n");
        assert_eq!(o.stderr, "oops\n");
        let seen = std::fs::read_to_string(&file).expect("the hook wrote its environment");
        assert_eq!(
            seen,
            "FAILOVERCTL_ACTIVEIP=192.0.2.10\nFAILOVERCTL_CHANNEL=if-1\nFAILOVERCTL_DEVICE=eth1\n\
             FAILOVERCTL_EVENT=up\nFAILOVERCTL_PASSIVEIP=192.0.2.11\nFAILOVERCTL_PREFIX=24\n"
        );
    }

    #[test]
    fn a_failing_hook_is_reported_not_an_error() {
        let o = run_hook("exit 7", &env(HookEvent::Down), Duration::from_secs(10)).expect("runs");
        assert_eq!(o.status, HookStatus::Exited(7));
        assert!(!o.success());
        assert!(o.to_string().contains("exited with 7"), "{o}");
    }

    #[test]
    fn timeout_kills_the_hook_and_its_children() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let pidfile = dir.path().join("pid");
        // The sleep is a child of the shell (the `;` keeps sh from exec'ing it) and holds stdout.
        let cmd = format!(
            "sleep 30 & echo $! > '{}'; wait; echo not reached",
            pidfile.display()
        );
        let o = run_hook(&cmd, &env(HookEvent::Up), Duration::from_millis(300)).expect("runs");
        assert_eq!(o.status, HookStatus::TimedOut);
        assert!(o.elapsed < Duration::from_secs(5), "{:?}", o.elapsed);
        assert!(!o.stdout.contains("not reached"));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("the hook wrote the sleep's PID")
            .trim()
            .parse()
            .expect("a PID");
        // Killed with its group; it may linger as a zombie until reaped, so look at its state.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let gone = stat.is_empty() || stat.contains(") Z ");
            if gone {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the hook's child {pid} survived: {stat}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_missing_prefix_is_an_empty_variable() {
        let mut e = env(HookEvent::Failure);
        e.prefix = None;
        let vars = e.vars();
        assert!(vars.contains(&("FAILOVERCTL_PREFIX", String::new())));
        assert!(vars.contains(&("FAILOVERCTL_EVENT", "failure".to_string())));
    }
}
