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

/// The client's neighbour entry for `address` as `ip -6 neigh` shows it (empty when none).
fn client_entry(lab: &Lab, address: &str) -> String {
    lab.ok("cl", &["ip", "-6", "neigh", "show", address, "dev", "eth1"])
        .to_lowercase()
}

#[test]
fn unsolicited_advertisement_moves_the_clients_entry_without_a_solicitation() {
    if !root_or_skip("unsolicited_advertisement_moves_the_clients_entry_without_a_solicitation") {
        return;
    }
    let lab = Lab::up_ipv6();
    in_ns(&lab, "a", || {
        Addresses6::new()
            .add("eth1", ip(ACTIVE), Some(64))
            .expect("add the activeip");
    });
    let mac_a = mac(&lab, "a", "eth1");
    let mac_b = mac(&lab, "b", "eth1");
    lab.ok("cl", &["ping", "-6", "-c1", "-W1", ACTIVE]);
    assert!(client_entry(&lab, ACTIVE).contains(&mac_a));

    // The takeover: the address moves from a to b, which forwards and announces it.
    in_ns(&lab, "a", || {
        Addresses6::new()
            .remove("eth1", ip(ACTIVE))
            .expect("remove the activeip");
    });
    in_ns(&lab, "b", || {
        Addresses6::new()
            .add("eth1", ip(ACTIVE), Some(64))
            .expect("add the activeip");
    });
    lab.ok("b", &["sysctl", "-qw", "net.ipv6.conf.eth1.forwarding=1"]);
    let capture = Capture::start(&lab, "cl", "eth1", "icmp6");
    let mut announcer = NaAnnouncer::new();
    in_ns(&lab, "b", || {
        announcer.announce("eth1", ip(ACTIVE)).expect("announce")
    });
    let deadline = Instant::now() + MARGIN;
    while !client_entry(&lab, ACTIVE).contains(&mac_b) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let entry = client_entry(&lab, ACTIVE);
    assert!(entry.contains(&mac_b), "the client still has {entry}");
    // A host that stops forwarding announces itself without the Router flag (the same socket).
    lab.ok("b", &["sysctl", "-qw", "net.ipv6.conf.eth1.forwarding=0"]);
    in_ns(&lab, "b", || {
        announcer.announce("eth1", ip(ACTIVE)).expect("announce")
    });
    let decoded = capture.stop();

    let solicitations = decoded.rows(
        &format!("icmpv6.type == 135 && icmpv6.nd.ns.target_address == {ACTIVE}"),
        &["ipv6.src"],
    );
    assert_eq!(
        solicitations,
        Vec::<Vec<String>>::new(),
        "the client solicited again:\n{}",
        decoded.summary()
    );
    let adverts = decoded.rows(
        &format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {ACTIVE}"),
        &[
            "eth.src",
            "eth.dst",
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.nd.na.flag.r",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.opt.type",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
        ],
    );
    let expected = |router: &str| -> Vec<String> {
        [
            &mac_b,
            "33:33:00:00:00:01",
            ACTIVE,
            "ff02::1",
            "255",
            router,
            "0",
            "1",
            "2",
            &mac_b,
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    assert_eq!(
        adverts,
        vec![expected("1"), expected("0")],
        "{}",
        decoded.summary()
    );
    assert_eq!(decoded.problems(), Vec::<String>::new());
    // And the client reaches the address at its new owner.
    lab.ok("cl", &["ping", "-6", "-c1", "-W1", ACTIVE]);
}

#[test]
fn dad_style_solicitation_finds_a_rival_holder_and_not_ourselves() {
    if !root_or_skip("dad_style_solicitation_finds_a_rival_holder_and_not_ourselves") {
        return;
    }
    let lab = Lab::up_ipv6();
    for node in ["a", "b"] {
        in_ns(&lab, node, || {
            Addresses6::new()
                .add("eth1", ip(ACTIVE), Some(64))
                .expect("add the activeip");
        });
    }
    let mac_a = mac(&lab, "a", "eth1");
    let mac_b = mac(&lab, "b", "eth1");
    let targets = [target("eth1", ACTIVE)];
    let capture = Capture::start(&lab, "a", "eth1", "icmp6");
    let (rivals, elapsed) = in_ns(&lab, "a", || {
        let started = Instant::now();
        let r = RawNdChecker::new()
            .rivals(&targets, TIMEOUT)
            .expect("rival look");
        (r, started.elapsed())
    });
    assert_eq!(rivals.len(), 1, "{rivals:?}");
    assert_eq!(format_mac(&rivals[0].rival_mac), mac_b);
    assert_eq!(format_mac(&rivals[0].own_mac), mac_a);
    assert_eq!(rivals[0].address, ip(ACTIVE));
    // Found: no need to wait for the deadline.
    assert!(elapsed < TIMEOUT, "took {elapsed:?}");
    let decoded = capture.stop();

    // The rival gone: a's own address is no rival of itself.
    in_ns(&lab, "b", || {
        Addresses6::new()
            .remove("eth1", ip(ACTIVE))
            .expect("remove");
    });
    let rivals = in_ns(&lab, "a", || {
        RawNdChecker::new()
            .rivals(&targets, TIMEOUT)
            .expect("rival look")
    });
    assert_eq!(rivals, vec![]);

    // The solicitation: from ::, no source link-layer option, to the solicited-node group.
    let asked = decoded.rows(
        &format!("icmpv6.type == 135 && icmpv6.nd.ns.target_address == {ACTIVE}"),
        &[
            "eth.src",
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.opt.type",
            "icmpv6.checksum.status",
        ],
    );
    assert!(!asked.is_empty(), "{}", decoded.summary());
    for row in &asked {
        assert_eq!(
            row,
            &[&mac_a, "::", "ff02::1:ff00:10", "255", "", "1"],
            "{row:?}"
        );
    }
    // The rival's answer: to all nodes, not solicited, override, its MAC.
    let answers = decoded.rows(
        &format!("icmpv6.type == 136 && icmpv6.nd.na.target_address == {ACTIVE}"),
        &[
            "eth.src",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
        ],
    );
    assert!(!answers.is_empty(), "{}", decoded.summary());
    for row in &answers {
        assert_eq!(
            row,
            &[&mac_b, "ff02::1", "255", "0", "1", &mac_b, "1"],
            "{row:?}"
        );
    }
    assert_eq!(decoded.problems(), Vec::<String>::new());
}

#[test]
fn an_address_added_without_dad_is_usable_at_once_and_tracked() {
    if !root_or_skip("an_address_added_without_dad_is_usable_at_once_and_tracked") {
        return;
    }
    let lab = Lab::up_ipv6();
    // Duplicate address detection on, as on a real host: what NODAD has to get around.
    lab.ok("a", &["sysctl", "-qw", "net.ipv6.conf.eth1.accept_dad=1"]);
    let bind = |address: &str| std::net::UdpSocket::bind((ip(address), 0)).map(|_| ());
    let (nodad_bind, dad_bind, prefix, held, released) = in_ns(&lab, "a", || {
        let mut addresses = Addresses6::new();
        let mut book = AddressBook6::new();
        assert!(!book.holds("eth1", ip(ACTIVE)).expect("read"));
        addresses
            .add("eth1", ip(ACTIVE), Some(64))
            .expect("add the activeip");
        // At once: bound to, not tentative, seen by the address book.
        let nodad_bind = bind(ACTIVE);
        let listed = addresses.addresses("eth1").expect("list");
        let own = listed
            .iter()
            .find(|a| a.address == ip(ACTIVE))
            .expect("listed");
        assert!(own.usable() && own.prefix == 64, "{own:?}");
        // The kernel reports a new IPv6 address from its DAD work, NODAD or not, so the event (and
        // the book's answer) may trail the add by a moment: bounded wait (it failed about 2 runs in
        // 5 on 2 busy cores when asked at once).
        let mut held = false;
        for _ in 0..50 {
            held = book.holds("eth1", ip(ACTIVE)).expect("read");
            if held {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // One read of the events for a list (the ownership check): the same answers.
        let each = book.holds_each(&[("eth1", ip(ACTIVE)), ("eth1", ip("2001:db8:1::77"))]);
        assert!(matches!(each.as_slice(), [Ok(true), Ok(false)]), "{each:?}");
        // Adding again and removing twice are no errors (a repeated takeover or release).
        addresses
            .add("eth1", ip(ACTIVE), Some(64))
            .expect("add again");
        // The same through `ip`, with DAD: tentative, unusable.
        let out = std::process::Command::new("ip")
            .args(["addr", "add", "2001:db8:1::20/64", "dev", "eth1"])
            .status()
            .expect("ip");
        assert!(out.success());
        let dad_bind = bind("2001:db8:1::20");
        let tentative = addresses
            .addresses("eth1")
            .expect("list")
            .into_iter()
            .find(|a| a.address == ip("2001:db8:1::20"))
            .expect("listed");
        assert!(tentative.tentative, "{tentative:?}");
        // No prefix given: the one of the device's address in the same network.
        let prefix = addresses
            .add("eth1", ip("2001:db8:1::30"), None)
            .expect("add without prefix");
        addresses.remove("eth1", ip(ACTIVE)).expect("remove");
        addresses.remove("eth1", ip(ACTIVE)).expect("remove again");
        let released = !book.holds("eth1", ip(ACTIVE)).expect("read");
        assert!(matches!(
            addresses.add("nosuchdev0", ip(ACTIVE), Some(64)),
            Err(failoverctl::net::NetError::NoDevice(d)) if d == "nosuchdev0"
        ));
        (nodad_bind, dad_bind, prefix, held, released)
    });
    assert!(
        nodad_bind.is_ok(),
        "bind to the NODAD address: {nodad_bind:?}"
    );
    assert!(dad_bind.is_err(), "a tentative address was usable at once");
    assert_eq!(prefix, 64);
    assert!(held, "the address book missed the new address");
    assert!(released, "the address book still holds the removed address");
    let shown = lab.ok("a", &["ip", "-6", "addr", "show", "dev", "eth1"]);
    assert!(!shown.contains(ACTIVE), "{shown}");
    assert!(shown.contains("2001:db8:1::30/64"), "{shown}");
}
