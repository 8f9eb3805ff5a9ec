//! Issue 12: the simulator is family-agnostic, as the core is. An IPv6 pair behaves exactly as
//! the same pair numbered in IPv4, and a dual-stack pair (an IPv4 and an IPv6 channel on one
//! device) keeps every invariant of the safety matrix.

use std::net::{IpAddr, Ipv6Addr};

use failoverctl::config::{Channel, Config, PolicyMode};
use failoverctl::sim::matrix::{cell, MatrixFault};
use failoverctl::sim::{document_config, worst_case, Scenario};

/// `a.b.c.d` as `2001:db8:c::d`: the same host numbering, in the documentation prefix.
fn to_v6(ip: IpAddr) -> IpAddr {
    let IpAddr::V4(v4) = ip else { return ip };
    let [_, _, c, d] = v4.octets();
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, c.into(), 0, 0, 0, 0, d.into()))
}

fn v6_channel(c: &Channel) -> Channel {
    Channel {
        activeip: to_v6(c.activeip),
        passiveip: to_v6(c.passiveip),
        prefix: c.prefix.map(|p| p + 40),
        testips: c.testips.iter().copied().map(to_v6).collect(),
        ..c.clone()
    }
}

/// The document's config with every address (the sync link's too) made IPv6.
fn ipv6_config(mode: PolicyMode) -> Config {
    let mut cfg = document_config(mode);
    cfg.channels = cfg.channels.iter().map(v6_channel).collect();
    if let Some(s) = cfg.sendconfig.as_mut() {
        s.peerip = s.peerip.map(to_v6);
    }
    cfg
}

/// The document's IPv4 channel and its IPv6 twin on the same device: a dual-stack interface.
fn dual_stack_config(mode: PolicyMode) -> Config {
    let mut cfg = document_config(mode);
    let mut twin = v6_channel(&cfg.channels[0]);
    twin.ident = "if-1-v6".into();
    cfg.channels.push(twin);
    cfg
}

#[test]
fn an_ipv6_pair_times_exactly_as_the_same_pair_in_ipv4() {
    let v4 = document_config(PolicyMode::Improved);
    let v6 = ipv6_config(PolicyMode::Improved);
    assert!(v6.channels[0].activeip.is_ipv6() && v6.channels[0].testips[0].is_ipv6());
    for scenario in Scenario::ALL {
        let a = worst_case(&v4, scenario).expect("simulated");
        let b = worst_case(&v6, scenario).expect("simulated");
        assert_eq!(a, b, "{scenario:?}");
        // A dead test host is dead for the peer too: the improved policy holds, in both families.
        if scenario != Scenario::TestHostDead {
            assert!(
                b.takeover_after.is_some(),
                "{scenario:?}: no takeover over IPv6"
            );
        }
    }
}

#[test]
fn a_dual_stack_pair_fails_over_as_its_ipv4_channel_alone_does() {
    let cfg = dual_stack_config(PolicyMode::Improved);
    assert_eq!(cfg.channels[0].device, cfg.channels[1].device);
    let v4 = document_config(PolicyMode::Improved);
    for scenario in Scenario::ALL {
        let r = worst_case(&cfg, scenario).expect("simulated");
        let alone = worst_case(&v4, scenario).expect("simulated");
        // The IPv6 twin changes nothing the IPv4 channel alone would not do.
        assert_eq!(
            r.takeover_after.is_some(),
            alone.takeover_after.is_some(),
            "{scenario:?}"
        );
        assert!(
            r.longest_gap <= alone.longest_gap,
            "{scenario:?}: {r:?} against {alone:?}"
        );
    }
}

#[test]
fn the_improved_policy_keeps_every_invariant_on_a_dual_stack_pair() {
    let cfg = dual_stack_config(PolicyMode::Improved);
    let runs = if cfg!(debug_assertions) { 20 } else { 200 };
    let mut bad = Vec::new();
    for fault in MatrixFault::ALL {
        for key in [false, true] {
            let row = cell(&cfg, fault, PolicyMode::Improved, key, 0, runs);
            if row.violations() > 0 || row.errors > 0 {
                bad.push(format!("{row:?}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
