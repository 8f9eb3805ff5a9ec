//! Raw INI to a validated [`Config`], collecting every problem of the file in one run.
//!
//! Order: unknown sections and keys, then each section's values, then the checks across channels and
//! sections. A value that fails to parse is reported once and left out of the cross-checks.
//! One file per concern: [`sections`] (`[network]`, `[sendconfig]`, `[policy]`), [`channel`], [`cross`]
//! (checks across channels and sections), [`defaults`].

use super::diagnostic::{Diagnostic, Severity};
use super::keys::{self, KEYS, SECTIONS};
use super::limits;
use super::model::*;
use super::raw::{RawEntry, RawFile, RawSection, SyntaxError};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

mod channel;
mod cross;
mod defaults;
mod sections;
#[cfg(test)]
mod tests;

use channel::{channel_ident, to_channel};
pub use defaults::*;

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
        broken: HashSet::new(),
    };
    // A section with a broken line may hold the "missing" key on that line: don't claim it is missing.
    // Sections come in line order: a binary search keeps this linear in the file's size.
    for e in syntax {
        let before = raw.sections.partition_point(|s| s.line < e.line);
        if let Some(s) = before.checked_sub(1).map(|i| &raw.sections[i]) {
            v.broken.insert(s.line);
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
    broken: HashSet<usize>,
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
    activeip: Option<(IpAddr, Option<u8>, usize)>,
    passiveip: Option<(IpAddr, Option<u8>, usize)>,
    testips: Vec<(IpAddr, usize)>,
    checkonlyidle: bool,
    probes: Option<u32>,
    check: Option<String>,
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
        // A quoted value can be as long as the file: keep every finding one readable line.
        use super::diagnostic::shorten_long_words as short;
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            section: at.map(|a| a.section.to_string()),
            ident: at.and_then(|a| a.ident.map(short)),
            key: key.map(short),
            message: short(&message),
            suggestion: suggestion.as_deref().map(short),
        });
    }

    fn error(&mut self, line: usize, at: At<'_>, key: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Error, line, Some(at), key, None, message.into());
    }

    fn warn(&mut self, line: usize, at: At<'_>, key: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Warning, line, Some(at), key, None, message.into());
    }

    /// A `device=` entry: empty, or a name Linux would refuse, is an error on its line; true when
    /// the name can be used.
    fn device_name(&mut self, at: At<'_>, e: &RawEntry) -> bool {
        let problem = if e.value.is_empty() {
            Some("empty value, expected an interface name".to_owned())
        } else {
            super::value::interface_name_problem(&e.value).map(|why| {
                format!(
                    "`{}` is not a valid interface name: {why}",
                    e.value.escape_debug()
                )
            })
        };
        match problem {
            Some(message) => {
                self.error(e.line, at, Some("device"), message);
                false
            }
            None => true,
        }
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
        let mut n_channel = 0;
        for s in &raw.sections {
            if s.name == "channel" {
                n_channel += 1;
            }
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
                Some(channel_ident(s, n_channel))
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
        if infos.len() > limits::MAX_CHANNELS {
            let line = sections
                .iter()
                .filter(|s| s.name == "channel")
                .nth(limits::MAX_CHANNELS)
                .map_or(0, |s| s.line);
            let msg = format!(
                "{} [channel] sections; at most {}",
                infos.len(),
                limits::MAX_CHANNELS
            );
            self.push(Severity::Error, line, None, None, None, msg);
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
            sendconfig_line: find("sendconfig")
                .and_then(|s| get(s, "device"))
                .map_or(0, |e| e.line),
        })
    }
}
