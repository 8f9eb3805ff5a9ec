//! A failed channel on the active: the policy guards (maxfailovers, requirepeer and the peer's view
//! of the test hosts), holds and their lifting, and the failure action itself.

use super::*;
use crate::core::observe::{ProbeResult, ProbeTarget};

impl Node {
    pub(super) fn on_failure(&mut self, now: Instant, failure: ChannelFailure) {
        if self.hosts_down_at_takeover && self.requires_fit() {
            let channel = failure.channel.clone();
            self.hold(now, &failure, HoldReason::TestHostsDown { channel });
            return;
        }
        // With `requirefit` the limit is applied where the action would be taken (`act`): after
        // the peer's view, since an unfit node then gives the addresses up instead of holding them.
        if !self.requires_fit() {
            if let Some(reason) = limit_reached(&self.config.policy, &self.history, now) {
                self.hold(now, &failure, reason);
                return;
            }
        }
        if self.config.policy.requirepeer {
            // "The active server should not reboot if the passive one is turned off."
            if let Mode::Active { pending, .. } = &mut self.mode {
                *pending = Some(PendingFailure {
                    failure,
                    check: PeerCheck::Asking(RequestId(0)),
                    recheck: Recheck::Unreached,
                });
            }
            // Sent first: the peer check may conclude at once (no peerip to ask).
            self.recheck(now);
            if self.has_peer_protocol() {
                self.ask_peer(now);
            } else {
                self.ping_peer(now, 2);
            }
            return;
        }
        self.act(now, &failure);
    }

    /// The peer protocol is configured: the peer's address and a key to authenticate the question.
    pub(super) fn has_peer_protocol(&self) -> bool {
        self.config
            .sendconfig
            .as_ref()
            .is_some_and(|s| s.peerip.is_some() && s.peerlink.key.is_some())
    }

    /// An id from the active monitor's sequence (the peer check runs beside it): ids never repeat.
    /// `None` once the node is no longer active: there is no failure left to check.
    fn active_id(&mut self) -> Option<RequestId> {
        match &mut self.mode {
            Mode::Active { monitor: m, .. } => Some(m.issue_id()),
            _ => None,
        }
    }

    /// Asks the peer whether it reaches the failed channel's test hosts.
    fn ask_peer(&mut self, now: Instant) {
        let Some(id) = self.active_id() else {
            return;
        };
        let Some(p) = self.pending_mut() else {
            return;
        };
        p.check = PeerCheck::Asking(id);
        let (channel, index) = (p.failure.channel.clone(), p.failure.index);
        let testips = self.config.channels[index].testips.clone();
        let timeout = peer_check_timeout(&self.config);
        let ask = Action::AskPeer {
            id,
            channel,
            testips,
            timeout,
        };
        self.request(now, NodeTimer::PeerAnswer, timeout, ask);
    }

    /// Is the peer's host alive at all? An echo over the sync link to `peerip`; `echoes` of them at
    /// most, one after the other, so one lost packet on the sync link does not hold a real failover.
    /// Without a peerip there is nothing to ask: the peer counts as alive (the classic behaviour), as
    /// the config validation warned.
    fn ping_peer(&mut self, now: Instant, echoes: u8) {
        let target = self.config.sendconfig.as_ref().and_then(|s| {
            s.peerip.map(|p| ProbeTarget {
                device: s.device.clone(),
                source: None,
                target: p,
            })
        });
        let Some(target) = target else {
            let Some(p) = self.pending().cloned() else {
                return;
            };
            self.log(
                now,
                Some(&p.failure.channel),
                "requirepeer: no [sendconfig] peerip to ask; assuming the peer is alive".to_owned(),
            );
            self.act_when_rechecked(now);
            return;
        };
        let Some(id) = self.active_id() else {
            return;
        };
        let Some(p) = self.pending_mut() else {
            return;
        };
        p.check = PeerCheck::Pinging {
            id,
            left: echoes.saturating_sub(1),
        };
        let timeout = self.config.network.timeout;
        let ping = Action::PingPeer {
            id,
            target,
            timeout,
        };
        self.request(now, NodeTimer::PeerAnswer, timeout, ping);
    }

    /// The peer's answer to the question about the failed channel (`None`: no answer in time).
    pub(super) fn on_peer_answer(&mut self, now: Instant, answer: Option<PeerReport>) {
        let Some(p) = self.pending().cloned() else {
            return;
        };
        let channel = p.failure.channel.clone();
        match answer {
            Some(report) => {
                // The same `testhosts` rule this node applies to its own probes.
                let reaches = self
                    .config
                    .policy
                    .testhosts
                    .healthy(report.reached.iter().copied());
                self.log(
                    now,
                    Some(&channel),
                    format!(
                        "the peer {} channel {channel}'s test hosts",
                        if reaches { "reaches" } else { "cannot reach" }
                    ),
                );
                if reaches {
                    self.act_when_rechecked(now);
                } else {
                    self.take_pending();
                    self.hold(now, &p.failure, HoldReason::PeerCannotReach { channel });
                }
            }
            None => {
                self.log(
                    now,
                    Some(&channel),
                    format!("the peer did not answer the question about {channel}; pinging it"),
                );
                self.ping_peer(now, 2);
            }
        }
    }

    /// One echo to the peer's host came back (`alive`) or not.
    pub(super) fn on_peer_echo(&mut self, now: Instant, alive: bool) {
        let Some(p) = self.pending().cloned() else {
            return;
        };
        if alive {
            // Alive, whether it reaches the test hosts unknown: act as the classic rule does.
            self.act_when_rechecked(now);
            return;
        }
        match p.check {
            PeerCheck::Pinging { left, .. } if left > 0 => self.ping_peer(now, left),
            _ => {
                self.take_pending();
                self.log(
                    now,
                    Some(&p.failure.channel),
                    "no answer from the peer on the sync link".to_owned(),
                );
                self.hold(now, &p.failure, HoldReason::PeerDown);
            }
        }
    }

    /// Probes the pending failure's test hosts once more, from the activeip, beside the peer check
    /// (no time added: the peer's answer waits for its own probe). See [`Recheck`].
    fn recheck(&mut self, now: Instant) {
        // A failed service check is no test host's silence: the probe cannot contradict it.
        let Some(index) = self
            .pending()
            .filter(|p| p.failure.from_probes)
            .map(|p| p.failure.index)
        else {
            return;
        };
        let Some(id) = self.active_id() else {
            return;
        };
        let c = &self.config.channels[index];
        if !self.fitness.carrier(&c.device) {
            // No carrier: no probe can answer, and a link-down failover must not wait for one.
            return;
        }
        let targets = c
            .testips
            .iter()
            .map(|&t| ProbeTarget {
                device: c.device.clone(),
                source: Some(c.activeip),
                target: t,
            })
            .collect();
        let probes = c.probes(&self.config.network);
        let timeout = self.config.network.timeout;
        if let Some(p) = self.pending_mut() {
            p.recheck = Recheck::Out {
                id,
                then_act: false,
            };
        }
        let probe = Action::Probe {
            id,
            targets,
            timeout,
            probes,
        };
        self.request(now, NodeTimer::RecheckAnswer, timeout, probe);
    }

    pub(super) fn is_recheck(&self, id: RequestId) -> bool {
        matches!(self.pending(), Some(p) if matches!(p.recheck, Recheck::Out { id: want, .. } if want == id))
    }

    /// The recheck's answer (`results` empty: lost).
    pub(super) fn on_recheck(&mut self, now: Instant, results: &[ProbeResult]) {
        self.timers.stop(NodeTimer::RecheckAnswer);
        let rule = self.config.policy.testhosts;
        let Some(p) = self.pending() else {
            return;
        };
        let Recheck::Out { then_act, .. } = p.recheck else {
            return;
        };
        let testips = &self.config.channels[p.failure.index].testips;
        let reached = rule.healthy(testips.iter().map(|t| {
            results
                .iter()
                .any(|r| r.target.target == *t && r.rtt.is_some())
        }));
        if let Some(p) = self.pending_mut() {
            p.recheck = if reached {
                Recheck::Reached
            } else {
                Recheck::Unreached
            };
        }
        if then_act {
            self.act_when_rechecked(now);
        }
    }

    /// The peer check concluded "act": the recheck decides, now or when it is answered.
    fn act_when_rechecked(&mut self, now: Instant) {
        self.timers.stop(NodeTimer::PeerAnswer);
        let Some(p) = self.pending_mut() else {
            return;
        };
        p.check = PeerCheck::Concluded;
        match &mut p.recheck {
            Recheck::Out { then_act, .. } => *then_act = true,
            Recheck::Unreached => {
                if let Some(p) = self.take_pending() {
                    self.act(now, &p.failure);
                }
            }
            Recheck::Reached => {
                let Some(p) = self.take_pending() else {
                    return;
                };
                let channel = &p.failure.channel;
                self.log(
                    now,
                    Some(channel),
                    format!(
                        "channel {channel}'s test hosts answer this node again (the fault has ended): no action"
                    ),
                );
                if let Mode::Active { monitor: m, .. } = &mut self.mode {
                    m.resume(now);
                }
            }
        }
    }

    /// A held failure that healed (traffic or an answer on its channel since the hold) ends the hold,
    /// so `status` no longer reports it and the next failure alerts again.
    pub(super) fn lift_hold(&mut self, now: Instant) {
        let Mode::Active { monitor: m, .. } = &self.mode else {
            return;
        };
        // The test hosts that were down at the takeover answer again: a new failure is news.
        if self.hosts_down_at_takeover && m.status().iter().all(|c| c.last_ok_at.is_some()) {
            self.hosts_down_at_takeover = false;
        }
        let Some((channel, since)) = &self.held else {
            return;
        };
        let healed = m
            .status()
            .iter()
            .any(|c| &c.ident == channel && c.last_ok_at.is_some_and(|t| t > *since));
        if healed {
            let channel = channel.clone();
            self.holding = None;
            self.held = None;
            self.log(
                now,
                Some(&channel),
                format!(
                    "channel {channel} healthy again: hold lifted; announcing the activeips again"
                ),
            );
            // Through the hold (a partition, a dead uplink) neighbours may have learned another MAC.
            self.reannounce(now);
        }
    }

    pub(super) fn hold(&mut self, now: Instant, failure: &ChannelFailure, reason: HoldReason) {
        let text = format!(
            "channel {} failed but holding: {reason}; staying active",
            failure.channel
        );
        let changed = self.holding.as_ref() != Some(&reason);
        if changed {
            self.tally.hold(reason.label());
        }
        self.holding = Some(reason);
        self.held = Some((failure.channel.clone(), now));
        let d = self.decision(now, Some(&failure.channel), text);
        // Alert when the hold starts or its reason changes, not at every repeated detection.
        self.push(if changed {
            Action::Alert(d)
        } else {
            Action::Log(d)
        });
        if let Mode::Active { monitor: m, .. } = &mut self.mode {
            m.resume(now);
        }
    }

    pub(super) fn act(&mut self, now: Instant, failure: &ChannelFailure) {
        if self.requires_fit() {
            if let Some(reason) = limit_reached(&self.config.policy, &self.history, now) {
                // The limit stops disruptive actions; it never keeps an unfit node holding.
                self.release_unfit(now, failure, reason.to_string());
                return;
            }
        }
        self.holding = None;
        self.held = None;
        self.history.record(now);
        let kind = match self.config.policy.onfailure {
            FailureAction::Demote => "demote",
            FailureAction::Reboot => "reboot",
            FailureAction::Exec(_) => "exec",
        };
        self.tally.failure_action(&failure.channel, kind);
        self.push(Action::RecordFailover { at: now });
        let why = format!("channel {} failed", failure.channel);
        let command = match self.config.policy.onfailure.clone() {
            FailureAction::Demote => {
                self.release(now, &why, crate::peer::NoticeReason::Demote);
                let holdoff = demote_holdoff(&self.config);
                self.become_passive(now, now + holdoff);
                return;
            }
            FailureAction::Reboot => FailureCommand::Reboot,
            FailureAction::Exec(cmd) => FailureCommand::Exec(cmd),
        };
        let fastdown = self.config.network.fastdown;
        if fastdown {
            // `fastdown=yes`: the addresses go at once, so the peer need not wait for the shutdown.
            self.release(
                now,
                &format!("{why}, fastdown"),
                crate::peer::NoticeReason::Failure,
            );
        }
        self.log(
            now,
            Some(&failure.channel),
            format!("{why}: failure action {command:?}"),
        );
        let reboot = command == FailureCommand::Reboot;
        self.push(Action::FailureAction {
            command,
            channel: failure.channel.clone(),
        });
        if reboot {
            self.role = Role::Failed;
            self.since = now;
            self.mode = Mode::Done;
            self.timers.stop_all();
        } else if self.scope == Scope::ActiveOnly && !fastdown {
            // run-active ends with its failure action.
            self.mode = Mode::Done;
            self.timers.stop_all();
        } else if fastdown {
            let holdoff = demote_holdoff(&self.config);
            self.become_passive(now, now + holdoff);
        } else if let Mode::Active { monitor: m, .. } = &mut self.mode {
            m.resume(now);
        }
    }
}
