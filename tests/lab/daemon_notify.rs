//! sd-notify messages reach a `NOTIFY_SOCKET` as systemd would read them. A test binary of its own,
//! since it sets the process environment.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use failoverctl::daemon::notify::Notifier;

#[test]
fn ready_status_watchdog_and_stopping_reach_the_socket() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    // The only test in this binary: no other thread reads the environment meanwhile.
    std::env::set_var("NOTIFY_SOCKET", &path);
    let n = Notifier::from_env();
    assert!(n.is_enabled());

    let recv = || {
        let mut buf = [0u8; 512];
        let len = sock.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..len]).into_owned()
    };
    n.ready("passive: watching 192.0.2.10").expect("send READY");
    assert_eq!(recv(), "READY=1\nSTATUS=passive: watching 192.0.2.10\n");
    n.watchdog().expect("send WATCHDOG");
    assert_eq!(recv(), "WATCHDOG=1\n");
    n.stopping().expect("send STOPPING");
    assert_eq!(recv(), "STOPPING=1\n");

    std::env::remove_var("NOTIFY_SOCKET");
    let off = Notifier::from_env();
    assert!(!off.is_enabled());
    off.ready("ignored").expect("a no-op without NOTIFY_SOCKET");
}
