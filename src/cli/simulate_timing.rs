//! `failoverctl simulate-timing`: the source document's downtime bounds for a config (or the built-in
//! example). The rows are data, so a simulation of the decision core can add its measured column.

use crate::config::{self, example::EXAMPLE, value, Config};
use crate::core::timing::{self, Bounds};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `failoverctl simulate-timing`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (`-` reads standard input); without it, the built-in example: the source
    /// document's timing (checktime 10, timeout 2, activeretries 3, channelretries 3).
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// Interface shutdown delay after the reboot starts, overriding `[policy] shutdowndelay`
    /// (seconds or a value like `30s`, `1m 30s`).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub shutdown_delay: Option<Duration>,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    value::duration(s)
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
            name: "active detects an interface failure",
            formula: "checktime + timeout × channelretries".into(),
            value: b.active_detection,
        },
        Row {
            name: "passive detects the active is gone",
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

/// The report as a table.
pub fn table(r: &Report) -> comfy_table::Table {
    let mut t = super::output::table(&["bound", "formula", "value"]);
    for row in &r.rows {
        t.add_row(vec![
            row.name.to_string(),
            row.formula.clone(),
            value::format_duration(row.value),
        ]);
    }
    t
}

/// The input line above the table.
pub fn heading(r: &Report) -> String {
    format!(
        "{}: checktime {}, timeout {}, activeretries {}, channelretries {}, fastdown {}",
        r.source,
        value::format_duration(r.checktime_ms),
        value::format_duration(r.timeout_ms),
        r.activeretries,
        r.channelretries,
        if r.fastdown { "yes" } else { "no" }
    )
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let (config, source) = match &args.config {
        Some(path) => (
            super::validate::load_or_report(path, args.json)?,
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
    let r = report(&config, &source, args.shutdown_delay);
    if args.json {
        super::output::print_json(&r)?;
    } else {
        println!("{}", heading(&r));
        println!("{}", table(&r));
    }
    Ok(crate::exit::OK)
}
