//! Helpers shared by the diagnostics (probe, arp-check, watch-counters): loading a config, durations,
//! the node's own address on a device, and mapping `NetError` to the documented exit codes.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::exit::ExitError;
use crate::net::NetError;

/// Loads and validates a config for the diagnostics and the daemon: warnings go to stderr; an invalid
/// config is reported in full and ends the command with exit 1 before anything is touched; an
/// unreadable file is exit 2.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    match super::validate::load_or_report(path, false)? {
        Some(config) => Ok(config),
        None => Err(ExitError::failed(String::new()).into()),
    }
}

/// A clap value parser for durations (`300ms`, `2s`, `1m`); zero is refused, since every wait here
/// needs some time to see an answer.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
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
pub fn own_address(device: &str, candidates: &[Ipv4Addr]) -> Option<Ipv4Addr> {
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
    /// How the passive checks the active: the source document's neighbour-table method, or raw ARP.
    #[arg(long, value_enum, default_value_t = super::arp_check::Method::Table)]
    pub arp_method: super::arp_check::Method,
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
        arp_table: args.arp_method == super::arp_check::Method::Table,
        state_file: args.state_file,
    };
    crate::daemon::service::run(opts, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_zero_is_refused() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
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
