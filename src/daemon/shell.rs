//! Carries out the core's actions on Linux without ever blocking the event loop: one `match` over
//! [`Action`]. Kernel-local requests (counters, addresses, the ownership check, the neighbour table)
//! are netlink round trips of microseconds and are answered at once. Everything that waits on the
//! network is sent from a non-blocking socket in the loop's poll set (one raw ICMP socket, one ARP
//! socket per device, for IPv6 one ICMPv6 and one neighbour-discovery socket per device, the peer
//! protocol's UDP sockets) and answered when the replies arrive or the
//! request's own timeout passes ([`Shell::next_deadline`]). Hooks and the failure command are child
//! processes ([`Children`]). The shell decides nothing: every rule is in the core.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::config::{Channel, Config};
use crate::core::action::{
    Address, CounterSample, Decision, FailureCommand, Hook, PeerReport, RequestId, Role,
};
use crate::core::observe::{ArpResult, ArpTarget, ProbeResult, ProbeTarget, Rival};
use crate::core::{Action, Input};
use crate::daemon::children::{Children, Job};
use crate::daemon::failure::{reboot_machine, FailureExecutor};
use crate::daemon::hooks::{HookEnv, HookEvent};
use crate::daemon::log::Log;
use crate::daemon::rounds::Rounds;
use crate::daemon::state;
use crate::net::linux::addr_book::AddressBook;
use crate::net::linux::arp_socket::{ArpDevice, ArpSocket};
use crate::net::linux::icmp::IcmpSocket;
use crate::net::linux::peer::{ProbeJob, Responder};
use crate::net::linux::{IcmpProber, NetlinkCounters, PeerLink, TableArpChecker};
use crate::net::{AddressControl, CounterSource, NetError};

mod family;
mod fast;
pub use fast::{CONTROL, LINK_EVENTS};

pub const ICMP: Token = Token(1);
pub const PEER_LINK: Token = Token(2);
pub const RESPONDER: Token = Token(3);
/// The ARP socket (one for every device); the tokens up to `ND_BASE` are reserved for it.
pub const ARP_BASE: usize = 100;
/// The neighbour-discovery socket (IPv6, every device), below the ICMPv6 sockets.
pub const ND_BASE: usize = 1 << 15;
/// The ICMPv6 echo socket (every device), below the children's pipes.
pub const ICMP6_BASE: usize = ND_BASE + (1 << 14);

/// What an ICMP probe in flight is for.
enum ProbeFor {
    /// The core's request ([`Action::Probe`] or [`Action::PingPeer`]).
    Core(RequestId),
    /// A question of the peer, answered when the probe is done.
    Peer(ProbeJob),
}

struct ProbeInFlight {
    purpose: ProbeFor,
    targets: Vec<ProbeTarget>,
    /// Sequence and send time of every echo sent to each target (`probes=`: one per round).
    sent: Vec<Vec<(u16, Instant)>>,
    rtt: Vec<Option<Duration>>,
    rounds: Rounds,
    deadline: Instant,
}

impl ProbeInFlight {
    /// Done early: every target answered, or every round went out and each target that got an
    /// echo answered (one whose device cannot send will not).
    fn complete(&self) -> bool {
        let answered = |all: bool| {
            self.sent
                .iter()
                .zip(&self.rtt)
                .all(|(s, r)| r.is_some() || (!all && s.is_empty()))
        };
        answered(true) || (self.rounds.finished() && answered(false))
    }
}

/// An ARP check or conflict check in flight.
struct ArpInFlight {
    id: RequestId,
    conflict: bool,
    /// Unanswered at its deadline, it is given with the next answers: no wake of its own.
    quiet: bool,
    targets: Vec<ArpTarget>,
    found: BTreeMap<(String, IpAddr), [u8; 6]>,
    rounds: Rounds,
    deadline: Instant,
}

/// What a raw ARP request in flight is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ArpKind {
    /// The passive's check of the active.
    Check,
    /// A look for a rival owner, whose empty answer is awaited.
    Conflict,
    /// A look for a rival owner that needs no answer when nobody answered.
    QuietConflict,
}

/// The table method's check in flight: the table is read at the deadline; with `probes=` above one
/// the solicitation is repeated (a raw ARP request from this node's address, whose reply the kernel
/// files in the entry it is resolving) at each round.
struct TableInFlight {
    id: RequestId,
    targets: Vec<ArpTarget>,
    /// A reply to one of the solicitations was seen on the device's ARP socket: that address needs
    /// no further request, and once all have one the table is read at once.
    answered: Vec<bool>,
    /// The table was read once all had answered, and was not complete yet: wait for the timeout.
    early_read: bool,
    rounds: Rounds,
    deadline: Instant,
}

/// One ARP or neighbour-discovery message of another station, either family.
struct Heard {
    /// A reply (ARP) or an advertisement (ND): the answer a check waits for.
    answer: bool,
    ip: IpAddr,
    mac: [u8; 6],
}

/// A question to the peer: one datagram per chunk of test hosts.
struct QuestionInFlight {
    id: RequestId,
    requests: Vec<u64>,
    reached: Vec<Option<Vec<bool>>>,
    role: Option<Role>,
    deadline: Instant,
}

/// The Linux shell around one node.
pub struct Shell {
    config: Config,
    dry_run: bool,
    /// The source document's ARP check (flush, UDP, read the table) instead of raw frames.
    table: Option<TableArpChecker>,
    /// New checks use the table method (`[policy] arpcheck`, or `--arp-method`).
    table_method: bool,
    log: Log,
    executor: FailureExecutor,
    history_file: PathBuf,
    counters: NetlinkCounters,
    carrier: crate::net::linux::carrier::CarrierReader,
    /// Netlink; a test swaps in its own.
    addresses: Box<dyn AddressControl>,
    /// The devices' addresses, kept current by netlink events: the ownership check and the raw ARP
    /// check's source address cost no socket per check.
    book: AddressBook,
    /// A failure action the core decided, written to the history once it is carried out: one that
    /// did not happen (its release refused for lack of a capability) must never count.
    pending_failover: Option<crate::core::Instant>,
    /// A release was carried out in this step: the pending failure action is written at its end.
    released: bool,
    icmp: Option<IcmpSocket>,
    /// IPv6: the address book and control, the announcer, the table check, and the per-device
    /// echo and neighbour-discovery sockets (the twins of `icmp` and `arp`).
    v6: crate::net::linux::v6::V6,
    identifier: u16,
    sequence: u16,
    probes: Vec<ProbeInFlight>,
    /// The one ARP socket (every device), opened at the first ARP work.
    arp_socket: Option<ArpSocket>,
    /// The devices ARP is sent on and heard from.
    arp: Vec<ArpDevice>,
    arps: Vec<ArpInFlight>,
    /// The MAC that answered the last raw check of each address: the next check asks that station
    /// alone first (a unicast poll), and broadcasts only its repeats. An unanswered check forgets it.
    /// Keyed by address alone (an activeip is one channel's): no device name copied per lookup.
    polled: HashMap<IpAddr, [u8; 6]>,
    tables: Vec<TableInFlight>,
    link: Option<(PeerLink, IpAddr)>,
    responder: Option<Responder>,
    questions: Vec<QuestionInFlight>,
    /// This node's role, for the responder's answers.
    pub role: Role,
    pub children: Children,
    /// The kernel's link notifications (carrier).
    link_events: Option<crate::net::linux::link_events::LinkEvents>,
    /// `failoverctl handover`'s way in.
    control: Option<crate::daemon::control::Control>,
    /// The service check running, and since when.
    check: Option<(RequestId, Instant)>,
}

/// Answers ready for the core.
pub type Answers = Vec<Input>;

impl Shell {
    pub fn new(
        config: &Config,
        dry_run: bool,
        table: bool,
        log: Log,
        executor: FailureExecutor,
    ) -> Shell {
        let prober = IcmpProber::new();
        Shell {
            config: config.clone(),
            dry_run,
            table: table.then(TableArpChecker::new),
            table_method: table,
            log,
            executor,
            history_file: config.policy.historyfile.clone(),
            counters: NetlinkCounters::new(),
            carrier: Default::default(),
            addresses: Box::new(crate::net::linux::addr::NetlinkAddresses::new()),
            book: AddressBook::new(),
            pending_failover: None,
            released: false,
            icmp: None,
            v6: crate::net::linux::v6::V6::new(),
            identifier: prober.identifier(),
            sequence: 0,
            probes: Vec::new(),
            arp_socket: None,
            arp: Vec::new(),
            arps: Vec::new(),
            polled: HashMap::new(),
            tables: Vec::new(),
            link: None,
            responder: None,
            questions: Vec::new(),
            role: Role::Passive,
            children: Children::default(),
            link_events: None,
            control: None,
            check: None,
        }
    }

    /// Takes a reloaded config (hook environments, the history file, the ARP check's method; a
    /// check in flight finishes by the method it started with).
    pub fn set_config(&mut self, config: &Config, table: bool) {
        self.config = config.clone();
        self.table_method = table;
        self.history_file = config.policy.historyfile.clone();
        if let Some(s) = &self.arp_socket {
            self.watch(s);
        }
        self.rewatch_v6();
    }

    /// Narrows the ARP socket to the frames a check or the claim watcher can use (the channels'
    /// activeips); a socket left unfiltered only costs wake-ups.
    fn watch(&self, s: &ArpSocket) {
        let watched: Vec<std::net::Ipv4Addr> = self
            .config
            .channels
            .iter()
            .filter_map(|c| match c.activeip {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .collect();
        if let Err(e) = s.watch_only(&watched) {
            self.log.warn(&format!("ARP socket: no kernel filter: {e}"));
        }
    }

    /// Puts the peer protocol's sockets in the poll set (replacing earlier ones).
    pub fn set_peer(
        &mut self,
        registry: &Registry,
        link: Option<(PeerLink, IpAddr)>,
        responder: Option<Responder>,
    ) {
        if let Some((old, _)) = self.link.take() {
            let _ = registry.deregister(&mut SourceFd(&old.socket().as_raw_fd()));
        }
        if let Some(old) = self.responder.take() {
            let _ = registry.deregister(&mut SourceFd(&old.socket().as_raw_fd()));
        }
        self.questions.clear();
        if let Some((l, _)) = &link {
            if l.set_nonblocking().is_ok() {
                let _ = registry.register(
                    &mut SourceFd(&l.socket().as_raw_fd()),
                    PEER_LINK,
                    Interest::READABLE,
                );
            }
        }
        if let Some(r) = &responder {
            let _ = r.socket().set_nonblocking(true);
            let _ = registry.register(
                &mut SourceFd(&r.socket().as_raw_fd()),
                RESPONDER,
                Interest::READABLE,
            );
        }
        self.link = link;
        self.responder = responder;
    }

    /// The responder's counters, for the state file.
    pub fn peer_stats(&self) -> Option<serde_json::Value> {
        self.responder
            .as_ref()
            .map(|r| serde_json::to_value(r.stats()).expect("the counters serialize"))
    }

    /// The responder's counters, for the metrics.
    pub fn responder_counters(&self) -> Option<crate::net::linux::peer::ResponderStats> {
        self.responder.as_ref().map(|r| r.stats())
    }

    /// Nothing in flight that the process must wait for before it exits (only children: requests
    /// on the network are simply abandoned).
    pub fn is_idle(&self) -> bool {
        self.children.is_idle()
    }

    /// The earliest time a request in flight must be answered by (its own timeout).
    pub fn next_deadline(&self) -> Option<Instant> {
        let probes = self
            .probes
            .iter()
            .flat_map(|p| [Some(p.deadline), p.rounds.next_at()])
            .flatten();
        let arps = self
            .arps
            .iter()
            .flat_map(|a| {
                let due = !(a.quiet && a.found.is_empty());
                [due.then_some(a.deadline), a.rounds.next_at()]
            })
            .flatten();
        let tables = self
            .tables
            .iter()
            .flat_map(|t| [Some(t.deadline), t.rounds.next_at()])
            .flatten();
        let questions = self.questions.iter().map(|q| q.deadline);
        probes
            .chain(arps)
            .chain(tables)
            .chain(questions)
            .chain(self.children.next_deadline())
            .min()
    }

    /// Answers the requests whose time is up.
    pub fn expire(&mut self, now: Instant) -> Answers {
        let mut out = Vec::new();
        let (done, left): (Vec<_>, Vec<_>) = self.probes.drain(..).partition(|p| now >= p.deadline);
        self.probes = left;
        for p in done {
            out.extend(self.probe_done(p));
        }
        // `probes=`: the next round of echoes, to the targets not yet answered.
        for i in 0..self.probes.len() {
            if self.probes[i].rounds.take_due(now) {
                let p = &self.probes[i];
                let pending: Vec<bool> = p.rtt.iter().map(Option::is_none).collect();
                let targets = p.targets.clone();
                let sent = self.send_echoes(&targets, &pending);
                for (s, new) in self.probes[i].sent.iter_mut().zip(sent) {
                    s.extend(new);
                }
            }
        }
        // Table method: the solicitation again, for the addresses no reply was seen for (the table
        // is read at the end).
        for i in 0..self.tables.len() {
            if self.tables[i].rounds.take_due(now) {
                let t = &self.tables[i];
                let pending: Vec<ArpTarget> = t
                    .targets
                    .iter()
                    .zip(&t.answered)
                    .filter(|(_, a)| !**a)
                    .map(|(t, _)| t.clone())
                    .collect();
                self.send_arp(&pending, false);
            }
        }
        // Raw ARP: a lost frame gets another request at each round.
        for i in 0..self.arps.len() {
            if self.arps[i].rounds.take_due(now) {
                let a = &self.arps[i];
                let pending: Vec<ArpTarget> = a
                    .targets
                    .iter()
                    .filter(|t| !a.found.contains_key(&(t.device.clone(), t.address)))
                    .cloned()
                    .collect();
                let conflict = a.conflict;
                self.send_arp(&pending, conflict);
            }
        }
        let (done, left): (Vec<_>, Vec<_>) = self.arps.drain(..).partition(|a| now >= a.deadline);
        self.arps = left;
        out.extend(done.into_iter().map(|a| self.arp_done(a)));
        let (done, left): (Vec<_>, Vec<_>) = self.tables.drain(..).partition(|t| now >= t.deadline);
        self.tables = left;
        for TableInFlight { id, targets, .. } in done {
            let results = self.table_read(&targets);
            out.push(Input::ArpDone { id, results });
        }
        let (done, left): (Vec<_>, Vec<_>) =
            self.questions.drain(..).partition(|q| now >= q.deadline);
        self.questions = left;
        out.extend(done.into_iter().map(|q| Input::PeerAnswer {
            id: q.id,
            answer: None,
        }));
        self.children.expire(now);
        out
    }

    /// The table checks whose every address was seen answering: the table is read now rather than
    /// at the timeout. Only an answer with every entry complete ends the check early (the kernel
    /// may not have taken the reply in yet); otherwise the check waits for its timeout as before.
    fn tables_answered(&mut self) -> Answers {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.tables.len() {
            let t = &self.tables[i];
            if t.early_read || !t.answered.iter().all(|a| *a) {
                i += 1;
                continue;
            }
            let targets = t.targets.clone();
            let results = self.table_read(&targets);
            if !results.is_empty() && results.iter().all(|r| r.mac.is_some()) {
                let t = self.tables.remove(i);
                out.push(Input::ArpDone { id: t.id, results });
            } else {
                self.tables[i].early_read = true;
                i += 1;
            }
        }
        out
    }

    /// The carrier of each device a check goes out of, for the core's fitness judgement (read at
    /// each check while no link events are subscribed; with them, events feed the same input).
    fn carrier_of<'a>(&mut self, devices: impl IntoIterator<Item = &'a str>) -> Answers {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for device in devices {
            if seen.contains(&device) {
                continue;
            }
            seen.push(device);
            match self.carrier.carrier(device) {
                Ok(up) => out.push(Input::Carrier {
                    device: device.to_owned(),
                    up,
                }),
                Err(e) => self.log.warn(&format!("carrier of {device}: {e}")),
            }
        }
        out
    }

    /// Carries out one action; requests answered at once come back here, the rest later.
    pub fn execute(&mut self, registry: &Registry, action: Action) -> Result<Answers, NetError> {
        // With the kernel's link notifications subscribed, carrier changes arrive as events (and a
        // dropped burst asks for a dump): reading it again at every check was two netlink round
        // trips per channel per checktime on an idle node.
        let carrier = match &action {
            _ if self.link_events.is_some() => vec![],
            Action::ArpCheck { targets, .. } => {
                self.carrier_of(targets.iter().map(|t| t.device.as_str()))
            }
            Action::Probe { targets, .. } => {
                self.carrier_of(targets.iter().map(|t| t.device.as_str()))
            }
            _ => vec![],
        };
        let mut answers = self.execute_action(registry, action)?;
        answers.splice(0..0, carrier);
        Ok(answers)
    }

    fn execute_action(&mut self, registry: &Registry, action: Action) -> Result<Answers, NetError> {
        let now = Instant::now();
        Ok(match action {
            Action::SampleCounters { id, devices } => {
                let samples = devices
                    .into_iter()
                    .map(|device| {
                        let counters = match self.counters.sample(&device) {
                            Ok(c) => Some(c),
                            Err(e) => {
                                self.log.warn(&format!("counters of {device}: {e}"));
                                None
                            }
                        };
                        CounterSample { device, counters }
                    })
                    .collect();
                vec![Input::Counters { id, samples }]
            }
            Action::Probe {
                id,
                targets,
                timeout,
                probes,
            } => {
                self.probe(registry, ProbeFor::Core(id), targets, timeout, probes, now)?;
                vec![]
            }
            Action::PingPeer {
                id,
                target,
                timeout,
            } => {
                self.probe(registry, ProbeFor::Core(id), vec![target], timeout, 1, now)?;
                vec![]
            }
            Action::ArpCheck {
                id,
                targets,
                timeout,
                probes,
            } => {
                if self.table_method {
                    if self.table.is_none() {
                        self.table = Some(TableArpChecker::new());
                    }
                    match self.table_begin(&targets) {
                        Ok(()) => {}
                        Err(e @ NetError::Privilege { .. }) => return Err(e),
                        Err(e) => self.log.warn(&format!("arp check: {e}")),
                    }
                    if probes > 1 {
                        // The repeated solicitations go out of the devices' ARP (or ND) sockets.
                        for t in &targets {
                            match self.neighbour_socket(registry, t) {
                                Ok(_) => {}
                                Err(e @ NetError::Privilege { .. }) => return Err(e),
                                Err(e) => self.log.warn(&format!("arp check on {}: {e}", t.device)),
                            }
                        }
                    }
                    self.tables.push(TableInFlight {
                        id,
                        answered: vec![false; targets.len()],
                        early_read: false,
                        targets,
                        rounds: Rounds::first_sent(now, timeout, probes),
                        deadline: now + timeout,
                    });
                } else {
                    // The raw check has always asked twice within the timeout: keep at least that.
                    let rounds = probes.max(2);
                    self.arp_request(registry, id, ArpKind::Check, targets, timeout, rounds, now)?;
                }
                vec![]
            }
            Action::ConflictCheck {
                id,
                targets,
                timeout,
                report_empty,
            } => {
                // Only reads (probes that teach nobody anything): a dry run checks too. One probe
                // per check: it runs every checktime, so a lost one costs one checktime, and a
                // second probe doubled the broadcasts every station on the LAN must look at.
                let kind = if report_empty {
                    ArpKind::Conflict
                } else {
                    ArpKind::QuietConflict
                };
                self.arp_request(registry, id, kind, targets, timeout, 1, now)?;
                vec![]
            }
            Action::CheckOwnership { id, addresses } => {
                // A dry run answers for what it pretends: an active holds what it "added", a
                // passive added nothing (its host's addresses are not its doing: read as held, they
                // made every dry-run passive see a split brain and "take over" at once).
                let missing = if self.dry_run {
                    match self.role {
                        Role::Active => Vec::new(),
                        _ => addresses,
                    }
                } else {
                    let held = self.holds_each(&addresses);
                    // An address that cannot be read (its device is being re-created) changes
                    // nothing: an active does not claim it again, a passive does not take it for
                    // one its host holds (that was a split brain, and a takeover, out of nothing).
                    let unreadable_is_missing = self.role != Role::Active;
                    addresses
                        .into_iter()
                        .zip(held)
                        .filter(|(a, held)| match held {
                            Ok(held) => !held,
                            Err(e) => {
                                self.log.warn(&format!("ownership of {}: {e}", a.address));
                                unreadable_is_missing
                            }
                        })
                        .map(|(a, _)| a)
                        .collect()
                };
                vec![Input::OwnershipDone { id, missing }]
            }
            Action::AskPeer {
                id,
                channel,
                testips,
                timeout,
            } => self.ask_peer(id, &channel, &testips, timeout, now),
            Action::ClaimAddresses { add, remove } => {
                self.change_all("add", &add)?;
                self.change_all("remove", &remove)?;
                vec![]
            }
            Action::ReleaseAddresses { remove, restore } => {
                // The passiveip first: without a configured prefix it then keeps the network's
                // prefix instead of falling back to /32.
                self.change_all("restore", &restore)?;
                self.change_all("remove", &remove)?;
                // Written once this step's actions are out (see `finish_step`): its fsync took
                // 2-3 ms, and the release notice right behind this action waited for it.
                self.released = true;
                vec![]
            }
            Action::Announce { addresses } => {
                // Every channel's frames go out in this one pass, from the device's ARP socket
                // (kept open for the checks): no interface enumeration and no socket per address,
                // so 64 channels are announced within a millisecond or two of each other.
                for a in &addresses {
                    self.announce(registry, a)?;
                }
                vec![]
            }
            Action::RunHook {
                hook,
                channel,
                command,
                timeout,
            } => {
                self.run_hook(registry, hook, &channel, command, timeout);
                vec![]
            }
            Action::FailureAction { command, channel } => {
                // Written before the action runs: a reboot must find itself counted.
                self.record_pending_failover();
                self.failure_action(registry, command, &channel);
                vec![]
            }
            Action::RecordFailover { at } => {
                // Written when the action (a release, or the failure command) is carried out: one
                // that did not happen (its release refused for lack of a capability) never counts.
                self.pending_failover = Some(at);
                vec![]
            }
            Action::SendHeartbeat(h) => {
                self.send_fast(crate::peer::Body::Heartbeat(h));
                vec![]
            }
            Action::SendNotice(n) => {
                self.send_fast(crate::peer::Body::Notice(n));
                vec![]
            }
            Action::SendHandover(m) => {
                self.send_fast(match m {
                    crate::core::action::HandoverMessage::Ask(a) => {
                        crate::peer::Body::HandoverAsk(a)
                    }
                    crate::core::action::HandoverMessage::Reply(r) => {
                        crate::peer::Body::HandoverReply(r)
                    }
                });
                vec![]
            }
            Action::HandoverDone {
                client,
                ok,
                message,
            } => {
                self.handover_done(client, ok, &message);
                vec![]
            }
            Action::RunCheck {
                id,
                command,
                timeout,
                channel,
            } => self.run_check(registry, id, command, timeout, channel),
            Action::NotifyYielded { keeper_mac } => {
                self.send_fast(crate::peer::Body::Yielded(crate::peer::Yielded {
                    keeper_mac,
                }));
                vec![]
            }
            Action::Alert(d) => {
                self.log.alert(&d);
                vec![]
            }
            Action::Log(d) => {
                self.log_decision(&d);
                vec![]
            }
        })
    }

    fn log_decision(&self, d: &Decision) {
        self.log.decision(d);
    }

    fn icmp(&mut self, registry: &Registry) -> Result<&mut IcmpSocket, NetError> {
        if self.icmp.is_none() {
            let s = IcmpSocket::open()?;
            let _ = registry.register(&mut SourceFd(&s.as_raw_fd()), ICMP, Interest::READABLE);
            self.icmp = Some(s);
        }
        Ok(self.icmp.as_mut().expect("opened just above"))
    }

    #[allow(clippy::too_many_arguments)]
    fn probe(
        &mut self,
        registry: &Registry,
        purpose: ProbeFor,
        targets: Vec<ProbeTarget>,
        timeout: Duration,
        probes: u32,
        now: Instant,
    ) -> Result<(), NetError> {
        self.open_echo_sockets(registry, &targets)?;
        let sent = self.send_echoes(&targets, &vec![true; targets.len()]);
        let n = targets.len();
        self.probes.push(ProbeInFlight {
            purpose,
            targets,
            sent,
            rtt: vec![None; n],
            rounds: Rounds::first_sent(now, timeout, probes),
            deadline: now + timeout,
        });
        Ok(())
    }

    /// One echo to each target where `which` is set, on the open echo socket of its family: the
    /// sequence and send time of each that went out.
    fn send_echoes(&mut self, targets: &[ProbeTarget], which: &[bool]) -> Vec<Vec<(u16, Instant)>> {
        // A dry run holds no activeip to send from: the kernel picks the source instead.
        let dry = self.dry_run;
        let identifier = self.identifier;
        let mut sent = vec![Vec::new(); targets.len()];
        let mut failed = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            if !which[i] {
                continue;
            }
            self.sequence = self.sequence.wrapping_add(1);
            let seq = self.sequence;
            let mut out = t.clone();
            if dry {
                out.source = None;
            }
            // The time is taken before the send: the round trip includes it.
            let before = Instant::now();
            match self.send_echo(&out, identifier, seq) {
                Ok(()) => sent[i].push((seq, before)),
                // A device that is down cannot send: its target did not answer.
                Err(e) => failed.push(format!("probe: {e}")),
            }
        }
        for f in failed {
            self.log.warn(&f);
        }
        sent
    }

    /// The ICMP socket is readable.
    pub fn icmp_readable(&mut self) -> Answers {
        let Some(socket) = &self.icmp else {
            return vec![];
        };
        let replies = socket.receive().into_iter();
        self.echo_replies(
            replies
                .map(|(from, id, seq)| (IpAddr::V4(from), id, seq, None))
                .collect(),
        )
    }

    /// The ICMPv6 socket is readable. A reply counts only for a target of the device it came in
    /// on (the socket serves every device).
    pub fn icmp6_readable(&mut self, _token: Token) -> Answers {
        let Some(socket) = &self.v6.echo_port else {
            return vec![];
        };
        let replies = socket
            .receive()
            .into_iter()
            .filter_map(|r| {
                let (device, _) = self.v6.echo.iter().find(|(_, i)| *i == r.ifindex)?;
                Some((
                    IpAddr::V6(r.from),
                    r.identifier,
                    r.sequence,
                    Some(device.clone()),
                ))
            })
            .collect();
        self.echo_replies(replies)
    }

    /// Matches echo replies of either family to the probes in flight (by identifier, sequence
    /// and source, and the arrival device when known); the probes now complete are answered.
    fn echo_replies(&mut self, replies: Vec<(IpAddr, u16, u16, Option<String>)>) -> Answers {
        let received = Instant::now();
        for (from, id, seq, device) in replies {
            if id != self.identifier {
                continue;
            }
            for p in &mut self.probes {
                for ((t, s), rtt) in p.targets.iter().zip(&p.sent).zip(p.rtt.iter_mut()) {
                    // Any of the target's echoes counts; the round trip is that echo's.
                    if let Some((_, at)) = s.iter().find(|(want, _)| *want == seq) {
                        let on_device = device.as_ref().is_none_or(|d| *d == t.device);
                        if t.target == from && on_device && rtt.is_none() {
                            *rtt = Some(received.duration_since(*at));
                        }
                    }
                }
            }
        }
        let (done, left): (Vec<_>, Vec<_>) =
            self.probes.drain(..).partition(ProbeInFlight::complete);
        self.probes = left;
        done.into_iter().flat_map(|p| self.probe_done(p)).collect()
    }

    fn probe_done(&mut self, p: ProbeInFlight) -> Answers {
        let results: Vec<ProbeResult> = p
            .targets
            .into_iter()
            .zip(p.rtt)
            .map(|(target, rtt)| ProbeResult { target, rtt })
            .collect();
        match p.purpose {
            ProbeFor::Core(id) => vec![Input::ProbeDone { id, results }],
            ProbeFor::Peer(job) => {
                let role = match self.role {
                    Role::Active => crate::peer::Role::Active,
                    _ => crate::peer::Role::Passive,
                };
                if let Some(r) = self.responder.as_mut() {
                    r.reply(job, Ok(results), role);
                }
                self.log_responder();
                vec![]
            }
        }
    }

    /// The index of `device` in `arp`, looked up once (the ARP socket opened first if need be).
    fn arp_socket(&mut self, registry: &Registry, device: &str) -> Result<usize, NetError> {
        if let Some(i) = self.arp.iter().position(|s| s.device == device) {
            return Ok(i);
        }
        if self.arp_socket.is_none() {
            let s = ArpSocket::open()?;
            self.watch(&s);
            let _ = registry.register(
                &mut SourceFd(&s.as_raw_fd()),
                Token(ARP_BASE),
                Interest::READABLE,
            );
            self.arp_socket = Some(s);
        }
        let socket = self.arp_socket.as_ref().expect("opened just above");
        let d = ArpDevice::open(socket, device)?;
        self.arp.push(d);
        Ok(self.arp.len() - 1)
    }

    /// Looks `device` up again: one re-created under its name has a new index (and maybe MAC).
    /// Left as it was when the device cannot be found.
    pub(super) fn refresh_arp_device(&mut self, device: &str) {
        let Some(i) = self.arp.iter().position(|s| s.device == device) else {
            return;
        };
        if let Some(socket) = &self.arp_socket {
            if let Ok(fresh) = ArpDevice::open(socket, device) {
                self.arp[i] = fresh;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn arp_request(
        &mut self,
        registry: &Registry,
        id: RequestId,
        kind: ArpKind,
        targets: Vec<ArpTarget>,
        timeout: Duration,
        rounds: u32,
        now: Instant,
    ) -> Result<(), NetError> {
        let conflict = kind != ArpKind::Check;
        for t in &targets {
            match self.neighbour_socket(registry, t) {
                Ok(_) => {}
                Err(e @ NetError::Privilege { .. }) => return Err(e),
                // A device that is gone cannot answer: reported as unanswered.
                Err(e) => self.log.warn(&format!("arp check on {}: {e}", t.device)),
            }
        }
        if conflict {
            self.send_arp(&targets, true);
        } else {
            // A check asks the station that answered last time alone; its repeats (`rounds` is at
            // least two) broadcast, so an address that moved to another MAC still answers in time.
            self.book.begin_batch();
            for t in &targets {
                let mac = self.polled.get(&t.address).copied();
                self.solicit_to(t, mac);
            }
            self.book.end_batch();
        }
        self.arps.push(ArpInFlight {
            id,
            conflict,
            quiet: kind == ArpKind::QuietConflict,
            targets,
            found: BTreeMap::new(),
            rounds: Rounds::first_sent(now, timeout, rounds),
            deadline: now + timeout,
        });
        Ok(())
    }

    fn send_arp(&mut self, targets: &[ArpTarget], probe_form: bool) {
        self.book.begin_batch();
        for t in targets {
            self.solicit(t, probe_form);
        }
        self.book.end_batch();
    }

    /// The ARP socket is readable: what was heard goes to the checks device by device.
    pub fn arp_readable(&mut self, _token: Token) -> Answers {
        let Some(s) = &self.arp_socket else {
            return vec![];
        };
        // One list per device the daemon uses, in arrival order; other devices' frames and this
        // host's own (its MAC on that device) are dropped.
        let mut by_device: Vec<Vec<Heard>> = self.arp.iter().map(|_| Vec::new()).collect();
        for h in s.receive() {
            let Some(i) = self.arp.iter().position(|d| d.ifindex() == h.ifindex) else {
                continue;
            };
            let m = h.message;
            if m.sender_mac == self.arp[i].mac {
                continue;
            }
            by_device[i].push(Heard {
                answer: m.op == crate::net::linux::arp_frame::ArpOp::Reply,
                ip: IpAddr::V4(m.sender_ip),
                mac: m.sender_mac,
            });
        }
        let mut out = Vec::new();
        for (i, heard) in by_device.into_iter().enumerate() {
            if !heard.is_empty() {
                let (device, own_mac) = (self.arp[i].device.clone(), self.arp[i].mac);
                out.extend(self.neighbours_heard(device, own_mac, heard));
            }
        }
        out
    }

    /// The neighbour-discovery socket is readable: advertisements only (its filter), each the
    /// answer to a check or a claim, handed on device by device as the ARP socket's.
    pub fn nd_readable(&mut self, _token: Token) -> Answers {
        let Some(s) = &self.v6.nd_port else {
            return vec![];
        };
        let mut by_device: Vec<Vec<Heard>> = self.v6.nd.iter().map(|_| Vec::new()).collect();
        for h in s.receive() {
            let Some(i) = self.v6.nd.iter().position(|d| d.ifindex() == h.ifindex) else {
                continue;
            };
            let m = h.message;
            let own = self.v6.nd[i].mac;
            if m.eth_src == own || m.mac() == own {
                continue;
            }
            by_device[i].push(Heard {
                answer: true,
                ip: IpAddr::V6(m.target),
                mac: m.mac(),
            });
        }
        let mut out = Vec::new();
        for (i, heard) in by_device.into_iter().enumerate() {
            if !heard.is_empty() {
                let (device, own_mac) = (self.v6.nd[i].device.clone(), self.v6.nd[i].mac);
                out.extend(self.neighbours_heard(device, own_mac, heard));
            }
        }
        out
    }

    /// What other stations said on `device`, ARP or neighbour discovery alike: claims on our
    /// activeips for the core, answers for the checks in flight.
    fn neighbours_heard(&mut self, device: String, own_mac: [u8; 6], heard: Vec<Heard>) -> Answers {
        let mut claims = Vec::new();
        for m in heard {
            // Another MAC announcing or answering for one of the activeips of this device (the
            // socket skips this host's own frames): the core judges it (issue 14).
            // Addresses compared first: at 64 channels this runs 64 times per reply, and the
            // device names' string compares were most of the shell's own time.
            if m.mac != own_mac
                && self
                    .config
                    .channels
                    .iter()
                    .any(|c| c.activeip == m.ip && c.device == device)
            {
                claims.push(Input::ForeignClaim(Rival {
                    device: device.clone(),
                    address: m.ip,
                    rival_mac: m.mac,
                    own_mac,
                }));
            }
            if !m.answer {
                continue;
            }
            for a in &mut self.arps {
                if a.targets
                    .iter()
                    .any(|t| t.address == m.ip && t.device == device)
                {
                    a.found.entry((device.clone(), m.ip)).or_insert(m.mac);
                }
            }
            for t in &mut self.tables {
                for (target, answered) in t.targets.iter().zip(t.answered.iter_mut()) {
                    if target.address == m.ip && target.device == device {
                        *answered = true;
                    }
                }
            }
        }
        let mut out: Answers = Vec::new();
        // Most replies complete nothing: the list is only rebuilt when a check is done.
        if self.arps.iter().any(|a| a.found.len() >= a.targets.len()) {
            let (done, left): (Vec<_>, Vec<_>) = self
                .arps
                .drain(..)
                .partition(|a| a.found.len() >= a.targets.len());
            self.arps = left;
            out.extend(done.into_iter().map(|a| self.arp_done(a)));
        }
        out.extend(self.tables_answered());
        out.extend(claims);
        out
    }

    fn arp_done(&mut self, a: ArpInFlight) -> Input {
        if a.conflict {
            let rivals = a
                .targets
                .iter()
                .filter_map(|t| {
                    let mac = a.found.get(&(t.device.clone(), t.address))?;
                    let own = self.own_mac(t)?;
                    Some(Rival {
                        device: t.device.clone(),
                        address: t.address,
                        rival_mac: *mac,
                        own_mac: own,
                    })
                })
                .collect();
            Input::ConflictDone { id: a.id, rivals }
        } else {
            let results: Vec<ArpResult> = a
                .targets
                .iter()
                .map(|t| ArpResult {
                    target: t.clone(),
                    mac: a.found.get(&(t.device.clone(), t.address)).copied(),
                })
                .collect();
            for r in &results {
                match r.mac {
                    Some(mac) => self.polled.insert(r.target.address, mac),
                    None => self.polled.remove(&r.target.address),
                };
            }
            Input::ArpDone { id: a.id, results }
        }
    }

    fn ask_peer(
        &mut self,
        id: RequestId,
        channel: &str,
        testips: &[IpAddr],
        timeout: Duration,
        now: Instant,
    ) -> Answers {
        let Some((link, peer)) = self.link.as_mut() else {
            // No peer protocol here: nobody to ask.
            return vec![Input::PeerAnswer { id, answer: None }];
        };
        let mut requests = Vec::new();
        // A question carries at most MAX_TARGETS test hosts: more are asked in several.
        for chunk in testips.chunks(crate::peer::MAX_TARGETS) {
            match link.send_query(*peer, channel, chunk, timeout) {
                Ok(Some(r)) => requests.push(r),
                Ok(None) => return vec![Input::PeerAnswer { id, answer: None }],
                Err(e) => {
                    self.log.warn(&format!("peer question: {e}"));
                    return vec![Input::PeerAnswer { id, answer: None }];
                }
            }
        }
        let n = requests.len();
        self.questions.push(QuestionInFlight {
            id,
            requests,
            reached: vec![None; n],
            role: None,
            deadline: now + timeout,
        });
        vec![]
    }

    /// The asking socket is readable.
    pub fn peer_link_readable(&mut self) -> Answers {
        let Some((link, peer)) = self.link.as_mut() else {
            return vec![];
        };
        for (request, answer) in link.receive_answers(*peer) {
            for q in &mut self.questions {
                if let Some(k) = q.requests.iter().position(|r| *r == request) {
                    q.reached[k] = Some(answer.reached.clone());
                    q.role = Some(match answer.role {
                        crate::peer::Role::Active => Role::Active,
                        crate::peer::Role::Passive => Role::Passive,
                    });
                }
            }
        }
        let (done, left): (Vec<_>, Vec<_>) = self
            .questions
            .drain(..)
            .partition(|q| q.reached.iter().all(Option::is_some));
        self.questions = left;
        done.into_iter()
            .map(|q| Input::PeerAnswer {
                id: q.id,
                answer: Some(PeerReport {
                    role: q.role.unwrap_or(Role::Passive),
                    reached: q.reached.into_iter().flatten().flatten().collect(),
                }),
            })
            .collect()
    }

    /// The responder's socket is readable: admitted questions start a probe; the peer's
    /// heartbeats, notices (release, yield) and handover messages are the answers.
    pub fn responder_readable(&mut self, registry: &Registry) -> Answers {
        let Some(r) = self.responder.as_mut() else {
            return vec![];
        };
        let jobs = r.receive();
        let fast = self.fast_inputs();
        self.log_responder();
        let now = Instant::now();
        for job in jobs {
            let (targets, timeout) = (job.targets.clone(), job.timeout);
            if let Err(e) = self.probe(
                registry,
                ProbeFor::Peer(job.clone()),
                targets,
                timeout,
                1,
                now,
            ) {
                if let Some(r) = self.responder.as_mut() {
                    r.reply(job, Err(e), crate::peer::Role::Passive);
                }
                self.log_responder();
            }
        }
        fast
    }

    /// Answers are logged; what the responder dropped is a warning per kind and sender, summed up
    /// once a minute while it repeats (anyone on the sync link could flood the log otherwise).
    fn log_responder(&mut self) {
        let Some(r) = self.responder.as_mut() else {
            return;
        };
        for e in r.take_events() {
            use crate::net::linux::peer::ResponderEvent as E;
            match &e {
                E::Answered { .. } => self.log.info(&format!("peer: {e}")),
                E::Dropped { from, reason } => self.log.warn_repeated_as(
                    &format!(
                        "peer: dropping datagrams from {}: {}",
                        from.ip(),
                        reason.kind()
                    ),
                    &format!("peer: dropping datagrams from {}: {reason}", from.ip()),
                ),
                E::UnknownChannel { from, .. }
                | E::RateLimited { from }
                | E::WrongSender { from, .. } => self.log.warn_repeated(&format!(
                    "peer: dropping queries from {}: {}",
                    from.ip(),
                    match &e {
                        E::UnknownChannel { .. } => "unknown channel",
                        E::RateLimited { .. } => "over the rate cap",
                        _ => "not the peer",
                    }
                )),
                E::ProbeFailed { .. } => self.log.warn_repeated(&format!("peer: {e}")),
            }
        }
    }

    /// Both gratuitous ARP forms for `a`, from its device's ARP socket (unsolicited Neighbour
    /// Advertisements for an IPv6 one).
    fn announce(&mut self, registry: &Registry, a: &Address) -> Result<(), NetError> {
        if self.dry_run {
            self.log.info(&format!(
                "dry-run: would announce {} on {}",
                a.address, a.device
            ));
            return Ok(());
        }
        let sent = self.announce_once(registry, a);
        match sent {
            Ok(()) => Ok(()),
            // A lost capability stops the daemon, as for the other address changes.
            Err(e @ NetError::Privilege { .. }) => Err(e),
            Err(e) => {
                // A device re-created under its name gets a fresh socket next time.
                self.refresh_arp_device(&a.device);
                self.log
                    .warn(&format!("announce {} on {}: {e}", a.address, a.device));
                Ok(())
            }
        }
    }

    fn change(
        &mut self,
        what: &str,
        a: &Address,
        f: impl FnOnce(
            &mut dyn AddressControl,
            &mut crate::net::linux::v6::V6,
            &Address,
        ) -> Result<(), NetError>,
    ) -> Result<(), NetError> {
        if self.dry_run {
            self.log.info(&format!(
                "dry-run: would {what} {} on {}",
                a.address, a.device
            ));
            return Ok(());
        }
        let result = f(self.addresses.as_mut(), &mut self.v6, a);
        if what != "announce" {
            // Our own change: the next ownership check reads the kernel again.
            self.book.invalidate();
        }
        match result {
            Ok(()) => {
                if what != "announce" {
                    self.log
                        .info(&format!("{what} {} on {}", a.address, a.device));
                }
            }
            // A lost capability stops the daemon: an address it cannot change is not its to hold.
            Err(e @ NetError::Privilege { .. }) => return Err(e),
            Err(e) => self
                .log
                .warn(&format!("{what} {} on {}: {e}", a.address, a.device)),
        }
        Ok(())
    }

    /// Adds (`add`, `restore`) or removes (`remove`) every address of `list`: the IPv4 ones in one
    /// batch (one netlink datagram, so the first channel is not kept waiting by the others), the
    /// IPv6 ones one by one; each logged as by [`Self::change`].
    fn change_all(&mut self, what: &str, list: &[Address]) -> Result<(), NetError> {
        let v4: Vec<&Address> = list.iter().filter(|a| a.address.is_ipv4()).collect();
        if self.dry_run || v4.len() < 2 {
            let f = if what == "remove" {
                family::remove
            } else {
                family::add
            };
            for a in list {
                self.change(what, a, f)?;
            }
            return Ok(());
        }
        let results = if what == "remove" {
            let items: Vec<(&str, std::net::Ipv4Addr)> = v4
                .iter()
                .filter_map(|a| match a.address {
                    IpAddr::V4(ip) => Some((a.device.as_str(), ip)),
                    IpAddr::V6(_) => None,
                })
                .collect();
            self.addresses.remove_all(&items)
        } else {
            let items: Vec<(&str, std::net::Ipv4Addr, Option<u8>)> = v4
                .iter()
                .filter_map(|a| match a.address {
                    IpAddr::V4(ip) => Some((a.device.as_str(), ip, a.prefix)),
                    IpAddr::V6(_) => None,
                })
                .collect();
            self.addresses.add_all(&items)
        };
        // Our own change: the next ownership check reads the kernel again.
        self.book.invalidate();
        let mut lost = None;
        let mut done = Vec::with_capacity(v4.len());
        for (a, result) in v4.iter().zip(results) {
            match result {
                Ok(()) => done.push(format!("{what} {} on {}", a.address, a.device)),
                // A lost capability stops the daemon: an address it cannot change is not its to
                // hold (after the others of the batch are logged).
                Err(e @ NetError::Privilege { .. }) => {
                    self.log
                        .warn(&format!("{what} {} on {}: {e}", a.address, a.device));
                    lost.get_or_insert(e);
                }
                Err(e) => self
                    .log
                    .warn(&format!("{what} {} on {}: {e}", a.address, a.device)),
            }
        }
        self.log.info_all(&done);
        if let Some(e) = lost {
            return Err(e);
        }
        let f = if what == "remove" {
            family::remove
        } else {
            family::add
        };
        for a in list.iter().filter(|a| !a.address.is_ipv4()) {
            self.change(what, a, f)?;
        }
        Ok(())
    }

    /// The end of one step's actions: the failure history of a release carried out in it is written
    /// now, after the release notice went to the peer.
    pub fn finish_step(&mut self) {
        if std::mem::take(&mut self.released) {
            self.record_pending_failover();
        }
    }

    /// Writes the failure action the core recorded, now that it was carried out.
    fn record_pending_failover(&mut self) {
        let Some(at) = self.pending_failover.take() else {
            return;
        };
        if self.dry_run {
            self.log
                .info(&format!("dry-run: would record a failure action at {at}"));
        } else if let Err(e) = state::record_failover(&self.history_file, at, 64) {
            self.log.warn(&format!(
                "failure history {}: {e}",
                self.history_file.display()
            ));
        }
    }

    fn channel(&self, ident: &str) -> Option<Channel> {
        self.config
            .channels
            .iter()
            .find(|c| c.ident == ident)
            .cloned()
    }

    fn run_hook(
        &mut self,
        registry: &Registry,
        hook: Hook,
        ident: &str,
        command: String,
        timeout: Duration,
    ) {
        let Some(channel) = self.channel(ident) else {
            return;
        };
        let event = match hook {
            Hook::Up => HookEvent::Up,
            Hook::Down => HookEvent::Down,
        };
        if self.dry_run {
            self.log.info(&format!(
                "dry-run: would run the {} hook for {ident}",
                event.as_str()
            ));
            return;
        }
        let job = Job {
            name: format!("{} hook for {ident}", event.as_str()),
            command,
            env: HookEnv::for_channel(event, &channel),
            timeout,
        };
        if let Some(e) = self.children.hook(registry, job) {
            self.log.warn(&e);
        }
    }

    fn failure_action(&mut self, registry: &Registry, command: FailureCommand, ident: &str) {
        let channel = self
            .channel(ident)
            .or_else(|| self.config.channels.first().cloned())
            .expect("a validated config has a channel");
        if self.dry_run {
            self.log.info(&format!(
                "dry-run: would carry out the failure action {command:?}"
            ));
            return;
        }
        self.log.info(&format!(
            "failure action {command:?} for channel {}",
            channel.ident
        ));
        let (event, command) = match command {
            FailureCommand::Exec(c) => (HookEvent::Failure, c),
            FailureCommand::Reboot => match &self.executor.reboot_command {
                Some(c) => (HookEvent::Reboot, c.clone()),
                None => {
                    let Err(e) = reboot_machine();
                    self.log.warn(&format!("failure action: {e}"));
                    return;
                }
            },
        };
        let job = Job {
            name: "failure action".into(),
            command,
            env: HookEnv::for_channel(event, &channel),
            timeout: self.executor.timeout,
        };
        if let Some(e) = self.children.failure(registry, job) {
            self.log.warn(&e);
        }
    }

    /// SIGCHLD: logs the children that ended; the service check's end is the core's answer.
    pub fn reap(&mut self, registry: &Registry) -> Answers {
        let (done, errors) = self.children.reap(registry);
        let mut answers = Vec::new();
        for f in done {
            if f.check {
                let Some((id, _)) = self.check.take() else {
                    continue;
                };
                let outcome = if f.outcome.success() {
                    Ok(())
                } else {
                    let err = f.outcome.stderr.trim();
                    Err(if err.is_empty() {
                        f.outcome.to_string()
                    } else {
                        format!("{}; stderr: {err}", f.outcome)
                    })
                };
                answers.push(Input::CheckDone { id, outcome });
                continue;
            }
            if f.outcome.success() {
                self.log.info(&format!("{}: ok", f.name));
            } else {
                self.log.warn(&format!(
                    "{}: {}; stderr: {}",
                    f.name,
                    f.outcome,
                    f.outcome.stderr.trim()
                ));
            }
        }
        for e in errors {
            self.log.warn(&e);
        }
        answers
    }
}

/// Whether this node holds every activeip of `config` right now (a restarted daemon resumes).
pub fn holds_activeips(config: &Config) -> bool {
    config
        .channels
        .iter()
        .all(|c| family::kernel_holds(&c.device, c.activeip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Instant;
    use std::net::Ipv4Addr;

    /// Address control that refuses (no CAP_NET_ADMIN) or grants every change.
    struct Addresses(bool);

    impl AddressControl for Addresses {
        fn add(&mut self, _: &str, _: Ipv4Addr, _: Option<u8>) -> Result<(), NetError> {
            self.result()
        }
        fn remove(&mut self, _: &str, _: Ipv4Addr) -> Result<(), NetError> {
            self.result()
        }
        fn holds(&mut self, _: &str, _: Ipv4Addr) -> Result<bool, NetError> {
            Ok(false)
        }
        fn announce(&mut self, _: &str, _: Ipv4Addr) -> Result<(), NetError> {
            Ok(())
        }
    }

    impl Addresses {
        fn result(&self) -> Result<(), NetError> {
            if self.0 {
                Ok(())
            } else {
                Err(NetError::Privilege {
                    what: "add address".into(),
                    capability: "CAP_NET_ADMIN",
                })
            }
        }
    }

    fn shell(history: &std::path::Path, allowed: bool) -> Shell {
        let mut config = crate::sim::document_config(crate::config::PolicyMode::Improved);
        config.policy.historyfile = history.to_path_buf();
        let log = Log::new(crate::daemon::clock::Clock::start());
        let mut shell = Shell::new(&config, false, false, log, FailureExecutor::default());
        shell.addresses = Box::new(Addresses(allowed));
        shell
    }

    /// An echo reply counts only for a target of the device it came in on: one ICMPv6 socket
    /// serves every device, and one test host address can sit on two LANs (the same link-local
    /// address, or one prefix on two segments). The same reply on the target's own device counts.
    #[test]
    fn an_echo_reply_counts_only_on_the_device_it_came_in_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sh = shell(&dir.path().join("failovers"), true);
        let target: IpAddr = "2001:db8:1::1".parse().expect("v6");
        let sent = std::time::Instant::now();
        let timeout = Duration::from_millis(300);
        sh.probes.push(ProbeInFlight {
            purpose: ProbeFor::Core(RequestId(5)),
            targets: vec![ProbeTarget {
                device: "eth1".into(),
                source: None,
                target,
            }],
            sent: vec![vec![(7, sent)]],
            rtt: vec![None],
            rounds: Rounds::first_sent(sent, timeout, 1),
            deadline: sent + timeout,
        });
        let id = sh.identifier;
        let elsewhere = sh.echo_replies(vec![(target, id, 7, Some("eth2".into()))]);
        assert!(
            elsewhere.is_empty(),
            "eth2's reply answered eth1's probe: {elsewhere:?}"
        );
        assert_eq!(sh.probes[0].rtt, vec![None]);
        let here = sh.echo_replies(vec![(target, id, 7, Some("eth1".into()))]);
        match &here[..] {
            [Input::ProbeDone { id, results }] => {
                assert_eq!(*id, RequestId(5));
                assert!(results[0].rtt.is_some(), "{results:?}");
            }
            other => panic!("not answered on its own device: {other:?}"),
        }
        assert!(sh.probes.is_empty());
    }

    fn demote() -> [Action; 2] {
        let address = crate::core::action::Address {
            device: "eth1".into(),
            address: Ipv4Addr::new(192, 0, 2, 50).into(),
            prefix: None,
        };
        [
            Action::RecordFailover {
                at: Instant::from_millis(1000),
            },
            Action::ReleaseAddresses {
                remove: vec![address],
                restore: vec![],
            },
        ]
    }

    /// Issue 12: an IPv6 address goes to the IPv6 primitives (netlink IPv6 address control, the
    /// NA announcer), never to the IPv4 address control (which here refuses everything, as without
    /// CAP_NET_ADMIN). The device does not exist (nothing of the host is touched): the IPv6 change
    /// fails as "no such device", a warning, not a stop. The IPv4 address of the same action still
    /// goes to the IPv4 control.
    #[test]
    fn ipv6_addresses_are_routed_to_the_ipv6_primitives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let poll = mio::Poll::new().expect("poll");
        let mut refused = shell(&dir.path().join("failovers"), false);
        let v6 = crate::core::action::Address {
            device: "fo-nodev6".into(),
            address: "2001:db8:1::50".parse().expect("v6"),
            prefix: Some(64),
        };
        let claim = |add: Vec<crate::core::action::Address>| Action::ClaimAddresses {
            add,
            remove: vec![],
        };
        let routed = refused.execute(poll.registry(), claim(vec![v6.clone()]));
        assert!(matches!(routed, Ok(ref a) if a.is_empty()), "{routed:?}");
        let announced = refused.execute(
            poll.registry(),
            Action::Announce {
                addresses: vec![v6.clone()],
            },
        );
        assert!(announced.is_ok(), "{announced:?}");
        assert!(!refused.holds_each(std::slice::from_ref(&v6))[0]
            .as_ref()
            .is_ok_and(|held| *held));
        let v4 = crate::core::action::Address {
            address: Ipv4Addr::new(192, 0, 2, 50).into(),
            ..v6
        };
        let err = refused
            .execute(poll.registry(), claim(vec![v4]))
            .expect_err("the IPv4 address control was asked");
        assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
    }

    /// Issue 7: a look for a rival that nobody answers needs no wake-up of its own when the core
    /// does not await the empty answer; it is given with the next answers. One that awaits it keeps
    /// its deadline. (The device does not exist: the probe goes nowhere, nothing is touched.)
    #[test]
    fn a_quiet_conflict_check_sets_no_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let poll = mio::Poll::new().expect("poll");
        let mut shell = shell(&dir.path().join("failovers"), true);
        let look = |id: u64, report_empty: bool| Action::ConflictCheck {
            id: RequestId(id),
            targets: vec![ArpTarget {
                device: "fo-nodev7".into(),
                address: Ipv4Addr::new(192, 0, 2, 10).into(),
            }],
            timeout: Duration::from_millis(50),
            report_empty,
        };
        match shell.execute(poll.registry(), look(1, false)) {
            Err(e @ NetError::Privilege { .. }) => {
                assert!(std::env::var_os("CI").is_none(), "CI runs as root: {e}");
                eprintln!("SKIPPED a_quiet_conflict_check_sets_no_deadline: {e}");
                return;
            }
            other => assert!(matches!(other, Ok(ref a) if a.is_empty()), "{other:?}"),
        }
        assert_eq!(shell.next_deadline(), None, "a wake-up for an empty answer");
        let later = std::time::Instant::now() + Duration::from_millis(60);
        let answers = shell.expire(later);
        assert!(
            matches!(&answers[..], [Input::ConflictDone { id: RequestId(1), rivals }] if rivals.is_empty()),
            "{answers:?}"
        );
        let before = std::time::Instant::now();
        assert!(matches!(shell.execute(poll.registry(), look(2, true)), Ok(a) if a.is_empty()));
        let due = shell
            .next_deadline()
            .expect("an awaited answer has its deadline");
        assert!(
            due >= before + Duration::from_millis(50) && due <= before + Duration::from_secs(1)
        );
    }

    /// Bug: without CAP_NET_ADMIN the daemon recorded failure actions whose release never happened;
    /// they then held back real failure actions for an hour, across restarts.
    #[test]
    fn a_failure_action_that_did_not_happen_is_not_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let history = dir.path().join("failovers");
        let poll = mio::Poll::new().expect("poll");
        let mut refused = shell(&history, false);
        let [record, release] = demote();
        assert!(matches!(refused.execute(poll.registry(), record), Ok(a) if a.is_empty()));
        let err = refused
            .execute(poll.registry(), release)
            .expect_err("a missing capability stops");
        assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
        refused.finish_step();
        assert!(state::read_history(&history).is_empty(), "recorded anyway");

        let mut granted = shell(&history, true);
        for action in demote() {
            granted
                .execute(poll.registry(), action)
                .expect("carried out");
        }
        // Not before the step's end: the release notice queued behind the release goes first.
        assert!(state::read_history(&history).is_empty(), "written mid-step");
        granted.finish_step();
        assert_eq!(state::read_history(&history), [Instant::from_millis(1000)]);
    }
}
