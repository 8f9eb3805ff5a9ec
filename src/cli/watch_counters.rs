//! `failoverctl watch-counters`: samples each device's rx/tx packet counters every interval and
//! prints the deltas with the verdict of the source document's checkonlyidle rule (traffic: healthy;
//! idle: a probe is needed). Runs until Ctrl-C or `--count`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::common::{self, millis};
use crate::exit;
use crate::net::linux::NetlinkCounters;
use crate::net::{Activity, CounterDelta, CounterSource, Counters};

/// Arguments of `failoverctl watch-counters`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (`-` reads standard input): watches every channel's device.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG, conflicts_with = "devices")]
    pub config: std::path::PathBuf,
    /// Devices to watch instead of a config's channels.
    #[arg(value_name = "DEVICE")]
    pub devices: Vec<String>,
    /// Length of one interval, 1ms to 1m (the config's checktime plays this role in the daemon).
    #[arg(long, value_name = "DUR", default_value = "1s", value_parser = common::parse_interval)]
    pub interval: Duration,
    /// Stop after this many intervals (default: until Ctrl-C).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub count: Option<u64>,
    /// One JSON object per interval and line (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct IntervalReport<'a> {
    interval: u64,
    elapsed_ms: f64,
    devices: Vec<DeviceReport<'a>>,
}

#[derive(Debug, Serialize)]
struct DeviceReport<'a> {
    device: &'a str,
    rx_packets: u64,
    tx_packets: u64,
    rx_delta: u64,
    tx_delta: u64,
    /// A counter went down during the interval: a reset, not traffic.
    reset: bool,
    /// `traffic` (healthy) or `idle` (a probe is needed).
    verdict: Activity,
}

/// How often the wait between samples looks for Ctrl-C.
const STOP_POLL: Duration = Duration::from_millis(50);

pub fn run(args: Args) -> anyhow::Result<i32> {
    let devices: Vec<String> = if args.devices.is_empty() {
        let config = common::load_config(&args.config)?;
        config.channels.iter().map(|c| c.device.clone()).collect()
    } else {
        args.devices.clone()
    };

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }

    let mut source = NetlinkCounters::new();
    // The first sample doubles as the check that every device exists (exit 1 when one does not).
    let mut previous: Vec<Counters> = devices
        .iter()
        .map(|d| source.sample(d))
        .collect::<Result<_, _>>()
        .map_err(common::net_error)?;
    let start = Instant::now();
    let mut interval = 0u64;
    let mut next_at = start;
    while args.count.is_none_or(|n| interval < n) {
        next_at += args.interval;
        while Instant::now() < next_at {
            if stop.load(Ordering::Relaxed) {
                return Ok(exit::OK);
            }
            std::thread::sleep(STOP_POLL.min(next_at.saturating_duration_since(Instant::now())));
        }
        interval += 1;
        let now: Vec<Counters> = devices
            .iter()
            .map(|d| source.sample(d))
            .collect::<Result<_, _>>()
            .map_err(common::net_error)?;
        let report = IntervalReport {
            interval,
            elapsed_ms: millis(start.elapsed()),
            devices: devices
                .iter()
                .zip(now.iter().zip(&previous))
                .map(|(device, (n, p))| {
                    let delta: CounterDelta = n.delta_since(p);
                    DeviceReport {
                        device,
                        rx_packets: n.rx_packets,
                        tx_packets: n.tx_packets,
                        rx_delta: delta.rx_packets,
                        tx_delta: delta.tx_packets,
                        reset: delta.reset,
                        verdict: delta.activity(),
                    }
                })
                .collect(),
        };
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print_table(&report);
        }
        previous = now;
    }
    Ok(exit::OK)
}

fn print_table(report: &IntervalReport) {
    let mut t = super::output::table(&["#", "device", "rx +", "tx +", "verdict"]);
    for d in &report.devices {
        let verdict = match d.verdict {
            Activity::Traffic => "traffic: healthy",
            Activity::Idle => "idle: probe needed",
        };
        t.add_row(vec![
            report.interval.to_string(),
            d.device.to_string(),
            d.rx_delta.to_string(),
            d.tx_delta.to_string(),
            if d.reset {
                format!("{verdict} (counter reset)")
            } else {
                verdict.to_string()
            },
        ]);
    }
    println!("{t}");
}
