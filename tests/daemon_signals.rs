//! Signals reach the daemon's event channel: SIGHUP as Reload, SIGTERM and SIGINT as Stop, and the
//! process survives them (their default actions are replaced while the forwarder runs). A test binary
//! of its own, since it signals its own process.

use std::sync::mpsc;
use std::time::Duration;

use failoverctl::daemon::signals::{forward, SignalEvent};

/// The daemon's own event type, as the loop will define it.
#[derive(Debug, PartialEq)]
enum Event {
    Signal(SignalEvent),
}

#[test]
fn signals_arrive_as_events_in_order() {
    let (tx, rx) = mpsc::channel();
    let forwarder = forward(tx, Event::Signal).expect("install signal handlers");
    let wait = Duration::from_secs(5);
    for (signal, expected) in [
        (libc::SIGHUP, SignalEvent::Reload),
        (libc::SIGTERM, SignalEvent::Stop(libc::SIGTERM)),
        (libc::SIGINT, SignalEvent::Stop(libc::SIGINT)),
    ] {
        signal_hook::low_level::raise(signal).expect("raise");
        assert_eq!(rx.recv_timeout(wait), Ok(Event::Signal(expected)));
    }
    forwarder.close();
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "nothing more after close"
    );
}
