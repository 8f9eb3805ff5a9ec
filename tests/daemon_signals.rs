//! Signals reach the daemon's poll: SIGHUP as Reload, SIGTERM and SIGINT as Stop, SIGCHLD as Child,
//! and the process survives them (their default actions are replaced while the source exists). A
//! test binary of its own, since it signals its own process.

use std::time::Duration;

use failoverctl::daemon::signals::{pending, source, SignalEvent};
use mio::{Events, Interest, Poll, Token};

#[test]
fn signals_arrive_as_events_of_the_poll_in_order() {
    let mut poll = Poll::new().expect("a poll");
    let mut signals = source().expect("install signal handlers");
    poll.registry()
        .register(&mut signals, Token(0), Interest::READABLE)
        .expect("register");
    let mut events = Events::with_capacity(8);
    for (signal, expected) in [
        (libc::SIGHUP, SignalEvent::Reload),
        (libc::SIGTERM, SignalEvent::Stop(libc::SIGTERM)),
        (libc::SIGINT, SignalEvent::Stop(libc::SIGINT)),
        (libc::SIGCHLD, SignalEvent::Child),
    ] {
        signal_hook::low_level::raise(signal).expect("raise");
        let mut seen = Vec::new();
        for _ in 0..50 {
            poll.poll(&mut events, Some(Duration::from_millis(100)))
                .expect("poll");
            seen.extend(pending(&mut signals));
            if !seen.is_empty() {
                break;
            }
        }
        assert_eq!(seen, vec![expected]);
    }
}
