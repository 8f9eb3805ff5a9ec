//! `failoverctl simulate-timing`: the source document's downtime bounds for a config (or the built-in
//! example), and beside them the worst case of each fault scenario measured by driving the real
//! decision core in virtual time (`sim::worst_case`).

use crate::config::{self, example::EXAMPLE, value, Config};
use crate::core::timing::{self, Bounds};
use crate::sim::{self, Scenario, SimReport};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod loss;
mod matrix;

/// Arguments of `failoverctl simulate-timing`. The loss model's flags need `--loss` (or `--tune`,
/// which simulates loss too): given alone they would change nothing.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("lossy").args(["loss", "tune"]).multiple(true)))]
pub struct Args {
    /// Configuration file (`-` reads standard input); without it, the built-in example: the source
    /// document's timing (checktime 10, timeout 2, activeretries 3, channelretries 3).
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// Interface shutdown delay after the reboot starts, overriding `[policy] shutdowndelay`
    /// (0 to 1h: seconds or a value like `30s`, `1m 30s`).
    #[arg(long, value_name = "DUR", value_parser = super::common::parse_shutdown_delay)]
    pub shutdown_delay: Option<Duration>,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
    /// Packet loss in percent (0 to 100, e.g. `0.1`), each packet lost independently: adds each
    /// role's expected false failovers per year (closed form, checked by a seeded simulation of the
    /// core) and the detection-time percentiles under that loss.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub loss: Option<f64>,
    /// With `--loss` or `--tune`: each packet is also delayed by up to DUR (uniform); a reply later
    /// than `timeout` counts as lost.
    #[arg(long, value_name = "DUR", value_parser = super::common::parse_timeout, requires = "lossy")]
    pub jitter: Option<Duration>,
    /// Seed of the simulated loss (the same seed gives the same figures).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "loss")]
    pub seed: u64,
    /// With `--loss`: seeded scenario runs per role for the detection percentiles.
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "loss",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,
    /// With `--loss`: checks simulated per role for the false-failover estimate.
    #[arg(long, value_name = "N", default_value_t = 200_000, requires = "loss",
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub checks: u64,
    /// Print the `[network]` timing (checktime, timeout, activeretries, channelretries) that detects
    /// within `--detect` with at most `--max-false-per-year` false failovers per role at `--loss`
    /// (default 1%), with the least probing; exit 1 naming the conflicting bounds when none does.
    #[arg(long, requires_all = ["detect", "max_false_per_year"])]
    pub tune: bool,
    /// With `--tune`: the detection bound both roles must meet.
    #[arg(long, value_name = "DUR", value_parser = super::common::parse_detect, requires = "tune")]
    pub detect: Option<Duration>,
    /// With `--tune`: the false failovers per year allowed for each role.
    #[arg(long, value_name = "N", value_parser = parse_rate, requires = "tune")]
    pub max_false_per_year: Option<f64>,
    /// With `--tune`: the shortest timeout considered (a healthy round trip must fit; default 50ms).
    #[arg(long, value_name = "DUR", value_parser = super::common::parse_timeout, requires = "tune")]
    pub min_timeout: Option<Duration>,
    /// Write an SVG: a timeline of each scenario's worst case and, with `--loss`, detection time
    /// against false failovers per year as checktime varies. `-` writes the SVG alone to standard
    /// output.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Print the README's table of common settings (detection bound, false failovers per year at
    /// 0.1%, 1% and 5% loss) as Markdown.
    #[arg(long, conflicts_with_all = ["config", "tune", "loss", "plot", "json"])]
    pub table: bool,
    /// The safety matrix: every fault (active link down, power off, silent, ...) × {classic,
    /// improved} × {no peer key, peer key} × {no loss, 1% loss}, seeded runs at random phases on the
    /// real decision cores, and the runs that broke each invariant I1-I4 (see the README); exit 1
    /// when a cell of the improved policy breaks one.
    #[arg(long, conflicts_with_all = ["tune", "loss", "plot", "table"])]
    pub matrix: bool,
    /// With `--matrix`: seeded runs per cell.
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "matrix",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub matrix_runs: u32,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a percentage from 0 to 100")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of false failovers per year (0 or more)"
        )),
    }
}

/// One bound: its name, the formula it comes from, its value.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: &'static str,
    pub formula: String,
    #[serde(rename = "value_ms")]
    #[serde(serialize_with = "as_millis")]
    pub value: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The timing report of one config, as printed by `simulate-timing` and `validate`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    #[serde(serialize_with = "as_millis")]
    pub checktime_ms: Duration,
    #[serde(serialize_with = "as_millis")]
    pub timeout_ms: Duration,
    pub activeretries: u32,
    pub channelretries: u32,
    pub fastdown: bool,
    #[serde(serialize_with = "as_millis")]
    pub active_detection_ms: Duration,
    #[serde(serialize_with = "as_millis")]
    pub passive_detection_ms: Duration,
    #[serde(serialize_with = "as_millis")]
    pub total_outage_ms: Duration,
    #[serde(serialize_with = "as_millis")]
    pub shutdown_delay_ms: Duration,
    #[serde(serialize_with = "as_millis")]
    pub total_with_shutdown_delay_ms: Duration,
    #[serde(serialize_with = "as_millis")]
    pub worst_case_ms: Duration,
    pub rows: Vec<Row>,
}

/// Builds the report of a config; `shutdown_delay` overrides the policy's.
pub fn report(config: &Config, source: &str, shutdown_delay: Option<Duration>) -> Report {
    let n = &config.network;
    let b: Bounds = timing::bounds(n, &config.policy, shutdown_delay);
    let delay_note = if b.fastdown {
        "shutdowndelay; fastdown=yes releases the addresses at once, so it is not added"
    } else {
        "shutdowndelay (the document: \"does not exceed 30 seconds\")"
    };
    let worst = if b.fastdown {
        "fastdown=yes: the total outage"
    } else {
        "fastdown=no: the total outage with the shutdown delay"
    };
    let rows = vec![
        Row {
            name: ACTIVE_DETECTS,
            formula: "checktime + timeout × channelretries".into(),
            value: b.active_detection,
        },
        Row {
            name: PASSIVE_DETECTS,
            formula: "checktime + timeout × activeretries".into(),
            value: b.passive_detection,
        },
        Row {
            name: "total outage",
            formula: "checktime × 2 + timeout × (channelretries + activeretries)".into(),
            value: b.total_outage,
        },
        Row {
            name: "interface shutdown delay after the reboot starts",
            formula: delay_note.into(),
            value: b.shutdown_delay,
        },
        Row {
            name: "total outage with the shutdown delay",
            formula: "total outage + shutdown delay".into(),
            value: b.total_with_shutdown_delay,
        },
        Row {
            name: "worst case for this config",
            formula: worst.into(),
            value: b.worst_case,
        },
    ];
    Report {
        source: source.to_string(),
        checktime_ms: n.checktime,
        timeout_ms: n.timeout,
        activeretries: n.activeretries,
        channelretries: n.channelretries,
        fastdown: n.fastdown,
        active_detection_ms: b.active_detection,
        passive_detection_ms: b.passive_detection,
        total_outage_ms: b.total_outage,
        shutdown_delay_ms: b.shutdown_delay,
        total_with_shutdown_delay_ms: b.total_with_shutdown_delay,
        worst_case_ms: b.worst_case,
        rows,
    }
}

/// The simulated worst case of one scenario, compared with the formula bound that covers it.
#[derive(Debug, Clone, Serialize)]
pub struct Simulated {
    pub scenario: Scenario,
    /// Where in the check cycle the fault of the worst run fell.
    #[serde(serialize_with = "as_millis")]
    pub fault_offset_ms: Duration,
    /// The failed active's own decision (failure action or hold); `null`: it made none.
    #[serde(serialize_with = "as_opt_millis")]
    pub detected_after_ms: Option<Duration>,
    /// The peer claimed the activeips; `null`: it did not.
    #[serde(serialize_with = "as_opt_millis")]
    pub takeover_after_ms: Option<Duration>,
    /// The longest time a client of the first channel found nobody serving its activeip.
    #[serde(serialize_with = "as_millis")]
    pub longest_gap_ms: Duration,
    /// Which measurement is held against which formula row; `null` when the document gives none.
    pub compared: Option<Comparison>,
    /// The longest client gap is within the formula's worst case for this config.
    pub gap_within_worst_case: bool,
    /// Why the simulation could not run (the formula bounds stand regardless).
    pub error: Option<String>,
    /// Fault offsets tried, and how far apart (thinned when runs are long, to bound the work).
    pub sweep_runs: u64,
    #[serde(serialize_with = "as_millis")]
    pub sweep_step_ms: Duration,
}

/// One simulated time against one formula bound.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// `detected_after` or `takeover_after`.
    pub measure: &'static str,
    /// The name of the formula row.
    pub bound: &'static str,
    #[serde(serialize_with = "as_millis")]
    pub bound_ms: Duration,
    /// False when the simulation exceeded the formula (or the event never came).
    pub within: bool,
}

fn as_opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => as_millis(d, s),
        None => s.serialize_none(),
    }
}

/// The formula row a scenario's simulated time is held against: the active's own detection for its
/// link, the passive's detection when the active is gone or mute; a dead test host has no bound in
/// the document.
fn comparison(scenario: Scenario, r: &SimReport, b: &Bounds) -> Option<Comparison> {
    let (measure, measured, bound, bound_ms) = match scenario {
        Scenario::ActiveLinkDown => (
            "detected_after",
            r.detected_after,
            ACTIVE_DETECTS,
            b.active_detection,
        ),
        Scenario::ActivePowerOff | Scenario::ActiveSilent => (
            "takeover_after",
            r.takeover_after,
            PASSIVE_DETECTS,
            b.passive_detection,
        ),
        Scenario::TestHostDead => return None,
    };
    Some(Comparison {
        measure,
        bound,
        bound_ms,
        within: measured.is_some_and(|m| m <= bound_ms),
    })
}

const ACTIVE_DETECTS: &str = "active detects an interface failure";
const PASSIVE_DETECTS: &str = "passive detects the active is gone";

/// Runs every scenario's worst case on `config`.
pub fn simulate(config: &Config, shutdown_delay: Option<Duration>) -> Vec<Simulated> {
    let b = timing::bounds(&config.network, &config.policy, shutdown_delay);
    Scenario::ALL
        .iter()
        .map(|&scenario| match sim::worst_case(config, scenario) {
            Ok(r) => Simulated {
                scenario,
                fault_offset_ms: r.fault_offset,
                detected_after_ms: r.detected_after,
                takeover_after_ms: r.takeover_after,
                longest_gap_ms: r.longest_gap,
                compared: comparison(scenario, &r, &b),
                gap_within_worst_case: r.longest_gap <= b.worst_case,
                error: None,
                sweep_runs: r.runs,
                sweep_step_ms: r.step,
            },
            Err(e) => Simulated {
                scenario,
                fault_offset_ms: Duration::ZERO,
                detected_after_ms: None,
                takeover_after_ms: None,
                longest_gap_ms: Duration::ZERO,
                compared: None,
                gap_within_worst_case: false,
                error: Some(e.to_string()),
                sweep_runs: 0,
                sweep_step_ms: Duration::ZERO,
            },
        })
        .collect()
}

/// What a reader needs to trust the simulated table: how it was run, and why a row may exceed its
/// formula.
pub fn notes(
    config: &Config,
    shutdown_delay: Option<Duration>,
    simulated: &[Simulated],
) -> Vec<String> {
    let n = &config.network;
    let first = config
        .channels
        .first()
        .map_or("-", |c| c.ident.as_str())
        .to_string();
    let mut notes = vec![format!(
        "each scenario faults the active (its link on, or the test hosts of, the first channel, \
         {first}) at every offset of one check cycle (checktime + timeout) in {} steps; shown is the \
         run with the longest client gap",
        value::format_duration(sim::sweep_step(config))
    )];
    let b = timing::bounds(&config.network, &config.policy, shutdown_delay);
    let idle: Vec<&str> = config
        .channels
        .iter()
        .filter(|c| c.checkonlyidle)
        .map(|c| c.ident.as_str())
        .collect();
    if !idle.is_empty() {
        notes.push(format!(
            "checkonlyidle=yes on {}: traffic before the fault in the same interval counts as \
             healthy, so the active's detection can exceed checktime + timeout × channelretries by up \
             to one checktime ({}), and while traffic flows a dead test host goes unnoticed",
            idle.join(", "),
            value::format_duration(n.checktime)
        ));
    }
    for s in simulated {
        if s.error.is_none() && s.sweep_step_ms > sim::sweep_step(config) {
            notes.push(format!(
                "{}: the runs are long, so the sweep was thinned to {} offsets {} apart (the \
                 simulated work is bounded)",
                scenario_name(s.scenario),
                s.sweep_runs,
                value::format_duration(s.sweep_step_ms)
            ));
        }
        if let Some(c) = s.compared.as_ref().filter(|c| !c.within) {
            let measured = match c.measure {
                "detected_after" => s.detected_after_ms,
                _ => s.takeover_after_ms,
            };
            notes.push(match measured {
                Some(m) => format!(
                    "{}: {} after {}, beyond the formula's {} ({}) by {}",
                    scenario_name(s.scenario),
                    measure_name(c.measure),
                    value::format_duration(m),
                    c.bound,
                    value::format_duration(c.bound_ms),
                    value::format_duration(m.saturating_sub(c.bound_ms))
                ),
                None => format!(
                    "{}: {} never happened in the simulation",
                    scenario_name(s.scenario),
                    measure_name(c.measure)
                ),
            });
        }
        if s.error.is_none() && !s.gap_within_worst_case {
            notes.push(format!(
                "{}: the longest client gap, {}, is beyond the formula's worst case for this config \
                 ({}) by {}",
                scenario_name(s.scenario),
                value::format_duration(s.longest_gap_ms),
                value::format_duration(b.worst_case),
                value::format_duration(s.longest_gap_ms.saturating_sub(b.worst_case))
            ));
            let cannot_ask = config
                .sendconfig
                .as_ref()
                .is_none_or(|sc| sc.peerip.is_none() || sc.peerlink.key.is_none());
            if s.scenario == Scenario::TestHostDead && config.policy.requirepeer && cannot_ask {
                // Why, and the fix: the peer cannot be asked, so it is taken for able to serve.
                notes.push(
                    "test host dead: without the peer protocol ([sendconfig] peerip and key) the \
                     active cannot ask the peer whether it reaches the test hosts; it acts as if \
                     the peer could take over, but the peer's test hosts are dead too, so it \
                     declines; with peerip and the key the active holds instead"
                        .to_owned(),
                );
            }
        }
        if let Some(e) = &s.error {
            notes.push(format!("{}: not simulated: {e}", scenario_name(s.scenario)));
        }
    }
    notes
}

fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::ActiveLinkDown => "active link down",
        Scenario::ActivePowerOff => "active power off",
        Scenario::ActiveSilent => "active silent (carrier up)",
        Scenario::TestHostDead => "test host dead",
    }
}

fn measure_name(m: &str) -> &'static str {
    match m {
        "detected_after" => "the active decided",
        _ => "the peer took over",
    }
}

/// The simulated worst cases as a table.
pub fn simulated_table(simulated: &[Simulated]) -> comfy_table::Table {
    let mut t = super::output::table(&[
        "scenario",
        "active decides",
        "peer takes over",
        "longest client gap",
        "against the formulas (gap: the worst case)",
    ]);
    let time = |d: Option<Duration>| d.map_or("never".to_string(), value::format_duration);
    for s in simulated {
        let verdict = |within: bool| {
            if within {
                "within"
            } else {
                "EXCEEDED (see note)"
            }
        };
        let bound = match (&s.compared, &s.error) {
            (_, Some(_)) => "not simulated (see note)".to_string(),
            (None, None) => format!("gap: {}", verdict(s.gap_within_worst_case)),
            (Some(c), None) => format!(
                "{} ≤ {}: {}; gap: {}",
                match c.measure {
                    "detected_after" => "decides",
                    _ => "takes over",
                },
                value::format_duration(c.bound_ms),
                verdict(c.within),
                verdict(s.gap_within_worst_case)
            ),
        };
        t.add_row(vec![
            scenario_name(s.scenario).to_string(),
            time(s.detected_after_ms),
            time(s.takeover_after_ms),
            value::format_duration(s.longest_gap_ms),
            bound,
        ]);
    }
    t
}

/// `simulate-timing --json`: the formula report with the simulated worst cases beside it.
#[derive(Debug, Serialize)]
struct Output {
    #[serde(flatten)]
    report: Report,
    simulated: Vec<Simulated>,
    simulated_notes: Vec<String>,
    /// With `--loss`: each role's expected false failovers per year (closed form).
    #[serde(skip_serializing_if = "Option::is_none")]
    false_failovers_per_year: Option<loss::PerRole<f64>>,
    /// With `--loss`: detection-time percentiles under that loss.
    #[serde(skip_serializing_if = "Option::is_none")]
    detection_ms: Option<sim::detection::DetectionTimes>,
    /// With `--loss`: the closed form, its simulation and the notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    loss: Option<loss::LossReport>,
    /// With `--plot`: the file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    plot: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    if args.json && args.plot.as_ref().is_some_and(|p| p.as_os_str() == "-") {
        return Err(crate::exit::ExitError::usage(
            "--plot - writes the SVG alone to standard output: give --plot a file to have --json too",
        )
        .into());
    }
    if args.table {
        print!("{}", loss::common_table());
        return Ok(crate::exit::OK);
    }
    let (config, source) = match &args.config {
        Some(path) => (
            super::common::load_or_report(path, args.json)?,
            config::validate::display_name(path),
        ),
        None => {
            let (config, _) = config::parse_str(EXAMPLE, Path::new("built-in example"))
                .expect("the built-in example is valid (a unit test checks it)");
            (
                Some(config),
                "built-in example (the source document's timing)".to_string(),
            )
        }
    };
    let Some(config) = config else {
        return Ok(crate::exit::FAILED);
    };
    if args.matrix {
        return matrix::run(&config, args.matrix_runs, args.json);
    }
    let link = sim::loss::LinkModel::new(
        args.loss.unwrap_or(if args.tune { 1.0 } else { 0.0 }),
        args.jitter.unwrap_or_default(),
    );
    if args.tune {
        let goal = sim::tune::Goal {
            detect: args.detect.expect("clap requires --detect with --tune"),
            max_false_per_year: args
                .max_false_per_year
                .expect("clap requires --max-false-per-year with --tune"),
            min_timeout: args.min_timeout.unwrap_or(Duration::from_millis(50)),
        };
        return loss::run_tune(&config, link, goal, args.json);
    }
    let r = report(&config, &source, args.shutdown_delay);
    let simulated = simulate(&config, args.shutdown_delay);
    let simulated_notes = notes(&config, args.shutdown_delay, &simulated);
    let lossy = args
        .loss
        .map(|_| loss::loss_report(&config, link, args.seed, args.checks, args.runs as usize));
    let plot = match &args.plot {
        // `-`: the SVG alone on standard output (a table around it would spoil the picture).
        Some(path) if path.as_os_str() == "-" => {
            let svg = sim::plot::render(&config, lossy.as_ref().map(|l| &l.link))
                .map_err(|e| anyhow::anyhow!("cannot plot: {e}"))?;
            print!("{svg}");
            return Ok(crate::exit::OK);
        }
        Some(path) => {
            let svg = sim::plot::render(&config, lossy.as_ref().map(|l| &l.link))
                .map_err(|e| anyhow::anyhow!("cannot plot: {e}"))?;
            std::fs::write(path, svg)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            Some(path.display().to_string())
        }
        None => None,
    };
    if args.json {
        super::output::print_json(&Output {
            report: r,
            simulated,
            simulated_notes,
            false_failovers_per_year: lossy.as_ref().map(|l| l.false_failovers_per_year.clone()),
            detection_ms: lossy.as_ref().and_then(|l| l.detection_ms.clone()),
            loss: lossy,
            plot,
        })?;
    } else {
        println!("{}", super::output::bounds_heading(&r));
        println!("{}", super::output::bounds_table(&r));
        println!();
        println!("simulated worst case (the decision core in virtual time):");
        println!("{}", simulated_table(&simulated));
        for note in &simulated_notes {
            println!("note: {note}");
        }
        if let Some(l) = &lossy {
            println!();
            loss::print_loss(l);
        }
        if let Some(p) = &plot {
            println!();
            println!("plot written to {p}");
        }
    }
    Ok(crate::exit::OK)
}
