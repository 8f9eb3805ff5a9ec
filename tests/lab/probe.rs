//! `failoverctl probe` in the lab: a live test host is reached, a dead one (address removed, link
//! down) fails within the timeout plus a margin, three targets with one dead cost one timeout, and the
//! echo leaves through the device asked for.

use crate::common;
use common::lab::{root_or_skip, Lab};
use serde_json::Value;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(500);
/// CI has two cores and starts each run through `ip netns exec`: generous, never tighter than needed.
const MARGIN: Duration = Duration::from_millis(700);

/// Runs `failoverctl probe --json ...` in `node`; returns exit code, report and wall time.
fn probe(lab: &Lab, node: &str, args: &[&str]) -> (i32, Value, Duration) {
    let started = Instant::now();
    let out = lab
        .failoverctl(node)
        .args(["probe", "--json", "--timeout", "500ms"])
        .args(args)
        .output()
        .expect("run failoverctl probe");
    let elapsed = started.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "probe {args:?}: no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report, elapsed)
}

fn reached(report: &Value, target: &str) -> bool {
    report["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .flat_map(|c| c["targets"].as_array().expect("targets"))
        .find(|t| t["target"] == target)
        .unwrap_or_else(|| panic!("{target} missing in {report}"))["reached"]
        .as_bool()
        .expect("reached is a bool")
}

#[test]
fn probe_reports_live_and_dead_test_hosts_within_one_timeout() {
    if !root_or_skip("probe_reports_live_and_dead_test_hosts_within_one_timeout") {
        return;
    }
    let lab = Lab::up();

    // A live test host, from the node's own address on the channel.
    let (code, report, _) = probe(
        &lab,
        "a",
        &["--device", "eth1", "--source", "192.0.2.11", "192.0.2.1"],
    );
    assert_eq!(code, 0, "{report}");
    assert!(reached(&report, "192.0.2.1"));
    let target = &report["channels"][0]["targets"][0];
    assert!(target["rtt_ms"][0].as_f64().expect("an rtt") < TIMEOUT.as_millis() as f64);
    assert_eq!(report["channels"][0]["source"], "192.0.2.11");

    // Three targets, one dead (its address removed): one timeout in all, not three.
    lab.ok(
        "cl",
        &["ip", "addr", "del", "192.0.2.100/24", "dev", "eth1"],
    );
    let (code, report, elapsed) = probe(
        &lab,
        "a",
        &["--device", "eth1", "192.0.2.1", "192.0.2.100", "192.0.2.12"],
    );
    assert_eq!(code, 1, "a dead target fails the channel: {report}");
    assert!(reached(&report, "192.0.2.1") && reached(&report, "192.0.2.12"));
    assert!(!reached(&report, "192.0.2.100"));
    assert!(
        elapsed >= TIMEOUT && elapsed < 2 * TIMEOUT,
        "three targets with one dead took {elapsed:?}; one timeout is {TIMEOUT:?}"
    );

    // The echo leaves through the device asked for. Linux assumes an unroutable destination is
    // on-link on a bound device and, by default, answers ARP for any of its addresses on any
    // interface; with arp_ignore=1 the test host only answers on the LAN that holds the address, so
    // LAN1's test host is reached out of eth1 and not out of eth2.
    lab.ok("th", &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]);
    let (code, report, _) = probe(&lab, "a", &["--device", "eth2", "192.0.2.1"]);
    assert_eq!(code, 1, "{report}");
    assert!(!reached(&report, "192.0.2.1"));
    let (code, report, _) = probe(&lab, "a", &["--device", "eth2", "198.51.100.1"]);
    assert_eq!(code, 0, "{report}");

    // The test host's link down: failed within the timeout plus a margin.
    lab.link("th", "eth1", false);
    let (code, report, elapsed) = probe(&lab, "a", &["--device", "eth1", "192.0.2.1"]);
    assert_eq!(code, 1, "{report}");
    assert!(!reached(&report, "192.0.2.1"));
    assert!(elapsed < TIMEOUT + MARGIN, "took {elapsed:?}");

    // Rounds: the host comes back; two rounds, both answered.
    lab.link("th", "eth1", true);
    let (code, report, _) = probe(
        &lab,
        "a",
        &[
            "--device",
            "eth1",
            "--count",
            "2",
            "--interval",
            "100ms",
            "192.0.2.1",
        ],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["channels"][0]["targets"][0]["replies"], 2);
}
