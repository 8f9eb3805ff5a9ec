//! `failoverctl status`: the running daemon's role, counters, hold and last decisions, read from the
//! state file it writes after every change.

use std::path::PathBuf;

use serde_json::Value;

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

/// Exit codes: 0 the daemon is running; 1 it is not (no state file, or its writer is gone);
/// 2 the state file cannot be read.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let path = match args.state_file {
        Some(p) => p,
        None => crate::config::load(&args.config)
            .map(|(c, _)| c.policy.statefile)
            .unwrap_or_else(|_| PathBuf::from(crate::config::validate::DEFAULT_STATEFILE)),
    };
    let state = match StateFile::read(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if args.json {
                super::output::print_json(&serde_json::json!({ "running": false }))?;
            } else {
                println!("not running: no state file at {}", path.display());
            }
            return Ok(exit::FAILED);
        }
        Err(e) => {
            return Err(ExitError::usage(format!("{}: {e}", path.display())).into());
        }
    };
    let running = state.is_running();
    if args.json {
        let mut v = serde_json::to_value(&state)?;
        v["running"] = Value::Bool(running);
        super::output::print_json(&v)?;
    } else {
        print_human(&state, running, args.last);
    }
    Ok(if running { exit::OK } else { exit::FAILED })
}

fn ms(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Epoch milliseconds as "N s ago" relative to the state's own write time.
fn ago(at: Option<u64>, written: u64) -> String {
    at.map_or("-".to_owned(), |t| {
        format!("{:.1}s ago", written.saturating_sub(t) as f64 / 1000.0)
    })
}

fn print_human(state: &StateFile, running: bool, last: usize) {
    let s = &state.status;
    let role = s["role"].as_str().unwrap_or("?");
    println!(
        "{} (pid {}, {}): {role} since {}",
        state.command,
        state.pid,
        if running {
            "running"
        } else {
            "NOT running, stale state"
        },
        ago(ms(&s["since"]), state.written_at)
    );
    println!("config: {}", state.config.display());
    if let Some(h) = s["holding"].as_str() {
        println!("HOLDING a failure action: {h}");
    }
    if let Some(p) = s["passive"].as_object() {
        println!(
            "passive counter: {}/{}, active last seen {}",
            p["failures"],
            p["limit"],
            ago(ms(&p["last_seen_at"]), state.written_at)
        );
    }
    if let Some(channels) = s["channels"].as_array().filter(|c| !c.is_empty()) {
        let mut t = super::output::table(&["channel", "device", "failures", "last ok"]);
        for c in channels {
            t.add_row(vec![
                c["ident"].as_str().unwrap_or("").to_owned(),
                c["device"].as_str().unwrap_or("").to_owned(),
                format!("{}/{}", c["failures"], c["limit"]),
                ago(ms(&c["last_ok_at"]), state.written_at),
            ]);
        }
        println!("{t}");
    }
    if let Some(p) = &state.peer {
        println!(
            "peer protocol: {} questions answered; dropped {} malformed, {} forged, {} replayed",
            p["answered"], p["malformed"], p["forged"], p["replayed"]
        );
    }
    let failovers = s["failovers"].as_array().map_or(0, Vec::len);
    println!("failure actions on record: {failovers}");
    if let Some(recent) = s["recent"].as_array() {
        println!("last decisions:");
        for d in recent.iter().rev().take(last).rev() {
            println!(
                "  {:>10}  {}: {}",
                ago(ms(&d["at"]), state.written_at),
                d["role"].as_str().unwrap_or("?"),
                d["reason"].as_str().unwrap_or("")
            );
        }
    }
}
