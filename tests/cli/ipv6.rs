//! Issue 12 through the binary: `validate` and `simulate-timing` take an IPv6 and a dual-stack
//! config, report a channel of two families at its line, and time an IPv6 pair as its IPv4 twin.

use std::path::PathBuf;

use assert_cmd::Command;

fn cmd() -> Command {
    Command::cargo_bin("failoverctl").expect("the binary is built")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(name)
}

fn json(args: &[&str], config: &str) -> (Option<i32>, serde_json::Value) {
    let out = cmd()
        .args(args)
        .arg("-c")
        .arg(fixture(config))
        .arg("--json")
        .output()
        .expect("runs");
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    (out.status.code(), value)
}

#[test]
fn validate_accepts_ipv6_and_dual_stack_configs() {
    for (config, families) in [
        ("ipv6.ini", vec!["2001:db8:1::50"]),
        (
            "dual-stack.ini",
            vec!["192.0.2.50", "2001:db8:1::50", "2001:db8:2::50"],
        ),
    ] {
        let (code, v) = json(&["validate", "--strict"], config);
        assert_eq!(code, Some(0), "{config}: {v}");
        assert_eq!(v["valid"], true);
        assert_eq!(v["warnings"], 0, "{config}: {v}");
        let activeips: Vec<&str> = v["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .map(|c| c["activeip"].as_str().expect("an address"))
            .collect();
        assert_eq!(activeips, families, "{config}");
    }
}

#[test]
fn validate_reports_a_channel_of_two_families_at_its_lines() {
    let out = cmd()
        .arg("validate")
        .arg("-c")
        .arg(fixture("bad/ipv6-mixed-family.ini"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = format!("{stdout}{stderr}");
    assert!(
        text.contains("ipv6-mixed-family.ini:6: error: [channel if-1] passiveip: 192.0.2.51 is an IPv4 address but activeip 2001:db8:1::50 is IPv6"),
        "{text}"
    );
    assert!(
        text.contains("ipv6-mixed-family.ini:8: error: [channel if-1] testip:"),
        "{text}"
    );
}

#[test]
fn validate_warns_about_a_link_local_activeip() {
    let (code, v) = json(&["validate"], "warn/ipv6-link-local-activeip.ini");
    assert_eq!(code, Some(0), "{v}");
    let warned = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .any(|d| {
            d["key"] == "activeip" && d["message"].as_str().unwrap_or("").contains("link-local")
        });
    assert!(warned, "{v}");
    let (code, v) = json(
        &["validate", "--strict"],
        "warn/ipv6-link-local-activeip.ini",
    );
    assert_eq!(code, Some(1), "--strict makes the warning fail: {v}");
}

#[test]
fn simulate_timing_times_an_ipv6_pair_as_its_formulas_say() {
    let (code, v) = json(&["simulate-timing"], "ipv6.ini");
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["active_detection_ms"], 16_000);
    assert_eq!(v["passive_detection_ms"], 16_000);
    assert_eq!(v["total_outage_ms"], 32_000);
    let simulated = v["simulated"].as_array().expect("simulated");
    assert_eq!(simulated.len(), 4);
    for s in simulated {
        assert!(s["error"].is_null(), "{s}");
        // A held failure (test host dead for both nodes) has no bound to compare with.
        assert_ne!(s["compared"]["within"], false, "{s}");
        assert_eq!(s["gap_within_worst_case"], true, "{s}");
    }
    let takeovers = simulated
        .iter()
        .filter(|s| !s["takeover_after_ms"].is_null());
    assert_eq!(
        takeovers.count(),
        3,
        "every fault but the shared dead test host fails over"
    );
    // The dual-stack pair simulates too, every scenario within its bound.
    let (code, v) = json(&["simulate-timing"], "dual-stack.ini");
    assert_eq!(code, Some(0), "{v}");
    for s in v["simulated"].as_array().expect("simulated") {
        assert!(s["error"].is_null(), "{s}");
        assert_ne!(s["compared"]["within"], false, "{s}");
        assert_eq!(s["gap_within_worst_case"], true, "{s}");
    }
}

/// `probe` and `arp-check` take IPv6 addresses now (they were refused with exit 2): the address
/// parses, and an unknown device is the same exit 1 as for IPv4, before any packet is sent. A
/// malformed address is still a usage error (exit 2).
#[test]
fn probe_and_arp_check_take_ipv6_addresses() {
    for args in [
        &["probe", "--device", "fo-nodev6", "2001:db8:1::1"][..],
        &["arp-check", "--device", "fo-nodev6", "2001:db8:1::10"],
        &[
            "arp-check",
            "--method",
            "raw",
            "--device",
            "fo-nodev6",
            "2001:db8:1::10",
            "192.0.2.10",
        ],
    ] {
        let out = cmd().args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no such device: fo-nodev6"),
            "{args:?}: {stderr}"
        );
    }
    let out = cmd()
        .args(["arp-check", "--device", "fo-nodev6", "2001:db8::1::2"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
