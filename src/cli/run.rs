//! `failoverctl run`: The service entry point: starts passive (staying passive while the activeip answers), takes over by the passive algorithm, monitors as active, and after a demote goes back to passive. Runs until SIGTERM/SIGINT; SIGHUP re-reads the config.

use super::common::{run_daemon, DaemonArgs};
use crate::core::Scope;

/// Arguments of `failoverctl run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    run_daemon("run", Scope::Service, args.daemon)
}
