//! Frames captured with tcpdump inside a lab namespace and decoded with tshark: the lab tests check
//! what went on the wire (fields, flags, checksums) and that Wireshark finds nothing wrong with it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::lab::Lab;

/// Wireshark's expert severity "warning" (`_ws.expert.severity`, PI_WARN); "error" is above it.
const EXPERT_WARNING: u32 = 0x0060_0000;

/// A tcpdump running in a namespace; stopped (by its PID) when dropped.
pub struct Capture {
    child: Option<Child>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    /// Starts capturing `filter` (a pcap filter) on `device` of `node`; returns once tcpdump
    /// listens, so nothing sent afterwards is missed.
    pub fn start(lab: &Lab, node: &str, device: &str, filter: &str) -> Capture {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("capture.pcap");
        let mut child = lab
            .command(node, "tcpdump")
            // Immediate mode: each frame is handed over as it comes (else it waits in the capture
            // ring for a block timeout, and a stop before then loses it); -U: written at once;
            // -Z root: the file stays writable after tcpdump drops its privileges.
            .args([
                "-i",
                device,
                "-n",
                "--immediate-mode",
                "-U",
                "-Z",
                "root",
                "-w",
            ])
            .arg(&path)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpdump");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        // tcpdump says "listening on DEV" once the capture is open; EOF means it failed.
        while !line.contains("listening on") {
            line.clear();
            let n = stderr.read_line(&mut line).expect("read tcpdump's stderr");
            assert!(n > 0, "tcpdump did not start on {node}/{device}");
        }
        Capture {
            child: Some(child),
            path,
            _dir: dir,
        }
    }

    /// Stops tcpdump (SIGINT, so it flushes and closes the file) and returns the decoder.
    pub fn stop(mut self) -> Decoded {
        self.end();
        Decoded {
            path: self.path.clone(),
            _capture: self,
        }
    }

    fn end(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The last frames' way through tcpdump, before it is told to stop.
            std::thread::sleep(std::time::Duration::from_millis(100));
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
            let _ = child.wait();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.end();
    }
}

/// A finished capture.
pub struct Decoded {
    path: PathBuf,
    _capture: Capture,
}

impl Decoded {
    /// The `fields` of every frame matching the display filter `filter`, one row per frame (a field
    /// that occurs several times is comma-separated, an absent one empty).
    pub fn rows(&self, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let mut c = Command::new("tshark");
        c.arg("-r")
            .arg(&self.path)
            .args(["-Y", filter, "-T", "fields"]);
        c.args([
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]);
        for f in fields {
            c.args(["-e", f]);
        }
        let out = c.output().expect("run tshark");
        assert!(
            out.status.success(),
            "tshark {filter}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    }

    /// The frames Wireshark finds malformed or flags with an expert warning or error, as its
    /// one-line summaries with the expert messages.
    pub fn problems(&self) -> Vec<String> {
        let filter = format!("_ws.malformed || _ws.expert.severity >= {EXPERT_WARNING}");
        self.rows(
            &filter,
            &["frame.number", "_ws.col.Info", "_ws.expert.message"],
        )
        .into_iter()
        .map(|r| r.join(" | "))
        .collect()
    }

    /// Every frame's one-line summary (for assertion messages).
    pub fn summary(&self) -> String {
        self.rows("frame", &["frame.number", "eth.src", "_ws.col.Info"])
            .into_iter()
            .map(|r| r.join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
