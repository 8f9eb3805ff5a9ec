//! `failoverctl generate` (hidden): writes the man pages and shell completions from the clap
//! definitions, as ripgrep does. `tests/generated_docs.rs` fails when the committed ones are stale.
//!
//! Regenerate with: `cargo run -- generate --out-dir .`

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// Arguments of `failoverctl generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory that receives `man/` and `completions/`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
}

/// Writes `DIR/man/failoverctl.1` (one page per visible subcommand besides) and
/// `DIR/completions/{failoverctl.bash,_failoverctl,failoverctl.fish}`.
pub fn generate(out_dir: &Path) -> std::io::Result<()> {
    let man = out_dir.join("man");
    let completions = out_dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    clap_mangen::generate_to(super::Cli::command(), &man)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = super::Cli::command();
        clap_complete::generate_to(shell, &mut cmd, "failoverctl", &completions)?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    generate(&args.out_dir).map_err(|e| {
        crate::exit::ExitError::usage(format!("cannot write into {}: {e}", args.out_dir.display()))
    })?;
    Ok(crate::exit::OK)
}
