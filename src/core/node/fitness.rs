//! Fitness before any takeover (`requirefit`): a node claims the activeips only when it can serve,
//! that is its channel devices have carrier and its own test hosts answer by the channel's
//! `testhosts` rule. A failed ARP check only says "nobody answers me", never that the active is gone:
//! a node whose own link is dead (or silent) sees exactly that.
//!
//! The judgement ([`Fitness::verdict`]) is a pure function of what the node last observed: the carrier
//! of each device ([`Input::Carrier`], read by the shell at each check or reported by a link event) and the last
//! probe of its own test hosts, sent beside every ARP check while passive. One exception keeps the
//! service when the test hosts themselves die: hosts that stopped answering while the active still
//! answered this node's ARP checks are down on their own (this node's LAN worked), so a node with
//! carrier may take over; it then holds, rather than acts, on that known failure.
//!
//! Every takeover path goes through [`Node::takeover_if_fit`]: the passive's verdict, the end of a
//! start slot or demote hold-off, and a peer's release notice.

use std::collections::BTreeMap;

use super::*;
use crate::core::observe::{ProbeResult, ProbeTarget};

/// What the node knows about its own ability to serve.
#[derive(Debug, Clone, Default)]
pub struct Fitness {
    /// Carrier per device; a device never reported counts as up (a shell that does not read carrier
    /// keeps the classic behaviour).
    pub(super) carrier: BTreeMap<String, bool>,
    /// The test-host probe in flight.
    pub(super) probe: Option<RequestId>,
    pub(super) probe_sent_at: Option<Instant>,
    /// The last probe: whether every channel's test hosts answered by the `testhosts` rule, the
    /// first channel that did not, and when.
    pub(super) last: Option<(Instant, Option<String>)>,
    /// The test hosts went silent while the active answered this node's ARP checks, two probes in
    /// a row (one lost echo is not a dead host).
    pub(super) hosts_down_lan_up: bool,
    pub(super) hosts_down_rounds: u8,
    /// A takeover found the test hosts silent and asked once more before judging (one lost echo
    /// must not keep a fit node passive for a checktime).
    pub(super) confirming: bool,
    /// The unfit reason already said (a decision line once, not every checktime).
    pub(super) said: Option<String>,
}

/// The judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Can serve. `hosts_down`: its test hosts are down on their own (see the module doc).
    Fit { hosts_down: bool },
    /// Cannot serve, and why; `carrier`: a device without carrier (no probe can change that).
    Unfit { reason: String, carrier: bool },
    /// No fresh probe of the test hosts yet.
    Unknown,
}

impl Fitness {
    /// Records a device's carrier; true when it changed.
    pub fn set_carrier(&mut self, device: &str, up: bool) -> bool {
        self.carrier.insert(device.to_owned(), up) != Some(up)
    }

    pub fn carrier(&self, device: &str) -> bool {
        self.carrier.get(device).copied().unwrap_or(true)
    }

    /// The judgement at `now` for `config`: carrier first (no probe needed), then the last probe if
    /// it is at most one check cycle old.
    pub fn verdict(&self, config: &Config, now: Instant) -> Verdict {
        if let Some(c) = config.channels.iter().find(|c| !self.carrier(&c.device)) {
            return Verdict::Unfit {
                reason: format!("no carrier on {}, channel {}", c.device, c.ident),
                carrier: true,
            };
        }
        let fresh = config.network.checktime + config.network.timeout * 2;
        match &self.last {
            Some((at, failed)) if now.saturating_since(*at) <= fresh => match failed {
                None => Verdict::Fit { hosts_down: false },
                Some(_) if self.hosts_down_lan_up => Verdict::Fit { hosts_down: true },
                Some(ident) => Verdict::Unfit {
                    reason: format!("channel {ident}'s test hosts do not answer this node"),
                    carrier: false,
                },
            },
            _ => Verdict::Unknown,
        }
    }

    /// The unfit reason being reported, for `status`.
    pub fn unfit_reason(&self) -> Option<&str> {
        self.said.as_deref()
    }
}

impl Node {
    /// Whether this node judges its fitness before a takeover (`requirefit`).
    pub(super) fn requires_fit(&self) -> bool {
        self.config.policy.requirefit
    }

    /// This node's fitness judgement now (for a caller deciding on a takeover, e.g. a peer's
    /// release notice). `Unknown` means a probe is needed: [`Node::takeover_if_fit`] sends it.
    pub fn fitness(&self, now: Instant) -> Verdict {
        self.fitness.verdict(&self.config, now)
    }

    /// [`Input::Carrier`]: a device's carrier, as read by the shell or reported by a link event.
    /// The fast path ([`Node::fast_input`]) logs the change and acts on a lost carrier.
    pub(super) fn fitness_carrier(&mut self, now: Instant, device: &str, up: bool) {
        if !self.fitness.set_carrier(device, up) {
            return;
        }
        let Some(ident) = self
            .config
            .channels
            .iter()
            .find(|c| c.device == device)
            .map(|c| c.ident.clone())
        else {
            return;
        };
        if up && self.role == Role::Active {
            // The LAN came back (a partition healed): neighbours may have learned another MAC.
            self.log(
                now,
                Some(&ident),
                "announcing the activeips again after the link came back".to_owned(),
            );
            self.reannounce(now);
        }
    }

    /// Probes this node's own test hosts (every channel, from its passiveip), unless a probe is out.
    pub(super) fn probe_fitness(&mut self, now: Instant) {
        if self.fitness.probe.is_some() {
            return;
        }
        let id = match &mut self.mode {
            Mode::Passive { monitor: m, .. } => m.issue_id(),
            _ => return,
        };
        let targets: Vec<ProbeTarget> = self
            .config
            .channels
            .iter()
            .flat_map(|c| {
                c.testips.iter().map(|t| ProbeTarget {
                    device: c.device.clone(),
                    source: Some(c.passiveip),
                    target: *t,
                })
            })
            .collect();
        let timeout = self.config.network.timeout;
        self.fitness.probe = Some(id);
        self.fitness.probe_sent_at = Some(now);
        // As many echoes per test host as the channels ask for (`probes`), like the active's checks.
        let probes = self
            .config
            .channels
            .iter()
            .map(|c| c.probes(&self.config.network))
            .max()
            .unwrap_or(1);
        let probe = Action::Probe {
            id,
            targets,
            timeout,
            probes,
        };
        self.request(now, NodeTimer::FitnessAnswer, timeout, probe);
    }

    pub(super) fn fitness_probe_out(&self) -> bool {
        self.fitness.probe.is_some()
    }

    /// Whether `id` is the fitness probe in flight.
    pub(super) fn is_fitness_probe(&self, id: RequestId) -> bool {
        self.fitness.probe == Some(id)
    }

    /// The fitness probe's answer (`results` empty: lost).
    pub(super) fn on_fitness_probe(&mut self, now: Instant, results: &[ProbeResult]) {
        self.fitness.probe = None;
        self.timers.stop(NodeTimer::FitnessAnswer);
        let rule = self.config.policy.testhosts;
        let failed = self
            .config
            .channels
            .iter()
            .find(|c| {
                let answered = |ip: &std::net::IpAddr| {
                    results.iter().any(|r| {
                        r.target.device == c.device && r.target.target == *ip && r.rtt.is_some()
                    })
                };
                !rule.healthy(c.testips.iter().map(answered))
            })
            .map(|c| c.ident.clone());
        // The active answered the ARP check sent with this probe: our LAN works, so the silence is
        // the test hosts' own.
        let sent = self.fitness.probe_sent_at.take();
        let lan_up = match (&self.mode, sent) {
            (Mode::Passive { monitor: m, .. }, Some(sent)) => {
                m.status().last_seen_at.is_some_and(|t| t >= sent)
            }
            _ => false,
        };
        if failed.is_none() || !lan_up {
            self.fitness.hosts_down_rounds = 0;
            if failed.is_none() {
                self.fitness.hosts_down_lan_up = false;
            }
        } else {
            self.fitness.hosts_down_rounds = self.fitness.hosts_down_rounds.saturating_add(1);
            if self.fitness.hosts_down_rounds >= 2 && !self.fitness.hosts_down_lan_up {
                self.fitness.hosts_down_lan_up = true;
                self.log(
                    now,
                    failed.as_deref(),
                    "the test hosts do not answer while the active does: they are down, not this \
                     node's LAN"
                        .to_owned(),
                );
            }
        }
        self.fitness.last = Some((now, failed));
        if self
            .takeover_mut()
            .is_some_and(|t| std::mem::take(&mut t.fitness_wait))
        {
            self.before_takeover(now);
        } else if self.fitness.said.is_some() {
            if let Verdict::Fit { .. } = self.fitness(now) {
                self.fitness.said = None;
                self.log(now, None, "fit to serve again".to_owned());
            }
        }
    }

    /// The single gate of every takeover: take over when fit; wait for a probe when unknown; stay
    /// passive (saying why once) and look again in a checktime when unfit. Without `requirefit` the
    /// classic takeover.
    pub fn takeover_if_fit(&mut self, now: Instant) -> bool {
        if !self.requires_fit() || self.role != Role::Passive {
            return true;
        }
        match self.fitness(now) {
            Verdict::Fit { hosts_down } => {
                self.fitness.confirming = false;
                self.hosts_down_at_takeover = hosts_down;
                if self.fitness.said.take().is_some() {
                    self.log(now, None, "fit to serve again".to_owned());
                }
                true
            }
            Verdict::Unknown => {
                if let Some(t) = self.takeover_mut() {
                    t.fitness_wait = true;
                }
                self.probe_fitness(now);
                false
            }
            Verdict::Unfit { carrier: false, .. } if !self.fitness.confirming => {
                self.fitness.confirming = true;
                self.fitness.last = None;
                if let Some(t) = self.takeover_mut() {
                    t.fitness_wait = true;
                }
                self.probe_fitness(now);
                false
            }
            Verdict::Unfit { reason, .. } => {
                self.fitness.confirming = false;
                self.decline_unfit(now, reason);
                false
            }
        }
    }

    /// Stays passive: says why (an alert when the reason is new) and counts again, with no takeover
    /// before one checktime from now, when the fitness is judged again.
    fn decline_unfit(&mut self, now: Instant, reason: String) {
        let text = format!("not taking over: this node cannot serve ({reason})");
        let d = self.decision(now, None, text);
        let new = self.fitness.said.as_deref() != Some(reason.as_str());
        self.fitness.said = Some(reason);
        self.push(if new {
            Action::Alert(d)
        } else {
            Action::Log(d)
        });
        let again = now + self.config.network.checktime;
        self.restart_passive(now, Some(again));
    }

    /// The active cannot serve and may not act (the failure-action limit): it gives the addresses up
    /// and stays passive, alerting, rather than hold them on a channel it cannot serve. Not a
    /// failure action: nothing is recorded and no reboot or exec runs.
    pub(super) fn release_unfit(&mut self, now: Instant, failure: &ChannelFailure, why: String) {
        let text = format!(
            "channel {} failed and {why}: this node cannot serve, so it releases the activeips and \
             stays passive",
            failure.channel
        );
        let d = self.decision(now, Some(&failure.channel), text);
        self.push(Action::Alert(d));
        self.holding = None;
        self.held = None;
        self.take_pending();
        self.timers.stop(NodeTimer::PeerAnswer);
        self.release(
            now,
            "cannot serve, failure actions exhausted",
            crate::peer::NoticeReason::Failure,
        );
        self.fitness.last = Some((now, Some(failure.channel.clone())));
        self.fitness.hosts_down_lan_up = false;
        let holdoff = demote_holdoff(&self.config);
        self.become_passive(now, now + holdoff);
    }
}
