//! Carries out the core's actions on Linux: one `match` over [`Action`], each arm a call into the
//! probing and address primitives. Requests are answered synchronously with the matching [`Input`],
//! except the conflict check: it runs every checktime while active and would delay the active's
//! probes by its timeout, so it runs on a worker thread and its answer goes through [`Deliver`].

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Channel, Config, FailureAction};
use crate::core::action::{Address, CounterSample, Decision, FailureCommand, Hook};
use crate::core::{Action, Input};
use crate::daemon::failure::{FailureExecutor, FailureOutcome};
use crate::daemon::hooks::{run_hook, HookEnv, HookEvent, DEFAULT_TIMEOUT};
use crate::daemon::log::Log;
use crate::daemon::state;
use crate::net::linux::peer::PeerLink;
use crate::net::{
    AddressControl, ArpChecker, ArpResult, ArpTarget, ConflictChecker, CounterSource, NetError,
    ProbeResult, ProbeTarget, Prober,
};

/// The primitives the shell is composed of; tests and `--dry-run` swap some of them.
pub struct Primitives {
    pub counters: Box<dyn CounterSource>,
    pub prober: Box<dyn Prober>,
    pub arp: Box<dyn ArpChecker>,
    /// Shared with the worker thread of each conflict check.
    pub conflict: Arc<dyn ConflictChecker>,
    pub addresses: Box<dyn AddressControl>,
}

/// Hands an answer computed off the loop's thread back to the loop (the service's event channel).
/// The first argument is the shell's generation when the request was made (see [`Shell::generation`]).
pub type Deliver = Arc<dyn Fn(u64, Input) + Send + Sync>;

/// What ended a request: the answer, or an error that must stop the daemon (a missing privilege: a
/// passive node that cannot see the active must not conclude that it is gone).
pub type Answer = Result<Option<Input>, NetError>;

/// The Linux shell around one node.
pub struct Shell {
    config: Config,
    net: Primitives,
    executor: FailureExecutor,
    /// Log what would change instead of changing it.
    dry_run: bool,
    /// The channel of the latest decision that named one: the failure action's environment.
    last_channel: Option<String>,
    /// Keep at most this many failure-action times in the history file.
    history_keep: usize,
    history_file: PathBuf,
    /// A failure action the core decided, written to the history once it is carried out: one that
    /// did not happen (its release refused for lack of a capability) must never count.
    pending_failover: Option<crate::core::Instant>,
    log: Log,
    /// Hooks, conflict checks and questions still running: waited for before the process exits, so
    /// none is cut off (each is bounded by its own timeout).
    workers: Vec<std::thread::JoinHandle<()>>,
    /// Where answers from worker threads go.
    deliver: Deliver,
    /// The peer protocol's asking link and the peer's address, when configured.
    /// Shared with the worker that asks the active before a takeover.
    peer_link: Option<(Arc<Mutex<PeerLink>>, Ipv4Addr)>,
    /// Bumped by every reload: a rebuilt node hands out request ids from the start again, so an
    /// answer from before the reload must not be fed to it.
    generation: u64,
}

impl Shell {
    pub fn new(
        config: &Config,
        net: Primitives,
        executor: FailureExecutor,
        dry_run: bool,
        log: Log,
        deliver: Deliver,
    ) -> Shell {
        Shell {
            config: config.clone(),
            net,
            executor,
            dry_run,
            last_channel: None,
            history_keep: 64,
            history_file: config.policy.historyfile.clone(),
            pending_failover: None,
            log,
            workers: Vec::new(),
            deliver,
            peer_link: None,
            generation: 0,
        }
    }

    /// Waits for running hooks and conflict checks (each is bounded by its own timeout).
    pub fn finish(&mut self) {
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }

    /// Asks the peer over this link before acting on a failure (the peer protocol).
    pub fn set_peer_link(&mut self, link: Option<(PeerLink, Ipv4Addr)>) {
        self.peer_link = link.map(|(l, peer)| (Arc::new(Mutex::new(l)), peer));
    }

    /// The generation of answers the current node may be fed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes a new config (SIGHUP); the primitives stay.
    pub fn set_config(&mut self, config: &Config) {
        self.config = config.clone();
        self.generation += 1;
        self.history_file = config.policy.historyfile.clone();
    }

    /// Carries out one action. Requests return the answer to feed back into the core.
    pub fn execute(&mut self, action: Action) -> Answer {
        match action {
            Action::SampleCounters { id, devices } => {
                let samples = devices
                    .into_iter()
                    .map(|device| {
                        let counters = match self.net.counters.sample(&device) {
                            Ok(c) => Some(c),
                            Err(e) => {
                                self.log.warn(&format!("counters of {device}: {e}"));
                                None
                            }
                        };
                        CounterSample { device, counters }
                    })
                    .collect();
                Ok(Some(Input::Counters { id, samples }))
            }
            Action::Probe {
                id,
                targets,
                timeout,
            } => {
                // A dry run holds no activeip to send from: the kernel picks the source instead.
                let sent: Vec<ProbeTarget> = if self.dry_run {
                    let any = |t: &ProbeTarget| ProbeTarget {
                        source: None,
                        ..t.clone()
                    };
                    targets.iter().map(any).collect()
                } else {
                    targets.clone()
                };
                let results = match self.net.prober.probe(&sent, timeout) {
                    Ok(r) => r
                        .into_iter()
                        .map(|mut r| {
                            // Answered in the core's own terms.
                            if let Some(t) = targets.iter().find(|t| {
                                t.device == r.target.device && t.target == r.target.target
                            }) {
                                r.target = t.clone();
                            }
                            r
                        })
                        .collect(),
                    Err(e @ NetError::Privilege { .. }) => return Err(e),
                    Err(e) => {
                        // A device that is down cannot send: its targets did not answer.
                        self.log.warn(&format!("probe: {e}"));
                        Vec::new()
                    }
                };
                Ok(Some(Input::ProbeDone { id, results }))
            }
            Action::ArpCheck {
                id,
                targets,
                timeout,
            } => {
                let results: Vec<ArpResult> = match self.net.arp.check(&targets, timeout) {
                    Ok(r) => r,
                    Err(e @ NetError::Privilege { .. }) => return Err(e),
                    Err(e) => {
                        self.log.warn(&format!("arp check: {e}"));
                        Vec::new()
                    }
                };
                Ok(Some(Input::ArpDone { id, results }))
            }
            Action::ConflictCheck {
                id,
                targets,
                timeout,
            } => {
                // Only reads (probes that teach nobody anything): a dry run checks too.
                self.conflict_check(id, targets, timeout);
                Ok(None)
            }
            Action::CheckPeer {
                id,
                channel,
                testips,
                timeout,
            } => {
                let (alive, reaches) = self.check_peer(&channel, &testips, timeout)?;
                Ok(Some(Input::PeerAlive { id, alive, reaches }))
            }
            Action::ClaimAddresses { add, remove } => {
                for a in &add {
                    self.change("add", a, |ctl, a| ctl.add(&a.device, a.address, a.prefix))?;
                }
                for a in &remove {
                    self.change("remove", a, |ctl, a| ctl.remove(&a.device, a.address))?;
                }
                Ok(None)
            }
            Action::ReleaseAddresses { remove, restore } => {
                // The passiveip first: without a configured prefix it then keeps the network's
                // prefix instead of falling back to /32.
                for a in &restore {
                    self.change("restore", a, |ctl, a| {
                        ctl.add(&a.device, a.address, a.prefix)
                    })?;
                }
                for a in &remove {
                    self.change("remove", a, |ctl, a| ctl.remove(&a.device, a.address))?;
                }
                self.record_pending_failover();
                Ok(None)
            }
            Action::AskActive {
                id,
                channel,
                testips,
                timeout,
            } => {
                self.ask_active(id, channel, testips, timeout);
                Ok(None)
            }
            Action::CheckOwnership { id, addresses } => {
                // A dry run holds nothing: there is nothing to have lost.
                let missing = if self.dry_run {
                    Vec::new()
                } else {
                    addresses
                        .into_iter()
                        .filter(|a| match self.net.addresses.holds(&a.device, a.address) {
                            Ok(held) => !held,
                            Err(e) => {
                                self.log.warn(&format!("ownership of {}: {e}", a.address));
                                false
                            }
                        })
                        .collect()
                };
                Ok(Some(Input::OwnershipDone { id, missing }))
            }
            Action::Announce { addresses } => {
                for a in &addresses {
                    self.change("announce", a, |ctl, a| ctl.announce(&a.device, a.address))?;
                }
                Ok(None)
            }
            Action::RunHook {
                hook,
                channel,
                command,
            } => {
                self.run_hook(hook, &channel, command);
                Ok(None)
            }
            Action::FailureAction(command) => {
                // Written before the action runs: a reboot must find itself counted.
                self.record_pending_failover();
                self.failure_action(command);
                Ok(None)
            }
            Action::RecordFailover { at } => {
                // Written when the action (a release, or the failure command) is carried out.
                self.pending_failover = Some(at);
                Ok(None)
            }
            Action::Alert(d) => {
                self.remember(&d);
                self.log.alert(&d);
                Ok(None)
            }
            Action::Log(d) => {
                self.remember(&d);
                self.log.decision(&d);
                Ok(None)
            }
        }
    }

    fn remember(&mut self, d: &Decision) {
        if let Some(c) = &d.channel {
            self.last_channel = Some(c.clone());
        }
    }

    /// Before acting on a failure of `channel`: asks the peer's daemon whether it reaches the
    /// channel's test hosts (the peer protocol), judged by the same `testhosts` rule. Without the
    /// protocol, or without an answer, only whether the peer's host is alive.
    fn check_peer(
        &mut self,
        channel: &str,
        testips: &[Ipv4Addr],
        timeout: Duration,
    ) -> Result<(bool, Option<bool>), NetError> {
        if let Some((link, peer)) = &self.peer_link {
            let peer = *peer;
            let mut link = link.lock().expect("the peer link lock is never poisoned");
            let mut reached = Vec::new();
            let mut answered = true;
            // A question carries at most MAX_TARGETS test hosts: more are asked in turn.
            for chunk in testips.chunks(crate::peer::MAX_TARGETS) {
                match link.ask(peer, channel, chunk, timeout) {
                    Ok(Some(answer)) => reached.extend(answer.reached),
                    Ok(None) => {
                        answered = false;
                        break;
                    }
                    Err(e @ NetError::Privilege { .. }) => return Err(e),
                    Err(e) => {
                        self.log.warn(&format!("peer question: {e}"));
                        answered = false;
                        break;
                    }
                }
            }
            if answered {
                let reaches = self.config.policy.testhosts.healthy(reached);
                self.log.info(&format!(
                    "peer {peer} {} channel {channel}'s test hosts",
                    if reaches { "reaches" } else { "cannot reach" }
                ));
                return Ok((true, Some(reaches)));
            }
            self.log.info(&format!(
                "peer {peer} did not answer the question about {channel}; pinging it"
            ));
        }
        Ok((self.peer_alive()?, None))
    }

    /// The passive's question before taking over: does the peer answer as the active and reach
    /// `channel`'s test hosts? It runs on a worker, beside the ARP re-checks, and its answer comes
    /// back through `deliver` (`healthy: None` when the peer does not answer, or without the peer
    /// protocol).
    fn ask_active(
        &mut self,
        id: crate::core::action::RequestId,
        channel: String,
        mut testips: Vec<Ipv4Addr>,
        timeout: Duration,
    ) {
        let deliver = Arc::clone(&self.deliver);
        let generation = self.generation;
        let Some((link, peer)) = self.peer_link.clone() else {
            deliver(generation, Input::ActiveHealth { id, healthy: None });
            return;
        };
        testips.truncate(crate::peer::MAX_TARGETS);
        let rule = self.config.policy.testhosts;
        let log = self.log.clone();
        self.on_worker("the question to the active", move || {
            let answer = link
                .lock()
                .expect("the peer link lock is never poisoned")
                .ask(peer, &channel, &testips, timeout);
            let healthy = match answer {
                Ok(Some(answer)) => {
                    let reaches = rule.healthy(answer.reached.iter().copied());
                    let active = answer.role == crate::peer::Role::Active;
                    log.info(&format!(
                        "peer {peer} answers as {} and {} channel {channel}'s test hosts",
                        if active { "active" } else { "passive" },
                        if reaches { "reaches" } else { "cannot reach" }
                    ));
                    Some(active && reaches)
                }
                Ok(None) => {
                    log.info(&format!("peer {peer} does not answer on the sync link"));
                    None
                }
                Err(e) => {
                    log.warn(&format!("question to the active: {e}"));
                    None
                }
            };
            deliver(generation, Input::ActiveHealth { id, healthy });
        });
    }

    /// Is the peer alive? An ICMP echo over the sync link to `[sendconfig] peerip`. Without a
    /// peerip there is nothing to ask: the peer counts as alive (the classic behaviour), as the
    /// config validation warned.
    fn peer_alive(&mut self) -> Result<bool, NetError> {
        let Some((device, peer)) = self
            .config
            .sendconfig
            .as_ref()
            .and_then(|s| s.peerip.map(|p| (s.device.clone(), p)))
        else {
            self.log
                .warn("requirepeer: no [sendconfig] peerip to ask; assuming the peer is alive");
            return Ok(true);
        };
        let target = ProbeTarget {
            device,
            source: None,
            target: peer,
        };
        let timeout = self.config.network.timeout;
        // Two echoes: one lost packet on the sync link must not hold a real failover.
        for _ in 0..2 {
            match self
                .net
                .prober
                .probe(std::slice::from_ref(&target), timeout)
            {
                Ok(r) if r.iter().any(|p: &ProbeResult| p.rtt.is_some()) => return Ok(true),
                Ok(_) => {}
                Err(e @ NetError::Privilege { .. }) => return Err(e),
                Err(e) => self.log.warn(&format!("peer check: {e}")),
            }
        }
        self.log
            .info(&format!("peer {peer} does not answer on the sync link"));
        Ok(false)
    }

    /// Carries out one address change. A missing capability stops the daemon (as for probes): a
    /// node that cannot hold its addresses must not go on deciding as if it did.
    fn change(
        &mut self,
        what: &str,
        a: &Address,
        f: impl FnOnce(&mut dyn AddressControl, &Address) -> Result<(), NetError>,
    ) -> Result<(), NetError> {
        if self.dry_run {
            self.log.info(&format!(
                "dry-run: would {what} {} on {}",
                a.address, a.device
            ));
            return Ok(());
        }
        match f(self.net.addresses.as_mut(), a) {
            Ok(()) => {
                if what != "announce" {
                    self.log
                        .info(&format!("{what} {} on {}", a.address, a.device));
                }
            }
            Err(e @ NetError::Privilege { .. }) => return Err(e),
            Err(e) => self
                .log
                .warn(&format!("{what} {} on {}: {e}", a.address, a.device)),
        }
        Ok(())
    }

    /// Writes the failure action the core recorded, now that it was carried out.
    fn record_pending_failover(&mut self) {
        let Some(at) = self.pending_failover.take() else {
            return;
        };
        if self.dry_run {
            self.log
                .info(&format!("dry-run: would record a failure action at {at}"));
        } else if let Err(e) = state::record_failover(&self.history_file, at, self.history_keep) {
            self.log.warn(&format!(
                "failure history {}: {e}",
                self.history_file.display()
            ));
        }
    }

    /// Starts the check on a worker thread; the answer comes back through `deliver`. A check that
    /// cannot start goes unanswered: the core counts it as such after its grace time.
    fn conflict_check(
        &mut self,
        id: crate::core::action::RequestId,
        targets: Vec<ArpTarget>,
        timeout: Duration,
    ) {
        let checker = Arc::clone(&self.net.conflict);
        let deliver = Arc::clone(&self.deliver);
        let generation = self.generation;
        let log = self.log.clone();
        self.on_worker("the conflict check", move || {
            let rivals = checker.rivals(&targets, timeout).unwrap_or_else(|e| {
                // Nobody seen: the next check, a checktime later, tries again.
                log.warn(&format!("conflict check: {e}"));
                Vec::new()
            });
            deliver(generation, Input::ConflictDone { id, rivals });
        });
    }

    /// Runs `job` on its own thread (tracked, so the daemon waits for it before exiting): a check or
    /// hook that takes its time must not stall the decision loop.
    fn on_worker(&mut self, what: &str, job: impl FnOnce() + Send + 'static) {
        match std::thread::Builder::new().name("worker".into()).spawn(job) {
            Ok(handle) => {
                self.workers.retain(|h| !h.is_finished());
                self.workers.push(handle);
            }
            Err(e) => self.log.warn(&format!("cannot start {what}: {e}")),
        }
    }

    fn channel(&self, ident: &str) -> Option<Channel> {
        self.config
            .channels
            .iter()
            .find(|c| c.ident == ident)
            .cloned()
    }

    /// Hooks run on their own thread: a slow hook must not stall the monitor.
    fn run_hook(&mut self, hook: Hook, ident: &str, command: String) {
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
        let log = self.log.clone();
        let env = HookEnv::for_channel(event, &channel);
        let name = format!("{} hook for {ident}", event.as_str());
        self.on_worker("a hook", move || {
            match run_hook(&command, &env, DEFAULT_TIMEOUT) {
                Ok(out) if out.success() => log.info(&format!("{name}: ok")),
                Ok(out) => log.warn(&format!("{name}: {}; stderr: {}", out, out.stderr.trim())),
                Err(e) => log.warn(&format!("{name}: {e}")),
            }
        });
    }

    fn failure_action(&mut self, command: FailureCommand) {
        let channel = self
            .last_channel
            .as_deref()
            .and_then(|c| self.channel(c))
            .or_else(|| self.config.channels.first().cloned())
            .expect("a validated config has a channel");
        let action = match command {
            FailureCommand::Reboot => FailureAction::Reboot,
            FailureCommand::Exec(c) => FailureAction::Exec(c),
        };
        if self.dry_run {
            self.log.info(&format!(
                "dry-run: would carry out the failure action {action:?}"
            ));
            return;
        }
        self.log.info(&format!(
            "failure action {action:?} for channel {}",
            channel.ident
        ));
        match self.executor.execute(&action, &channel) {
            Ok(FailureOutcome::Exec(out)) | Ok(FailureOutcome::RebootCommand(out)) => {
                self.log.info(&format!("failure action: {}", out))
            }
            Ok(FailureOutcome::Demote) => {}
            Err(e) => self.log.warn(&format!("failure action: {e}")),
        }
    }
}

/// The Linux primitives. `table` chooses the source document's ARP check (flush, UDP, read the
/// neighbour table); otherwise raw ARP frames, which touch no kernel table (`--dry-run` uses those).
pub fn linux_primitives(table: bool) -> Primitives {
    use crate::net::linux::{
        addr::NetlinkAddresses, IcmpProber, NetlinkCounters, RawArpChecker, TableArpChecker,
    };
    Primitives {
        counters: Box::new(NetlinkCounters::new()),
        prober: Box::new(IcmpProber::new()),
        arp: if table {
            Box::new(TableArpChecker::new())
        } else {
            Box::new(RawArpChecker::new())
        },
        conflict: Arc::new(RawArpChecker::probe_form()),
        addresses: Box::new(NetlinkAddresses::new()),
    }
}

/// Whether this node holds every activeip of `config` right now (a restarted daemon resumes).
pub fn holds_activeips(config: &Config) -> bool {
    config
        .channels
        .iter()
        .all(|c| crate::net::linux::addr::holds(&c.device, c.activeip).unwrap_or(false))
}

/// The activeips of `old` that `new` no longer has: released on a reload.
pub fn dropped_activeips(old: &Config, new: &Config) -> Vec<(String, Ipv4Addr)> {
    old.channels
        .iter()
        .filter(|o| {
            !new.channels
                .iter()
                .any(|n| n.device == o.device && n.activeip == o.activeip)
        })
        .map(|o| (o.device.clone(), o.activeip))
        .collect()
}

/// Waits at most this long between two looks at the signals, even with a distant deadline.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Instant;

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
        let net = Primitives {
            addresses: Box::new(Addresses(allowed)),
            ..linux_primitives(false)
        };
        let log = Log::new(crate::daemon::clock::Clock::start());
        Shell::new(
            &config,
            net,
            FailureExecutor::default(),
            false,
            log,
            Arc::new(|_, _| {}),
        )
    }

    fn demote() -> [Action; 2] {
        let address = crate::core::action::Address {
            device: "eth1".into(),
            address: Ipv4Addr::new(192, 0, 2, 50),
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

    /// Bug: without CAP_NET_ADMIN the daemon recorded failure actions whose release never happened;
    /// they then held back real failure actions for an hour, across restarts.
    #[test]
    fn a_failure_action_that_did_not_happen_is_not_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let history = dir.path().join("failovers");
        let mut refused = shell(&history, false);
        let [record, release] = demote();
        assert!(matches!(refused.execute(record), Ok(None)));
        let err = refused
            .execute(release)
            .expect_err("a missing capability stops");
        assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
        assert!(state::read_history(&history).is_empty(), "recorded anyway");

        let mut granted = shell(&history, true);
        for action in demote() {
            granted.execute(action).expect("carried out");
        }
        assert_eq!(state::read_history(&history), [Instant::from_millis(1000)]);
    }
}
