//! The table of every section and key: kind, default, origin. It drives unknown-key detection, the
//! "did you mean" suggestions and the tests that keep the example config and the README complete.

/// Where a key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A key of the source document's `failover.ini`.
    SourceDocument,
    /// A failoverctl extension.
    Extension,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::SourceDocument => "source document",
            Origin::Extension => "extension",
        }
    }
}

/// One key of one section.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct KeySpec {
    pub section: &'static str,
    pub key: &'static str,
    /// The value's kind and unit.
    pub kind: &'static str,
    /// The default, or `required`.
    pub default: &'static str,
    pub origin: Origin,
    pub meaning: &'static str,
    /// May appear several times in one section (only `testip`).
    pub repeatable: bool,
}

/// The known sections; `[channel]` may repeat, the others may appear once.
pub const SECTIONS: &[&str] = &["channel", "network", "sendconfig", "policy"];

const fn k(
    section: &'static str,
    key: &'static str,
    kind: &'static str,
    default: &'static str,
    origin: Origin,
    meaning: &'static str,
) -> KeySpec {
    KeySpec {
        section,
        key,
        kind,
        default,
        origin,
        meaning,
        repeatable: false,
    }
}

use Origin::{Extension as X, SourceDocument as S};

/// Every key, in the order of the example config.
pub const KEYS: &[KeySpec] = &[
    k(
        "channel",
        "device",
        "interface name",
        "required",
        S,
        "the reserved interface",
    ),
    k(
        "channel",
        "activeip",
        "IPv4 or IPv6 address[/prefix]",
        "required",
        S,
        "the address the active node owns on this channel; `/prefix` and IPv6 are extensions. A channel's addresses are all of one family; for a dual-stack interface give each family a channel of its own (same device). A link-local IPv6 activeip (fe80::/10) is warned about",
    ),
    k(
        "channel",
        "passiveip",
        "IPv4 or IPv6 address[/prefix]",
        "required",
        S,
        "this node's own address on this channel while passive (the family of activeip)",
    ),
    KeySpec {
        repeatable: true,
        ..k(
            "channel",
            "testip",
            "IPv4 or IPv6 address(es)",
            "required",
            S,
            "a test host (the nearest router), of the channel's family; repeat the key or list several (extension)",
        )
    },
    k(
        "channel",
        "ident",
        "name",
        "the device name",
        S,
        "the channel's name in messages",
    ),
    k(
        "channel",
        "checkonlyidle",
        "boolean",
        "no",
        S,
        "probe the test hosts only after an interval without traffic",
    ),
    k(
        "channel",
        "probes",
        "integer",
        "[network] probes",
        X,
        "this channel's echo requests per test host in one check (overrides `[network] probes`)",
    ),
    k(
        "channel",
        "check",
        "shell command",
        "none",
        X,
        "this channel's service check: run every checktime on the active (with this channel's hook environment), killed after checktime; channelretries failures in a row are this channel's failure, handled by the failure policy with this channel's test hosts",
    ),
    k(
        "network",
        "checktime",
        "duration (s)",
        "10",
        S,
        "the main loop period",
    ),
    k(
        "network",
        "timeout",
        "duration (s)",
        "2",
        S,
        "how long to wait for an answer; below checktime",
    ),
    k(
        "network",
        "activeretries",
        "integer",
        "3",
        S,
        "the passive's failed rounds before it takes over",
    ),
    k(
        "network",
        "channelretries",
        "integer",
        "3",
        S,
        "the active's failed rounds on one channel before its failure action",
    ),
    k(
        "network",
        "synctime",
        "duration (s)",
        "5",
        S,
        "the period of the heartbeats on the sync link (with `peerip` and the peer key): role, fitness, channel health and epoch; a missing heartbeat is evidence only, the ARP checks still decide. While the peer's heartbeat says passive, the active's broadcast look for a rival also runs once per synctime. Configs are not synchronised",
    ),
    k(
        "network",
        "probes",
        "integer",
        "3",
        X,
        "requests per test host (the active) and per activeip (the passive) in one check, spread evenly within `timeout`; any answer counts, so a check fails only when all are lost",
    ),
    k(
        "network",
        "fastdown",
        "boolean",
        "yes",
        S,
        "release the addresses at once on failure, before the reboot or demotion",
    ),
    k(
        "sendconfig",
        "device",
        "interface name",
        "required",
        S,
        "the sync link between the two nodes",
    ),
    k(
        "sendconfig",
        "peerip",
        "IPv4 or IPv6 address",
        "none",
        X,
        "the peer's address on the sync link, to ask whether the peer is alive",
    ),
    k(
        "sendconfig",
        "port",
        "UDP port (1-65535)",
        "7411",
        X,
        "the UDP port of the peer protocol on the sync link (the same on both nodes)",
    ),
    k(
        "sendconfig",
        "key",
        "hex, at least 32 characters",
        "none",
        X,
        "the shared key authenticating peer messages (HMAC-SHA256); with it the active asks the peer whether it sees the test hosts before acting on a failure",
    ),
    k(
        "sendconfig",
        "keyfile",
        "absolute path",
        "none",
        X,
        "a file holding that hex key, instead of `key` (not both)",
    ),
    k(
        "policy",
        "mode",
        "classic | improved",
        "improved",
        X,
        "sets the defaults of the keys below",
    ),
    k(
        "policy",
        "onfailure",
        "reboot | demote | exec:COMMAND",
        "classic: reboot, improved: demote",
        X,
        "what the active does when a channel fails",
    ),
    k(
        "policy",
        "testhosts",
        "any | all",
        "classic: all, improved: any",
        X,
        "a channel is healthy when any (or all) of its test hosts answer",
    ),
    k(
        "policy",
        "arpcheck",
        "table | raw",
        "classic: table, improved: raw",
        X,
        "how the passive asks for each activeip: the document's table method, or its own ARP request polling the active's MAC",
    ),
    k(
        "policy",
        "requirepeer",
        "boolean",
        "classic: no, improved: yes",
        X,
        "act on a failure only while the peer is alive",
    ),
    k(
        "policy",
        "requirefit",
        "boolean",
        "classic: no, improved: yes",
        X,
        "take over only with carrier and answering test hosts; never hold the addresses unfit",
    ),
    k(
        "policy",
        "maxfailovers",
        "integer (0: unlimited)",
        "classic: 0, improved: 3",
        X,
        "failure actions allowed within failoverwindow, then hold",
    ),
    k(
        "policy",
        "failoverwindow",
        "duration",
        "1h",
        X,
        "the window of maxfailovers",
    ),
    k(
        "policy",
        "shutdowndelay",
        "duration",
        "30s",
        X,
        "time from reboot start to interfaces down (the document's 30 seconds)",
    ),
    k(
        "policy",
        "garpcount",
        "integer",
        "5",
        X,
        "gratuitous ARPs (request and reply form) after a takeover",
    ),
    k(
        "policy",
        "garpinterval",
        "duration",
        "250ms",
        X,
        "spacing of those gratuitous ARPs",
    ),
    k(
        "policy",
        "garprefresh",
        "duration | off",
        "off",
        X,
        "resend gratuitous ARPs this often while active",
    ),
    k(
        "policy",
        "releasepassiveip",
        "boolean",
        "no",
        X,
        "drop the passiveip when taking over",
    ),
    k(
        "policy",
        "releaseonstop",
        "boolean",
        "yes",
        X,
        "release the activeips on SIGTERM/SIGINT",
    ),
    k(
        "policy",
        "up",
        "shell command",
        "none",
        X,
        "run after a takeover, once per channel",
    ),
    k(
        "policy",
        "down",
        "shell command",
        "none",
        X,
        "run after releasing, once per channel",
    ),
    k(
        "policy",
        "check",
        "shell command",
        "none",
        X,
        "the service check (like keepalived's track_script): run every checktime on the active, killed after checktime; channelretries failures in a row (non-zero exit, hung, missing) are a failure of the node",
    ),
    k(
        "policy",
        "statefile",
        "absolute path",
        "/run/failoverctl/state.json",
        X,
        "where the daemon writes its state for `failoverctl status`",
    ),
    k(
        "policy",
        "historyfile",
        "absolute path",
        "/var/lib/failoverctl/failovers",
        X,
        "where the times of failure actions are kept across reboots (for `maxfailovers`); on persistent storage",
    ),
    k(
        "policy",
        "priority",
        "integer 0..7",
        "the first passiveip's last octet mod 8",
        X,
        "start-up order when both nodes start at once: the lower takes over first; give it to the node that should be active",
    ),
    k(
        "policy",
        "metricsfile",
        "absolute path ending in .prom",
        "none",
        X,
        "write Prometheus metrics here when they change, for the node exporter's textfile collector",
    ),
    k(
        "policy",
        "metricslisten",
        "IP:port",
        "none",
        X,
        "serve the same metrics over HTTP on this local address",
    ),
];

/// The spec of `section`/`key`, if known.
pub fn find(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.section == section && k.key == key)
}

/// The closest known name to `input` among `candidates`, if close enough to be a likely typo.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&lower, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) || lower == *c)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance (insert, delete, substitute), on chars.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let channel = KEYS
            .iter()
            .filter(|k| k.section == "channel")
            .map(|k| k.key);
        assert_eq!(suggest("tesip", channel.clone()), Some("testip"));
        assert_eq!(suggest("ActiveIP", channel.clone()), Some("activeip"));
        assert_eq!(suggest("zzz", channel), None);
        assert_eq!(suggest("chanel", SECTIONS.iter().copied()), Some("channel"));
    }

    #[test]
    fn every_section_has_keys_and_keys_are_unique() {
        for s in SECTIONS {
            assert!(KEYS.iter().any(|k| k.section == *s), "{s}");
        }
        for (i, a) in KEYS.iter().enumerate() {
            assert!(SECTIONS.contains(&a.section), "{}", a.section);
            for b in &KEYS[i + 1..] {
                assert!(!(a.section == b.section && a.key == b.key), "{}", a.key);
            }
        }
    }
}
