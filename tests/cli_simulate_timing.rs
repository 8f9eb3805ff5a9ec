//! `failoverctl simulate-timing` through the binary: the built-in example, a file, overrides, JSON.

use assert_cmd::Command;
use predicates::prelude::*;

fn cmd() -> Command {
    Command::cargo_bin("failoverctl").expect("the binary is built")
}

fn row(stdout: &str, name: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no row `{name}` in\n{stdout}"))
        .to_string()
}

#[test]
fn built_in_example_gives_the_document_bounds() {
    let out = cmd().arg("simulate-timing").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(row(&stdout, "active detects").contains("16 s"));
    assert!(row(&stdout, "passive detects").contains("16 s"));
    assert!(row(&stdout, "total outage  ").contains("32 s"), "{stdout}");
    assert!(row(&stdout, "with the shutdown delay").contains("62 s"));
    assert!(row(&stdout, "worst case").contains("32 s"), "fastdown=yes");
}

#[test]
fn json_has_the_bounds_in_milliseconds() {
    let out = cmd()
        .args(["simulate-timing", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["active_detection_ms"], 16_000);
    assert_eq!(v["passive_detection_ms"], 16_000);
    assert_eq!(v["total_outage_ms"], 32_000);
    assert_eq!(v["total_with_shutdown_delay_ms"], 62_000);
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(6));
}

#[test]
fn config_from_stdin_with_fastdown_off_and_a_delay_override() {
    let text = "[channel]\ndevice= eth1\nactiveip= 192.0.2.50\npassiveip= 192.0.2.51\ntestip= 192.0.2.1\n\
                [network]\nchecktime= 5\ntimeout= 500ms\nactiveretries= 4\nchannelretries= 2\nfastdown= no\n";
    let out = cmd()
        .args([
            "simulate-timing",
            "--json",
            "--shutdown-delay",
            "10s",
            "-c",
            "-",
        ])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["active_detection_ms"], 6_000);
    assert_eq!(v["passive_detection_ms"], 7_000);
    assert_eq!(v["total_outage_ms"], 13_000);
    assert_eq!(v["shutdown_delay_ms"], 10_000);
    assert_eq!(v["worst_case_ms"], 23_000);
}

#[test]
fn invalid_config_exits_1_and_unreadable_exits_2() {
    cmd()
        .args(["simulate-timing", "-c", "-"])
        .write_stdin("[network]\nchecktime= 1\ntimeout= 2\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "<stdin>:3: error: [network] timeout",
        ));
    cmd()
        .args(["simulate-timing", "-c", "/nonexistent.ini"])
        .assert()
        .code(2);
    cmd()
        .args(["simulate-timing", "--shutdown-delay", "soon"])
        .assert()
        .code(2);
}
