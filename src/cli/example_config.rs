//! `failoverctl example-config`: prints the annotated example failover.ini.

/// Arguments of `failoverctl example-config`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    print!("{}", crate::config::example::EXAMPLE);
    Ok(crate::exit::OK)
}
