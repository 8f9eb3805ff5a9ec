//! `failoverctl validate`: check a failover.ini (syntax, keys, values, consistency; optionally the
//! host), print every problem compiler-style, and on success the channels and downtime bounds.

use crate::config::host::{self, HostFacts};
use crate::config::{self, diagnostic::render_all, Config, ConfigError, Diagnostic};
use crate::exit::{ExitError, FAILED, OK};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `failoverctl validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (`-` reads standard input).
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Also check, read-only, that each device exists on this host and holds the channel's activeip
    /// or passiveip.
    #[arg(long)]
    pub check_host: bool,
}

/// One channel in the success table and JSON.
#[derive(Debug, Serialize)]
struct ChannelRow {
    ident: String,
    device: String,
    activeip: String,
    passiveip: String,
    prefix: Option<u8>,
    testips: Vec<String>,
    checkonlyidle: bool,
    line: usize,
}

#[derive(Debug, Serialize)]
struct JsonOut {
    file: String,
    valid: bool,
    strict: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<Diagnostic>,
    channels: Option<Vec<ChannelRow>>,
    timing: Option<super::simulate_timing::Report>,
}

fn channel_rows(config: &Config) -> Vec<ChannelRow> {
    config
        .channels
        .iter()
        .map(|c| ChannelRow {
            ident: c.ident.clone(),
            device: c.device.clone(),
            activeip: c.activeip.to_string(),
            passiveip: c.passiveip.to_string(),
            prefix: c.prefix,
            testips: c.testips.iter().map(ToString::to_string).collect(),
            checkonlyidle: c.checkonlyidle,
            line: c.line,
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let file = config::validate::display_name(&args.config);
    let (config, mut diags) = match config::load(&args.config) {
        Ok((config, warnings)) => (Some(config), warnings),
        Err(e @ ConfigError::Io { .. }) => return Err(super::common::unreadable(e)),
        Err(ConfigError::Invalid { diagnostics }) => (None, diagnostics),
    };
    if let (Some(config), true) = (&config, args.check_host) {
        let facts = HostFacts::read()
            .map_err(|e| ExitError::usage(format!("cannot read this host's interfaces: {e}")))?;
        diags.extend(host::check_host(config, &facts));
    }
    if let Some(config) = &config {
        diags.extend(crate::config::keyfile::check(config, args.check_host));
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let valid = errors == 0;
    let config = config.filter(|_| valid);
    let failed = !valid || (args.strict && warnings > 0);
    let timing = config
        .as_ref()
        .map(|c| super::simulate_timing::report(c, &file, None));

    if args.json {
        super::output::print_json(&JsonOut {
            file,
            // What the exit code says: with --strict a warning fails the config too.
            valid: !failed,
            strict: args.strict,
            errors,
            warnings,
            diagnostics: diags,
            channels: config.as_ref().map(channel_rows),
            timing,
        })?;
    } else {
        if !diags.is_empty() {
            eprintln!("{}", render_all(&diags));
        }
        if let (Some(config), Some(timing)) = (&config, &timing) {
            let mut t = super::output::table(&[
                "ident",
                "device",
                "activeip",
                "passiveip",
                "testip",
                "checkonlyidle",
            ]);
            for c in channel_rows(config) {
                let prefix = c.prefix.map(|p| format!("/{p}")).unwrap_or_default();
                t.add_row(vec![
                    c.ident,
                    c.device,
                    format!("{}{prefix}", c.activeip),
                    format!("{}{prefix}", c.passiveip),
                    c.testips.join(", "),
                    if c.checkonlyidle { "yes" } else { "no" }.to_string(),
                ]);
            }
            println!("{t}");
            println!("{}", super::output::bounds_heading(timing));
            println!("{}", super::output::bounds_table(timing));
            let verdict = if failed {
                "invalid (--strict)"
            } else {
                "valid"
            };
            eprintln!("{}: {verdict}", timing.source);
        }
    }
    Ok(if failed { FAILED } else { OK })
}
