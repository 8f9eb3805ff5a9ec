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
    /// The daemon's PID, for people (liveness is the lock of [`crate::daemon::instance`]: a PID says
    /// nothing inside a PID namespace, and a recycled one looks alive).
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

    /// Reads a state file, at most [`MAX_STATE_BYTES`](crate::config::limits::MAX_STATE_BYTES).
    pub fn read(path: &Path) -> std::io::Result<StateFile> {
        use crate::config::limits;
        let file = std::fs::File::open(path)?;
        let bytes = limits::read_limited(file, limits::MAX_STATE_BYTES, "a state file")?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Writes the file atomically (a temporary file renamed over it), so a reader never sees half.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).expect("the state serializes");
        write_atomic(path, &text, false)
    }
}

/// Creates the directory of `path` if needed, saying plainly when a component is not a directory
/// (`create_dir_all` only says "File exists").
pub fn ensure_parent(path: &Path) -> std::io::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        let blocker = dir
            .ancestors()
            .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()));
        match blocker {
            Some(b) => std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!(
                    "cannot create directory {}: {} is not a directory",
                    dir.display(),
                    b.display()
                ),
            ),
            None => std::io::Error::new(
                e.kind(),
                format!("cannot create directory {}: {e}", dir.display()),
            ),
        }
    })
}

/// Writes `bytes` to `path` through a temporary file created exclusively (`O_EXCL`, a random name) in
/// the same directory, then renamed over `path`: a link planted at a predictable temporary name can no
/// longer redirect the write, and the rename replaces a link at `path` itself rather than follow it.
/// `durable`: fsync before the rename (the history must survive a power cut; the state need not).
pub fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    ensure_parent(path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".failoverctl.")
        .tempfile_in(dir)?;
    // Readable by `status` run as any user, as before (the temporary file starts 0600).
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.write_all(bytes)?;
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads the failure-action history (one epoch-millisecond time per line). A missing file is an
/// empty history; unreadable lines are skipped (a torn write must not stop the daemon).
pub fn read_history(path: &Path) -> Vec<Instant> {
    read_history_checked(path).0
}

/// [`read_history`], with what was wrong with the file, for the daemon's log: lines that are no time
/// are skipped (and said), a file over the size limit is ignored (and said).
pub fn read_history_checked(path: &Path) -> (Vec<Instant>, Option<String>) {
    use crate::config::limits;
    let what = "a history file";
    let bytes = match std::fs::File::open(path)
        .and_then(|f| limits::read_limited(f, limits::MAX_STATE_BYTES, what))
    {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
        Err(e) => {
            let msg = format!(
                "failure history {}: {e}; starting with none",
                path.display()
            );
            return (Vec::new(), Some(msg));
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut times = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match line.trim() {
            "" => {}
            l => match l.parse::<u64>() {
                Ok(ms) => times.push(Instant::from_millis(ms)),
                Err(_) => bad.push(n + 1),
            },
        }
    }
    let warning = (!bad.is_empty()).then(|| {
        let shown: Vec<String> = bad.iter().take(5).map(ToString::to_string).collect();
        format!(
            "failure history {}: skipped {} line(s) that are not a time in epoch milliseconds (line {}{})",
            path.display(),
            bad.len(),
            shown.join(", "),
            if bad.len() > 5 { ", ..." } else { "" }
        )
    });
    (times, warning)
}

/// [`read_history_checked`] that says what was wrong in the daemon's log.
pub fn read_history_logged(path: &Path, log: &crate::daemon::log::Log) -> Vec<Instant> {
    let (times, warning) = read_history_checked(path);
    if let Some(w) = warning {
        log.warn(&w);
    }
    times
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
    fn state_file_round_trips() {
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
    }

    fn a_state() -> StateFile {
        let cfg = crate::sim::document_config(crate::config::PolicyMode::Improved);
        let node = crate::core::Node::new(&cfg, Instant::from_millis(5), vec![]);
        StateFile::new("run", Path::new("/x.ini"), Instant::ZERO, &node.status())
    }

    /// Bug: the state and history files were written through `<path>.tmp.<pid>` opened with
    /// `File::create`, which followed a link planted there (pid 1 in a PID namespace): the daemon
    /// overwrote the link's target with its state.
    #[test]
    fn a_link_planted_at_the_old_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("passwd");
        std::fs::write(&victim, "root:x:0:0\n").expect("write");
        let path = dir.path().join("state.json");
        let history = dir.path().join("failovers");
        for pid in [std::process::id(), 1] {
            for p in [&path, &history] {
                let planted = p.with_extension(format!("tmp.{pid}"));
                std::os::unix::fs::symlink(&victim, planted).expect("plant a link");
            }
        }
        a_state().write(&path).expect("write state");
        record_failover(&history, Instant::from_millis(1), 3).expect("write history");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("read"),
            "root:x:0:0\n"
        );
        assert_eq!(StateFile::read(&path).expect("read").command, "run");
        // A link at the state file's own name is replaced, not followed.
        std::fs::remove_file(&path).expect("remove");
        std::os::unix::fs::symlink(&victim, &path).expect("plant a link");
        a_state().write(&path).expect("write state");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("read"),
            "root:x:0:0\n"
        );
        assert!(!std::fs::symlink_metadata(&path)
            .expect("stat")
            .file_type()
            .is_symlink());
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".failoverctl."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Bug: `status --state-file /dev/zero` read until out of memory.
    #[test]
    fn an_oversized_state_file_is_an_error_naming_the_limit() {
        let e = StateFile::read(Path::new("/dev/zero")).expect_err("too large");
        assert!(e.to_string().contains("1 MiB limit of a state file"), "{e}");
    }

    /// Bug: a statefile whose parent is a regular file said only "File exists".
    #[test]
    fn a_parent_that_is_a_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plain");
        std::fs::write(&file, "").expect("write");
        let e = a_state()
            .write(&file.join("sub/state.json"))
            .expect_err("no directory there");
        let text = e.to_string();
        assert!(
            text.contains(&format!("{} is not a directory", file.display())),
            "{text}"
        );
    }

    /// Bug: garbage lines in the history file were dropped without a word.
    #[test]
    fn garbage_in_the_history_is_skipped_and_said() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("failovers");
        std::fs::write(&path, "1000\ngarbage\n\n2000\n-5\n").expect("write");
        let (times, warning) = read_history_checked(&path);
        assert_eq!(
            times,
            [Instant::from_millis(1000), Instant::from_millis(2000)]
        );
        let w = warning.expect("a warning");
        assert!(
            w.contains("skipped 2 line(s)") && w.contains("line 2, 5"),
            "{w}"
        );
        std::fs::write(&path, "1000\n").expect("write");
        assert_eq!(read_history_checked(&path).1, None);
        assert_eq!(
            read_history_checked(&dir.path().join("none")),
            (vec![], None)
        );
    }
}
