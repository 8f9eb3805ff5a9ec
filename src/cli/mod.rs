//! Command-line definitions (clap derive) and dispatch. One small file per subcommand; each is a thin
//! wrapper over the library modules.

use clap::{Parser, Subcommand};

pub mod arp_check;
pub mod common;
pub mod example_config;
pub mod handover;
pub mod keygen;
pub mod output;
pub mod peer_check;
pub mod peer_respond;
pub mod probe;
pub mod run;
pub mod run_active;
pub mod run_passive;
pub mod simulate_timing;
pub mod status;
pub mod validate;
pub mod watch_counters;

/// Default configuration path used by every subcommand that takes `-c`.
pub const DEFAULT_CONFIG: &str = "/etc/failoverctl/failover.ini";

/// Two Linux gateways as one fault-tolerant hot-standby pair (failover.ini compatible).
#[derive(Debug, Parser)]
#[command(name = "failoverctl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a failover.ini: syntax, keys, values and consistency; print channels and downtime bounds.
    Validate(validate::Args),
    /// Send ICMP echo to each channel's test hosts out of the channel's device.
    Probe(probe::Args),
    /// The passive node's check: does the active answer ARP for each activeip?
    ArpCheck(arp_check::Args),
    /// Sample rx/tx packet counters and apply the checkonlyidle rule.
    WatchCounters(watch_counters::Args),
    /// Ask the peer over the sync link whether it reaches each channel's test hosts.
    PeerCheck(peer_check::Args),
    /// Answer the peer's questions without the daemon (bounded), for trying peer-check.
    #[command(hide = true)]
    PeerRespond(peer_respond::Args),
    /// Run the active node's monitor and its failure action.
    RunActive(run_active::Args),
    /// Run the passive node's monitor and take over when the active is gone.
    RunPassive(run_passive::Args),
    /// The service entry point: start passive, take over, monitor as active, demote back to passive.
    Run(run::Args),
    /// Compute (and simulate) the failover timing bounds of a config.
    SimulateTiming(simulate_timing::Args),
    /// Print an annotated example failover.ini with every key, its default and its origin.
    ExampleConfig(example_config::Args),
    /// Show the running daemon's role, counters and last decisions.
    Status(status::Args),
    /// Write a new random peer key (mode 0600) for `[sendconfig] keyfile`.
    Keygen(keygen::Args),
    /// Planned switchover: the running daemons swap roles in one exchange over the sync link.
    Handover(handover::Args),
}

/// Runs one parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    if !matches!(
        cli.command,
        Command::Run(_) | Command::RunActive(_) | Command::RunPassive(_)
    ) {
        // One-shot commands end quietly when their reader goes away (`| head`), as Unix tools do.
        // The daemon keeps Rust's default: a closed stderr must not kill a node holding addresses.
        // SAFETY: resetting a signal disposition at start-up, before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Probe(a) => probe::run(a),
        Command::ArpCheck(a) => arp_check::run(a),
        Command::WatchCounters(a) => watch_counters::run(a),
        Command::PeerCheck(a) => peer_check::run(a),
        Command::PeerRespond(a) => peer_respond::run(a),
        Command::RunActive(a) => run_active::run(a),
        Command::RunPassive(a) => run_passive::run(a),
        Command::Run(a) => run::run(a),
        Command::SimulateTiming(a) => simulate_timing::run(a),
        Command::ExampleConfig(a) => example_config::run(a),
        Command::Status(a) => status::run(a),
        Command::Keygen(a) => keygen::run(a),
        Command::Handover(a) => handover::run(a),
    }
}
