//! `failoverctl handover`: a planned switchover, asked of the running local daemon over its control
//! socket (`<statefile>.ctl`, root only). The daemons agree in one exchange over the sync link (the
//! passive confirms it is fit; the active releases and sends its notice; the passive claims and
//! announces); this command only waits for the local daemon's verdict.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::daemon::control::{path_for, Reply, MAX_CONTROL};
use crate::exit::{self, ExitError};

/// Arguments of `failoverctl handover`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file: its `[policy] statefile` locates the daemon's control socket.
    #[arg(short, long, default_value = super::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The daemon's state file, when it was started with `--state-file`.
    #[arg(long)]
    pub state_file: Option<PathBuf>,
    /// How long the whole exchange may take before it counts as failed.
    #[arg(long, value_name = "DUR", default_value = "3s", value_parser = parse_handover_timeout)]
    pub timeout: Duration,
    /// Machine-readable JSON output.
    #[arg(long)]
    pub json: bool,
}

fn parse_handover_timeout(text: &str) -> Result<Duration, String> {
    crate::config::limits::TIMEOUT.parse(text)
}

/// Exit codes: 0 the other node holds every activeip (or, run on the passive, this node does);
/// 1 the handover did not happen (the peer did not answer, is not fit, no daemon runs), with the
/// reason; 2 usage or environment (the config or the socket cannot be used).
pub fn run(args: Args) -> anyhow::Result<i32> {
    let statefile = match args.state_file {
        Some(p) => p,
        None => match crate::config::load(&args.config) {
            Ok((c, _)) => c.policy.statefile,
            Err(e @ crate::config::ConfigError::Io { .. }) => {
                return Err(ExitError::usage(e.to_string()).into())
            }
            Err(e) => return Err(ExitError::failed(e.to_string()).into()),
        },
    };
    let control = path_for(&statefile);
    let own = {
        let mut p = control.as_os_str().to_owned();
        p.push(format!(".{}", std::process::id()));
        PathBuf::from(p)
    };
    let _ = std::fs::remove_file(&own);
    let socket = UnixDatagram::bind(&own)
        .map_err(|e| ExitError::usage(format!("{}: {e} (handover needs root)", own.display())))?;
    let _cleanup = Cleanup(own.clone());
    let started = Instant::now();
    let request = format!("handover {}", args.timeout.as_millis());
    let reply = match socket.send_to(request.as_bytes(), &control) {
        Err(e) => Reply {
            ok: false,
            message: format!(
                "no daemon answers at {} ({e}): is `failoverctl run` running with this config?",
                control.display()
            ),
        },
        Ok(_) => {
            // The daemon answers within the timeout it was given; a little more for the reply.
            socket.set_read_timeout(Some(args.timeout + Duration::from_millis(500)))?;
            let mut buf = [0u8; MAX_CONTROL];
            match socket.recv(&mut buf) {
                Ok(n) => serde_json::from_slice(&buf[..n]).unwrap_or(Reply {
                    ok: false,
                    message: "the daemon's reply is not understood".into(),
                }),
                Err(_) => Reply {
                    ok: false,
                    message: "the local daemon did not answer in time".into(),
                },
            }
        }
    };
    let elapsed = started.elapsed();
    if args.json {
        super::output::print_json(&serde_json::json!({
            "ok": reply.ok,
            "message": reply.message,
            "elapsed_ms": elapsed.as_millis() as u64,
        }))?;
    } else if reply.ok {
        println!(
            "handover done in {} ms: {}",
            elapsed.as_millis(),
            reply.message
        );
    } else {
        eprintln!("handover failed: {}", reply.message);
    }
    Ok(if reply.ok { exit::OK } else { exit::FAILED })
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
