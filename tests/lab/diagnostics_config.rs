//! `probe`, `arp-check` and `watch-counters` with `-c FILE` in the lab: node b's failover.ini goes
//! through the real parser, its channels become the targets (source = the passiveip b holds, the
//! `testhosts=` rule, the config's timeout), and an invalid file stops every command before a packet
//! leaves.
//!
//! Linux answers ARP for any of its addresses on any interface while `arp_ignore=0` (the default), so
//! an answer on a LAN does not by itself prove the address sits on the interface of that LAN. The tests
//! below say where they depend on that, and show it once for arp-check.

use crate::common;
use common::lab::{root_or_skip, Lab};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Node b's config: both lab LANs as channels, b passive (it holds the passiveips .12).
const NODE_B: &str = "\
[channel]
ident= lan1
device= eth1
activeip= 192.0.2.10/24
passiveip= 192.0.2.12/24
testip= 192.0.2.1

[channel]
ident= lan2
device= eth2
activeip= 198.51.100.10/24
passiveip= 198.51.100.12/24
testip= 198.51.100.1

[network]
checktime= 1s
timeout= 300ms
";

/// Writes `text` as `name` into `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the config");
    path
}

/// Runs `failoverctl ARGS -c CONFIG --json` in b; returns the exit code and stdout.
fn run_b(lab: &Lab, args: &[&str], config: &Path) -> (i32, String, String) {
    let out = lab
        .failoverctl("b")
        .args(args)
        .arg("-c")
        .arg(config)
        .arg("--json")
        .output()
        .expect("run failoverctl");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}; {stderr}"))
}

/// The probe report's channel `ident`.
fn channel<'a>(report: &'a Value, ident: &str) -> &'a Value {
    report["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["channel"] == ident)
        .unwrap_or_else(|| panic!("channel {ident} missing in {report}"))
}

fn mac_of(lab: &Lab, node: &str, dev: &str) -> String {
    lab.ok(node, &["cat", &format!("/sys/class/net/{dev}/address")])
        .trim()
        .to_string()
}

#[test]
fn probe_with_a_config_probes_each_channels_test_hosts() {
    if !root_or_skip("probe_with_a_config_probes_each_channels_test_hosts") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = write(dir.path(), "failover.ini", NODE_B);
    // With arp_ignore=1 the test host answers ARP only on the LAN holding the address, so "reached"
    // proves the channel's own LAN, not a path through the other one.
    lab.ok("th", &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]);

    let (code, out, err) = run_b(&lab, &["probe"], &config);
    let report = json(&out, &err);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["timeout_ms"], 300.0, "the config's timeout");
    for (ident, device, source, target) in [
        ("lan1", "eth1", "192.0.2.12", "192.0.2.1"),
        ("lan2", "eth2", "198.51.100.12", "198.51.100.1"),
    ] {
        let c = channel(&report, ident);
        assert_eq!(c["device"], device, "{c}");
        assert_eq!(c["source"], source, "b is passive: its passiveip: {c}");
        assert_eq!(c["targets"][0]["target"], target, "{c}");
        assert_eq!(c["targets"][0]["reached"], true, "{c}");
        assert_eq!(c["healthy"], true, "{c}");
    }

    // On the active (a, its activeip added by hand beside its passiveip .11) the source is the
    // activeip, the address the active answers for.
    lab.ok("a", &["ip", "addr", "add", "192.0.2.10/24", "dev", "eth1"]);
    let config_a = write(
        dir.path(),
        "node-a.ini",
        &NODE_B.replace(".12/24", ".11/24"),
    );
    let out = lab
        .failoverctl("a")
        .args(["probe", "--json", "-c"])
        .arg(&config_a)
        .output()
        .expect("run failoverctl probe in a");
    let report = json(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(channel(&report, "lan1")["source"], "192.0.2.10", "{report}");
    assert_eq!(
        channel(&report, "lan2")["source"],
        "198.51.100.11",
        "{report}"
    );

    // The test host's eth2 down: lan2 fails, lan1 does not, the command exits 1.
    lab.link("th", "eth2", false);
    let (code, out, err) = run_b(&lab, &["probe"], &config);
    let report = json(&out, &err);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["healthy"], false);
    assert_eq!(channel(&report, "lan1")["healthy"], true, "{report}");
    assert_eq!(channel(&report, "lan2")["healthy"], false, "{report}");
    assert_eq!(channel(&report, "lan2")["targets"][0]["reached"], false);
}

#[test]
fn probe_applies_the_testhosts_rule_of_the_config() {
    if !root_or_skip("probe_applies_the_testhosts_rule_of_the_config") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Two test hosts on lan1, .77 owned by nobody.
    let base = "[channel]\ndevice= eth1\nactiveip= 192.0.2.10/24\npassiveip= 192.0.2.12/24\n\
                testip= 192.0.2.1, 192.0.2.77\n[network]\nchecktime= 1s\ntimeout= 300ms\n";
    for (policy, rule, code) in [
        ("testhosts= any", "any", 0),
        ("testhosts= all", "all", 1),
        // Classic mode's default reading: every test host must answer.
        ("mode= classic", "all", 1),
        // Improved mode's default: one dead test host is not a channel failure.
        ("mode= improved", "any", 0),
    ] {
        let config = write(
            dir.path(),
            "rule.ini",
            &format!("{base}[policy]\n{policy}\n"),
        );
        let (got, out, err) = run_b(&lab, &["probe"], &config);
        let report = json(&out, &err);
        let c = channel(&report, "eth1");
        assert_eq!(c["rule"], rule, "{policy}: {report}");
        assert_eq!(c["targets"][0]["reached"], true, "{policy}: {report}");
        assert_eq!(c["targets"][1]["reached"], false, "{policy}: {report}");
        assert_eq!(got, code, "{policy}: {report}");
        assert_eq!(c["healthy"], code == 0, "{policy}: {report}");
    }
}

#[test]
fn arp_check_with_a_config_checks_each_channels_activeip() {
    if !root_or_skip("arp_check_with_a_config_checks_each_channels_activeip") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = write(dir.path(), "failover.ini", NODE_B);
    // a acts as the active by hand, no daemon: its activeip on lan1 only.
    lab.ok("a", &["ip", "addr", "add", "192.0.2.10/24", "dev", "eth1"]);
    let mac_eth1 = mac_of(&lab, "a", "eth1");

    let result = |report: &Value, ident: &str| -> Value {
        report["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["channel"] == ident)
            .unwrap_or_else(|| panic!("{ident} missing in {report}"))
            .clone()
    };
    for method in ["table", "raw"] {
        let (code, out, err) = run_b(&lab, &["arp-check", "--method", method], &config);
        let report = json(&out, &err);
        assert_eq!(code, 1, "{method}: lan2's activeip has no owner: {report}");
        assert_eq!(report["timeout_ms"], 300.0, "the config's timeout");
        let lan1 = result(&report, "lan1");
        assert_eq!(
            (&lan1["device"], &lan1["address"]),
            (&Value::from("eth1"), &Value::from("192.0.2.10"))
        );
        assert_eq!(lan1["answered"], true, "{method}: {report}");
        assert_eq!(lan1["mac"], mac_eth1.as_str(), "{method}: a's eth1 MAC");
        let lan2 = result(&report, "lan2");
        assert_eq!(lan2["address"], "198.51.100.10");
        assert_eq!(lan2["answered"], false, "{method}: {report}");
        assert_eq!(lan2["mac"], Value::Null);
    }

    // The limit of any ARP check: lan2's activeip put on a's eth1 by mistake still answers on lan2
    // (with eth2's MAC) while a keeps arp_ignore=0; with arp_ignore=1 it no longer does.
    lab.ok(
        "a",
        &["ip", "addr", "add", "198.51.100.10/24", "dev", "eth1"],
    );
    let (code, out, err) = run_b(&lab, &["arp-check", "--method", "raw"], &config);
    let report = json(&out, &err);
    assert_eq!(code, 0, "arp_ignore=0 answers on every LAN: {report}");
    assert_eq!(result(&report, "lan2")["mac"], mac_of(&lab, "a", "eth2"));
    lab.ok("a", &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]);
    let (code, out, err) = run_b(&lab, &["arp-check", "--method", "raw"], &config);
    let report = json(&out, &err);
    assert_eq!(code, 1, "{report}");
    assert_eq!(result(&report, "lan2")["answered"], false, "{report}");
    assert_eq!(result(&report, "lan1")["answered"], true, "{report}");
}

#[test]
fn watch_counters_with_a_config_watches_each_channels_device() {
    if !root_or_skip("watch_counters_with_a_config_watches_each_channels_device") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = write(dir.path(), "failover.ini", NODE_B);
    let (code, out, err) = run_b(
        &lab,
        &["watch-counters", "--count", "2", "--interval", "200ms"],
        &config,
    );
    assert_eq!(code, 0, "{err}");
    let intervals: Vec<Value> = out.lines().map(|l| json(l, &err)).collect();
    assert_eq!(intervals.len(), 2, "--count 2: {out}");
    for (n, interval) in intervals.iter().enumerate() {
        assert_eq!(interval["interval"], n as u64 + 1);
        let devices: Vec<&str> = interval["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .map(|d| d["device"].as_str().expect("a device name"))
            .collect();
        assert_eq!(devices, ["eth1", "eth2"], "the config's channels, in order");
        for d in interval["devices"].as_array().expect("devices") {
            assert!(d["rx_packets"].is_u64() && d["tx_packets"].is_u64(), "{d}");
            assert!(d["verdict"] == "traffic" || d["verdict"] == "idle", "{d}");
        }
    }
}

/// b's transmitted packets on eth1 and eth2, from the namespace's own sysfs.
fn tx_packets(lab: &Lab) -> [u64; 2] {
    ["eth1", "eth2"].map(|dev| {
        lab.ok(
            "b",
            &[
                "cat",
                &format!("/sys/class/net/{dev}/statistics/tx_packets"),
            ],
        )
        .trim()
        .parse()
        .expect("a counter")
    })
}

#[test]
fn an_invalid_config_is_exit_1_at_its_line_and_sends_nothing() {
    if !root_or_skip("an_invalid_config_is_exit_1_at_its_line_and_sends_nothing") {
        return;
    }
    let lab = Lab::up();
    // Without IPv6, b sends nothing on its own (no router solicitations, no MLD reports).
    for key in ["all", "default", "eth1", "eth2"] {
        lab.ok(
            "b",
            &[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ],
        );
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The first channel is valid; the error is in the second (line 13), so a command that acted on
    // channels before the whole file was checked would send on eth1.
    let bad = NODE_B.replace("testip= 198.51.100.1\n", "testip= 198.51.100.300\n");
    assert_eq!(bad.lines().nth(12), Some("testip= 198.51.100.300"));
    let config = write(dir.path(), "bad.ini", &bad);
    let location = format!("{}:13:", config.display());

    let before = tx_packets(&lab);
    for args in [
        &["probe"][..],
        &["arp-check"][..],
        &["arp-check", "--method", "raw"][..],
        &["watch-counters", "--count", "1", "--interval", "200ms"][..],
    ] {
        let (code, out, err) = run_b(&lab, args, &config);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: no report: {out}");
        assert!(
            err.contains(&location) && err.contains("error"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(tx_packets(&lab), before, "an invalid config sent packets");

    // The control: the same commands with the valid file do send, so the counters would show it.
    let config = write(dir.path(), "good.ini", NODE_B);
    run_b(&lab, &["probe"], &config);
    let after = tx_packets(&lab);
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "{before:?} -> {after:?}"
    );
}
