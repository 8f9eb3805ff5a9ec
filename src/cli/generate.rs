//! `failoverctl generate`: not built yet.

/// Arguments of `failoverctl generate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    super::not_implemented("generate")
}
