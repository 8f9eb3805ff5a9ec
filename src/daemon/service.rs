//! The daemon's event loop, shared by `run`, `run-active` and `run-passive`: one thread, one
//! `mio::Poll`. It waits for the first of: a signal (SIGTERM, SIGINT, SIGHUP, SIGCHLD through
//! signal-hook-mio), a reply on one of the shell's non-blocking sockets (ICMP, ARP, the peer
//! protocol), a child's output, the core's `poll_timeout`, a request's own timeout, the state file's
//! next allowed write and the watchdog's due time. No step blocks: requests on the network are sent
//! and answered later, children are reaped on SIGCHLD, and everything the loop does between two
//! waits is a handful of non-blocking syscalls and local netlink round trips.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use crate::config::{self, Config};
use crate::core::action::Role;
use crate::core::status::{Status, StatusKey};
use crate::core::{Input, Node, Scope};
use crate::daemon::children::{PIPE_BASE, STOP_HOOK_LIMIT};
use crate::daemon::clock::Clock;
use crate::daemon::failure::FailureExecutor;
use crate::daemon::log::Log;
use crate::daemon::notify::{self, Notifier};
use crate::daemon::shell::{
    self, Shell, ARP_BASE, CONTROL, ICMP, ICMP6_BASE, LINK_EVENTS, ND_BASE, PEER_LINK, RESPONDER,
};
use crate::daemon::signals::{self, SignalEvent};
use crate::daemon::state::StateFile;
use crate::exit::{self, ExitError};
use crate::net::linux::peer::ResponderStats;

const SIGNALS: Token = Token(0);

/// How a run is set up (from the command line).
pub struct Options {
    /// `run`, `run-active` or `run-passive`: in the state file and the log.
    pub command: &'static str,
    pub config_path: PathBuf,
    pub scope: Scope,
    /// Log what would change; touch no address, hook, history or kernel table.
    pub dry_run: bool,
    /// `--arp-method`: the source document's ARP check (flush, UDP, read the table) rather than raw
    /// ARP frames; `None` follows `[policy] arpcheck`.
    pub arp_table: Option<bool>,
    /// Overrides `[policy] statefile`.
    pub state_file: Option<PathBuf>,
}

/// Runs until stopped (or, for the one-role commands, until the role's work is done); returns the
/// exit code: 0 stopped or took over, 1 the run ended with a channel failure.
pub fn run(opts: Options, config: Config) -> anyhow::Result<i32> {
    crate::daemon::caps::check(opts.command, opts.scope, &config, opts.dry_run)?;
    let _instance = crate::daemon::instance::acquire(&opts, &config)?;
    run_with(opts, config, FailureExecutor::from_env())
}

/// The state file: produced in one place ([`snapshot`]), written when something `status` shows
/// changed, at most once per checktime.
struct StateWriter {
    path: Option<PathBuf>,
    last: Option<serde_json::Value>,
    written_at: Option<Instant>,
    /// A change waits for this moment (once per checktime).
    due_at: Option<Instant>,
    /// What `status` shows, in the core's brief form: compared at every wake-up, so the status and
    /// its JSON are built only when it changed (serialising, then cloning the whole status at every
    /// wake-up was most of an idle node's CPU).
    seen: Option<(StatusKey, Option<ResponderStats>)>,
}

impl StateWriter {
    /// True when the state must be looked at now: what `status` shows changed, a deferred write
    /// is due, or the daemon is stopping.
    fn wants(&mut self, status: StatusKey, peer: Option<ResponderStats>, force: bool) -> bool {
        if self.path.is_none() {
            return false;
        }
        let key = (status, peer.map(quiet));
        let changed = self.seen.as_ref() != Some(&key);
        if changed {
            self.seen = Some(key);
        }
        changed || force || self.due_at.is_some_and(|d| Instant::now() >= d)
    }

    fn update(&mut self, state: StateFile, period: Duration, log: &Log, force: bool) {
        let Some(path) = &self.path else {
            return;
        };
        let shown = shown(&state);
        if self.last.as_ref() == Some(&shown) {
            self.due_at = None;
            return;
        }
        let now = Instant::now();
        let allowed = self.written_at.map_or(now, |w| w + period);
        if now < allowed && !force {
            self.due_at = Some(allowed);
            return;
        }
        if let Err(e) = state.write(path) {
            log.warn(&format!("state file {}: {e}", path.display()));
        }
        self.last = Some(shown);
        self.written_at = Some(now);
        self.due_at = None;
    }
}

/// The responder's counters without those that move with every heartbeat from the peer (received,
/// accepted): `status` shows what was answered and dropped, and a heartbeat on time is no news.
fn quiet(mut s: ResponderStats) -> ResponderStats {
    s.datagrams.received = 0;
    s.datagrams.accepted = 0;
    s
}

/// What `status` shows of a state: the times of the last good check are left out while the counters
/// are zero (they move at every healthy check and say nothing new; `status` then says "at every
/// check"), so an idle node writes nothing.
fn shown(state: &StateFile) -> serde_json::Value {
    let mut v = serde_json::json!({ "status": state.status, "peer": state.peer });
    if let Some(channels) = v["status"]["channels"].as_array_mut() {
        for c in channels {
            if c["failures"] == 0 {
                c["last_ok_at"] = serde_json::Value::Null;
            }
        }
    }
    // A heartbeat on time is no news: its time is written with the next change, not every synctime.
    if v["status"]["heartbeat"]["lost"] == false {
        v["status"]["heartbeat"]["at"] = serde_json::Value::Null;
    }
    if v["status"]["passive"]["failures"] == 0 {
        v["status"]["passive"]["last_seen_at"] = serde_json::Value::Null;
    }
    if let Some(peer) = v["peer"].as_object_mut() {
        peer.remove("received");
        peer.remove("accepted");
    }
    // The probe tallies (round-trip histograms, lost probes) move at every check too: they go to
    // the metrics, and into the file whenever something else is written.
    if let Some(tally) = v["status"]["tally"].as_object_mut() {
        tally.remove("probes");
    }
    v
}

/// The one place the state snapshot is produced (the state file, and anything else fed from it).
pub fn snapshot(opts: &Options, status: &Status, shell: &Shell, clock: &Clock) -> StateFile {
    let mut state = StateFile::new(opts.command, &opts.config_path, clock.now(), status);
    state.peer = shell.peer_stats();
    state
}

/// [`run`] with the failure executor given (tests inject their own).
pub fn run_with(
    opts: Options,
    mut config: Config,
    executor: FailureExecutor,
) -> anyhow::Result<i32> {
    let clock = Clock::start();
    let log = Log::new(clock);
    let mut poll = Poll::new()?;
    let mut signals = signals::source()?;
    poll.registry()
        .register(&mut signals, SIGNALS, mio::Interest::READABLE)?;
    let notifier = Notifier::from_env();
    let now = clock.now();
    let history = crate::daemon::state::read_history_logged(&config.policy.historyfile, &log);
    let mut node =
        if opts.scope == Scope::Service && !opts.dry_run && shell::holds_activeips(&config) {
            Node::resume_active(&config, now, history)
        } else {
            Node::with_scope(&config, now, history, opts.scope)
        };
    let mut shell = Shell::new(
        &config,
        opts.dry_run,
        table_method(&opts, &config),
        log.clone(),
        executor,
    );
    let state_path = if opts.dry_run && opts.state_file.is_none() {
        None
    } else {
        Some(
            opts.state_file
                .clone()
                .unwrap_or_else(|| config.policy.statefile.clone()),
        )
    };
    let (link, responder) = crate::daemon::peer::open(&config, &log);
    shell.set_peer(poll.registry(), link, responder);
    shell.open_link_events(poll.registry());
    if let Some(path) = &state_path {
        shell.open_control(poll.registry(), &crate::daemon::control::path_for(path));
    }
    let mut metrics = crate::metrics::Exporter::for_daemon(&config, opts.dry_run)?;
    log.info(&format!(
        "{} started with {} ({} channel(s)){}",
        opts.command,
        opts.config_path.display(),
        config.channels.len(),
        if opts.dry_run {
            ", dry run: nothing is changed"
        } else {
            ""
        }
    ));
    for w in ipv6_address_warnings(&config, |dev| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{dev}/keep_addr_on_down")).ok()
    }) {
        log.warn(&w);
    }
    let mut state = StateWriter {
        path: state_path.clone(),
        last: None,
        written_at: None,
        due_at: None,
        seen: None,
    };
    let watchdog = notify::watchdog_interval().map(notify::ping_period);
    let mut watchdog_at = Instant::now();
    let mut last_role = None;
    let mut ready = false;
    let mut stopping: Option<i32> = None;
    // The stop's own hooks (down) still running when the core said "stopped": the log's last line
    // then comes after their results.
    let mut stop_waits = false;
    let mut events = Events::with_capacity(64);
    let code = loop {
        // 1. Time: the core's deadlines and the requests' own timeouts.
        let now = clock.now();
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        }
        for input in shell.expire(Instant::now()) {
            node.handle(clock.now(), input);
        }
        // 2. The core's actions, each answered at once or later through the poll set.
        if let Err(e) = drain(&mut node, &mut shell, poll.registry(), &clock) {
            log.warn(&format!(
                "{e}; stopping: without it this node cannot judge its peer"
            ));
            return Err(ExitError::usage(e.to_string()).into());
        }
        shell.role = node.role();
        let force = stopping.is_some();
        let peer = shell.responder_counters();
        let write = state.wants(node.status_key(), peer, force);
        if write || metrics.wants(node.role()) {
            let status = node.status();
            if write {
                state.update(
                    snapshot(&opts, &status, &shell, &clock),
                    config.network.checktime,
                    &log,
                    force,
                );
            }
            metrics.publish(&status, peer, &log);
        }
        if last_role != Some(node.role()) {
            last_role = Some(node.role());
            let _ = notifier.status(&format!("{}", node.role()));
        }
        if !ready {
            // READY once the first round went out: systemd orders dependants after a started monitor.
            ready = true;
            let _ = notifier.ready(&format!("{}", node.role()));
        }
        if let Some(code) = stopping {
            if shell.is_idle() {
                if stop_waits {
                    log.info("stopped: the stop's hooks are done");
                }
                break code;
            }
        } else if node.is_done() && shell.is_idle() {
            break match (opts.scope, node.role()) {
                (Scope::PassiveOnly, Role::Active) => exit::OK,
                _ => exit::FAILED,
            };
        }
        if let Some(period) = watchdog {
            if Instant::now() >= watchdog_at {
                let _ = notifier.watchdog();
                watchdog_at = Instant::now() + period;
            }
        }
        // 3. Wait for the first thing that can happen.
        let mono = Instant::now();
        let core_at = node.poll_timeout().map(|t| mono + clock.until(t));
        let wake = [
            core_at,
            shell.next_deadline(),
            state.due_at,
            watchdog.map(|_| watchdog_at),
        ]
        .into_iter()
        .flatten()
        .min();
        // Round up to a whole millisecond: the core's time has no finer grain.
        let wait = wake.map(|w| {
            let d = w.saturating_duration_since(mono);
            Duration::from_millis(d.as_micros().div_ceil(1000) as u64)
        });
        if let Err(e) = poll.poll(&mut events, wait) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e.into());
            }
            continue;
        }
        for event in events.iter() {
            let inputs: Vec<Input> = match event.token() {
                SIGNALS => {
                    let mut reaped = Vec::new();
                    for sig in signals::pending(&mut signals) {
                        match sig {
                            SignalEvent::Stop(sig) if stopping.is_none() => {
                                log.info(&format!("signal {sig}: stopping"));
                                let _ = notifier.stopping();
                                // The hooks before the stop are cut short; the stop's own (down)
                                // hooks get a bounded time.
                                for name in shell.children.stopping() {
                                    log.warn(&format!("{name}: cut short by the stop"));
                                }
                                node.handle(clock.now(), Input::Stop);
                                let _ = drain(&mut node, &mut shell, poll.registry(), &clock);
                                shell.children.limit_queued(STOP_HOOK_LIMIT);
                                stop_waits = !shell.is_idle();
                                stopping = Some(exit::OK);
                            }
                            SignalEvent::Reload if stopping.is_none() => {
                                let _ = notifier.reloading();
                                if let Some(new) = reload(&opts, &config, &log) {
                                    node.reconfigure(clock.now(), &new);
                                    shell.set_config(&new, table_method(&opts, &new));
                                    if new.sendconfig != config.sendconfig {
                                        // The old responder lets go of its port first.
                                        shell.set_peer(poll.registry(), None, None);
                                        let (link, responder) =
                                            crate::daemon::peer::open(&new, &log);
                                        shell.set_peer(poll.registry(), link, responder);
                                    }
                                    config = new;
                                }
                                let _ = notifier.ready(&format!("{}", node.role()));
                            }
                            SignalEvent::Child => reaped.extend(shell.reap(poll.registry())),
                            _ => {}
                        }
                    }
                    reaped
                }
                ICMP => shell.icmp_readable(),
                PEER_LINK => shell.peer_link_readable(),
                RESPONDER => shell.responder_readable(poll.registry()),
                LINK_EVENTS => shell.link_events_readable(),
                CONTROL => shell.control_readable(),
                Token(t) if t >= PIPE_BASE => {
                    shell.children.readable(poll.registry(), Token(t));
                    vec![]
                }
                Token(t) if t >= ICMP6_BASE => shell.icmp6_readable(Token(t)),
                Token(t) if t >= ND_BASE => shell.nd_readable(Token(t)),
                Token(t) if t >= ARP_BASE => shell.arp_readable(Token(t)),
                _ => vec![],
            };
            if stopping.is_none() {
                for input in inputs {
                    node.handle(clock.now(), input);
                }
            }
        }
    };
    Ok(code)
}

/// Drains the core's actions through the shell, feeding answers given at once straight back.
fn drain(
    node: &mut Node,
    shell: &mut Shell,
    registry: &mio::Registry,
    clock: &Clock,
) -> Result<(), crate::net::NetError> {
    while let Some(action) = node.poll_action() {
        // The core's role changes before the actions it queues: a release is answered as passive
        // by the responder before its first address goes.
        shell.role = node.role();
        for input in shell.execute(registry, action)? {
            node.handle(clock.now(), input);
        }
    }
    shell.finish_step();
    Ok(())
}

/// Linux drops a device's IPv6 addresses when the device is set down (`keep_addr_on_down=0`, the
/// default) and does not add them back when it is set up: an IPv6 channel's passiveip and its
/// network's route are gone until something re-adds them, and the node cannot serve that channel
/// meanwhile. A lost carrier is not that: the addresses stay and the routes are marked `linkdown`.
/// One warning per such device (`read` gives the sysctl's value; unreadable: no warning).
fn ipv6_address_warnings(config: &Config, read: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut devices: Vec<&str> = config
        .channels
        .iter()
        .filter(|c| c.activeip.is_ipv6())
        .map(|c| c.device.as_str())
        .collect();
    devices.sort_unstable();
    devices.dedup();
    devices
        .into_iter()
        .filter(|d| read(d).is_some_and(|v| v.trim() == "0"))
        .map(|d| {
            format!(
                "{d}: net.ipv6.conf.{d}.keep_addr_on_down=0: the kernel drops this device's IPv6 addresses (the passiveip too) when the device is set down (ip link set down, ifdown; a lost carrier keeps them); re-add them when it is set up again, or set it to 1"
            )
        })
        .collect()
}

/// Re-reads and validates the config (SIGHUP). A bad one is reported and changes nothing.
/// Whether the passive checks by the neighbour table: the command line's choice, else the config's.
/// A dry run touches no kernel table, so it asks with raw frames.
fn table_method(opts: &Options, config: &Config) -> bool {
    !opts.dry_run
        && opts
            .arp_table
            .unwrap_or(config.policy.arpcheck == crate::config::ArpCheck::Table)
}

fn reload(opts: &Options, running: &Config, log: &Log) -> Option<Config> {
    match config::load(&opts.config_path) {
        Ok((new, warnings)) => {
            for w in warnings {
                log.warn(&format!("reload: {w}"));
            }
            if &new == running {
                log.info("reload: the config is unchanged");
                None
            } else {
                log.info("reload: the new config is valid and now in force");
                Some(new)
            }
        }
        Err(e) => {
            for d in e.diagnostics() {
                log.warn(&format!("reload: {d}"));
            }
            if let config::ConfigError::Io { .. } = e {
                log.warn(&format!("reload: {e}"));
            }
            log.warn("reload rejected: keeping the running config");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::observe::{ProbeResult, ProbeTarget};

    /// Issue 12: a device whose IPv6 addresses go with its link is named once, IPv4 ones never.
    #[test]
    fn a_device_that_drops_ipv6_addresses_on_link_down_is_warned_about() {
        let (config, _) = crate::config::parse_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/configs/dual-stack.ini"),
            )
            .expect("the example"),
            std::path::Path::new("dual-stack.ini"),
        )
        .expect("valid");
        let zero = ipv6_address_warnings(&config, |_| Some("0\n".into()));
        assert_eq!(zero.len(), 2, "{zero:?}");
        assert!(zero[0].starts_with("eth1: net.ipv6.conf.eth1.keep_addr_on_down=0"));
        assert!(zero[1].starts_with("eth2:"));
        assert!(ipv6_address_warnings(&config, |_| Some("1\n".into())).is_empty());
        assert!(ipv6_address_warnings(&config, |_| None).is_empty());
    }

    /// Bug: an idle active rewrote its state file at every check, since the probe round-trip
    /// histogram in the status changed with each answer.
    #[test]
    fn probe_tallies_alone_are_no_change_worth_a_write() {
        let config = crate::sim::document_config(crate::config::PolicyMode::Improved);
        let node = Node::with_scope(&config, crate::core::Instant::ZERO, vec![], Scope::Service);
        let before = node.status();
        let mut after = before.clone();
        let device = config.channels[0].device.clone();
        after.tally.probes(
            &config,
            &[ProbeResult {
                target: ProbeTarget {
                    device,
                    source: None,
                    target: std::net::Ipv4Addr::new(192, 0, 2, 1).into(),
                },
                rtt: Some(Duration::from_micros(80)),
            }],
        );
        assert_ne!(before.tally, after.tally, "the tally moved");
        let file = |s| {
            StateFile::new(
                "run",
                std::path::Path::new("x.ini"),
                crate::core::Instant::ZERO,
                s,
            )
        };
        assert_eq!(shown(&file(&before)), shown(&file(&after)));
    }
}
