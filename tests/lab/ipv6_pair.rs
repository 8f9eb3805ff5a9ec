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
/// stays passive; nothing moves when its LANs come back. With `keep_addr_on_down=1` (b warned at
/// start that it was 0) its passiveips survive the flap, so it still judges itself fit and takes
/// over when the active is then powered off.
#[test]
fn ipv6_passive_that_loses_its_own_lans_stays_passive() {
    let name = "ipv6_passive_that_loses_its_own_lans_stays_passive";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = start_pair6(&lab, dir.path(), &config6("a", ""), &config6("b", ""));
    assert!(
        b.log().contains("net.ipv6.conf.eth1.keep_addr_on_down=0"),
        "no warning:\n{}",
        b.log()
    );
    for dev in ["eth1", "eth2"] {
        let key = format!("net.ipv6.conf.{dev}.keep_addr_on_down=1");
        lab.ok("b", &["sysctl", "-qw", &key]);
    }
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
    let mut a = a;
    a.kill();
    for dev in ["eth1", "eth2", "sync0"] {
        lab.link("a", dev, false);
    }
    let took = wait_for(Duration::from_secs(5), || holds6(&lab, "b", ACTIVEIP6));
    assert!(
        took.is_some(),
        "b did not take over after its LANs came back:\nb:\n{}",
        b.log()
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

/// `failoverctl <args> --json` in `node`: the exit code and the JSON.
fn cli_json(lab: &Lab, node: &str, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = lab
        .failoverctl(node)
        .args(args)
        .arg("--json")
        .output()
        .expect("run failoverctl");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// `probe` and `arp-check` (both methods) with IPv6 addresses, live and absent, against `ping -6`
/// and `ndisc6` from the same node: the same verdicts, the same MAC, the protocol in the JSON, and
/// the exit codes of the IPv4 forms (0 all answered, 1 one did not). A mixed call asks each
/// address by its own protocol.
#[test]
fn ipv6_probe_and_arp_check_agree_with_ping6_and_ndisc6() {
    let name = "ipv6_probe_and_arp_check_agree_with_ping6_and_ndisc6";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    lab.ok(
        "a",
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
    let mac_a = mac(&lab, "a", "eth1");
    const ABSENT: &str = "2001:db8:1::77";

    let ping6 = |target: &str| {
        lab.run("b", &["ping", "-6", "-c1", "-W1", "-I", "eth1", target])
            .status
            .success()
    };
    let (code, v) = cli_json(
        &lab,
        "b",
        &[
            "probe",
            "--device",
            "eth1",
            "--timeout",
            "500ms",
            "2001:db8:1::1",
            ACTIVEIP6,
        ],
    );
    assert_eq!(code, Some(0), "{v}");
    for t in v["channels"][0]["targets"].as_array().expect("targets") {
        assert_eq!(t["protocol"], "icmpv6", "{t}");
        assert_eq!(t["reached"], true, "{t}");
        assert!(ping6(t["target"].as_str().expect("target")));
    }
    let (code, v) = cli_json(
        &lab,
        "b",
        &[
            "probe",
            "--device",
            "eth1",
            "--timeout",
            "300ms",
            "2001:db8:1::1",
            ABSENT,
            "192.0.2.1",
        ],
    );
    assert_eq!(code, Some(1), "an absent target fails the probe: {v}");
    let targets = &v["channels"][0]["targets"];
    assert_eq!(targets[0]["reached"], true, "{v}");
    assert_eq!(targets[1]["reached"], false, "{v}");
    assert!(!ping6(ABSENT), "ping -6 reached {ABSENT}");
    assert_eq!(
        (
            targets[2]["protocol"].as_str(),
            targets[2]["reached"].as_bool()
        ),
        (Some("icmp"), Some(true)),
        "{v}"
    );

    let ndisc6 = |target: &str| {
        let out = lab.run("b", &["ndisc6", "-1", "-r1", "-w500", target, "eth1"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_lowercase())
    };
    let seen = ndisc6(ACTIVEIP6).expect("ndisc6 finds the holder");
    assert!(seen.contains(&mac_a), "ndisc6: {seen}");
    assert_eq!(ndisc6(ABSENT), None, "ndisc6 found a holder of {ABSENT}");
    for method in ["table", "raw"] {
        let (code, v) = cli_json(
            &lab,
            "b",
            &[
                "arp-check",
                "--method",
                method,
                "--device",
                "eth1",
                "--timeout",
                "500ms",
                ACTIVEIP6,
            ],
        );
        assert_eq!(code, Some(0), "{method}: {v}");
        let r = &v["results"][0];
        assert_eq!(r["protocol"], "ndp", "{method}: {v}");
        assert_eq!(r["answered"], true, "{method}: {v}");
        assert_eq!(r["mac"].as_str(), Some(mac_a.as_str()), "{method}: {v}");
        let (code, v) = cli_json(
            &lab,
            "b",
            &[
                "arp-check",
                "--method",
                method,
                "--device",
                "eth1",
                "--timeout",
                "300ms",
                ABSENT,
                "192.0.2.1",
            ],
        );
        assert_eq!(code, Some(1), "{method}: an absent address fails: {v}");
        let (r6, r4) = (&v["results"][0], &v["results"][1]);
        assert_eq!(
            (r6["protocol"].as_str(), r6["answered"].as_bool()),
            (Some("ndp"), Some(false))
        );
        assert_eq!(
            (r4["protocol"].as_str(), r4["answered"].as_bool()),
            (Some("arp"), Some(true))
        );
    }
}

/// Garbage neighbour-discovery frames claiming the active's activeip from a foreign MAC (hop limit
/// 254 as if routed, a wrong checksum, cut short, an option of length zero, Solicited towards all
/// nodes) are dropped: no claim is logged and the active keeps its address; a well-formed one from
/// the same MAC is a claim, which proves the garbage reached the socket's device.
#[test]
fn garbage_neighbour_advertisements_are_no_claims() {
    use failoverctl::net::linux::ipv6::nd_frame::{checksum, NdMessage};
    use failoverctl::net::linux::ipv6::nd_socket::NdSocket;
    let name = "garbage_neighbour_advertisements_are_no_claims";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Daemon::start(&lab, dir.path(), "a", "run", &config6("a", ""), &[]);
    assert!(
        wait_for(Duration::from_secs(5), || holds6(&lab, "a", ACTIVEIP6)).is_some(),
        "{}",
        a.log()
    );
    let foreign = [0x02, 0, 0, 0, 0, 0x99];
    let target: std::net::Ipv6Addr = ACTIVEIP6.parse().expect("address");
    let good = NdMessage::unsolicited_advertisement(foreign, target, false).to_frame();
    // The ICMPv6 message starts after Ethernet (14) and IPv6 (40).
    let resum = |f: &mut Vec<u8>| {
        f[56] = 0;
        f[57] = 0;
        let (src, dst) = (
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&f[22..38]).expect("16")),
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&f[38..54]).expect("16")),
        );
        let sum = checksum(&f[54..], src, dst);
        f[56..58].copy_from_slice(&sum.to_be_bytes());
    };
    let mut routed = good.clone();
    routed[21] = 254;
    let mut bad_sum = good.clone();
    bad_sum[57] ^= 0xff;
    let short = good[..70].to_vec();
    let mut zero_option = good.clone();
    zero_option[54 + 24 + 1] = 0;
    resum(&mut zero_option);
    let mut solicited = good.clone();
    solicited[58] |= 0x40;
    resum(&mut solicited);
    let send = |frames: Vec<Vec<u8>>| {
        let path = format!("/run/netns/{}", lab.ns("th"));
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).expect("open the namespace");
            // SAFETY: a valid namespace fd; only this thread moves.
            let rc =
                unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0);
            let s = NdSocket::open("eth1").expect("ND socket");
            for f in frames {
                s.send(&f, [0x33, 0x33, 0, 0, 0, 1]).expect("send");
            }
        })
        .join()
        .expect("sender thread");
    };
    send(vec![routed, bad_sum, short, zero_option, solicited]);
    assert!(
        throughout(Duration::from_millis(600), || !a
            .log()
            .contains("claimed by")
            && holds6(&lab, "a", ACTIVEIP6)),
        "garbage counted as a claim:\n{}",
        a.log()
    );
    send(vec![good]);
    let claimed = wait_for(Duration::from_secs(2), || {
        a.log().contains("claimed by 02:00:00:00:00:99")
    });
    assert!(
        claimed.is_some(),
        "the good frame was no claim:\n{}",
        a.log()
    );
    assert!(holds6(&lab, "a", ACTIVEIP6), "{}", a.log());
}

/// The active's daemon killed alone: its kernel keeps the IPv6 activeips and answers neighbour
/// discovery, so b rightly stays passive (never both); restarted, a finds them (asking the kernel)
/// and resumes as active without a gap.
#[test]
fn ipv6_killed_daemon_keeps_the_addresses_and_resumes() {
    let name = "ipv6_killed_daemon_keeps_the_addresses_and_resumes";
    if !root_or_skip(name) {
        return;
    }
    let lab = Lab::up_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut a, b) = start_pair6(&lab, dir.path(), &config6("a", ""), &config6("b", ""));
    let meter = GapMeter::start(&lab, "cl", ACTIVEIP6, Duration::from_secs(5));
    a.kill();
    assert!(
        throughout(Duration::from_millis(1_500), || holds6(
            &lab, "a", ACTIVEIP6
        ) && !holds6(
            &lab, "b", ACTIVEIP6
        )),
        "ownership changed with a's daemon dead:\n{}",
        b.log()
    );
    a.spawn(&lab, "run", &[]);
    let resumed = wait_for(Duration::from_secs(3), || {
        a.log().contains("resuming as active")
    });
    assert!(resumed.is_some(), "a did not resume:\n{}", a.log());
    assert!(throughout(Duration::from_millis(600), || holds6(
        &lab, "a", ACTIVEIP6
    ) && !holds6(
        &lab, "b", ACTIVEIP6
    )));
    let report = meter.finish();
    assert!(
        report.longest_gap < Duration::from_millis(300),
        "the client saw a gap: {report:?}"
    );
}
