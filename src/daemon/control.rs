//! The local control socket of a running daemon: a unix datagram socket beside the state file
//! (`<statefile>.ctl`, mode 0600, so only root talks to it), read from the event loop's poll set
//! and never waited on. `failoverctl handover` sends `handover <timeout ms>` from a socket of its
//! own and gets one JSON line back (`{"ok": bool, "message": "..."}`) when the core is done.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mio::net::UnixDatagram;

use crate::core::Input;

/// Longest request and reply datagram.
pub const MAX_CONTROL: usize = 1024;
/// Clients waiting at once; more are refused at once.
const MAX_CLIENTS: usize = 8;
/// The longest handover a client may ask for.
pub const MAX_HANDOVER_TIMEOUT: Duration = Duration::from_secs(60);

/// The control socket's path for a state file.
pub fn path_for(statefile: &Path) -> PathBuf {
    let mut p = statefile.as_os_str().to_owned();
    p.push(".ctl");
    PathBuf::from(p)
}

/// The reply to a client.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Reply {
    pub ok: bool,
    pub message: String,
}

pub struct Control {
    socket: UnixDatagram,
    path: PathBuf,
    next: u64,
    clients: BTreeMap<u64, PathBuf>,
}

impl Control {
    /// Binds `path` (a stale socket from an earlier run is replaced; the instance lock makes sure
    /// it is not a running daemon's) with mode 0600.
    pub fn bind(path: &Path) -> std::io::Result<Control> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_socket() {
                std::fs::remove_file(path)?;
            }
        }
        let socket = UnixDatagram::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Control {
            socket,
            path: path.to_path_buf(),
            next: 0,
            clients: BTreeMap::new(),
        })
    }

    pub fn socket(&mut self) -> &mut UnixDatagram {
        &mut self.socket
    }

    /// Reads every request waiting; a malformed one is answered at once with the reason.
    pub fn receive(&mut self) -> Vec<Input> {
        let mut inputs = Vec::new();
        let mut buf = [0u8; MAX_CONTROL];
        loop {
            let (n, from) = match self.socket.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            // A client without a path cannot be answered: dropped.
            let Some(client) = from.as_pathname().map(Path::to_path_buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            let mut words = text.split_whitespace();
            let request = match (words.next(), words.next().map(str::parse::<u64>)) {
                (Some("handover"), Some(Ok(ms))) if ms > 0 => Ok(Duration::from_millis(ms)),
                _ => Err(format!("unknown request `{}`", text.trim())),
            };
            match request {
                Ok(_) if self.clients.len() >= MAX_CLIENTS => {
                    self.send(&client, false, "too many requests waiting")
                }
                Ok(timeout) => {
                    self.next += 1;
                    self.clients.insert(self.next, client);
                    inputs.push(Input::HandoverRequest {
                        client: self.next,
                        timeout: timeout.min(MAX_HANDOVER_TIMEOUT),
                    });
                }
                Err(why) => self.send(&client, false, &why),
            }
        }
        inputs
    }

    /// Answers client `client` (once; an unknown client is ignored).
    pub fn answer(&mut self, client: u64, ok: bool, message: &str) {
        if let Some(path) = self.clients.remove(&client) {
            self.send(&path, ok, message);
        }
    }

    fn send(&self, to: &Path, ok: bool, message: &str) {
        let reply = Reply {
            ok,
            message: message.to_owned(),
        };
        let text = serde_json::to_string(&reply).expect("a reply serializes");
        // A client that gave up is gone: nothing to do.
        let _ = self.socket.send_to(text.as_bytes(), to);
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
