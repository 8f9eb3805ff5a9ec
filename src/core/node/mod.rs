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
//!
//! State by role: what means something in one role only lives in that role's `Mode` variant, so a
//! role change drops it by construction. The passive's ways to a takeover (the question to the
//! active, the wait for a fitness probe, the declined alert, the stray activeips of the split-brain
//! tie-break) are `Mode::Passive`'s; the failure waiting for the peer check is `Mode::Active`'s.
//! What stays on [`Node`] spans roles or outlives a mode:
//! - config, scope, role, since, ids, timers, history, tally, fitness, fast, recent, actions: the
//!   node's, whatever its role (timers are one table: a timer whose role is gone finds no state to
//!   act on).
//! - `passive_dropped`: set at the takeover, owed back at the release: it spans the change itself.
//! - `announcements_left`: run-passive's burst runs after its monitor ended (`Mode::Done`).
//! - `holding`/`held`: `status` still reports a hold after a stop (`Mode::Done`).
//! - `conflict`/`ownership`: the active's rival check and the passive's stray-address check share
//!   them, and an answer asked for in one role may come in the next.
//! - `rival_seen`: reset with the conflict checks, and set by a foreign claim whenever the role is
//!   active, run-passive's `Mode::Done` after its takeover included.
//! - `hosts_down_at_takeover`: set by the passive's fitness gate, read by the active it becomes.

use std::collections::VecDeque;

use serde::Serialize;
use std::time::Duration;

use super::action::{
    Action, Address, Decision, FailureCommand, Hook, Input, PeerReport, RequestId, RequestIds,
    Role, ANSWER_GRACE, HOOK_TIMEOUT,
};
use super::active::{ActiveMonitor, ChannelFailure};
use super::passive::PassiveMonitor;
use super::policy::{limit_reached, FailoverHistory, HoldReason};
use super::status::{Status, StatusKey, RECENT_DECISIONS};
use super::tally::{TakeoverReason, Tally};
use super::timer::Timers;
use super::Instant;
use crate::config::{Config, FailureAction};
use crate::core::observe::{format_mac, ArpTarget, Rival};

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
            .map_or(0, |c| u32::from(last_byte(c.passiveip)) % STAGGER_SLOTS),
    };
    config.network.timeout * 2 * slot
}

/// The last byte of an address of either family: an IPv6 pair numbered consecutively gets its
/// start slots exactly as an IPv4 one does.
fn last_byte(ip: std::net::IpAddr) -> u8 {
    match ip {
        std::net::IpAddr::V4(a) => a.octets()[3],
        std::net::IpAddr::V6(a) => a.octets()[15],
    }
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
    /// The fitness probe of this node's own test hosts counts as unanswered after this.
    FitnessAnswer,
    /// The next heartbeat to the peer (every synctime).
    Heartbeat,
    /// The peer's heartbeats count as lost after this (logged; never decides).
    HeartbeatLost,
    /// The handover in progress fails after this.
    Handover,
    /// The next run of the service check (every checktime while active).
    ServiceCheck,
    /// The service check in flight counts as failed after this.
    CheckAnswer,
    /// The recheck of a pending failure counts as unanswered after this.
    RecheckAnswer,
}

impl From<NodeTimer> for usize {
    fn from(t: NodeTimer) -> usize {
        t as usize
    }
}

#[derive(Debug, Clone)]
enum Mode {
    Passive {
        monitor: PassiveMonitor,
        /// Dropped with the role: a takeover, a stop or the end of the run forgets it.
        takeover: PassiveTakeover,
    },
    Active {
        monitor: ActiveMonitor,
        /// A failure waiting for the peer check (`requirepeer`); dropped with the role.
        pending: Option<PendingFailure>,
    },
    /// Rebooting or stopped: nothing more is decided.
    Done,
}

impl Mode {
    fn passive(monitor: PassiveMonitor) -> Self {
        Mode::Passive {
            monitor,
            takeover: PassiveTakeover::default(),
        }
    }

    fn active(monitor: ActiveMonitor) -> Self {
        Mode::Active {
            monitor,
            pending: None,
        }
    }
}

/// The passive's ways to a takeover (the question to the active in [`takeover`], the fitness gate in
/// [`fitness`], the split-brain tie-break over stray activeips in [`split_brain`]): meaningful only
/// while passive.
#[derive(Debug, Clone, Default)]
struct PassiveTakeover {
    /// The passive's question to the active before taking over, in flight.
    asking_active: Option<RequestId>,
    /// Its answer within the current streak of unanswered ARP checks (`Some(None)`: no answer).
    active_health: Option<Option<bool>>,
    /// The takeover verdict is in and waits for that answer.
    takeover_waiting: bool,
    /// A takeover was already declined because the active answered healthy: alert only once.
    declined: bool,
    /// A takeover waits for the fitness probe's answer.
    fitness_wait: bool,
    /// The activeips this node's host holds while passive (the last ownership check), for the
    /// split-brain tie-break ([`split_brain`]); said once.
    stray: Vec<Address>,
}

/// A failure waiting for the peer check (`requirepeer`).
#[derive(Debug, Clone)]
struct PendingFailure {
    failure: ChannelFailure,
    check: PeerCheck,
    /// This node's own fresh look at the failed channel's test hosts, sent with the peer check.
    recheck: Recheck,
}

/// The recheck of a pending failure. The peer's answer is fresh; the failure count is up to
/// `channelretries` checks old. A server back from maintenance answers the peer's probe while this
/// node's count still holds the probes sent while it was down: "the peer reaches them, I do not"
/// means the fault is this node's only when this node's own look is as fresh as the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recheck {
    /// Out; `then_act`: the peer check already concluded "act" and waits for it.
    Out { id: RequestId, then_act: bool },
    /// Answered by the `testhosts` rule: the fault has ended.
    Reached,
    /// Unanswered: the failure stands.
    Unreached,
}

/// Where the peer check of a pending failure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerCheck {
    /// The question over the peer protocol is out.
    Asking(RequestId),
    /// An echo to the peer's host is out; `left` more may follow an unanswered one.
    Pinging { id: RequestId, left: u8 },
    /// The peer check concluded "act"; the recheck decides.
    Concluded,
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
    timers: Timers<NodeTimer, 12>,
    announcements_left: u32,
    /// The passiveips were dropped at takeover (`releasepassiveip`) and are owed back at release.
    passive_dropped: bool,
    holding: Option<HoldReason>,
    /// The channel whose failure is held, and since when: the hold is lifted once it is healthy again.
    held: Option<(String, Instant)>,
    conflict: Option<ConflictInFlight>,
    /// The ownership check in flight (answered at once by the shell).
    ownership: Option<RequestId>,
    /// The last conflict check found a rival and this node kept the addresses: when the rival is gone,
    /// announce once more, since neighbours may have learned its MAC in between.
    rival_seen: bool,
    /// When the active last broadcast its look for a rival.
    last_look: Option<Instant>,
    /// What this node knows of its own ability to serve (`requirefit`).
    fitness: fitness::Fitness,
    /// This node took over knowing its test hosts were down on their own: it holds on that failure.
    hosts_down_at_takeover: bool,
    history: FailoverHistory,
    actions: VecDeque<Action>,
    recent: VecDeque<Decision>,
    /// Decisions made since start ([`StatusKey::decisions`]).
    decisions: u64,
    tally: Tally,
    /// Heartbeats, notices, handover, carrier, service check ([`fastpath`]).
    fast: fastpath::FastState,
}

/// An idle passive probes its own test hosts every this many checks (see `after_monitor`).
const FITNESS_REFRESH: u32 = 5;

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
            node.take_over(
                now,
                TakeoverReason::RunActive,
                "run-active: claiming the activeips",
            );
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
            TakeoverReason::Resumed,
            "this node already holds the activeips: resuming as active",
        );
        node
    }

    fn passive(config: &Config, now: Instant, failovers: Vec<Instant>, scope: Scope) -> Self {
        let ids = RequestIds::default();
        let passive =
            PassiveMonitor::new(config, now, Some(now + start_stagger(config)), ids.clone());
        let mut node = Self {
            config: config.clone(),
            scope,
            mode: Mode::passive(passive),
            role: Role::Passive,
            since: now,
            ids,
            timers: Timers::new(),
            announcements_left: 0,
            passive_dropped: false,
            holding: None,
            held: None,
            conflict: None,
            ownership: None,
            rival_seen: false,
            last_look: None,
            fitness: fitness::Fitness::default(),
            hosts_down_at_takeover: false,
            history: FailoverHistory::new(failovers),
            actions: VecDeque::new(),
            recent: VecDeque::new(),
            decisions: 0,
            tally: Tally::default(),
            fast: fastpath::FastState::default(),
        };
        node.start_heartbeats(now);
        node
    }

    /// The passive's takeover state; `None` in any other mode.
    fn takeover_mut(&mut self) -> Option<&mut PassiveTakeover> {
        match &mut self.mode {
            Mode::Passive { takeover, .. } => Some(takeover),
            _ => None,
        }
    }

    /// The failure waiting for the peer check; `None` in any mode but active.
    fn pending(&self) -> Option<&PendingFailure> {
        match &self.mode {
            Mode::Active { pending, .. } => pending.as_ref(),
            _ => None,
        }
    }

    fn pending_mut(&mut self) -> Option<&mut PendingFailure> {
        match &mut self.mode {
            Mode::Active { pending, .. } => pending.as_mut(),
            _ => None,
        }
    }

    /// Forgets the failure waiting for the peer check (a release, a yield, a reload that drops it).
    fn take_pending(&mut self) -> Option<PendingFailure> {
        match &mut self.mode {
            Mode::Active { pending, .. } => pending.take(),
            _ => None,
        }
    }

    /// Counts again from a fresh passive monitor (no takeover before `not_before`), keeping the
    /// passive's takeover state: a declined takeover stays declined.
    fn restart_passive(&mut self, now: Instant, not_before: Option<Instant>) {
        let ids = self.next_ids();
        let fresh = PassiveMonitor::new(&self.config, now, not_before, ids);
        match &mut self.mode {
            Mode::Passive { monitor, .. } => *monitor = fresh,
            _ => self.mode = Mode::passive(fresh),
        }
        if let Mode::Passive { monitor, .. } = &mut self.mode {
            monitor.handle_timeout(now);
        }
        self.after_monitor(now);
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
            Mode::Passive { monitor: m, .. } => m.poll_timeout(),
            Mode::Active { monitor: m, .. } => m.poll_timeout(),
            Mode::Done => None,
        };
        // The look for a rival due just before a round waits for it (see `round_within_slack`):
        // no wake-up of its own.
        let look = self
            .timers
            .get(NodeTimer::Conflict)
            .map(|at| self.look_wakes_at(at, monitor));
        [monitor, self.timers.next_except(NodeTimer::Conflict), look]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn status(&self) -> Status {
        let (channels, passive) = match &self.mode {
            Mode::Passive { monitor: m, .. } => (vec![], Some(m.status())),
            Mode::Active { monitor: m, .. } => (m.status(), None),
            Mode::Done => (vec![], None),
        };
        Status {
            role: self.role,
            since: self.since,
            holding: self.holding.as_ref().map(ToString::to_string),
            unfit: self.unfit(),
            channels,
            passive,
            failovers: self.history.times().to_vec(),
            recent: self.recent.iter().cloned().collect(),
            tally: self.tally.clone(),
            epoch: self.fast.epoch,
            heartbeat: self
                .fast
                .peer
                .as_ref()
                .map(|p| super::status::HeartbeatStatus {
                    at: p.at,
                    role: p.beat.role.to_string(),
                    fit: p.beat.fit,
                    epoch: p.beat.epoch,
                    channels: p.beat.channels.clone(),
                    lost: self.fast.beats_lost,
                }),
        }
    }

    /// The reason said at a declined takeover, or else what needs no fresh probe.
    fn unfit(&self) -> Option<String> {
        self.fitness
            .unfit_reason()
            .map(str::to_owned)
            .or_else(|| self.fit_by_role_and_carrier().err())
    }

    /// [`Status`] in brief: equal keys mean `status` shows the same (see [`StatusKey`]).
    pub fn status_key(&self) -> StatusKey {
        let (channels, passive) = match &self.mode {
            Mode::Passive { monitor: m, .. } => {
                let p = m.status();
                let seen = p.last_seen_at.filter(|_| p.failures > 0);
                (vec![], Some((p.failures, seen, p.not_before_at)))
            }
            Mode::Active { monitor: m, .. } => (m.counters(), None),
            Mode::Done => (vec![], None),
        };
        let t = &self.tally;
        let counts = t.takeovers.values().sum::<u64>()
            + t.failure_actions
                .values()
                .flat_map(|m| m.values())
                .sum::<u64>()
            + t.holds.values().sum::<u64>();
        StatusKey {
            role: self.role,
            since: self.since,
            holding: self.holding.as_ref().map(ToString::to_string),
            unfit: self.unfit(),
            channels,
            passive,
            failovers: (
                self.history.times().len(),
                self.history.times().last().copied(),
            ),
            decisions: self.decisions,
            counts,
            epoch: self.fast.epoch,
            heartbeat: self.fast.peer.as_ref().map(|p| {
                let lost = self.fast.beats_lost;
                super::status::HeartbeatKey {
                    lost_since: lost.then_some(p.at),
                    role: p.beat.role,
                    fit: p.beat.fit,
                    epoch: p.beat.epoch,
                    channels: p.beat.channels.clone(),
                    lost,
                }
            }),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(NodeTimer::Announce, now) {
            self.announce(now);
        }
        if self.timers.take_expired(NodeTimer::PeerAnswer, now) {
            // The shell lost the answer: the question or the echo went unanswered.
            match self.pending().map(|p| p.check) {
                Some(PeerCheck::Asking(_)) => self.on_peer_answer(now, None),
                Some(PeerCheck::Pinging { .. }) => self.on_peer_echo(now, false),
                Some(PeerCheck::Concluded) | None => {}
            }
        }
        if self.timers.take_expired(NodeTimer::RecheckAnswer, now) {
            self.on_recheck(now, &[]);
        }
        if self.timers.take_expired(NodeTimer::ConflictAnswer, now) {
            if let Some(c) = self.conflict.take() {
                // The shell lost the answer: nobody was seen, look again at the next period.
                self.on_conflict_done(now, c.sent_at, &[]);
            }
        }
        if self.timers.take_expired(NodeTimer::TakeoverAnswer, now)
            && self
                .takeover_mut()
                .and_then(|t| t.asking_active.take())
                .is_some()
        {
            self.on_active_health(now, None);
        }
        if self.timers.take_expired(NodeTimer::FitnessAnswer, now) && self.fitness_probe_out() {
            self.on_fitness_probe(now, &[]);
        }
        if self.timers.take_expired(NodeTimer::Conflict, now) {
            match self.round_within_slack(now) {
                Some(at) => self.timers.set(NodeTimer::Conflict, at),
                None => self.conflict_beat(now),
            }
        }
        self.fast_timeout(now);
        match &mut self.mode {
            Mode::Passive { monitor: m, .. } => m.handle_timeout(now),
            Mode::Active { monitor: m, .. } => m.handle_timeout(now),
            Mode::Done => {}
        }
        self.after_monitor(now);
    }

    /// Feeds an input; answers to requests no longer in flight are ignored.
    pub fn handle(&mut self, now: Instant, input: Input) {
        if let Input::ProbeDone { results, .. } = &input {
            self.tally.probes(&self.config, results);
        }
        match input {
            Input::Stop => self.stop(now),
            Input::Carrier { device, up } => {
                // One record of carrier, the fitness rule's; the fast path (an active's check at
                // once, a release with notice when the peer is fit to serve) acts on the change
                // that record made.
                let before = self.fitness.carrier.get(&device).copied();
                let was_fit = self.fit_to_serve(now).is_ok();
                self.fitness_carrier(now, &device, up);
                self.on_carrier(now, device, up, before, was_fit);
            }
            Input::ProbeDone { id, results } if self.is_fitness_probe(id) => {
                self.on_fitness_probe(now, &results)
            }
            Input::ProbeDone { id, results } if self.is_recheck(id) => {
                self.on_recheck(now, &results)
            }
            i @ (Input::PeerHeartbeat(_)
            | Input::ReleaseNotice(_)
            | Input::PeerHandover(_)
            | Input::HandoverRequest { .. }
            | Input::CheckDone { .. }) => self.fast_input(now, i),
            Input::ForeignClaim(claim) => self.on_foreign_claim(now, claim),
            Input::PeerYielded { keeper_mac } => self.on_peer_yielded(now, keeper_mac),
            Input::PeerAnswer { id, answer } => {
                if self.pending().map(|p| p.check) == Some(PeerCheck::Asking(id)) {
                    self.timers.stop(NodeTimer::PeerAnswer);
                    self.on_peer_answer(now, answer);
                } else if let Some(t) = self.takeover_mut().filter(|t| t.asking_active == Some(id))
                {
                    t.asking_active = None;
                    let healthy = match answer {
                        Some(a) => Some(self.judge_active(now, &a)),
                        None => {
                            self.log(
                                now,
                                None,
                                "the peer does not answer on the sync link".into(),
                            );
                            None
                        }
                    };
                    self.on_active_health(now, healthy);
                }
            }
            Input::ProbeDone { id, results }
                if matches!(
                    self.pending().map(|p| p.check),
                    Some(PeerCheck::Pinging { id: want, .. }) if want == id
                ) =>
            {
                self.timers.stop(NodeTimer::PeerAnswer);
                let alive = results.iter().any(|r| r.rtt.is_some());
                self.on_peer_echo(now, alive);
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
                Mode::Passive { monitor: m, .. } => m.handle(now, other),
                Mode::Active { monitor: m, .. } => m.handle(now, other),
                Mode::Done => {}
            },
        }
        self.after_monitor(now);
    }

    /// Sends a request whose answer the shell owes within `timeout`; `timer` fires a grace later
    /// (the answer was lost).
    fn request(&mut self, now: Instant, timer: NodeTimer, timeout: Duration, action: Action) {
        self.timers.set(timer, now + timeout + ANSWER_GRACE);
        self.push(action);
    }

    fn push(&mut self, action: Action) {
        if let Action::Log(d) | Action::Alert(d) = &action {
            if self.recent.len() == RECENT_DECISIONS {
                self.recent.pop_front();
            }
            self.recent.push_back(d.clone());
            self.decisions += 1;
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
            Mode::Passive { monitor: m, .. } => {
                drained.extend(std::iter::from_fn(|| m.poll_action()));
                m.poll_takeover().map(|_| None)
            }
            Mode::Active { monitor: m, .. } => {
                drained.extend(std::iter::from_fn(|| m.poll_action()));
                m.poll_failure().map(Some)
            }
            Mode::Done => None,
        };
        let checked = drained.iter().any(|a| matches!(a, Action::ArpCheck { .. }));
        let round = drained
            .iter()
            .any(|a| matches!(a, Action::SampleCounters { .. } | Action::Probe { .. }));
        for a in drained {
            self.push(a);
        }
        if round {
            self.conflict_beside_round(now);
        }
        if checked {
            // Beside a passive check: is this node fit to serve, and does its host hold an activeip
            // it should not? The fitness probe goes out at every check while the active is being
            // missed (the verdict is then fresh when the takeover is decided), otherwise once every
            // FITNESS_REFRESH checks: enough to learn that the test hosts died on their own (two
            // rounds), without a dozen echoes per check from an idle passive.
            let missing =
                matches!(&self.mode, Mode::Passive { monitor: m, .. } if m.status().failures > 0);
            let refresh = self.config.network.checktime * FITNESS_REFRESH;
            let stale = self
                .fitness
                .last
                .as_ref()
                .is_none_or(|(at, _)| now.saturating_since(*at) >= refresh);
            if self.requires_fit() && (missing || stale) {
                self.probe_fitness(now);
            }
            self.passive_ownership_check();
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
            Mode::Passive { monitor: m, .. } => m.ids().peek(),
            Mode::Active { monitor: m, .. } => m.ids().peek(),
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
                    timeout: HOOK_TIMEOUT,
                });
            }
        }
    }

    fn take_over(&mut self, now: Instant, reason: TakeoverReason, why: &str) {
        self.tally.takeover(reason);
        self.fitness.probe = None;
        self.timers.stop(NodeTimer::FitnessAnswer);
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
            Mode::active(ActiveMonitor::new(&self.config, now, ids))
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
        self.start_burst(now);
        self.hooks(Hook::Up);
        self.after_takeover_fast(now);
        // The active monitor's first round is due now; the first look for a rival one checktime on.
        if let Mode::Active { monitor: m, .. } = &mut self.mode {
            m.handle_timeout(now);
            self.timers
                .set(NodeTimer::Conflict, now + self.config.network.checktime);
        }
        self.after_monitor(now);
    }

    /// Starts a burst of exactly `garpcount` gratuitous ARP rounds, `garpinterval` apart, then the
    /// refresh every `garprefresh` (if set). `garpcount= 0` sends no burst.
    fn start_burst(&mut self, now: Instant) {
        self.announcements_left = self.config.policy.garpcount;
        if self.announcements_left == 0 {
            self.schedule_refresh(now);
        } else {
            self.announce(now);
        }
    }

    /// Sends one gratuitous ARP round (of the burst, or a refresh) and schedules the next.
    fn announce(&mut self, now: Instant) {
        if self.role != Role::Active {
            return;
        }
        self.push(Action::Announce {
            addresses: self.addresses(true),
        });
        if self.announcements_left > 0 {
            self.announcements_left -= 1;
            if self.announcements_left > 0 {
                let interval = self.config.policy.garpinterval;
                self.timers.set(NodeTimer::Announce, now + interval);
                return;
            }
        }
        self.schedule_refresh(now);
    }

    fn schedule_refresh(&mut self, now: Instant) {
        match self.config.policy.garprefresh {
            Some(r) if self.scope != Scope::PassiveOnly && self.role == Role::Active => {
                self.timers.set(NodeTimer::Announce, now + r)
            }
            _ => self.timers.stop(NodeTimer::Announce),
        }
    }

    /// Gives the activeips up and tells the peer (the release notice) right after the addresses are
    /// gone, so the two never hold them at once while the peer still hears it within the same step.
    fn release(&mut self, now: Instant, why: &str, reason: crate::peer::NoticeReason) {
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
        self.send_notice(reason);
        self.after_release_fast();
        self.timers.stop(NodeTimer::Announce);
        self.stop_conflict_checks();
        self.hooks(Hook::Down);
    }

    fn become_passive(&mut self, now: Instant, not_before: Instant) {
        let ids = self.next_ids();
        self.role = Role::Passive;
        self.since = now;
        if self.scope == Scope::ActiveOnly {
            // run-active's work ends when the addresses are given back.
            self.mode = Mode::Done;
            self.timers.stop(NodeTimer::Heartbeat);
            self.log(now, None, "passive; run-active is done".to_owned());
            return;
        }
        self.mode = Mode::passive(PassiveMonitor::new(
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
        self.send_heartbeat(now);
        if let Mode::Passive { monitor: m, .. } = &mut self.mode {
            m.handle_timeout(now);
        }
        self.after_monitor(now);
    }

    fn stop(&mut self, now: Instant) {
        if self.role == Role::Active && self.config.policy.releaseonstop {
            self.release(now, "stopping", crate::peer::NoticeReason::Stop);
        }
        if let Some(h) = self.fast.handover.take() {
            self.handover_done_stopping(now, h);
        }
        self.role = Role::Stopped;
        self.since = now;
        self.mode = Mode::Done;
        self.timers.stop_all();
        self.log(now, None, "stopped".to_owned());
    }
}

mod claims;
mod failure;
mod fastpath;
pub mod fitness;
mod reload;
mod split_brain;
mod takeover;
#[cfg(test)]
mod tests;
