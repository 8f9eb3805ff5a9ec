//! `failoverctl probe`: ICMP echo (ICMPv6 echo for IPv6 targets) to each channel's test hosts out of
//! the channel's device, all at once, one timeout per round; per channel and target: reached or not,
//! and the round-trip time.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::common::{self, millis};
use crate::config::TestHosts;
use crate::exit;
use crate::net::linux::ipv6::icmp6::{Echo6Target, Icmp6Prober};
use crate::net::linux::IcmpProber;
use crate::net::{NetError, ProbeTarget, Prober};

/// Arguments of `failoverctl probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (`-` reads standard input): probes every channel's testips.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG, conflicts_with = "device")]
    pub config: std::path::PathBuf,
    /// Probe out of this device instead of a config's channels.
    #[arg(long, value_name = "DEV", requires = "targets")]
    pub device: Option<String>,
    /// Test hosts to probe out of `--device`.
    #[arg(value_name = "TARGET", requires = "device", value_parser = common::parse_station)]
    pub targets: Vec<IpAddr>,
    /// Source address (with `--device`); default: the kernel's choice for the device.
    #[arg(long, value_name = "ADDR", requires = "device", value_parser = common::parse_station)]
    pub source: Option<IpAddr>,
    /// How long to wait for the replies of one round, 1ms to 1m (seconds or a value like `300ms`)
    /// [default: the config's timeout, or 1s].
    #[arg(long, value_name = "DUR", value_parser = common::parse_timeout)]
    pub timeout: Option<Duration>,
    /// Rounds to send; a target is reached when any round got its reply.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub count: u32,
    /// Time from the start of one round to the start of the next (1ms to 1m).
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = common::parse_interval)]
    pub interval: Duration,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

/// One channel to probe.
struct ChannelPlan {
    ident: String,
    device: String,
    source: Option<IpAddr>,
    targets: Vec<IpAddr>,
    rule: TestHosts,
}

#[derive(Debug, Serialize)]
struct Report {
    healthy: bool,
    timeout_ms: u64,
    rounds: u32,
    channels: Vec<ChannelReport>,
}

#[derive(Debug, Serialize)]
struct ChannelReport {
    channel: String,
    device: String,
    source: Option<IpAddr>,
    /// `any` or `all`: how the targets combine into the channel's health.
    rule: &'static str,
    healthy: bool,
    targets: Vec<TargetReport>,
}

#[derive(Debug, Serialize)]
struct TargetReport {
    target: IpAddr,
    /// `icmp` or `icmpv6`: the echo sent.
    protocol: &'static str,
    reached: bool,
    replies: u32,
    /// One entry per round: the round-trip time in ms, `null` when no reply came in time.
    rtt_ms: Vec<Option<f64>>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if let (Some(device), Some(source)) = (&args.device, args.source) {
        // A source this host does not hold on the device gets no reply back: every target would
        // "fail", which says nothing about them. (A missing device is the probe's own finding.)
        let exists = std::path::Path::new("/sys/class/net").join(device).exists();
        if exists && common::own_address(device, &[source]).is_none() {
            return Err(crate::exit::ExitError::usage(format!(
                "--source {source} is not an address of {device} on this host"
            ))
            .into());
        }
    }
    let (plans, config_timeout) = match &args.device {
        Some(device) => (
            vec![ChannelPlan {
                ident: device.clone(),
                device: device.clone(),
                source: args.source,
                targets: args.targets.clone(),
                rule: TestHosts::All,
            }],
            None,
        ),
        None => {
            let config = common::load_config(&args.config)?;
            let plans = config
                .channels
                .iter()
                .filter(|c| !c.testips.is_empty())
                .map(|c| ChannelPlan {
                    ident: c.ident.clone(),
                    device: c.device.clone(),
                    source: common::own_address(&c.device, &[c.activeip, c.passiveip]),
                    targets: c.testips.clone(),
                    rule: config.policy.testhosts,
                })
                .collect();
            (plans, Some(config.network.timeout))
        }
    };
    let timeout = args
        .timeout
        .or(config_timeout)
        .unwrap_or(Duration::from_secs(1));
    common::require_devices(plans.iter().map(|p| p.device.as_str()))?;

    let targets: Vec<ProbeTarget> = plans
        .iter()
        .flat_map(|p| {
            p.targets.iter().map(|&target| ProbeTarget {
                device: p.device.clone(),
                source: p.source,
                target,
            })
        })
        .collect();

    let mut prober = IcmpProber::new();
    let mut prober6 = Icmp6Prober::new();
    let mut rtts: Vec<Vec<Option<Duration>>> = vec![Vec::new(); targets.len()];
    for round in 0..args.count {
        let started = Instant::now();
        let results =
            probe_round(&mut prober, &mut prober6, &targets, timeout).map_err(common::net_error)?;
        for (slot, r) in rtts.iter_mut().zip(results) {
            slot.push(r);
        }
        if round + 1 < args.count {
            std::thread::sleep(args.interval.saturating_sub(started.elapsed()));
        }
    }

    let mut per_target = rtts.into_iter();
    let channels: Vec<ChannelReport> = plans
        .iter()
        .map(|p| {
            let targets: Vec<TargetReport> = p
                .targets
                .iter()
                .map(|&target| {
                    let rtts = per_target.next().expect("one rtt list per target");
                    let replies = rtts.iter().filter(|r| r.is_some()).count() as u32;
                    TargetReport {
                        target,
                        protocol: if target.is_ipv4() { "icmp" } else { "icmpv6" },
                        reached: replies > 0,
                        replies,
                        rtt_ms: rtts.iter().map(|r| r.map(millis)).collect(),
                    }
                })
                .collect();
            let healthy = p.rule.healthy(targets.iter().map(|t| t.reached));
            ChannelReport {
                channel: p.ident.clone(),
                device: p.device.clone(),
                source: p.source,
                rule: match p.rule {
                    TestHosts::Any => "any",
                    TestHosts::All => "all",
                },
                healthy,
                targets,
            }
        })
        .collect();
    let report = Report {
        healthy: channels.iter().all(|c| c.healthy),
        timeout_ms: timeout.as_millis() as u64,
        rounds: args.count,
        channels,
    };

    if args.json {
        super::output::print_json(&report)?;
    } else {
        print_table(&report);
    }
    Ok(if report.healthy {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// One round: the IPv4 echoes from the ICMP prober and the IPv6 ones from the ICMPv6 prober, at the
/// same time (one timeout for the round); the round trips in the targets' order.
fn probe_round(
    prober: &mut IcmpProber,
    prober6: &mut Icmp6Prober,
    targets: &[ProbeTarget],
    timeout: Duration,
) -> Result<Vec<Option<Duration>>, NetError> {
    let v4: Vec<ProbeTarget> = targets
        .iter()
        .filter(|t| t.target.is_ipv4())
        .cloned()
        .collect();
    let v6: Vec<Echo6Target> = targets
        .iter()
        .filter_map(|t| match (t.target, t.source) {
            (IpAddr::V6(target), source) => Some(Echo6Target {
                device: t.device.clone(),
                source: match source {
                    Some(IpAddr::V6(s)) => Some(s),
                    _ => None,
                },
                target,
            }),
            _ => None,
        })
        .collect();
    let (r4, r6) = std::thread::scope(|s| {
        let six = s.spawn(|| {
            if v6.is_empty() {
                Ok(Vec::new())
            } else {
                prober6.probe(&v6, timeout)
            }
        });
        let four = if v4.is_empty() {
            Ok(Vec::new())
        } else {
            prober.probe(&v4, timeout)
        };
        (four, six.join().expect("the ICMPv6 prober does not panic"))
    });
    let (mut r4, mut r6) = (r4?.into_iter(), r6?.into_iter());
    Ok(targets
        .iter()
        .map(|t| {
            if t.target.is_ipv4() {
                r4.next().and_then(|r| r.rtt)
            } else {
                r6.next().flatten()
            }
        })
        .collect())
}

fn print_table(report: &Report) {
    let mut t = super::output::table(&[
        "channel", "device", "source", "target", "result", "replies", "rtt",
    ]);
    for c in &report.channels {
        for target in &c.targets {
            let last = target.rtt_ms.iter().rev().find_map(|r| *r);
            t.add_row(vec![
                c.channel.clone(),
                c.device.clone(),
                c.source.map_or("-".into(), |s| s.to_string()),
                target.target.to_string(),
                if target.reached {
                    "reached"
                } else {
                    "no reply"
                }
                .to_string(),
                format!("{}/{}", target.replies, report.rounds),
                last.map_or("-".into(), |ms| format!("{ms:.3} ms")),
            ]);
        }
    }
    println!("{t}");
    for c in &report.channels {
        println!(
            "{}: {} ({} of its test hosts must answer)",
            c.channel,
            if c.healthy { "healthy" } else { "FAILED" },
            c.rule
        );
    }
}
