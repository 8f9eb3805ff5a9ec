//! The IPv6 primitives in the lab (`Lab::up_ipv6`): ICMPv6 echo, the passive's neighbour-discovery
//! check by table and by raw frames, unsolicited Neighbour Advertisements, the duplicate-address-
//! detection style rival look and address control without DAD, each against a live and an absent
//! address, compared with `ping -6` and `ndisc6`, and the frames decoded by tshark.

use crate::common;
use common::capture::Capture;
use common::lab::{root_or_skip, Lab};
use failoverctl::net::format_mac;
use failoverctl::net::linux::ipv6::addr6::Addresses6;
use failoverctl::net::linux::ipv6::addr_book6::AddressBook6;
use failoverctl::net::linux::ipv6::announce::NaAnnouncer;
use failoverctl::net::linux::ipv6::icmp6::{filter_passes, Echo6Target, Icmp6Prober, Icmp6Socket};
use failoverctl::net::linux::ipv6::nd_check::{RawNdChecker, TableNdChecker};
use failoverctl::net::linux::ipv6::nd_socket::NdSocket;
use failoverctl::net::linux::ipv6::neigh6::{NdTarget, Neighbours6};
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(300);
/// Two shared cores and a namespace switch per call: generous, never tighter than needed.
const MARGIN: Duration = Duration::from_millis(700);
const ACTIVE: &str = "2001:db8:1::10";
const ABSENT: &str = "2001:db8:1::77";

fn ip(s: &str) -> Ipv6Addr {
    s.parse().expect("a valid test address")
}

/// Runs `f` on a thread moved into `node`'s network namespace (the test's own threads stay put).
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

fn mac(lab: &Lab, node: &str, dev: &str) -> String {
    lab.ok(node, &["cat", &format!("/sys/class/net/{dev}/address")])
        .trim()
        .to_string()
}

fn target(device: &str, address: &str) -> NdTarget {
    NdTarget {
        device: device.into(),
        address: ip(address),
    }
}

#[test]
fn icmpv6_echo_reaches_a_live_host_only_out_of_its_device_like_ping6() {
    if !root_or_skip("icmpv6_echo_reaches_a_live_host_only_out_of_its_device_like_ping6") {
        return;
    }
    let lab = Lab::up_ipv6();
    let capture = Capture::start(&lab, "th", "eth1", "icmp6");
    let targets = [
        // From the node's own address on the channel.
        Echo6Target {
            device: "eth1".into(),
            source: Some(ip("2001:db8:1::12")),
            target: ip("2001:db8:1::1"),
        },
        Echo6Target {
            device: "eth1".into(),
            source: None,
            target: ip(ABSENT),
        },
        // The kernel's source, on the other LAN.
        Echo6Target {
            device: "eth2".into(),
            source: None,
            target: ip("2001:db8:2::1"),
        },
        // LAN 1's host asked for out of eth2: the socket is bound there, no reply may count.
        Echo6Target {
            device: "eth2".into(),
            source: None,
            target: ip("2001:db8:1::1"),
        },
    ];
    let (rtts, elapsed, identifier, passes) = in_ns(&lab, "b", || {
        let passes = filter_passes(&Icmp6Socket::open("eth1").expect("ICMPv6 socket"))
            .expect("read the filter");
        let mut prober = Icmp6Prober::new();
        let started = Instant::now();
        let rtts = prober.probe(&targets, TIMEOUT).expect("probe");
        (rtts, started.elapsed(), prober.identifier(), passes)
    });
    assert_eq!(passes, vec![129], "the socket wakes for echo replies only");
    assert!(rtts[0].is_some(), "the live host on eth1: {rtts:?}");
    assert_eq!(rtts[1], None, "nobody holds {ABSENT}");
    assert!(rtts[2].is_some(), "the live host on eth2: {rtts:?}");
    assert_eq!(rtts[3], None, "LAN 1's host reached out of eth2");
    // One timeout for all targets, not one each.
    assert!(elapsed < TIMEOUT + MARGIN, "took {elapsed:?}");

    // ping -6 agrees on both.
    let live = lab.run(
        "b",
        &["ping", "-6", "-c1", "-W1", "-I", "eth1", "2001:db8:1::1"],
    );
    assert!(live.status.success(), "ping -6 the live host");
    let dead = lab.run("b", &["ping", "-6", "-c1", "-W1", "-I", "eth1", ABSENT]);
    assert!(!dead.status.success(), "ping -6 the absent address");

    let decoded = capture.stop();
    let requests = decoded.rows(
        &format!("icmpv6.type == 128 && icmpv6.echo.identifier == {identifier}"),
        &["ipv6.src", "ipv6.dst", "icmpv6.checksum.status"],
    );
    assert!(
        requests.contains(&vec![
            "2001:db8:1::12".into(),
            "2001:db8:1::1".into(),
            "1".into()
        ]),
        "our echo from the held source, checksum good:\n{}",
        decoded.summary()
    );
    let replies = decoded.rows(
        &format!("icmpv6.type == 129 && icmpv6.echo.identifier == {identifier}"),
        &["ipv6.src", "icmpv6.checksum.status"],
    );
    assert_eq!(replies, vec![vec!["2001:db8:1::1".to_string(), "1".into()]]);
    assert_eq!(decoded.problems(), Vec::<String>::new());
}

#[test]
fn neighbour_discovery_check_finds_the_holder_by_table_and_raw_like_ndisc6() {
    if !root_or_skip("neighbour_discovery_check_finds_the_holder_by_table_and_raw_like_ndisc6") {
        return;
    }
    let lab = Lab::up_ipv6();
    in_ns(&lab, "a", || {
        let prefix = Addresses6::new()
            .add("eth1", ip(ACTIVE), None)
            .expect("add the activeip");
        assert_eq!(prefix, 64, "inferred from a's 2001:db8:1::11/64");
    });
    let mac_a = mac(&lab, "a", "eth1");
    let mac_b = mac(&lab, "b", "eth1");
    let targets = [target("eth1", ACTIVE), target("eth1", ABSENT)];
    let capture = Capture::start(&lab, "b", "eth1", "icmp6");

    for method in ["table", "raw"] {
        let (results, elapsed) = in_ns(&lab, "b", || {
            let started = Instant::now();
            let results = match method {
                "table" => TableNdChecker::new().check(&targets, TIMEOUT),
                _ => RawNdChecker::new().check(&targets, TIMEOUT),
            }
            .expect("check");
            (results, started.elapsed())
        });
        assert_eq!(
            results[0].mac.map(|m| format_mac(&m)).as_deref(),
            Some(mac_a.as_str()),
            "{method}: the holder's MAC"
        );
        assert_eq!(results[1].mac, None, "{method}: nobody holds {ABSENT}");
        assert!(elapsed < TIMEOUT + MARGIN, "{method}: took {elapsed:?}");
    }

    // ndisc6 agrees on both (one solicitation, 300 ms).
    let found = lab.run("b", &["ndisc6", "-1", "-r1", "-w300", ACTIVE, "eth1"]);
    assert!(found.status.success(), "ndisc6 finds the holder");
    assert!(
        String::from_utf8_lossy(&found.stdout)
            .to_lowercase()
            .contains(&mac_a),
        "ndisc6 names a's MAC: {}",
        String::from_utf8_lossy(&found.stdout)
    );
    let missing = lab.run("b", &["ndisc6", "-1", "-r1", "-w300", ABSENT, "eth1"]);
    assert!(
        !missing.status.success(),
        "ndisc6 finds nobody for {ABSENT}"
    );

    let decoded = capture.stop();
    // The raw check's solicitations: from b's own address to the solicited-node group, hop limit
    // 255, b's MAC in the source link-layer option.
    let ours = decoded.rows(
        &format!(
            "icmpv6.type == 135 && icmpv6.nd.ns.target_address == {ACTIVE} && ipv6.src == 2001:db8:1::12"
        ),
        &[
            "eth.dst",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
        ],
    );
    assert!(
        ours.contains(&vec![
            "33:33:ff:00:00:10".into(),
            "ff02::1:ff00:10".into(),
            "255".into(),
            mac_b.clone(),
            "1".into(),
        ]),
        "{ours:?}\n{}",
        decoded.summary()
    );
    // a's answers: solicited, override, hop limit 255, its own MAC.
    let answers = decoded.rows(
        &format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {ACTIVE}"),
        &[
            "eth.src",
            "ipv6.hlim",
            "icmpv6.nd.na.flag.s",
            "icmpv6.checksum.status",
        ],
    );
    assert!(!answers.is_empty(), "{}", decoded.summary());
    for a in &answers {
        assert_eq!(a[0], mac_a);
        assert_eq!(a[1..], ["255", "1", "1"], "hop limit, S, checksum: {a:?}");
    }
    assert_eq!(decoded.problems(), Vec::<String>::new());
}

#[test]
fn neighbour_discovery_check_does_not_take_a_stale_entry_for_a_live_holder() {
    if !root_or_skip("neighbour_discovery_check_does_not_take_a_stale_entry_for_a_live_holder") {
        return;
    }
    let lab = Lab::up_ipv6();
    in_ns(&lab, "a", || {
        Addresses6::new()
            .add("eth1", ip(ACTIVE), Some(64))
            .expect("add the activeip");
    });
    let mac_a = mac(&lab, "a", "eth1");
    // The holder's link goes down, its entry left STALE in the passive's table.
    lab.link("a", "eth1", false);
    for method in ["table", "raw"] {
        lab.run("b", &["ip", "-6", "neigh", "del", ACTIVE, "dev", "eth1"]);
        lab.ok(
            "b",
            &[
                "ip", "-6", "neigh", "replace", ACTIVE, "lladdr", &mac_a, "dev", "eth1", "nud",
                "stale",
            ],
        );
        let results = in_ns(&lab, "b", || {
            let t = [target("eth1", ACTIVE)];
            match method {
                "table" => TableNdChecker::new().check(&t, TIMEOUT),
                _ => RawNdChecker::new().check(&t, TIMEOUT),
            }
            .expect("check")
        });
        assert_eq!(results[0].mac, None, "{method}: the stale entry passed");
        let entry = in_ns(&lab, "b", || {
            Neighbours6::new()
                .lookup("eth1", ip(ACTIVE))
                .expect("read the table")
        });
        match method {
            // Deleted, then solicited in vain.
            "table" => assert!(
                entry.as_ref().is_none_or(|e| !e.state.is_complete()),
                "{entry:?}"
            ),
            // The raw check leaves the kernel's table alone.
            _ => assert_eq!(
                entry.map(|e| e.mac.map(|m| format_mac(&m))),
                Some(Some(mac_a.clone()))
            ),
        }
    }
}

#[test]
fn nd_socket_wakes_a_poll_for_advertisements_only() {
    if !root_or_skip("nd_socket_wakes_a_poll_for_advertisements_only") {
        return;
    }
    let lab = Lab::up_ipv6();
    in_ns(&lab, "a", || {
        Addresses6::new()
            .add("eth1", ip(ACTIVE), Some(64))
            .expect("add the activeip");
    });
    let mac_a = mac(&lab, "a", "eth1");
    let (woke_for_pings, answer) = in_ns(&lab, "b", || {
        use mio::unix::SourceFd;
        use mio::{Events, Interest, Poll, Token};
        let socket = NdSocket::open("eth1").expect("ND socket");
        let mut poll = Poll::new().expect("poll");
        poll.registry()
            .register(
                &mut SourceFd(&socket.as_raw_fd()),
                Token(1),
                Interest::READABLE,
            )
            .expect("register");
        let mut events = Events::with_capacity(4);
        // Echo traffic on the device (resolved first, so no NA is part of it).
        let ping = std::process::Command::new("ping")
            .args(["-6", "-c3", "-i0.01", "-W1", "-I", "eth1", "2001:db8:1::1"])
            .output()
            .expect("ping");
        assert!(ping.status.success());
        let _ = socket.receive();
        let ping = std::process::Command::new("ping")
            .args(["-6", "-c3", "-i0.01", "-W1", "-I", "eth1", "2001:db8:1::1"])
            .output()
            .expect("ping");
        assert!(ping.status.success());
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        let woke = !events.is_empty();
        socket
            .solicit(ip("2001:db8:1::12"), ip(ACTIVE))
            .expect("solicit");
        let deadline = Instant::now() + TIMEOUT + MARGIN;
        let mut answer = None;
        while answer.is_none() && Instant::now() < deadline {
            poll.poll(&mut events, Some(Duration::from_millis(50)))
                .expect("poll");
            answer = socket
                .receive()
                .into_iter()
                .find(|m| m.target == ip(ACTIVE));
        }
        (woke, answer)
    });
    assert!(!woke_for_pings, "the filter let echo traffic through");
    let answer = answer.expect("a's advertisement");
    assert_eq!(format_mac(&answer.mac()), mac_a);
    assert!(answer.solicited && answer.override_ && !answer.router);
    assert_eq!(answer.hop_limit, 255);
}
