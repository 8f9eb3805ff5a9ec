//! Files the daemon keeps: the state file that `failoverctl status` reads (replaced atomically when
//! something it shows changed, without fsync: it describes the running process and is rewritten
//! after a restart), and the failure-action history that must survive reboots (`maxfailovers`,
//! fsynced before the failure action runs).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::{Instant, Status};

/// What the state file holds. `status` is the core's snapshot, kept as JSON so a reader needs no
/// knowledge of the core's types.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateFile {
    /// The daemon's PID, to tell a running daemon from a stale file.
    pub pid: u32,
    /// `run`, `run-active` or `run-passive`.
    pub command: String,
    /// The config file in force.
    pub config: PathBuf,
    /// Epoch milliseconds of this write.
    pub written_at: u64,
    /// The core's [`Status`].
    pub status: serde_json::Value,
    /// The peer protocol responder's counters (answered, and what it dropped: malformed, forged,
    /// replayed, ...), when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<serde_json::Value>,
}

impl StateFile {
    pub fn new(command: &str, config: &Path, now: Instant, status: &Status) -> StateFile {
        StateFile {
            pid: std::process::id(),
            command: command.to_owned(),
            config: config.to_path_buf(),
            written_at: now.as_millis(),
            status: serde_json::to_value(status).expect("the status snapshot serializes"),
            peer: None,
        }
    }

    /// Reads a state file.
    pub fn read(path: &Path) -> std::io::Result<StateFile> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Writes the file atomically (a temporary file renamed over it), so a reader never sees half.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).expect("the state serializes");
        write_atomic(path, &text, false)
    }

    /// True when the process that wrote the file is still alive.
    pub fn is_running(&self) -> bool {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).unwrap_or(i32::MAX));
        // Signal 0 checks existence; EPERM still means "it exists".
        match nix::sys::signal::kill(pid, None) {
            Ok(()) => !is_zombie(self.pid),
            Err(e) => e == nix::errno::Errno::EPERM,
        }
    }
}

/// A killed daemon can linger as a zombie until it is reaped; it is not running.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|st| st == "Z"))
        })
        .unwrap_or(false)
}

/// `durable`: fsync before the rename (the history must survive a power cut; the state need not).
fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path)
}

/// Reads the failure-action history (one epoch-millisecond time per line). A missing file is an
/// empty history; unreadable lines are skipped (a torn write must not stop the daemon).
pub fn read_history(path: &Path) -> Vec<Instant> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .map(Instant::from_millis)
                .collect()
        })
        .unwrap_or_default()
}

/// Appends one failure-action time, keeping at most the last `keep` entries, and flushes it to
/// disk before the failure action (a reboot) runs.
pub fn record_failover(path: &Path, at: Instant, keep: usize) -> std::io::Result<()> {
    let mut times = read_history(path);
    times.push(at);
    let start = times.len().saturating_sub(keep.max(1));
    let text: String = times[start..]
        .iter()
        .map(|t| format!("{}\n", t.as_millis()))
        .collect();
    write_atomic(path, text.as_bytes(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trips_and_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/failovers");
        assert!(read_history(&path).is_empty());
        for ms in [1000, 2000, 3000] {
            record_failover(&path, Instant::from_millis(ms), 2).expect("write history");
        }
        assert_eq!(
            read_history(&path),
            vec![Instant::from_millis(2000), Instant::from_millis(3000)]
        );
        std::fs::write(&path, "garbage\n5000\n").expect("write");
        assert_eq!(read_history(&path), vec![Instant::from_millis(5000)]);
    }

    #[test]
    fn state_file_round_trips_and_knows_its_writer_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let cfg = crate::sim::document_config(crate::config::PolicyMode::Improved);
        let node = crate::core::Node::new(&cfg, Instant::from_millis(5), vec![]);
        let state = StateFile::new(
            "run",
            Path::new("/x.ini"),
            Instant::from_millis(7),
            &node.status(),
        );
        state.write(&path).expect("write state");
        let back = StateFile::read(&path).expect("read state");
        assert_eq!(back.pid, std::process::id());
        assert_eq!(back.status["role"], "passive");
        assert!(back.is_running());
        let dead = StateFile {
            pid: u32::MAX / 2,
            ..back
        };
        assert!(!dead.is_running());
    }
}
