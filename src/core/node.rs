//! The `run` service's composition: a [`Node`] starts passive, takes over when the active is gone,
//! monitors as active, and on a channel failure applies the policy: hold, demote (back to passive),
//! reboot or exec.
//!
//! While active it also looks for a rival owner of its activeips every checktime
//! ([`Action::ConflictCheck`]): a passive that missed activeretries answers in a row (loss, a switch's
//! hiccup) takes over beside a live active, and without this both would stay active forever. The
//! tie-break needs no talk: on the channel where a rival answers, the node with the lower MAC keeps the
//! addresses and re-announces them; the other releases and becomes passive with the demote hold-off.
//!
//! Polling order (as quinn-proto's `Connection`): feed [`Node::handle`]`(now, input)` for every answer,
//! call [`Node::handle_timeout`]`(now)` when `now` reaches [`Node::poll_timeout`], then drain
//! [`Node::poll_action`] until `None` and carry out each action; then sleep until the next
//! [`Node::poll_timeout`] or the next answer.

use std::collections::VecDeque;

use serde::Serialize;
use std::time::Duration;

use super::action::{
    Action, Address, Decision, FailureCommand, Hook, Input, RequestId, RequestIds, Role,
    ANSWER_GRACE,
};
use super::active::{ActiveMonitor, ChannelFailure};
use super::passive::PassiveMonitor;
use super::policy::{limit_reached, FailoverHistory, HoldReason};
use super::status::{Status, RECENT_DECISIONS};
use super::timer::Timers;
use super::Instant;
use crate::config::{Config, FailureAction};
use crate::net::{format_mac, ArpTarget, Rival};

/// Start stagger slots. Two nodes started at once both see no active; the one in the lower slot takes
/// over first and the other sees it. The slot is `[policy] priority` (0..7) when set, else the first
/// passiveip's last octet modulo this. Equal slots race: both take over, and the conflict check ends
/// it (slower); set different priorities, the lower on the node that should be active.
pub const STAGGER_SLOTS: u32 = 8;

/// A stagger slot lasts 2 × timeout: one ARP check for the later node to see the earlier one's claim,
/// plus one of margin.
fn start_stagger(config: &Config) -> Duration {
    let slot = match config.policy.priority {
        Some(p) => u32::from(p) % STAGGER_SLOTS,
        None => config
            .channels
            .first()
            .map_or(0, |c| u32::from(c.passiveip.octets()[3]) % STAGGER_SLOTS),
    };
    config.network.timeout * 2 * slot
}

/// How long the peer may take to probe the failed channel's test hosts and answer: two timeouts, so
/// its own probes get one and a half (the responder probes for three quarters of the question's).
pub fn peer_check_timeout(config: &Config) -> Duration {
    config.network.timeout * 2
}

/// After a demote, the peer gets a full passive detection window ("checktime + (timeout *
/// activeretries)", plus a check in flight and one more checktime) before this node may take back.
fn demote_holdoff(config: &Config) -> Duration {
    let n = &config.network;
    n.checktime * 2 + n.timeout * (n.activeretries + 1)
}

/// How much of the service a [`Node`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// `failoverctl run`: passive, takeover, active, demote back to passive, for as long as it runs.
    Service,
    /// `failoverctl run-passive`: the passive monitor; after a takeover (claim, the gratuitous ARP
    /// burst, the up hook) the node is done.
    PassiveOnly,
    /// `failoverctl run-active`: claim, then the active monitor; after the failure action (or a
    /// demote's release) the node is done.
    ActiveOnly,
}

#[derive(Debug, Clone, Copy)]
enum NodeTimer {
    /// The next gratuitous ARP (burst or refresh).
    Announce,
    /// The peer check counts as "peer down" after this.
    PeerAnswer,
    /// The next look for a rival owner of the activeips (every checktime while active).
    Conflict,
    /// The conflict check in flight counts as answered by nobody after this.
    ConflictAnswer,
    /// The passive's question to the active before taking over counts as unanswered after this.
    TakeoverAnswer,
}

impl From<NodeTimer> for usize {
    fn from(t: NodeTimer) -> usize {
        t as usize
    }
}

#[derive(Debug, Clone)]
enum Mode {
    Passive(PassiveMonitor),
    Active(ActiveMonitor),
    /// Rebooting or stopped: nothing more is decided.
    Done,
}

/// A failure waiting for the peer check.
#[derive(Debug, Clone)]
struct PendingFailure {
    failure: ChannelFailure,
    check: RequestId,
}

/// A conflict check waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct ConflictInFlight {
    id: RequestId,
    sent_at: Instant,
}

/// One node of the pair.
#[derive(Debug, Clone)]
pub struct Node {
    config: Config,
    scope: Scope,
    mode: Mode,
    role: Role,
    since: Instant,
    ids: RequestIds,
    timers: Timers<NodeTimer, 5>,
    announcements_left: u32,
    /// The passiveips were dropped at takeover (`releasepassiveip`) and are owed back at release.
    passive_dropped: bool,
    holding: Option<HoldReason>,
    /// The channel whose failure is held, and since when: the hold is lifted once it is healthy again.
    held: Option<(String, Instant)>,
    pending: Option<PendingFailure>,
    conflict: Option<ConflictInFlight>,
    /// The ownership check in flight (answered at once by the shell).
    ownership: Option<RequestId>,
    /// The passive's question to the active before taking over, in flight.
    asking_active: Option<RequestId>,
    /// Its answer within the current streak of unanswered ARP checks (`Some(None)`: no answer).
    active_health: Option<Option<bool>>,
    /// The takeover verdict is in and waits for that answer.
    takeover_waiting: bool,
    /// A takeover was already declined because the active answered healthy: alert only once.
    declined: bool,
    /// The last conflict check found a rival and this node kept the addresses: when the rival is gone,
    /// announce once more, since neighbours may have learned its MAC in between.
    rival_seen: bool,
    /// The first conflict check since taking over is still to come: it ends with an announcement
    /// whatever it finds, since a rival that yielded before this node's first look (its own look
    /// came first) may have been the last to teach the neighbours its MAC.
    first_look: bool,
    history: FailoverHistory,
    actions: VecDeque<Action>,
    recent: VecDeque<Decision>,
}

impl Node {
    /// Starts passive at `now`. The first ARP check goes out at once, so a node started next to a live
    /// active stays passive; two nodes started together are kept apart by the start stagger.
    /// `failovers`: the times of earlier failure actions, persisted by the shell across reboots.
    pub fn new(config: &Config, now: Instant, failovers: Vec<Instant>) -> Self {
        Self::with_scope(config, now, failovers, Scope::Service)
    }

    /// Starts passive ([`Scope::Service`] or [`Scope::PassiveOnly`]) or active ([`Scope::ActiveOnly`]).
    pub fn with_scope(
        config: &Config,
        now: Instant,
        failovers: Vec<Instant>,
        scope: Scope,
    ) -> Self {
        let mut node = Self::passive(config, now, failovers, scope);
        if scope == Scope::ActiveOnly {
            node.take_over(now, "run-active: claiming the activeips");
        }
        node
    }

    /// Starts active at once: the shell found this node already holding its activeips (the daemon
    /// was restarted while the kernel kept the addresses). Claiming again is harmless and the
    /// announcements heal any stale neighbour, so traffic sees no gap.
    pub fn resume_active(config: &Config, now: Instant, failovers: Vec<Instant>) -> Self {
        let mut node = Self::passive(config, now, failovers, Scope::Service);
        node.take_over(
            now,
            "this node already holds the activeips: resuming as active",
        );
        node
    }

    fn passive(config: &Config, now: Instant, failovers: Vec<Instant>, scope: Scope) -> Self {
        let ids = RequestIds::default();
        let passive =
            PassiveMonitor::new(config, now, Some(now + start_stagger(config)), ids.clone());
        Self {
            config: config.clone(),
            scope,
            mode: Mode::Passive(passive),
            role: Role::Passive,
            since: now,
            ids,
            timers: Timers::new(),
            announcements_left: 0,
            passive_dropped: false,
            holding: None,
            held: None,
            pending: None,
            conflict: None,
            ownership: None,
            asking_active: None,
            active_health: None,
            takeover_waiting: false,
            declined: false,
            rival_seen: false,
            first_look: false,
            history: FailoverHistory::new(failovers),
            actions: VecDeque::new(),
            recent: VecDeque::new(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// True when nothing more will happen: no deadline and no action waiting. The shell's loop ends.
    pub fn is_done(&self) -> bool {
        self.actions.is_empty() && self.poll_timeout().is_none()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let monitor = match &self.mode {
            Mode::Passive(m) => m.poll_timeout(),
            Mode::Active(m) => m.poll_timeout(),
            Mode::Done => None,
        };
        [monitor, self.timers.next()].into_iter().flatten().min()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn status(&self) -> Status {
        let (channels, passive) = match &self.mode {
            Mode::Passive(m) => (vec![], Some(m.status())),
            Mode::Active(m) => (m.status(), None),
            Mode::Done => (vec![], None),
        };
        Status {
            role: self.role,
            since: self.since,
            holding: self.holding.as_ref().map(ToString::to_string),
            channels,
            passive,
            failovers: self.history.times().to_vec(),
            recent: self.recent.iter().cloned().collect(),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(NodeTimer::Announce, now) {
            self.announce(now);
        }
        if self.timers.take_expired(NodeTimer::PeerAnswer, now) {
            if let Some(p) = self.pending.take() {
                self.log(
                    now,
                    Some(&p.failure.channel),
                    "no answer from the peer".to_owned(),
                );
                self.hold(now, &p.failure, HoldReason::PeerDown);
            }
        }
        if self.timers.take_expired(NodeTimer::ConflictAnswer, now) {
            if let Some(c) = self.conflict.take() {
                // The shell lost the answer: nobody was seen, look again at the next period.
                self.on_conflict_done(now, c.sent_at, &[]);
            }
        }
        if self.timers.take_expired(NodeTimer::TakeoverAnswer, now)
            && self.asking_active.take().is_some()
        {
            self.on_active_health(now, None);
        }
        if self.timers.take_expired(NodeTimer::Conflict, now) {
            self.conflict_check(now);
        }
        match &mut self.mode {
            Mode::Passive(m) => m.handle_timeout(now),
            Mode::Active(m) => m.handle_timeout(now),
            Mode::Done => {}
        }
        self.after_monitor(now);
    }

    /// Feeds an input; answers to requests no longer in flight are ignored.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Stop => self.stop(now),
            Input::PeerAlive { id, alive, reaches } => {
                if self.pending.as_ref().is_some_and(|p| p.check == id) {
                    self.timers.stop(NodeTimer::PeerAnswer);
                    let p = self.pending.take().expect("checked just above");
                    match (alive, reaches) {
                        (false, _) => self.hold(now, &p.failure, HoldReason::PeerDown),
                        (true, Some(false)) => {
                            let channel = p.failure.channel.clone();
                            self.hold(now, &p.failure, HoldReason::PeerCannotReach { channel })
                        }
                        (true, _) => self.act(now, &p.failure),
                    }
                }
            }
            Input::ActiveHealth { id, healthy } => {
                if self.asking_active == Some(id) {
                    self.asking_active = None;
                    self.on_active_health(now, healthy);
                }
            }
            Input::OwnershipDone { id, missing } => {
                if self.ownership == Some(id) {
                    self.ownership = None;
                    self.on_ownership_done(now, missing);
                }
            }
            Input::ConflictDone { id, rivals } => {
                if let Some(c) = self.conflict.filter(|c| c.id == id) {
                    self.conflict = None;
                    self.timers.stop(NodeTimer::ConflictAnswer);
                    self.on_conflict_done(now, c.sent_at, &rivals);
                }
            }
            other => match &mut self.mode {
                Mode::Passive(m) => m.handle(now, other),
                Mode::Active(m) => m.handle(now, other),
                Mode::Done => {}
            },
        }
        self.after_monitor(now);
    }

    fn push(&mut self, action: Action) {
        if let Action::Log(d) | Action::Alert(d) = &action {
            if self.recent.len() == RECENT_DECISIONS {
                self.recent.pop_front();
            }
            self.recent.push_back(d.clone());
        }
        self.actions.push_back(action);
    }

    fn decision(&self, now: Instant, channel: Option<&str>, reason: String) -> Decision {
        Decision {
            at: now,
            role: self.role,
            channel: channel.map(str::to_owned),
            reason,
        }
    }

    fn log(&mut self, now: Instant, channel: Option<&str>, reason: String) {
        let d = self.decision(now, channel, reason);
        self.push(Action::Log(d));
    }

    /// Moves the monitor's actions out (keeping their order) and acts on its verdict.
    fn after_monitor(&mut self, now: Instant) {
        let mut drained = Vec::new();
        let verdict = match &mut self.mode {
            Mode::Passive(m) => {
                drained.extend(std::iter::from_fn(|| m.poll_action()));
                m.poll_takeover().map(|_| None)
            }
            Mode::Active(m) => {
                drained.extend(std::iter::from_fn(|| m.poll_action()));
                m.poll_failure().map(Some)
            }
            Mode::Done => None,
        };
        for a in drained {
            self.push(a);
        }
        self.lift_hold(now);
        self.track_streak(now);
        match verdict {
            Some(None) => self.before_takeover(now),
            Some(Some(failure)) => self.on_failure(now, failure),
            None => {}
        }
    }

    fn next_ids(&self) -> RequestIds {
        let monitor = match &self.mode {
            Mode::Passive(m) => m.ids().peek(),
            Mode::Active(m) => m.ids().peek(),
            Mode::Done => 0,
        };
        RequestIds::starting_at(monitor.max(self.ids.peek()))
    }

    fn addresses(&self, active: bool) -> Vec<Address> {
        self.config
            .channels
            .iter()
            .map(|c| Address {
                device: c.device.clone(),
                address: if active { c.activeip } else { c.passiveip },
                prefix: c.prefix,
            })
            .collect()
    }

    fn hooks(&mut self, hook: Hook) {
        let command = match hook {
            Hook::Up => self.config.policy.up.clone(),
            Hook::Down => self.config.policy.down.clone(),
        };
        if let Some(command) = command {
            let idents: Vec<String> = self
                .config
                .channels
                .iter()
                .map(|c| c.ident.clone())
                .collect();
            for channel in idents {
                self.push(Action::RunHook {
                    hook,
                    channel,
                    command: command.clone(),
                });
            }
        }
    }

    /// Whether the passive asks the active over the sync link before taking over: `requirepeer` with
    /// the peer protocol configured. The classic algorithm takes over on the ARP checks alone.
    fn asks_active(&self) -> bool {
        self.config.policy.requirepeer
            && self
                .config
                .sendconfig
                .as_ref()
                .is_some_and(|s| s.peerip.is_some() && s.peerlink.key.is_some())
    }

    /// While passive: the question to the active goes out when a streak of unanswered ARP checks
    /// starts, beside the re-checks, so its answer is in by the time the counter reaches
    /// activeretries and the takeover is not delayed; a streak that ends forgets it.
    fn track_streak(&mut self, now: Instant) {
        let Mode::Passive(m) = &self.mode else {
            return;
        };
        if m.status().failures == 0 {
            if !self.takeover_waiting {
                self.asking_active = None;
                self.active_health = None;
                self.timers.stop(NodeTimer::TakeoverAnswer);
            }
            return;
        }
        if self.asking_active.is_some() || self.active_health.is_some() || !self.asks_active() {
            return;
        }
        let Mode::Passive(m) = &mut self.mode else {
            return;
        };
        let id = m.issue_id();
        self.ask_active(now, id);
    }

    fn ask_active(&mut self, now: Instant, id: RequestId) {
        let first = &self.config.channels[0];
        let (channel, testips) = (first.ident.clone(), first.testips.clone());
        let timeout = peer_check_timeout(&self.config);
        self.asking_active = Some(id);
        self.timers
            .set(NodeTimer::TakeoverAnswer, now + timeout + ANSWER_GRACE);
        self.push(Action::AskActive {
            id,
            channel,
            testips,
            timeout,
        });
    }

    /// The passive decided the active is gone: with the question answered, decide; with it in
    /// flight, wait for it; without the peer protocol, take over at once.
    fn before_takeover(&mut self, now: Instant) {
        if !self.asks_active() {
            self.take_over(now, "claiming the activeips");
            return;
        }
        if let Some(healthy) = self.active_health.take() {
            self.decide_takeover(now, healthy);
            return;
        }
        self.takeover_waiting = true;
        if self.asking_active.is_none() {
            let id = match &mut self.mode {
                Mode::Passive(m) => m.issue_id(),
                _ => return,
            };
            self.ask_active(now, id);
        }
    }

    /// The active's answer (or its absence, `None`).
    fn on_active_health(&mut self, now: Instant, healthy: Option<bool>) {
        self.asking_active = None;
        self.timers.stop(NodeTimer::TakeoverAnswer);
        if std::mem::take(&mut self.takeover_waiting) {
            self.decide_takeover(now, healthy);
        } else {
            self.active_health = Some(healthy);
        }
    }

    /// Healthy means this node's own side failed the ARP checks: it stays passive and starts
    /// counting again; anything else (no answer, a passive peer, one that cannot reach its test
    /// hosts) and it takes over.
    fn decide_takeover(&mut self, now: Instant, healthy: Option<bool>) {
        self.active_health = None;
        if healthy != Some(true) {
            let why = match healthy {
                None => {
                    "the active does not answer on the sync link either: claiming the activeips"
                }
                _ => "the peer is not a healthy active: claiming the activeips",
            };
            self.take_over(now, why);
            return;
        }
        let text =
            "not taking over: the active answers on the sync link and reaches its test hosts, \
                    so the ARP checks failed on this node's side (its own LAN?)"
                .to_owned();
        let d = self.decision(now, None, text);
        let again = std::mem::replace(&mut self.declined, true);
        self.push(if again {
            Action::Log(d)
        } else {
            Action::Alert(d)
        });
        let ids = self.next_ids();
        self.mode = Mode::Passive(PassiveMonitor::new(&self.config, now, None, ids));
        if let Mode::Passive(m) = &mut self.mode {
            m.handle_timeout(now);
        }
        self.after_monitor(now);
    }

    fn take_over(&mut self, now: Instant, why: &str) {
        self.declined = false;
        self.asking_active = None;
        self.active_health = None;
        self.takeover_waiting = false;
        self.timers.stop(NodeTimer::TakeoverAnswer);
        self.role = Role::Active;
        self.since = now;
        self.holding = None;
        self.held = None;
        let ids = self.next_ids();
        self.mode = if self.scope == Scope::PassiveOnly {
            // run-passive's work ends with the takeover; only the announcement burst remains.
            Mode::Done
        } else {
            Mode::Active(ActiveMonitor::new(&self.config, now, ids))
        };
        self.log(now, None, why.to_owned());
        let remove = if self.config.policy.releasepassiveip {
            self.passive_dropped = true;
            self.addresses(false)
        } else {
            vec![]
        };
        self.push(Action::ClaimAddresses {
            add: self.addresses(true),
            remove,
        });
        // `ip addr add` sends no ARP announcement: neighbours learn the new owner from ours.
        self.announcements_left = self.config.policy.garpcount;
        self.announce(now);
        self.hooks(Hook::Up);
        // The active monitor's first round is due now; the first look for a rival one checktime on.
        if let Mode::Active(m) = &mut self.mode {
            m.handle_timeout(now);
            self.timers
                .set(NodeTimer::Conflict, now + self.config.network.checktime);
            self.first_look = true;
        }
        self.after_monitor(now);
    }

    /// Sends one gratuitous ARP round and schedules the next (burst, then refresh).
    fn announce(&mut self, now: Instant) {
        if self.role != Role::Active {
            return;
        }
        let p = &self.config.policy;
        let (interval, refresh) = (p.garpinterval, p.garprefresh);
        if self.announcements_left > 0 {
            self.announcements_left -= 1;
            self.push(Action::Announce {
                addresses: self.addresses(true),
            });
            if self.announcements_left > 0 {
                self.timers.set(NodeTimer::Announce, now + interval);
                return;
            }
        } else {
            self.push(Action::Announce {
                addresses: self.addresses(true),
            });
        }
        match refresh {
            Some(r) if self.scope != Scope::PassiveOnly => {
                self.timers.set(NodeTimer::Announce, now + r)
            }
            _ => self.timers.stop(NodeTimer::Announce),
        }
    }

    fn release(&mut self, now: Instant, why: &str) {
        self.log(now, None, format!("releasing the activeips ({why})"));
        let restore = if std::mem::take(&mut self.passive_dropped) {
            self.addresses(false)
        } else {
            vec![]
        };
        self.push(Action::ReleaseAddresses {
            remove: self.addresses(true),
            restore,
        });
        self.timers.stop(NodeTimer::Announce);
        self.stop_conflict_checks();
        self.hooks(Hook::Down);
    }

    fn stop_conflict_checks(&mut self) {
        self.conflict = None;
        self.rival_seen = false;
        self.first_look = false;
        self.timers.stop(NodeTimer::Conflict);
        self.timers.stop(NodeTimer::ConflictAnswer);
    }

    fn conflict_targets(&self) -> Vec<ArpTarget> {
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
    fn conflict_check(&mut self, now: Instant) {
        let Mode::Active(m) = &mut self.mode else {
            return;
        };
        let id = m.issue_id();
        let timeout = self.config.network.timeout;
        self.conflict = Some(ConflictInFlight { id, sent_at: now });
        self.timers
            .set(NodeTimer::ConflictAnswer, now + timeout + ANSWER_GRACE);
        let targets = self.conflict_targets();
        self.push(Action::ConflictCheck {
            id,
            targets,
            timeout,
        });
        // On the same beat: are the activeips still here at all?
        if let Mode::Active(m) = &mut self.mode {
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
    fn on_ownership_done(&mut self, now: Instant, missing: Vec<Address>) {
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
    fn reannounce(&mut self, now: Instant) {
        self.announcements_left = self.config.policy.garpcount;
        self.announce(now);
        if let Mode::Active(m) = &mut self.mode {
            m.forgive();
        }
    }

    fn on_conflict_done(&mut self, now: Instant, sent_at: Instant, rivals: &[Rival]) {
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
        let first_look = std::mem::take(&mut self.first_look);
        let Some((ident, r)) = decider else {
            if std::mem::take(&mut self.rival_seen) {
                self.log(
                    now,
                    None,
                    "split brain over: no rival answers for the activeips; announcing them again"
                        .to_owned(),
                );
                self.reannounce(now);
            } else if first_look {
                self.log(
                    now,
                    None,
                    "first look for a rival since taking over: none; announcing the activeips again"
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
            self.pending = None;
            self.timers.stop(NodeTimer::PeerAnswer);
            self.release(now, &format!("split brain, {rival} keeps them"));
            let holdoff = demote_holdoff(&self.config);
            self.become_passive(now, now + holdoff);
        }
    }

    /// "Every checktime": the period runs from check to check.
    fn next_conflict_check(&mut self, now: Instant, sent_at: Instant) {
        let at = (sent_at + self.config.network.checktime).max(now);
        self.timers.set(NodeTimer::Conflict, at);
    }

    fn become_passive(&mut self, now: Instant, not_before: Instant) {
        let ids = self.next_ids();
        self.role = Role::Passive;
        self.since = now;
        if self.scope == Scope::ActiveOnly {
            // run-active's work ends when the addresses are given back.
            self.mode = Mode::Done;
            self.log(now, None, "passive; run-active is done".to_owned());
            return;
        }
        self.mode = Mode::Passive(PassiveMonitor::new(
            &self.config,
            now,
            Some(not_before),
            ids,
        ));
        self.log(
            now,
            None,
            format!(
                "passive; no takeover for {} ms",
                (not_before - now).as_millis()
            ),
        );
        if let Mode::Passive(m) = &mut self.mode {
            m.handle_timeout(now);
        }
        self.after_monitor(now);
    }

    fn on_failure(&mut self, now: Instant, failure: ChannelFailure) {
        if let Some(reason) = limit_reached(&self.config.policy, &self.history, now) {
            self.hold(now, &failure, reason);
            return;
        }
        if self.config.policy.requirepeer {
            // "The active server should not reboot if the passive one is turned off."
            // From the monitor's sequence, which goes on after the check: ids never repeat.
            let check = match &mut self.mode {
                Mode::Active(m) => m.issue_id(),
                _ => {
                    self.ids = self.next_ids();
                    self.ids.next_id()
                }
            };
            let timeout = peer_check_timeout(&self.config);
            let (channel, testips) = (
                failure.channel.clone(),
                self.config.channels[failure.index].testips.clone(),
            );
            self.pending = Some(PendingFailure { failure, check });
            // The question, then a ping of the peer's host when the question got no answer.
            self.timers.set(
                NodeTimer::PeerAnswer,
                now + timeout + self.config.network.timeout * 2 + ANSWER_GRACE,
            );
            self.push(Action::CheckPeer {
                id: check,
                channel,
                testips,
                timeout,
            });
            return;
        }
        self.act(now, &failure);
    }

    /// A held failure that healed (traffic or an answer on its channel since the hold) ends the hold,
    /// so `status` no longer reports it and the next failure alerts again.
    fn lift_hold(&mut self, now: Instant) {
        let Some((channel, since)) = &self.held else {
            return;
        };
        let Mode::Active(m) = &self.mode else {
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
                format!("channel {channel} healthy again: hold lifted"),
            );
        }
    }

    fn hold(&mut self, now: Instant, failure: &ChannelFailure, reason: HoldReason) {
        let text = format!(
            "channel {} failed but holding: {reason}; staying active",
            failure.channel
        );
        let changed = self.holding.as_ref() != Some(&reason);
        self.holding = Some(reason);
        self.held = Some((failure.channel.clone(), now));
        let d = self.decision(now, Some(&failure.channel), text);
        // Alert when the hold starts or its reason changes, not at every repeated detection.
        self.push(if changed {
            Action::Alert(d)
        } else {
            Action::Log(d)
        });
        if let Mode::Active(m) = &mut self.mode {
            m.resume(now);
        }
    }

    fn act(&mut self, now: Instant, failure: &ChannelFailure) {
        self.holding = None;
        self.held = None;
        self.history.record(now);
        self.push(Action::RecordFailover { at: now });
        let why = format!("channel {} failed", failure.channel);
        let command = match self.config.policy.onfailure.clone() {
            FailureAction::Demote => {
                self.release(now, &why);
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
            self.release(now, &format!("{why}, fastdown"));
        }
        self.log(
            now,
            Some(&failure.channel),
            format!("{why}: failure action {command:?}"),
        );
        let reboot = command == FailureCommand::Reboot;
        self.push(Action::FailureAction(command));
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
        } else if let Mode::Active(m) = &mut self.mode {
            m.resume(now);
        }
    }

    fn stop(&mut self, now: Instant) {
        if self.role == Role::Active && self.config.policy.releaseonstop {
            self.release(now, "stopping");
        }
        self.role = Role::Stopped;
        self.since = now;
        self.mode = Mode::Done;
        self.pending = None;
        self.timers.stop_all();
        self.log(now, None, "stopped".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::core::testkit::{at_ms, config, drive, Machine};
    use crate::net::{ArpResult, ProbeResult};

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
            } => Some((
                *timeout,
                Input::ArpDone {
                    id: *id,
                    results: targets
                        .iter()
                        .map(|t| ArpResult {
                            target: t.clone(),
                            mac: None,
                        })
                        .collect(),
                },
            )),
            Action::Probe {
                id,
                targets,
                timeout,
            } => Some((
                *timeout,
                Input::ProbeDone {
                    id: *id,
                    results: targets
                        .iter()
                        .map(|t| ProbeResult {
                            target: t.clone(),
                            rtt: None,
                        })
                        .collect(),
                },
            )),
            Action::SampleCounters { id, .. } => Some((
                Duration::ZERO,
                Input::Counters {
                    id: *id,
                    samples: vec![],
                },
            )),
            Action::CheckPeer { id, .. } => Some((
                Duration::ZERO,
                Input::PeerAlive {
                    id: *id,
                    alive: false,
                    reaches: None,
                },
            )),
            _ => None,
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
        // The takeover burst, and another after the first conflict check (unanswered here: it
        // counts as done at 22 s + timeout + ANSWER_GRACE).
        assert_eq!(
            announces,
            vec![12_000, 13_000, 14_000, 25_000, 26_000, 27_000]
        );
        // Unreadable counters count as idle: the probes fail, the peer is down: hold, no reboot.
        assert!(first(|a| matches!(a, Action::CheckPeer { .. })).is_some());
        assert!(first(|a| matches!(a, Action::Alert(_))).is_some());
        assert_eq!(first(|a| matches!(a, Action::FailureAction(_))), None);
        assert_eq!(node.role(), Role::Active);
        assert!(node.status().holding.is_some());
    }

    /// Nobody answers until 40 s; from then on the test hosts answer again (the peer stays down).
    fn test_hosts_back_at_40s(now: Instant, a: &Action) -> Option<(Duration, Input)> {
        match a {
            Action::Probe { id, targets, .. } if now >= at_ms(40_000) => Some((
                Duration::from_millis(5),
                Input::ProbeDone {
                    id: *id,
                    results: targets
                        .iter()
                        .map(|t| ProbeResult {
                            target: t.clone(),
                            rtt: Some(Duration::from_millis(1)),
                        })
                        .collect(),
                },
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
            Action::CheckPeer { id, testips, .. } => {
                assert!(
                    !testips.is_empty(),
                    "the question names the channel's test hosts"
                );
                Some((
                    Duration::from_millis(10),
                    Input::PeerAlive {
                        id: *id,
                        alive: true,
                        reaches: Some(false),
                    },
                ))
            }
            other => silent_world(now, other),
        }
    }

    /// The peer is alive and reaches the test hosts: the fault is this node's.
    fn peer_reaches(now: Instant, a: &Action) -> Option<(Duration, Input)> {
        match a {
            Action::CheckPeer { id, .. } => Some((
                Duration::from_millis(10),
                Input::PeerAlive {
                    id: *id,
                    alive: true,
                    reaches: Some(true),
                },
            )),
            other => silent_world(now, other),
        }
    }

    #[test]
    fn a_failure_the_peer_shares_is_held_one_it_does_not_share_is_acted_on() {
        let cfg = config(PolicyMode::Improved);
        let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
        let seen = drive(
            &mut node,
            Instant::ZERO,
            at_ms(40_000),
            peer_cannot_reach_either,
        );
        assert!(!seen
            .iter()
            .any(|(_, a)| matches!(a, Action::FailureAction(_))));
        let holding = node.status().holding.expect("held");
        assert!(holding.contains("cannot reach channel if-1"), "{holding}");
        assert_eq!(node.role(), Role::Active);

        let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
        let seen = drive(&mut node, Instant::ZERO, at_ms(40_000), peer_reaches);
        assert!(seen
            .iter()
            .any(|(_, a)| matches!(a, Action::FailureAction(FailureCommand::Reboot))));
    }

    #[test]
    fn an_activeip_removed_by_someone_else_is_claimed_again_and_announced() {
        let cfg = config(PolicyMode::Improved);
        let mut node = Node::new(&cfg, Instant::ZERO, vec![]);
        let healthy = |now: Instant, a: &Action| match a {
            // The test hosts answer: the channel stays healthy throughout.
            Action::Probe { id, targets, .. } => Some((
                Duration::from_millis(1),
                Input::ProbeDone {
                    id: *id,
                    results: targets
                        .iter()
                        .map(|t| ProbeResult {
                            target: t.clone(),
                            rtt: Some(Duration::from_millis(1)),
                        })
                        .collect(),
                },
            )),
            // Someone flushes the address at 30 s: the next look finds it gone.
            Action::CheckOwnership { id, addresses } => Some((
                Duration::ZERO,
                Input::OwnershipDone {
                    id: *id,
                    missing: if now >= at_ms(30_000) && now < at_ms(30_000) + cfg.network.checktime
                    {
                        addresses.clone()
                    } else {
                        vec![]
                    },
                },
            )),
            other => silent_world(now, other),
        };
        let seen = drive(&mut node, Instant::ZERO, at_ms(60_000), healthy);
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
            .any(|(_, a)| matches!(a, Action::FailureAction(_))));
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
            Action::AskActive { id, timeout, .. } => Some(if now < at_ms(100_000) {
                (
                    Duration::from_millis(5),
                    Input::ActiveHealth {
                        id: *id,
                        healthy: Some(true),
                    },
                )
            } else {
                (
                    *timeout,
                    Input::ActiveHealth {
                        id: *id,
                        healthy: None,
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
        let asked = at(|a| matches!(a, Action::AskActive { .. }));
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
                Action::FailureAction(FailureCommand::Reboot) => Some("reboot"),
                Action::CheckPeer { .. } => Some("checkpeer"),
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
                | Action::CheckPeer { id, .. } => Some(*id),
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
        assert!(!seen
            .iter()
            .any(|(_, a)| matches!(a, Action::RecordFailover { .. } | Action::FailureAction(_))));
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
}
