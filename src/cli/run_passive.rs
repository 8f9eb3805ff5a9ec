//! `failoverctl run-passive`: Runs the passive monitor; when the active is gone it takes over (claims the activeips, announces them, runs the up hook) and exits 0.

use super::common::{run_daemon, DaemonArgs};
use crate::core::Scope;

/// Arguments of `failoverctl run-passive`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    run_daemon("run-passive", Scope::PassiveOnly, args.daemon)
}
