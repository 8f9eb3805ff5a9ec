//! Raw INI to a validated [`Config`], collecting every problem of the file in one run.
//!
//! Order: unknown sections and keys, then each section's values, then the checks across channels and
//! sections. A value that fails to parse is reported once and left out of the cross-checks.

use super::diagnostic::{Diagnostic, Severity};
use super::keys::{self, KEYS, SECTIONS};
use super::model::*;
use super::raw::{RawEntry, RawFile, RawSection, SyntaxError};
use super::value;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The source document's example values, chosen as the defaults of `[network]` (the document gives
/// no defaults of its own).
pub const DEFAULT_CHECKTIME: Duration = Duration::from_secs(10);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_ACTIVERETRIES: u32 = 3;
pub const DEFAULT_CHANNELRETRIES: u32 = 3;
pub const DEFAULT_SYNCTIME: Duration = Duration::from_secs(5);
/// `fastdown=yes`, as in the document's example: releasing the addresses at once removes the
/// shutdown delay from the outage and keeps two nodes from answering for one address.
pub const DEFAULT_FASTDOWN: bool = true;
/// "Typically, the time from the start of a reboot to shutting down the interfaces does not exceed
/// 30 seconds" (source document).
pub const DEFAULT_SHUTDOWNDELAY: Duration = Duration::from_secs(30);
/// Where the daemon writes its state.
pub const DEFAULT_STATEFILE: &str = "/run/failoverctl/state.json";
/// On persistent storage: the failure-action history must survive the reboot it counts.
pub const DEFAULT_HISTORYFILE: &str = "/var/lib/failoverctl/failovers";

/// The display name of a source path in messages.
pub fn display_name(source: &Path) -> String {
    if source == Path::new("-") {
        "<stdin>".to_string()
    } else {
        source.display().to_string()
    }
}

/// Validates a raw file (and its syntax errors, already found) into a `Config` when there are no
/// errors, and returns every diagnostic, sorted by line.
pub fn validate(
    raw: &RawFile,
    syntax: &[SyntaxError],
    source: &Path,
) -> (Option<Config>, Vec<Diagnostic>) {
    let mut v = Validator {
        file: display_name(source),
        diags: Vec::new(),
        broken: Vec::new(),
    };
    // A section with a broken line may hold the "missing" key on that line: don't claim it is missing.
    for e in syntax {
        if let Some(s) = raw.sections.iter().rev().find(|s| s.line < e.line) {
            v.broken.push(s.line);
        }
    }
    for e in syntax {
        v.push(Severity::Error, e.line, None, None, None, e.message.clone());
    }
    let config = v.run(raw, source);
    let mut diags = v.diags;
    diags.sort_by_key(|d| d.line);
    let has_error = diags.iter().any(Diagnostic::is_error);
    (if has_error { None } else { config }, diags)
}

struct Validator {
    file: String,
    diags: Vec<Diagnostic>,
    /// Header lines of sections that contain a syntax error.
    broken: Vec<usize>,
}

/// Where a diagnostic points: a section (with the channel's ident) and a key.
#[derive(Clone, Copy)]
struct At<'a> {
    section: &'a str,
    ident: Option<&'a str>,
}

/// One `[channel]` as far as it parsed, with the lines of its keys for the cross-checks.
struct ChannelInfo<'a> {
    ident: String,
    header: usize,
    device: Option<&'a RawEntry>,
    ident_entry: Option<&'a RawEntry>,
    activeip: Option<(Ipv4Addr, Option<u8>, usize)>,
    passiveip: Option<(Ipv4Addr, Option<u8>, usize)>,
    testips: Vec<(Ipv4Addr, usize)>,
    checkonlyidle: bool,
}

/// The first entry of a key in a section.
fn get<'a>(s: &'a RawSection, key: &str) -> Option<&'a RawEntry> {
    s.entries.iter().find(|e| e.key == key)
}

impl Validator {
    fn push(
        &mut self,
        severity: Severity,
        line: usize,
        at: Option<At<'_>>,
        key: Option<&str>,
        suggestion: Option<String>,
        message: String,
    ) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            section: at.map(|a| a.section.to_string()),
            ident: at.and_then(|a| a.ident.map(str::to_string)),
            key: key.map(str::to_string),
            message,
            suggestion,
        });
    }

    fn error(&mut self, line: usize, at: At<'_>, key: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Error, line, Some(at), key, None, message.into());
    }

    fn warn(&mut self, line: usize, at: At<'_>, key: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Warning, line, Some(at), key, None, message.into());
    }

    /// Parses one entry with `parse`, reporting a failure at its line.
    fn parse<T>(
        &mut self,
        at: At<'_>,
        e: &RawEntry,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(&e.value) {
            Ok(v) => Some(v),
            Err(m) => {
                self.error(e.line, at, Some(&e.key), m);
                None
            }
        }
    }

    /// Reports unknown sections, repeated sections, unknown and repeated keys. Returns the sections
    /// worth reading further.
    fn structure<'r>(&mut self, raw: &'r RawFile) -> Vec<&'r RawSection> {
        let mut kept = Vec::new();
        let mut first_line: HashMap<&str, usize> = HashMap::new();
        for (n, s) in raw.sections.iter().enumerate() {
            if !SECTIONS.contains(&s.name.as_str()) {
                let suggestion = keys::suggest(&s.name, SECTIONS.iter().copied());
                self.push(
                    Severity::Error,
                    s.line,
                    Some(At {
                        section: &s.name,
                        ident: None,
                    }),
                    None,
                    suggestion.map(|x| format!("[{x}]")),
                    "unknown section".into(),
                );
                continue;
            }
            if s.name != "channel" {
                if let Some(first) = first_line.get(s.name.as_str()) {
                    let msg = format!("section repeated (first at line {first}); only one allowed");
                    let at = At {
                        section: &s.name,
                        ident: None,
                    };
                    self.error(s.line, at, None, msg);
                    continue;
                }
                first_line.insert(&s.name, s.line);
            }
            let ident = if s.name == "channel" {
                Some(channel_ident(s, n_channel(raw, n)))
            } else {
                None
            };
            let at = At {
                section: &s.name,
                ident: ident.as_deref(),
            };
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for e in &s.entries {
                match keys::find(&s.name, &e.key) {
                    None => {
                        let elsewhere = KEYS.iter().find(|k| k.key == e.key && k.section != s.name);
                        let (msg, sugg) = match elsewhere {
                            Some(k) => (
                                format!("unknown key here; it belongs in [{}]", k.section),
                                None,
                            ),
                            None => (
                                "unknown key".to_string(),
                                keys::suggest(
                                    &e.key,
                                    KEYS.iter().filter(|k| k.section == s.name).map(|k| k.key),
                                )
                                .map(str::to_string),
                            ),
                        };
                        self.push(Severity::Error, e.line, Some(at), Some(&e.key), sugg, msg);
                    }
                    Some(spec) if !spec.repeatable => {
                        if let Some(first) = seen.get(e.key.as_str()) {
                            let msg = format!("set twice (first at line {first})");
                            self.error(e.line, at, Some(&e.key), msg);
                        } else {
                            seen.insert(&e.key, e.line);
                        }
                    }
                    Some(_) => {}
                }
            }
            kept.push(s);
        }
        kept
    }

    fn run(&mut self, raw: &RawFile, source: &Path) -> Option<Config> {
        let sections = self.structure(raw);
        let find = |name: &str| sections.iter().copied().find(|s| s.name == name);

        let network = self.network(find("network"));
        // `Err`: the section's errors are reported already; the config is then left out.
        let sendconfig = match find("sendconfig").map(|s| self.sendconfig(s)) {
            None => Ok(None),
            Some(Some(send)) => Ok(Some(send)),
            Some(None) => Err(()),
        };
        let policy = self.policy(find("policy"));
        // With requirepeer and the peer protocol's key the active asks the passive before acting.
        let peer_asked = policy.as_ref().is_some_and(|p| p.requirepeer)
            && matches!(&sendconfig, Ok(Some(s)) if s.peerlink.key.is_some());

        let mut infos = Vec::new();
        let mut n = 0;
        for s in sections.iter().filter(|s| s.name == "channel") {
            n += 1;
            infos.push(self.channel(s, n, policy.as_ref(), peer_asked));
        }
        if infos.is_empty() {
            self.push(
                Severity::Error,
                0,
                None,
                None,
                None,
                "no [channel] section: at least one reserved interface is required".into(),
            );
        }
        self.cross_channels(&infos);
        self.cross_sections(
            &infos,
            find("sendconfig"),
            sendconfig.as_ref().ok().and_then(Option::as_ref),
            find("policy"),
            policy.as_ref(),
        );

        let channels: Option<Vec<Channel>> = infos.iter().map(to_channel).collect();
        Some(Config {
            source: source.to_path_buf(),
            channels: channels?,
            network: network?,
            sendconfig: sendconfig.ok()?,
            policy: policy?,
        })
    }

    fn network(&mut self, s: Option<&RawSection>) -> Option<Network> {
        let at = At {
            section: "network",
            ident: None,
        };
        let mut ok = true;
        let mut dur = |v: &mut Self, key: &str, default: Duration| -> (Duration, Option<usize>) {
            let Some(e) = s.and_then(|s| get(s, key)) else {
                return (default, None);
            };
            match v.parse(at, e, value::duration) {
                Some(d) if d.is_zero() => {
                    v.error(e.line, at, Some(key), "must be greater than zero");
                    ok = false;
                    (default, None)
                }
                Some(d) => (d, Some(e.line)),
                None => {
                    ok = false;
                    (default, None)
                }
            }
        };
        let (checktime, checktime_line) = dur(self, "checktime", DEFAULT_CHECKTIME);
        let (timeout, timeout_line) = dur(self, "timeout", DEFAULT_TIMEOUT);
        let (synctime, _) = dur(self, "synctime", DEFAULT_SYNCTIME);
        let mut retries = |v: &mut Self, key: &str, default: u32| -> u32 {
            let Some(e) = s.and_then(|s| get(s, key)) else {
                return default;
            };
            match v.parse(at, e, value::integer) {
                Some(0) => {
                    v.error(
                        e.line,
                        at,
                        Some(key),
                        "must be at least 1 (zero retries would act on the first lost answer)",
                    );
                    ok = false;
                    default
                }
                Some(n) => n,
                None => {
                    ok = false;
                    default
                }
            }
        };
        let activeretries = retries(self, "activeretries", DEFAULT_ACTIVERETRIES);
        let channelretries = retries(self, "channelretries", DEFAULT_CHANNELRETRIES);
        let fastdown = match s.and_then(|s| get(s, "fastdown")) {
            None => DEFAULT_FASTDOWN,
            Some(e) => self.parse(at, e, value::boolean).unwrap_or_else(|| {
                ok = false;
                DEFAULT_FASTDOWN
            }),
        };
        if timeout >= checktime && (timeout_line.is_some() || checktime_line.is_some()) {
            let (line, key) = match (timeout_line, checktime_line) {
                (Some(l), _) => (l, "timeout"),
                (None, Some(l)) => (l, "checktime"),
                (None, None) => unreachable!("guarded above"),
            };
            let msg = format!(
                "timeout ({}) must be shorter than checktime ({})",
                value::format_duration(timeout),
                value::format_duration(checktime)
            );
            self.error(line, at, Some(key), msg);
            ok = false;
        }
        ok.then_some(Network {
            checktime,
            timeout,
            activeretries,
            channelretries,
            synctime,
            fastdown,
        })
    }

    fn sendconfig(&mut self, s: &RawSection) -> Option<SendConfig> {
        let at = At {
            section: "sendconfig",
            ident: None,
        };
        let device = match get(s, "device") {
            None if self.broken.contains(&s.line) => None,
            None => {
                self.error(s.line, at, Some("device"), "missing required key");
                None
            }
            Some(e) if e.value.is_empty() => {
                self.error(
                    e.line,
                    at,
                    Some("device"),
                    "empty value, expected an interface name",
                );
                None
            }
            Some(e) => Some(e.value.clone()),
        };
        let mut ok = true;
        let peerip = match get(s, "peerip") {
            None => None,
            Some(e) => {
                let p = self.parse(at, e, value::ipv4);
                ok &= p.is_some();
                p
            }
        };
        let mut peerlink = PeerSettings::default();
        if let Some(e) = get(s, "port") {
            match self.parse(at, e, parse_port) {
                Some(port) => peerlink.port = port,
                None => ok = false,
            }
        }
        let key = get(s, "key").and_then(|e| {
            let k = self.parse(at, e, |v| {
                crate::peer::Key::from_hex(v).map_err(|err| err.to_string())
            });
            ok &= k.is_some();
            k.map(PeerKey::Inline)
        });
        let keyfile = get(s, "keyfile").and_then(|e| {
            let k = self.parse(at, e, parse_statefile);
            ok &= k.is_some();
            k.map(PeerKey::File)
        });
        if let (Some(k), Some(f)) = (get(s, "key"), get(s, "keyfile")) {
            let (later, first) = if k.line > f.line { (k, f) } else { (f, k) };
            let msg = format!(
                "key and keyfile are both set (the other at line {}); give the key one way",
                first.line
            );
            self.error(later.line, at, Some(&later.key), msg);
            ok = false;
        }
        peerlink.key = key.or(keyfile);
        if ok {
            device.map(|device| SendConfig {
                device,
                peerip,
                peerlink,
            })
        } else {
            None
        }
    }

    fn policy(&mut self, s: Option<&RawSection>) -> Option<Policy> {
        let at = At {
            section: "policy",
            ident: None,
        };
        let entry = |key: &str| s.and_then(|s| get(s, key));
        let mut ok = true;
        let mode = match entry("mode") {
            None => PolicyMode::Improved,
            Some(e) => match e.value.to_ascii_lowercase().as_str() {
                "classic" => PolicyMode::Classic,
                "improved" => PolicyMode::Improved,
                _ => {
                    let sugg = keys::suggest(&e.value, ["classic", "improved"]).map(str::to_string);
                    let msg = format!("`{}` is not a mode (classic | improved)", e.value);
                    self.push(Severity::Error, e.line, Some(at), Some("mode"), sugg, msg);
                    ok = false;
                    PolicyMode::Improved
                }
            },
        };
        let mut p = Policy::defaults(mode);
        macro_rules! set {
            ($key:literal, $field:expr, $parse:expr) => {
                if let Some(e) = entry($key) {
                    match self.parse(at, e, $parse) {
                        Some(v) => $field = v,
                        None => ok = false,
                    }
                }
            };
        }
        set!("onfailure", p.onfailure, parse_action);
        set!("testhosts", p.testhosts, parse_testhosts);
        set!("requirepeer", p.requirepeer, value::boolean);
        set!("maxfailovers", p.maxfailovers, value::integer);
        set!("failoverwindow", p.failoverwindow, value::duration);
        set!("shutdowndelay", p.shutdowndelay, value::duration);
        set!("garpcount", p.garpcount, value::integer);
        set!("garpinterval", p.garpinterval, value::duration);
        set!("garprefresh", p.garprefresh, parse_refresh);
        set!("releasepassiveip", p.releasepassiveip, value::boolean);
        set!("releaseonstop", p.releaseonstop, value::boolean);
        set!("up", p.up, parse_hook);
        set!("down", p.down, parse_hook);
        set!("statefile", p.statefile, parse_statefile);
        set!("historyfile", p.historyfile, parse_statefile);
        set!("priority", p.priority, parse_priority);
        set!(
            "metricsfile",
            p.metricsfile,
            super::metrics::parse_metricsfile
        );
        set!(
            "metricslisten",
            p.metricslisten,
            super::metrics::parse_metricslisten
        );
        if p.maxfailovers > 0 && p.failoverwindow.is_zero() {
            let line = entry("failoverwindow").map_or(0, |e| e.line);
            self.error(
                line,
                at,
                Some("failoverwindow"),
                "must be greater than zero when maxfailovers is set",
            );
            ok = false;
        }
        if p.garpcount == 0 {
            if let Some(e) = entry("garpcount") {
                self.warn(
                    e.line,
                    at,
                    Some("garpcount"),
                    "no gratuitous ARP after a takeover: neighbours keep the old MAC until their ARP entries expire",
                );
            }
        }
        ok.then_some(p)
    }

    fn channel<'r>(
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
        };
        for key in ["device", "activeip", "passiveip", "testip"] {
            if get(s, key).is_none() && !self.broken.contains(&s.line) {
                self.error(s.line, at, Some(key), "missing required key");
            }
        }
        if let Some(e) = get(s, "ident") {
            if e.value.is_empty() {
                self.error(e.line, at, Some("ident"), "empty value, expected a name");
            }
        }
        if let Some(e) = get(s, "device") {
            if e.value.is_empty() {
                self.error(
                    e.line,
                    at,
                    Some("device"),
                    "empty value, expected an interface name",
                );
            } else if e.value.len() > 15
                || e.value.contains('/')
                || e.value.contains(char::is_whitespace)
            {
                // IFNAMSIZ is 16 bytes with the terminating NUL.
                self.error(
                    e.line,
                    at,
                    Some("device"),
                    format!("`{}` is not a valid interface name", e.value),
                );
            } else {
                info.device = Some(e);
            }
        }
        for key in ["activeip", "passiveip"] {
            if let Some(e) = get(s, key) {
                if let Some((ip, prefix)) = self.parse(at, e, value::ipv4_prefix) {
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
                    "empty value, expected an IPv4 address",
                );
                testip_ok = false;
            }
            for part in parts {
                match value::ipv4(part) {
                    Ok(ip) => info.testips.push((ip, e.line)),
                    Err(m) => {
                        self.error(e.line, at, Some("testip"), m);
                        testip_ok = false;
                    }
                }
            }
        }
        if let Some(e) = get(s, "checkonlyidle") {
            info.checkonlyidle = self.parse(at, e, value::boolean).unwrap_or(false);
        }
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
                if x != y {
                    self.error(
                        pl,
                        at,
                        Some("passiveip"),
                        format!("prefix /{y} differs from activeip's /{x}"),
                    );
                }
            }
        }
        let prefix = c
            .activeip
            .and_then(|a| a.1)
            .or(c.passiveip.and_then(|p| p.1));
        if let (Some(prefix), Some((base, _, _))) = (prefix, c.activeip.or(c.passiveip)) {
            let check = |v: &mut Self, ip: Ipv4Addr, line: usize, key: &str, own: bool| {
                if !value::same_subnet(base, ip, prefix) {
                    let msg = format!("{ip} is outside the channel's subnet {base}/{prefix}");
                    v.error(line, at, Some(key), msg);
                } else if own && value::is_network_or_broadcast(ip, prefix) {
                    let msg = format!("{ip} is the network or broadcast address of /{prefix}");
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
        let mut seen: Vec<Ipv4Addr> = Vec::new();
        for &(t, l) in &c.testips {
            if seen.contains(&t) {
                self.warn(l, at, Some("testip"), format!("test host {t} listed twice"));
            }
            seen.push(t);
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

    /// Checks across channels: devices, idents and addresses used twice; test hosts that are the
    /// pair's own addresses.
    fn cross_channels(&mut self, infos: &[ChannelInfo<'_>]) {
        let mut devices: HashMap<&str, usize> = HashMap::new();
        let mut idents: HashMap<&str, usize> = HashMap::new();
        let mut addrs: HashMap<Ipv4Addr, (String, &str, usize)> = HashMap::new();
        for c in infos {
            let at = At {
                section: "channel",
                ident: Some(&c.ident),
            };
            if let Some(d) = c.device {
                if let Some(first) = devices.insert(&d.value, d.line) {
                    devices.insert(&d.value, first);
                    let msg = format!(
                        "device `{}` already used by the channel at line {first}",
                        d.value
                    );
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
    fn cross_sections(
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

/// How many `[channel]` sections come up to index `n` (1-based number of the channel at `n`).
fn n_channel(raw: &RawFile, n: usize) -> usize {
    raw.sections[..=n]
        .iter()
        .filter(|s| s.name == "channel")
        .count()
}

/// The channel's name in messages: `ident=`, else `device=`, else `#N`.
fn channel_ident(s: &RawSection, n: usize) -> String {
    get(s, "ident")
        .filter(|e| !e.value.is_empty())
        .or(get(s, "device").filter(|e| !e.value.is_empty()))
        .map_or_else(|| format!("#{n}"), |e| e.value.clone())
}

fn to_channel(c: &ChannelInfo<'_>) -> Option<Channel> {
    let (activeip, ap, _) = c.activeip?;
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
        line: c.header,
    })
}

fn parse_action(s: &str) -> Result<FailureAction, String> {
    match s.to_ascii_lowercase().as_str() {
        "reboot" => return Ok(FailureAction::Reboot),
        "demote" => return Ok(FailureAction::Demote),
        _ => {}
    }
    match s.split_once(':') {
        Some((kind, cmd)) if kind.eq_ignore_ascii_case("exec") => {
            let cmd = cmd.trim();
            if cmd.is_empty() {
                Err("`exec:` needs a command, as in `exec:/usr/local/sbin/on-failure`".into())
            } else {
                Ok(FailureAction::Exec(cmd.to_string()))
            }
        }
        _ => Err(format!(
            "`{s}` is not an action (reboot | demote | exec:COMMAND)"
        )),
    }
}

fn parse_testhosts(s: &str) -> Result<TestHosts, String> {
    match s.to_ascii_lowercase().as_str() {
        "any" => Ok(TestHosts::Any),
        "all" => Ok(TestHosts::All),
        _ => Err(format!("`{s}` is not any | all")),
    }
}

fn parse_refresh(s: &str) -> Result<Option<Duration>, String> {
    if matches!(s.to_ascii_lowercase().as_str(), "off" | "no" | "none" | "0") {
        return Ok(None);
    }
    value::duration(s)
        .map(Some)
        .map_err(|m| format!("{m}; or `off`"))
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{s}` is not a UDP port (1 to 65535)")),
        Ok(p) => Ok(p),
    }
}

fn parse_hook(s: &str) -> Result<Option<String>, String> {
    Ok((!s.is_empty()).then(|| s.to_string()))
}

/// The highest `priority=`: one value per start stagger slot.
pub const MAX_PRIORITY: u8 = 7;

fn parse_priority(s: &str) -> Result<Option<u8>, String> {
    let n = value::integer(s)?;
    u8::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_PRIORITY)
        .map(Some)
        .ok_or_else(|| {
            format!("priority {n} is out of range: 0 (takes over first) to {MAX_PRIORITY} (last)")
        })
}

fn parse_statefile(s: &str) -> Result<PathBuf, String> {
    if s.starts_with('/') {
        Ok(PathBuf::from(s))
    } else {
        Err(format!("`{s}` is not an absolute path"))
    }
}

impl Policy {
    /// The defaults of `mode`: classic reproduces the source document, improved fixes its stories.
    pub fn defaults(mode: PolicyMode) -> Policy {
        let classic = mode == PolicyMode::Classic;
        Policy {
            mode,
            onfailure: if classic {
                FailureAction::Reboot
            } else {
                FailureAction::Demote
            },
            testhosts: if classic {
                TestHosts::All
            } else {
                TestHosts::Any
            },
            requirepeer: !classic,
            maxfailovers: if classic { 0 } else { 3 },
            failoverwindow: Duration::from_secs(3600),
            shutdowndelay: DEFAULT_SHUTDOWNDELAY,
            // Five announcements over about a second: gear that misses one still learns the owner.
            garpcount: 5,
            garpinterval: Duration::from_millis(250),
            garprefresh: None,
            releasepassiveip: false,
            releaseonstop: true,
            up: None,
            down: None,
            statefile: PathBuf::from(DEFAULT_STATEFILE),
            historyfile: PathBuf::from(DEFAULT_HISTORYFILE),
            priority: None,
            metricsfile: None,
            metricslisten: None,
        }
    }
}

impl Default for Network {
    /// The source document's example values (see the `DEFAULT_*` constants).
    fn default() -> Self {
        Network {
            checktime: DEFAULT_CHECKTIME,
            timeout: DEFAULT_TIMEOUT,
            activeretries: DEFAULT_ACTIVERETRIES,
            channelretries: DEFAULT_CHANNELRETRIES,
            synctime: DEFAULT_SYNCTIME,
            fastdown: DEFAULT_FASTDOWN,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse_str, PeerKey, PolicyMode, TestHosts, DEFAULT_PEER_PORT};
    use std::path::{Path, PathBuf};

    const CHANNEL: &str = "[channel]\ndevice= eth1\nactiveip= 192.0.2.50\npassiveip= 192.0.2.51\n\
                           testip= 192.0.2.1, 192.0.2.2\n";

    #[test]
    fn timeout_check_points_at_the_key_that_was_set() {
        // checktime set below the default timeout (2 s): the finding is on checktime's line.
        let text = format!("{CHANNEL}[network]\nchecktime= 2\n");
        let err = parse_str(&text, Path::new("t.ini")).expect_err("invalid");
        let d = err
            .diagnostics()
            .iter()
            .find(|d| d.is_error())
            .expect("an error");
        assert_eq!((d.line, d.key.as_deref()), (7, Some("checktime")), "{err}");
    }

    #[test]
    fn mode_sets_defaults_and_keys_override() {
        let text = format!("{CHANNEL}[policy]\nmode= classic\ntesthosts= any\n");
        let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
        assert_eq!(config.policy.mode, PolicyMode::Classic);
        assert_eq!(config.policy.testhosts, TestHosts::Any);
        assert_eq!(config.policy.maxfailovers, 0);
        assert!(!config.policy.requirepeer);
    }

    const KEY: &str = "00112233445566778899aabbccddeeff";

    /// The config's errors and warnings as (line, key, message).
    fn findings(text: &str) -> Vec<(usize, Option<String>, String)> {
        let diags = match parse_str(text, Path::new("t.ini")) {
            Ok((_, warnings)) => warnings,
            Err(e) => e.diagnostics().to_vec(),
        };
        diags
            .into_iter()
            .map(|d| (d.line, d.key, d.message))
            .collect()
    }

    #[test]
    fn peer_port_and_key_parse_with_defaults() {
        let text =
            format!("{CHANNEL}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\nkey= {KEY}\n");
        let (config, warnings) = parse_str(&text, Path::new("t.ini")).expect("valid");
        assert_eq!(
            config
                .sendconfig
                .as_ref()
                .expect("a [sendconfig]")
                .peerlink
                .port,
            DEFAULT_PEER_PORT
        );
        let Some(PeerKey::Inline(key)) = &config
            .sendconfig
            .as_ref()
            .expect("a [sendconfig]")
            .peerlink
            .key
        else {
            panic!(
                "an inline key: {:?}",
                config.sendconfig.as_ref().expect("a [sendconfig]").peerlink
            )
        };
        assert_eq!(key, &crate::peer::Key::from_hex(KEY).expect("valid"));
        assert!(
            warnings.iter().all(|w| w.key.as_deref() != Some("key")),
            "{warnings:#?}"
        );
        assert!(
            !format!("{config:?}").contains(KEY),
            "Debug must not print the key"
        );

        let text = format!("{CHANNEL}[sendconfig]\ndevice= sync0\nport= 9000\nkeyfile= /etc/k\n");
        let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
        assert_eq!(
            config
                .sendconfig
                .as_ref()
                .expect("a [sendconfig]")
                .peerlink
                .port,
            9000
        );
        assert_eq!(
            config
                .sendconfig
                .as_ref()
                .expect("a [sendconfig]")
                .peerlink
                .key,
            Some(PeerKey::File(PathBuf::from("/etc/k")))
        );
    }

    #[test]
    fn bad_peer_keys_are_errors_at_their_lines() {
        let base = format!("{CHANNEL}[sendconfig]\ndevice= sync0\n");
        for (extra, key, needle) in [
            ("port= 0", "port", "not a UDP port"),
            ("port= 65536", "port", "not a UDP port"),
            ("key= 0011", "key", "at least 16 bytes"),
            (
                "key= zz112233445566778899aabbccddeeff",
                "key",
                "not hexadecimal",
            ),
            ("keyfile= peer.key", "keyfile", "not an absolute path"),
        ] {
            let f = findings(&format!("{base}{extra}\n"));
            assert!(
                f.iter()
                    .any(|(l, k, m)| *l == 8 && k.as_deref() == Some(key) && m.contains(needle)),
                "{extra}: {f:#?}"
            );
        }
        let f = findings(&format!("{base}key= {KEY}\nkeyfile= /etc/k\n"));
        assert!(
            f.iter().any(|(l, k, m)| *l == 9
                && k.as_deref() == Some("keyfile")
                && m.contains("both set (the other at line 8)")),
            "{f:#?}"
        );
    }

    #[test]
    fn requirepeer_with_peerip_but_no_key_warns() {
        let text = format!("{CHANNEL}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\n");
        let (_, warnings) = parse_str(&text, Path::new("t.ini")).expect("valid, with a warning");
        let w = warnings
            .iter()
            .find(|w| w.key.as_deref() == Some("key"))
            .unwrap_or_else(|| panic!("{warnings:#?}"));
        assert_eq!(w.line, 8, "at peerip");
        assert!(w.message.contains("only asked whether it is alive (ICMP)"));
        // Classic does not ask the peer at all: nothing to warn about.
        let classic = format!("{text}[policy]\nmode= classic\n");
        let (_, warnings) = parse_str(&classic, Path::new("t.ini")).expect("valid");
        assert!(
            warnings.iter().all(|w| w.key.as_deref() != Some("key")),
            "{warnings:#?}"
        );
    }

    #[test]
    fn a_single_test_host_is_no_single_point_of_failure_when_the_peer_is_asked() {
        let one = CHANNEL.replace(", 192.0.2.2", "");
        let single = |w: &[(usize, Option<String>, String)]| {
            w.iter()
                .any(|(_, k, m)| k.as_deref() == Some("testip") && m.contains("only one test host"))
        };
        let asked = format!("{one}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\nkey= {KEY}\n");
        assert!(!single(&findings(&asked)), "{:#?}", findings(&asked));
        // Without the key, or in classic mode (nobody asks), the warning stays.
        let keyless = format!("{one}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\n");
        assert!(single(&findings(&keyless)));
        let classic = format!("{asked}[policy]\nmode= classic\n");
        assert!(single(&findings(&classic)));
    }

    #[test]
    fn priority_is_0_to_7_and_out_of_range_names_the_range() {
        let (config, _) = parse_str(CHANNEL, Path::new("t.ini")).expect("valid");
        assert_eq!(config.policy.priority, None);
        let text = format!("{CHANNEL}[policy]\npriority= 7\n");
        let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
        assert_eq!(config.policy.priority, Some(7));
        for bad in ["8", "300", "-1"] {
            let text = format!("{CHANNEL}[policy]\npriority= {bad}\n");
            let err = parse_str(&text, Path::new("t.ini")).expect_err("invalid");
            let d = err
                .diagnostics()
                .iter()
                .find(|d| d.is_error())
                .expect("an error");
            assert_eq!((d.line, d.key.as_deref()), (7, Some("priority")), "{err}");
            if bad != "-1" {
                assert!(d.to_string().contains("out of range: 0"), "{d}");
            }
        }
    }

    #[test]
    fn errors_come_sorted_by_line() {
        let text = "[network]\ntimeout= x\n[channel]\ndevice= eth1\nactiveip= y\n";
        let err = parse_str(text, Path::new("t.ini")).expect_err("invalid");
        let lines: Vec<_> = err.diagnostics().iter().map(|d| d.line).collect();
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
        assert!(lines.contains(&2) && lines.contains(&5), "{err}");
    }
}
