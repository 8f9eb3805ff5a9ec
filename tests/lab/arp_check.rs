//! `failoverctl arp-check` in the lab, both methods: the active's address is found with the right
//! MAC, its absence is reported when the active's link is down, a stale entry is not mistaken for a
//! live peer, and the raw method leaves the kernel's table alone.

use crate::common;
use common::lab::{root_or_skip, Lab};
use serde_json::Value;
use std::time::{Duration, Instant};

const ACTIVEIP: &str = "192.0.2.10";
const TIMEOUT: Duration = Duration::from_millis(300);
const MARGIN: Duration = Duration::from_millis(700);

fn arp_check(lab: &Lab, method: &str, addresses: &[&str]) -> (i32, Value, Duration) {
    let started = Instant::now();
    let out = lab
        .failoverctl("b")
        .args([
            "arp-check",
            "--json",
            "--timeout",
            "300ms",
            "--device",
            "eth1",
        ])
        .args(["--method", method])
        .args(addresses)
        .output()
        .expect("run failoverctl arp-check");
    let elapsed = started.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "arp-check {method}: no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report, elapsed)
}

fn result<'a>(report: &'a Value, address: &str) -> &'a Value {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} missing in {report}"))
}

#[test]
fn arp_check_finds_the_active_and_reports_its_absence_by_both_methods() {
    if !root_or_skip("arp_check_finds_the_active_and_reports_its_absence_by_both_methods") {
        return;
    }
    let lab = Lab::up();
    lab.ok("a", &["ip", "addr", "add", "192.0.2.10/24", "dev", "eth1"]);
    let mac_a = lab.ok("a", &["cat", "/sys/class/net/eth1/address"]);
    let mac_a = mac_a.trim();

    for method in ["table", "raw"] {
        let (code, report, _) = arp_check(&lab, method, &[ACTIVEIP, "192.0.2.77"]);
        assert_eq!(code, 1, "{method}: .77 has no owner: {report}");
        let active = result(&report, ACTIVEIP);
        assert_eq!(active["answered"], true, "{method}: {report}");
        assert_eq!(active["mac"], mac_a, "{method}: the active's MAC");
        assert_eq!(result(&report, "192.0.2.77")["answered"], false);
        let (code, _, _) = arp_check(&lab, method, &[ACTIVEIP]);
        assert_eq!(code, 0, "{method}: the active answers");
    }

    // The active's link down, and a stale entry for its address left in the passive's table.
    lab.link("a", "eth1", false);
    for method in ["table", "raw"] {
        // Start from no entry: an INCOMPLETE one left by an earlier table check still queues its UDP
        // datagram, which `replace` would release (moving STALE to DELAY).
        lab.run("b", &["ip", "neigh", "del", ACTIVEIP, "dev", "eth1"]);
        lab.ok(
            "b",
            &[
                "ip", "neigh", "replace", ACTIVEIP, "lladdr", mac_a, "dev", "eth1", "nud", "stale",
            ],
        );
        let (code, report, elapsed) = arp_check(&lab, method, &[ACTIVEIP]);
        assert_eq!(
            code, 1,
            "{method}: a stale entry passed for a live peer: {report}"
        );
        assert_eq!(result(&report, ACTIVEIP)["answered"], false);
        assert_eq!(result(&report, ACTIVEIP)["mac"], Value::Null);
        assert!(elapsed < TIMEOUT + MARGIN, "{method} took {elapsed:?}");
        let table = lab.ok("b", &["ip", "neigh", "show", ACTIVEIP, "dev", "eth1"]);
        if method == "raw" {
            // Raw ARP touches no kernel table: the stale entry is still there.
            assert!(table.contains("STALE") && table.contains(mac_a), "{table}");
        } else {
            // The table method deleted it and asked afresh: no one answered.
            assert!(
                !table.contains(mac_a) || table.contains("FAILED"),
                "{table}"
            );
        }
    }
}
