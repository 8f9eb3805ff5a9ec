//! The fast paths over the sync link, decided here and carried out by the shell: heartbeats every
//! `synctime` (role, fitness, channel health, epoch), the release notice an active sends before it
//! lets go, the planned handover (`failoverctl handover`), carrier events and the service check.
//!
//! A missing heartbeat is evidence, never a decision: the source document's ARP checks still decide
//! when the active is gone. What the fast paths add is speed when the peer *says* what happened: an
//! authentic notice, a handover agreed in one exchange, or a carrier the kernel reported lost.

use std::collections::BTreeMap;

use super::*;
use crate::core::action::HandoverMessage;
use crate::peer::{HandoverAsk, HandoverReply, Heartbeat, Notice, NoticeReason, Refusal};

/// Heartbeats missed in a row before the log says so (evidence only).
pub const HEARTBEATS_LOST: u32 = 3;

/// The peer's last heartbeat and when it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PeerBeat {
    pub(super) at: Instant,
    pub(super) beat: Heartbeat,
}

/// A planned handover in progress on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HandoverState {
    /// This active asked the passive whether it is fit; waiting for its reply.
    AskedPassive { client: u64, request: u64 },
    /// This passive asked the active to release; waiting for its notice.
    AskedActive { client: u64, request: u64 },
    /// This node released; waiting for the peer's heartbeat as active in a later epoch.
    Released { client: u64, epoch: u64 },
}

/// The fast paths' state inside a [`Node`].
#[derive(Debug, Clone, Default)]
pub(super) struct FastState {
    /// Grows with every takeover of either node (the highest seen, plus one at our takeover).
    pub(super) epoch: u64,
    pub(super) peer: Option<PeerBeat>,
    /// The loss of the peer's heartbeats was logged (once per loss).
    pub(super) beats_lost: bool,
    pub(super) handover: Option<HandoverState>,
    pub(super) next_request: u64,
    /// The service check in flight, and which (`None`: `[policy] check=`; `Some(i)`: channel i's).
    pub(super) check_in_flight: Option<(RequestId, Option<usize>)>,
    /// The checks of this round still to run, last first (one runs at a time).
    pub(super) check_queue: Vec<Option<usize>>,
    /// Failures in a row, per check.
    pub(super) check_failures: BTreeMap<Option<usize>, u32>,
}

impl Node {
    /// Heartbeats, notices and handovers need the peer protocol (peerip and key).
    pub(super) fn fast_paths(&self) -> bool {
        self.has_peer_protocol()
    }

    /// Arms the first heartbeat (at start).
    pub(super) fn start_heartbeats(&mut self, now: Instant) {
        if self.fast_paths() {
            self.timers.set(NodeTimer::Heartbeat, now);
        }
    }

    /// "Fit to serve": could this node carry every channel right now? Its role allows it, every
    /// channel device has its carrier, and with `requirefit` the fitness rule (the node's own test
    /// hosts answer it: [`Node::fitness`]) has not found it unfit.
    pub(super) fn fit_to_serve(&self, now: Instant) -> Result<(), String> {
        self.fit_by_role_and_carrier()?;
        if self.requires_fit() && self.role == Role::Passive {
            if let super::fitness::Verdict::Unfit { reason, .. } = self.fitness(now) {
                return Err(reason);
            }
        }
        Ok(())
    }

    /// The part of [`Node::fit_to_serve`] that needs no fresh probe: the role and the carriers.
    pub(super) fn fit_by_role_and_carrier(&self) -> Result<(), String> {
        match (self.role, &self.mode) {
            (Role::Stopped | Role::Failed, _) => return Err(format!("this node is {}", self.role)),
            (Role::Passive, Mode::Done) => return Err("this node's run is done".into()),
            _ => {}
        }
        if self.role == Role::Passive && self.scope == Scope::ActiveOnly {
            return Err("run-active does not take over".into());
        }
        match self
            .config
            .channels
            .iter()
            .find(|c| !self.fitness.carrier(&c.device))
        {
            Some(c) => Err(format!("no carrier on {}, channel {}", c.device, c.ident)),
            None => Ok(()),
        }
    }

    /// The peer's last heartbeat, if it is fresh (within [`HEARTBEATS_LOST`] × synctime).
    fn fresh_peer(&self, now: Instant) -> Option<&Heartbeat> {
        let limit = self.config.network.synctime * HEARTBEATS_LOST;
        self.fast
            .peer
            .as_ref()
            .filter(|p| now.saturating_since(p.at) <= limit)
            .map(|p| &p.beat)
    }

    /// The peer said, recently, that it is a passive fit to serve.
    pub(super) fn peer_fit(&self, now: Instant) -> bool {
        self.fresh_peer(now)
            .is_some_and(|b| b.role == crate::peer::Role::Passive && b.fit)
    }

    /// The peer vouches for itself as a non-rival: its last authentic heartbeat, at most synctime +
    /// timeout old, says it is passive. A passive that takes over says so at once (a heartbeat on
    /// every role change), so until then only a foreign station could answer for our activeips.
    pub(super) fn peer_vouches(&self, now: Instant) -> bool {
        let limit = self.config.network.synctime + self.config.network.timeout;
        self.fast_paths()
            && self.fast.peer.as_ref().is_some_and(|p| {
                p.beat.role == crate::peer::Role::Passive && now.saturating_since(p.at) <= limit
            })
    }

    fn heartbeat(&self, now: Instant) -> Heartbeat {
        let carrier = |dev: &str| self.fitness.carrier(dev);
        let channels = match &self.mode {
            Mode::Active { monitor: m, .. } => m
                .status()
                .iter()
                .map(|c| c.failures == 0 && carrier(&c.device))
                .collect(),
            _ => self
                .config
                .channels
                .iter()
                .map(|c| carrier(&c.device))
                .collect(),
        };
        Heartbeat {
            role: if self.role == Role::Active {
                crate::peer::Role::Active
            } else {
                crate::peer::Role::Passive
            },
            fit: self.fit_to_serve(now).is_ok(),
            epoch: self.fast.epoch,
            channels,
        }
    }

    /// Sends a heartbeat now (also between the periodic ones, when role or fitness changed).
    pub(super) fn send_heartbeat(&mut self, now: Instant) {
        if self.fast_paths() && matches!(self.role, Role::Active | Role::Passive) {
            let beat = self.heartbeat(now);
            self.push(Action::SendHeartbeat(beat));
        }
    }

    /// The fast paths' timers (called from [`Node::handle_timeout`]).
    pub(super) fn fast_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(NodeTimer::Heartbeat, now) {
            self.send_heartbeat(now);
            // A one-role run whose work is done (run-passive after its takeover) ends: no more.
            if matches!(self.role, Role::Active | Role::Passive) && !matches!(self.mode, Mode::Done)
            {
                self.timers
                    .set(NodeTimer::Heartbeat, now + self.config.network.synctime);
            }
        }
        if self.timers.take_expired(NodeTimer::HeartbeatLost, now) && !self.fast.beats_lost {
            self.fast.beats_lost = true;
            let age = self
                .fast
                .peer
                .as_ref()
                .map_or(0, |p| (now - p.at).as_millis());
            self.log(
                now,
                None,
                format!(
                    "no heartbeat from the peer for {age} ms: noted; the ARP checks decide, not this"
                ),
            );
        }
        if self.timers.take_expired(NodeTimer::Handover, now) {
            if let Some(h) = self.fast.handover.take() {
                let message = match h {
                    HandoverState::AskedPassive { .. } | HandoverState::AskedActive { .. } => {
                        "the peer did not answer on the sync link; nothing was changed"
                    }
                    HandoverState::Released { .. } => {
                        "released, but the peer has not reported holding the activeips yet"
                    }
                };
                self.handover_done(now, h, false, message.to_owned());
            }
        }
        if self.timers.take_expired(NodeTimer::CheckAnswer, now) {
            if let Some((id, _)) = self.fast.check_in_flight {
                self.on_check_done(now, id, Err("no answer from the shell".into()));
            }
        }
        if self.timers.take_expired(NodeTimer::ServiceCheck, now) {
            self.run_check(now);
        }
    }

    /// The fast paths' inputs (called from [`Node::handle`]).
    pub(super) fn fast_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::PeerHeartbeat(beat) => self.on_heartbeat(now, beat),
            Input::ReleaseNotice(notice) => self.on_notice(now, notice),
            Input::PeerHandover(HandoverMessage::Ask(ask)) => self.on_handover_ask(now, ask),
            Input::PeerHandover(HandoverMessage::Reply(reply)) => {
                self.on_handover_reply(now, reply)
            }
            Input::HandoverRequest { client, timeout } => {
                self.on_handover_request(now, client, timeout)
            }
            Input::CheckDone { id, outcome } => self.on_check_done(now, id, outcome),
            _ => {}
        }
    }

    fn on_heartbeat(&mut self, now: Instant, beat: Heartbeat) {
        if self.fast.beats_lost {
            self.fast.beats_lost = false;
            self.log(now, None, "heartbeats from the peer again".into());
        }
        self.fast.epoch = self.fast.epoch.max(beat.epoch);
        let limit = self.config.network.synctime * HEARTBEATS_LOST;
        self.timers.set(NodeTimer::HeartbeatLost, now + limit);
        if let Some(HandoverState::Released { client, epoch }) = self.fast.handover {
            if beat.role == crate::peer::Role::Active && beat.epoch > epoch {
                let h = self.fast.handover.take().expect("matched above");
                self.handover_done(now, h, true, "the peer holds the activeips".into());
                let _ = client;
            }
        }
        self.fast.peer = Some(PeerBeat { at: now, beat });
    }

    /// The release notice goes out first, before the addresses (see [`Node::release`]).
    pub(super) fn send_notice(&mut self, reason: NoticeReason) {
        if self.fast_paths() {
            self.push(Action::SendNotice(Notice {
                epoch: self.fast.epoch,
                reason,
            }));
        }
    }

    fn on_notice(&mut self, now: Instant, notice: Notice) {
        if self.role != Role::Passive {
            return;
        }
        if notice.epoch < self.fast.epoch {
            self.log(
                now,
                None,
                format!(
                    "ignoring a release notice of epoch {} (this pair is at {})",
                    notice.epoch, self.fast.epoch
                ),
            );
            return;
        }
        // The notice says the releaser's epoch: the takeover's must be above it even when no
        // heartbeat of the peer came yet (both at epoch 1 after a start; its handover then
        // waited for a heartbeat "of a later epoch" that never came).
        self.fast.epoch = self.fast.epoch.max(notice.epoch);
        if let Err(why) = self.fit_to_serve(now) {
            self.log(
                now,
                None,
                format!(
                    "the peer released ({}), but not taking over: {why}",
                    notice.reason
                ),
            );
            return;
        }
        let planned = matches!(notice.reason, NoticeReason::Handover | NoticeReason::Stop);
        let held = match &self.mode {
            Mode::Passive { monitor: m, .. } => m.status().not_before_at.filter(|&t| now < t),
            _ => None,
        };
        if let (Some(until), false) = (held, planned) {
            self.log(
                now,
                None,
                format!(
                    "the peer released ({}), but this node demoted recently: no takeover for {} ms more",
                    notice.reason,
                    (until - now).as_millis()
                ),
            );
            return;
        }
        let handover = matches!(self.fast.handover, Some(HandoverState::AskedActive { .. }));
        let reason = if handover || notice.reason == NoticeReason::Handover {
            TakeoverReason::Handover
        } else {
            TakeoverReason::ReleaseNotice
        };
        self.take_over(
            now,
            reason,
            &format!(
                "the peer released the activeips ({}): taking over at once",
                notice.reason
            ),
        );
        if let Some(h @ HandoverState::AskedActive { .. }) = self.fast.handover {
            self.fast.handover = None;
            self.handover_done(now, h, true, "this node holds the activeips".into());
        }
    }

    /// After every takeover: a new epoch, and the peer hears of it at once.
    pub(super) fn after_takeover_fast(&mut self, now: Instant) {
        let seen = self.fast.peer.as_ref().map_or(0, |p| p.beat.epoch);
        self.fast.epoch = self.fast.epoch.max(seen) + 1;
        self.send_heartbeat(now);
        if matches!(self.mode, Mode::Done) {
            // run-passive's work ends with this takeover: no periodic heartbeat keeps it running.
            self.timers.stop(NodeTimer::Heartbeat);
        }
        self.reset_checks();
        if self.has_checks() && matches!(self.mode, Mode::Active { .. }) {
            self.timers
                .set(NodeTimer::ServiceCheck, now + self.config.network.checktime);
        }
    }

    /// After every release: no service checks while passive.
    pub(super) fn after_release_fast(&mut self) {
        self.reset_checks();
        self.timers.stop(NodeTimer::ServiceCheck);
    }

    fn reset_checks(&mut self) {
        self.fast.check_in_flight = None;
        self.fast.check_queue.clear();
        self.fast.check_failures.clear();
        self.timers.stop(NodeTimer::CheckAnswer);
    }

    // --- handover ---------------------------------------------------------------------------

    fn on_handover_request(&mut self, now: Instant, client: u64, timeout: Duration) {
        let refuse = |node: &mut Node, why: &str| {
            node.push(Action::HandoverDone {
                client,
                ok: false,
                message: why.to_owned(),
            });
        };
        if !self.fast_paths() {
            return refuse(
                self,
                "a handover needs the peer protocol: [sendconfig] peerip and key or keyfile",
            );
        }
        if self.fast.handover.is_some() {
            return refuse(self, "another handover is in progress");
        }
        if self.pending().is_some() {
            return refuse(self, "a failure is being decided; try again later");
        }
        self.fast.next_request += 1;
        let request = self.fast.next_request;
        let (state, ask) = match self.role {
            Role::Active => (
                HandoverState::AskedPassive { client, request },
                HandoverAsk {
                    request,
                    role: crate::peer::Role::Active,
                    fit: true,
                },
            ),
            Role::Passive => {
                if let Err(why) = self.fit_to_serve(now) {
                    return refuse(self, &format!("this node is not fit to serve: {why}"));
                }
                (
                    HandoverState::AskedActive { client, request },
                    HandoverAsk {
                        request,
                        role: crate::peer::Role::Passive,
                        fit: true,
                    },
                )
            }
            other => return refuse(self, &format!("this node is {other}")),
        };
        self.log(
            now,
            None,
            format!(
                "handover requested on this {} node: asking the peer",
                self.role
            ),
        );
        self.fast.handover = Some(state);
        self.timers.set(NodeTimer::Handover, now + timeout);
        self.push(Action::SendHandover(HandoverMessage::Ask(ask)));
    }

    fn reply(&mut self, request: u64, refusal: Option<Refusal>) {
        self.push(Action::SendHandover(HandoverMessage::Reply(
            HandoverReply { request, refusal },
        )));
    }

    fn on_handover_ask(&mut self, now: Instant, ask: HandoverAsk) {
        use crate::peer::Role as R;
        match (ask.role, self.role) {
            // The active asks: is this passive fit? The notice follows an acceptance.
            (R::Active, Role::Passive) => {
                let refusal = match self.fit_to_serve(now) {
                    Ok(()) if self.fast.handover.is_none() => None,
                    Ok(()) => Some(Refusal::Busy),
                    Err(why) => {
                        self.log(now, None, format!("refusing a handover: {why}"));
                        Some(Refusal::NotFit)
                    }
                };
                self.reply(ask.request, refusal);
            }
            // The passive asks this active to release to it.
            (R::Passive, Role::Active) if ask.fit && self.fast.handover.is_none() => {
                self.hand_over(now, "the peer asked for a handover");
            }
            (R::Passive, Role::Active) => {
                let refusal = if ask.fit {
                    Refusal::Busy
                } else {
                    Refusal::NotFit
                };
                self.reply(ask.request, Some(refusal));
            }
            (R::Active, _) => self.reply(ask.request, Some(Refusal::NotPassive)),
            (R::Passive, _) => self.reply(ask.request, Some(Refusal::NotActive)),
        }
    }

    fn on_handover_reply(&mut self, now: Instant, reply: HandoverReply) {
        match self.fast.handover {
            Some(h @ HandoverState::AskedPassive { client, request })
                if request == reply.request =>
            {
                match reply.refusal {
                    None if self.role == Role::Active => {
                        let epoch = self.fast.epoch;
                        self.hand_over(now, "the peer is fit: handing over");
                        self.fast.handover = Some(HandoverState::Released { client, epoch });
                    }
                    None => {
                        self.fast.handover = None;
                        self.handover_done(
                            now,
                            h,
                            false,
                            format!("this node is {} now", self.role),
                        );
                    }
                    Some(r) => {
                        self.fast.handover = None;
                        self.handover_done(now, h, false, format!("{r}; nothing was changed"));
                    }
                }
            }
            Some(h @ HandoverState::AskedActive { request, .. }) if request == reply.request => {
                self.fast.handover = None;
                let why = reply
                    .refusal
                    .map_or("refused".to_owned(), |r| r.to_string());
                self.handover_done(now, h, false, format!("{why}; nothing was changed"));
            }
            _ => {}
        }
    }

    /// The active's side of a handover: the notice, the release, passive with the demote hold-off
    /// (so it does not take back while the peer claims).
    fn hand_over(&mut self, now: Instant, why: &str) {
        self.take_pending();
        self.holding = None;
        self.held = None;
        self.timers.stop(NodeTimer::PeerAnswer);
        self.release(now, why, NoticeReason::Handover);
        let holdoff = demote_holdoff(&self.config);
        self.become_passive(now, now + holdoff);
    }

    fn handover_done(&mut self, now: Instant, h: HandoverState, ok: bool, message: String) {
        self.timers.stop(NodeTimer::Handover);
        let client = match h {
            HandoverState::AskedPassive { client, .. }
            | HandoverState::AskedActive { client, .. }
            | HandoverState::Released { client, .. } => client,
        };
        self.log(
            now,
            None,
            format!("handover {}: {message}", if ok { "done" } else { "failed" }),
        );
        self.push(Action::HandoverDone {
            client,
            ok,
            message,
        });
    }

    pub(super) fn handover_done_stopping(&mut self, now: Instant, h: HandoverState) {
        self.handover_done(now, h, false, "the daemon is stopping".into());
    }

    // --- carrier ----------------------------------------------------------------------------

    /// A device's carrier, already recorded by the fitness rule: `before_carrier` is what that
    /// record said before (`None`: never reported), `was_fit` the node's fitness before.
    pub(super) fn on_carrier(
        &mut self,
        now: Instant,
        device: String,
        up: bool,
        before_carrier: Option<bool>,
        was_fit: bool,
    ) {
        // Unchanged, or the first report (at start) of a carrier that is up: nothing to say.
        if before_carrier == Some(up) || (before_carrier.is_none() && up) {
            return;
        }
        let Some(index) = self.config.channels.iter().position(|c| c.device == device) else {
            return;
        };
        let ident = self.config.channels[index].ident.clone();
        self.log(
            now,
            Some(&ident),
            format!(
                "carrier {} on {device} (channel {ident})",
                if up { "back" } else { "lost" }
            ),
        );
        if self.fit_to_serve(now).is_ok() != was_fit {
            // The peer learns of a change of fitness now, not at the next synctime.
            self.send_heartbeat(now);
        }
        // Acting on the kernel's word rather than waiting for the next check is the improved
        // policy's (with the fitness rule); the classic one checks every checktime, as the source
        // document says.
        if up || self.role != Role::Active || !self.requires_fit() {
            return;
        }
        // Check the channel at once instead of at the next checktime.
        if let Mode::Active { monitor: m, .. } = &mut self.mode {
            m.check_now(now);
            m.handle_timeout(now);
        }
        let peer_serves_it = self
            .fresh_peer(now)
            .is_some_and(|b| b.channels.get(index).copied().unwrap_or(true));
        if self.peer_fit(now)
            && peer_serves_it
            && self.pending().is_none()
            && limit_reached(&self.config.policy, &self.history, now).is_none()
        {
            // The link is gone and the peer says it can serve: hand over now. A failure action of
            // the node (a demote), so maxfailovers counts it.
            self.history.record(now);
            self.tally.failure_action(&ident, "demote");
            self.push(Action::RecordFailover { at: now });
            self.release(
                now,
                &format!("carrier lost on {device}, the peer is fit to serve"),
                NoticeReason::Carrier,
            );
            let holdoff = demote_holdoff(&self.config);
            self.become_passive(now, now + holdoff);
        }
    }

    // --- service check ----------------------------------------------------------------------

    /// Every configured service check: the node's (`[policy] check=`) first, then each channel's.
    fn checks(&self) -> Vec<Option<usize>> {
        let node = self.config.policy.check.is_some().then_some(None);
        let channels = (0..self.config.channels.len())
            .filter(|&i| self.config.channels[i].check.is_some())
            .map(Some);
        node.into_iter().chain(channels).collect()
    }

    pub(super) fn has_checks(&self) -> bool {
        self.config.policy.check.is_some() || self.config.channels.iter().any(|c| c.check.is_some())
    }

    fn check_command(&self, which: Option<usize>) -> Option<String> {
        match which {
            None => self.config.policy.check.clone(),
            Some(i) => self.config.channels.get(i).and_then(|c| c.check.clone()),
        }
    }

    /// Runs the next check of this round (a new round when none is left). One runs at a time, each
    /// bounded by checktime; the next round starts checktime after the last one answered.
    fn run_check(&mut self, now: Instant) {
        if self.role != Role::Active || self.fast.check_in_flight.is_some() {
            return;
        }
        if self.fast.check_queue.is_empty() {
            self.fast.check_queue = self.checks();
            self.fast.check_queue.reverse();
        }
        let Some(which) = self.fast.check_queue.pop() else {
            return;
        };
        let Some(command) = self.check_command(which) else {
            return;
        };
        let id = match &mut self.mode {
            Mode::Active { monitor: m, .. } => m.issue_id(),
            _ => {
                self.ids.next_id();
                return;
            }
        };
        let timeout = self.config.network.checktime;
        self.fast.check_in_flight = Some((id, which));
        let check = Action::RunCheck {
            id,
            command,
            timeout,
            channel: which.unwrap_or(0),
        };
        self.request(now, NodeTimer::CheckAnswer, timeout, check);
    }

    fn on_check_done(&mut self, now: Instant, id: RequestId, outcome: Result<(), String>) {
        let Some((flying, which)) = self.fast.check_in_flight else {
            return;
        };
        if flying != id {
            return;
        }
        self.fast.check_in_flight = None;
        self.timers.stop(NodeTimer::CheckAnswer);
        if self.role != Role::Active {
            return;
        }
        let limit = self.config.network.channelretries;
        // The node's check fails the node (handled as the first channel's failure); a channel's
        // check fails that channel, asked about with its own test hosts.
        let index = which.unwrap_or(0);
        let ident = self.config.channels[index].ident.clone();
        let (name, channel) = match which {
            None => ("service check".to_owned(), None),
            Some(_) => (
                format!("service check of channel {ident}"),
                Some(ident.as_str()),
            ),
        };
        match outcome {
            Ok(()) => {
                if self
                    .fast
                    .check_failures
                    .remove(&which)
                    .is_some_and(|n| n > 0)
                {
                    self.log(now, channel, format!("{name} passes again"));
                }
            }
            Err(why) => {
                let n = {
                    let n = self.fast.check_failures.entry(which).or_insert(0);
                    *n += 1;
                    *n
                };
                self.log(now, channel, format!("{name} failed ({n}/{limit}): {why}"));
                if n >= limit && self.pending().is_none() {
                    self.fast.check_failures.remove(&which);
                    let failure = ChannelFailure {
                        channel: ident.clone(),
                        index,
                        at: now,
                        failures: n,
                        from_probes: false,
                    };
                    let what = match which {
                        None => format!("a failure of the node (handled as channel {ident}'s)"),
                        Some(_) => format!("a failure of channel {ident}"),
                    };
                    self.log(
                        now,
                        channel,
                        format!("{name} failed {n} times in a row: {what}"),
                    );
                    self.on_failure(now, failure);
                }
            }
        }
        if self.role == Role::Active && self.has_checks() {
            if self.fast.check_queue.is_empty() {
                self.timers
                    .set(NodeTimer::ServiceCheck, now + self.config.network.checktime);
            } else {
                self.run_check(now);
            }
        }
    }
}
