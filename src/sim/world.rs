//! The simulated world: two nodes (a and b), test hosts, per-channel links, a client whose traffic
//! grows the active's counters, all on a virtual clock that jumps to the earliest deadline (quinn's
//! test `Pair` style).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::Config;
use crate::core::action::{Action, CounterSample, FailureCommand, Input, PeerReport};
use crate::core::observe::{ArpResult, Counters, ProbeResult, Rival};
use crate::core::{Instant, Node};

use super::fault::{Fault, Loss, NodeId};

/// The simulated client: packets per second through the owner of each activeip.
const CLIENT_PACKETS_PER_SEC: u64 = 10;

/// The MAC of node `i` on every channel: a's is the lower, so a keeps the addresses in a split brain.
fn mac(i: usize) -> [u8; 6] {
    [2, 0, 0, 0, 0, i as u8]
}

/// Steps at one instant beyond this mean the pair loops without time moving.
const MAX_STEPS_PER_INSTANT: u32 = 10_000;

/// Why a drive failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A bounded drive ended without the pair settling (exactly one active).
    #[error("the pair did not settle by {0}")]
    NeverSettled(Instant),
    /// Time stopped moving: the nodes keep deciding at one instant.
    #[error("no progress at {0}")]
    Stuck(Instant),
}

/// Something a node did, with its time: what reports are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Claimed,
    Released,
    FailureAction(FailureCommand),
    Alert(String),
    RecordedFailover,
}

/// One entry of [`World::trace`].
#[derive(Debug, Clone, PartialEq)]
pub enum Traced {
    Action(Action),
    Input(Input),
}

#[derive(Clone)]
struct SimNode {
    id: NodeId,
    config: Config,
    node: Option<Node>,
    powered: bool,
    silent: bool,
    links: Vec<bool>,
    /// activeips this node holds.
    owned: BTreeSet<IpAddr>,
    /// A reboot: the interfaces go down at this time (the policy's shutdown delay).
    off_at: Option<Instant>,
    /// Then it boots again at this time.
    boot_at: Option<Instant>,
    history: Vec<Instant>,
    counters: Vec<Counters>,
    pending: Vec<(Instant, Input)>,
    /// The daemon is stopped (SIGSTOP): nothing is handled until it continues.
    frozen: bool,
    /// A killed daemon starts again at this time.
    restart_at: Option<Instant>,
}

/// What the invariant watch saw (see [`super::matrix`]): measured on every step.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// I2: the longest time an activeip was held by both nodes while both were on its LAN.
    pub longest_overlap: Duration,
    overlap_since: Vec<Option<Instant>>,
    /// I3: the longest time nobody served an activeip while a node could have.
    pub longest_servable_gap: Duration,
    servable_gap_since: Vec<Option<Instant>>,
    /// I4: disruptive actions (reboot, exec, demote) taken while the peer could not take over.
    pub disruptive_unsafe: u32,
    /// Measured from this time on.
    pub from: Instant,
    /// I1 must hold at every step from this time on (`None`: not yet checked).
    pub converge_by: Option<Instant>,
    /// I1 failed at some step after `converge_by`.
    pub diverged: bool,
}

impl SimNode {
    /// A starting daemon reads the carrier of its devices: the down ones are news to its core.
    fn feed_carrier(&mut self, now: Instant) {
        for (c, up) in self.links.iter().enumerate() {
            if !up {
                let device = self.config.channels[c].device.clone();
                self.pending
                    .push((now, Input::Carrier { device, up: false }));
            }
        }
    }
}

/// Two nodes and their network on a virtual clock.
#[derive(Clone)]
pub struct World {
    now: Instant,
    nodes: [SimNode; 2],
    dead_hosts: BTreeSet<IpAddr>,
    faults: Vec<(Instant, Fault)>,
    client: bool,
    loss: Option<Loss>,
    /// Time from the start of a reboot's shutdown to the new boot.
    pub boot_time: Duration,
    /// Whether to keep log lines (`[12.345s a] ...`).
    pub keep_log: bool,
    /// When set, every action a node takes and every answer it is fed, with its time (the
    /// timelines of `simulate-timing --plot`).
    pub trace: Option<Vec<(Instant, NodeId, Traced)>>,
    log: Vec<String>,
    events: Vec<(Instant, NodeId, Event)>,
    unserved_since: Vec<Option<Instant>>,
    longest_gap: Vec<Duration>,
    gaps_from: Instant,
    sync_up: bool,
    /// Whether the sync link carries the peer protocol's messages (heartbeats, release notices,
    /// handover): the matrix's peer-key cells, as the daemon runs. Off, the timing shown is the
    /// checks' own worst case (`simulate-timing`'s view, the source document's formulas).
    pub sync_messages: bool,
    /// The invariant watch.
    pub watch: Watch,
}

impl World {
    /// Both nodes powered and started at time zero with configs `a` and `b` (see
    /// [`super::peer_config`]); every link up, every test host alive, the client sending.
    pub fn new(a: Config, b: Config) -> Self {
        let make = |id: NodeId, config: Config| {
            let n = config.channels.len();
            SimNode {
                id,
                node: Some(Node::new(&config, Instant::ZERO, vec![])),
                config,
                powered: true,
                silent: false,
                links: vec![true; n],
                owned: BTreeSet::new(),
                off_at: None,
                boot_at: None,
                history: vec![],
                counters: vec![
                    Counters {
                        rx_packets: 0,
                        tx_packets: 0,
                    };
                    n
                ],
                pending: vec![],
                frozen: false,
                restart_at: None,
            }
        };
        let channels = a.channels.len();
        Self {
            now: Instant::ZERO,
            nodes: [make(NodeId::A, a), make(NodeId::B, b)],
            dead_hosts: BTreeSet::new(),
            faults: vec![],
            client: true,
            loss: None,
            boot_time: Duration::from_secs(60),
            keep_log: true,
            trace: None,
            log: vec![],
            events: vec![],
            unserved_since: vec![None; channels],
            longest_gap: vec![Duration::ZERO; channels],
            gaps_from: Instant::ZERO,
            sync_up: true,
            sync_messages: false,
            watch: Watch {
                overlap_since: vec![None; channels],
                servable_gap_since: vec![None; channels],
                ..Watch::default()
            },
        }
    }

    /// Replaces the loss model (a settled pair cloned for runs with different seeds).
    pub fn set_loss(&mut self, loss: Option<Loss>) {
        self.loss = loss;
    }

    /// Node `i` is on channel `c`'s LAN: powered, link up, its frames pass.
    fn on_lan(&self, i: usize, c: usize) -> bool {
        let n = &self.nodes[i];
        n.powered && n.links[c] && !n.silent
    }

    /// Node `i` could serve every channel: on every LAN, its daemon running and deciding.
    pub fn can_serve(&self, i: usize) -> bool {
        let n = &self.nodes[i];
        (0..n.links.len()).all(|c| self.on_lan(i, c))
            && !n.frozen
            && n.node.as_ref().is_some_and(|x| {
                matches!(
                    x.role(),
                    crate::core::action::Role::Active | crate::core::action::Role::Passive
                )
            })
    }

    fn holds(&self, i: usize, c: usize) -> bool {
        let ip = self.nodes[0].config.channels[c].activeip;
        self.nodes[i].powered && self.nodes[i].owned.contains(&ip)
    }

    /// I1 now: for every channel, when some node could serve, exactly one holder is on the LAN, and
    /// any other holder is cut off from its peer on every link (the LAN and the sync link), so
    /// nothing could have told it; the conflict check ends that duplicate when the partition heals.
    pub fn converged(&self) -> bool {
        (0..self.unserved_since.len()).all(|c| {
            if !(0..2).any(|i| self.can_serve(i)) {
                return true;
            }
            let serving: Vec<usize> = (0..2)
                .filter(|&i| self.holds(i, c) && self.on_lan(i, c))
                .collect();
            if serving.len() != 1 {
                return false;
            }
            (0..2)
                .filter(|&i| self.holds(i, c) && i != serving[0])
                .all(|i| {
                    let sync = self.sync_up && self.nodes[0].powered && self.nodes[1].powered;
                    let lan = self.on_lan(i, c) && self.on_lan(1 - i, c);
                    !(sync || lan)
                })
        })
    }

    fn watch_step(&mut self) {
        let now = self.now;
        if now < self.watch.from {
            return;
        }
        if self.watch.converge_by.is_some_and(|t| now >= t) && !self.converged() {
            self.watch.diverged = true;
        }
        let servable = (0..2).any(|i| self.can_serve(i));
        for c in 0..self.unserved_since.len() {
            let both = (0..2).all(|i| self.holds(i, c) && self.on_lan(i, c));
            let w = &mut self.watch;
            match (both, w.overlap_since[c]) {
                (true, None) => w.overlap_since[c] = Some(now),
                (true, Some(s)) => w.longest_overlap = w.longest_overlap.max(now - s),
                (false, Some(s)) => {
                    w.longest_overlap = w.longest_overlap.max(now - s);
                    w.overlap_since[c] = None;
                }
                _ => {}
            }
            let gap = servable && !self.serving(c);
            let w = &mut self.watch;
            match (gap, w.servable_gap_since[c]) {
                (true, None) => w.servable_gap_since[c] = Some(now),
                (true, Some(s)) => w.longest_servable_gap = w.longest_servable_gap.max(now - s),
                (false, Some(s)) => {
                    w.longest_servable_gap = w.longest_servable_gap.max(now - s);
                    w.servable_gap_since[c] = None;
                }
                _ => {}
            }
        }
    }

    /// Restarts the invariant watch at `from`. When that is now, the state now is its first sample:
    /// a gap (or an overlap) the fault opened counts from the fault, not from the next step.
    pub fn watch_from(&mut self, from: Instant) {
        let n = self.unserved_since.len();
        self.watch = Watch {
            overlap_since: vec![None; n],
            servable_gap_since: vec![None; n],
            from,
            ..Watch::default()
        };
        self.watch_step();
    }

    /// Loses `percent`% of all answers, from a seeded generator.
    pub fn with_loss(mut self, seed: u64, percent: u8) -> Self {
        self.loss = Some(Loss::new(seed, percent));
        self
    }

    /// Loses answers by `loss` (e.g. [`Loss::with_probability`]: a request or its reply lost).
    pub fn with_loss_model(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Schedules a fault.
    pub fn at(&mut self, at: Instant, fault: Fault) {
        self.faults.push((at, fault));
        self.faults.sort_by_key(|(t, _)| *t);
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes[id.index()].node.as_ref()
    }

    pub fn log(&self) -> &[String] {
        &self.log
    }

    pub fn events(&self) -> &[(Instant, NodeId, Event)] {
        &self.events
    }

    /// Nodes that hold the activeip of channel `channel` and are powered.
    pub fn owners(&self, channel: usize) -> Vec<NodeId> {
        let Some(ip) = self.nodes[0]
            .config
            .channels
            .get(channel)
            .map(|c| c.activeip)
        else {
            return vec![];
        };
        self.nodes
            .iter()
            .filter(|n| n.powered && n.owned.contains(&ip))
            .map(|n| n.id)
            .collect()
    }

    /// The powered nodes whose core is active.
    pub fn actives(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|n| {
                n.node
                    .as_ref()
                    .is_some_and(|x| x.role() == crate::core::action::Role::Active)
            })
            .map(|n| n.id)
            .collect()
    }

    /// Failure actions carried out by `id`.
    pub fn failure_actions(&self, id: NodeId) -> usize {
        self.events
            .iter()
            .filter(|(_, n, e)| *n == id && matches!(e, Event::FailureAction(_)))
            .count()
    }

    /// Restarts the gap measurement at `from`: gaps are counted only after it.
    pub fn measure_gaps_from(&mut self, from: Instant) {
        self.gaps_from = from;
        self.longest_gap
            .iter_mut()
            .for_each(|g| *g = Duration::ZERO);
        self.unserved_since = vec![None; self.unserved_since.len()];
        self.observe();
    }

    /// The longest time, since [`Self::measure_gaps_from`], a client of channel `channel` found nobody
    /// serving its activeip (counting a gap still open now).
    pub fn longest_gap(&self, channel: usize) -> Duration {
        let open = self.unserved_since[channel].map_or(Duration::ZERO, |s| self.now - s);
        self.longest_gap[channel].max(open)
    }

    fn serving(&self, channel: usize) -> bool {
        let ip = self.nodes[0].config.channels[channel].activeip;
        self.nodes
            .iter()
            .any(|n| n.powered && !n.silent && n.links[channel] && n.owned.contains(&ip))
    }

    fn observe(&mut self) {
        for c in 0..self.unserved_since.len() {
            let serving = self.serving(c);
            match (serving, self.unserved_since[c]) {
                (false, None) if self.now >= self.gaps_from => {
                    self.unserved_since[c] = Some(self.now)
                }
                (true, Some(since)) => {
                    self.longest_gap[c] = self.longest_gap[c].max(self.now - since);
                    self.unserved_since[c] = None;
                }
                _ => {}
            }
        }
    }

    fn say(&mut self, id: NodeId, text: String) {
        if self.keep_log {
            self.log
                .push(format!("[{} {}] {}", self.now, id.name(), text));
        }
    }

    /// The earliest thing that will happen.
    pub fn next_at(&self) -> Option<Instant> {
        let mut times = vec![self.faults.first().map(|(t, _)| *t)];
        for n in &self.nodes {
            if !n.frozen {
                times.push(n.node.as_ref().and_then(Node::poll_timeout));
                times.push(n.pending.iter().map(|(t, _)| *t).min());
            }
            times.push(n.restart_at);
            times.push(n.off_at);
            times.push(n.boot_at);
        }
        times.into_iter().flatten().min()
    }

    /// The client's packets between the last step and `to`, on the node serving each channel.
    fn advance_counters(&mut self, to: Instant) {
        let elapsed_ms = (to - self.now).as_millis() as u64;
        let before = self.now.as_millis() * CLIENT_PACKETS_PER_SEC / 1000;
        let after = (self.now.as_millis() + elapsed_ms) * CLIENT_PACKETS_PER_SEC / 1000;
        let packets = after - before;
        if !self.client || packets == 0 {
            return;
        }
        for c in 0..self.unserved_since.len() {
            let ip = self.nodes[0].config.channels[c].activeip;
            for n in &mut self.nodes {
                if n.powered && !n.silent && n.links[c] && n.owned.contains(&ip) {
                    n.counters[c].rx_packets += packets;
                    n.counters[c].tx_packets += packets;
                }
            }
        }
    }

    /// Jumps to the earliest deadline and processes everything due then. `false` when nothing is left.
    pub fn step(&mut self) -> Result<bool, SimError> {
        let Some(t) = self.next_at() else {
            return Ok(false);
        };
        self.advance_counters(t);
        self.now = t;
        while self.faults.first().is_some_and(|(at, _)| *at <= t) {
            let (_, fault) = self.faults.remove(0);
            self.apply(fault);
        }
        for i in 0..2 {
            self.power_transitions(i);
        }
        let mut steps = 0;
        loop {
            let mut progressed = false;
            for i in 0..2 {
                progressed |= self.run_node(i);
            }
            if !progressed {
                break;
            }
            steps += 1;
            if steps > MAX_STEPS_PER_INSTANT {
                return Err(SimError::Stuck(t));
            }
        }
        self.observe();
        self.watch_step();
        Ok(true)
    }

    /// Steps until `until` (inclusive).
    pub fn run_until(&mut self, until: Instant) -> Result<(), SimError> {
        while self.next_at().is_some_and(|t| t <= until) {
            self.step()?;
        }
        self.advance_counters(until);
        self.now = self.now.max(until);
        self.observe();
        // An interval still open at the end counts up to it, as the client's gap does.
        self.watch_step();
        Ok(())
    }

    /// A bounded drive: steps until exactly one node is active and has been for `stable`, failing if
    /// that has not happened by `limit`. Returns when the pair settled.
    pub fn settle(&mut self, stable: Duration, limit: Instant) -> Result<Instant, SimError> {
        let mut since: Option<Instant> = None;
        loop {
            let one = self.actives().len() == 1;
            since = match (one, since) {
                (true, None) => Some(self.now),
                (true, s) => s,
                (false, _) => None,
            };
            if let Some(s) = since {
                if self.now - s >= stable {
                    return Ok(s);
                }
            }
            let next = self.next_at().unwrap_or(limit);
            if next > limit {
                return Err(SimError::NeverSettled(limit));
            }
            if !self.step()? {
                return Err(SimError::NeverSettled(limit));
            }
        }
    }

    fn apply(&mut self, fault: Fault) {
        let text = format!("fault: {fault:?}");
        let now = self.now;
        match fault {
            Fault::Link { node, channel, up } => {
                let n = &mut self.nodes[node.index()];
                n.links[channel] = up;
                // Carrier changes on both veth ends; the daemon hears of it (a link event, or its
                // read at the next check: the same input).
                let device = n.config.channels[channel].device.clone();
                if n.node.is_some() {
                    n.pending.push((now, Input::Carrier { device, up }));
                }
            }
            Fault::SyncLink { up } => self.sync_up = up,
            Fault::DaemonKill { node, restart } => {
                let n = &mut self.nodes[node.index()];
                n.node = None;
                n.pending.clear();
                n.frozen = false;
                n.restart_at = Some(now + restart);
            }
            Fault::DaemonStop { node, stopped } => self.nodes[node.index()].frozen = stopped,
            Fault::PlannedStop { node } => {
                let n = &mut self.nodes[node.index()];
                if n.node.is_some() {
                    n.pending.push((now, Input::Stop));
                }
            }
            Fault::AddActiveIp { node, channel } => {
                let ip = self.nodes[0].config.channels[channel].activeip;
                self.nodes[node.index()].owned.insert(ip);
            }
            Fault::Power { node, on } => {
                let n = &mut self.nodes[node.index()];
                if on && !n.powered {
                    n.boot_at = Some(self.now);
                } else if !on {
                    n.off_at = Some(self.now);
                    n.boot_at = None;
                }
            }
            Fault::Silent { node, silent } => self.nodes[node.index()].silent = silent,
            Fault::TestHost { address, alive } => {
                if alive {
                    self.dead_hosts.remove(&address);
                } else {
                    self.dead_hosts.insert(address);
                }
            }
            Fault::Client { sending } => self.client = sending,
        }
        self.say(NodeId::A, text);
    }

    fn power_transitions(&mut self, i: usize) {
        let now = self.now;
        let n = &mut self.nodes[i];
        let id = n.id;
        if n.off_at.is_some_and(|t| t <= now) {
            n.off_at = None;
            n.powered = false;
            n.node = None;
            n.owned.clear();
            n.pending.clear();
            self.say(id, "powered off".to_owned());
        }
        let n = &mut self.nodes[i];
        if n.boot_at.is_some_and(|t| t <= now) {
            n.boot_at = None;
            n.powered = true;
            n.node = Some(Node::new(&n.config, now, n.history.clone()));
            n.feed_carrier(now);
            self.say(id, "booted".to_owned());
        }
        let n = &mut self.nodes[i];
        if n.restart_at.is_some_and(|t| t <= now) {
            n.restart_at = None;
            // The daemon's start: a host holding every activeip resumes as active.
            let all = n
                .config
                .channels
                .iter()
                .all(|c| n.owned.contains(&c.activeip));
            n.node = Some(if all {
                Node::resume_active(&n.config, now, n.history.clone())
            } else {
                Node::new(&n.config, now, n.history.clone())
            });
            n.feed_carrier(now);
            self.say(id, "daemon restarted".to_owned());
        }
    }

    /// Delivers one due input or timeout to node `i` and carries out its actions.
    fn run_node(&mut self, i: usize) -> bool {
        let now = self.now;
        let n = &mut self.nodes[i];
        if n.frozen {
            return false;
        }
        let Some(node) = n.node.as_mut() else {
            return false;
        };
        // Answers due now go first: a blocking shell hands them in before it looks at the clock.
        if let Some(k) = n.pending.iter().position(|(t, _)| *t <= now) {
            let (_, input) = n.pending.remove(k);
            if let Some(t) = self.trace.as_mut() {
                t.push((now, n.id, Traced::Input(input.clone())));
            }
            node.handle(now, input);
        } else if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        } else {
            return false;
        }
        let actions: Vec<Action> = std::iter::from_fn(|| node.poll_action()).collect();
        for a in actions {
            self.carry_out(i, a);
        }
        true
    }

    /// Which of `testips` node `n` reaches out of its link on `channel`: the facts its daemon's
    /// responder reports to the peer's question.
    fn reached(&self, n: usize, channel: &str, testips: &[IpAddr]) -> Vec<bool> {
        let p = &self.nodes[n];
        let index = p.config.channels.iter().position(|c| c.ident == channel);
        let link = index.is_some_and(|c| p.links[c] && !p.silent);
        testips
            .iter()
            .map(|t| link && !self.dead_hosts.contains(t))
            .collect()
    }

    /// A peer-protocol datagram from node `i`: it reaches a running peer daemon while the sync link
    /// is up (a stopped one reads it when it continues: the kernel keeps it queued). Without
    /// [`World::sync_messages`] it is dropped, so the timing shown is the checks' own worst case.
    fn over_sync_link(&mut self, i: usize, input: Input) {
        let peer = 1 - i;
        let through = self.sync_messages
            && self.sync_up
            && self.nodes[i].powered
            && self.nodes[peer].powered
            && self.nodes[peer].node.is_some();
        if through && !self.lost() {
            let now = self.now;
            self.nodes[peer].pending.push((now, input));
        }
    }

    fn lost(&mut self) -> bool {
        self.loss.as_mut().is_some_and(Loss::lose)
    }

    fn channel_of(&self, i: usize, device: &str) -> Option<usize> {
        self.nodes[i]
            .config
            .channels
            .iter()
            .position(|c| c.device == device)
    }

    fn carry_out(&mut self, i: usize, action: Action) {
        if let Some(t) = self.trace.as_mut() {
            t.push((self.now, self.nodes[i].id, Traced::Action(action.clone())));
        }
        let now = self.now;
        let id = self.nodes[i].id;
        let peer = 1 - i;
        let answer = match action {
            Action::SampleCounters { id: req, devices } => {
                let samples = devices
                    .iter()
                    .map(|d| CounterSample {
                        device: d.clone(),
                        counters: self.channel_of(i, d).map(|c| self.nodes[i].counters[c]),
                    })
                    .collect();
                Some((Duration::ZERO, Input::Counters { id: req, samples }))
            }
            Action::Probe {
                id: req,
                targets,
                timeout,
                probes,
            } => {
                let mut results = Vec::new();
                for t in targets {
                    let up = self.channel_of(i, &t.device).is_some_and(|c| {
                        let n = &self.nodes[i];
                        n.links[c] && !n.silent && !self.dead_hosts.contains(&t.target)
                    });
                    // Any of the check's requests answered counts.
                    let answered = up && (0..probes.max(1)).any(|_| !self.lost());
                    results.push(ProbeResult {
                        target: t,
                        rtt: answered.then_some(Duration::ZERO),
                    });
                }
                let delay = if results.iter().all(|r| r.rtt.is_some()) {
                    Duration::ZERO
                } else {
                    timeout
                };
                Some((delay, Input::ProbeDone { id: req, results }))
            }
            Action::ArpCheck {
                id: req,
                targets,
                timeout,
                probes,
            } => {
                let mut results = Vec::new();
                for t in targets {
                    let up = self.channel_of(i, &t.device).is_some_and(|c| {
                        let (me, other) = (&self.nodes[i], &self.nodes[peer]);
                        me.links[c]
                            && !me.silent
                            && other.powered
                            && !other.silent
                            && other.links[c]
                            && other.owned.contains(&t.address)
                    });
                    let answered = up && (0..probes.max(1)).any(|_| !self.lost());
                    results.push(ArpResult {
                        target: t,
                        mac: answered.then_some(mac(peer)),
                    });
                }
                // The source document's check reads the ARP table after the whole timeout.
                Some((timeout, Input::ArpDone { id: req, results }))
            }
            Action::ConflictCheck {
                id: req,
                targets,
                timeout,
                ..
            } => {
                // The peer's kernel answers the probe when it holds the address and the frame gets
                // through both ends.
                let mut rivals = Vec::new();
                let mut all = true;
                for t in targets {
                    let through = self.channel_of(i, &t.device).is_some_and(|c| {
                        let (me, other) = (&self.nodes[i], &self.nodes[peer]);
                        me.links[c]
                            && !me.silent
                            && other.powered
                            && !other.silent
                            && other.links[c]
                            && other.owned.contains(&t.address)
                    });
                    if through && !self.lost() {
                        rivals.push(Rival {
                            device: t.device,
                            address: t.address,
                            rival_mac: mac(peer),
                            own_mac: mac(i),
                        });
                    } else {
                        all = false;
                    }
                }
                // Done early when every address was answered, else at the timeout.
                let delay = if all { Duration::ZERO } else { timeout };
                Some((delay, Input::ConflictDone { id: req, rivals }))
            }
            Action::AskPeer {
                id: req,
                channel,
                testips,
                timeout,
            } => {
                // The peer's daemon answers with facts (its role, which hosts it reached); this
                // node's core judges them, exactly as in the daemon.
                let p = &self.nodes[peer];
                let through = self.sync_up && p.powered && !p.frozen;
                let answer = p.node.as_ref().filter(|_| through).map(|n| PeerReport {
                    role: n.role(),
                    reached: self.reached(peer, &channel, &testips),
                });
                let delay = if answer.is_some() {
                    Duration::ZERO
                } else {
                    timeout
                };
                Some((delay, Input::PeerAnswer { id: req, answer }))
            }
            Action::PingPeer {
                id: req,
                target,
                timeout,
            } => {
                // The peer's kernel answers while it is powered, daemon or not.
                let alive = self.sync_up && self.nodes[peer].powered && !self.lost();
                let delay = if alive { Duration::ZERO } else { timeout };
                let results = vec![ProbeResult {
                    target,
                    rtt: alive.then_some(Duration::ZERO),
                }];
                Some((delay, Input::ProbeDone { id: req, results }))
            }
            Action::ClaimAddresses { add, .. } => {
                let list: Vec<String> = add.iter().map(|a| a.address.to_string()).collect();
                self.nodes[i].owned.extend(add.iter().map(|a| a.address));
                self.events.push((now, id, Event::Claimed));
                self.say(id, format!("claims {}", list.join(", ")));
                None
            }
            Action::ReleaseAddresses { remove, .. } => {
                for a in &remove {
                    self.nodes[i].owned.remove(&a.address);
                }
                self.events.push((now, id, Event::Released));
                self.say(id, "releases the activeips".to_owned());
                None
            }
            Action::Announce { addresses } => {
                // The peer's ARP sockets see the announcement (if it gets through): a foreign
                // claim when it holds the address too.
                // Only a running daemon reads its ARP sockets (an input for none would wait forever).
                let through = {
                    let (me, other) = (&self.nodes[i], &self.nodes[peer]);
                    me.powered
                        && !me.silent
                        && other.powered
                        && !other.silent
                        && other.node.is_some()
                };
                for a in addresses {
                    let Some(c) = self.channel_of(i, &a.device) else {
                        continue;
                    };
                    let linked = self.nodes[i].links[c] && self.nodes[peer].links[c];
                    if through && linked && !self.lost() {
                        let claim = Input::ForeignClaim(Rival {
                            device: a.device,
                            address: a.address,
                            rival_mac: mac(i),
                            own_mac: mac(peer),
                        });
                        self.nodes[peer].pending.push((now, claim));
                    }
                }
                None
            }
            Action::NotifyYielded { keeper_mac } => {
                // The sync link carries the notice while the peer is powered.
                if self.nodes[peer].powered && self.nodes[peer].node.is_some() && !self.lost() {
                    let notice = Input::PeerYielded { keeper_mac };
                    self.nodes[peer].pending.push((now, notice));
                }
                None
            }
            Action::CheckOwnership { id: req, addresses } => {
                let owned = &self.nodes[i].owned;
                let missing = addresses
                    .into_iter()
                    .filter(|a| !owned.contains(&a.address))
                    .collect();
                Some((Duration::ZERO, Input::OwnershipDone { id: req, missing }))
            }
            Action::RunHook {
                hook,
                channel,
                command,
                ..
            } => {
                self.say(id, format!("hook {hook:?} {channel}: {command}"));
                None
            }
            Action::FailureAction {
                command: cmd,
                channel,
            } => {
                self.say(id, format!("failure action {cmd:?} for {channel}"));
                if cmd == FailureCommand::Reboot {
                    let n = &mut self.nodes[i];
                    // The interfaces stay up until the other subsystems stop.
                    n.node = None;
                    n.pending.clear();
                    let off = now + n.config.policy.shutdowndelay;
                    n.off_at = Some(off);
                    n.boot_at = Some(off + self.boot_time);
                }
                self.events.push((now, id, Event::FailureAction(cmd)));
                None
            }
            Action::RecordFailover { at } => {
                // I4: a disruptive action (its record) while the peer cannot take over.
                if now >= self.watch.from && !self.can_serve(peer) {
                    self.watch.disruptive_unsafe += 1;
                }
                self.nodes[i].history.push(at);
                self.events.push((now, id, Event::RecordedFailover));
                None
            }
            Action::Alert(d) => {
                self.say(id, format!("ALERT {}", d.reason));
                self.events.push((now, id, Event::Alert(d.reason)));
                None
            }
            Action::Log(d) => {
                self.say(id, d.reason);
                None
            }
            // The sync link's fast paths, when simulated: a datagram reaches a running peer
            // daemon while the link is up (a stopped one reads it when it continues, as the
            // kernel keeps it queued); otherwise the checks' own worst case is what is shown.
            Action::SendHeartbeat(hb) => {
                self.over_sync_link(i, Input::PeerHeartbeat(hb));
                None
            }
            Action::SendNotice(notice) => {
                self.over_sync_link(i, Input::ReleaseNotice(notice));
                None
            }
            Action::SendHandover(message) => {
                self.over_sync_link(i, Input::PeerHandover(message));
                None
            }
            Action::HandoverDone { .. } => None,
            // The simulated service always passes its check.
            Action::RunCheck { id: req, .. } => Some((
                Duration::ZERO,
                Input::CheckDone {
                    id: req,
                    outcome: Ok(()),
                },
            )),
        };
        if let Some((delay, input)) = answer {
            self.nodes[i].pending.push((now + delay, input));
        }
    }
}
