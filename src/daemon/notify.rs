//! systemd notification (`Type=notify`): READY, STATUS, WATCHDOG from the decision loop, STOPPING.
//! A no-op when `NOTIFY_SOCKET` is unset (not started by systemd). Failures to notify are returned
//! for the log, never fatal.

use std::io;
use std::time::Duration;

use sd_notify::NotifyState;

/// Sends the daemon's state to systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifier {
    enabled: bool,
}

impl Notifier {
    /// Enabled when `NOTIFY_SOCKET` is set. The variable is left in place (not unset) so the watchdog
    /// keeps working for the whole run; hooks do not need it, but harmlessly inherit it.
    pub fn from_env() -> Self {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Startup finished; `status` is shown by `systemctl status`.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)])
    }

    /// A one-line state, e.g. "active: eth1 192.0.2.10".
    pub fn status(&self, status: &str) -> io::Result<()> {
        self.send(&[NotifyState::Status(status)])
    }

    /// The watchdog ping: send it from the decision loop itself, so a stuck loop gets restarted.
    pub fn watchdog(&self) -> io::Result<()> {
        self.send(&[NotifyState::Watchdog])
    }

    /// Reloading the configuration (SIGHUP); follow with [`Notifier::ready`].
    pub fn reloading(&self) -> io::Result<()> {
        self.send(&[NotifyState::Reloading])
    }

    /// Shutting down.
    pub fn stopping(&self) -> io::Result<()> {
        self.send(&[NotifyState::Stopping])
    }

    fn send(&self, states: &[NotifyState]) -> io::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        sd_notify::notify(states)
    }
}

/// The watchdog timeout systemd expects (`WATCHDOG_USEC`, for this process per `WATCHDOG_PID`);
/// `None` when the watchdog is off. Ping at [`ping_period`] of it.
pub fn watchdog_interval() -> Option<Duration> {
    interval_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// How often to ping for a watchdog `interval`: half of it, as sd_watchdog_enabled(3) advises.
pub fn ping_period(interval: Duration) -> Duration {
    interval / 2
}

fn interval_from(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok()? != own_pid {
            return None;
        }
    }
    match usec?.trim().parse::<u64>().ok()? {
        0 => None,
        us => Some(Duration::from_micros(us)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_interval_follows_the_environment() {
        assert_eq!(interval_from(None, None, 7), None);
        assert_eq!(
            interval_from(Some("20000000"), None, 7),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            interval_from(Some("20000000"), Some("7"), 7),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            interval_from(Some("20000000"), Some("8"), 7),
            None,
            "another PID's"
        );
        assert_eq!(interval_from(Some("0"), None, 7), None);
        assert_eq!(interval_from(Some("soon"), None, 7), None);
        assert_eq!(
            ping_period(Duration::from_secs(20)),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn disabled_notifier_is_a_no_op() {
        let n = Notifier { enabled: false };
        n.ready("x").expect("no-op");
        n.watchdog().expect("no-op");
        n.stopping().expect("no-op");
    }
}
