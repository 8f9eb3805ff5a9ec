//! The passive's question to the active over the sync link before it takes over (`requirepeer` with
//! the peer protocol): asked when a streak of unanswered ARP checks starts, decided at its end.

use super::*;

impl Node {
    /// Whether the passive asks the active over the sync link before taking over: `requirepeer` with
    /// the peer protocol configured. The classic algorithm takes over on the ARP checks alone.
    pub(super) fn asks_active(&self) -> bool {
        self.config.policy.requirepeer && self.has_peer_protocol()
    }

    /// A healthy active: the peer answers as the active and reaches the asked test hosts (by the
    /// `testhosts` rule).
    pub(super) fn judge_active(&mut self, now: Instant, report: &PeerReport) -> bool {
        let reaches = self
            .config
            .policy
            .testhosts
            .healthy(report.reached.iter().copied());
        let active = report.role == Role::Active;
        let first = self.config.channels[0].ident.clone();
        self.log(
            now,
            None,
            format!(
                "the peer answers as {} and {} channel {first}'s test hosts",
                if active { "active" } else { "passive" },
                if reaches { "reaches" } else { "cannot reach" }
            ),
        );
        active && reaches
    }

    /// While passive: the question to the active goes out when a streak of unanswered ARP checks
    /// starts, beside the re-checks, so its answer is in by the time the counter reaches
    /// activeretries and the takeover is not delayed; a streak that ends forgets it.
    pub(super) fn track_streak(&mut self, now: Instant) {
        let asks = self.asks_active();
        let Mode::Passive {
            monitor: m,
            takeover: t,
        } = &mut self.mode
        else {
            return;
        };
        if m.status().failures == 0 {
            if !t.takeover_waiting {
                t.asking_active = None;
                t.active_health = None;
                self.timers.stop(NodeTimer::TakeoverAnswer);
            }
            return;
        }
        if t.asking_active.is_some() || t.active_health.is_some() || !asks {
            return;
        }
        let id = m.issue_id();
        self.ask_active(now, id);
    }

    pub(super) fn ask_active(&mut self, now: Instant, id: RequestId) {
        let first = &self.config.channels[0];
        let (channel, testips) = (first.ident.clone(), first.testips.clone());
        let timeout = peer_check_timeout(&self.config);
        if let Some(t) = self.takeover_mut() {
            t.asking_active = Some(id);
        }
        let ask = Action::AskPeer {
            id,
            channel,
            testips,
            timeout,
        };
        self.request(now, NodeTimer::TakeoverAnswer, timeout, ask);
    }

    /// The passive decided the active is gone: with the question answered, decide; with it in
    /// flight, wait for it; without the peer protocol, take over at once.
    pub(super) fn before_takeover(&mut self, now: Instant) {
        // Fitness first: a node that cannot serve never claims, whatever the active's state.
        if !self.takeover_if_fit(now) {
            return;
        }
        // Issue 14: an authentic heartbeat saying the active is alive and healthy, newer than the
        // last ARP answer, means the checks failed on the path (loss, this node's own LAN): hold.
        if self.heartbeat_holds(now) {
            self.decline(
                now,
                "not taking over: the active's heartbeat, newer than its last ARP answer, says it \
                 is active and healthy, so the ARP checks failed on the path (loss, or this node's \
                 own LAN)",
            );
            return;
        }
        if !self.asks_active() {
            self.take_over(now, TakeoverReason::ActiveGone, "claiming the activeips");
            return;
        }
        if let Some(healthy) = self.takeover_mut().and_then(|t| t.active_health.take()) {
            self.decide_takeover(now, healthy);
            return;
        }
        let Mode::Passive {
            monitor: m,
            takeover: t,
        } = &mut self.mode
        else {
            return;
        };
        t.takeover_waiting = true;
        if t.asking_active.is_none() {
            let id = m.issue_id();
            self.ask_active(now, id);
        }
    }

    /// The active's answer (or its absence, `None`).
    pub(super) fn on_active_health(&mut self, now: Instant, healthy: Option<bool>) {
        self.timers.stop(NodeTimer::TakeoverAnswer);
        let Some(t) = self.takeover_mut() else {
            return;
        };
        t.asking_active = None;
        if std::mem::take(&mut t.takeover_waiting) {
            self.decide_takeover(now, healthy);
        } else {
            t.active_health = Some(healthy);
        }
    }

    /// Healthy means this node's own side failed the ARP checks: it stays passive and starts
    /// counting again; anything else (no answer, a passive peer, one that cannot reach its test
    /// hosts) and it takes over.
    pub(super) fn decide_takeover(&mut self, now: Instant, healthy: Option<bool>) {
        if let Some(t) = self.takeover_mut() {
            t.active_health = None;
        }
        if healthy != Some(true) {
            let (reason, why) = match healthy {
                None => (
                    TakeoverReason::ActiveSilent,
                    "the active does not answer on the sync link either: claiming the activeips",
                ),
                _ => (
                    TakeoverReason::ActiveUnhealthy,
                    "the peer is not a healthy active: claiming the activeips",
                ),
            };
            self.take_over(now, reason, why);
            return;
        }
        self.decline(
            now,
            "not taking over: the active answers on the sync link and reaches its test hosts, \
             so the ARP checks failed on this node's side (its own LAN?)",
        );
    }

    /// Stays passive (alerting the first time in a row) and starts counting again.
    fn decline(&mut self, now: Instant, text: &str) {
        let d = self.decision(now, None, text.to_owned());
        let again = self
            .takeover_mut()
            .is_some_and(|t| std::mem::replace(&mut t.declined, true));
        self.push(if again {
            Action::Log(d)
        } else {
            Action::Alert(d)
        });
        self.restart_passive(now, None);
    }

    /// The peer's last heartbeat said "active, fit, every channel healthy", came after the last
    /// answer to this node's ARP checks, and is still current ([`crate::core::claims`]).
    fn heartbeat_holds(&self, now: Instant) -> bool {
        let Some(p) = self.fast.peer.as_ref() else {
            return false;
        };
        let healthy = p.beat.role == crate::peer::Role::Active
            && p.beat.fit
            && p.beat.channels.iter().all(|&c| c);
        let streak_started_at = match &self.mode {
            Mode::Passive { monitor: m, .. } => m.status().last_seen_at.unwrap_or(Instant::ZERO),
            _ => return false,
        };
        healthy
            && crate::core::claims::heartbeat_holds_takeover(
                now,
                Some(p.at),
                streak_started_at,
                self.config.network.synctime,
                self.config.network.timeout,
            )
    }
}
