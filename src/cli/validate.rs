//! `failoverctl validate`: not built yet.

/// Arguments of `failoverctl validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (`-` reads standard input).
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: std::path::PathBuf,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    super::not_implemented("validate")
}
