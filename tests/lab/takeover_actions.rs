//! The takeover primitives in the lab: addresses via netlink (idempotent add and remove, inferred
//! prefix, the secondary-address pitfall) and gratuitous ARP (each form alone heals a neighbour's
//! stale entry), driven through the `actions_probe` example inside node a's namespace.

use crate::common;
use crate::examples_bin;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::lab::{root_or_skip, Lab};

const ACTIVE: &str = "192.0.2.10";

fn probe() -> PathBuf {
    examples_bin::example("actions_probe")
}

/// Runs `actions_probe ARGS` in `node`; returns (success, stdout).
fn act(lab: &Lab, node: &str, probe: &Path, args: &[&str]) -> (bool, String) {
    let out = lab
        .command(node, probe)
        .args(args)
        .output()
        .expect("run actions_probe");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn act_ok(lab: &Lab, node: &str, probe: &Path, args: &[&str]) -> String {
    let (ok, out) = act(lab, node, probe, args);
    assert!(ok, "actions_probe {args:?} in {node} failed: {out}");
    out
}

/// The IPv4 addresses of `dev` in `node` as (address, prefix), from `ip -j addr`.
fn addrs(lab: &Lab, node: &str, dev: &str) -> Vec<(String, u64)> {
    let out = lab.ok(node, &["ip", "-j", "-4", "addr", "show", "dev", dev]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("ip -j addr is JSON");
    json.as_array()
        .expect("a list of links")
        .iter()
        .flat_map(|link| link["addr_info"].as_array().cloned().unwrap_or_default())
        .map(|a| {
            (
                a["local"].as_str().expect("local").to_string(),
                a["prefixlen"].as_u64().expect("prefixlen"),
            )
        })
        .collect()
}

fn mac_of(lab: &Lab, node: &str, dev: &str) -> String {
    let out = lab.ok(node, &["ip", "-j", "link", "show", "dev", dev]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("ip -j link is JSON");
    json[0]["address"]
        .as_str()
        .expect("link address")
        .to_string()
}

/// The MAC `node` has for `ip` on eth1, if any.
fn neigh_mac(lab: &Lab, node: &str, ip: &str) -> Option<String> {
    let out = lab.ok(node, &["ip", "-j", "neigh", "show", ip, "dev", "eth1"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("ip -j neigh is JSON");
    json.get(0)?["lladdr"].as_str().map(str::to_string)
}

#[test]
fn add_and_remove_are_idempotent_and_infer_the_prefix() {
    if !root_or_skip("add_and_remove_are_idempotent_and_infer_the_prefix") {
        return;
    }
    let p = probe();
    let lab = Lab::up();
    let with_prefix = format!("{ACTIVE}/24");

    assert_eq!(
        act_ok(&lab, "a", &p, &["add", "eth1", &with_prefix]).trim(),
        "ok prefix=24"
    );
    assert!(addrs(&lab, "a", "eth1").contains(&(ACTIVE.into(), 24)));
    // Re-adding answers EEXIST in the kernel: success here, and still one copy.
    act_ok(&lab, "a", &p, &["add", "eth1", &with_prefix]);
    let count = addrs(&lab, "a", "eth1")
        .iter()
        .filter(|(a, _)| a == ACTIVE)
        .count();
    assert_eq!(count, 1);
    assert_eq!(
        act_ok(&lab, "a", &p, &["holds", "eth1", ACTIVE]).trim(),
        "ok holds=true"
    );

    act_ok(&lab, "a", &p, &["remove", "eth1", ACTIVE]);
    assert!(!addrs(&lab, "a", "eth1").iter().any(|(a, _)| a == ACTIVE));
    // Absent already (EADDRNOTAVAIL): success.
    act_ok(&lab, "a", &p, &["remove", "eth1", ACTIVE]);
    assert_eq!(
        act_ok(&lab, "a", &p, &["holds", "eth1", ACTIVE]).trim(),
        "ok holds=false"
    );

    // No prefix given: the device's 192.0.2.11/24 says /24.
    assert_eq!(
        act_ok(&lab, "a", &p, &["add", "eth1", ACTIVE]).trim(),
        "ok prefix=24"
    );
    assert!(addrs(&lab, "a", "eth1").contains(&(ACTIVE.into(), 24)));
    // An address outside every network of the device: /32.
    assert_eq!(
        act_ok(&lab, "a", &p, &["add", "eth1", "198.51.100.77"]).trim(),
        "ok prefix=32"
    );
    assert!(addrs(&lab, "a", "eth1").contains(&("198.51.100.77".into(), 32)));
}

/// Regression: with promote_secondaries=0, deleting the passiveip (the primary of the network)
/// makes the kernel delete the activeip added beside it; the takeover's "drop the passiveip" must
/// not lose the activeip.
#[test]
fn dropping_the_passiveip_keeps_the_activeip() {
    if !root_or_skip("dropping_the_passiveip_keeps_the_activeip") {
        return;
    }
    let p = probe();
    let lab = Lab::up();
    lab.ok(
        "a",
        &["sysctl", "-qw", "net.ipv4.conf.eth1.promote_secondaries=0"],
    );
    act_ok(&lab, "a", &p, &["add", "eth1", ACTIVE]);
    act_ok(&lab, "a", &p, &["remove", "eth1", "192.0.2.11"]);
    assert_eq!(addrs(&lab, "a", "eth1"), vec![(ACTIVE.to_string(), 24)]);
    // The activeip still works after the passiveip is gone.
    lab.ok("cl", &["ping", "-c1", "-W1", ACTIVE]);
}

/// Gives `cl` a stale entry for the activeip pointing at b, claims the address on a, sends one form
/// from a and returns how long until cl's entry shows a's MAC (`None`: not within a second).
fn heal_with(form: &str) -> Option<Duration> {
    let p = probe();
    let lab = Lab::up();
    let a_mac = mac_of(&lab, "a", "eth1");
    let b_mac = mac_of(&lab, "b", "eth1");
    lab.ok(
        "cl",
        &[
            "ip", "neigh", "replace", ACTIVE, "lladdr", &b_mac, "dev", "eth1", "nud", "stale",
        ],
    );
    act_ok(&lab, "a", &p, &["add", "eth1", ACTIVE]);
    // Adding the address announces nothing: without our frame, cl would keep b's MAC.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        neigh_mac(&lab, "cl", ACTIVE).as_deref(),
        Some(b_mac.as_str())
    );

    let start = Instant::now();
    act_ok(&lab, "a", &p, &[form, "eth1", ACTIVE]);
    while start.elapsed() < Duration::from_secs(1) {
        if neigh_mac(&lab, "cl", ACTIVE).as_deref() == Some(a_mac.as_str()) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn the_request_form_alone_heals_a_stale_neighbour() {
    if !root_or_skip("the_request_form_alone_heals_a_stale_neighbour") {
        return;
    }
    let took =
        heal_with("request").expect("cl learns a's MAC from the ARP request form within 1 s");
    eprintln!("request form: neighbour healed in {took:?}");
}

#[test]
fn the_reply_form_alone_heals_a_stale_neighbour() {
    if !root_or_skip("the_reply_form_alone_heals_a_stale_neighbour") {
        return;
    }
    let took = heal_with("reply").expect("cl learns a's MAC from the ARP reply form within 1 s");
    eprintln!("reply form: neighbour healed in {took:?}");
}

#[test]
fn announce_sends_both_forms() {
    if !root_or_skip("announce_sends_both_forms") {
        return;
    }
    let took = heal_with("announce").expect("cl learns a's MAC from announce within 1 s");
    eprintln!("announce: neighbour healed in {took:?}");
}

#[test]
fn missing_device_and_missing_privilege_are_typed_errors() {
    if !root_or_skip("missing_device_and_missing_privilege_are_typed_errors") {
        return;
    }
    let p = probe();
    let lab = Lab::up();
    for verb in ["add", "remove", "announce"] {
        let (ok, out) = act(&lab, "a", &p, &[verb, "nosuch0", ACTIVE]);
        assert!(
            !ok && out.starts_with("error kind=no-device"),
            "{verb}: {out}"
        );
    }
    let p = p.to_str().expect("UTF-8 path");
    let unprivileged = |args: &[&str]| {
        let out = lab
            .command("a", "setpriv")
            .args([
                "--bounding-set=-net_admin,-net_raw",
                "--inh-caps=-net_admin,-net_raw",
                p,
            ])
            .args(args)
            .output()
            .expect("run setpriv");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = unprivileged(&["add", "eth1", ACTIVE]);
    assert!(
        out.starts_with("error kind=privilege capability=CAP_NET_ADMIN"),
        "{out}"
    );
    let out = unprivileged(&["announce", "eth1", ACTIVE]);
    assert!(
        out.starts_with("error kind=privilege capability=CAP_NET_RAW"),
        "{out}"
    );
    assert!(addrs(&lab, "a", "eth1").iter().all(|(a, _)| a != ACTIVE));
}

/// The address steps of `daemon::actions` with `releasepassiveip=yes` and no configured prefix, on the
/// real kernel: claim (add activeip, drop passiveip), then release (passiveip back first, then the
/// activeip) leaves the node exactly as it started, /24 and all.
#[test]
fn claim_then_release_round_trips_without_a_configured_prefix() {
    if !root_or_skip("claim_then_release_round_trips_without_a_configured_prefix") {
        return;
    }
    let p = probe();
    let lab = Lab::up();
    lab.ok(
        "a",
        &["sysctl", "-qw", "net.ipv4.conf.eth1.promote_secondaries=0"],
    );
    let start = addrs(&lab, "a", "eth1");
    assert_eq!(start, vec![("192.0.2.11".to_string(), 24)]);
    act_ok(&lab, "a", &p, &["add", "eth1", ACTIVE]);
    act_ok(&lab, "a", &p, &["remove", "eth1", "192.0.2.11"]);
    assert_eq!(addrs(&lab, "a", "eth1"), vec![(ACTIVE.to_string(), 24)]);
    act_ok(&lab, "a", &p, &["add", "eth1", "192.0.2.11"]);
    act_ok(&lab, "a", &p, &["remove", "eth1", ACTIVE]);
    assert_eq!(addrs(&lab, "a", "eth1"), start);
    lab.ok("cl", &["ping", "-c1", "-W1", "192.0.2.11"]);
}

/// Runs `f` on a thread inside `node`'s network namespace (the library's netlink calls act on the
/// calling thread's namespace).
fn in_ns<T: Send>(lab: &Lab, node: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{}", lab.ns(node));
    std::thread::scope(|s| {
        s.spawn(move || {
            let ns = std::fs::File::open(&path).expect("open the namespace");
            // SAFETY: a valid namespace fd; only this thread moves.
            let rc =
                unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("the namespace thread panicked")
    })
}

/// The batched takeover and release (one netlink datagram for a list): an address already there
/// and an absent one are no errors, a missing device fails only its own item, and removing a
/// primary restores the secondaries it took along, except those the batch itself removes.
#[test]
fn batched_add_and_remove_keep_the_single_address_rules() {
    use failoverctl::net::linux::addr::NetlinkAddresses;
    use failoverctl::net::{AddressControl, NetError};
    if !root_or_skip("batched_add_and_remove_keep_the_single_address_rules") {
        return;
    }
    let lab = Lab::up();
    let ip = |s: &str| s.parse::<std::net::Ipv4Addr>().expect("address");
    // eth1 holds 192.0.2.11/24 (primary); these join it as secondaries.
    let (added, again, removed, moved) = in_ns(&lab, "a", || {
        let mut ctl = NetlinkAddresses::new();
        let added = ctl.add_all(&[
            ("eth1", ip("192.0.2.10"), Some(24)),
            ("eth1", ip("192.0.2.20"), None),
            ("nosuchdev0", ip("192.0.2.30"), Some(24)),
            ("eth2", ip("198.51.100.10"), Some(24)),
        ]);
        let again = ctl.add_all(&[
            ("eth1", ip("192.0.2.10"), Some(24)),
            ("eth2", ip("198.51.100.10"), Some(24)),
        ]);
        let removed = ctl.remove_all(&[
            ("eth2", ip("198.51.100.10")),
            ("eth2", ip("198.51.100.77")),
            ("nosuchdev0", ip("192.0.2.30")),
        ]);
        // The primary .11 goes with .20 in the same batch: .10 comes back, .20 stays gone.
        let moved = ctl.remove_all(&[("eth1", ip("192.0.2.11")), ("eth1", ip("192.0.2.20"))]);
        (added, again, removed, moved)
    });
    let kinds = |r: &[Result<(), NetError>]| {
        r.iter()
            .map(|x| match x {
                Ok(()) => "ok".to_string(),
                Err(NetError::NoDevice(d)) => format!("nodev {d}"),
                Err(e) => format!("{e}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&added), ["ok", "ok", "nodev nosuchdev0", "ok"]);
    assert_eq!(kinds(&again), ["ok", "ok"]);
    assert_eq!(kinds(&removed), ["ok", "ok", "nodev nosuchdev0"]);
    assert_eq!(kinds(&moved), ["ok", "ok"]);
    let eth1 = addrs(&lab, "a", "eth1");
    assert!(
        eth1.contains(&("192.0.2.10".to_string(), 24)),
        "the secondary .10 was not restored: {eth1:?}"
    );
    assert!(
        !eth1
            .iter()
            .any(|(a, _)| a == "192.0.2.11" || a == "192.0.2.20"),
        "{eth1:?}"
    );
    let eth2 = addrs(&lab, "a", "eth2");
    assert!(!eth2.iter().any(|(a, _)| a == "198.51.100.10"), "{eth2:?}");
}
