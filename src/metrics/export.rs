//! Where the rendered metrics go: `[policy] metricsfile` (for the node exporter's textfile
//! collector: written atomically, and only when the text changed) and `[policy] metricslisten` (a
//! small HTTP listener on a local address that serves the latest text on any GET).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Config;
use crate::core::Status;
use crate::net::linux::peer::ResponderStats;

use super::render::{render, Extra};

/// How often the file and the listener's text follow a snapshot whose role did not change: probe
/// histograms move at every check, and the textfile collector is scraped every 15 s or so, so
/// rewriting the file at every check would only churn the disk (and render text nobody reads).
pub const REFRESH: Duration = Duration::from_secs(5);

/// The exporters of one daemon run.
pub struct Exporter {
    file: Option<PathBuf>,
    served: Option<Arc<Mutex<String>>>,
    last: Option<String>,
    /// When the text was last rendered, and for which role (a new role is exported at once).
    rendered: Option<(std::time::Instant, crate::core::action::Role)>,
    /// The last write error logged: a lasting one is logged once, not at every wake-up.
    last_error: Option<String>,
}

impl Exporter {
    /// Nothing exported.
    pub fn off() -> Exporter {
        Exporter {
            file: None,
            served: None,
            last: None,
            rendered: None,
            last_error: None,
        }
    }

    /// Starts what `config` asks for. A listener that cannot bind is an error: an operator who
    /// configured one expects it to be scraped.
    pub fn start(config: &Config) -> std::io::Result<Exporter> {
        let served = match config.policy.metricslisten {
            Some(addr) => Some(listen(addr)?),
            None => None,
        };
        Ok(Exporter {
            file: config.policy.metricsfile.clone(),
            served,
            last: None,
            rendered: None,
            last_error: None,
        })
    }

    /// The daemon's exporter: nothing in a dry run (it must not overwrite a running daemon's file);
    /// a listener that cannot bind stops the start with exit 2.
    pub fn for_daemon(config: &Config, dry_run: bool) -> anyhow::Result<Exporter> {
        if dry_run {
            return Ok(Exporter::off());
        }
        Exporter::start(config).map_err(|e| {
            let addr = config.policy.metricslisten.map(|a| a.to_string());
            crate::exit::ExitError::usage(format!(
                "metricslisten {}: {e}",
                addr.unwrap_or_default()
            ))
            .into()
        })
    }

    /// [`Exporter::update`], with a failed write logged (the daemon goes on: metrics are not worth
    /// stopping a node that holds addresses).
    pub fn publish(
        &mut self,
        status: &Status,
        peer: Option<ResponderStats>,
        log: &crate::daemon::log::Log,
    ) {
        match self.update(status, peer) {
            Ok(()) => self.last_error = None,
            Err(e) => {
                let text = e.to_string();
                if self.last_error.as_ref() != Some(&text) {
                    if let Some(path) = &self.file {
                        log.warn(&format!("metricsfile {}: {text}", path.display()));
                    }
                    self.last_error = Some(text);
                }
            }
        }
    }

    /// Whether [`Exporter::update`] would render now: an exporter is configured, and the role
    /// changed or [`REFRESH`] has passed (the daemon builds the status only then).
    pub fn wants(&self, role: crate::core::action::Role) -> bool {
        if self.file.is_none() && self.served.is_none() {
            return false;
        }
        self.rendered
            .is_none_or(|(at, r)| r != role || std::time::Instant::now() >= at + REFRESH)
    }

    /// Renders the snapshot (at once when the role changed, otherwise at most every [`REFRESH`])
    /// and, when the text changed, writes the file and updates what the listener serves. Returns the file's write error, if any (the caller logs it).
    pub fn update(&mut self, status: &Status, peer: Option<ResponderStats>) -> std::io::Result<()> {
        if self.file.is_none() && self.served.is_none() {
            return Ok(());
        }
        let now = std::time::Instant::now();
        if let Some((at, role)) = self.rendered {
            if role == status.role && now < at + REFRESH {
                return Ok(());
            }
        }
        self.rendered = Some((now, status.role));
        let text = render(
            status,
            &Extra {
                peer: peer.as_ref(),
                heartbeat_age: status.heartbeat.as_ref().map(|h| heartbeat_age(h.at)),
            },
        );
        if self.last.as_ref() == Some(&text) {
            return Ok(());
        }
        if let Some(served) = &self.served {
            *served.lock().unwrap_or_else(|e| e.into_inner()) = text.clone();
        }
        let written = match &self.file {
            Some(path) => write_atomic(path, text.as_bytes()),
            None => Ok(()),
        };
        if written.is_ok() {
            self.last = Some(text);
        }
        written
    }
}

/// Through an exclusive temporary file with a random name in the same directory, renamed over
/// `path` (never a predictable name a planted link could redirect): the textfile collector never
/// reads half a file, and ignores the temporary one (it reads only `*.prom`).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::daemon::state::write_atomic(path, bytes, false)
}

/// Binds `addr` and serves the shared text from one thread, one short connection at a time.
fn listen(addr: SocketAddr) -> std::io::Result<Arc<Mutex<String>>> {
    let listener = TcpListener::bind(addr)?;
    let text = Arc::new(Mutex::new(String::new()));
    let shared = Arc::clone(&text);
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // A slow or silent client costs at most the timeouts, never the daemon's loop.
                let _ = serve(stream, &shared);
            }
        })?;
    Ok(text)
}

/// Bounds of one request: what a scraper sends fits easily.
const MAX_REQUEST: usize = 8 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(2);

fn serve(mut stream: TcpStream, text: &Mutex<String>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let response = if request.starts_with(b"GET ") {
        let body = text.lock().unwrap_or_else(|e| e.into_inner()).clone();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned()
    };
    stream.write_all(response.as_bytes())
}

/// The age of the peer's last heartbeat (epoch milliseconds `at`) in whole seconds: the file is
/// rewritten when the text changes, so finer steps would rewrite it at every loop turn.
fn heartbeat_age(at: crate::core::Instant) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Duration::from_secs(now.saturating_sub(at.as_millis()) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Status {
        let cfg = crate::sim::document_config(crate::config::PolicyMode::Improved);
        crate::core::Node::new(&cfg, crate::core::Instant::from_millis(0), vec![]).status()
    }

    #[test]
    fn file_is_written_on_change_only_and_the_listener_serves_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/failoverctl.prom");
        let mut cfg = crate::sim::document_config(crate::config::PolicyMode::Improved);
        cfg.policy.metricsfile = Some(path.clone());
        // A free port: bound once to learn it, then let go for the exporter.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        cfg.policy.metricslisten = Some(addr);
        let mut e = Exporter::start(&cfg).expect("start");
        e.update(&status(), None).expect("write");
        let first = std::fs::read_to_string(&path).expect("written");
        assert!(
            first.contains("failoverctl_role{role=\"passive\"} 1"),
            "{first}"
        );
        std::fs::remove_file(&path).expect("remove");
        e.update(&status(), None).expect("unchanged");
        assert!(!path.exists(), "an unchanged snapshot is not written again");
        // Bug: with the probe histograms in the text, the file was rewritten at every check.
        e.rendered = e.rendered.map(|(at, role)| (at - REFRESH, role));
        e.update(&status(), None).expect("unchanged after REFRESH");
        assert!(!path.exists(), "an unchanged text is not written again");
        let mut probed = status();
        probed.tally.probes(
            &cfg,
            &[crate::core::observe::ProbeResult {
                target: crate::core::observe::ProbeTarget {
                    device: cfg.channels[0].device.clone(),
                    source: None,
                    target: std::net::Ipv4Addr::new(192, 0, 2, 1).into(),
                },
                rtt: Some(Duration::from_micros(80)),
            }],
        );
        e.update(&probed, None).expect("within REFRESH");
        assert!(!path.exists(), "a probe's tally alone waits for REFRESH");
        let mut active = probed.clone();
        active.role = crate::core::action::Role::Active;
        e.update(&active, None).expect("new role");
        let now = std::fs::read_to_string(&path).expect("a new role is written at once");
        assert!(now.contains("failoverctl_role{role=\"active\"} 1"), "{now}");

        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut got = String::new();
        s.read_to_string(&mut got).expect("read");
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(
            got.ends_with(&now),
            "the listener serves the latest text: {got}"
        );
    }
}
