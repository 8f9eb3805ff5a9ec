//! The single sections: `[network]`, `[sendconfig]`, `[policy]`, and their value parsers.

use super::defaults::*;
use super::{get, At, Validator};
use crate::config::diagnostic::Severity;
use crate::config::model::*;
use crate::config::raw::RawSection;
use crate::config::value;
use crate::config::{keys, limits};
use std::path::PathBuf;
use std::time::Duration;

impl Validator {
    pub(super) fn network(&mut self, s: Option<&RawSection>) -> Option<Network> {
        let at = At {
            section: "network",
            ident: None,
        };
        let mut ok = true;
        // (value, its line, whether it parsed): a value that failed to parse is reported once and
        // left out of the cross-check below, rather than compared as its default (a number the
        // file never had).
        let dur = |v: &mut Self,
                   key: &str,
                   range: limits::DurationRange,
                   default: Duration|
         -> (Duration, Option<usize>, bool) {
            let Some(e) = s.and_then(|s| get(s, key)) else {
                return (default, None, true);
            };
            match v.parse(at, e, |x| range.parse(x)) {
                Some(d) => (d, Some(e.line), true),
                None => (default, None, false),
            }
        };
        let (checktime, checktime_line, checktime_ok) =
            dur(self, "checktime", limits::CHECKTIME, DEFAULT_CHECKTIME);
        let (timeout, timeout_line, timeout_ok) =
            dur(self, "timeout", limits::TIMEOUT, DEFAULT_TIMEOUT);
        let (synctime, _, synctime_ok) = dur(self, "synctime", limits::SYNCTIME, DEFAULT_SYNCTIME);
        ok &= checktime_ok && timeout_ok && synctime_ok;
        let mut retries = |v: &mut Self, key: &str, default: u32| -> u32 {
            let Some(e) = s.and_then(|s| get(s, key)) else {
                return default;
            };
            match v.parse(at, e, |x| {
                limits::RETRIES.parse(x).map_err(|m| match x {
                    "0" => format!("{m} (zero retries would act on the first lost answer)"),
                    _ => m,
                })
            }) {
                Some(n) => n,
                None => {
                    ok = false;
                    default
                }
            }
        };
        let activeretries = retries(self, "activeretries", DEFAULT_ACTIVERETRIES);
        let channelretries = retries(self, "channelretries", DEFAULT_CHANNELRETRIES);
        let probes = match s.and_then(|s| get(s, "probes")) {
            None => DEFAULT_PROBES,
            Some(e) => self
                .parse(at, e, |x| limits::PROBES.parse(x))
                .unwrap_or_else(|| {
                    ok = false;
                    DEFAULT_PROBES
                }),
        };
        let fastdown = match s.and_then(|s| get(s, "fastdown")) {
            None => DEFAULT_FASTDOWN,
            Some(e) => self.parse(at, e, value::boolean).unwrap_or_else(|| {
                ok = false;
                DEFAULT_FASTDOWN
            }),
        };
        if checktime_ok
            && timeout_ok
            && timeout >= checktime
            && (timeout_line.is_some() || checktime_line.is_some())
        {
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
            probes,
        })
    }

    pub(super) fn sendconfig(&mut self, s: &RawSection) -> Option<SendConfig> {
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
            Some(e) => self.device_name(at, e).then(|| e.value.clone()),
        };
        let mut ok = true;
        let peerip = match get(s, "peerip") {
            None => None,
            Some(e) => {
                let p = self.parse(at, e, value::ip);
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

    pub(super) fn policy(&mut self, s: Option<&RawSection>) -> Option<Policy> {
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
        set!("arpcheck", p.arpcheck, parse_arpcheck);
        set!("requirepeer", p.requirepeer, value::boolean);
        set!("requirefit", p.requirefit, value::boolean);
        set!("maxfailovers", p.maxfailovers, |x| limits::MAXFAILOVERS
            .parse(x));
        set!("failoverwindow", p.failoverwindow, |x| {
            limits::FAILOVERWINDOW.parse(x)
        });
        set!("shutdowndelay", p.shutdowndelay, |x| limits::SHUTDOWNDELAY
            .parse(x));
        set!("garpcount", p.garpcount, |x| limits::GARPCOUNT.parse(x));
        set!("garpinterval", p.garpinterval, |x| limits::GARPINTERVAL
            .parse(x));
        set!("garprefresh", p.garprefresh, parse_refresh);
        set!("releasepassiveip", p.releasepassiveip, value::boolean);
        set!("releaseonstop", p.releaseonstop, value::boolean);
        set!("up", p.up, parse_hook);
        set!("down", p.down, parse_hook);
        set!("check", p.check, parse_hook);
        set!("statefile", p.statefile, parse_statefile);
        set!("historyfile", p.historyfile, parse_statefile);
        set!("priority", p.priority, parse_priority);
        set!(
            "metricsfile",
            p.metricsfile,
            crate::config::metrics::parse_metricsfile
        );
        set!(
            "metricslisten",
            p.metricslisten,
            crate::config::metrics::parse_metricslisten
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

fn parse_arpcheck(s: &str) -> Result<ArpCheck, String> {
    match s.to_ascii_lowercase().as_str() {
        "table" => Ok(ArpCheck::Table),
        "raw" => Ok(ArpCheck::Raw),
        _ => Err(format!("`{s}` is not table | raw")),
    }
}

/// `off` (or any zero: `0`, `0s`) turns the refresh off; anything else is a bounded duration.
fn parse_refresh(s: &str) -> Result<Option<Duration>, String> {
    if matches!(s.to_ascii_lowercase().as_str(), "off" | "no" | "none") {
        return Ok(None);
    }
    match value::duration(s) {
        Ok(d) if d.is_zero() => Ok(None),
        Ok(d) => limits::GARPREFRESH.check(d, s).map(Some),
        Err(m) => Err(format!("{m}; or `off`")),
    }
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
