//! `failoverctl status`: the running daemon's role, counters, hold and last decisions, read from the
//! state file it writes after every change.

use std::path::PathBuf;

use serde_json::Value;

use crate::daemon::instance;
use crate::daemon::state::StateFile;
use crate::exit::{self, ExitError};

/// Arguments of `failoverctl status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file: its `[policy] statefile` names the state file.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Read this state file instead (as given to the daemon's `--state-file`).
    #[arg(long)]
    pub state_file: Option<PathBuf>,
    /// How many recent decisions to show.
    #[arg(long, default_value_t = 10)]
    pub last: usize,
    /// Machine-readable JSON output: the state file plus `"running"`.
    #[arg(long)]
    pub json: bool,
}

/// Exit codes: 0 the daemon is running; 1 it is not (no state file, its writer is gone, or it
/// stopped); 2 the config or the state file cannot be read, or the config is invalid.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let path = match args.state_file {
        Some(p) => p,
        // The config names the state file: one that cannot be read is an error, never a fallback to
        // the default path (that could show another daemon's state).
        None => match crate::config::load(&args.config) {
            Ok((c, _)) => c.policy.statefile,
            Err(e @ crate::config::ConfigError::Io { .. }) => {
                return Err(ExitError::usage(e.to_string()).into())
            }
            // Not "not running" (1): the state cannot be found at all, as with an unreadable
            // config, so a monitoring script does not take a typo for a stopped daemon.
            Err(e) => {
                return Err(ExitError::usage(format!(
                    "{e}\ncannot tell the state file of an invalid config (or give --state-file)"
                ))
                .into())
            }
        },
    };
    let locked = instance::is_running(&path)
        .map_err(|e| ExitError::usage(format!("{}: {e}", instance::lock_path(&path).display())))?;
    let state = match StateFile::read(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = if locked {
                "starting: a daemon holds the lock but has written no state yet"
            } else {
                "not running: no state file"
            };
            if args.json {
                super::output::print_json(&serde_json::json!({ "running": locked }))?;
            } else {
                println!("{what} at {}", path.display());
            }
            return Ok(if locked { exit::OK } else { exit::FAILED });
        }
        Err(e) => {
            return Err(ExitError::usage(format!("{}: {e}", path.display())).into());
        }
    };
    // Liveness is the daemon's lock, never the recorded PID; a daemon that wrote "stopped" is done.
    let stopped = state.status["role"].as_str() == Some("stopped");
    let running = locked && !stopped;
    let now = now_ms();
    if args.json {
        let mut v = serde_json::to_value(&state)?;
        v["running"] = Value::Bool(running);
        v["state_age_ms"] = Value::from(now.saturating_sub(state.written_at));
        super::output::print_json(&v)?;
    } else {
        print!("{}", render_human(&state, running, locked, now, args.last));
    }
    Ok(if running { exit::OK } else { exit::FAILED })
}

/// The wall clock in epoch milliseconds: the daemon's times are epoch milliseconds too.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ms(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// How long ago epoch-milliseconds `at` was, measured from now (not from the file's write time: a
/// stale file must not look fresh).
fn ago(at: Option<u64>, now: u64) -> String {
    at.map_or("-".to_owned(), |t| {
        format!("{} ago", span(now.saturating_sub(t)))
    })
}

/// When the last good check was. The daemon writes the file within one checktime of any change of a
/// counter but not at every good check (an idle node writes nothing), so while a running daemon's
/// counter is zero the answer is "at every check", not the time of the last write.
fn last_good(zero_and_running: bool, at: Option<u64>, now: u64) -> String {
    if zero_and_running {
        "at every check".to_owned()
    } else {
        ago(at, now)
    }
}

/// `9.0s` under a minute, else whole seconds the humantime way (`35m 2s`).
fn span(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
    }
}

/// The human form of a state, measured at epoch-milliseconds `now`.
fn render_human(state: &StateFile, running: bool, locked: bool, now: u64, last: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let s = &state.status;
    let role = s["role"].as_str().unwrap_or("?");
    let liveness = match (running, locked) {
        (true, _) => "running",
        (false, true) => "stopping",
        (false, false) if role == "stopped" => "not running",
        (false, false) => "NOT running: the daemon is gone, this state is stale",
    };
    if role == "stopped" {
        let _ = writeln!(
            out,
            "{} (pid {}, {liveness}): stopped {}",
            state.command,
            state.pid,
            ago(ms(&s["since"]), now)
        );
    } else {
        let _ = writeln!(
            out,
            "{} (pid {}, {liveness}): {role} since {}",
            state.command,
            state.pid,
            ago(ms(&s["since"]), now)
        );
    }
    let _ = writeln!(out, "state written {}", ago(Some(state.written_at), now));
    let _ = writeln!(out, "config: {}", state.config.display());
    if let Some(h) = s["holding"].as_str() {
        let _ = writeln!(out, "HOLDING a failure action: {h}");
    }
    if let Some(p) = s["passive"].as_object() {
        let _ = writeln!(
            out,
            "passive counter: {}/{}, active last seen {}",
            p["failures"],
            p["limit"],
            last_good(p["failures"] == 0 && running, ms(&p["last_seen_at"]), now)
        );
    }
    if let Some(channels) = s["channels"].as_array().filter(|c| !c.is_empty()) {
        let mut t = super::output::table(&["channel", "device", "failures", "last ok"]);
        for c in channels {
            t.add_row(vec![
                c["ident"].as_str().unwrap_or("").to_owned(),
                c["device"].as_str().unwrap_or("").to_owned(),
                format!("{}/{}", c["failures"], c["limit"]),
                last_good(c["failures"] == 0 && running, ms(&c["last_ok_at"]), now),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    if let Some(p) = &state.peer {
        let _ = writeln!(
            out,
            "peer protocol: {} questions answered; dropped {} malformed, {} forged, {} replayed{}",
            p["answered"],
            p["malformed"],
            p["forged"],
            p["replayed"],
            match p["kernel_dropped"].as_u64() {
                Some(n) if n > 0 => format!("; {n} lost in the kernel before they were read"),
                _ => String::new(),
            }
        );
    }
    if let Some(u) = s["unfit"].as_str() {
        let _ = writeln!(out, "NOT fit to serve: {u}");
    }
    if let Some(h) = s["heartbeat"].as_object() {
        let channels = h["channels"].as_array().map_or(vec![], Clone::clone);
        let healthy = channels
            .iter()
            .filter(|c| c.as_bool() == Some(true))
            .count();
        let when = if h["lost"].as_bool() == Some(true) {
            format!("LOST: the last one came {}", ago(ms(&h["at"]), now))
        } else {
            format!(
                "on time as of the state's writing (last one recorded {})",
                ago(ms(&h["at"]).or(Some(state.written_at)), now)
            )
        };
        let _ = writeln!(
            out,
            "peer heartbeat: {}, {}, epoch {}, {healthy}/{} channels healthy; {when}",
            h["role"].as_str().unwrap_or("?"),
            if h["fit"].as_bool() == Some(true) {
                "fit"
            } else {
                "NOT fit"
            },
            h["epoch"],
            channels.len(),
        );
    }
    let failovers = s["failovers"].as_array().map_or(0, Vec::len);
    let _ = writeln!(out, "failure actions on record: {failovers}");
    if let Some(recent) = s["recent"].as_array().filter(|r| !r.is_empty() && last > 0) {
        let _ = writeln!(out, "last decisions:");
        for d in recent.iter().rev().take(last).rev() {
            let (role, reason) = (
                d["role"].as_str().unwrap_or("?"),
                d["reason"].as_str().unwrap_or(""),
            );
            // A reason that only names the role ("stopped") is said once.
            let text = if reason == role {
                role.to_owned()
            } else {
                format!("{role}: {reason}")
            };
            let _ = writeln!(out, "  {:>10}  {text}", ago(ms(&d["at"]), now));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(role: &str, pid: u32, since: u64, written_at: u64) -> StateFile {
        StateFile {
            pid,
            command: "run".into(),
            config: "/etc/failoverctl/failover.ini".into(),
            written_at,
            status: serde_json::json!({ "role": role, "since": since }),
            peer: None,
        }
    }

    /// Bug: `status` said "running" for any state whose PID existed (pid 1 inside a PID namespace)
    /// and measured "since" from the file's write time, so a file 35 minutes old showed "active
    /// since 9.0s ago". Liveness is now the daemon's lock, and ages are measured from now.
    #[test]
    fn a_stale_state_says_so_and_how_old_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let now = now_ms();
        let written = now - 35 * 60_000;
        state("active", 1, written - 9_000, written)
            .write(&path)
            .expect("write");
        assert!(!instance::is_running(&path).expect("no lock"));
        let text = render_human(&StateFile::read(&path).expect("read"), false, false, now, 5);
        assert!(text.contains("NOT running"), "{text}");
        assert!(text.contains("active since 35m 9s ago"), "{text}");
        assert!(text.contains("state written 35m ago"), "{text}");
        let out = run(Args {
            config: "/nonexistent/x.ini".into(),
            state_file: Some(path),
            last: 5,
            json: true,
        })
        .expect("runs");
        assert_eq!(
            out,
            exit::FAILED,
            "pid 1 exists, yet nothing holds the lock"
        );
    }

    /// The peer line names the kernel's drops only when there were any (an older state has none).
    #[test]
    fn the_peer_line_says_what_the_kernel_dropped() {
        let mut st = state("passive", 7, 1_000, 1_000);
        st.peer = Some(serde_json::json!({
            "answered": 2, "malformed": 3, "forged": 0, "replayed": 1, "kernel_dropped": 0
        }));
        let quiet = render_human(&st, true, true, 2_000, 5);
        assert!(
            quiet.contains(
                "peer protocol: 2 questions answered; dropped 3 malformed, 0 forged, 1 replayed\n"
            ),
            "{quiet}"
        );
        st.peer.as_mut().expect("peer")["kernel_dropped"] = 2908.into();
        let flooded = render_human(&st, true, true, 2_000, 5);
        assert!(
            flooded.contains("1 replayed; 2908 lost in the kernel before they were read\n"),
            "{flooded}"
        );
    }

    /// Found by testing: with no decision yet the heading stood alone.
    #[test]
    fn no_decisions_no_heading() {
        let mut st = state("passive", 7, 1_000, 1_000);
        st.status["recent"] = serde_json::json!([]);
        let text = render_human(&st, true, true, 2_000, 5);
        assert!(!text.contains("last decisions"), "{text}");
        st.status["recent"] =
            serde_json::json!([{ "at": 1_500, "role": "passive", "reason": "started" }]);
        let text = render_human(&st, true, true, 2_000, 5);
        assert!(text.contains("last decisions:\n"), "{text}");
        assert!(text.contains("passive: started"), "{text}");
    }

    /// A daemon that wrote `"role": "stopped"` is not running, whoever holds the lock.
    #[test]
    fn a_stopped_state_is_not_running() {
        let text = render_human(&state("stopped", 7, 1_000, 1_000), false, true, 61_000, 5);
        assert!(
            text.starts_with("run (pid 7, stopping): stopped 1m ago"),
            "{text}"
        );
        assert!(!text.contains("stopped: stopped"), "{text}");
    }

    /// Bug: `status -c /nonexistent/x.ini` exited 0 showing the default state file's daemon.
    #[test]
    fn an_invalid_config_is_exit_2_not_not_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.ini");
        std::fs::write(&path, "[channel]\ntesip= 192.0.2.1\n").expect("write");
        let err = run(Args {
            config: path,
            state_file: None,
            last: 5,
            json: false,
        })
        .expect_err("an invalid config names no state file");
        let e = err.downcast_ref::<ExitError>().expect("an exit error");
        assert_eq!(e.code, exit::USAGE, "{e:?}");
        assert!(e.message.contains("cannot tell the state file"), "{e:?}");
    }

    #[test]
    fn an_unreadable_config_is_an_error() {
        let err = run(Args {
            config: "/nonexistent/x.ini".into(),
            state_file: None,
            last: 5,
            json: false,
        })
        .expect_err("no config, no state file to read");
        let e = err.downcast_ref::<ExitError>().expect("an exit error");
        assert_eq!(e.code, exit::USAGE);
        assert!(
            e.message.contains("cannot read /nonexistent/x.ini"),
            "{e:?}"
        );
    }
}
