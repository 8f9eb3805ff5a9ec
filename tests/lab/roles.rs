//! The one-role commands and the failure actions, in the lab: `run-passive` takes over and exits,
//! `run-active` ends with its failure action, `--dry-run` changes nothing, and the source document's
//! first story, "the active reboots even when the passive is off", fixed by `requirepeer`.

use crate::common;
use common::lab::{root_or_skip, Lab};
use common::pair::{config, holds, wait_for, Daemon, ACTIVEIP};
use std::time::Duration;

fn lab_and_dir(name: &str) -> Option<(Lab, tempfile::TempDir)> {
    root_or_skip(name).then(|| (Lab::up(), tempfile::tempdir().expect("tempdir")))
}

/// Makes every test host of node a's channels unreachable (the channels "fail").
fn kill_test_hosts(lab: &Lab) {
    for node in ["th", "cl"] {
        lab.link(node, "eth1", false);
        lab.link(node, "eth2", false);
    }
}

#[test]
fn run_passive_takes_over_runs_the_up_hook_and_exits_0() {
    let Some((lab, dir)) = lab_and_dir("run_passive_takes_over_runs_the_up_hook_and_exits_0")
    else {
        return;
    };
    let hook = dir.path().join("up.env");
    let policy = format!(
        "up= echo \"$FAILOVERCTL_EVENT $FAILOVERCTL_CHANNEL $FAILOVERCTL_DEVICE $FAILOVERCTL_ACTIVEIP\" >> {}",
        hook.display()
    );
    let mut b = Daemon::start(
        &lab,
        dir.path(),
        "b",
        "run-passive",
        &config("b", &policy),
        &[],
    );
    assert_eq!(b.wait_exit(Duration::from_secs(5)), Some(0), "{}", b.log());
    assert!(holds(&lab, "b", ACTIVEIP) && holds(&lab, "b", "198.51.100.10"));
    let seen = wait_for(Duration::from_secs(3), || {
        std::fs::read_to_string(&hook).is_ok_and(|t| t.lines().count() == 2)
    });
    assert!(seen.is_some(), "up hooks did not run:\n{}", b.log());
    let text = std::fs::read_to_string(&hook).expect("hook output");
    assert!(text.contains("up lan1 eth1 192.0.2.10"), "{text}");
    assert!(text.contains("up lan2 eth2 198.51.100.10"), "{text}");
}

#[test]
fn run_passive_dry_run_touches_nothing() {
    let Some((lab, dir)) = lab_and_dir("run_passive_dry_run_touches_nothing") else {
        return;
    };
    let mut b = Daemon::start(
        &lab,
        dir.path(),
        "b",
        "run-passive",
        &config("b", ""),
        &["--dry-run"],
    );
    assert_eq!(b.wait_exit(Duration::from_secs(5)), Some(0), "{}", b.log());
    assert!(
        b.log().contains("dry-run: would add 192.0.2.10 on eth1"),
        "{}",
        b.log()
    );
    assert!(!holds(&lab, "b", ACTIVEIP), "a dry run added the activeip");
}

#[test]
fn run_active_exec_failure_action_ends_with_exit_1() {
    let Some((lab, dir)) = lab_and_dir("run_active_exec_failure_action_ends_with_exit_1") else {
        return;
    };
    let marker = dir.path().join("failed");
    let policy = format!(
        "onfailure= exec:echo \"$FAILOVERCTL_EVENT $FAILOVERCTL_CHANNEL\" > {}\nrequirepeer= no\nfastdown= no",
        marker.display()
    );
    // fastdown is a [network] key: keep it there.
    let cfg = config("a", &policy.replace("\nfastdown= no", ""))
        .replace("[sendconfig]", "fastdown= no\n\n[sendconfig]");
    let mut a = Daemon::start(&lab, dir.path(), "a", "run-active", &cfg, &[]);
    assert!(wait_for(Duration::from_secs(3), || holds(&lab, "a", ACTIVEIP)).is_some());
    kill_test_hosts(&lab);
    assert_eq!(a.wait_exit(Duration::from_secs(5)), Some(1), "{}", a.log());
    let text = std::fs::read_to_string(&marker).expect("the exec command ran");
    assert!(text.starts_with("failure lan"), "{text}");
    // fastdown=no: the addresses stay until the action itself does something about them.
    assert!(holds(&lab, "a", ACTIVEIP));
}

#[test]
fn classic_reboot_goes_through_the_injected_command_after_fastdown_release() {
    let Some((lab, dir)) =
        lab_and_dir("classic_reboot_goes_through_the_injected_command_after_fastdown_release")
    else {
        return;
    };
    let mut a = Daemon::start(
        &lab,
        dir.path(),
        "a",
        "run",
        &config("a", "mode= classic"),
        &[],
    );
    assert!(wait_for(Duration::from_secs(5), || holds(&lab, "a", ACTIVEIP)).is_some());
    kill_test_hosts(&lab);
    assert_eq!(a.wait_exit(Duration::from_secs(5)), Some(1), "{}", a.log());
    let reboots = std::fs::read_to_string(a.reboots_path()).expect("the injected reboot ran");
    assert_eq!(reboots.lines().count(), 1);
    assert!(
        !holds(&lab, "a", ACTIVEIP),
        "fastdown=yes releases before the reboot"
    );
    let history = std::fs::read_to_string(dir.path().join("a.history")).expect("history");
    assert_eq!(
        history.lines().count(),
        1,
        "the failure action is on record"
    );
}

/// Story 1: "the active reboots even when the passive is off, so nobody takes over".
#[test]
fn story_passive_off_the_active_holds_instead_of_rebooting() {
    let Some((lab, dir)) = lab_and_dir("story_passive_off_the_active_holds_instead_of_rebooting")
    else {
        return;
    };
    // The peer is off: its sync link is down and nothing runs there.
    lab.link("b", "sync0", false);
    let a = Daemon::start(
        &lab,
        dir.path(),
        "a",
        "run",
        &config("a", "onfailure= reboot"),
        &[],
    );
    assert!(wait_for(Duration::from_secs(5), || holds(&lab, "a", ACTIVEIP)).is_some());
    kill_test_hosts(&lab);
    let held = wait_for(Duration::from_secs(5), || a.log().contains("ALERT"));
    assert!(held.is_some(), "no hold alert:\n{}", a.log());
    std::thread::sleep(Duration::from_millis(500));
    assert!(a.log().contains("holding"), "{}", a.log());
    assert!(
        !a.reboots_path().exists(),
        "rebooted with the passive off:\n{}",
        a.log()
    );
    assert!(
        holds(&lab, "a", ACTIVEIP),
        "the only node gave up its addresses"
    );
}

/// Story 4: "a fault that survives the reboot makes the pair reboot forever". The failure-action
/// history survives the (injected) reboots in `historyfile`; after `maxfailovers` the node holds.
#[test]
fn story_fault_surviving_the_reboot_stops_after_maxfailovers() {
    let Some((lab, dir)) = lab_and_dir("story_fault_surviving_the_reboot_stops_after_maxfailovers")
    else {
        return;
    };
    kill_test_hosts(&lab);
    // Without the fitness rule: with it the node never claims addresses it cannot serve, so the
    // loop never starts (see the next test); this one proves the history's limit on its own.
    let policy =
        "onfailure= reboot\nrequirepeer= no\nrequirefit= no\nmaxfailovers= 2\nfailoverwindow= 1h";
    let mut a = Daemon::start(&lab, dir.path(), "a", "run", &config("a", policy), &[]);
    // Each run takes over, finds its channels dead and "reboots" (the injected command); the next
    // run is the machine coming back with the same fault.
    for boot in 1..=2 {
        assert_eq!(
            a.wait_exit(Duration::from_secs(8)),
            Some(1),
            "boot {boot} did not end with the failure action:\n{}",
            a.log()
        );
        a.spawn(&lab, "run", &[]);
    }
    let held = wait_for(Duration::from_secs(8), || a.log().contains("ALERT"));
    assert!(held.is_some(), "the third boot did not hold:\n{}", a.log());
    assert_eq!(
        a.wait_exit(Duration::from_millis(500)),
        None,
        "the third boot rebooted"
    );
    let reboots = std::fs::read_to_string(a.reboots_path()).expect("reboots");
    assert_eq!(reboots.lines().count(), 2, "exactly maxfailovers reboots");
    assert!(holds(&lab, "a", ACTIVEIP), "the holding node keeps serving");
}

/// Story 4 with the fitness rule (improved default): a node whose test hosts are dead cannot serve,
/// so it never claims the addresses, never reaches a failure action, and says why.
#[test]
fn story_fault_surviving_the_reboot_never_starts_with_the_fitness_rule() {
    let Some((lab, dir)) =
        lab_and_dir("story_fault_surviving_the_reboot_never_starts_with_the_fitness_rule")
    else {
        return;
    };
    kill_test_hosts(&lab);
    let policy = "onfailure= reboot\nrequirepeer= no\nmaxfailovers= 2\nfailoverwindow= 1h";
    let mut a = Daemon::start(&lab, dir.path(), "a", "run", &config("a", policy), &[]);
    let said = wait_for(Duration::from_secs(8), || a.log().contains("cannot serve"));
    assert!(said.is_some(), "no reason given:\n{}", a.log());
    // Several decision rounds (checktime 100ms) later: still passive, nothing claimed or rebooted.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        a.wait_exit(Duration::from_millis(10)),
        None,
        "it exited:\n{}",
        a.log()
    );
    assert!(
        !holds(&lab, "a", ACTIVEIP),
        "claimed an address it cannot serve"
    );
    assert!(!a.reboots_path().exists(), "rebooted:\n{}", a.log());
}

/// Story 2: "one dead test host (a switch that lost power) put the pair into an endless reboot
/// loop". With two test hosts per channel and `testhosts=any` (improved) one dead host is no channel
/// failure; with `testhosts=all` (the classic reading) the same fault ends in the failure action.
#[test]
fn story_one_dead_test_host_fails_over_only_in_classic() {
    let Some((lab, dir)) = lab_and_dir("story_one_dead_test_host_fails_over_only_in_classic")
    else {
        return;
    };
    // The test host th loses power on LAN1; the client cl, the channel's second test host, lives.
    lab.link("th", "eth1", false);
    let improved = Daemon::start(&lab, dir.path(), "a", "run", &config("a", ""), &[]);
    assert!(wait_for(Duration::from_secs(5), || holds(&lab, "a", ACTIVEIP)).is_some());
    assert!(
        crate::common::pair::throughout(Duration::from_millis(1500), || holds(&lab, "a", ACTIVEIP)),
        "improved gave up:\n{}",
        improved.log()
    );
    assert!(!improved.log().contains("failed"), "{}", improved.log());
    drop(improved);

    let mut classic = Daemon::start(
        &lab,
        dir.path(),
        "b",
        "run",
        &config("b", "mode= classic"),
        &[],
    );
    assert_eq!(
        classic.wait_exit(Duration::from_secs(8)),
        Some(1),
        "classic did not reboot:\n{}",
        classic.log()
    );
    assert!(classic.log().contains("lan1"), "{}", classic.log());
}

/// Story 3: "a protected server used as test IP takes the gateway down whenever it is rebooted for
/// maintenance". One test host per channel, the server itself (th). While it reboots, the active
/// asks the passive over the sync link (the peer protocol) whether IT reaches the server; it does not
/// either, so the fault is not the active's: the active holds, nobody fails over, and the hold is
/// lifted when the server is back.
#[test]
fn story_protected_server_rebooted_for_maintenance_does_not_fail_the_pair_over() {
    let Some((lab, dir)) =
        lab_and_dir("story_protected_server_rebooted_for_maintenance_does_not_fail_the_pair_over")
    else {
        return;
    };
    let single = |node: &str| {
        config(node, "")
            .replace("testip= 192.0.2.100\n", "")
            .replace("testip= 198.51.100.100\n", "")
    };
    let a = Daemon::start(&lab, dir.path(), "a", "run", &single("a"), &[]);
    assert!(wait_for(Duration::from_secs(5), || holds(&lab, "a", ACTIVEIP)).is_some());
    let b = Daemon::start(&lab, dir.path(), "b", "run", &single("b"), &[]);
    std::thread::sleep(Duration::from_millis(800));
    // The server goes down for maintenance.
    lab.link("th", "eth1", false);
    lab.link("th", "eth2", false);
    let held = wait_for(Duration::from_secs(5), || a.log().contains("ALERT"));
    assert!(
        held.is_some(),
        "a did not hold:\na:\n{}\nb:\n{}",
        a.log(),
        b.log()
    );
    assert!(
        a.log().contains("cannot reach channel"),
        "the hold does not come from the peer's answer:\n{}",
        a.log()
    );
    for _ in 0..20 {
        assert!(
            holds(&lab, "a", ACTIVEIP) && !holds(&lab, "b", ACTIVEIP),
            "the pair failed over for a server's maintenance:\na:\n{}\nb:\n{}",
            a.log(),
            b.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The server is back: the hold ends by itself.
    lab.link("th", "eth1", true);
    lab.link("th", "eth2", true);
    let lifted = wait_for(Duration::from_secs(5), || a.log().contains("hold lifted"));
    assert!(lifted.is_some(), "the hold was not lifted:\n{}", a.log());
    assert!(holds(&lab, "a", ACTIVEIP) && !holds(&lab, "b", ACTIVEIP));
    assert!(!a.reboots_path().exists() && !b.reboots_path().exists());
}

#[test]
fn run_active_dry_run_monitors_from_the_passiveip_and_changes_nothing() {
    let Some((lab, dir)) =
        lab_and_dir("run_active_dry_run_monitors_from_the_passiveip_and_changes_nothing")
    else {
        return;
    };
    let mut a = Daemon::start(
        &lab,
        dir.path(),
        "a",
        "run-active",
        &config("a", ""),
        &["--dry-run"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    a.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(a.wait_exit(Duration::from_secs(3)), Some(0), "{}", a.log());
    let log = a.log();
    assert!(
        log.contains("dry-run: would add 192.0.2.10 on eth1"),
        "{log}"
    );
    assert!(
        !log.contains("failure detected"),
        "healthy channels failed in a dry run:\n{log}"
    );
    assert!(!holds(&lab, "a", ACTIVEIP), "a dry run added the activeip");
}

/// `releasepassiveip=yes`: the takeover drops the node's own passiveip and the release (here on
/// SIGTERM) takes it back before giving the activeip up, so the device keeps its network's prefix;
/// the down hook runs for each channel before the daemon exits.
#[test]
fn releasepassiveip_is_dropped_at_takeover_and_taken_back_at_release() {
    let Some((lab, dir)) =
        lab_and_dir("releasepassiveip_is_dropped_at_takeover_and_taken_back_at_release")
    else {
        return;
    };
    let hook = dir.path().join("down.env");
    let policy = format!(
        "releasepassiveip= yes\ndown= echo \"$FAILOVERCTL_EVENT $FAILOVERCTL_CHANNEL\" >> {}",
        hook.display()
    );
    let mut a = Daemon::start(&lab, dir.path(), "a", "run", &config("a", &policy), &[]);
    let took = wait_for(Duration::from_secs(5), || {
        holds(&lab, "a", ACTIVEIP) && !holds(&lab, "a", "192.0.2.11")
    });
    assert!(took.is_some(), "{}", a.log());
    assert!(!holds(&lab, "a", "198.51.100.11"));
    a.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(a.wait_exit(Duration::from_secs(3)), Some(0), "{}", a.log());
    assert!(!holds(&lab, "a", ACTIVEIP));
    let addr = lab.ok("a", &["ip", "-o", "-4", "addr", "show", "dev", "eth1"]);
    assert!(
        addr.contains(" 192.0.2.11/24 "),
        "the passiveip came back as /24: {addr}"
    );
    let text = std::fs::read_to_string(&hook).expect("the down hooks ran before the exit");
    assert!(
        text.contains("down lan1") && text.contains("down lan2"),
        "{text}"
    );
}

#[test]
fn run_with_a_bad_config_touches_nothing_and_names_the_line() {
    let Some((lab, dir)) = lab_and_dir("run_with_a_bad_config_touches_nothing_and_names_the_line")
    else {
        return;
    };
    let text = config("a", "")
        .replace("@DIR@", &dir.path().display().to_string())
        .replace("timeout= 100ms", "timeout= 100 parsecs");
    let path = dir.path().join("a.ini");
    std::fs::write(&path, text).expect("write config");
    let before = lab.ok("a", &["ip", "-o", "-4", "addr", "show"]);
    let out = lab
        .failoverctl("a")
        .args(["run", "-c"])
        .arg(&path)
        .env("FAILOVERCTL_REBOOT_COMMAND", "true")
        .output()
        .expect("run failoverctl");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a.ini:") && stderr.contains("timeout"),
        "{stderr}"
    );
    assert_eq!(lab.ok("a", &["ip", "-o", "-4", "addr", "show"]), before);
    assert!(
        !dir.path().join("a.state").exists(),
        "a rejected config started nothing"
    );
}

/// Bug: with CAP_NET_RAW but not CAP_NET_ADMIN (`--arp-method raw`) `run` started, failed to add the
/// address again and again, recorded failure actions in the persistent history and ended "holding"
/// without the address. It must exit 2 at start naming the capability and touch nothing.
#[test]
fn run_without_cap_net_admin_exits_2_at_start_and_records_nothing() {
    let Some((lab, dir)) =
        lab_and_dir("run_without_cap_net_admin_exits_2_at_start_and_records_nothing")
    else {
        return;
    };
    let text = config("b", "").replace("@DIR@", &dir.path().display().to_string());
    let path = dir.path().join("b.ini");
    std::fs::write(&path, text).expect("write config");
    let before = lab.ok("b", &["ip", "-o", "-4", "addr", "show"]);
    let out = lab
        // Bounded: a daemon that starts anyway is ended (exit 124), not waited for forever.
        .command("b", "timeout")
        .args([
            "10",
            "setpriv",
            "--inh-caps=-all",
            "--bounding-set=-net_admin",
            "--",
        ])
        .arg(assert_cmd::cargo::cargo_bin("failoverctl"))
        .args(["run", "--arp-method", "raw", "-c"])
        .arg(&path)
        .env("FAILOVERCTL_REBOOT_COMMAND", "true")
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("run needs CAP_NET_ADMIN") && !stderr.contains("CAP_NET_RAW"),
        "{stderr}"
    );
    assert_eq!(lab.ok("b", &["ip", "-o", "-4", "addr", "show"]), before);
    for file in ["b.history", "b.state"] {
        assert!(!dir.path().join(file).exists(), "{file} written");
    }
}

/// Bug: a second `run` with the same config only warned that the peer port was in use, resumed as
/// active, and on its SIGTERM removed the activeips from under the first daemon.
#[test]
fn a_second_run_with_the_same_config_is_refused() {
    let Some((lab, dir)) = lab_and_dir("a_second_run_with_the_same_config_is_refused") else {
        return;
    };
    let a = Daemon::start(&lab, dir.path(), "a", "run", &config("a", ""), &[]);
    assert!(
        wait_for(Duration::from_secs(5), || holds(&lab, "a", ACTIVEIP)).is_some(),
        "{}",
        a.log()
    );
    // Bounded: a second daemon that starts anyway is ended (exit 124), not waited for forever.
    let out = lab
        .command("a", "timeout")
        .arg("10")
        .arg(assert_cmd::cargo::cargo_bin("failoverctl"))
        .args(["run", "-c"])
        .arg(a.config_path())
        .arg("--state-file")
        .arg(a.state_path())
        .env("FAILOVERCTL_REBOOT_COMMAND", "true")
        .output()
        .expect("run a second daemon");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another failoverctl daemon") && stderr.contains("a.state"),
        "{stderr}"
    );
    assert!(
        crate::common::pair::throughout(Duration::from_millis(300), || holds(&lab, "a", ACTIVEIP)),
        "the second run took the activeip"
    );
    let status = assert_cmd::Command::cargo_bin("failoverctl")
        .expect("binary")
        .args(["status", "--state-file"])
        .arg(a.state_path())
        .output()
        .expect("status");
    assert_eq!(status.status.code(), Some(0), "the first daemon still runs");
}
