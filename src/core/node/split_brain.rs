//! Split brain and lost addresses, while active: every checktime the node looks for a rival owner of
//! its activeips (tie-break: the lower MAC keeps them) and checks that they are still on its devices.

use super::*;

impl Node {
    pub(super) fn stop_conflict_checks(&mut self) {
        self.conflict = None;
        self.rival_seen = false;
        self.last_look = None;
        self.timers.stop(NodeTimer::Conflict);
        self.timers.stop(NodeTimer::ConflictAnswer);
    }

    pub(super) fn conflict_targets(&self) -> Vec<ArpTarget> {
        self.config
            .channels
            .iter()
            .map(|c| ArpTarget {
                device: c.device.clone(),
                address: c.activeip,
            })
            .collect()
    }

    /// Asks whether anybody else answers for our activeips.
    ///
    /// Every checktime, except while the peer vouches for itself ([`Node::peer_vouches`]): then
    /// the peer is no rival, and the broadcast that only a foreign station could answer goes out
    /// once per synctime. A claim, a yield notice or a rival seen always looks at once.
    pub(super) fn conflict_check(&mut self, now: Instant) {
        let synctime = self.config.network.synctime;
        let quiet = !self.rival_seen
            && self.peer_vouches(now)
            && self
                .last_look
                .is_some_and(|t| now.saturating_since(t) < synctime);
        let Mode::Active { monitor: m, .. } = &mut self.mode else {
            return;
        };
        if quiet {
            let at = self.next_look_at(now);
            self.timers.set(NodeTimer::Conflict, at);
            self.ownership_check();
            return;
        }
        self.last_look = Some(now);
        let id = m.issue_id();
        let timeout = self.config.network.timeout;
        self.conflict = Some(ConflictInFlight { id, sent_at: now });
        // Nobody answering is the steady state and changes nothing, unless a rival was seen (its
        // absence ends the split brain): only then is the empty answer awaited. Otherwise the next
        // look, a checktime on, takes an unanswered one for "nobody", and the idle active wakes
        // once per checktime instead of twice.
        let report_empty = self.rival_seen;
        if report_empty {
            self.timers
                .set(NodeTimer::ConflictAnswer, now + timeout + ANSWER_GRACE);
        } else {
            let at = self.next_look_at(now);
            self.timers.set(NodeTimer::Conflict, at);
        }
        let targets = self.conflict_targets();
        self.push(Action::ConflictCheck {
            id,
            targets,
            timeout,
            report_empty,
        });
        self.ownership_check();
    }

    /// On the conflict check's beat: are the activeips still here at all?
    fn ownership_check(&mut self) {
        if let Mode::Active { monitor: m, .. } = &mut self.mode {
            let id = m.issue_id();
            self.ownership = Some(id);
            self.push(Action::CheckOwnership {
                id,
                addresses: self.addresses(true),
            });
        }
    }

    /// An activeip vanished from this node while it is active: claim it again and announce, so the
    /// clients' gap is one checktime, not a failover (or nothing at all, as with a bare daemon).
    pub(super) fn on_ownership_done(&mut self, now: Instant, missing: Vec<Address>) {
        if self.role == Role::Passive {
            self.on_passive_ownership(now, &missing);
            return;
        }
        if self.role != Role::Active || missing.is_empty() {
            return;
        }
        let list: Vec<String> = missing
            .iter()
            .map(|a| format!("{} on {}", a.address, a.device))
            .collect();
        self.log(
            now,
            None,
            format!(
                "{} removed from this node by someone else: claiming again",
                list.join(", ")
            ),
        );
        self.push(Action::ClaimAddresses {
            add: missing,
            remove: vec![],
        });
        self.reannounce(now);
    }

    /// Restarts the gratuitous ARP burst: neighbours that learned a rival's MAC learn ours again.
    /// Probes unanswered until now may have been answered to the rival (the test hosts had its MAC),
    /// so the channels' failure counters start again from here: a real failure is still detected
    /// within the source document's bound, counted from this announcement.
    pub(super) fn reannounce(&mut self, now: Instant) {
        self.start_burst(now);
        if let Mode::Active { monitor: m, .. } = &mut self.mode {
            m.forgive();
        }
    }

    pub(super) fn on_conflict_done(&mut self, now: Instant, sent_at: Instant, rivals: &[Rival]) {
        if self.role == Role::Passive {
            self.on_passive_conflict(now, rivals);
            return;
        }
        if self.role != Role::Active {
            return;
        }
        // Only our own activeips count, and a reply from our own MAC is no rival.
        let mine: Vec<&Rival> = rivals
            .iter()
            .filter(|r| r.rival_mac != r.own_mac)
            .filter(|r| {
                self.config
                    .channels
                    .iter()
                    .any(|c| c.device == r.device && c.activeip == r.address)
            })
            .collect();
        // The first channel in config order where a rival answered decides: both nodes list the
        // channels in the same order, so they agree whenever they see the same channels.
        let decider = self.config.channels.iter().find_map(|c| {
            mine.iter()
                .find(|r| r.device == c.device && r.address == c.activeip)
                .map(|r| (c.ident.clone(), (*r).clone()))
        });
        let Some((ident, r)) = decider else {
            if std::mem::take(&mut self.rival_seen) {
                self.log(
                    now,
                    None,
                    "split brain over: no rival answers for the activeips; announcing them again"
                        .to_owned(),
                );
                self.reannounce(now);
            }
            self.next_conflict_check(now, sent_at);
            return;
        };
        let (own, rival) = (format_mac(&r.own_mac), format_mac(&r.rival_mac));
        let seen = format!(
            "split brain: {} on {} is also answered by {rival} (this node: {own})",
            r.address, r.device
        );
        if r.own_mac < r.rival_mac {
            self.log(
                now,
                Some(&ident),
                format!(
                    "{seen}; the lower MAC keeps the activeips: keeping them, announcing again"
                ),
            );
            self.rival_seen = true;
            self.reannounce(now);
            self.next_conflict_check(now, sent_at);
        } else {
            self.log(
                now,
                Some(&ident),
                format!("{seen}; the lower MAC keeps the activeips: yielding to {rival}"),
            );
            // Not a failure: no failure action, nothing recorded; any failure in hand is moot.
            self.holding = None;
            self.take_pending();
            self.timers.stop(NodeTimer::PeerAnswer);
            self.release(
                now,
                &format!("split brain, {rival} keeps them"),
                crate::peer::NoticeReason::SplitBrain,
            );
            // The keeper may never have seen this node's announcements: tell it to announce.
            self.push(Action::NotifyYielded {
                keeper_mac: r.rival_mac,
            });
            let holdoff = demote_holdoff(&self.config);
            self.become_passive(now, now + holdoff);
        }
    }

    /// The look's beat: a quiet look still out a checktime on went unanswered (a rival is
    /// reported), and the next one goes out.
    pub(super) fn conflict_beat(&mut self, now: Instant) {
        if self.conflict.take().is_some() {
            self.timers.stop(NodeTimer::ConflictAnswer);
        }
        self.conflict_check(now);
    }

    /// How far the look's beat may move to share a wake-up with the active's round: both run every
    /// checktime, but on timers of their own they drifted apart (by about a millisecond a round, in
    /// the lab) and the idle active woke twice per checktime. A quarter of a checktime, at most 20 ms.
    fn conflict_slack(&self) -> Duration {
        (self.config.network.checktime / 4).min(Duration::from_millis(20))
    }

    /// When the look due `at` wakes the node: with the active's round (due `round`) when that comes
    /// within the slack after it.
    pub(super) fn look_wakes_at(&self, at: Instant, round: Option<Instant>) -> Instant {
        match round {
            Some(r)
                if matches!(self.mode, Mode::Active { .. })
                    && r > at
                    && r - at <= self.conflict_slack() =>
            {
                r
            }
            _ => at,
        }
    }

    /// The look is due and the active's next round comes within the slack: when it is due.
    pub(super) fn round_within_slack(&self, now: Instant) -> Option<Instant> {
        let Mode::Active { monitor: m, .. } = &self.mode else {
            return None;
        };
        m.poll_timeout()
            .filter(|&at| at > now && at - now <= self.conflict_slack())
    }

    /// A round of the active's checks went out and the look is due within the slack: now, with it.
    pub(super) fn conflict_beside_round(&mut self, now: Instant) {
        if !matches!(self.mode, Mode::Active { .. }) {
            return;
        }
        let soon = self
            .timers
            .get(NodeTimer::Conflict)
            .is_some_and(|at| at > now && at - now <= self.conflict_slack());
        if soon {
            self.timers.stop(NodeTimer::Conflict);
            self.conflict_beat(now);
        }
    }

    /// "Every checktime", on the beat of the active's rounds: the round nearest to a checktime
    /// after `from` (at most half a checktime off), so both share a wake-up; a checktime after
    /// `from` while no round is scheduled.
    fn next_look_at(&self, from: Instant) -> Instant {
        let checktime = self.config.network.checktime;
        let Mode::Active { monitor: m, .. } = &self.mode else {
            return from + checktime;
        };
        match m.next_round_at() {
            Some(round) if round > from => {
                if round < from + checktime / 2 {
                    round + checktime
                } else {
                    round
                }
            }
            _ => from + checktime,
        }
    }

    /// "Every checktime": the period runs from check to check.
    pub(super) fn next_conflict_check(&mut self, now: Instant, sent_at: Instant) {
        let at = self.next_look_at(sent_at).max(now);
        self.timers.set(NodeTimer::Conflict, at);
    }
}

/// While passive: the host must hold none of the activeips (an address added by a person, a network
/// manager or a script). One that is held while the peer answers for it too is a split brain, ended by
/// the rule the active uses: the lower MAC keeps the addresses (this node takes over and announces),
/// the other releases.
impl Node {
    /// Beside every passive check: which activeips does this host hold? (Answered at once.)
    pub(super) fn passive_ownership_check(&mut self) {
        if self.role != Role::Passive || self.ownership.is_some() {
            return;
        }
        let Mode::Passive { monitor: m, .. } = &mut self.mode else {
            return;
        };
        let id = m.issue_id();
        self.ownership = Some(id);
        self.push(Action::CheckOwnership {
            id,
            addresses: self.addresses(true),
        });
    }

    fn on_passive_ownership(&mut self, now: Instant, missing: &[Address]) {
        let held: Vec<Address> = self
            .addresses(true)
            .into_iter()
            .filter(|a| !missing.contains(a))
            .collect();
        if held.is_empty() {
            if let Some(t) = self.takeover_mut() {
                t.stray.clear();
            }
            return;
        }
        let known = match &self.mode {
            Mode::Passive { takeover, .. } => takeover.stray.as_slice(),
            _ => &[],
        };
        if held != known {
            let list: Vec<String> = held
                .iter()
                .map(|a| format!("{} on {}", a.address, a.device))
                .collect();
            self.log(
                now,
                None,
                format!(
                    "this passive node's host holds {}: asking who else answers for it",
                    list.join(", ")
                ),
            );
            if let Some(t) = self.takeover_mut() {
                t.stray = held.clone();
            }
        }
        if self.conflict.is_some() {
            return;
        }
        let Mode::Passive { monitor: m, .. } = &mut self.mode else {
            return;
        };
        let id = m.issue_id();
        let timeout = self.config.network.timeout;
        self.conflict = Some(ConflictInFlight { id, sent_at: now });
        self.timers
            .set(NodeTimer::ConflictAnswer, now + timeout + ANSWER_GRACE);
        let targets = held
            .iter()
            .map(|a| ArpTarget {
                device: a.device.clone(),
                address: a.address,
            })
            .collect();
        self.push(Action::ConflictCheck {
            id,
            targets,
            timeout,
            report_empty: true,
        });
    }

    fn on_passive_conflict(&mut self, now: Instant, rivals: &[Rival]) {
        let held = match &self.mode {
            Mode::Passive { takeover, .. } => takeover.stray.clone(),
            _ => vec![],
        };
        let decider = self.config.channels.iter().find_map(|c| {
            rivals
                .iter()
                .filter(|r| r.rival_mac != r.own_mac)
                .find(|r| {
                    r.device == c.device
                        && r.address == c.activeip
                        && held.iter().any(|a| a.address == r.address)
                })
                .map(|r| (c.ident.clone(), r.clone()))
        });
        let Some((ident, r)) = decider else {
            // Nobody else answers for it: the passive monitor's own rules apply (a host holding
            // every activeip at start resumes as active; the active re-claims one it lost).
            return;
        };
        let (own, rival) = (format_mac(&r.own_mac), format_mac(&r.rival_mac));
        let seen = format!(
            "split brain: {} on {} is held by this passive node and answered by {rival} (this node: {own})",
            r.address, r.device
        );
        let fit = !matches!(self.fitness(now), fitness::Verdict::Unfit { .. });
        if r.own_mac < r.rival_mac && fit {
            self.log(
                now,
                Some(&ident),
                format!("{seen}; the lower MAC keeps the activeips: taking over"),
            );
            self.take_over(
                now,
                TakeoverReason::SplitBrainKept,
                "claiming the activeips (split brain, this node keeps them)",
            );
        } else {
            self.log(
                now,
                Some(&ident),
                format!("{seen}; the lower MAC keeps the activeips: releasing them here"),
            );
            if let Some(t) = self.takeover_mut() {
                t.stray.clear();
            }
            self.push(Action::ReleaseAddresses {
                remove: held,
                restore: vec![],
            });
        }
    }
}
