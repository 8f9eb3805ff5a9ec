//! The daemon's event loop, shared by `run`, `run-active` and `run-passive`: one thread drives the
//! core (`handle_timeout`, drain `poll_action` through the shell, wait until `poll_timeout` or an
//! [`Event`]: a signal, or an answer computed on a worker thread), writes the state file and pings the
//! systemd watchdog from the same loop, so a stuck core gets restarted.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;

use crate::config::{self, Config};
use crate::core::action::Role;
use crate::core::{Input, Node, Scope};
use crate::daemon::clock::Clock;
use crate::daemon::failure::FailureExecutor;
use crate::daemon::log::Log;
use crate::daemon::notify::{self, Notifier};
use crate::daemon::peer::PeerSide;
use crate::daemon::shell::{self, Primitives, Shell, MAX_WAIT};
use crate::daemon::signals::{self, SignalEvent};
use crate::daemon::state::{self, StateFile};
use crate::exit::{self, ExitError};

/// What wakes the loop besides its deadline.
#[derive(Debug)]
pub enum Event {
    Signal(SignalEvent),
    /// The answer to a request the shell carried out off the loop's thread (the conflict check).
    Answer(u64, Input),
}

/// How a run is set up (from the command line).
pub struct Options {
    /// `run`, `run-active` or `run-passive`: in the state file and the log.
    pub command: &'static str,
    pub config_path: PathBuf,
    pub scope: Scope,
    /// Log what would change; touch no address, hook, history or kernel table.
    pub dry_run: bool,
    /// The source document's ARP check (flush, UDP, read the table) rather than raw ARP frames.
    pub arp_table: bool,
    /// Overrides `[policy] statefile`.
    pub state_file: Option<PathBuf>,
}

/// Runs until stopped (or, for the one-role commands, until the role's work is done); returns the
/// exit code: 0 stopped or took over, 1 the run ended with a channel failure.
pub fn run(opts: Options, config: Config) -> anyhow::Result<i32> {
    crate::daemon::caps::check(opts.command, opts.scope, &config, opts.dry_run)?;
    let _instance = crate::daemon::instance::acquire(&opts, &config)?;
    let net = shell::linux_primitives(opts.arp_table && !opts.dry_run);
    run_with(opts, config, net, FailureExecutor::from_env())
}

/// [`run`] with the primitives and failure executor given (tests inject their own).
pub fn run_with(
    opts: Options,
    mut config: Config,
    net: Primitives,
    executor: FailureExecutor,
) -> anyhow::Result<i32> {
    let clock = Clock::start();
    let log = Log::new(clock);
    let (tx, rx) = mpsc::channel();
    let forwarder = signals::forward(tx.clone(), Event::Signal)?;
    // A send fails only once the loop has ended: that answer is no longer wanted.
    let deliver: shell::Deliver = Arc::new(move |generation, input| {
        let _ = tx.send(Event::Answer(generation, input));
    });
    let notifier = Notifier::from_env();
    let now = clock.now();
    let history = state::read_history_logged(&config.policy.historyfile, &log);
    let mut node =
        if opts.scope == Scope::Service && !opts.dry_run && shell::holds_activeips(&config) {
            Node::resume_active(&config, now, history)
        } else {
            Node::with_scope(&config, now, history, opts.scope)
        };
    let mut shell = Shell::new(&config, net, executor, opts.dry_run, log.clone(), deliver);
    let mut peer = PeerSide::start(&config, &log);
    shell.set_peer_link(peer.link.take());
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
    let watchdog = notify::watchdog_interval().map(notify::ping_period);
    let mut watchdog_at = clock.now();
    let mut last_state = None;
    let mut last_role = None;
    let mut ready = false;
    // Signals that arrived while `drain` took answers off the channel, handled before waiting.
    let mut signals: VecDeque<SignalEvent> = VecDeque::new();
    let code = loop {
        let now = clock.now();
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now);
        }
        drain(&mut node, &mut shell, &clock, &log, &rx, &mut signals)?;
        peer.set_active(node.role() == Role::Active);
        peer.log_events(&log);
        write_state(&opts, &config, &node, &peer, &clock, &log, &mut last_state);
        metrics.publish(&node.status(), peer.counters(), &log);
        if last_role != Some(node.role()) {
            last_role = Some(node.role());
            let _ = notifier.status(&format!("{}", node.role()));
        }
        if !ready {
            // READY once the first round went out: systemd orders dependants after a started monitor.
            ready = true;
            let _ = notifier.ready(&format!("{}", node.role()));
        }
        if node.is_done() {
            break match (opts.scope, node.role()) {
                (Scope::PassiveOnly, Role::Active) => exit::OK,
                _ => exit::FAILED,
            };
        }
        if let Some(period) = watchdog {
            if clock.now() >= watchdog_at {
                let _ = notifier.watchdog();
                watchdog_at = clock.now() + period;
            }
        }
        let mut wait = node
            .poll_timeout()
            .map_or(MAX_WAIT, |t| clock.until(t))
            .min(MAX_WAIT);
        if let Some(period) = watchdog {
            wait = wait.min(period);
        }
        let event = match signals.pop_front() {
            Some(s) => Ok(Event::Signal(s)),
            None => rx.recv_timeout(wait),
        };
        match event {
            Ok(Event::Answer(generation, input)) => {
                if generation == shell.generation() {
                    node.handle(clock.now(), input)
                }
            }
            Ok(Event::Signal(SignalEvent::Stop(sig))) => {
                log.info(&format!("signal {sig}: stopping"));
                let _ = notifier.stopping();
                node.handle(clock.now(), Input::Stop);
                drain(&mut node, &mut shell, &clock, &log, &rx, &mut signals)?;
                write_state(&opts, &config, &node, &peer, &clock, &log, &mut last_state);
                metrics.publish(&node.status(), peer.counters(), &log);
                break exit::OK;
            }
            Ok(Event::Signal(SignalEvent::Reload)) => {
                let _ = notifier.reloading();
                if let Some(new) = reload(&opts, &config, &log) {
                    node = rebuilt(&opts, &config, &new, &node, &mut shell, &clock, &log);
                    shell.set_config(&new);
                    if new.sendconfig != config.sendconfig {
                        // The old responder lets go of its port before the new one binds it.
                        drop(std::mem::replace(&mut peer, PeerSide::off()));
                        peer = PeerSide::start(&new, &log);
                        shell.set_peer_link(peer.link.take());
                    }
                    config = new;
                }
                let _ = notifier.ready(&format!("{}", node.role()));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break exit::USAGE,
        }
    };
    shell.finish();
    forwarder.close();
    Ok(code)
}

/// Drains the core's actions through the shell, feeding every answer straight back. Answers from
/// worker threads are taken between two actions, not after the whole chain: a chain of synchronous
/// probes (each re-check follows the last at once) lasts up to channelretries × timeout, and a
/// conflict answer waiting that long would let a channel failure decide first.
fn drain(
    node: &mut Node,
    shell: &mut Shell,
    clock: &Clock,
    log: &Log,
    rx: &mpsc::Receiver<Event>,
    signals: &mut VecDeque<SignalEvent>,
) -> anyhow::Result<()> {
    loop {
        while let Ok(event) = rx.try_recv() {
            match event {
                Event::Answer(generation, input) => {
                    if generation == shell.generation() {
                        node.handle(clock.now(), input)
                    }
                }
                Event::Signal(s) => signals.push_back(s),
            }
        }
        let Some(action) = node.poll_action() else {
            break;
        };
        match shell.execute(action) {
            Ok(Some(input)) => node.handle(clock.now(), input),
            Ok(None) => {}
            Err(e) => {
                log.warn(&format!(
                    "{e}; stopping: without it this node cannot judge its peer"
                ));
                return Err(ExitError::usage(e.to_string()).into());
            }
        }
    }
    Ok(())
}

fn write_state(
    opts: &Options,
    config: &Config,
    node: &Node,
    peer: &PeerSide,
    clock: &Clock,
    log: &Log,
    last: &mut Option<(serde_json::Value, Option<serde_json::Value>)>,
) {
    if opts.dry_run && opts.state_file.is_none() {
        return;
    }
    let path = opts.state_file.as_ref().unwrap_or(&config.policy.statefile);
    let mut state = StateFile::new(opts.command, &opts.config_path, clock.now(), &node.status());
    state.peer = peer.stats();
    // Written when something changed, not at every wake-up.
    let seen = (state.status.clone(), state.peer.clone());
    if last.as_ref() == Some(&seen) {
        return;
    }
    if let Err(e) = state.write(path) {
        log.warn(&format!("state file {}: {e}", path.display()));
    }
    *last = Some(seen);
}

/// Re-reads and validates the config (SIGHUP). A bad one is reported and changes nothing.
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

/// A node for the new config that keeps the role: an active stays active (claiming the new
/// activeips, after releasing the ones the new config dropped), a passive starts watching anew.
fn rebuilt(
    opts: &Options,
    old: &Config,
    new: &Config,
    node: &Node,
    shell: &mut Shell,
    clock: &Clock,
    log: &Log,
) -> Node {
    let now = clock.now();
    let history = node.status().failovers;
    if node.role() == Role::Active {
        let dropped = shell::dropped_activeips(old, new);
        if !dropped.is_empty() {
            let remove = dropped
                .into_iter()
                .map(|(device, address)| crate::core::action::Address {
                    device,
                    address,
                    prefix: None,
                })
                .collect();
            let _ = shell.execute(crate::core::Action::ReleaseAddresses {
                remove,
                restore: vec![],
            });
        }
        if opts.scope == Scope::ActiveOnly {
            Node::with_scope(new, now, history, Scope::ActiveOnly)
        } else {
            Node::resume_active(new, now, history)
        }
    } else {
        log.info("reload: passive, watching with the new config");
        Node::with_scope(new, now, history, opts.scope)
    }
}
