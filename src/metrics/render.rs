//! The Prometheus text exposition format (version 0.0.4) of one status snapshot: pure, no clock, no
//! I/O. The daemon hands it the core's [`Status`] (the same snapshot the state file is written from)
//! and the peer responder's counters.

use std::fmt::Write;
use std::time::Duration;

use crate::core::action::Role;
use crate::core::tally::RTT_BUCKETS_US;
use crate::core::{Instant, Status};
use crate::net::linux::peer::ResponderStats;

/// What one rendering needs besides the status.
#[derive(Debug, Clone, Default)]
pub struct Extra<'a> {
    /// The peer protocol responder's counters, when it runs.
    pub peer: Option<&'a ResponderStats>,
    /// Time since the peer's last heartbeat over the sync link (`None`: none received yet, and
    /// the metric is absent).
    pub heartbeat_age: Option<Duration>,
}

/// Every metric name, for the docs and the test that keeps them listed.
pub const METRICS: &[(&str, &str, &str)] = &[
    ("failoverctl_role", "gauge", "1 for the node's current role (label role: passive, active, failed, stopped), 0 for the others"),
    ("failoverctl_role_since_timestamp_seconds", "gauge", "when the node entered its role (Unix time)"),
    ("failoverctl_holding", "gauge", "1 while a failure action is held (requirepeer, maxfailovers), else 0"),
    ("failoverctl_channel_failures", "gauge", "the active's failed rounds in a row on a channel (labels channel, device); 0 series while passive"),
    ("failoverctl_channel_failure_limit", "gauge", "channelretries, the failures that trigger the failure action"),
    ("failoverctl_channel_last_success_timestamp_seconds", "gauge", "last time traffic or an answer showed the channel healthy (absent until then)"),
    ("failoverctl_passive_failures", "gauge", "the passive's unanswered ARP checks in a row (absent while active)"),
    ("failoverctl_passive_active_last_seen_timestamp_seconds", "gauge", "last time the active answered the passive's ARP check"),
    ("failoverctl_failovers_recorded", "gauge", "failure-action times in the history (historyfile plus this run), what maxfailovers counts"),
    ("failoverctl_takeovers_total", "counter", "takeovers since start, by reason (active_gone, active_silent, active_unhealthy, resumed, run_active)"),
    ("failoverctl_failure_actions_total", "counter", "failure actions since start, by channel and action (reboot, demote, exec)"),
    ("failoverctl_holds_total", "counter", "failure actions held since start, by reason (peer_down, peer_cannot_reach, limit_reached)"),
    ("failoverctl_probe_rtt_seconds", "histogram", "round-trip time of the active's ICMP probes to a channel's test hosts"),
    ("failoverctl_probes_lost_total", "counter", "probes without a reply within timeout, by channel"),
    ("failoverctl_peer_received_total", "counter", "peer protocol datagrams received"),
    ("failoverctl_peer_accepted_total", "counter", "authentic, fresh, well-formed datagrams: the only ones acted on"),
    ("failoverctl_peer_malformed_total", "counter", "datagrams dropped as malformed (not a peer message, cut short, too long, another version)"),
    ("failoverctl_peer_forged_total", "counter", "datagrams dropped as forged (another key, or a tag that does not verify)"),
    ("failoverctl_peer_replayed_total", "counter", "authentic datagrams dropped as not newer than the last one (replays)"),
    ("failoverctl_peer_rate_limited_total", "counter", "authentic queries over 20 per second, not answered"),
    ("failoverctl_peer_answered_total", "counter", "queries probed and answered"),
    ("failoverctl_peer_kernel_dropped_total", "counter", "datagrams the kernel dropped before the responder read them (a full receive queue, as under a flood, or a bad checksum)"),
    ("failoverctl_peer_heartbeat_age_seconds", "gauge", "time since the peer's last heartbeat over the sync link, whole seconds; absent: none received yet (no peer protocol, or the peer never sent one)"),
];

fn seconds(t: Instant) -> f64 {
    t.as_millis() as f64 / 1000.0
}

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out {
    text: String,
}

impl Out {
    /// `# HELP` and `# TYPE` lines, from [`METRICS`].
    fn head(&mut self, name: &str) {
        let (_, kind, help) = METRICS
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("every rendered metric is listed in METRICS");
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            let _ = write!(self.text, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// Renders the snapshot. Series are in a fixed order, so equal snapshots render equal text (the
/// daemon writes the file only when the text changed).
pub fn render(status: &Status, extra: &Extra) -> String {
    let mut o = Out {
        text: String::new(),
    };
    o.head("failoverctl_role");
    for role in [Role::Passive, Role::Active, Role::Failed, Role::Stopped] {
        let name = role.to_string();
        o.sample(
            "failoverctl_role",
            &[("role", &name)],
            u8::from(status.role == role),
        );
    }
    o.head("failoverctl_role_since_timestamp_seconds");
    o.sample(
        "failoverctl_role_since_timestamp_seconds",
        &[],
        seconds(status.since),
    );
    o.head("failoverctl_holding");
    o.sample(
        "failoverctl_holding",
        &[],
        u8::from(status.holding.is_some()),
    );

    if !status.channels.is_empty() {
        for name in [
            "failoverctl_channel_failures",
            "failoverctl_channel_failure_limit",
            "failoverctl_channel_last_success_timestamp_seconds",
        ] {
            o.head(name);
            for c in &status.channels {
                let labels = [("channel", c.ident.as_str()), ("device", c.device.as_str())];
                match name {
                    "failoverctl_channel_failures" => o.sample(name, &labels, c.failures),
                    "failoverctl_channel_failure_limit" => o.sample(name, &labels, c.limit),
                    _ => {
                        if let Some(t) = c.last_ok_at {
                            o.sample(name, &labels, seconds(t));
                        }
                    }
                }
            }
        }
    }
    if let Some(p) = &status.passive {
        o.head("failoverctl_passive_failures");
        o.sample("failoverctl_passive_failures", &[], p.failures);
        if let Some(t) = p.last_seen_at {
            o.head("failoverctl_passive_active_last_seen_timestamp_seconds");
            o.sample(
                "failoverctl_passive_active_last_seen_timestamp_seconds",
                &[],
                seconds(t),
            );
        }
    }
    o.head("failoverctl_failovers_recorded");
    o.sample(
        "failoverctl_failovers_recorded",
        &[],
        status.failovers.len(),
    );

    let t = &status.tally;
    o.head("failoverctl_takeovers_total");
    for (reason, n) in &t.takeovers {
        o.sample("failoverctl_takeovers_total", &[("reason", reason)], n);
    }
    o.head("failoverctl_failure_actions_total");
    for (channel, actions) in &t.failure_actions {
        for (action, n) in actions {
            o.sample(
                "failoverctl_failure_actions_total",
                &[("channel", channel), ("action", action)],
                n,
            );
        }
    }
    o.head("failoverctl_holds_total");
    for (reason, n) in &t.holds {
        o.sample("failoverctl_holds_total", &[("reason", reason)], n);
    }
    o.head("failoverctl_probe_rtt_seconds");
    for (channel, p) in &t.probes {
        let h = &p.rtt;
        for (i, bound) in RTT_BUCKETS_US.iter().enumerate() {
            let le = format!("{}", *bound as f64 / 1e6);
            let n = h.buckets.get(i).copied().unwrap_or(0);
            o.sample(
                "failoverctl_probe_rtt_seconds_bucket",
                &[("channel", channel), ("le", &le)],
                n,
            );
        }
        let labels = [("channel", channel.as_str())];
        o.sample(
            "failoverctl_probe_rtt_seconds_bucket",
            &[("channel", channel), ("le", "+Inf")],
            h.count,
        );
        o.sample(
            "failoverctl_probe_rtt_seconds_sum",
            &labels,
            h.sum_us as f64 / 1e6,
        );
        o.sample("failoverctl_probe_rtt_seconds_count", &labels, h.count);
    }
    o.head("failoverctl_probes_lost_total");
    for (channel, p) in &t.probes {
        o.sample(
            "failoverctl_probes_lost_total",
            &[("channel", channel)],
            p.lost,
        );
    }

    if let Some(s) = extra.peer {
        let d = &s.datagrams;
        for (name, n) in [
            ("failoverctl_peer_received_total", d.received),
            ("failoverctl_peer_accepted_total", d.accepted),
            ("failoverctl_peer_malformed_total", d.malformed),
            ("failoverctl_peer_forged_total", d.forged),
            ("failoverctl_peer_replayed_total", d.replayed),
            ("failoverctl_peer_rate_limited_total", s.rate_limited),
            ("failoverctl_peer_answered_total", s.answered),
            ("failoverctl_peer_kernel_dropped_total", s.kernel_dropped),
        ] {
            o.head(name);
            o.sample(name, &[], n);
        }
    }
    if let Some(age) = extra.heartbeat_age {
        o.head("failoverctl_peer_heartbeat_age_seconds");
        o.sample(
            "failoverctl_peer_heartbeat_age_seconds",
            &[],
            age.as_secs_f64(),
        );
    }
    o.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::Input;
    use crate::core::Node;
    use crate::net::{ProbeResult, ProbeTarget};

    fn status_after_takeover() -> Status {
        let mut cfg = crate::sim::document_config(crate::config::PolicyMode::Improved);
        for c in &mut cfg.channels {
            c.checkonlyidle = false;
        }
        let mut node = Node::resume_active(&cfg, Instant::from_millis(1_000), vec![]);
        // Answer the first probe round: one reply in 3 ms, the rest lost.
        let mut probed = false;
        while let Some(a) = node.poll_action() {
            if let crate::core::Action::Probe { id, targets, .. } = a {
                let results = targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| ProbeResult {
                        target: ProbeTarget { ..t.clone() },
                        rtt: (i == 0).then_some(Duration::from_millis(3)),
                    })
                    .collect();
                node.handle(
                    Instant::from_millis(1_010),
                    Input::ProbeDone { id, results },
                );
                probed = true;
                break;
            }
        }
        assert!(probed, "the active probes at once");
        node.status()
    }

    #[test]
    fn renders_role_channels_takeovers_and_the_rtt_histogram() {
        let status = status_after_takeover();
        let text = render(&status, &Extra::default());
        assert!(
            text.contains("failoverctl_role{role=\"active\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("failoverctl_role{role=\"passive\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("failoverctl_takeovers_total{reason=\"resumed\"} 1\n"));
        assert!(text.contains("failoverctl_role_since_timestamp_seconds 1\n"));
        let channel = &status.channels[0].ident;
        assert!(text.contains(&format!(
            "failoverctl_probe_rtt_seconds_bucket{{channel=\"{channel}\",le=\"0.0025\"}} 0\n"
        )));
        assert!(text.contains(&format!(
            "failoverctl_probe_rtt_seconds_bucket{{channel=\"{channel}\",le=\"0.005\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "failoverctl_probe_rtt_seconds_sum{{channel=\"{channel}\"}} 0.003\n"
        )));
        assert!(text.contains("failoverctl_channel_failures{channel="));
        // Without peer counters and heartbeats, those series are absent rather than zero.
        assert!(!text.contains("failoverctl_peer_"), "{text}");
    }

    #[test]
    fn peer_counters_and_heartbeat_age_render_when_given() {
        let status = status_after_takeover();
        let mut stats = ResponderStats::default();
        stats.datagrams.received = 7;
        stats.datagrams.forged = 2;
        stats.datagrams.replayed = 1;
        stats.datagrams.malformed = 3;
        stats.rate_limited = 4;
        stats.kernel_dropped = 5;
        let text = render(
            &status,
            &Extra {
                peer: Some(&stats),
                heartbeat_age: Some(Duration::from_millis(1500)),
            },
        );
        for line in [
            "failoverctl_peer_received_total 7\n",
            "failoverctl_peer_forged_total 2\n",
            "failoverctl_peer_replayed_total 1\n",
            "failoverctl_peer_malformed_total 3\n",
            "failoverctl_peer_rate_limited_total 4\n",
            "failoverctl_peer_kernel_dropped_total 5\n",
            "failoverctl_peer_heartbeat_age_seconds 1.5\n",
        ] {
            assert!(text.contains(line), "{line} missing in {text}");
        }
    }

    #[test]
    fn every_sample_has_help_and_type_and_parses_as_exposition_format() {
        let status = status_after_takeover();
        let text = render(&status, &Extra::default());
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().expect("a name").to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
            let name = series.split('{').next().expect("a name");
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| typed.contains(*b)))
                .unwrap_or(name);
            assert!(typed.contains(base), "{name} has no # TYPE before it");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
