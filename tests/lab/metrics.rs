//! Metrics in the lab (issue 11): running daemons write `[policy] metricsfile` with their role, the
//! active's probe round trips and the peer counters, serve the same on `metricslisten`, and the file
//! follows a takeover.

use crate::common;
use common::lab::{root_or_skip, Lab};
use common::pair::{config, holds, wait_for, Daemon, ACTIVEIP};
use nix::sys::signal::Signal;
use std::path::Path;
use std::time::Duration;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The value of the first sample whose line starts with `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[test]
fn running_daemons_write_their_role_and_counters_and_follow_a_takeover() {
    let name = "running_daemons_write_their_role_and_counters_and_follow_a_takeover";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a_prom, b_prom) = (dir.path().join("a.prom"), dir.path().join("b.prom"));
    let mut a = Daemon::start(
        &lab,
        dir.path(),
        "a",
        "run",
        &config("a", "metricsfile= @DIR@/a.prom"),
        &[],
    );
    let took = wait_for(Duration::from_secs(5), || holds(&lab, "a", ACTIVEIP));
    assert!(took.is_some(), "a never took over alone:\n{}", a.log());
    let b = Daemon::start(
        &lab,
        dir.path(),
        "b",
        "run",
        &config(
            "b",
            "metricsfile= @DIR@/b.prom\nmetricslisten= 203.0.113.2:9411",
        ),
        &[],
    );
    // The probe histograms reach the file with the next refresh (metrics::REFRESH, 5 s).
    let roles = wait_for(Duration::from_secs(12), || {
        value(&read(&a_prom), "failoverctl_role{role=\"active\"}") == Some(1.0)
            && value(&read(&b_prom), "failoverctl_role{role=\"passive\"}") == Some(1.0)
            && value(
                &read(&a_prom),
                "failoverctl_probe_rtt_seconds_count{channel=\"lan1\"}",
            )
            .is_some_and(|n| n > 0.0)
            && read(&a_prom)
                .contains("failoverctl_channel_last_success_timestamp_seconds{channel=\"lan2\"")
    });
    let (at, bt) = (read(&a_prom), read(&b_prom));
    assert!(
        roles.is_some(),
        "metrics files:\n--- a\n{at}\n--- b\n{bt}\n--- a's log\n{}",
        a.log()
    );
    // Alone, a took over because nobody answered ARP nor the sync link: one takeover.
    assert_eq!(
        value(&at, "failoverctl_takeovers_total{reason=\"active_silent\"}"),
        Some(1.0),
        "{at}"
    );
    assert!(
        at.contains("failoverctl_channel_last_success_timestamp_seconds{channel=\"lan2\""),
        "{at}"
    );
    // The peer responder runs on both (the lab config has a key): its counters are there.
    assert!(bt.contains("failoverctl_peer_forged_total 0\n"), "{bt}");

    // The listener serves the same text, scraped from the peer over the sync link.
    let scrape = lab.ok(
        "a",
        &[
            "timeout",
            "5",
            "bash",
            "-c",
            "exec 3<>/dev/tcp/203.0.113.2/9411; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
        ],
    );
    assert!(scrape.starts_with("HTTP/1.1 200 OK"), "{scrape}");
    assert!(
        scrape.contains("failoverctl_role{role=\"passive\"} 1"),
        "{scrape}"
    );

    // a stops (its last write says so); b takes over and its file follows.
    a.signal(Signal::SIGTERM);
    assert_eq!(a.wait_exit(Duration::from_secs(5)), Some(0), "{}", a.log());
    assert_eq!(
        value(&read(&a_prom), "failoverctl_role{role=\"stopped\"}"),
        Some(1.0),
        "{}",
        read(&a_prom)
    );
    let followed = wait_for(Duration::from_secs(5), || {
        value(&read(&b_prom), "failoverctl_role{role=\"active\"}") == Some(1.0)
    });
    assert!(
        followed.is_some(),
        "b's metrics never showed it active:\n{}\n{}",
        read(&b_prom),
        b.log()
    );
    // a's stop sends the release notice over the sync link (the lab config has the peer key): b
    // takes over on it at once (issue 9) instead of after its ARP checks.
    assert!(
        read(&b_prom).contains("failoverctl_takeovers_total{reason=\"release_notice\"} 1"),
        "{}",
        read(&b_prom)
    );
}
