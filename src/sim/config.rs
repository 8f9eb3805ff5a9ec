//! Ready-made configs for simulations and tests: the source document's own `failover.ini`, and the
//! peer's copy of a config.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Channel, Config, FailureAction, Network, Policy, PolicyMode, SendConfig};

/// The policy values of each mode (classic: the source document; improved: its stories fixed).
pub fn policy(mode: PolicyMode) -> Policy {
    // The mode's own defaults, but the source document's failure action in both modes (the stories
    // are told about reboots) and a slower announcement burst that keeps timelines readable.
    Policy {
        onfailure: FailureAction::Reboot,
        garpcount: 3,
        garpinterval: Duration::from_secs(1),
        historyfile: PathBuf::from("/nonexistent/failovers"),
        ..Policy::defaults(mode)
    }
}

/// The source document's config: one `[channel]` (eth1, activeip 192.168.10.50, passiveip .51,
/// testip .1, checkonlyidle yes) and `[network]` checktime 10, timeout 2, retries 3, fastdown yes.
pub fn document_config(mode: PolicyMode) -> Config {
    Config {
        source: PathBuf::from("failover.ini"),
        channels: vec![Channel {
            ident: "if-1".to_owned(),
            device: "eth1".to_owned(),
            activeip: Ipv4Addr::new(192, 168, 10, 50).into(),
            passiveip: Ipv4Addr::new(192, 168, 10, 51).into(),
            prefix: None,
            testips: vec![Ipv4Addr::new(192, 168, 10, 1).into()],
            checkonlyidle: true,
            probes: None,
            check: None,
            line: 1,
            lines: Default::default(),
        }],
        network: Network {
            checktime: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
            activeretries: 3,
            channelretries: 3,
            synctime: Duration::from_secs(5),
            fastdown: true,
            // The source document sends one request per check.
            probes: 1,
        },
        // A sync link with the peer protocol, so `requirepeer` (improved) asks the peer and pings it
        // exactly as the daemon does; the simulated world answers with facts only.
        sendconfig: Some(SendConfig {
            device: "eth0".to_owned(),
            peerip: Some(Ipv4Addr::new(203, 0, 113, 2).into()),
            peerlink: crate::config::PeerSettings {
                key: Some(crate::config::PeerKey::Inline(
                    crate::peer::Key::from_hex("73696d756c61746564206b6579000000")
                        .expect("a valid hex key"),
                )),
                ..Default::default()
            },
        }),
        policy: policy(mode),
        sendconfig_line: 0,
    }
}

/// `ip` with its last byte moved up by `step` (wrapping), in either family.
fn with_last_byte(ip: IpAddr, step: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mut o = a.octets();
            o[3] = o[3].wrapping_add(step);
            IpAddr::from(o)
        }
        IpAddr::V6(a) => {
            let mut o = a.octets();
            o[15] = o[15].wrapping_add(step);
            IpAddr::from(o)
        }
    }
}

/// The peer's copy of `config`: the same but its own passiveips ("in passive mode each server has its
/// own address on each of the interfaces; these addresses for the two servers do not match").
pub fn peer_config(config: &Config) -> Config {
    let mut peer = config.clone();
    for c in &mut peer.channels {
        let mut next = with_last_byte(c.passiveip, 1);
        if next == c.activeip {
            next = with_last_byte(next, 1);
        }
        c.passiveip = next;
    }
    peer
}
