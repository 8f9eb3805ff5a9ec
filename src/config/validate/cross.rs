//! Checks across channels and across sections.

use super::{get, At, ChannelInfo, Validator};
use crate::config::diagnostic::Severity;
use crate::config::model::*;
use crate::config::raw::RawSection;
use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::value;

impl Validator {
    /// Checks across channels: devices, idents and addresses used twice; test hosts that are the
    /// pair's own addresses.
    pub(super) fn cross_channels(&mut self, infos: &[ChannelInfo<'_>]) {
        // One channel per device and family: an IPv4 and an IPv6 channel on one device are a
        // dual-stack interface, two of one family on one device are a mistake. A channel whose
        // addresses did not parse has no family and is compared with those like it.
        let mut devices: HashMap<(&str, Option<bool>), usize> = HashMap::new();
        let mut idents: HashMap<&str, usize> = HashMap::new();
        let mut addrs: HashMap<IpAddr, (String, &str, usize)> = HashMap::new();
        for c in infos {
            let at = At {
                section: "channel",
                ident: Some(&c.ident),
            };
            if let Some(d) = c.device {
                let family = c.activeip.or(c.passiveip).map(|a| a.0);
                let slot = (d.value.as_str(), family.map(|ip| ip.is_ipv4()));
                if let Some(first) = devices.insert(slot, d.line) {
                    devices.insert(slot, first);
                    let msg = match family {
                        Some(ip) => format!(
                            "device `{}` already used by the {} channel at line {first} (one channel per device and address family)",
                            d.value,
                            value::family(ip)
                        ),
                        None => format!(
                            "device `{}` already used by the channel at line {first}",
                            d.value
                        ),
                    };
                    self.error(d.line, at, Some("device"), msg);
                }
            }
            let (ident_line, ident_key) = match c.ident_entry {
                Some(e) => (e.line, "ident"),
                None => (c.device.map_or(c.header, |d| d.line), "device"),
            };
            if let Some(first) = idents.insert(&c.ident, ident_line) {
                idents.insert(&c.ident, first);
                // A device used twice is already reported; an ident defaulted from it adds nothing.
                if ident_key == "ident" {
                    let msg = format!(
                        "ident `{}` already used by the channel at line {first}",
                        c.ident
                    );
                    self.error(ident_line, at, Some("ident"), msg);
                }
            }
            for (slot, key) in [(c.activeip, "activeip"), (c.passiveip, "passiveip")] {
                let Some((ip, _, line)) = slot else { continue };
                match addrs.get(&ip) {
                    Some((ident, k, first)) if *ident != c.ident => {
                        let msg =
                            format!("{ip} is already the {k} of channel {ident} (line {first})");
                        self.error(line, at, Some(key), msg);
                    }
                    Some(_) => {} // activeip == passiveip in one channel: reported by channel_checks
                    None => {
                        addrs.insert(ip, (c.ident.clone(), key, line));
                    }
                }
            }
        }
        for c in infos {
            let at = At {
                section: "channel",
                ident: Some(&c.ident),
            };
            for &(t, l) in &c.testips {
                if let Some((ident, k, _)) = addrs.get(&t) {
                    let msg = format!(
                        "test host {t} is the pair's own address ({k} of channel {ident}): it always answers, or never"
                    );
                    self.warn(l, at, Some("testip"), msg);
                }
            }
        }
    }

    /// Checks between sections: the sync link against the channels, requirepeer against peerip.
    pub(super) fn cross_sections(
        &mut self,
        infos: &[ChannelInfo<'_>],
        send_raw: Option<&RawSection>,
        send: Option<&SendConfig>,
        policy_raw: Option<&RawSection>,
        policy: Option<&Policy>,
    ) {
        let at = At {
            section: "sendconfig",
            ident: None,
        };
        match (send_raw, send) {
            (None, _) => self.push(
                Severity::Warning,
                0,
                None,
                None,
                None,
                "no [sendconfig] section: the two nodes have no sync link".into(),
            ),
            (Some(raw), Some(send)) => {
                let device_line = get(raw, "device").map_or(raw.line, |e| e.line);
                if let Some(c) = infos
                    .iter()
                    .find(|c| c.device.is_some_and(|d| d.value == send.device))
                {
                    let msg = format!(
                        "sync device `{}` is also the device of channel {}: a failure of that channel also cuts the sync link",
                        send.device, c.ident
                    );
                    self.warn(device_line, at, Some("device"), msg);
                }
                if let Some(peer) = send.peerip {
                    let line = get(raw, "peerip").map_or(raw.line, |e| e.line);
                    for c in infos {
                        let own = [c.activeip.map(|a| a.0), c.passiveip.map(|p| p.0)];
                        if own.contains(&Some(peer)) {
                            let msg =
                                format!("peer address {peer} is an address of channel {}", c.ident);
                            self.error(line, at, Some("peerip"), msg);
                        }
                    }
                }
            }
            (Some(_), None) => {}
        }
        if let Some(p) = policy {
            // A [sendconfig] that failed to parse is reported already.
            let no_peer = send_raw.is_none() || send.is_some_and(|s| s.peerip.is_none());
            if p.requirepeer && no_peer {
                let msg = "requirepeer=yes but no [sendconfig] peerip: the peer's liveness cannot be checked over the sync link; set peerip";
                let explicit = policy_raw.and_then(|r| get(r, "requirepeer").or(get(r, "mode")));
                match (explicit, send_raw) {
                    (Some(e), _) => {
                        let at = At {
                            section: "policy",
                            ident: None,
                        };
                        self.warn(e.line, at, Some("requirepeer"), msg);
                    }
                    // requirepeer comes from the improved default: point at the missing key.
                    (None, Some(r)) => self.warn(r.line, at, Some("peerip"), msg),
                    (None, None) => {} // "no [sendconfig] section" says it already
                }
            }
            let keyless = send.is_some_and(|s| s.peerip.is_some() && s.peerlink.key.is_none());
            if p.requirepeer && keyless {
                if let Some(raw) = send_raw {
                    let line = get(raw, "peerip").map_or(raw.line, |e| e.line);
                    self.warn(
                        line,
                        at,
                        Some("key"),
                        "without a key the peer is only asked whether it is alive (ICMP), not whether it sees the test hosts; set key or keyfile on both nodes",
                    );
                }
            }
        }
    }
}
