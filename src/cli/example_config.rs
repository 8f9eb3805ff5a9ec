//! `failoverctl example-config`: not built yet.

/// Arguments of `failoverctl example-config`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    super::not_implemented("example-config")
}
