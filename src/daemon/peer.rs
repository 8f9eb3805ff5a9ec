//! The daemon's side of the peer protocol: the responder that answers the peer's "can you reach these
//! test hosts?" (with this node's role), and the link on which this node asks the same before acting
//! on a failure. Both need `[sendconfig] device`, `peerip` and a key; without them there is nothing
//! to start and the peer is only pinged.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::daemon::log::Log;
use crate::net::linux::peer::{sync_address, PeerLink, PeerResponder, ResponderParams};
use crate::net::linux::IcmpProber;
use crate::peer::Role;

/// The responder and the asking link of one run.
pub struct PeerSide {
    /// The asking link and the peer's address, handed to the shell.
    pub link: Option<(PeerLink, Ipv4Addr)>,
    responder: Option<PeerResponder>,
    active: Arc<AtomicBool>,
}

impl PeerSide {
    /// Nothing running (while a reload swaps the responder).
    pub fn off() -> PeerSide {
        PeerSide {
            link: None,
            responder: None,
            active: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts what `config` allows; failures are logged (the pair then falls back to pinging).
    pub fn start(config: &Config, log: &Log) -> PeerSide {
        let active = Arc::new(AtomicBool::new(false));
        let none = || PeerSide {
            link: None,
            responder: None,
            active: Arc::clone(&active),
        };
        let Some(send) = &config.sendconfig else {
            return none();
        };
        let Some(key) = &send.peerlink.key else {
            return none();
        };
        let Some(peer) = send.peerip else {
            return none();
        };
        let key = match key.load() {
            Ok(k) => k,
            Err(e) => {
                log.warn(&format!("peer protocol off: {e}"));
                return none();
            }
        };
        let node = match sync_address(&send.device, Some(peer)) {
            Ok(n) => n,
            Err(e) => {
                log.warn(&format!("peer protocol off: no sync address: {e}"));
                return none();
            }
        };
        let link = match PeerLink::open(&send.device, node, send.peerlink.port, key.clone()) {
            Ok(l) => Some((l, peer)),
            Err(e) => {
                log.warn(&format!("peer protocol: cannot ask the peer: {e}"));
                None
            }
        };
        let flag = Arc::clone(&active);
        let responder = ResponderParams::from_config(config, node).and_then(|params| {
            let role = Box::new(move || {
                if flag.load(Ordering::Relaxed) {
                    Role::Active
                } else {
                    Role::Passive
                }
            });
            match PeerResponder::spawn(params, key, Box::new(IcmpProber::new()), role) {
                Ok(r) => Some(r),
                Err(e) => {
                    log.warn(&format!("peer protocol: cannot answer the peer: {e}"));
                    None
                }
            }
        });
        if responder.is_some() {
            log.info(&format!(
                "peer protocol on {}: answering at {node}:{}, asking {peer}",
                send.device, send.peerlink.port
            ));
        }
        PeerSide {
            link,
            responder,
            active,
        }
    }

    /// Tells the responder this node's role, for its answers.
    pub fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Relaxed);
    }

    /// Logs what the responder did since the last call (answers, and what it dropped and why).
    pub fn log_events(&self, log: &Log) {
        if let Some(r) = &self.responder {
            for e in r.events() {
                log.info(&format!("peer: {e}"));
            }
        }
    }

    /// The responder's counters, for the metrics.
    pub fn counters(&self) -> Option<crate::net::linux::peer::ResponderStats> {
        self.responder.as_ref().map(|r| r.stats())
    }

    /// The responder's counters, for the state file.
    pub fn stats(&self) -> Option<serde_json::Value> {
        self.responder
            .as_ref()
            .map(|r| serde_json::to_value(r.stats()).expect("the counters serialize"))
    }
}
