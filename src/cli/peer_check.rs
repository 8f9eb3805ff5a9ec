//! `failoverctl peer-check`: asks the peer over the sync link, with the authenticated peer protocol,
//! whether IT reaches each channel's test hosts; prints channel, target, reached by the peer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::common::{self, millis};
use crate::config::Config;
use crate::exit::{self, ExitError};
use crate::net::linux::peer::{sync_address, PeerLink};
use crate::peer::{PeerStats, Role, MAX_TARGETS};

/// Arguments of `failoverctl peer-check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file: `[sendconfig] device`, `peerip`, `port` and `key`/`keyfile`, and the
    /// channels whose test hosts the peer is asked about.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: std::path::PathBuf,
    /// Ask about this channel only (its `ident`).
    #[arg(long, value_name = "IDENT")]
    pub channel: Option<String>,
    /// How long to wait for each answer, 1ms to 1m (seconds or a value like `300ms`); the peer probes
    /// for three quarters of it, at most 2s [default: the config's timeout].
    #[arg(long, value_name = "DUR", value_parser = common::parse_timeout)]
    pub timeout: Option<Duration>,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    peer: IpAddr,
    port: u16,
    /// This node's sync address the questions came from.
    node: IpAddr,
    timeout_ms: u64,
    /// The peer answered every question and reaches every test host.
    healthy: bool,
    channels: Vec<ChannelReport>,
    /// What this side received: answers, and anything dropped.
    received: PeerStats,
}

#[derive(Debug, Serialize)]
struct ChannelReport {
    channel: String,
    answered: bool,
    /// The peer's role when it answered.
    role: Option<Role>,
    /// From the question to its answer (or to the timeout).
    elapsed_ms: f64,
    targets: Vec<TargetReport>,
}

#[derive(Debug, Serialize)]
struct TargetReport {
    target: IpAddr,
    /// `null` when the peer did not answer.
    reached_by_peer: Option<bool>,
}

/// Exit codes: 0 the peer answered and reaches every test host; 1 it did not answer, or some test
/// host is unreached from it; 2 usage, privilege or environment (no key or peerip configured).
pub fn run(args: Args) -> anyhow::Result<i32> {
    let config = common::load_config(&args.config)?;
    let (device, peer, port, key) = settings(&config)?;
    let channels: Vec<_> = config
        .channels
        .iter()
        .filter(|c| args.channel.as_ref().is_none_or(|i| *i == c.ident))
        .collect();
    if let (Some(ident), true) = (&args.channel, channels.is_empty()) {
        let known: Vec<_> = config.channels.iter().map(|c| c.ident.as_str()).collect();
        return Err(ExitError::usage(format!(
            "no channel `{ident}` in {} (channels: {})",
            args.config.display(),
            known.join(", ")
        ))
        .into());
    }
    let timeout = args.timeout.unwrap_or(config.network.timeout);
    let node = sync_address(&device, Some(peer)).map_err(common::net_error)?;
    let mut link = PeerLink::open(&device, node, port, key).map_err(common::net_error)?;

    let mut reports = Vec::new();
    for c in channels {
        let started = Instant::now();
        let mut targets = Vec::new();
        let mut role = None;
        let mut answered = true;
        // A query carries at most 16 targets: more are asked in turn.
        for chunk in c.testips.chunks(MAX_TARGETS) {
            let answer = link
                .ask(peer, &c.ident, chunk, timeout)
                .map_err(common::net_error)?;
            answered &= answer.is_some();
            role = answer.as_ref().map(|a| a.role).or(role);
            for (i, &target) in chunk.iter().enumerate() {
                targets.push(TargetReport {
                    target,
                    reached_by_peer: answer.as_ref().map(|a| a.reached[i]),
                });
            }
        }
        reports.push(ChannelReport {
            channel: c.ident.clone(),
            answered,
            role: if answered { role } else { None },
            elapsed_ms: millis(started.elapsed()),
            targets,
        });
    }
    let healthy = reports
        .iter()
        .all(|c| c.answered && c.targets.iter().all(|t| t.reached_by_peer == Some(true)));
    let report = Report {
        peer,
        port,
        node,
        timeout_ms: timeout.as_millis() as u64,
        healthy,
        channels: reports,
        received: link.stats(),
    };
    if args.json {
        super::output::print_json(&report)?;
    } else {
        print_table(&report);
    }
    Ok(if healthy { exit::OK } else { exit::FAILED })
}

/// The sync device, peer address, port and key, or exit 2 saying which is missing.
fn settings(config: &Config) -> anyhow::Result<(String, IpAddr, u16, crate::peer::Key)> {
    let source = config.source.display();
    let Some(send) = &config.sendconfig else {
        return Err(ExitError::usage(format!(
            "{source} has no [sendconfig]: peer-check asks the peer over the sync link"
        ))
        .into());
    };
    let Some(peer) = send.peerip else {
        return Err(ExitError::usage(format!(
            "{source} has no [sendconfig] peerip: there is no peer to ask"
        ))
        .into());
    };
    let Some(key) = &send.peerlink.key else {
        return Err(ExitError::usage(format!(
            "{source} has no [sendconfig] key or keyfile: without the shared key the peer cannot be asked (set the same key on both nodes)"
        ))
        .into());
    };
    let key = key.load().map_err(|e| ExitError::usage(e.to_string()))?;
    Ok((send.device.clone(), peer, send.peerlink.port, key))
}

fn print_table(report: &Report) {
    let mut t = super::output::table(&["channel", "target", "reached by the peer"]);
    for c in &report.channels {
        for target in &c.targets {
            t.add_row(vec![
                c.channel.clone(),
                target.target.to_string(),
                match target.reached_by_peer {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "no answer",
                }
                .to_string(),
            ]);
        }
    }
    println!("{t}");
    for c in &report.channels {
        match c.role {
            Some(role) => println!(
                "{}: the peer ({}, {role}) answered in {:.1} ms",
                c.channel, report.peer, c.elapsed_ms
            ),
            None => println!(
                "{}: no answer from {}:{} within {} ms",
                c.channel, report.peer, report.port, report.timeout_ms
            ),
        }
    }
    if report.channels.iter().any(|c| c.role.is_none()) {
        // Only the responder can tell a wrong key from a missing peer: say where to look.
        println!(
            "the peer did not answer: is its daemon (or peer-respond) running, and is the same key set on \
             both nodes? A query under another key is dropped there and counted as forged in its \
             `failoverctl status`"
        );
    }
    let s = report.received;
    if s.malformed + s.forged + s.replayed > 0 {
        println!(
            "dropped: {} malformed, {} forged, {} replayed",
            s.malformed, s.forged, s.replayed
        );
    }
}
