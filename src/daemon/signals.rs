//! Signals as events: SIGTERM and SIGINT mean stop, SIGHUP means reload. A thread of signal-hook's
//! forwards them into the daemon's one `mpsc` channel, which also carries probe results and timers, so
//! the loop waits on a single `recv_timeout(deadline - now)`.

use std::io;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// SIGTERM or SIGINT (the number is kept for the log): stop cleanly, releasing the addresses
    /// when `releaseonstop=yes`.
    Stop(i32),
    /// SIGHUP: re-read and validate the config; keep the old one if the new one is bad.
    Reload,
}

impl SignalEvent {
    /// The event of a signal number; `None` for signals this module does not handle.
    pub fn from_signal(signal: i32) -> Option<Self> {
        match signal {
            SIGTERM | SIGINT => Some(SignalEvent::Stop(signal)),
            SIGHUP => Some(SignalEvent::Reload),
            _ => None,
        }
    }
}

/// The forwarding thread; [`SignalForwarder::close`] (or drop) stops it. While it exists the three
/// signals no longer have their default actions.
pub struct SignalForwarder {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

/// Starts forwarding SIGTERM, SIGINT and SIGHUP into `tx`, each wrapped by `wrap` into the daemon's
/// own event type. Forwarding ends when the receiver is gone or the forwarder is closed.
pub fn forward<T, F>(tx: Sender<T>, wrap: F) -> io::Result<SignalForwarder>
where
    T: Send + 'static,
    F: Fn(SignalEvent) -> T + Send + 'static,
{
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let handle = signals.handle();
    let thread = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let Some(event) = SignalEvent::from_signal(signal) else {
                    continue;
                };
                if tx.send(wrap(event)).is_err() {
                    break;
                }
            }
        })?;
    Ok(SignalForwarder {
        handle,
        thread: Some(thread),
    })
}

impl SignalForwarder {
    /// Stops the thread and waits for it.
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        self.stop();
    }
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
        assert_eq!(SignalEvent::from_signal(signal_hook::consts::SIGUSR1), None);
    }
}
