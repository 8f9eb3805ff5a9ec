//! One line per decision, with its reason, on stderr (the journal under systemd). Under journald the
//! line starts with its syslog priority (`<1>` alert, `<4>` warning, `<6>` info); in a terminal it
//! starts with the time since the daemon started.

#[cfg(not(test))]
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// The last warning, when it was last written, and how often it came again since.
    repeated: Mutex<Option<(String, std::time::Instant, u64)>>,
    /// Warnings summed up by text ([`Log::warn_repeated`]): when last written, count since.
    bursts: Mutex<std::collections::HashMap<String, (std::time::Instant, u64)>>,
    /// The latest time a line was stamped with: the log's times never go back.
    stamped: Mutex<Instant>,
}

/// A warning that comes back every checktime (a device down, a check that keeps failing) is written
/// once, then at most once per this period with its count, so the journal stays readable.
pub const REPEAT_PERIOD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Level {
    Alert,
    Warning,
    Info,
}

/// The distinct repeated warnings followed at once; more count under one key.
const MAX_BURST_KEYS: usize = 256;

impl Log {
    pub fn new(clock: Clock) -> Log {
        Log {
            inner: Arc::new(Inner {
                clock,
                origin: clock.now(),
                journal: std::env::var_os("JOURNAL_STREAM").is_some(),
                repeated: Mutex::new(None),
                bursts: Mutex::new(std::collections::HashMap::new()),
                stamped: Mutex::new(clock.now()),
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
        if let Some(line) = self.admit_warning(text) {
            self.line(Level::Warning, self.inner.clock.now(), &line);
        }
    }

    /// A warning that may come in bursts from many events (the peer responder's drops): written
    /// once, then summed up once per [`REPEAT_PERIOD`] with its count, even when other warnings
    /// come in between.
    pub fn warn_repeated(&self, text: &str) {
        self.warn_repeated_as(text, text);
    }

    /// [`Log::warn_repeated`] counted under `key`: events that differ only in details an attacker
    /// chooses (a key id, a version byte) count as one; the first is written with its details.
    pub fn warn_repeated_as(&self, key: &str, text: &str) {
        let line = {
            let mut seen = self
                .inner
                .bursts
                .lock()
                .expect("the log lock is never poisoned");
            // Bounded: a flood from many senders cannot grow it without limit, nor write a line
            // per sender: past the bound new keys count together.
            if seen.len() > MAX_BURST_KEYS {
                seen.retain(|_, (at, _)| at.elapsed() < REPEAT_PERIOD);
            }
            let key = if seen.len() > MAX_BURST_KEYS && !seen.contains_key(key) {
                "warnings of many other kinds or senders"
            } else {
                key
            };
            match seen.get_mut(key) {
                Some((at, count)) => {
                    *count += 1;
                    if at.elapsed() < REPEAT_PERIOD {
                        return;
                    }
                    let line = format!("warning: {key} (repeated {count} times)");
                    *at = std::time::Instant::now();
                    *count = 0;
                    line
                }
                None => {
                    seen.insert(key.to_owned(), (std::time::Instant::now(), 0));
                    format!("warning: {text}")
                }
            }
        };
        self.line(Level::Warning, self.inner.clock.now(), &line);
    }

    /// The line to write for this warning, or `None` while it repeats within [`REPEAT_PERIOD`].
    fn admit_warning(&self, text: &str) -> Option<String> {
        let line = {
            let mut last = self
                .inner
                .repeated
                .lock()
                .expect("the log lock is never poisoned");
            match last.as_mut() {
                Some((prev, at, count)) if prev == text => {
                    *count += 1;
                    if at.elapsed() < REPEAT_PERIOD {
                        return None;
                    }
                    let line = format!("warning: {text} (repeated {count} times)");
                    *at = std::time::Instant::now();
                    *count = 0;
                    line
                }
                _ => {
                    *last = Some((text.to_owned(), std::time::Instant::now(), 0));
                    format!("warning: {text}")
                }
            }
        };
        Some(line)
    }

    /// Several informational lines in one write: a 64-channel takeover's "add ..." lines were 64
    /// writes between the release notice and the first announcement.
    pub fn info_all(&self, texts: &[String]) {
        let at = self.inner.clock.now();
        let all: String = texts
            .iter()
            .map(|t| self.format(Level::Info, at, t))
            .collect();
        self.write(&all);
    }

    fn line(&self, level: Level, at: Instant, text: &str) {
        let line = self.format(level, at, text);
        self.write(&line);
    }

    fn write(&self, line: &str) {
        // One write per call so lines from hook threads do not interleave; a closed stderr is no
        // reason to stop (eprint! would panic). Unit tests print through the harness's capture.
        #[cfg(not(test))]
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        #[cfg(test)]
        eprint!("{line}");
    }

    /// The time a line shows: `at`, or the latest one already shown if that is later. A decision
    /// carries the time the core made it, and the shell's own lines of the same step (the release
    /// notice sent, an address removed) are written before it with the time of writing; the log
    /// read `[8.582s] release notice sent` and then `[8.541s] stopped`.
    fn stamp(&self, at: Instant) -> Instant {
        let mut last = self.inner.stamped.lock().expect("log stamp lock");
        *last = (*last).max(at);
        *last
    }

    fn format(&self, level: Level, at: Instant, text: &str) -> String {
        if self.inner.journal {
            let p = match level {
                Level::Alert => 1,
                Level::Warning => 4,
                Level::Info => 6,
            };
            format!("<{p}>{text}\n")
        } else {
            let at = self.stamp(at);
            let t = Instant::from_millis(at.saturating_since(self.inner.origin).as_millis() as u64);
            format!("[{t}] {text}\n")
        }
    }
}

fn format_decision(d: &Decision) -> String {
    let role = d.role.to_string();
    match &d.channel {
        Some(c) => format!("{role} [{c}]: {}", d.reason),
        // A reason that only names the role ("stopped") is said once, not `stopped: stopped`.
        None if d.reason == role => role,
        None => format!("{role}: {}", d.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log's times never go back: a decision stamped before a line already written shows that
    /// line's time; later times show as they are.
    #[test]
    fn stamps_never_go_back() {
        let log = Log::new(Clock::start());
        let t0 = log.inner.origin;
        assert_eq!(
            log.stamp(t0 + Duration::from_millis(582)),
            t0 + Duration::from_millis(582)
        );
        assert_eq!(
            log.stamp(t0 + Duration::from_millis(541)),
            t0 + Duration::from_millis(582)
        );
        assert_eq!(
            log.stamp(t0 + Duration::from_millis(600)),
            t0 + Duration::from_millis(600)
        );
    }

    /// Bug: the last line of a stopped daemon read `stopped: stopped`.
    #[test]
    fn a_reason_that_only_names_the_role_is_said_once() {
        let d = |reason: &str| Decision {
            at: Instant::ZERO,
            role: crate::core::action::Role::Stopped,
            channel: None,
            reason: reason.to_owned(),
        };
        assert_eq!(format_decision(&d("stopped")), "stopped");
        assert_eq!(format_decision(&d("released")), "stopped: released");
    }

    /// Found by testing: 600 datagrams with distinct key ids or version bytes made 600 log lines,
    /// since the drop warnings were counted by their full text.
    #[test]
    fn drops_that_differ_only_in_sender_chosen_details_count_as_one() {
        let log = Log::new(Clock::start());
        for id in 0..600u32 {
            log.warn_repeated_as(
                "peer: dropping datagrams from 198.51.100.2: another key",
                &format!("peer: dropping datagrams from 198.51.100.2: key id {id:08x}"),
            );
        }
        let bursts = log.inner.bursts.lock().expect("lock");
        assert_eq!(bursts.len(), 1);
        assert_eq!(bursts.values().next().map(|(_, n)| *n), Some(599));
    }

    /// Many senders (or kinds) are followed up to a bound; past it they count together.
    #[test]
    fn repeated_warnings_from_many_senders_stay_bounded() {
        let log = Log::new(Clock::start());
        for sender in 0..300u32 {
            log.warn_repeated(&format!("peer: dropping datagrams from {sender}: replayed"));
        }
        let bursts = log.inner.bursts.lock().expect("lock");
        assert!(bursts.len() <= MAX_BURST_KEYS + 2, "{}", bursts.len());
    }

    #[test]
    fn a_repeated_warning_is_written_once_then_counted() {
        let log = Log::new(Clock::start());
        assert_eq!(
            log.admit_warning("eth1 down").as_deref(),
            Some("warning: eth1 down")
        );
        assert_eq!(log.admit_warning("eth1 down"), None);
        assert_eq!(log.admit_warning("eth1 down"), None);
        // Another warning is written at once, and the first one again after it.
        assert!(log.admit_warning("eth2 down").is_some());
        assert!(log.admit_warning("eth1 down").is_some());
        // Past the period the repeat is written with its count.
        if let Some((_, at, _)) = log.inner.repeated.lock().expect("lock").as_mut() {
            *at -= REPEAT_PERIOD;
        }
        assert_eq!(
            log.admit_warning("eth1 down").as_deref(),
            Some("warning: eth1 down (repeated 1 times)")
        );
    }
}
