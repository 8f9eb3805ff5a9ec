//! Running counts since the node started, for the metrics: takeovers and failure actions by reason,
//! holds by reason, and each channel's probe round-trip times as a histogram. Pure data, fed by the
//! [`Node`](super::Node); the shell renders it (`src/metrics`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::core::observe::ProbeResult;

/// Upper bounds of the probe round-trip histogram's buckets, in microseconds: from a LAN's sub-ms
/// answer to the source document's 2 s `timeout`. A reply slower than the last bound lands in +Inf.
pub const RTT_BUCKETS_US: [u64; 12] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 2_500_000,
];

/// Why a node took over (a small fixed set, so it can be a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TakeoverReason {
    /// The passive's ARP checks failed activeretries times (the source document's takeover).
    ActiveGone,
    /// As above, and the active did not answer on the sync link either.
    ActiveSilent,
    /// As above, and the active answered but is not a healthy active.
    ActiveUnhealthy,
    /// The node already held the activeips at start (a restarted daemon).
    Resumed,
    /// `run-active` claims at start.
    RunActive,
    /// A passive found an activeip on its own host while the peer held it too, and kept it by the
    /// split-brain tie-break.
    SplitBrainKept,
    /// The active's release notice came over the sync link (a stop, demote, failure, carrier loss).
    ReleaseNotice,
    /// A planned `failoverctl handover`.
    Handover,
}

impl TakeoverReason {
    pub fn label(self) -> &'static str {
        match self {
            TakeoverReason::ActiveGone => "active_gone",
            TakeoverReason::ActiveSilent => "active_silent",
            TakeoverReason::ActiveUnhealthy => "active_unhealthy",
            TakeoverReason::Resumed => "resumed",
            TakeoverReason::RunActive => "run_active",
            TakeoverReason::SplitBrainKept => "split_brain_kept",
            TakeoverReason::ReleaseNotice => "release_notice",
            TakeoverReason::Handover => "handover",
        }
    }
}

/// A cumulative histogram of round-trip times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RttHistogram {
    /// Replies at or below each bound of [`RTT_BUCKETS_US`] (cumulative, as Prometheus wants).
    pub buckets: Vec<u64>,
    /// Every reply.
    pub count: u64,
    /// Sum of the round-trip times, microseconds.
    pub sum_us: u64,
}

impl RttHistogram {
    fn observe(&mut self, rtt: Duration) {
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        if self.buckets.is_empty() {
            self.buckets = vec![0; RTT_BUCKETS_US.len()];
        }
        for (n, bound) in self.buckets.iter_mut().zip(RTT_BUCKETS_US) {
            if us <= bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
    }
}

/// One channel's probes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeTally {
    pub rtt: RttHistogram,
    /// Probes that got no reply within the timeout.
    pub lost: u64,
}

/// The counts. Keys are channel idents and reason labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub takeovers: BTreeMap<&'static str, u64>,
    /// Failure actions by (channel, action: `reboot`, `demote`, `exec`).
    pub failure_actions: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Holds started, by reason: `peer_down`, `peer_cannot_reach`, `limit_reached`.
    pub holds: BTreeMap<&'static str, u64>,
    pub probes: BTreeMap<String, ProbeTally>,
}

impl Tally {
    pub fn takeover(&mut self, reason: TakeoverReason) {
        *self.takeovers.entry(reason.label()).or_default() += 1;
    }

    pub fn failure_action(&mut self, channel: &str, action: &'static str) {
        *self
            .failure_actions
            .entry(channel.to_owned())
            .or_default()
            .entry(action)
            .or_default() += 1;
    }

    pub fn hold(&mut self, reason: &'static str) {
        *self.holds.entry(reason).or_default() += 1;
    }

    /// Counts a probe round's answers under the channel whose device they went out of.
    pub fn probes(&mut self, config: &Config, results: &[ProbeResult]) {
        for r in results {
            let Some(channel) = config.channels.iter().find(|c| c.device == r.target.device) else {
                continue;
            };
            let t = self.probes.entry(channel.ident.clone()).or_default();
            match r.rtt {
                Some(rtt) => t.rtt.observe(rtt),
                None => t.lost += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::observe::ProbeTarget;

    #[test]
    fn rtt_buckets_are_cumulative_and_losses_counted_per_channel() {
        let cfg = crate::sim::document_config(crate::config::PolicyMode::Improved);
        let device = cfg.channels[0].device.clone();
        let result = |rtt: Option<u64>| ProbeResult {
            target: ProbeTarget {
                device: device.clone(),
                source: None,
                target: cfg.channels[0].testips[0],
            },
            rtt: rtt.map(Duration::from_micros),
        };
        let mut t = Tally::default();
        t.probes(
            &cfg,
            &[result(Some(300)), result(Some(4_000)), result(None)],
        );
        let p = &t.probes[&cfg.channels[0].ident];
        assert_eq!(p.lost, 1);
        assert_eq!(p.rtt.count, 2);
        assert_eq!(p.rtt.sum_us, 4_300);
        // 250us: none; 500us: the first; 5ms and above: both.
        assert_eq!(&p.rtt.buckets[..5], &[0, 1, 1, 1, 2]);
        assert_eq!(*p.rtt.buckets.last().expect("buckets"), 2);
    }
}
