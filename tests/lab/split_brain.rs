//! A real split brain in the network-namespace lab: a is active, the activeips are put on b by hand
//! and b's daemon starts, finds them and resumes as active beside a. The conflict check must end it:
//! the node with the lower MAC on the first channel (eth1) keeps both activeips, the other yields, and
//! the client's neighbour entry ends with the keeper's MAC (the keeper announced again).

use crate::common;
use common::lab::{root_or_skip, Lab};
use common::pair::{config, holds, wait_for, Daemon, ACTIVEIP};
use std::time::{Duration, Instant};

const ACTIVEIP2: &str = "198.51.100.10";

/// Locally administered MACs, set before the daemons start so the keeper is known in advance.
const LOW_MAC: &str = "02:00:5e:00:01:01";
const HIGH_MAC: &str = "02:00:5e:00:01:02";

/// The MAC of `dev` in `node`, from `ip -j link`.
fn mac(lab: &Lab, node: &str, dev: &str) -> String {
    let out = lab.ok(node, &["ip", "-j", "link", "show", "dev", dev]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip -j link prints JSON");
    v[0]["address"]
        .as_str()
        .expect("a link has an address")
        .to_owned()
}

/// The MAC the client has for the activeip on LAN 1, if any.
fn client_entry(lab: &Lab) -> Option<String> {
    let out = lab.ok(
        "cl",
        &["ip", "-j", "neigh", "show", ACTIVEIP, "dev", "eth1"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip -j neigh prints JSON");
    v.get(0)?.get("lladdr")?.as_str().map(str::to_owned)
}

fn holds_both(lab: &Lab, node: &str) -> bool {
    holds(lab, node, ACTIVEIP) && holds(lab, node, ACTIVEIP2)
}

fn holds_none(lab: &Lab, node: &str) -> bool {
    !holds(lab, node, ACTIVEIP) && !holds(lab, node, ACTIVEIP2)
}

/// `a_lower`: a (the active from the start) has the lower MAC and keeps; else b (the newcomer) does.
fn split_brain(name: &str, a_lower: bool) {
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up();
    let (mac_a, mac_b) = if a_lower {
        (LOW_MAC, HIGH_MAC)
    } else {
        (HIGH_MAC, LOW_MAC)
    };
    lab.ok("a", &["ip", "link", "set", "dev", "eth1", "address", mac_a]);
    lab.ok("b", &["ip", "link", "set", "dev", "eth1", "address", mac_b]);
    // The expected keeper, computed from what the kernel reports, not from the constants above.
    let (a_mac, b_mac) = (mac(&lab, "a", "eth1"), mac(&lab, "b", "eth1"));
    let (keeper, loser, keeper_mac) = if a_mac < b_mac {
        ("a", "b", a_mac)
    } else {
        ("b", "a", b_mac)
    };
    assert_eq!(keeper == "a", a_lower, "the MACs were not set");

    let dir = tempfile::tempdir().expect("tempdir");
    let policy = "onfailure= demote";
    let a = Daemon::start(&lab, dir.path(), "a", "run", &config("a", policy), &[]);
    let took = wait_for(Duration::from_secs(5), || holds_both(&lab, "a"));
    assert!(took.is_some(), "a never took over alone:\n{}", a.log());
    // The client talks to the active: its neighbour entry is a's MAC.
    lab.ok("cl", &["ping", "-c", "1", "-W", "1", ACTIVEIP]);

    lab.ok("b", &["ip", "addr", "add", "192.0.2.10/24", "dev", "eth1"]);
    lab.ok(
        "b",
        &["ip", "addr", "add", "198.51.100.10/24", "dev", "eth2"],
    );
    let start = Instant::now();
    let b = Daemon::start(&lab, dir.path(), "b", "run", &config("b", policy), &[]);
    let logs = || format!("a:\n{}\nb:\n{}", a.log(), b.log());

    let settled = wait_for(Duration::from_secs(3), || {
        holds_both(&lab, keeper) && holds_none(&lab, loser)
    });
    assert!(
        settled.is_some(),
        "{name}: the split brain did not end with {keeper} keeping:\n{}",
        logs()
    );
    assert!(
        b.log().contains("resuming as active"),
        "no split brain was made:\n{}",
        logs()
    );
    let ended_after = start.elapsed();
    // And it stays so: the loser, passive, sees the keeper and does not take back.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert!(
            holds_both(&lab, keeper) && holds_none(&lab, loser),
            "{name}: ownership changed after the split brain ended:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // No traffic from the client since its ping: only announcements can have moved its entry.
    assert_eq!(
        client_entry(&lab).as_deref(),
        Some(keeper_mac.as_str()),
        "{name}: the client still has a stale MAC:\n{}",
        logs()
    );
    let (keeper_log, loser_log) = if keeper == "a" {
        (a.log(), b.log())
    } else {
        (b.log(), a.log())
    };
    assert!(
        loser_log.contains("split brain")
            && loser_log.contains(&format!("yielding to {keeper_mac}")),
        "{name}: the loser's log does not name the conflict:\n{}",
        logs()
    );
    if a_lower {
        // The newcomer announced on resuming, so the client learned its MAC; it looks for a rival
        // only a checktime after claiming, and the keeper checks every checktime: the keeper sees
        // it, and announces again once it is gone. (When the newcomer keeps, the old active may
        // yield before the newcomer's first check: nothing to log or heal then.)
        assert!(
            keeper_log.contains("keeping them") && keeper_log.contains("split brain over"),
            "{name}: the keeper's log does not name the conflict:\n{}",
            logs()
        );
    }
    assert!(
        !dir.path().join("a.reboots").exists() && !dir.path().join("b.reboots").exists(),
        "a split brain is no failure:\n{}",
        logs()
    );
    eprintln!(
        "{name}: b started beside a; {keeper} alone holds the activeips {:?} later (wait {:?})",
        ended_after,
        settled.expect("checked")
    );
}

#[test]
fn split_brain_the_old_active_has_the_lower_mac_and_keeps() {
    split_brain(
        "split_brain_the_old_active_has_the_lower_mac_and_keeps",
        true,
    );
}

#[test]
fn split_brain_the_newcomer_has_the_lower_mac_and_keeps() {
    split_brain(
        "split_brain_the_newcomer_has_the_lower_mac_and_keeps",
        false,
    );
}

/// The active's RFC 5227 probes for LAN 1's activeip (sender 0.0.0.0) seen in `capture`.
fn looks_from(capture: &common::capture::Decoded, mac: &str) -> usize {
    capture
        .rows(
            &format!(
                "arp.opcode == 1 && arp.src.proto_ipv4 == 0.0.0.0 && arp.dst.proto_ipv4 == {ACTIVEIP} && eth.src == {mac}"
            ),
            &["frame.number"],
        )
        .len()
}

/// Issue 7: while the passive's heartbeats vouch for it (it says "passive", and takes over only
/// with a heartbeat that says otherwise), the active broadcasts its look for a rival once per
/// synctime instead of every checktime. A foreign station that takes an activeip silently (no
/// announcement) is still found by the next look; once the peer's heartbeats stop, the looks go
/// out every checktime again.
#[test]
fn a_vouching_peer_slows_the_looks_and_a_silent_foreign_holder_is_still_found() {
    use common::capture::Capture;
    let name = "a_vouching_peer_slows_the_looks_and_a_silent_foreign_holder_is_still_found";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up();
    lab.ok(
        "a",
        &["ip", "link", "set", "dev", "eth1", "address", LOW_MAC],
    );
    lab.ok(
        "cl",
        &["ip", "link", "set", "dev", "eth1", "address", HIGH_MAC],
    );
    let mac_a = mac(&lab, "a", "eth1");
    let mac_cl = mac(&lab, "cl", "eth1");
    assert!(mac_a < mac_cl, "the MACs were not set");
    let dir = tempfile::tempdir().expect("tempdir");
    // checktime 200 ms (the lab's), synctime 1 s.
    let cfg = |node| {
        config(node, "onfailure= demote").replace("[network]\n", "[network]\nsynctime= 1s\n")
    };
    let a = Daemon::start(&lab, dir.path(), "a", "run", &cfg("a"), &[]);
    assert!(
        wait_for(Duration::from_secs(5), || holds_both(&lab, "a")).is_some(),
        "a never took over:\n{}",
        a.log()
    );
    let mut b = Daemon::start(&lab, dir.path(), "b", "run", &cfg("b"), &[]);
    let logs = |b: &Daemon| format!("a:\n{}\nb:\n{}", a.log(), b.log());
    // b's first heartbeats.
    std::thread::sleep(Duration::from_millis(1500));

    let at_th = Capture::start(&lab, "th", "eth1", "arp");
    std::thread::sleep(Duration::from_millis(3000));
    let at_th = at_th.stop();
    let vouched = looks_from(&at_th, &mac_a);
    assert!(
        (2..=5).contains(&vouched),
        "{vouched} looks in 3 s with a vouching peer (synctime 1 s; every checktime is 15):\n{}\n{}",
        at_th.summary(),
        logs(&b)
    );

    // The client takes LAN 1's activeip by hand: no announcement.
    lab.ok("cl", &["ip", "addr", "add", "192.0.2.10/24", "dev", "eth1"]);
    let seen = wait_for(Duration::from_secs(3), || {
        a.log().contains(&format!("is also answered by {mac_cl}"))
    });
    assert!(
        seen.is_some(),
        "a never found the foreign holder:\n{}",
        logs(&b)
    );
    assert!(
        holds_both(&lab, "a"),
        "a kept by the lower MAC:\n{}",
        logs(&b)
    );
    lab.ok("cl", &["ip", "addr", "del", "192.0.2.10/24", "dev", "eth1"]);
    assert!(
        wait_for(Duration::from_secs(3), || a
            .log()
            .contains("split brain over"))
        .is_some(),
        "{}",
        logs(&b)
    );

    // The peer dies: no more heartbeats; after synctime + timeout the looks go every checktime.
    b.kill();
    std::thread::sleep(Duration::from_millis(1500));
    let at_th = Capture::start(&lab, "th", "eth1", "arp");
    std::thread::sleep(Duration::from_millis(2000));
    let at_th = at_th.stop();
    let alone = looks_from(&at_th, &mac_a);
    assert!(
        alone >= 7,
        "{alone} looks in 2 s without the peer's heartbeats (every checktime: 10):\n{}\n{}",
        at_th.summary(),
        logs(&b)
    );
    eprintln!("{name}: looks in 3 s with the peer vouching: {vouched}; in 2 s without: {alone}; the foreign holder found after {:?}", seen.expect("checked"));
}
