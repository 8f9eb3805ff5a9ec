//! Issue 11: `run` with `requirepeer` and a keyfile it cannot read refuses to start (exit 2, naming
//! the file and the fix) instead of running without the peer protocol. Checked before any device
//! or address is looked at, so it needs no lab.

use assert_cmd::Command;
use predicates::prelude::*;

fn example() -> String {
    let out = Command::cargo_bin("failoverctl")
        .expect("the binary is built")
        .arg("example-config")
        .output()
        .expect("runs");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn run_refuses_requirepeer_with_a_missing_keyfile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("peer.key");
    let config = dir.path().join("failover.ini");
    let text = example().replace("/etc/failoverctl/peer.key", &key.display().to_string());
    std::fs::write(&config, text).expect("write config");
    for command in ["run", "run-active", "run-passive"] {
        Command::cargo_bin("failoverctl")
            .expect("the binary is built")
            .args([command, "--dry-run", "-c"])
            .arg(&config)
            .timeout(std::time::Duration::from_secs(10))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "cannot read keyfile {}",
                key.display()
            )))
            .stderr(predicate::str::contains("failoverctl keygen"));
    }
}
