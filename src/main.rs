//! Entry point: parse, run, map the outcome to a documented exit code.

use clap::Parser;
use failoverctl::{cli, exit};

fn main() {
    let args = cli::Cli::parse();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if let Some(e) = err.downcast_ref::<exit::ExitError>() {
                if !e.message.is_empty() {
                    eprintln!("failoverctl: {e}");
                }
                e.code
            } else if is_broken_pipe(&err) {
                // A closed pipe (`failoverctl ... | head`) is not an error worth a message.
                exit::OK
            } else {
                eprintln!("failoverctl: {err:#}");
                exit::USAGE
            }
        }
    };
    std::process::exit(code);
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
