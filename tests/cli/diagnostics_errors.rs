//! The diagnostics' documented errors: an unknown device exits 1, a bad address is a usage error (2),
//! a run without CAP_NET_RAW / CAP_NET_ADMIN exits 2 naming the capability.

use crate::common;
use assert_cmd::Command;
use common::lab::{root_or_skip, Lab};
use predicates::str::contains;

#[test]
fn a_bad_address_is_a_usage_error() {
    // Parsing fails before anything touches the network: no lab needed.
    for args in [
        &["probe", "--device", "eth1", "192.0.2.300"][..],
        &["arp-check", "--device", "eth1", "not-an-address"][..],
        &["probe", "--device", "eth1"][..],
        &["probe", "--device", "eth1", "192.0.2.1", "--timeout", "0s"][..],
        // Found by testing: addresses the config refuses were probed and "failed" (exit 1).
        &["probe", "--device", "eth1", "224.0.0.1"][..],
        &["probe", "--device", "eth1", "255.255.255.255"][..],
        &["probe", "--device", "eth1", "127.0.0.1"][..],
        &["probe", "--device", "eth1", "0.0.0.0"][..],
        &["probe", "--device", "eth1", "ff02::1"][..],
        &[
            "probe",
            "--device",
            "eth1",
            "--source",
            "0.0.0.0",
            "192.0.2.1",
        ][..],
        &["arp-check", "--device", "eth1", "::ffff:192.0.2.11"][..],
    ] {
        Command::cargo_bin("failoverctl")
            .expect("binary")
            .args(args)
            .assert()
            .code(2)
            .stderr(contains("error:"));
    }
}

#[test]
fn unknown_device_and_missing_privilege_give_their_exit_codes() {
    if !root_or_skip("unknown_device_and_missing_privilege_give_their_exit_codes") {
        return;
    }
    let lab = Lab::up();
    for args in [
        &["probe", "--device", "nosuch0", "192.0.2.1"][..],
        &["arp-check", "--device", "nosuch0", "192.0.2.10"][..],
        &[
            "arp-check",
            "--method",
            "raw",
            "--device",
            "nosuch0",
            "192.0.2.10",
        ][..],
        &["watch-counters", "--count", "1", "eth1", "nosuch0"][..],
    ] {
        let out = lab.failoverctl("b").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no such device: nosuch0"),
            "{args:?}: {stderr}"
        );
    }

    // Found by testing: a --source this host does not hold was probed from and every target
    // "failed" (exit 1). It is a usage error now; the node's own address (b's .12) works.
    let out = lab
        .failoverctl("b")
        .args([
            "probe",
            "--device",
            "eth1",
            "--source",
            "192.0.2.77",
            "192.0.2.1",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an address of eth1"));
    let out = lab
        .failoverctl("b")
        .args([
            "probe",
            "--device",
            "eth1",
            "--source",
            "192.0.2.12",
            "192.0.2.1",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // Without the capability (dropped from the bounding set, so the exec'd binary cannot hold it).
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "-net_raw",
            &["probe", "--device", "eth1", "192.0.2.1"],
            "CAP_NET_RAW",
        ),
        (
            "-net_raw",
            &[
                "arp-check",
                "--method",
                "raw",
                "--device",
                "eth1",
                "192.0.2.11",
            ],
            "CAP_NET_RAW",
        ),
        (
            "-net_admin",
            &["arp-check", "--device", "eth1", "192.0.2.11"],
            "CAP_NET_ADMIN",
        ),
    ];
    for (drop, args, capability) in cases {
        let out = lab
            .command("b", "setpriv")
            .args(["--inh-caps=-all", &format!("--bounding-set={drop}"), "--"])
            .arg(assert_cmd::cargo::cargo_bin("failoverctl"))
            .args(args)
            .output()
            .expect("run setpriv");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(capability) && stderr.contains("permission denied"),
            "{args:?}: {stderr}"
        );
    }
    // The same probe with the capability works: the failure above is the privilege, nothing else.
    lab.failoverctl("b")
        .args([
            "probe",
            "--device",
            "eth1",
            "--timeout",
            "500ms",
            "192.0.2.1",
        ])
        .output()
        .map(|o| assert_eq!(o.status.code(), Some(0), "{o:?}"))
        .expect("run");
}
