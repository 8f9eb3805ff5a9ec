//! Helpers shared by the diagnostics (probe, arp-check, watch-counters): loading a config, durations,
//! the node's own address on a device, and mapping `NetError` to the documented exit codes.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use crate::config::{self, diagnostic::render_all, limits, Config, ConfigError};
use crate::exit::ExitError;
use crate::net::NetError;

/// Loads and validates a config for the diagnostics and the daemon: warnings go to stderr; an invalid
/// config is reported in full and ends the command with exit 1 before anything is touched; an
/// unreadable file is exit 2.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    match load_or_report(path, false)? {
        Some(config) => Ok(config),
        None => Err(ExitError::failed(String::new()).into()),
    }
}

pub fn unreadable(e: ConfigError) -> anyhow::Error {
    ExitError::usage(e.to_string()).into()
}

/// Loads a config for a subcommand: an unreadable file is exit 2; an invalid one prints its
/// diagnostics (to stderr, or as JSON on stdout) and gives `None`; warnings go to stderr.
pub fn load_or_report(path: &Path, json: bool) -> anyhow::Result<Option<Config>> {
    match config::load(path) {
        Ok((config, warnings)) => {
            if !json {
                for w in &warnings {
                    eprintln!("{w}");
                }
            }
            Ok(Some(config))
        }
        Err(e @ ConfigError::Io { .. }) => Err(unreadable(e)),
        Err(ConfigError::Invalid { diagnostics }) => {
            if json {
                // The shape of `validate --json`, so a script reads either command's refusal alike.
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                super::output::print_json(&serde_json::json!({
                    "file": config::validate::display_name(path),
                    "valid": false,
                    "errors": errors,
                    "warnings": diagnostics.len() - errors,
                    "diagnostics": diagnostics,
                }))?;
            } else {
                eprintln!("{}", render_all(&diagnostics));
            }
            Ok(None)
        }
    }
}

/// The clap value parsers of duration flags: the config's one duration syntax (plain seconds, or
/// `300ms`, `1m 30s`) and the documented ranges of `config::limits`, so a flag and its config key
/// accept the same values.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    limits::TIMEOUT.parse(text)
}

/// An address given to `probe` or `arp-check` on the command line: the config's rules for one
/// station's address (no IPv4-mapped spelling; not multicast, broadcast, loopback or unspecified),
/// so a target the config would refuse is a usage error, not a probe that "fails".
pub fn parse_station(text: &str) -> Result<IpAddr, String> {
    let ip = crate::config::value::ip(text)?;
    match crate::config::value::not_unicast(ip) {
        Some(what) => Err(format!("`{text}` is {what}, not one station's address")),
        None => Ok(ip),
    }
}

/// `--interval` of `probe` and `watch-counters`.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    limits::INTERVAL.parse(text)
}

/// `peer-respond --for`.
pub fn parse_respond_for(text: &str) -> Result<Duration, String> {
    limits::RESPOND_FOR.parse(text)
}

/// `simulate-timing --tune --detect`: a detection bound, as long as a checktime may be.
pub fn parse_detect(text: &str) -> Result<Duration, String> {
    limits::CHECKTIME.parse(text)
}

/// `simulate-timing --shutdown-delay`, as `[policy] shutdowndelay`.
pub fn parse_shutdown_delay(text: &str) -> Result<Duration, String> {
    limits::SHUTDOWNDELAY.parse(text)
}

/// Maps a primitive's error to an exit code: privilege and environment are 2, an unknown device is a
/// finding about the host or config (1).
pub fn net_error(err: NetError) -> anyhow::Error {
    match err {
        NetError::Privilege { what, capability } => ExitError::usage(format!(
            "{what}: permission denied: needs {capability} (run as root, or grant {capability})"
        ))
        .into(),
        NetError::NoDevice(device) => ExitError::failed(format!("no such device: {device}")).into(),
        other => ExitError::usage(other.to_string()).into(),
    }
}

/// Checks that every device exists before any packet is sent: an unknown one is exit 1.
pub fn require_devices<'a>(devices: impl IntoIterator<Item = &'a str>) -> anyhow::Result<()> {
    for d in devices {
        crate::net::linux::ifindex(d).map_err(net_error)?;
    }
    Ok(())
}

/// The first of `candidates` that is assigned to `device` right now: the node's own address on a
/// channel is the activeip while it is active, the passiveip while passive.
pub fn own_address(device: &str, candidates: &[IpAddr]) -> Option<IpAddr> {
    crate::net::linux::own_address(device, candidates)
}

/// Milliseconds with microsecond precision, for JSON and tables.
pub fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

/// The options shared by `run`, `run-active` and `run-passive`.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// Configuration file.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: std::path::PathBuf,
    /// Log what would be done and change nothing: no address, hook, history or kernel table is
    /// touched (the ARP check uses raw frames).
    #[arg(long)]
    pub dry_run: bool,
    /// How the passive checks the active: the source document's neighbour-table method, or raw ARP
    /// (polling the MAC that answered last). Default: `[policy] arpcheck` (table in classic mode,
    /// raw in improved mode).
    #[arg(long, value_enum)]
    pub arp_method: Option<super::arp_check::Method>,
    /// Write the state for `failoverctl status` here instead of `[policy] statefile`.
    #[arg(long)]
    pub state_file: Option<std::path::PathBuf>,
}

/// Loads the config (rejecting a bad one before anything is touched) and runs the daemon loop.
pub fn run_daemon(
    command: &'static str,
    scope: crate::core::Scope,
    args: DaemonArgs,
) -> anyhow::Result<i32> {
    if args.config == Path::new("-") {
        return Err(ExitError::usage("the daemon needs a config file, not standard input").into());
    }
    let config = load_config(&args.config)?;
    crate::config::keyfile::require_for_run(&config).map_err(ExitError::usage)?;
    require_devices(config.channels.iter().map(|c| c.device.as_str()))?;
    let opts = crate::daemon::service::Options {
        command,
        config_path: args.config,
        scope,
        dry_run: args.dry_run,
        arp_table: args
            .arp_method
            .map(|m| m == super::arp_check::Method::Table),
        state_file: args.state_file,
    };
    crate::daemon::service::run(opts, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: `--timeout 2` (plain seconds, as in the config) was refused, and `--interval 1y` taken.
    #[test]
    fn durations_parse_as_in_the_config_and_are_bounded() {
        assert_eq!(parse_timeout("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("2"), Ok(Duration::from_secs(2)));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("18446744073709551615").is_err());
        let e = parse_interval("1y").expect_err("a year is no probe interval");
        assert!(e.contains("1ms to 1m"), "{e}");
        assert_eq!(parse_shutdown_delay("0"), Ok(Duration::ZERO));
    }

    /// Bug: `probe`, `arp-check` and `peer-check` refused `--timeout 2` (bare seconds), which the config
    /// and the README accept; `--interval 1y` passed.
    #[test]
    fn every_duration_flag_takes_bare_seconds_and_stops_at_its_bound() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            crate::cli::Cli::try_parse_from(
                std::iter::once("failoverctl").chain(args.iter().copied()),
            )
        };
        for args in [
            &["probe", "--device", "eth1", "192.0.2.1", "--timeout", "2"][..],
            &[
                "arp-check",
                "--device",
                "eth1",
                "192.0.2.10",
                "--timeout",
                "2",
            ][..],
            &["peer-check", "--timeout", "2"][..],
            &["probe", "--device", "eth1", "192.0.2.1", "--interval", "2"][..],
            &["watch-counters", "eth1", "--interval", "2"][..],
            &["simulate-timing", "--shutdown-delay", "30"][..],
        ] {
            if let Err(e) = parse(args) {
                panic!("{args:?}: {e}");
            }
        }
        for (args, range) in [
            (
                &["probe", "--device", "eth1", "192.0.2.1", "--interval", "1y"][..],
                "1ms to 1m",
            ),
            (&["peer-check", "--timeout", "61"][..], "1ms to 1m"),
            (
                &["simulate-timing", "--shutdown-delay", "2h"][..],
                "0s to 1h",
            ),
        ] {
            let e = parse(args).expect_err("over its bound").to_string();
            assert!(e.contains(range), "{args:?}: {e}");
        }
    }

    #[test]
    fn privilege_is_2_and_unknown_device_is_1() {
        let e = net_error(NetError::Privilege {
            what: "raw ICMP socket".into(),
            capability: "CAP_NET_RAW",
        });
        let e = e.downcast_ref::<ExitError>().expect("exit error");
        assert_eq!(e.code, crate::exit::USAGE);
        assert!(e.message.contains("CAP_NET_RAW"));
        let e = net_error(NetError::NoDevice("eth9".into()));
        assert_eq!(
            e.downcast_ref::<ExitError>().expect("exit error").code,
            crate::exit::FAILED
        );
    }
}
