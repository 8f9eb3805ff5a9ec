//! One line per decision, with its reason, on stderr (the journal under systemd). Under journald the
//! line starts with its syslog priority (`<1>` alert, `<4>` warning, `<6>` info); in a terminal it
//! starts with the time since the daemon started.

use std::io::Write;
use std::sync::Arc;

use crate::core::action::Decision;
use crate::core::Instant;
use crate::daemon::clock::Clock;

/// A cheap, cloneable logger (hook threads log too).
#[derive(Debug, Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Clock,
    origin: Instant,
    journal: bool,
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Alert,
    Warning,
    Info,
}

impl Log {
    pub fn new(clock: Clock) -> Log {
        Log {
            inner: Arc::new(Inner {
                clock,
                origin: clock.now(),
                journal: std::env::var_os("JOURNAL_STREAM").is_some(),
            }),
        }
    }

    pub fn decision(&self, d: &Decision) {
        self.line(Level::Info, d.at, &format_decision(d));
    }

    pub fn alert(&self, d: &Decision) {
        self.line(Level::Alert, d.at, &format!("ALERT {}", format_decision(d)));
    }

    pub fn info(&self, text: &str) {
        self.line(Level::Info, self.inner.clock.now(), text);
    }

    pub fn warn(&self, text: &str) {
        self.line(
            Level::Warning,
            self.inner.clock.now(),
            &format!("warning: {text}"),
        );
    }

    fn line(&self, level: Level, at: Instant, text: &str) {
        let line = if self.inner.journal {
            let p = match level {
                Level::Alert => 1,
                Level::Warning => 4,
                Level::Info => 6,
            };
            format!("<{p}>{text}\n")
        } else {
            let t = Instant::from_millis(at.saturating_since(self.inner.origin).as_millis() as u64);
            format!("[{t}] {text}\n")
        };
        // One write per line so lines from hook threads do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

fn format_decision(d: &Decision) -> String {
    match &d.channel {
        Some(c) => format!("{} [{c}]: {}", d.role, d.reason),
        None => format!("{}: {}", d.role, d.reason),
    }
}
