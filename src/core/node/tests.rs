//! The node's tests: virtual time, scripted worlds, every action timed to the millisecond.

use super::*;
use crate::config::PolicyMode;
use crate::core::action::PeerReport;
use crate::core::testkit::{arp_done, at_ms, config, drive, drive_late, probe_done, Machine};

impl Machine for Node {
    fn handle(&mut self, now: Instant, input: Input) {
        Node::handle(self, now, input)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Node::handle_timeout(self, now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Node::poll_timeout(self)
    }
    fn poll_action(&mut self) -> Option<Action> {
        Node::poll_action(self)
    }
}

/// Nobody answers anything: no active, no test host, no peer.
fn silent_world(_: Instant, a: &Action) -> Option<(Duration, Input)> {
    match a {
        Action::ArpCheck {
            id,
            targets,
            timeout,
            ..
        } => Some((*timeout, arp_done(*id, targets, |_| None))),
        Action::Probe {
            id,
            targets,
            timeout,
            ..
        } => Some((*timeout, probe_done(*id, targets, |_| None))),
        Action::SampleCounters { id, .. } => Some((
            Duration::ZERO,
            Input::Counters {
                id: *id,
                samples: vec![],
            },
        )),
        Action::PingPeer {
            id,
            target,
            timeout,
        } => Some((
            *timeout,
            probe_done(*id, std::slice::from_ref(target), |_| None),
        )),
        Action::AskPeer { id, timeout, .. } => Some((
            *timeout,
            Input::PeerAnswer {
                id: *id,
                answer: None,
            },
        )),
        _ => None,
    }
}

/// The test hosts answer and the activeips stay where they are: a node that takes over stays active.
fn healthy_world(now: Instant, a: &Action) -> Option<(Duration, Input)> {
    match a {
        Action::Probe { id, targets, .. } => Some((
            Duration::from_millis(1),
            probe_done(*id, targets, |_| Some(Duration::from_millis(1))),
        )),
        Action::CheckOwnership { id, .. } => Some((
            Duration::ZERO,
            Input::OwnershipDone {
                id: *id,
                missing: vec![],
            },
        )),
        other => silent_world(now, other),
    }
}

#[test]
fn alone_it_takes_over_after_its_stagger_then_holds_when_the_peer_is_down() {
    let cfg = config(PolicyMode::Improved);
    // passiveip .51: slot 51 % 8 = 3, stagger 3 × 2 × timeout = 12 s.
    assert_eq!(start_stagger(&cfg), Duration::from_secs(12));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(60_000), silent_world);
    let first = |pick: fn(&Action) -> bool| seen.iter().find(|(_, a)| pick(a)).map(|(t, _)| *t);
    // Checks read at 2, 4, 6 (3/3) ... held until 12 s.
    assert_eq!(
        first(|a| matches!(a, Action::ClaimAddresses { .. })),
        Some(at_ms(12_000))
    );
    let announces = seen
        .iter()
        .filter(|(_, a)| matches!(a, Action::Announce { .. }))
        .map(|(t, _)| t.as_millis())
        .collect::<Vec<_>>();
    // The takeover burst: exactly garpcount (3 here); the first look for a rival adds none.
    assert_eq!(announces, vec![12_000, 13_000, 14_000]);
    // Unreadable counters count as idle: the probes fail, the peer is down: hold, no reboot.
    assert!(first(|a| matches!(a, Action::PingPeer { .. })).is_some());
    assert!(first(|a| matches!(a, Action::Alert(_))).is_some());
    assert_eq!(first(|a| matches!(a, Action::FailureAction { .. })), None);
    assert_eq!(node.role(), Role::Active);
    assert!(node.status().holding.is_some());
}

/// Nobody answers until 40 s; from then on the test hosts answer again (the peer stays down).
fn test_hosts_back_at_40s(now: Instant, a: &Action) -> Option<(Duration, Input)> {
    match a {
        Action::Probe { id, targets, .. } if now >= at_ms(40_000) => Some((
            Duration::from_millis(5),
            probe_done(*id, targets, |_| Some(Duration::from_millis(1))),
        )),
        other => silent_world(now, other),
    }
}

#[test]
fn a_hold_is_lifted_when_the_channel_heals() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    drive(&mut node, Instant::ZERO, at_ms(39_000), silent_world);
    assert!(
        node.status().holding.is_some(),
        "held while the peer is down"
    );
    let seen = drive(
        &mut node,
        at_ms(39_000),
        at_ms(80_000),
        test_hosts_back_at_40s,
    );
    assert!(
        node.status().holding.is_none(),
        "the hold outlived the failure"
    );
    assert!(seen
        .iter()
        .any(|(_, a)| matches!(a, Action::Log(d) if d.reason.contains("hold lifted"))));
    assert_eq!(node.role(), Role::Active);
}

#[test]
fn priority_overrides_the_passiveip_slot() {
    let mut cfg = config(PolicyMode::Improved);
    cfg.policy.priority = Some(0);
    assert_eq!(start_stagger(&cfg), Duration::ZERO);
    cfg.policy.priority = Some(7);
    assert_eq!(start_stagger(&cfg), Duration::from_secs(28));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), silent_world);
    let claims = times(&seen, |a| matches!(a, Action::ClaimAddresses { .. }));
    assert_eq!(claims, vec![28_000]);
}

/// The peer is alive but cannot reach the test hosts either (they are dead for everybody).
fn peer_cannot_reach_either(now: Instant, a: &Action) -> Option<(Duration, Input)> {
    match a {
        Action::AskPeer { id, testips, .. } => {
            assert!(
                !testips.is_empty(),
                "the question names the channel's test hosts"
            );
            Some((
                Duration::from_millis(10),
                Input::PeerAnswer {
                    id: *id,
                    answer: Some(PeerReport {
                        role: Role::Passive,
                        reached: vec![false; testips.len()],
                    }),
                },
            ))
        }
        other => silent_world(now, other),
    }
}

/// The peer is alive and reaches the test hosts: the fault is this node's.
fn peer_reaches(now: Instant, a: &Action) -> Option<(Duration, Input)> {
    match a {
        Action::AskPeer { id, testips, .. } => Some((
            Duration::from_millis(10),
            Input::PeerAnswer {
                id: *id,
                answer: Some(PeerReport {
                    role: Role::Passive,
                    reached: vec![true; testips.len()],
                }),
            },
        )),
        other => silent_world(now, other),
    }
}

#[test]
fn a_failure_the_peer_shares_is_held_one_it_does_not_share_is_acted_on() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(
        &mut node,
        Instant::ZERO,
        at_ms(40_000),
        peer_cannot_reach_either,
    );
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::FailureAction { .. })));
    let holding = node.status().holding.expect("held");
    assert!(holding.contains("cannot reach channel if-1"), "{holding}");
    assert_eq!(node.role(), Role::Active);

    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), peer_reaches);
    assert!(seen.iter().any(|(_, a)| matches!(
        a,
        Action::FailureAction {
            command: FailureCommand::Reboot,
            ..
        }
    )));
}

#[test]
fn an_activeip_removed_by_someone_else_is_claimed_again_and_announced() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    // Someone flushes the address at 30 s: the next look finds it gone.
    let flushed = |now: Instant, a: &Action| match a {
        Action::CheckOwnership { id, addresses }
            if now >= at_ms(30_000) && now < at_ms(30_000) + cfg.network.checktime =>
        {
            Some((
                Duration::ZERO,
                Input::OwnershipDone {
                    id: *id,
                    missing: addresses.clone(),
                },
            ))
        }
        other => healthy_world(now, other),
    };
    let seen = drive(&mut node, Instant::ZERO, at_ms(60_000), flushed);
    let claims: Vec<u64> = seen
        .iter()
        .filter(|(_, a)| matches!(a, Action::ClaimAddresses { .. }))
        .map(|(t, _)| t.as_millis())
        .collect();
    assert_eq!(claims.len(), 2, "the takeover and one re-claim: {claims:?}");
    assert!((30_000..30_000 + 10_000).contains(&claims[1]), "{claims:?}");
    assert!(seen
        .iter()
        .any(|(t, a)| t.as_millis() == claims[1] && matches!(a, Action::Announce { .. })));
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::FailureAction { .. })));
    assert_eq!(node.role(), Role::Active);
}

#[test]
fn the_passive_asks_the_active_beside_its_rechecks_and_declines_when_it_is_healthy() {
    let mut cfg = config(PolicyMode::Improved);
    cfg.sendconfig.as_mut().expect("a sync link").peerlink.key =
        Some(crate::config::PeerKey::Inline(
            crate::peer::Key::from_hex("00112233445566778899aabbccddeeff").expect("hex"),
        ));
    // The active answers healthy until 100 s, then not at all (powered off).
    let world = |now: Instant, a: &Action| match a {
        Action::AskPeer {
            id,
            timeout,
            testips,
            ..
        } => Some(if now < at_ms(100_000) {
            (
                Duration::from_millis(5),
                Input::PeerAnswer {
                    id: *id,
                    answer: Some(PeerReport {
                        role: Role::Active,
                        reached: vec![true; testips.len()],
                    }),
                },
            )
        } else {
            (
                *timeout,
                Input::PeerAnswer {
                    id: *id,
                    answer: None,
                },
            )
        }),
        other => silent_world(now, other),
    };
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(140_000), world);
    let at = |pick: fn(&Action) -> bool| -> Vec<u64> {
        seen.iter()
            .filter(|(_, a)| pick(a))
            .map(|(t, _)| t.as_millis())
            .collect()
    };
    let asked = at(|a| matches!(a, Action::AskPeer { .. }));
    let claims = at(|a| matches!(a, Action::ClaimAddresses { .. }));
    let alerts = at(|a| matches!(a, Action::Alert(_)));
    // Asked once per streak, from the first unanswered check (at 2 s), not at its end.
    assert_eq!(asked.first(), Some(&2_000), "{asked:?}");
    let declined = alerts.iter().filter(|&&t| t < 100_000).count();
    assert_eq!(
        declined, 1,
        "one alert for the declined takeovers: {alerts:?}"
    );
    // After 100 s the active is gone: the takeover follows within the passive's bound plus the
    // question's own timeout at most.
    assert_eq!(claims.len(), 1, "{claims:?}");
    let n = &cfg.network;
    let bound = n.checktime + n.timeout * n.activeretries + peer_check_timeout(&cfg);
    assert!(
        Duration::from_millis(claims[0] - 100_000) <= bound + n.checktime,
        "{claims:?}"
    );
}

#[test]
fn classic_reboots_with_fastdown_releasing_first() {
    let cfg = config(PolicyMode::Classic);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(120_000), silent_world);
    let kinds: Vec<&str> = seen
        .iter()
        .filter_map(|(_, a)| match a {
            Action::ReleaseAddresses { .. } => Some("release"),
            Action::RecordFailover { .. } => Some("record"),
            Action::FailureAction {
                command: FailureCommand::Reboot,
                ..
            } => Some("reboot"),
            Action::AskPeer { .. } | Action::PingPeer { .. } => Some("checkpeer"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec!["record", "release", "reboot"]);
    assert_eq!(node.role(), Role::Failed);
    assert_eq!(node.poll_timeout(), None);
}

const OWN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 5];

/// The silent world, plus a station answering every conflict check for every target with
/// `rival_mac` after 100 ms while `rival(now)` holds.
fn rival_world(
    rival_mac: [u8; 6],
    rival: impl Fn(Instant) -> bool,
) -> impl FnMut(Instant, &Action) -> Option<(Duration, Input)> {
    move |now, a| match a {
        Action::ConflictCheck { id, targets, .. } => {
            let rivals = if rival(now) {
                targets
                    .iter()
                    .map(|t| Rival {
                        device: t.device.clone(),
                        address: t.address,
                        rival_mac,
                        own_mac: OWN_MAC,
                    })
                    .collect()
            } else {
                vec![]
            };
            Some((
                Duration::from_millis(100),
                Input::ConflictDone { id: *id, rivals },
            ))
        }
        other => silent_world(now, other),
    }
}

fn times(seen: &[(Instant, Action)], pick: fn(&Action) -> bool) -> Vec<u64> {
    seen.iter()
        .filter(|(_, a)| pick(a))
        .map(|(t, _)| t.as_millis())
        .collect()
}

#[test]
fn the_lower_mac_keeps_the_addresses_and_announces_again_until_the_rival_is_gone() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    // Takeover at 12 s (the stagger); a rival with a higher MAC answers until 31 s.
    let world = rival_world([2, 0, 0, 0, 0, 9], |now| now < at_ms(31_000));
    let seen = drive(&mut node, Instant::ZERO, at_ms(45_000), world);
    // Every checktime while active, from check to check.
    assert_eq!(
        times(&seen, |a| matches!(a, Action::ConflictCheck { .. })),
        vec![22_000, 32_000, 42_000]
    );
    // The takeover burst; the rival seen at 22.1 s: a new burst; gone at 32.1 s: one more.
    assert_eq!(
        times(&seen, |a| matches!(a, Action::Announce { .. })),
        vec![12_000, 13_000, 14_000, 22_100, 23_100, 24_100, 32_100, 33_100, 34_100]
    );
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::ReleaseAddresses { .. })));
    assert_eq!(node.role(), Role::Active);
    let logged = node.status().recent;
    assert!(
        logged.iter().any(|d| d.at == at_ms(22_100)
            && d.reason.contains("02:00:00:00:00:09")
            && d.reason.contains("02:00:00:00:00:05")
            && d.reason.contains("keeping")),
        "{logged:#?}"
    );
    // Conflict checks take ids from the same sequence as the monitor's requests.
    let mut ids: Vec<RequestId> = seen
        .iter()
        .filter_map(|(_, a)| match a {
            Action::ConflictCheck { id, .. }
            | Action::ArpCheck { id, .. }
            | Action::Probe { id, .. }
            | Action::SampleCounters { id, .. }
            | Action::AskPeer { id, .. }
            | Action::PingPeer { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "request ids repeat");
}

#[test]
fn the_higher_mac_yields_without_a_failure_action_and_waits_the_demote_holdoff() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let world = rival_world([2, 0, 0, 0, 0, 1], |_| true);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), world);
    assert_eq!(
        times(&seen, |a| matches!(a, Action::ConflictCheck { .. })),
        vec![22_000],
        "no more conflict checks once passive"
    );
    assert_eq!(
        times(&seen, |a| matches!(a, Action::ReleaseAddresses { .. })),
        vec![22_100]
    );
    assert!(!seen.iter().any(|(_, a)| matches!(
        a,
        Action::RecordFailover { .. } | Action::FailureAction { .. }
    )));
    assert_eq!(node.role(), Role::Passive);
    // Demote hold-off: checktime × 2 + timeout × (activeretries + 1) = 28 s.
    let passive = node.status().passive.expect("passive");
    assert_eq!(passive.not_before_at, Some(at_ms(50_100)));
    assert!(node.status().recent.iter().any(|d| d.at == at_ms(22_100)
        && d.reason.contains("yielding to 02:00:00:00:00:01")
        && d.reason.contains("02:00:00:00:00:05")));
}

#[test]
fn stale_unanswered_and_own_mac_conflict_answers_change_nothing() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    // A shell that never answers conflict checks: each counts as unanswered after
    // timeout + ANSWER_GRACE (25 s), and the next still goes out a checktime after the last.
    let seen = drive(&mut node, Instant::ZERO, at_ms(43_000), silent_world);
    assert_eq!(
        times(&seen, |a| matches!(a, Action::ConflictCheck { .. })),
        vec![22_000, 32_000, 42_000]
    );
    let Some((_, Action::ConflictCheck { id, targets, .. })) = seen
        .iter()
        .rev()
        .find(|(_, a)| matches!(a, Action::ConflictCheck { .. }))
    else {
        panic!("no conflict check")
    };
    let rival = |mac: [u8; 6]| Rival {
        device: targets[0].device.clone(),
        address: targets[0].address,
        rival_mac: mac,
        own_mac: OWN_MAC,
    };
    // A stale id with a lower-MAC rival is ignored.
    node.handle(
        at_ms(42_050),
        Input::ConflictDone {
            id: RequestId(id.0 + 100),
            rivals: vec![rival([0; 6])],
        },
    );
    // Our own reply (the rival MAC is ours) is no rival.
    node.handle(
        at_ms(42_100),
        Input::ConflictDone {
            id: *id,
            rivals: vec![rival(OWN_MAC)],
        },
    );
    let after: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert!(
        !after
            .iter()
            .any(|a| matches!(a, Action::ReleaseAddresses { .. } | Action::Announce { .. })),
        "{after:?}"
    );
    assert_eq!(node.role(), Role::Active);
    assert_eq!(node.timers.get(NodeTimer::Conflict), Some(at_ms(52_000)));
}

#[test]
fn stop_releases_the_addresses_when_active() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    drive(&mut node, Instant::ZERO, at_ms(13_000), silent_world);
    assert_eq!(node.role(), Role::Active);
    node.handle(at_ms(13_000), Input::Stop);
    let actions: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::ReleaseAddresses { remove, .. } if remove.len() == 1)));
    assert_eq!(node.role(), Role::Stopped);
}

#[test]
fn announcements_are_refreshed_every_garprefresh_while_active_and_not_without_it() {
    // Everything answers: the node takes over, stays active and healthy.
    let announces_between = |refresh: Option<Duration>| {
        let mut cfg = config(PolicyMode::Improved);
        cfg.policy.garprefresh = refresh;
        let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
        let seen = drive(&mut node, Instant::ZERO, at_ms(80_000), healthy_world);
        assert_eq!(node.role(), Role::Active);
        seen.iter()
            .filter(|(t, a)| *t >= at_ms(40_000) && matches!(a, Action::Announce { .. }))
            .count()
    };
    // 40 s of being active with a 5 s refresh: 8 refreshes (one may fall on an edge).
    let refreshed = announces_between(Some(Duration::from_secs(5)));
    assert!((7..=9).contains(&refreshed), "{refreshed}");
    assert_eq!(announces_between(None), 0);
}

/// The config with the peer protocol's key: the core then asks the peer before pinging it.
fn keyed(mut cfg: Config) -> Config {
    cfg.sendconfig.as_mut().expect("a sync link").peerlink.key =
        Some(crate::config::PeerKey::Inline(
            crate::peer::Key::from_hex("00112233445566778899aabbccddeeff").expect("hex"),
        ));
    cfg
}

/// The peer-check actions of a run, in order, as short names.
fn peer_steps(seen: &[(Instant, Action)]) -> Vec<&'static str> {
    seen.iter()
        .skip_while(|(_, a)| !matches!(a, Action::ClaimAddresses { .. }))
        .filter_map(|(_, a)| match a {
            Action::AskPeer { .. } => Some("ask"),
            Action::PingPeer { .. } => Some("ping"),
            Action::FailureAction { .. } => Some("act"),
            Action::Alert(_) => Some("alert"),
            _ => None,
        })
        .take(4)
        .collect()
}

#[test]
fn peer_policy_unanswered_question_then_two_echoes_then_hold() {
    // Regression (issue 7): the peer policy lived in the shell. The core now asks, pings twice
    // (one lost echo must not hold a real failover) and holds when nothing answers.
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), silent_world);
    assert_eq!(peer_steps(&seen), vec!["ask", "ping", "ping", "alert"]);
    assert_eq!(
        node.status().holding.as_deref(),
        Some("the peer is down (requirepeer)")
    );
}

#[test]
fn peer_policy_one_lost_echo_does_not_hold_the_failover() {
    let cfg = config(PolicyMode::Improved);
    let mut pings = 0;
    let world = |now: Instant, a: &Action| match a {
        Action::PingPeer { id, target, .. } => {
            pings += 1;
            let rtt = (pings % 2 == 0).then_some(Duration::from_millis(1));
            Some((
                Duration::from_millis(1),
                probe_done(*id, std::slice::from_ref(target), |_| rtt),
            ))
        }
        other => silent_world(now, other),
    };
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), world);
    // Without a key there is no question: the echoes alone decide.
    assert_eq!(peer_steps(&seen)[..3], ["ping", "ping", "act"]);
}

#[test]
fn peer_policy_without_a_peerip_the_peer_counts_as_alive() {
    let mut cfg = config(PolicyMode::Improved);
    cfg.sendconfig.as_mut().expect("a sync link").peerip = None;
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), silent_world);
    assert_eq!(peer_steps(&seen)[..1], ["act"]);
    assert!(node
        .status()
        .recent
        .iter()
        .any(|d| d.reason.contains("no [sendconfig] peerip")));
}

#[test]
fn peer_policy_the_failed_channel_travels_in_the_action() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), peer_reaches);
    let channel = seen.iter().find_map(|(_, a)| match a {
        Action::FailureAction { channel, .. } => Some(channel.clone()),
        _ => None,
    });
    assert_eq!(channel.as_deref(), Some("if-1"));
}

/// Regression (a lab run): the protected server came back between the active's last counted probe
/// and the peer's probe. The peer reached it, the active's count was stale, and the pair failed over
/// for a server's maintenance. The active now probes the channel again beside the question.
#[test]
fn peer_policy_a_test_host_back_as_the_peer_reaches_it_is_no_failover() {
    let cfg = keyed(config(PolicyMode::Improved));
    // The server is down for the active's three counted probes and back for any after them.
    let (mut active, mut probes, mut asked) = (false, 0, false);
    let world = |now: Instant, a: &Action| {
        active |= matches!(a, Action::ClaimAddresses { .. });
        if active && matches!(a, Action::Probe { .. }) {
            probes += 1;
        }
        asked |= active && matches!(a, Action::AskPeer { .. });
        if probes > 3 && matches!(a, Action::Probe { .. }) {
            healthy_world(now, a)
        } else {
            peer_reaches(now, a)
        }
    };
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), world);
    assert!(asked, "the failure never reached the peer check");
    assert!(
        !seen
            .iter()
            .any(|(_, a)| matches!(a, Action::FailureAction { .. })),
        "{:?}",
        node.status().recent
    );
    assert_eq!(node.role(), Role::Active);
    let recent = node.status().recent;
    assert!(
        recent
            .iter()
            .any(|d| d.reason.contains("answer this node again")),
        "{recent:#?}"
    );
}

#[test]
fn peer_policy_a_quick_yes_from_the_peer_waits_for_the_recheck() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), peer_reaches);
    let at = |pick: fn(&Action) -> bool| {
        seen.iter()
            .skip_while(|(_, a)| !matches!(a, Action::ClaimAddresses { .. }))
            .find(|(_, a)| pick(a))
            .map(|(t, _)| *t)
    };
    let asked = at(|a| matches!(a, Action::AskPeer { .. })).expect("asked");
    let acted = at(|a| matches!(a, Action::FailureAction { .. })).expect("acted");
    // The peer says yes after 10 ms; the recheck of the dead channel times out after `timeout`.
    assert_eq!(acted - asked, cfg.network.timeout);
}

#[test]
fn the_takeover_burst_is_exactly_garpcount_announcements() {
    // Regression (issue 10, item 14): the first look for a rival started a fresh burst.
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(60_000), healthy_world);
    let n = seen
        .iter()
        .filter(|(_, a)| matches!(a, Action::Announce { .. }))
        .count();
    assert_eq!(n, cfg.policy.garpcount as usize);
    let mut cfg = cfg;
    cfg.policy.garpcount = 0;
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(60_000), healthy_world);
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::Announce { .. })));
}

#[test]
fn a_reload_keeps_role_holdoff_ids_and_counters_and_reruns_no_hook() {
    let mut cfg = config(PolicyMode::Improved);
    cfg.policy.up = Some("true".into());
    cfg.policy.down = Some("true".into());
    cfg.channels[0].checkonlyidle = false;
    // Active with one unanswered probe on its channel.
    let mut node = Node::with_scope(&cfg, Instant::ZERO, vec![], Scope::Service);
    node.take_over(Instant::ZERO, TakeoverReason::RunActive, "test");
    let probe = std::iter::from_fn(|| node.poll_action())
        .find_map(|a| match a {
            Action::Probe { id, targets, .. } => Some((id, targets)),
            _ => None,
        })
        .expect("the first round probes");
    node.handle(at_ms(2_000), probe_done(probe.0, &probe.1, |_| None));
    let before: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert_eq!(node.status().channels[0].failures, 1);
    let next_id = before
        .iter()
        .find_map(|a| match a {
            Action::Probe { id, .. } => Some(*id),
            _ => None,
        })
        .expect("re-probed at once");

    // Reload: a second channel and another hook command; the first channel unchanged.
    let mut new = cfg.clone();
    new.channels
        .push(crate::core::testkit::channel("if-2", 2, &[], true));
    new.channels[1].testips = vec![std::net::Ipv4Addr::new(192, 168, 2, 1).into()];
    new.policy.up = Some("echo up".into());
    node.reconfigure(at_ms(2_100), &new);
    let after: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert_eq!(node.role(), Role::Active);
    let st = node.status();
    assert_eq!(
        st.channels[0].failures, 1,
        "the unchanged channel keeps its counter"
    );
    assert_eq!(st.channels[1].failures, 0);
    let hooks: Vec<&str> = after
        .iter()
        .filter_map(|a| match a {
            Action::RunHook { channel, .. } => Some(channel.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        hooks,
        vec!["if-2"],
        "no hook again for the unchanged channel"
    );
    assert!(after.iter().any(|a| matches!(a,
        Action::ClaimAddresses { add, .. } if add.len() == 1 && add[0].device == "eth2")));
    assert!(!after
        .iter()
        .any(|a| matches!(a, Action::ReleaseAddresses { .. })));
    // Request ids go on from where they were.
    node.handle_timeout(at_ms(2_100));
    let ids: Vec<RequestId> = std::iter::from_fn(|| node.poll_action())
        .filter_map(|a| match a {
            Action::Probe { id, .. } | Action::SampleCounters { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert!(
        ids.iter().all(|id| *id > next_id),
        "{ids:?} after {next_id}"
    );

    // Dropping the channel again releases its address and runs its down hook only.
    node.reconfigure(at_ms(3_000), &cfg);
    let after: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert!(after.iter().any(|a| matches!(a,
        Action::ReleaseAddresses { remove, .. } if remove.len() == 1 && remove[0].device == "eth2")));
    assert_eq!(node.status().channels.len(), 1);
}

/// Found by testing: changing only a channel's testip removed and re-added its activeip (3 ms
/// without it) and ran its down and up hooks. The address stays; only the checks change.
#[test]
fn a_reload_that_changes_only_the_test_hosts_keeps_the_address_and_runs_no_hook() {
    let mut cfg = config(PolicyMode::Improved);
    cfg.channels[0].checkonlyidle = false;
    cfg.policy.up = Some("true".into());
    cfg.policy.down = Some("true".into());
    let mut node = Node::with_scope(&cfg, Instant::ZERO, vec![], Scope::Service);
    node.take_over(Instant::ZERO, TakeoverReason::RunActive, "test");
    let _: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    let mut new = cfg.clone();
    new.channels[0].testips = vec![std::net::Ipv4Addr::new(192, 0, 2, 99).into()];
    node.reconfigure(at_ms(1_000), &new);
    let after: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert_eq!(node.role(), Role::Active);
    assert!(
        !after.iter().any(|a| matches!(
            a,
            Action::ReleaseAddresses { .. }
                | Action::ClaimAddresses { .. }
                | Action::RunHook { .. }
        )),
        "{after:?}"
    );
    // A later round probes the new test host.
    let seen = drive(&mut node, at_ms(1_000), at_ms(60_000), healthy_world);
    let probed: Vec<std::net::IpAddr> = seen
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Probe { targets, .. } => Some(targets.clone()),
            _ => None,
        })
        .flatten()
        .map(|t| t.target)
        .collect();
    assert!(
        probed.contains(&std::net::Ipv4Addr::new(192, 0, 2, 99).into()),
        "{probed:?}"
    );
}

#[test]
fn a_reload_keeps_a_passive_hold_off() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let not_before = node.status().passive.expect("passive").not_before_at;
    assert!(not_before.is_some());
    let mut new = cfg.clone();
    new.policy.maxfailovers = 7;
    node.reconfigure(at_ms(1_000), &new);
    assert_eq!(node.role(), Role::Passive);
    assert_eq!(
        node.status().passive.expect("passive").not_before_at,
        not_before
    );
}

fn fit_config() -> Config {
    let mut cfg = config(PolicyMode::Improved);
    cfg.policy.requirefit = true;
    cfg
}

/// Issue 8: a node whose link is dead saw "nobody answers" and took the activeips after its
/// hold-off, beside the peer. Without carrier it never claims, says why once and keeps judging.
#[test]
fn regression_issue_8_no_takeover_without_carrier() {
    let cfg = fit_config();
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    node.handle(
        Instant::ZERO,
        Input::Carrier {
            device: "eth1".into(),
            up: false,
        },
    );
    let seen = drive(&mut node, Instant::ZERO, at_ms(120_000), healthy_world);
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::ClaimAddresses { .. })));
    let alerts: Vec<&Action> = seen
        .iter()
        .map(|(_, a)| a)
        .filter(|a| matches!(a, Action::Alert(d) if d.reason.contains("no carrier on eth1")))
        .collect();
    assert_eq!(alerts.len(), 1, "said once");
    assert_eq!(node.role(), Role::Passive);
    assert!(node.status().unfit.is_some_and(|u| u.contains("eth1")));
    // Carrier back: the next judgement finds it fit and it takes over (nobody answers ARP).
    node.handle(
        at_ms(120_000),
        Input::Carrier {
            device: "eth1".into(),
            up: true,
        },
    );
    drive(&mut node, at_ms(120_000), at_ms(200_000), healthy_world);
    assert_eq!(node.role(), Role::Active);
}

/// Issue 8: a silent link (carrier up) gives no answer from the node's own test hosts: no takeover.
#[test]
fn regression_issue_8_no_takeover_when_its_own_test_hosts_are_silent() {
    let cfg = fit_config();
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(120_000), silent_world);
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::ClaimAddresses { .. })));
    assert_eq!(node.role(), Role::Passive);
}

/// Issue 8: an activeip added on the passive's host while the active (lower MAC) holds it: the
/// passive notices within a checktime and releases it, instead of leaving the active re-announcing.
#[test]
fn regression_issue_8_the_passive_releases_an_activeip_its_host_should_not_hold() {
    let cfg = fit_config();
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let world = |_: Instant, a: &Action| match a {
        Action::ArpCheck {
            id,
            targets,
            timeout,
            ..
        } => Some((
            *timeout,
            arp_done(*id, targets, |_| Some([2, 0, 0, 0, 0, 1])),
        )),
        Action::CheckOwnership { id, .. } => Some((
            Duration::ZERO,
            Input::OwnershipDone {
                id: *id,
                missing: vec![],
            },
        )),
        Action::ConflictCheck { id, targets, .. } => Some((
            Duration::ZERO,
            Input::ConflictDone {
                id: *id,
                rivals: targets
                    .iter()
                    .map(|t| crate::core::observe::Rival {
                        device: t.device.clone(),
                        address: t.address,
                        rival_mac: [2, 0, 0, 0, 0, 1],
                        own_mac: [2, 0, 0, 0, 0, 9],
                    })
                    .collect(),
            },
        )),
        other => healthy_world(Instant::ZERO, other),
    };
    let seen = drive(&mut node, Instant::ZERO, at_ms(15_000), world);
    let released: Vec<u64> = seen
        .iter()
        .filter(|(_, a)| matches!(a, Action::ReleaseAddresses { .. }))
        .map(|(t, _)| t.as_millis())
        .collect();
    assert!(
        !released.is_empty() && released[0] <= 10_000,
        "{released:?}"
    );
    assert_eq!(node.role(), Role::Passive);
}

fn drain_actions(node: &mut Node) -> Vec<Action> {
    std::iter::from_fn(|| node.poll_action()).collect()
}

fn beat(role: crate::peer::Role, fit: bool, epoch: u64) -> Input {
    Input::PeerHeartbeat(crate::peer::Heartbeat {
        role,
        fit,
        epoch,
        channels: vec![true; 2],
    })
}

/// Issue 9: a fit passive claims at once on an authentic release notice; an unfit one (carrier
/// lost on a channel device) does not, and is fit again when the carrier returns.
#[test]
fn a_release_notice_is_taken_over_at_once_only_when_fit() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let _ = drain_actions(&mut node);
    let dev = cfg.channels[0].device.clone();
    node.handle(
        at_ms(10),
        Input::Carrier {
            device: dev.clone(),
            up: false,
        },
    );
    let sent = drain_actions(&mut node);
    assert!(
        sent.iter()
            .any(|a| matches!(a, Action::SendHeartbeat(h) if !h.fit)),
        "the peer hears of the lost fitness at once: {sent:?}"
    );
    let notice = crate::peer::Notice {
        epoch: 0,
        reason: crate::peer::NoticeReason::Stop,
    };
    node.handle(at_ms(20), Input::ReleaseNotice(notice));
    assert_eq!(node.role(), Role::Passive, "an unfit passive took over");
    node.handle(
        at_ms(30),
        Input::Carrier {
            device: dev,
            up: true,
        },
    );
    node.handle(at_ms(40), Input::ReleaseNotice(notice));
    assert_eq!(node.role(), Role::Active);
    let acts = drain_actions(&mut node);
    let claim = acts
        .iter()
        .position(|a| matches!(a, Action::ClaimAddresses { .. }));
    let hb = acts
        .iter()
        .position(|a| matches!(a, Action::SendHeartbeat(h) if h.epoch == 1));
    assert!(
        claim.is_some() && hb > claim,
        "claim, then a heartbeat of the new epoch: {acts:?}"
    );
}

/// Found by testing: a handover soon after the passive started (before any heartbeat of the
/// active reached it) reported failure although the peer took over. The active was at epoch 1 (its
/// own takeover at start), the passive took over at 0 + 1 = 1, and the active waited for a heartbeat
/// of an epoch above 1. The notice's epoch now counts: the takeover is at 2.
#[test]
fn a_takeover_on_a_notice_is_above_the_notices_epoch_without_any_heartbeat() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let _ = drain_actions(&mut node);
    let notice = crate::peer::Notice {
        epoch: 1,
        reason: crate::peer::NoticeReason::Handover,
    };
    node.handle(at_ms(20), Input::ReleaseNotice(notice));
    assert_eq!(node.role(), Role::Active);
    let acts = drain_actions(&mut node);
    let epochs: Vec<u64> = acts
        .iter()
        .filter_map(|a| match a {
            Action::SendHeartbeat(h) => Some(h.epoch),
            _ => None,
        })
        .collect();
    assert_eq!(epochs, vec![2], "{acts:?}");
}

/// Issue 9: heartbeats that stop are logged as evidence and never decide a takeover by themselves.
#[test]
fn lost_heartbeats_alone_never_take_over() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    node.handle(at_ms(1), beat(crate::peer::Role::Active, true, 3));
    let _ = drain_actions(&mut node);
    // Only timers pass: no ARP answers are fed, so the passive monitor stays waiting on its check.
    let later = at_ms(1) + cfg.network.synctime * 4;
    node.handle_timeout(later);
    let acts = drain_actions(&mut node);
    assert!(
        acts.iter().any(
            |a| matches!(a, Action::Log(d) if d.reason.contains("no heartbeat from the peer"))
        ),
        "{acts:?}"
    );
    assert!(!acts
        .iter()
        .any(|a| matches!(a, Action::ClaimAddresses { .. })));
    assert_eq!(node.status().heartbeat.map(|h| h.lost), Some(true));
}

/// Issue 9: a handover asked of an active whose peer refuses (not fit) changes nothing.
#[test]
fn a_refused_handover_changes_nothing() {
    let cfg = keyed(config(PolicyMode::Improved));
    let mut node = Node::resume_active(&cfg, Instant::ZERO, vec![]);
    let _ = drain_actions(&mut node);
    node.handle(
        at_ms(5),
        Input::HandoverRequest {
            client: 7,
            timeout: Duration::from_secs(1),
        },
    );
    let acts = drain_actions(&mut node);
    let request = acts
        .iter()
        .find_map(|a| match a {
            Action::SendHandover(crate::core::action::HandoverMessage::Ask(ask)) => {
                Some(ask.request)
            }
            _ => None,
        })
        .expect("the peer is asked");
    node.handle(
        at_ms(6),
        Input::PeerHandover(crate::core::action::HandoverMessage::Reply(
            crate::peer::HandoverReply {
                request,
                refusal: Some(crate::peer::Refusal::NotFit),
            },
        )),
    );
    let acts = drain_actions(&mut node);
    assert_eq!(node.role(), Role::Active);
    assert!(!acts
        .iter()
        .any(|a| matches!(a, Action::ReleaseAddresses { .. })));
    assert!(acts.iter().any(
        |a| matches!(a, Action::HandoverDone { client: 7, ok: false, message } if message.contains("not fit"))
    ));
}

/// Issue 9 regression: the heartbeat timer kept `run-passive` from ending after its takeover.
#[test]
fn run_passive_with_heartbeats_still_ends_after_its_takeover() {
    let mut cfg = keyed(config(PolicyMode::Improved));
    cfg.network.synctime = Duration::from_secs(3600);
    let mut node = Node::with_scope(&cfg, Instant::ZERO, vec![], Scope::PassiveOnly);
    let mut now = Instant::ZERO;
    for _ in 0..10_000 {
        for a in drain_actions(&mut node) {
            if let Action::ArpCheck { id, targets, .. } = a {
                node.handle(now, arp_done(id, &targets, |_| None));
            }
        }
        let Some(t) = node.poll_timeout() else { break };
        now = t.max(now);
        node.handle_timeout(now);
    }
    assert_eq!(node.role(), Role::Active);
    assert!(
        node.is_done(),
        "still waiting for {:?}",
        node.poll_timeout()
    );
    // Done with its burst, not a synctime (an hour here) later.
    assert!(now < at_ms(3_600_000), "ended at {now}");
}

/// A world whose rival (`rival_mac`) announces the activeips once at 16 s (seen as a foreign
/// claim) and answers conflict checks while `present`.
fn claim_world(
    rival_mac: [u8; 6],
    present: impl Fn(Instant) -> bool,
) -> impl FnMut(Instant, &Action) -> Option<(Duration, Input)> {
    let mut conflicts = rival_world(rival_mac, present);
    move |now, a| match a {
        // The last announcement of the takeover burst (14 s) schedules the rival's claim at 16 s.
        Action::Announce { addresses } if now == at_ms(14_000) => Some((
            Duration::from_millis(2_000),
            Input::ForeignClaim(Rival {
                device: addresses[0].device.clone(),
                address: addresses[0].address,
                rival_mac,
                own_mac: OWN_MAC,
            }),
        )),
        other => conflicts(now, other),
    }
}

/// Issue 14: the passive's host announced the address and withdrew it again (a false takeover
/// undone). The keeper (lower MAC) announces at once on the claim, looks for a live rival at once,
/// and announces once more when none answers, instead of waiting for its next checktime while the
/// neighbours send to the wrong MAC.
#[test]
fn an_undone_takeover_is_healed_at_once_by_the_keeper() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let world = claim_world([2, 0, 0, 0, 0, 9], |_| false);
    let seen = drive(&mut node, Instant::ZERO, at_ms(27_000), world);
    assert_eq!(
        times(&seen, |a| matches!(a, Action::Announce { .. })),
        vec![12_000, 13_000, 14_000, 16_000, 16_100, 17_100, 18_100]
    );
    // The confirming look runs at once; the period then counts from it.
    assert_eq!(
        times(&seen, |a| matches!(a, Action::ConflictCheck { .. })),
        vec![16_000, 26_000]
    );
    assert_eq!(node.role(), Role::Active);
}

/// Issue 14: with the higher MAC the node does not yield to a claim alone (the claimant may have
/// withdrawn already: yielding to nobody leaves nobody); it looks at once and, the rival gone,
/// announces again.
#[test]
fn a_claim_from_a_lower_mac_is_confirmed_before_anything_is_given_up() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let world = claim_world([2, 0, 0, 0, 0, 1], |_| false);
    let seen = drive(&mut node, Instant::ZERO, at_ms(20_000), world);
    assert_eq!(
        times(&seen, |a| matches!(a, Action::Announce { .. })),
        vec![12_000, 13_000, 14_000, 16_100, 17_100, 18_100]
    );
    assert_eq!(node.role(), Role::Active);
    assert!(!seen
        .iter()
        .any(|(_, a)| matches!(a, Action::ReleaseAddresses { .. })));
}

/// Issue 14: a live rival with the lower MAC, confirmed at once, wins: this node yields at once
/// (not at its next checktime) and tells the keeper over the sync link.
#[test]
fn a_confirmed_rival_wins_at_once_and_the_yield_is_told_to_the_peer() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let world = claim_world([2, 0, 0, 0, 0, 1], |now| now >= at_ms(15_000));
    let seen = drive(&mut node, Instant::ZERO, at_ms(20_000), world);
    assert_eq!(
        times(&seen, |a| matches!(a, Action::ReleaseAddresses { .. })),
        vec![16_100]
    );
    let told: Vec<_> = seen
        .iter()
        .filter_map(|(t, a)| match a {
            Action::NotifyYielded { keeper_mac } => Some((t.as_millis(), *keeper_mac)),
            _ => None,
        })
        .collect();
    assert_eq!(told, vec![(16_100, [2, 0, 0, 0, 0, 1])]);
    assert_eq!(node.role(), Role::Passive);
}

/// Issue 14: the peer's yield notice makes the active announce again at once; a passive ignores it.
#[test]
fn the_peers_yield_notice_makes_the_keeper_announce() {
    let cfg = config(PolicyMode::Improved);
    let mut passive = Node::new(&cfg, Instant::ZERO, vec![]);
    passive.handle(
        at_ms(1),
        Input::PeerYielded {
            keeper_mac: OWN_MAC,
        },
    );
    assert!(
        std::iter::from_fn(|| passive.poll_action()).all(|a| !matches!(a, Action::Announce { .. }))
    );
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let _ = drive(&mut node, Instant::ZERO, at_ms(15_000), silent_world);
    assert_eq!(node.role(), Role::Active);
    node.handle(
        at_ms(15_000),
        Input::PeerYielded {
            keeper_mac: OWN_MAC,
        },
    );
    let actions: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert!(
        actions.iter().any(|a| matches!(a, Action::Announce { .. })),
        "{actions:#?}"
    );
}

/// Issue 14: a passive whose ARP checks fail while the active's authentic heartbeats keep saying
/// "active, healthy" holds its takeover (the loss is on the path); once the heartbeats stop, a dead
/// active is taken over within the source document's bound from the last heartbeat.
#[test]
fn a_fresh_healthy_heartbeat_holds_the_takeover_and_its_absence_does_not() {
    let mut cfg = keyed(config(PolicyMode::Improved));
    cfg.network.synctime = cfg.network.checktime;
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let period = cfg.network.synctime;
    let beats_end = at_ms(30_000);
    let mut now = Instant::ZERO;
    let mut last_beat: Option<Instant> = None;
    let mut took_at = None;
    while now <= at_ms(200_000) && took_at.is_none() {
        if now < beats_end && last_beat.is_none_or(|b| now >= b + period) {
            node.handle(now, beat(crate::peer::Role::Active, true, 1));
            last_beat = Some(now);
        }
        for a in drain_actions(&mut node) {
            match a {
                // Nobody answers ARP (the path loses it); the node's own test hosts answer.
                Action::ArpCheck { id, targets, .. } => {
                    node.handle(now, arp_done(id, &targets, |_| None))
                }
                Action::Probe { id, targets, .. } => node.handle(
                    now,
                    probe_done(id, &targets, |_| Some(Duration::from_millis(1))),
                ),
                Action::ClaimAddresses { .. } => took_at = Some(now),
                _ => {}
            }
        }
        let beat_due = last_beat.map(|b| b + period).filter(|&t| t < beats_end);
        let Some(next) = [node.poll_timeout(), beat_due].into_iter().flatten().min() else {
            break;
        };
        now = next.max(now);
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        }
    }
    let took = took_at.expect("taken over once the heartbeats stopped");
    assert!(
        took > beats_end,
        "took over at {took} while the heartbeats came"
    );
    let bound = cfg.network.synctime
        + cfg.network.timeout
        + crate::core::timing::passive_detection(&cfg.network) * 2;
    assert!(
        took <= beats_end + bound,
        "took over at {took} (bound {bound:?} after the last heartbeat)"
    );
}

// --- per-channel service checks (`[channel] check=`) -------------------------------------------

/// Two channels (if-1 with test host .1.1, if-2 with .2.1), the peer key, `[policy] check=` and
/// if-2's own `check=`.
fn two_checked_channels() -> Config {
    let mut cfg = config(PolicyMode::Improved);
    cfg.channels.push(crate::core::testkit::channel(
        "if-2",
        2,
        &[std::net::Ipv4Addr::new(192, 168, 2, 1).into()],
        true,
    ));
    cfg.channels[1].check = Some("check-if-2".into());
    cfg.policy.check = Some("check-node".into());
    if let Some(s) = cfg.sendconfig.as_mut() {
        s.peerlink.key = Some(crate::config::PeerKey::Inline(
            crate::peer::Key::from_hex("73696d756c61746564206b6579000000")
                .expect("a valid hex key"),
        ));
    }
    cfg
}

/// No active answers (so the node takes over), the test hosts answer, the addresses stay; the
/// service checks answer after 5 ms: the node's passes, if-2's fails.
fn if2_check_fails(now: Instant, a: &Action) -> Option<(Duration, Input)> {
    match a {
        Action::RunCheck { id, command, .. } => Some((
            Duration::from_millis(5),
            Input::CheckDone {
                id: *id,
                outcome: if command == "check-if-2" {
                    Err("exit status 1".into())
                } else {
                    Ok(())
                },
            },
        )),
        other => healthy_world(now, other),
    }
}

#[test]
fn a_channels_failing_service_check_is_that_channels_failure_asked_with_its_test_hosts() {
    let cfg = two_checked_channels();
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(120_000), if2_check_fails);
    let logs: Vec<&Decision> = seen
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Log(d) => Some(d),
            _ => None,
        })
        .collect();
    let said = |s: &str| logs.iter().find(|d| d.reason.contains(s)).copied();
    let third = said("service check of channel if-2 failed (3/3)")
        .unwrap_or_else(|| panic!("no third failure of if-2's check: {logs:#?}"));
    assert_eq!(third.channel.as_deref(), Some("if-2"));
    assert!(said("a failure of channel if-2").is_some(), "{logs:#?}");
    // The node's own check passes: it never fails the node.
    assert!(said("service check failed").is_none(), "{logs:#?}");
    assert!(said("a failure of the node").is_none(), "{logs:#?}");
    // requirepeer then asks the peer about if-2 with if-2's test hosts, not the first channel's.
    let failed_at = seen
        .iter()
        .find(
            |(_, a)| matches!(a, Action::Log(d) if d.reason.contains("a failure of channel if-2")),
        )
        .map(|(t, _)| *t)
        .expect("logged above");
    let asked = seen.iter().find_map(|(t, a)| match a {
        Action::AskPeer {
            channel, testips, ..
        } if *t >= failed_at => Some((channel.clone(), testips.clone())),
        _ => None,
    });
    assert_eq!(
        asked,
        Some((
            "if-2".to_owned(),
            vec![std::net::Ipv4Addr::new(192, 168, 2, 1).into()]
        ))
    );
}

/// Regression (a lab run): the recheck beside the peer question found the test hosts answering and
/// called a failed service check "ended". The recheck is for failures counted from probes only.
#[test]
fn a_failing_service_check_is_acted_on_though_the_test_hosts_answer() {
    let cfg = two_checked_channels();
    let world = |now: Instant, a: &Action| match a {
        Action::AskPeer { .. } => peer_reaches(now, a),
        other => if2_check_fails(now, other),
    };
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(120_000), world);
    let acted = seen.iter().find_map(|(_, a)| match a {
        Action::FailureAction { channel, .. } => Some(channel.clone()),
        _ => None,
    });
    assert_eq!(
        acted.as_deref(),
        Some("if-2"),
        "{:#?}",
        node.status().recent
    );
}

#[test]
fn service_checks_run_one_at_a_time_each_with_its_channels_environment() {
    let cfg = two_checked_channels();
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(60_000), if2_check_fails);
    let runs: Vec<(u64, String, usize)> = seen
        .iter()
        .filter_map(|(t, a)| match a {
            Action::RunCheck {
                command, channel, ..
            } => Some((t.as_millis(), command.clone(), *channel)),
            _ => None,
        })
        .collect();
    assert!(runs.len() >= 4, "{runs:?}");
    // A round: the node's check (first channel's environment), then if-2's once it answered (5 ms
    // later, never two at once); the next round checktime (10 s) after the last answer.
    let (t0, c0, ch0) = &runs[0];
    assert_eq!((c0.as_str(), *ch0), ("check-node", 0));
    assert_eq!(runs[1], (t0 + 5, "check-if-2".to_owned(), 1));
    assert_eq!(runs[2], (t0 + 10 + 10_000, "check-node".to_owned(), 0));
    assert_eq!(runs[3], (t0 + 15 + 10_000, "check-if-2".to_owned(), 1));
}

#[test]
fn a_passing_check_resets_only_its_own_count() {
    // if-2's check fails twice, then passes: the count starts again, so 3 more failures are
    // needed (the node's passing check in between changes nothing).
    let mut cfg = two_checked_channels();
    cfg.policy.check = None;
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let mut n = 0;
    let seen = drive(&mut node, Instant::ZERO, at_ms(90_000), |now, a| match a {
        Action::RunCheck { id, .. } => {
            n += 1;
            Some((
                Duration::from_millis(5),
                Input::CheckDone {
                    id: *id,
                    outcome: if n == 3 {
                        Ok(())
                    } else {
                        Err("exit status 1".into())
                    },
                },
            ))
        }
        other => healthy_world(now, other),
    });
    let reasons: Vec<String> = seen
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Log(d) if d.reason.contains("service check") => Some(d.reason.clone()),
            _ => None,
        })
        .collect();
    let counts: Vec<&str> = reasons
        .iter()
        .filter_map(|r| r.split_once("failed (").map(|(_, rest)| &rest[..3]))
        .collect();
    assert_eq!(
        counts[..5],
        ["1/3", "2/3", "1/3", "2/3", "3/3"],
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("passes again")),
        "{reasons:#?}"
    );
}

/// Found in the lab: the peer yielded after a split brain (and said so), but a look for rivals
/// already in flight came back with the peer's answer from before it let go, and this node yielded
/// too: nobody served until a hold-off ran out. The yield notice makes that look stale.
#[test]
fn a_look_answered_before_the_peers_yield_does_not_make_the_keeper_yield_too() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::with_scope(&cfg, Instant::ZERO, vec![], Scope::ActiveOnly);
    let mut now = Instant::ZERO;
    let mut look = None;
    for _ in 0..1_000 {
        for a in drain_actions(&mut node) {
            if let Action::ConflictCheck { id, targets, .. } = a {
                look = Some((id, targets));
            }
        }
        if look.is_some() {
            break;
        }
        now = node.poll_timeout().expect("a deadline").max(now);
        node.handle_timeout(now);
    }
    let (id, targets) = look.expect("the active looks for rivals");
    assert_eq!(node.role(), Role::Active);
    node.handle(
        now,
        Input::PeerYielded {
            keeper_mac: OWN_MAC,
        },
    );
    // The old look's answer: a rival with a lower MAC, from before the peer let go.
    node.handle(
        now,
        Input::ConflictDone {
            id,
            rivals: targets
                .iter()
                .map(|t| Rival {
                    device: t.device.clone(),
                    address: t.address,
                    rival_mac: [0, 0, 0, 0, 0, 1],
                    own_mac: OWN_MAC,
                })
                .collect(),
        },
    );
    let after = drain_actions(&mut node);
    assert!(
        !after
            .iter()
            .any(|a| matches!(a, Action::ReleaseAddresses { .. })),
        "{after:?}"
    );
    assert_eq!(node.role(), Role::Active);
    assert!(
        after
            .iter()
            .any(|a| matches!(a, Action::ConflictCheck { .. })),
        "looks again from the notice: {after:?}"
    );
}

/// Regression: a late answer to the passive's question made a stopped node take over. While the
/// takeover state lived beside the mode, a stop left the question and the waiting verdict in place,
/// and an answer fed after the stop claimed the activeips. The daemon feeds no input once stopping,
/// so only the core's own guarantee was missing; the state now goes with the passive mode.
#[test]
fn a_stopped_node_does_not_take_over_on_a_late_answer_from_the_active() {
    let mut cfg = keyed(config(PolicyMode::Improved));
    // The first unanswered check is the verdict: it comes while the question is out.
    cfg.network.activeretries = 1;
    cfg.policy.priority = Some(0);
    // Nobody answers the ARP checks; the question to the active stays unanswered.
    let world = |now: Instant, a: &Action| match a {
        Action::AskPeer { .. } => None,
        other => silent_world(now, other),
    };
    let mut dry = Node::new(&cfg, Instant::ZERO, vec![]);
    let asked = drive(&mut dry, Instant::ZERO, at_ms(60_000), world)
        .into_iter()
        .find_map(|(t, a)| matches!(a, Action::AskPeer { .. }).then_some(t))
        .expect("the passive asks the active");

    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, asked, world);
    let id = seen
        .iter()
        .find_map(|(_, a)| match a {
            Action::AskPeer { id, .. } => Some(*id),
            _ => None,
        })
        .expect("the question is out");
    assert!(
        !seen
            .iter()
            .any(|(_, a)| matches!(a, Action::ClaimAddresses { .. })),
        "the takeover waits for the answer"
    );
    node.handle(asked, Input::Stop);
    while node.poll_action().is_some() {}
    node.handle(
        asked + Duration::from_millis(1),
        Input::PeerAnswer { id, answer: None },
    );
    let after: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    assert!(
        !after
            .iter()
            .any(|a| matches!(a, Action::ClaimAddresses { .. })),
        "a stopped node claimed the activeips: {after:?}"
    );
    assert_eq!(node.role(), Role::Stopped);
}

/// A claim that arrives while a look is out: that look was asked before the claimant held the
/// address, and its silence was taken for "split brain over" (lab: the keeper never named a
/// newcomer that yielded before the next checktime). The claim starts a fresh look; the old one's
/// answer is ignored and the fresh one finds the rival.
#[test]
fn a_claim_while_a_look_is_out_looks_again_from_now() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let seen = drive(&mut node, Instant::ZERO, at_ms(22_005), silent_world);
    let Some((
        _,
        Action::ConflictCheck {
            id: old, targets, ..
        },
    )) = seen
        .iter()
        .rev()
        .find(|(_, a)| matches!(a, Action::ConflictCheck { .. }))
    else {
        panic!("no conflict check")
    };
    let rival = Rival {
        device: targets[0].device.clone(),
        address: targets[0].address,
        rival_mac: [2, 0, 0, 0, 0, 9],
        own_mac: OWN_MAC,
    };
    node.handle(at_ms(22_010), Input::ForeignClaim(rival.clone()));
    let after: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
    let fresh = after
        .iter()
        .find_map(|a| match a {
            Action::ConflictCheck { id, .. } => Some(*id),
            _ => None,
        })
        .expect("the claim starts a look of its own");
    assert_ne!(fresh, *old);
    node.handle(
        at_ms(22_020),
        Input::ConflictDone {
            id: *old,
            rivals: vec![],
        },
    );
    node.handle(
        at_ms(22_030),
        Input::ConflictDone {
            id: fresh,
            rivals: vec![rival],
        },
    );
    let recent = node.status().recent;
    assert!(
        !recent.iter().any(|d| d.reason.contains("split brain over")),
        "the look asked before the claim ended it: {recent:?}"
    );
    assert!(
        recent.iter().any(|d| d.reason.contains("keeping them")),
        "{recent:?}"
    );
    assert_eq!(node.role(), Role::Active);
}

/// A healthy active whose peer answers each of its heartbeats with a passive one until `beats_until`;
/// conflict checks are answered (empty) only when the core awaits an empty answer.
fn vouching_world(
    beats_until: Instant,
    quiet_seen: std::rc::Rc<std::cell::Cell<u32>>,
) -> impl FnMut(Instant, &Action) -> Option<(Duration, Input)> {
    move |now, a| match a {
        Action::ConflictCheck {
            id, report_empty, ..
        } => {
            if !report_empty {
                quiet_seen.set(quiet_seen.get() + 1);
                return None;
            }
            Some((
                Duration::from_millis(100),
                Input::ConflictDone {
                    id: *id,
                    rivals: vec![],
                },
            ))
        }
        Action::Probe { id, targets, .. } => Some((
            Duration::from_millis(10),
            probe_done(*id, targets, |_| Some(Duration::from_millis(1))),
        )),
        Action::SendHeartbeat(_) if now < beats_until => Some((
            Duration::from_millis(1),
            beat(crate::peer::Role::Passive, true, 0),
        )),
        other => silent_world(now, other),
    }
}

/// Issue 7: while the peer's fresh heartbeat says "passive" the peer is no rival: the broadcast look
/// goes out once per synctime instead of every checktime, and every checktime again once the
/// heartbeats stop (synctime + timeout after the last). An unanswered steady-state look is not
/// waited for: the core needs no answer to go on.
#[test]
fn a_peer_vouching_for_itself_slows_the_look_for_rivals_to_once_per_synctime() {
    let mut cfg = keyed(config(PolicyMode::Improved));
    cfg.network.synctime = Duration::from_secs(30);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let quiet = std::rc::Rc::new(std::cell::Cell::new(0));
    let world = vouching_world(at_ms(50_000), quiet.clone());
    let seen = drive(&mut node, Instant::ZERO, at_ms(150_000), world);
    assert_eq!(node.role(), Role::Active);
    let beats: Vec<u64> = times(&seen, |a| matches!(a, Action::SendHeartbeat(_)));
    let looks = times(&seen, |a| matches!(a, Action::ConflictCheck { .. }));
    // Takeover at 12 s (the stagger); our heartbeats at 0, 12 (the role changed), 30 and 60 s, the
    // peer's answers until 50 s: the last at 30.001 s, fresh until 62.001 s (synctime + timeout).
    assert_eq!(&beats[..4], &[0, 12_000, 30_000, 60_000], "{beats:?}");
    assert_eq!(
        looks,
        vec![22_000, 52_000, 72_000, 82_000, 92_000, 102_000, 112_000, 122_000, 132_000, 142_000],
        "once per synctime while vouched for (none at 62 s: 10 s after the last, still fresh), then \
         every checktime"
    );
    assert_eq!(
        quiet.get(),
        10,
        "no rival seen: none of them awaited an empty answer"
    );
    // The ownership look keeps its beat every checktime (the one at 0 s is the passive's).
    assert_eq!(
        times(&seen, |a| matches!(a, Action::CheckOwnership { .. })),
        std::iter::once(0)
            .chain((0..13).map(|k| 22_000 + k * 10_000))
            .collect::<Vec<_>>()
    );
}

/// Issue 7: after a rival was seen the empty answer is awaited (its silence ends the split brain).
#[test]
fn only_a_look_after_a_rival_awaits_an_empty_answer() {
    let cfg = config(PolicyMode::Improved);
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    let world = rival_world([2, 0, 0, 0, 0, 9], |now| now < at_ms(31_000));
    let seen = drive(&mut node, Instant::ZERO, at_ms(45_000), world);
    let flags: Vec<(u64, bool)> = seen
        .iter()
        .filter_map(|(t, a)| match a {
            Action::ConflictCheck { report_empty, .. } => Some((t.as_millis(), *report_empty)),
            _ => None,
        })
        .collect();
    assert_eq!(
        flags,
        vec![(22_000, false), (32_000, true), (42_000, false)]
    );
}

/// A node whose [`Node::status_key`] and [`Node::status`] are taken after every step.
struct Watched {
    node: Node,
    snaps: Vec<(StatusKey, Status)>,
}

impl Watched {
    fn snap(&mut self) {
        self.snaps
            .push((self.node.status_key(), self.node.status()));
    }
}

impl Machine for Watched {
    fn handle(&mut self, now: Instant, input: Input) {
        self.node.handle(now, input);
        self.snap();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.node.handle_timeout(now);
        self.snap();
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.node.poll_timeout()
    }
    fn poll_action(&mut self) -> Option<Action> {
        self.node.poll_action()
    }
}

/// What the state file shows of a status (the daemon's `shown`): a healthy channel's or passive's
/// last good time, an on-time heartbeat's arrival and the probe tallies are left out.
fn shown(s: &Status) -> Status {
    let mut s = s.clone();
    s.tally.probes.clear();
    for c in &mut s.channels {
        if c.failures == 0 {
            c.last_ok_at = None;
        }
    }
    if let Some(p) = s.passive.as_mut().filter(|p| p.failures == 0) {
        p.last_seen_at = None;
    }
    if let Some(h) = s.heartbeat.as_mut().filter(|h| !h.lost) {
        h.at = Instant::ZERO;
    }
    s
}

/// Issue 7: the daemon builds the status only when the brief key changed, so no change the state
/// file shows may leave the key as it was. Checked after every step of worlds that move every part
/// of it: takeover, split brain and re-announcements, failing channels, holds and failure actions,
/// the passive's counter, heartbeats that come and stop, a reload.
#[test]
fn every_change_status_shows_changes_the_status_key() {
    let mut cfgs = [
        config(PolicyMode::Improved),
        config(PolicyMode::Classic),
        keyed(config(PolicyMode::Improved)),
    ];
    cfgs[2].network.synctime = Duration::from_secs(30);
    let mut steps = 0;
    for (k, cfg) in cfgs.iter().enumerate() {
        for world in 0..3 {
            let mut w = Watched {
                node: Node::new(cfg, Instant::ZERO, vec![]),
                snaps: vec![],
            };
            w.snap();
            let until = at_ms(150_000);
            match world {
                0 => {
                    drive(&mut w, Instant::ZERO, until, silent_world);
                }
                1 => {
                    let rival = rival_world([2, 0, 0, 0, 0, 9], |now| now < at_ms(31_000));
                    drive(&mut w, Instant::ZERO, until, rival);
                }
                _ => {
                    let quiet = std::rc::Rc::new(std::cell::Cell::new(0));
                    drive(
                        &mut w,
                        Instant::ZERO,
                        at_ms(70_000),
                        vouching_world(at_ms(50_000), quiet),
                    );
                    let mut reloaded = cfg.clone();
                    reloaded.network.channelretries += 1;
                    w.node.reconfigure(at_ms(70_000), &reloaded);
                    w.snap();
                }
            }
            for pair in w.snaps.windows(2) {
                let ((k0, s0), (k1, s1)) = (&pair[0], &pair[1]);
                steps += 1;
                if k0 == k1 {
                    assert_eq!(
                        shown(s0),
                        shown(s1),
                        "config {k}, world {world}: key {k1:?}"
                    );
                }
            }
        }
    }
    assert!(steps > 100, "only {steps} steps");
}

/// Regression (issue 7, `strace` of the idle active): the look for a rival and the active's round
/// ran on timers of their own, both every checktime, a few milliseconds apart, and the idle active
/// woke twice per checktime. A look due within the slack of a round now shares its wake-up.
#[test]
fn the_look_for_a_rival_shares_the_rounds_wake_up() {
    let mut cfg = config(PolicyMode::Improved);
    cfg.network.checktime = Duration::from_millis(100);
    cfg.network.timeout = Duration::from_millis(50);
    for c in &mut cfg.channels {
        c.checkonlyidle = true;
    }
    // Traffic in every interval (the passive's checks reach the active): rounds of counters only.
    let mut packets = 0;
    let mut world = |now: Instant, a: &Action| match a {
        Action::SampleCounters { id, devices } => {
            packets += 5;
            let samples = devices
                .iter()
                .map(|d| crate::core::action::CounterSample {
                    device: d.clone(),
                    counters: Some(crate::core::observe::Counters {
                        rx_packets: packets,
                        tx_packets: packets,
                    }),
                })
                .collect();
            Some((Duration::ZERO, Input::Counters { id: *id, samples }))
        }
        other => healthy_world(now, other),
    };
    let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
    drive(&mut node, Instant::ZERO, at_ms(10_000), &mut world);
    assert_eq!(node.role(), Role::Active);
    // A yield notice looks at once, 7 ms off the rounds' beat; the looks after it must come back
    // to the rounds. Timers are served 0-2 ms late, like the daemon's loop.
    node.handle(
        at_ms(10_007),
        Input::PeerYielded {
            keeper_mac: OWN_MAC,
        },
    );
    let late = [0, 1, 2, 1].map(Duration::from_millis);
    let seen = drive_late(&mut node, at_ms(10_007), at_ms(20_000), &late, &mut world);
    let at = |pick: fn(&Action) -> bool| -> Vec<Instant> {
        seen.iter()
            .filter(|(t, a)| *t >= at_ms(10_500) && pick(a))
            .map(|(t, _)| *t)
            .collect()
    };
    let rounds = at(|a| matches!(a, Action::SampleCounters { .. }));
    let looks = at(|a| matches!(a, Action::ConflictCheck { .. }));
    assert!(
        looks.len() >= 5 && rounds.len() >= 80,
        "{looks:?} {rounds:?}"
    );
    let alone: Vec<&Instant> = looks.iter().filter(|t| !rounds.contains(t)).collect();
    assert!(alone.is_empty(), "looks without a round: {alone:?}");
    // Nor does a look due a millisecond before the round wake the node on its own (the daemon's
    // clock read later in the same step had set the round a millisecond after the look).
    let Mode::Active { monitor: m, .. } = &node.mode else {
        panic!("not active")
    };
    let round = m.poll_timeout().expect("a round is scheduled");
    node.timers.set(
        NodeTimer::Conflict,
        Instant::from_millis(round.as_millis() - 1),
    );
    assert_eq!(node.poll_timeout(), Some(round));
}
