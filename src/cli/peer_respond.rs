//! `failoverctl peer-respond` (hidden): the peer protocol's responder on its own, bounded in time and
//! answers, so `peer-check` can be tried without the daemon. Prints each event on stderr and the
//! counters at exit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common;
use crate::config::Config;
use crate::exit::{self, ExitError};
use crate::net::linux::peer::{sync_address, PeerResponder, ResponderParams};
use crate::net::linux::IcmpProber;
use crate::peer::Role;

/// Arguments of `failoverctl peer-respond`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file: `[sendconfig]` and the channels to probe for the peer.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: std::path::PathBuf,
    /// Stop after answering this many queries.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub count: Option<u64>,
    /// Stop after this long (1ms to 1day).
    #[arg(long = "for", value_name = "DUR", default_value = "5m", value_parser = common::parse_respond_for)]
    pub duration: Duration,
    /// Print the counters at exit as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let config = common::load_config(&args.config)?;
    let Some(send) = &config.sendconfig else {
        return Err(ExitError::usage("no [sendconfig]: nothing to listen on").into());
    };
    let Some(key) = &send.peerlink.key else {
        return Err(
            ExitError::usage("no [sendconfig] key or keyfile: nothing to answer with").into(),
        );
    };
    let key = key.load().map_err(|e| ExitError::usage(e.to_string()))?;
    let node = sync_address(&send.device, send.peerip).map_err(common::net_error)?;
    let params = ResponderParams::from_config(&config, node).expect("[sendconfig] is present");
    let (device, port) = (params.device.clone(), params.port);
    let role_config = config.clone();
    let responder = PeerResponder::spawn(
        params,
        key,
        Box::new(IcmpProber::new()),
        Box::new(move || role(&role_config)),
    )
    .map_err(common::net_error)?;
    eprintln!("peer-respond: listening on {node}:{port} ({device})");

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let until = Instant::now() + args.duration;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        for event in responder.events() {
            eprintln!("peer-respond: {event}");
        }
        if args.count.is_some_and(|n| responder.stats().answered >= n) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = responder.stop();
    if args.json {
        super::output::print_json(&stats)?;
    } else {
        let d = stats.datagrams;
        println!(
            "received {}, answered {}; dropped: {} malformed, {} forged, {} replayed, {} unknown channel, {} over the rate cap, {} wrong sender, {} probe failed; {} lost in the kernel before they were read",
            d.received,
            stats.answered,
            d.malformed,
            d.forged,
            d.replayed,
            stats.unknown_channel,
            stats.rate_limited,
            stats.wrong_sender,
            stats.probe_failed,
            stats.kernel_dropped
        );
    }
    Ok(exit::OK)
}

/// Active when this node holds some channel's activeip, else passive.
fn role(config: &Config) -> Role {
    let active = config
        .channels
        .iter()
        .any(|c| common::own_address(&c.device, &[c.activeip]).is_some());
    if active {
        Role::Active
    } else {
        Role::Passive
    }
}
