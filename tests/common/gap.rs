//! Measures what a client sees during a failover: it pings an address every 10 ms (bounded by a
//! deadline) and reports the longest gap between two consecutive replies.

use super::lab::Lab;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct GapMeter {
    child: Child,
    reader: Option<JoinHandle<Vec<f64>>>,
}

#[derive(Debug)]
pub struct GapReport {
    /// Replies received.
    pub replies: usize,
    /// The longest time between two consecutive replies.
    pub longest_gap: Duration,
}

impl GapMeter {
    /// Starts pinging `target` from `node` every 10 ms for at most `limit`.
    pub fn start(lab: &Lab, node: &str, target: &str, limit: Duration) -> GapMeter {
        let secs = limit.as_secs().max(1).to_string();
        let mut child = lab.spawn(
            node,
            &[
                "ping", "-D", "-n", "-i", "0.01", "-W", "0.5", "-w", &secs, target,
            ],
        );
        let stdout = child.stdout.take().expect("ping stdout is piped");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.contains("bytes from"))
                .filter_map(|l| {
                    let ts = l.strip_prefix('[')?.split(']').next()?;
                    ts.parse::<f64>().ok()
                })
                .collect()
        });
        GapMeter {
            child,
            reader: Some(reader),
        }
    }

    /// Stops the pinger (by its PID) and reports the longest gap seen.
    pub fn finish(mut self) -> GapReport {
        self.stop();
        let times = self
            .reader
            .take()
            .expect("finish runs once")
            .join()
            .expect("ping reader thread");
        let longest = times
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(0.0_f64, f64::max);
        GapReport {
            replies: times.len(),
            longest_gap: Duration::from_secs_f64(longest.max(0.0)),
        }
    }

    fn stop(&mut self) {
        // SIGINT lets ping flush its output; it is our own child, ended by PID.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.child.wait();
    }
}

impl Drop for GapMeter {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.stop();
        }
    }
}
