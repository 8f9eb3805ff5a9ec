//! `failoverctl arp-check`: the passive node's check: does the active answer for each activeip on its
//! channel, by ARP for an IPv4 address and by neighbour discovery (NDP) for an IPv6 one? Table
//! method (the source document's flush, UDP, read-the-table) or raw frames.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::common;
use crate::exit;
use crate::net::linux::ipv6::nd_check::{RawNdChecker, TableNdChecker};
use crate::net::linux::ipv6::neigh6::NdTarget;
use crate::net::linux::{RawArpChecker, TableArpChecker};
use crate::net::{format_mac, ArpChecker, ArpTarget, NetError};

/// How the check finds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Delete the neighbour entry, send a UDP datagram, read the kernel's table (needs CAP_NET_ADMIN).
    Table,
    /// Send an ARP request (a Neighbour Solicitation for IPv6) and read the reply directly,
    /// touching no kernel table (needs CAP_NET_RAW).
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
    #[arg(value_name = "ADDRESS", requires = "device", value_parser = common::parse_station)]
    pub addresses: Vec<IpAddr>,
    /// table: the source document's neighbour-table check; raw: ARP request and reply (Neighbour
    /// Solicitation and Advertisement for IPv6) directly.
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
    timeout_ms: u64,
    results: Vec<ResultRow>,
}

#[derive(Debug, Serialize)]
struct ResultRow {
    channel: String,
    device: String,
    address: IpAddr,
    /// `arp` for an IPv4 address, `ndp` (neighbour discovery) for an IPv6 one: who was asked, and
    /// who answered when `answered`.
    protocol: &'static str,
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

    let targets: Vec<ArpTarget> = channels.iter().map(|(_, t)| t.clone()).collect();
    let results = check(args.method, &targets, timeout).map_err(common::net_error)?;

    let rows: Vec<ResultRow> = channels
        .iter()
        .zip(results)
        .map(|((ident, t), r)| ResultRow {
            channel: ident.clone(),
            device: t.device.clone(),
            address: t.address,
            protocol: if t.address.is_ipv4() { "arp" } else { "ndp" },
            answered: r.is_some(),
            mac: r.as_ref().map(format_mac),
        })
        .collect();
    let report = Report {
        method: args.method,
        healthy: rows.iter().all(|r| r.answered),
        timeout_ms: timeout.as_millis() as u64,
        results: rows,
    };
    if args.json {
        super::output::print_json(&report)?;
    } else {
        let mut t =
            super::output::table(&["channel", "device", "address", "protocol", "result", "mac"]);
        for r in &report.results {
            t.add_row(vec![
                r.channel.clone(),
                r.device.clone(),
                r.address.to_string(),
                r.protocol.to_string(),
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

/// The check of every target, the IPv4 ones by ARP and the IPv6 ones by neighbour discovery, at the
/// same time (one timeout for all); the MACs in the targets' order.
fn check(
    method: Method,
    targets: &[ArpTarget],
    timeout: Duration,
) -> Result<Vec<Option<[u8; 6]>>, NetError> {
    let v4: Vec<ArpTarget> = targets
        .iter()
        .filter(|t| t.address.is_ipv4())
        .cloned()
        .collect();
    let v6: Vec<NdTarget> = targets
        .iter()
        .filter_map(|t| match t.address {
            IpAddr::V6(address) => Some(NdTarget {
                device: t.device.clone(),
                address,
            }),
            IpAddr::V4(_) => None,
        })
        .collect();
    let (r4, r6) = std::thread::scope(|s| {
        let six = s.spawn(|| {
            if v6.is_empty() {
                return Ok(Vec::new());
            }
            match method {
                Method::Table => TableNdChecker::new().check(&v6, timeout),
                Method::Raw => RawNdChecker::new().check(&v6, timeout),
            }
        });
        let four = if v4.is_empty() {
            Ok(Vec::new())
        } else {
            let mut checker: Box<dyn ArpChecker> = match method {
                Method::Table => Box::new(TableArpChecker::new()),
                Method::Raw => Box::new(RawArpChecker::new()),
            };
            checker.check(&v4, timeout)
        };
        (
            four,
            six.join().expect("the neighbour check does not panic"),
        )
    });
    let (mut r4, mut r6) = (r4?.into_iter(), r6?.into_iter());
    Ok(targets
        .iter()
        .map(|t| {
            if t.address.is_ipv4() {
                r4.next().and_then(|r| r.mac)
            } else {
                r6.next().and_then(|r| r.mac)
            }
        })
        .collect())
}
