//! Signals as events of the daemon's one poll: SIGTERM and SIGINT mean stop, SIGHUP means reload,
//! SIGCHLD means a hook or the failure command ended. signal-hook-mio turns them into a readable
//! source of the loop's `mio::Poll`, so no thread and no extra wake-up is needed.

use std::io;

use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// SIGTERM or SIGINT (the number is kept for the log): stop cleanly, releasing the addresses
    /// when `releaseonstop=yes`.
    Stop(i32),
    /// SIGHUP: re-read and validate the config; keep the old one if the new one is bad.
    Reload,
    /// SIGCHLD: reap the children that ended.
    Child,
}

impl SignalEvent {
    /// The event of a signal number; `None` for signals this module does not handle.
    pub fn from_signal(signal: i32) -> Option<Self> {
        match signal {
            SIGTERM | SIGINT => Some(SignalEvent::Stop(signal)),
            SIGHUP => Some(SignalEvent::Reload),
            SIGCHLD => Some(SignalEvent::Child),
            _ => None,
        }
    }
}

/// The four signals as a source for the loop's poll. While it exists they no longer have their
/// default actions.
pub fn source() -> io::Result<Signals> {
    Signals::new([SIGTERM, SIGINT, SIGHUP, SIGCHLD])
}

/// The events of the signals that arrived since the last call, in order.
pub fn pending(signals: &mut Signals) -> Vec<SignalEvent> {
    signals
        .pending()
        .filter_map(SignalEvent::from_signal)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers_map_to_events() {
        assert_eq!(
            SignalEvent::from_signal(SIGTERM),
            Some(SignalEvent::Stop(SIGTERM))
        );
        assert_eq!(
            SignalEvent::from_signal(SIGINT),
            Some(SignalEvent::Stop(SIGINT))
        );
        assert_eq!(SignalEvent::from_signal(SIGHUP), Some(SignalEvent::Reload));
        assert_eq!(SignalEvent::from_signal(SIGCHLD), Some(SignalEvent::Child));
        assert_eq!(SignalEvent::from_signal(signal_hook::consts::SIGUSR1), None);
    }
}
