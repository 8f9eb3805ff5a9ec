//! One `[channel]`: its keys, and the checks within it (the address pair, the subnet, the test hosts).

use super::{get, At, ChannelInfo, Validator};
use crate::config::model::*;
use crate::config::raw::RawSection;
use crate::config::{limits, value};
use std::collections::HashSet;
use std::net::IpAddr;

impl Validator {
    pub(super) fn channel<'r>(
        &mut self,
        s: &'r RawSection,
        n: usize,
        policy: Option<&Policy>,
        peer_asked: bool,
    ) -> ChannelInfo<'r> {
        let ident = channel_ident(s, n);
        let at = At {
            section: "channel",
            ident: Some(&ident),
        };
        let mut info = ChannelInfo {
            ident: ident.clone(),
            header: s.line,
            device: None,
            ident_entry: get(s, "ident").filter(|e| !e.value.is_empty()),
            activeip: None,
            passiveip: None,
            testips: Vec::new(),
            checkonlyidle: false,
            probes: None,
            check: None,
        };
        for key in ["device", "activeip", "passiveip", "testip"] {
            if get(s, key).is_none() && !self.broken.contains(&s.line) {
                self.error(s.line, at, Some(key), "missing required key");
            }
        }
        if let Some(e) = get(s, "ident") {
            if e.value.is_empty() {
                self.error(e.line, at, Some("ident"), "empty value, expected a name");
            } else if e.value.len() > limits::MAX_IDENT_BYTES {
                // The peer protocol carries the ident; a longer one could never be asked about.
                let msg = format!(
                    "{} bytes long; at most {} (the peer protocol carries it)",
                    e.value.len(),
                    limits::MAX_IDENT_BYTES
                );
                self.error(e.line, at, Some("ident"), msg);
            } else if e.value.contains(char::is_control) {
                self.error(
                    e.line,
                    at,
                    Some("ident"),
                    "contains a control character (such as NUL); the ident names the channel in logs and on the wire",
                );
            }
        }
        if let Some(e) = get(s, "device") {
            if self.device_name(at, e) {
                info.device = Some(e);
            }
        }
        for key in ["activeip", "passiveip"] {
            if let Some(e) = get(s, key) {
                if let Some((ip, prefix)) = self.parse(at, e, value::ip_prefix) {
                    let slot = Some((ip, prefix, e.line));
                    if key == "activeip" {
                        info.activeip = slot;
                    } else {
                        info.passiveip = slot;
                    }
                }
            }
        }
        let mut testip_ok = true;
        for e in s.entries.iter().filter(|e| e.key == "testip") {
            let parts = value::list(&e.value);
            if parts.is_empty() {
                self.error(
                    e.line,
                    at,
                    Some("testip"),
                    "empty value, expected an IP address",
                );
                testip_ok = false;
            }
            for part in parts {
                match value::ip(part) {
                    Ok(ip) => info.testips.push((ip, e.line)),
                    Err(m) => {
                        self.error(e.line, at, Some("testip"), m);
                        testip_ok = false;
                    }
                }
            }
        }
        if info.testips.len() > limits::MAX_TESTIPS {
            let (_, line) = info.testips[limits::MAX_TESTIPS];
            let msg = format!(
                "{} test hosts; at most {} per channel (what one peer query carries)",
                info.testips.len(),
                limits::MAX_TESTIPS
            );
            self.error(line, at, Some("testip"), msg);
            testip_ok = false;
        }
        if let Some(e) = get(s, "checkonlyidle") {
            info.checkonlyidle = self.parse(at, e, value::boolean).unwrap_or(false);
        }
        if let Some(e) = get(s, "probes") {
            info.probes = self.parse(at, e, |x| limits::PROBES.parse(x));
        }
        // An empty value is no check, as for `[policy] check=`.
        info.check = get(s, "check")
            .filter(|e| !e.value.is_empty())
            .map(|e| e.value.clone());
        self.channel_checks(&info, at, testip_ok, policy, peer_asked);
        info
    }

    /// Checks within one channel: the pair of addresses, the subnet, the test hosts.
    fn channel_checks(
        &mut self,
        c: &ChannelInfo<'_>,
        at: At<'_>,
        testip_ok: bool,
        policy: Option<&Policy>,
        peer_asked: bool,
    ) {
        if let (Some((a, ap, _)), Some((p, pp, pl))) = (c.activeip, c.passiveip) {
            if a == p {
                self.error(
                    pl,
                    at,
                    Some("passiveip"),
                    format!("equal to activeip ({a}); the two must differ"),
                );
            }
            if let (Some(x), Some(y)) = (ap, pp) {
                if x != y && a.is_ipv4() == p.is_ipv4() {
                    self.error(
                        pl,
                        at,
                        Some("passiveip"),
                        format!("prefix /{y} differs from activeip's /{x}"),
                    );
                }
            }
        }
        // One family per channel: the checks, the takeover's announcements and the split-brain
        // look are per family, and a channel is one address moving between two nodes. Reported
        // once per stray address; the subnet check below skips those.
        let family = c.activeip.or(c.passiveip).map(|(ip, _, _)| ip.is_ipv4());
        let base_key = if c.activeip.is_some() {
            "activeip"
        } else {
            "passiveip"
        };
        let stray = |ip: IpAddr| family.is_some_and(|v4| ip.is_ipv4() != v4);
        let mut strays = Vec::new();
        if let (Some(_), Some((p, _, l))) = (c.activeip, c.passiveip) {
            strays.push((p, l, "passiveip"));
        }
        strays.extend(c.testips.iter().map(|&(t, l)| (t, l, "testip")));
        for (ip, line, key) in strays.into_iter().filter(|s| stray(s.0)) {
            let base = c.activeip.or(c.passiveip).map(|b| b.0).expect("a family");
            let msg = format!(
                "{ip} is an {} address but {base_key} {base} is {}: a channel's addresses are of one family (give the other family a [channel] of its own, on the same device if need be)",
                value::family(ip),
                value::family(base),
            );
            self.error(line, at, Some(key), msg);
        }
        if let Some((a, _, l)) = c.activeip {
            if value::is_link_local(a) {
                let msg = format!(
                    "{a} is link-local (fe80::/10): it is reachable only on this link and only with a zone index, and every interface has link-local addresses of its own; a gateway's activeip is normally a global or unique-local address"
                );
                self.warn(l, at, Some("activeip"), msg);
            }
        }
        // A node's address and a test host are one station: a multicast, broadcast, loopback or
        // unspecified address can never be either (and the kernel's table answers for a
        // multicast one by itself, so the passive's table check would always see an active).
        let mut own: Vec<(IpAddr, usize, &str)> = Vec::new();
        own.extend(c.activeip.map(|(a, _, l)| (a, l, "activeip")));
        own.extend(c.passiveip.map(|(p, _, l)| (p, l, "passiveip")));
        own.extend(c.testips.iter().map(|&(t, l)| (t, l, "testip")));
        for (ip, line, key) in own {
            if let Some(kind) = value::not_unicast(ip) {
                let msg = format!("{ip} is {kind}, not the address of one station");
                self.error(line, at, Some(key), msg);
            }
        }
        let prefix = c
            .activeip
            .and_then(|a| a.1)
            .or(c.passiveip.filter(|p| !stray(p.0)).and_then(|p| p.1));
        if let (Some(prefix), Some((base, _, _))) = (prefix, c.activeip.or(c.passiveip)) {
            let check = |v: &mut Self, ip: IpAddr, line: usize, key: &str, own: bool| {
                if stray(ip) {
                    // Of the other family: reported above.
                } else if !value::same_subnet(base, ip, prefix) {
                    let msg = format!("{ip} is outside the channel's subnet {base}/{prefix}");
                    v.error(line, at, Some(key), msg);
                } else if own && value::is_network_or_broadcast(ip, prefix) {
                    let msg = if ip.is_ipv4() {
                        format!("{ip} is the network or broadcast address of /{prefix}")
                    } else {
                        format!("{ip} is the subnet-router anycast address of /{prefix}")
                    };
                    v.error(line, at, Some(key), msg);
                }
            };
            if let Some((a, _, l)) = c.activeip {
                check(self, a, l, "activeip", true);
            }
            if let Some((p, _, l)) = c.passiveip {
                check(self, p, l, "passiveip", true);
            }
            for &(t, l) in &c.testips {
                check(self, t, l, "testip", false);
            }
        }
        let mut seen: HashSet<IpAddr> = HashSet::new();
        for &(t, l) in &c.testips {
            if !seen.insert(t) {
                self.warn(l, at, Some("testip"), format!("test host {t} listed twice"));
            }
        }
        // With the peer protocol the active asks the passive before acting: a single test host that
        // dies for both nodes no longer fails the pair over, so it is no single point of failure.
        if testip_ok && seen.len() == 1 && !peer_asked {
            let (t, l) = c.testips[0];
            let mut msg = format!(
                "only one test host ({t}): when it is down the channel counts as failed (the source document's single point of failure); add a second testip"
            );
            if policy.is_some_and(|p| p.testhosts == TestHosts::All) {
                msg.push_str(" and set testhosts=any");
            }
            self.warn(l, at, Some("testip"), msg);
        }
        if testip_ok && seen.len() > 1 && policy.is_some_and(|p| p.testhosts == TestHosts::All) {
            let l = c.testips[0].1;
            self.warn(
                l,
                at,
                Some("testip"),
                "several test hosts with testhosts=all: any one of them down fails the channel; testhosts=any tolerates it",
            );
        }
    }
}

/// The channel's name in messages: `ident=`, else `device=`, else `#N`.
pub(super) fn channel_ident(s: &RawSection, n: usize) -> String {
    get(s, "ident")
        .filter(|e| !e.value.is_empty())
        .or(get(s, "device").filter(|e| !e.value.is_empty()))
        .map_or_else(|| format!("#{n}"), |e| e.value.clone())
}

pub(super) fn to_channel(c: &ChannelInfo<'_>) -> Option<Channel> {
    let (activeip, ap, activeip_line) = c.activeip?;
    let (passiveip, pp, _) = c.passiveip?;
    if c.testips.is_empty() {
        return None;
    }
    Some(Channel {
        ident: c.ident.clone(),
        device: c.device?.value.clone(),
        activeip,
        passiveip,
        prefix: ap.or(pp),
        testips: c.testips.iter().map(|t| t.0).collect(),
        checkonlyidle: c.checkonlyidle,
        probes: c.probes,
        check: c.check.clone(),
        line: c.header,
        lines: crate::config::KeyLines {
            device: c.device?.line,
            activeip: activeip_line,
        },
    })
}
