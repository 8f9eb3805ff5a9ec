//! Child processes run from the event loop without a thread and without ever waiting on them: the
//! hooks (one ordered queue, so a `down` never overtakes the `up` before it) and the failure action's
//! command. Each runs through `/bin/sh -c` in a process group of its own, its output read from
//! non-blocking pipes in the poll set and capped; its exit learned through SIGCHLD; past its timeout
//! the whole group is killed. Once the shell exits, whatever still holds its pipes (a background job
//! the hook left behind) is let go: the pipes are closed, never waited on.

use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::daemon::hooks::{HookEnv, HookOutcome, HookStatus, OUTPUT_LIMIT};

/// Tokens of the pipes: `PIPE_BASE + slot * 2 (+ 1 for stderr)`.
pub const PIPE_BASE: usize = 1 << 16;
/// Slot 0: the hook queue's running hook; slot 1: the failure action's command; slot 2: the
/// service check.
const SLOTS: usize = 3;
const CHECK_SLOT: usize = 2;
/// What a stop leaves the hooks it queued (the down hooks): at most this long each.
pub const STOP_HOOK_LIMIT: Duration = Duration::from_secs(5);

/// A command to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// For the log, e.g. "up hook for if-1".
    pub name: String,
    pub command: String,
    pub env: HookEnv,
    pub timeout: Duration,
}

struct Running {
    job: Job,
    child: Child,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    out: Vec<u8>,
    err: Vec<u8>,
    started: Instant,
    killed: bool,
}

/// The hook queue and the failure action's slot.
#[derive(Default)]
pub struct Children {
    queue: VecDeque<Job>,
    slots: [Option<Running>; SLOTS],
    /// After a stop: every hook must be done by then (one budget for all, not one per hook).
    stop_deadline: Option<Instant>,
}

/// A finished child, for the log.
pub struct Finished {
    pub name: String,
    /// The service check (answered to the core), not a hook or the failure command.
    pub check: bool,
    pub outcome: HookOutcome,
}

impl Children {
    /// Queues a hook behind the ones before it.
    pub fn hook(&mut self, registry: &Registry, job: Job) -> Option<String> {
        self.queue.push_back(job);
        self.start_next(registry)
    }

    /// Runs the failure action's command now (beside the hooks). A previous one still running is
    /// killed: a newer failure supersedes it.
    pub fn failure(&mut self, registry: &Registry, job: Job) -> Option<String> {
        self.kill(1);
        self.spawn(registry, 1, job)
    }

    /// Runs the service check now (beside hooks and the failure command). One still running is
    /// killed first: the core asks again only once the last one was answered.
    pub fn check(&mut self, registry: &Registry, job: Job) -> Option<String> {
        self.kill(CHECK_SLOT);
        self.spawn(registry, CHECK_SLOT, job)
    }

    /// Nothing running or queued.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.slots.iter().all(Option::is_none)
    }

    /// The daemon is stopping: the hooks queued or running before the stop are cut short (killed or
    /// dropped), the failure command's group is killed; the hooks the stop itself queues run next,
    /// each for at most [`STOP_HOOK_LIMIT`].
    pub fn stopping(&mut self) -> Vec<String> {
        let mut dropped: Vec<String> = self.queue.drain(..).map(|j| j.name).collect();
        for slot in 0..SLOTS {
            if let Some(r) = &self.slots[slot] {
                dropped.push(r.job.name.clone());
                self.kill(slot);
            }
        }
        dropped
    }

    /// The earliest timeout of a running child.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .filter(|r| !r.killed)
            .map(|r| r.started + r.job.timeout)
            .min()
    }

    /// Kills the children past their timeout.
    pub fn expire(&mut self, now: Instant) {
        for slot in 0..SLOTS {
            if self.slots[slot]
                .as_ref()
                .is_some_and(|r| !r.killed && now >= r.started + r.job.timeout)
            {
                self.kill(slot);
            }
        }
    }

    /// A pipe is readable: takes what is there (beyond the cap it is read and dropped).
    pub fn readable(&mut self, registry: &Registry, token: Token) {
        let slot = (token.0 - PIPE_BASE) / 2;
        let err = (token.0 - PIPE_BASE) % 2 == 1;
        let Some(r) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let eof = if err {
            drain(r.stderr.as_mut(), &mut r.err)
        } else {
            drain(r.stdout.as_mut(), &mut r.out)
        };
        if eof {
            if err {
                close(registry, &mut r.stderr);
            } else {
                close(registry, &mut r.stdout);
            }
        }
    }

    /// SIGCHLD: collects the children that exited and starts the next hook.
    pub fn reap(&mut self, registry: &Registry) -> (Vec<Finished>, Vec<String>) {
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for slot in 0..SLOTS {
            let exited = match self.slots[slot].as_mut().map(|r| r.child.try_wait()) {
                Some(Ok(Some(status))) => status,
                _ => continue,
            };
            let mut r = self.slots[slot].take().expect("checked above");
            // What the shell wrote before it exited is in the pipes now; a background job that
            // still holds them is not waited for.
            drain(r.stdout.as_mut(), &mut r.out);
            drain(r.stderr.as_mut(), &mut r.err);
            close(registry, &mut r.stdout);
            close(registry, &mut r.stderr);
            let status = if r.killed {
                HookStatus::TimedOut
            } else if let Some(code) = exited.code() {
                HookStatus::Exited(code)
            } else {
                HookStatus::Signaled(exited.signal().unwrap_or(0))
            };
            done.push(Finished {
                check: slot == CHECK_SLOT,
                name: r.job.name.clone(),
                outcome: HookOutcome {
                    command: r.job.command.clone(),
                    status,
                    stdout: String::from_utf8_lossy(&r.out).into_owned(),
                    stderr: String::from_utf8_lossy(&r.err).into_owned(),
                    elapsed: r.started.elapsed(),
                },
            });
        }
        errors.extend(self.start_next(registry));
        (done, errors)
    }

    /// After a stop: the hooks still to run (the stop's down hooks) share `limit` from now, so hung
    /// hooks on many channels cannot hold the exit for `limit` each.
    pub fn limit_queued(&mut self, limit: Duration) {
        self.stop_deadline = Some(Instant::now() + limit);
        for j in &mut self.queue {
            j.timeout = j.timeout.min(limit);
        }
        if let Some(r) = &mut self.slots[0] {
            r.job.timeout = r.job.timeout.min(limit);
        }
    }

    fn start_next(&mut self, registry: &Registry) -> Option<String> {
        while self.slots[0].is_none() {
            let job = self.queue.pop_front()?;
            if let Some(e) = self.spawn(registry, 0, job) {
                return Some(e);
            }
        }
        None
    }

    fn spawn(&mut self, registry: &Registry, slot: usize, mut job: Job) -> Option<String> {
        if let Some(deadline) = self.stop_deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Some(format!(
                    "{}: not run, the stop's time for hooks is spent",
                    job.name
                ));
            }
            job.timeout = job.timeout.min(left);
        }
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&job.command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in job.env.vars() {
            cmd.env(k, v);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Some(format!("{}: cannot start `{}`: {e}", job.name, job.command)),
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        for (fd, token) in [
            (
                stdout.as_ref().map(AsRawFd::as_raw_fd),
                PIPE_BASE + slot * 2,
            ),
            (
                stderr.as_ref().map(AsRawFd::as_raw_fd),
                PIPE_BASE + slot * 2 + 1,
            ),
        ] {
            if let Some(fd) = fd {
                set_nonblocking(fd);
                let _ = registry.register(&mut SourceFd(&fd), Token(token), Interest::READABLE);
            }
        }
        self.slots[slot] = Some(Running {
            job,
            child,
            stdout,
            stderr,
            out: Vec::new(),
            err: Vec::new(),
            started: Instant::now(),
            killed: false,
        });
        None
    }

    fn kill(&mut self, slot: usize) {
        if let Some(r) = &mut self.slots[slot] {
            // The whole group: a child the script started dies with it.
            let pgid = nix::unistd::Pid::from_raw(r.child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            r.killed = true;
        }
    }
}

fn set_nonblocking(fd: i32) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    // SAFETY: `fd` is a pipe of a child this process owns, open for the borrow's duration.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    if let Ok(flags) = fcntl(fd, FcntlArg::F_GETFL) {
        let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
        let _ = fcntl(fd, FcntlArg::F_SETFL(flags));
    }
}

/// Reads what the pipe holds, keeping at most [`OUTPUT_LIMIT`]; true at end of file.
fn drain(pipe: Option<&mut impl Read>, keep: &mut Vec<u8>) -> bool {
    let Some(pipe) = pipe else {
        return false;
    };
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(keep.len());
                keep.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

fn close<P: AsRawFd>(registry: &Registry, pipe: &mut Option<P>) {
    if let Some(p) = pipe.take() {
        let fd = p.as_raw_fd();
        let _ = registry.deregister(&mut SourceFd(&fd));
    }
}
