//! An IPv6 pair in the lab (`Lab::up_ipv6`, both channels in 2001:db8::/32): the failure modes of
//! the IPv4 failover tests (planned stop, link down, powered off, silent, the passive's own LANs
//! down, a split brain), the client's neighbour entry moving by the unsolicited Neighbour
//! Advertisements alone, the frames of a takeover decoded by tshark, and a dual-stack pair (one
//! IPv4 and one IPv6 channel) failing over as one. The client's gap is measured with `ping -6`.

use crate::common;
use common::capture::Capture;
use common::gap::GapMeter;
use common::lab::{root_or_skip, Lab};
use common::pair::{
    config6, config_dual, holds, holds6, outage_bound, start_pair6, throughout, wait_for, Daemon,
    ACTIVEIP, ACTIVEIP6, ACTIVEIP6_2,
};
use std::time::Duration;

/// Scheduling slack on a loaded 2-core machine, on top of the source document's bound.
const MARGIN: Duration = Duration::from_millis(500);

fn mac(lab: &Lab, node: &str, dev: &str) -> String {
    lab.ok(node, &["cat", &format!("/sys/class/net/{dev}/address")])
        .trim()
        .to_string()
}

/// The client's neighbour entry for `address` on eth1: its MAC, if any.
fn client_entry(lab: &Lab, address: &str) -> Option<String> {
    let out = lab.ok(
        "cl",
        &["ip", "-6", "-j", "neigh", "show", address, "dev", "eth1"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip -j neigh prints JSON");
    v.get(0)?.get("lladdr")?.as_str().map(str::to_owned)
}

/// Starts the IPv6 pair, fails a with `fail` while the client pings LAN 1's activeip, and checks
/// that b took over within the bound; with `settled`, that it stays so past a's demote hold-off.
fn failover6(name: &str, fail: impl FnOnce(&Lab, &mut Daemon), settled: bool) {
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = "onfailure= demote";
    let (mut a, b) = start_pair6(
        &lab,
        dir.path(),
        &config6("a", policy),
        &config6("b", policy),
    );
    let meter = GapMeter::start(&lab, "cl", ACTIVEIP6, Duration::from_secs(8));
    std::thread::sleep(Duration::from_millis(500));
    fail(&lab, &mut a);
    let took = wait_for(Duration::from_secs(5), || holds6(&lab, "b", ACTIVEIP6));
    assert!(
        took.is_some(),
        "{name}: b never took over:\nb:\n{}\na:\n{}",
        b.log(),
        a.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    let report = meter.finish();
    let bound = outage_bound();
    eprintln!(
        "{name}: b took over {:?} after the fault; client's longest gap {:?} ({} replies); bound {bound:?}",
        took.expect("checked"),
        report.longest_gap,
        report.replies
    );
    assert!(report.replies > 50, "{name}: too few replies: {report:?}");
    assert!(
        report.longest_gap <= bound + MARGIN,
        "{name}: gap {:?} exceeds the bound {bound:?} (+{MARGIN:?}):\nb:\n{}\na:\n{}",
        report.longest_gap,
        b.log(),
        a.log()
    );
    if settled {
        // The lab's demote hold-off is 0.8 s: wait it out twice.
        std::thread::sleep(Duration::from_millis(2_000));
        for ip in [ACTIVEIP6, ACTIVEIP6_2] {
            assert!(
                holds6(&lab, "b", ip) && !holds6(&lab, "a", ip),
                "{name}: {ip} must end on b alone:\nb:\n{}\na:\n{}",
                b.log(),
                a.log()
            );
        }
    }
}

#[test]
fn ipv6_channel_link_down_on_the_active() {
    failover6(
        "ipv6_channel_link_down_on_the_active",
        |lab, a| {
            lab.link("a", "eth1", false);
            let released = wait_for(Duration::from_secs(5), || !holds6(lab, "a", ACTIVEIP6_2));
            assert!(released.is_some(), "a kept its activeips:\n{}", a.log());
        },
        true,
    );
}

#[test]
fn ipv6_active_powered_off() {
    failover6(
        "ipv6_active_powered_off",
        |lab, a| {
            a.kill();
            for dev in ["eth1", "eth2", "sync0"] {
                lab.link("a", dev, false);
            }
        },
        false,
    );
}

#[test]
fn ipv6_active_gone_silent_with_carrier_up() {
    failover6(
        "ipv6_active_gone_silent_with_carrier_up",
        |lab, _| lab.silence("a"),
        true,
    );
}

/// The planned stop, watched on the wire from the client: b adds the activeip and sends exactly
/// `garpcount` unsolicited Neighbour Advertisements (to all nodes, hop limit 255, Override set,
/// Solicited clear, Router clear as the lab does not forward, the target link-layer option with
/// b's MAC, checksum good), tshark finds nothing wrong with any frame, and the client's entry
/// moves to b's MAC without the client soliciting.
#[test]
fn ipv6_planned_stop_moves_the_clients_entry_by_advertisements_alone() {
    let name = "ipv6_planned_stop_moves_the_clients_entry_by_advertisements_alone";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut a, b) = start_pair6(&lab, dir.path(), &config6("a", ""), &config6("b", ""));
    let meter = GapMeter::start(&lab, "cl", ACTIVEIP6, Duration::from_secs(6));
    let (mac_a, mac_b, mac_cl) = (
        mac(&lab, "a", "eth1"),
        mac(&lab, "b", "eth1"),
        mac(&lab, "cl", "eth1"),
    );
    // The client resolved the activeip to a before anything is captured.
    let resolved = wait_for(Duration::from_secs(2), || {
        client_entry(&lab, ACTIVEIP6).as_deref() == Some(mac_a.as_str())
    });
    assert!(resolved.is_some(), "the client never reached a");
    let capture = Capture::start(&lab, "cl", "eth1", "icmp6");
    a.signal(nix::sys::signal::Signal::SIGTERM);
    let took = wait_for(Duration::from_secs(3), || holds6(&lab, "b", ACTIVEIP6));
    assert!(took.is_some(), "b did not take over:\n{}", b.log());
    assert_eq!(a.wait_exit(Duration::from_secs(3)), Some(0), "{}", a.log());
    // The burst: 5 advertisements 100 ms apart, and some slack for a loaded machine.
    std::thread::sleep(Duration::from_millis(1_200));
    let report = meter.finish();
    let entry = client_entry(&lab, ACTIVEIP6);
    let decoded = capture.stop();
    eprintln!(
        "{name}: b took over {:?} after the stop; client's longest gap {:?}; entry {entry:?}",
        took.expect("checked"),
        report.longest_gap
    );
    assert_eq!(
        entry.as_deref(),
        Some(mac_b.as_str()),
        "{}",
        decoded.summary()
    );
    let nas = decoded.rows(
        &format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {ACTIVEIP6}"),
        &[
            "eth.src",
            "eth.dst",
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.nd.na.flag.r",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
        ],
    );
    let want: Vec<String> = [
        mac_b.as_str(),
        "33:33:00:00:00:01",
        ACTIVEIP6,
        "ff02::1",
        "255",
        "False",
        "False",
        "True",
        mac_b.as_str(),
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // tshark prints the flags as True/False or 1/0 depending on its version.
    let flags_ok = |r: &Vec<String>| {
        let flag = |f: &str| matches!(f, "1" | "True");
        r.len() == want.len()
            && r[..5] == want[..5]
            && !flag(&r[5])
            && !flag(&r[6])
            && flag(&r[7])
            && r[8] == want[8]
            && r[9] == "1"
    };
    assert_eq!(
        nas.len(),
        5,
        "garpcount (5) advertisements:\n{}",
        decoded.summary()
    );
    for r in &nas {
        assert!(flags_ok(r), "an advertisement {r:?}, want {want:?}");
    }
    let solicited = decoded.rows(
        &format!("icmpv6.type == 135 && eth.src == {mac_cl} && icmpv6.nd.ns.target_address == {ACTIVEIP6}"),
        &["frame.number"],
    );
    assert!(
        solicited.is_empty(),
        "the client solicited the activeip:\n{}",
        decoded.summary()
    );
    assert_eq!(decoded.problems(), Vec::<String>::new());
    assert!(
        report.longest_gap <= outage_bound() + MARGIN,
        "a planned stop's gap {:?}",
        report.longest_gap
    );
}

/// The passive loses its own LANs: it asks the active over the sync link, hears it is healthy, and
/// stays passive; nothing moves when its LANs come back.
#[test]
fn ipv6_passive_that_loses_its_own_lans_stays_passive() {
    let name = "ipv6_passive_that_loses_its_own_lans_stays_passive";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = start_pair6(&lab, dir.path(), &config6("a", ""), &config6("b", ""));
    lab.link("b", "eth1", false);
    lab.link("b", "eth2", false);
    let declined = wait_for(Duration::from_secs(5), || {
        b.log().contains("not taking over")
    });
    assert!(
        declined.is_some(),
        "b did not ask:\nb:\n{}\na:\n{}",
        b.log(),
        a.log()
    );
    lab.link("b", "eth1", true);
    lab.link("b", "eth2", true);
    assert!(
        throughout(Duration::from_millis(1_000), || holds6(
            &lab, "a", ACTIVEIP6
        ) && !holds6(
            &lab, "b", ACTIVEIP6
        )),
        "ownership changed:\nb:\n{}\na:\n{}",
        b.log(),
        a.log()
    );
}

/// A split brain: the activeips put on b by hand, b's daemon resumes as active beside a. The
/// duplicate-address-detection style look (from `::`) and the advertisements each node hears end
/// it: the lower MAC on eth1 (a's, set so) keeps both, b yields, and the client's entry ends on a.
#[test]
fn ipv6_split_brain_ends_with_the_lower_mac_keeping() {
    let name = "ipv6_split_brain_ends_with_the_lower_mac_keeping";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    lab.ok(
        "a",
        &[
            "ip",
            "link",
            "set",
            "dev",
            "eth1",
            "address",
            "02:00:5e:00:01:01",
        ],
    );
    lab.ok(
        "b",
        &[
            "ip",
            "link",
            "set",
            "dev",
            "eth1",
            "address",
            "02:00:5e:00:01:02",
        ],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = "onfailure= demote";
    let a = Daemon::start(&lab, dir.path(), "a", "run", &config6("a", policy), &[]);
    let both = |node: &str| holds6(&lab, node, ACTIVEIP6) && holds6(&lab, node, ACTIVEIP6_2);
    let none = |node: &str| !holds6(&lab, node, ACTIVEIP6) && !holds6(&lab, node, ACTIVEIP6_2);
    assert!(
        wait_for(Duration::from_secs(5), || both("a")).is_some(),
        "{}",
        a.log()
    );
    lab.ok("cl", &["ping", "-6", "-c", "1", "-W", "1", ACTIVEIP6]);
    lab.ok(
        "b",
        &[
            "ip",
            "addr",
            "add",
            "2001:db8:1::10/64",
            "dev",
            "eth1",
            "nodad",
        ],
    );
    lab.ok(
        "b",
        &[
            "ip",
            "addr",
            "add",
            "2001:db8:2::10/64",
            "dev",
            "eth2",
            "nodad",
        ],
    );
    let b = Daemon::start(&lab, dir.path(), "b", "run", &config6("b", policy), &[]);
    let logs = || format!("a:\n{}\nb:\n{}", a.log(), b.log());
    let settled = wait_for(Duration::from_secs(4), || both("a") && none("b"));
    assert!(
        settled.is_some(),
        "the split brain did not end:\n{}",
        logs()
    );
    assert!(b.log().contains("resuming as active"), "{}", logs());
    assert!(
        b.log().contains("yielding to 02:00:5e:00:01:01"),
        "b's log names the keeper:\n{}",
        logs()
    );
    assert!(
        throughout(Duration::from_millis(1_500), || both("a") && none("b")),
        "ownership changed after the split brain ended:\n{}",
        logs()
    );
    assert_eq!(
        client_entry(&lab, ACTIVEIP6).as_deref(),
        Some("02:00:5e:00:01:01"),
        "the client kept a stale MAC:\n{}",
        logs()
    );
    eprintln!(
        "{name}: ended {:?} after b started",
        settled.expect("checked")
    );
}

/// A dual-stack pair (LAN 1 IPv4, LAN 2 IPv6): the IPv6 channel's link dies on the active, and
/// both families move to b together, each client gap within the bound.
#[test]
fn dual_stack_pair_fails_over_both_families_together() {
    let name = "dual_stack_pair_fails_over_both_families_together";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = "onfailure= demote";
    let a = Daemon::start(&lab, dir.path(), "a", "run", &config_dual("a", policy), &[]);
    let owns = |node: &str| holds(&lab, node, ACTIVEIP) && holds6(&lab, node, ACTIVEIP6_2);
    assert!(
        wait_for(Duration::from_secs(5), || owns("a")).is_some(),
        "{}",
        a.log()
    );
    let b = Daemon::start(&lab, dir.path(), "b", "run", &config_dual("b", policy), &[]);
    assert!(
        throughout(Duration::from_millis(800), || !holds(&lab, "b", ACTIVEIP)
            && !holds6(&lab, "b", ACTIVEIP6_2)),
        "{}",
        b.log()
    );
    let meter4 = GapMeter::start(&lab, "cl", ACTIVEIP, Duration::from_secs(7));
    let meter6 = GapMeter::start(&lab, "cl", ACTIVEIP6_2, Duration::from_secs(7));
    std::thread::sleep(Duration::from_millis(500));
    lab.link("a", "eth2", false);
    let took = wait_for(Duration::from_secs(5), || owns("b"));
    assert!(
        took.is_some(),
        "b did not take both over:\nb:\n{}\na:\n{}",
        b.log(),
        a.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    let (r4, r6) = (meter4.finish(), meter6.finish());
    eprintln!(
        "{name}: b owns both {:?} after the IPv6 link died; gaps IPv4 {:?}, IPv6 {:?}",
        took.expect("checked"),
        r4.longest_gap,
        r6.longest_gap
    );
    let bound = outage_bound() + MARGIN;
    assert!(r4.replies > 50 && r4.longest_gap <= bound, "IPv4: {r4:?}");
    assert!(r6.replies > 50 && r6.longest_gap <= bound, "IPv6: {r6:?}");
    assert!(
        wait_for(Duration::from_secs(3), || !holds(&lab, "a", ACTIVEIP)).is_some(),
        "a kept the IPv4 activeip after demoting:\n{}",
        a.log()
    );
}
