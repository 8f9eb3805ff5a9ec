//! `failoverctl validate` and `example-config` through the binary: exit codes, messages, JSON, stdin.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn cmd() -> Command {
    Command::cargo_bin("failoverctl").expect("the binary is built")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(name)
}

fn example() -> String {
    let out = cmd().arg("example-config").output().expect("runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The example with its keyfile pointed at a key made by `keygen`: the example names
/// /etc/failoverctl/peer.key, and this host's /etc is not the test's business.
fn example_with_key() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("peer.key");
    cmd().args(["keygen", "--out"]).arg(&key).assert().code(0);
    let text = example().replace("/etc/failoverctl/peer.key", &key.display().to_string());
    (dir, text)
}

#[test]
fn valid_config_exits_0_with_table_and_bounds() {
    cmd()
        .args(["validate", "-c"])
        .arg(fixture("source-document.ini"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("if-1"))
        .stdout(predicate::str::contains("192.168.10.50"))
        .stdout(predicate::str::contains("32 s"))
        .stderr(predicate::str::contains(
            "source-document.ini:5: warning: [channel if-1] testip: only one test host",
        ));
}

#[test]
fn warnings_fail_with_strict() {
    cmd()
        .args(["validate", "--strict", "-c"])
        .arg(fixture("source-document.ini"))
        .assert()
        .code(1);
}

/// Found by testing: `--strict --json` said `"valid": true` beside exit 1. `valid` agrees with the
/// exit code; without --strict the same config is valid.
#[test]
fn strict_json_says_invalid_when_a_warning_fails_it() {
    for (args, code, valid) in [
        (vec!["validate", "--json", "-c"], 0, true),
        (vec!["validate", "--strict", "--json", "-c"], 1, false),
    ] {
        let out = cmd()
            .args(&args)
            .arg(fixture("source-document.ini"))
            .output()
            .expect("run validate");
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["valid"], valid, "{args:?}: {v}");
        assert!(v["warnings"].as_u64().unwrap_or(0) > 0, "{v}");
    }
}

#[test]
fn example_config_is_valid_even_strictly() {
    let (_dir, text) = example_with_key();
    cmd()
        .args(["validate", "--strict", "-c", "-"])
        .write_stdin(text)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("if-2"));
}

/// Issue 11: `validate` called a config valid whose keyfile nothing had created.
#[test]
fn missing_or_world_readable_keyfile_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("peer.key");
    let text = example().replace("/etc/failoverctl/peer.key", &key.display().to_string());
    cmd()
        .args(["validate", "--strict", "-c", "-"])
        .write_stdin(text.clone())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "warning: [sendconfig] keyfile: keyfile",
        ))
        .stderr(predicate::str::contains("does not exist"));
    cmd().args(["keygen", "--out"]).arg(&key).assert().code(0);
    cmd()
        .args(["keygen", "--out"])
        .arg(&key)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    cmd()
        .args(["validate", "-c", "-"])
        .write_stdin(text)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "readable by group or others (mode 0644)",
        ));
}

#[test]
fn invalid_config_exits_1_with_located_errors() {
    cmd()
        .args(["validate", "-c"])
        .arg(fixture("bad/unknown-key.ini"))
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "unknown-key.ini:7: error: [channel if-1] tesip: unknown key (did you mean `testip`?)",
        ))
        .stderr(predicate::str::contains(
            "unknown-key.ini:3: error: [channel if-1] testip: missing required key",
        ));
}

#[test]
fn stdin_is_named_in_messages() {
    cmd()
        .args(["validate", "-c", "-"])
        .write_stdin("[channel]\ndevice= eth1\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "<stdin>:1: error: [channel eth1] activeip: missing required key",
        ));
}

#[test]
fn unreadable_file_exits_2() {
    cmd()
        .args(["validate", "-c", "/nonexistent/failover.ini"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/failover.ini",
        ));
}

#[test]
fn usage_error_exits_2() {
    cmd().args(["validate", "--no-such-flag"]).assert().code(2);
}

#[test]
fn json_lists_diagnostics() {
    let out = cmd()
        .args(["validate", "--json", "-c"])
        .arg(fixture("bad/outside-subnet.ini"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 2);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 6);
    assert_eq!(d["section"], "channel");
    assert_eq!(d["ident"], "if-1");
    assert_eq!(d["key"], "passiveip");
    assert!(d["file"]
        .as_str()
        .expect("file is a string")
        .ends_with("outside-subnet.ini"));
    assert!(v["channels"].is_null());
}

#[test]
fn json_on_success_has_channels_and_timing() {
    let (_dir, text) = example_with_key();
    let out = cmd()
        .args(["validate", "--json", "-c", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["valid"], true);
    assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["channels"][0]["ident"], "if-1");
    assert_eq!(v["channels"][0]["prefix"], 24);
    assert_eq!(v["channels"][1]["testips"][1], "198.51.100.2");
    assert_eq!(v["timing"]["total_outage_ms"], 32_000);
}

#[test]
fn check_host_reports_missing_devices() {
    // No host has an interface of this name (IFNAMSIZ allows 15 characters).
    let text = example().replace("device= eth2", "device= fctl-absent0");
    cmd()
        .args(["validate", "--check-host", "-c", "-"])
        .write_stdin(text)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "[channel if-2] device: no interface `fctl-absent0` on this host",
        ));
}

/// Bug: a huge duration (`checktime= 18446744073709551615`) panicked `validate` and
/// `simulate-timing` (exit 101) in the timing arithmetic, while `run-passive` started on the same file.
#[test]
fn huge_durations_are_errors_with_their_range_not_a_panic() {
    let path = fixture("bad/huge-checktime.ini");
    for args in [
        &["validate", "-c"][..],
        &["simulate-timing", "-c"][..],
        &["run-passive", "--dry-run", "-c"][..],
    ] {
        cmd()
            .args(args)
            .arg(&path)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "huge-checktime.ini:10: error: [network] checktime:",
            ))
            .stderr(predicate::str::contains("out of range: 1ms to 1h"))
            .stderr(predicate::str::contains("panicked").not());
    }
}

/// Bug: `validate -c /dev/zero` and an endless stdin grew until out of memory.
#[test]
fn an_oversized_config_is_refused_naming_the_limit() {
    cmd()
        .args(["validate", "-c", "/dev/zero"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /dev/zero: larger than the 1 MiB limit of a config file",
        ));
    let big = format!("{}\n", ";".repeat(1024 * 1024 + 1));
    cmd()
        .args(["validate", "-c", "-"])
        .write_stdin(big)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read <stdin>: larger than the 1 MiB limit",
        ));
}

/// The source document's example with `[network]` lines replaced, for the tests below.
fn document_with(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(fixture("source-document.ini")).expect("fixture");
    assert!(text.contains(from), "{from}");
    text.replace(from, to)
}

/// Bug: durations count in whole milliseconds in the core, but `checktime= 10100us` and
/// `timeout= 10050us` validated (timeout below checktime by 50 µs) and ran as 10 ms and 10 ms: a
/// timeout equal to the checktime, which `validate` exists to refuse. Flags took `1500us` too.
#[test]
fn sub_millisecond_durations_are_refused_not_truncated() {
    let text = document_with("checktime= 10 ", "checktime= 10100us")
        .replace("timeout= 2 ", "timeout= 10050us");
    cmd()
        .args(["validate", "-c", "-"])
        .write_stdin(text)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "<stdin>:10: error: [network] checktime: `10100us` is not a whole number of milliseconds",
        ));
    cmd()
        .args([
            "probe",
            "--device",
            "lo",
            "--timeout",
            "1500us",
            "192.0.2.1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not a whole number of milliseconds",
        ));
}

/// Bug: an invalid `timeout` was replaced by its default (2 s) for the check against checktime,
/// so `timeout= 500us` beside `checktime= 200ms` also reported "timeout (2 s) must be shorter than
/// checktime (200 ms)", a value the file never had.
#[test]
fn an_invalid_timeout_is_reported_once_not_compared_as_its_default() {
    let text = document_with("checktime= 10 ", "checktime= 200ms")
        .replace("timeout= 2 ", "timeout= 500us");
    cmd()
        .args(["validate", "-c", "-"])
        .write_stdin(text)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timeout: `500us` is out of range"))
        .stderr(predicate::str::contains("must be shorter than checktime").not())
        .stderr(predicate::str::contains("1 error(s)"));
}

/// Bug: a diagnostic quoted the whole offending value, so a 200 KB `ident` or duration made one
/// 200 KB line on the terminal and in `--json` (and in the journal, through `run`).
#[test]
fn diagnostics_quote_long_values_shortened() {
    let long = "9".repeat(200_000);
    let text = document_with("checktime= 10 ", &format!("checktime= {long}s"))
        .replace("ident= if-1", &format!("ident= {}", "a".repeat(100_000)));
    let out = cmd()
        .args(["validate", "-c", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    let longest = stderr.lines().map(str::len).max().unwrap_or(0);
    assert!(
        longest < 1_000,
        "a line of {longest} bytes:\n{}",
        &stderr[..2000]
    );
    assert!(stderr.contains("bytes)"), "{}", &stderr[..2000]);
    assert!(!stderr.contains("limits::"), "{stderr}");
}

/// Bug: `keyfile= /dev/zero` made `validate` (and `run`, which loads the key the same way) read
/// until out of memory, and a FIFO blocked it forever; a directory got the advice to `chmod 600`.
#[test]
fn a_keyfile_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo.key");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    for (path, what) in [
        (PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (dir.path().to_path_buf(), "not a regular file"),
    ] {
        let text = example().replace("/etc/failoverctl/peer.key", &path.display().to_string());
        // A hang ends at the timeout and fails on the exit code (no timing is asserted).
        cmd()
            .args(["validate", "--check-host", "-c", "-"])
            .write_stdin(text)
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(1)
            .stderr(predicate::str::contains(what))
            .stderr(predicate::str::contains("chmod").not());
    }
}
