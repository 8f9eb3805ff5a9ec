//! `failoverctl run-active`: Claims the activeips, runs the active monitor, and ends with the failure action (exit 1) or on SIGTERM/SIGINT (exit 0).

use super::common::{run_daemon, DaemonArgs};
use crate::core::Scope;

/// Arguments of `failoverctl run-active`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    run_daemon("run-active", Scope::ActiveOnly, args.daemon)
}
