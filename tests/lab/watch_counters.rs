//! `failoverctl watch-counters` in the lab: traffic is seen while the client pings the node, and
//! idleness once it stops.

use crate::common;
use common::lab::{root_or_skip, Lab};
use serde_json::Value;

/// Silences the lab's own background chatter (IPv6 router solicitations, MLD reports) that would
/// make an idle interface look busy. Only the lab's namespaces are touched.
fn quiet_ipv6(lab: &Lab) {
    for node in ["a", "b", "th", "cl", "s1", "s2"] {
        lab.ok(node, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        lab.ok(
            node,
            &["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
        );
    }
}

#[test]
fn watch_counters_sees_traffic_then_idleness() {
    if !root_or_skip("watch_counters_sees_traffic_then_idleness") {
        return;
    }
    let lab = Lab::up();
    quiet_ipv6(&lab);
    let watch = lab.spawn(
        "a",
        &[
            assert_cmd::cargo::cargo_bin("failoverctl")
                .to_str()
                .expect("utf-8 path"),
            "watch-counters",
            "--json",
            "--interval",
            "300ms",
            "--count",
            "10",
            "eth1",
        ],
    );
    // About one second of pings from the client, inside the first intervals.
    lab.ok(
        "cl",
        &["ping", "-c", "8", "-i", "0.1", "-W", "1", "192.0.2.11"],
    );
    let out = watch
        .wait_with_output()
        .expect("watch-counters ends after --count");
    assert!(
        out.status.success(),
        "watch-counters failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let intervals: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(intervals.len(), 10, "--count 10 gives ten intervals");
    let eth1: Vec<&Value> = intervals.iter().map(|i| &i["devices"][0]).collect();
    assert!(eth1.iter().all(|d| d["device"] == "eth1"));

    let busy = eth1
        .iter()
        .position(|d| d["verdict"] == "traffic")
        .expect("an interval with traffic while the client pings");
    assert!(eth1[busy]["rx_delta"].as_u64() >= Some(1));
    assert!(eth1[busy]["tx_delta"].as_u64() >= Some(1));
    // The pings end after about a second: the last intervals (the last 1.2 s) are idle.
    for d in &eth1[6..] {
        assert_eq!(d["verdict"], "idle", "after the pings stopped: {d}");
        assert_eq!(
            (d["rx_delta"].as_u64(), d["tx_delta"].as_u64()),
            (Some(0), Some(0))
        );
    }
}

#[test]
fn watch_counters_without_count_runs_until_ctrl_c() {
    if !root_or_skip("watch_counters_without_count_runs_until_ctrl_c") {
        return;
    }
    let lab = Lab::up();
    let watch = lab.spawn(
        "a",
        &[
            assert_cmd::cargo::cargo_bin("failoverctl")
                .to_str()
                .expect("utf-8 path"),
            "watch-counters",
            "--json",
            "--interval",
            "100ms",
            "eth1",
            "eth2",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    // `ip netns exec` execs the program: this PID is failoverctl itself.
    let pid = nix::unistd::Pid::from_raw(watch.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT our own child");
    let out = watch
        .wait_with_output()
        .expect("watch-counters stops on SIGINT");
    assert_eq!(out.status.code(), Some(0), "Ctrl-C is a normal end");
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(lines >= 3, "about six intervals before Ctrl-C, got {lines}");
}
