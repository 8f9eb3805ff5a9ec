//! `failoverctl arp-check`: the passive node's check: does the active answer ARP for each activeip on
//! its channel? Table method (the source document's flush, UDP, read-the-table) or raw ARP.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::common::{self, millis};
use crate::exit;
use crate::net::linux::{RawArpChecker, TableArpChecker};
use crate::net::{format_mac, ArpChecker, ArpTarget};

/// How the check finds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Delete the neighbour entry, send a UDP datagram, read the kernel's table (needs CAP_NET_ADMIN).
    Table,
    /// Send an ARP request and read the reply directly, touching no kernel table (needs CAP_NET_RAW).
    Raw,
}

/// Arguments of `failoverctl arp-check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (`-` reads standard input): checks every channel's activeip.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG, conflicts_with = "device")]
    pub config: std::path::PathBuf,
    /// Check out of this device instead of a config's channels.
    #[arg(long, value_name = "DEV", requires = "addresses")]
    pub device: Option<String>,
    /// Addresses (the active's) to check on `--device`.
    #[arg(value_name = "ADDRESS", requires = "device")]
    pub addresses: Vec<IpAddr>,
    /// table: the source document's neighbour-table check; raw: ARP request and reply directly.
    #[arg(long, value_enum, default_value_t = Method::Table)]
    pub method: Method,
    /// How long to wait for the answers, 1ms to 1m (seconds or a value like `300ms`) [default: the
    /// config's timeout, or 1s].
    #[arg(long, value_name = "DUR", value_parser = common::parse_timeout)]
    pub timeout: Option<Duration>,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    method: Method,
    healthy: bool,
    timeout_ms: f64,
    results: Vec<ResultRow>,
}

#[derive(Debug, Serialize)]
struct ResultRow {
    channel: String,
    device: String,
    address: IpAddr,
    answered: bool,
    mac: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (channels, config_timeout): (Vec<(String, ArpTarget)>, _) = match &args.device {
        Some(device) => (
            args.addresses
                .iter()
                .map(|&address| {
                    (
                        device.clone(),
                        ArpTarget {
                            device: device.clone(),
                            address,
                        },
                    )
                })
                .collect(),
            None,
        ),
        None => {
            let config = common::load_config(&args.config)?;
            let channels = config
                .channels
                .iter()
                .map(|c| {
                    (
                        c.ident.clone(),
                        ArpTarget {
                            device: c.device.clone(),
                            address: c.activeip,
                        },
                    )
                })
                .collect();
            (channels, Some(config.network.timeout))
        }
    };
    let timeout = args
        .timeout
        .or(config_timeout)
        .unwrap_or(Duration::from_secs(1));
    common::require_devices(channels.iter().map(|(_, t)| t.device.as_str()))?;
    common::ipv4_only("arp-check", channels.iter().map(|(_, t)| t.address))?;

    let targets: Vec<ArpTarget> = channels.iter().map(|(_, t)| t.clone()).collect();
    let mut checker: Box<dyn ArpChecker> = match args.method {
        Method::Table => Box::new(TableArpChecker::new()),
        Method::Raw => Box::new(RawArpChecker::new()),
    };
    let results = checker
        .check(&targets, timeout)
        .map_err(common::net_error)?;

    let rows: Vec<ResultRow> = channels
        .iter()
        .zip(results)
        .map(|((ident, t), r)| ResultRow {
            channel: ident.clone(),
            device: t.device.clone(),
            address: t.address,
            answered: r.mac.is_some(),
            mac: r.mac.as_ref().map(format_mac),
        })
        .collect();
    let report = Report {
        method: args.method,
        healthy: rows.iter().all(|r| r.answered),
        timeout_ms: millis(timeout),
        results: rows,
    };
    if args.json {
        super::output::print_json(&report)?;
    } else {
        let mut t = super::output::table(&["channel", "device", "address", "result", "mac"]);
        for r in &report.results {
            t.add_row(vec![
                r.channel.clone(),
                r.device.clone(),
                r.address.to_string(),
                if r.answered { "answered" } else { "no answer" }.to_string(),
                r.mac.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        println!("{t}");
    }
    Ok(if report.healthy {
        exit::OK
    } else {
        exit::FAILED
    })
}
