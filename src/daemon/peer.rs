//! The daemon's side of the peer protocol: the responder that answers the peer's "can you reach these
//! test hosts?" (with this node's role), and the link on which this node asks the same. Both need
//! `[sendconfig] device`, `peerip` and a key; without them there is nothing to open and the core only
//! pings the peer. Both sockets go into the event loop's poll set ([`super::shell::Shell::set_peer`]).

use std::net::IpAddr;

use crate::config::Config;
use crate::daemon::log::Log;
use crate::net::linux::peer::{sync_address, PeerLink, Responder, ResponderParams};

/// The asking link (with the peer's address) and the responder of `config`; failures are logged
/// (the pair then falls back to pinging).
pub fn open(config: &Config, log: &Log) -> (Option<(PeerLink, IpAddr)>, Option<Responder>) {
    let Some(send) = &config.sendconfig else {
        return (None, None);
    };
    let (Some(key), Some(peer)) = (&send.peerlink.key, send.peerip) else {
        return (None, None);
    };
    let key = match key.load() {
        Ok(k) => k,
        Err(e) => {
            log.warn(&format!("peer protocol off: {e}"));
            return (None, None);
        }
    };
    let node = match sync_address(&send.device, Some(peer)) {
        Ok(n) => n,
        Err(e) => {
            log.warn(&format!("peer protocol off: no sync address: {e}"));
            return (None, None);
        }
    };
    let link = match PeerLink::open(&send.device, node, send.peerlink.port, key.clone()) {
        Ok(l) => Some((l, peer)),
        Err(e) => {
            log.warn(&format!("peer protocol: cannot ask the peer: {e}"));
            None
        }
    };
    let responder = ResponderParams::from_config(config, node).and_then(|params| {
        match Responder::bind(params, key) {
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
    (link, responder)
}
