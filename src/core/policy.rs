//! The failover policy guards that fix the source document's stories, applied between a detected
//! channel failure and the failure action. With the classic values (`requirepeer=no`,
//! `maxfailovers=0`, `testhosts=all`, `onfailure=reboot`) nothing is held: the document exactly.
//!
//! - `requirepeer`: "the active server should not reboot if the passive one is turned off" (the
//!   document's own proposed fix). The node asks the shell ([`super::Action::CheckPeer`]) and holds
//!   (stays active, alerts, keeps monitoring) while the peer is down.
//! - `maxfailovers` within `failoverwindow`: "the problem after the reboot did not go away ... I had to
//!   manually turn off the power". Past the limit the node holds and alerts instead of rebooting forever.
//! - `testhosts=any` is applied by the active monitor (one dead test host is not a failed channel).

use std::fmt;
use std::time::Duration;

use super::Instant;
use crate::config::Policy;

/// Why a failure action was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    /// `requirepeer`: the peer did not answer; acting would leave nobody serving.
    PeerDown,
    /// `requirepeer`: the peer answered but cannot reach the failed channel's test hosts either: the
    /// fault is not this node's (a dead test host, a protected server rebooted for maintenance), and
    /// failing over would help nobody.
    PeerCannotReach { channel: String },
    /// `requirefit`: the channel's test hosts were already down (while the LAN worked) when this node
    /// took over; acting on that known failure would only move the service back and forth.
    TestHostsDown { channel: String },
    /// `maxfailovers`: this many failure actions already happened within the window.
    LimitReached {
        count: usize,
        max: u32,
        window: Duration,
    },
}

impl HoldReason {
    /// A short fixed name, for metric labels.
    pub fn label(&self) -> &'static str {
        match self {
            HoldReason::PeerDown => "peer_down",
            HoldReason::PeerCannotReach { .. } => "peer_cannot_reach",
            HoldReason::LimitReached { .. } => "limit_reached",
            HoldReason::TestHostsDown { .. } => "testhosts_down",
        }
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::PeerDown => f.write_str("the peer is down (requirepeer)"),
            HoldReason::PeerCannotReach { channel } => write!(
                f,
                "the peer cannot reach channel {channel}'s test hosts either: the fault is not this node's"
            ),
            HoldReason::TestHostsDown { channel } => write!(
                f,
                "channel {channel}'s test hosts were already down when this node took over: the fault is theirs"
            ),
            HoldReason::LimitReached { count, max, window } => write!(
                f,
                "{count} failure actions within {}s (maxfailovers={max})",
                window.as_secs()
            ),
        }
    }
}

/// The times of earlier failure actions, persisted by the shell across reboots.
///
/// The shell must use one time origin for these and for `now` (e.g. milliseconds since the Unix epoch),
/// or convert them, since a reboot restarts any monotonic clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailoverHistory {
    times: Vec<Instant>,
}

impl FailoverHistory {
    pub fn new(mut times: Vec<Instant>) -> Self {
        times.sort();
        Self { times }
    }

    pub fn record(&mut self, at: Instant) {
        self.times.push(at);
    }

    pub fn times(&self) -> &[Instant] {
        &self.times
    }

    /// Failure actions in `(now - window, now]`.
    pub fn within(&self, now: Instant, window: Duration) -> usize {
        self.times
            .iter()
            .filter(|&&t| t <= now && now - t < window)
            .count()
    }
}

/// The `maxfailovers` guard: `Some` when one more failure action would pass the limit.
pub fn limit_reached(
    policy: &Policy,
    history: &FailoverHistory,
    now: Instant,
) -> Option<HoldReason> {
    if policy.maxfailovers == 0 {
        // "0 means unlimited (classic)": the document reboots every time.
        return None;
    }
    let count = history.within(now, policy.failoverwindow);
    (count >= policy.maxfailovers as usize).then_some(HoldReason::LimitReached {
        count,
        max: policy.maxfailovers,
        window: policy.failoverwindow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::core::testkit::{at_ms, policy, secs};

    #[test]
    fn the_limit_counts_only_the_window() {
        let p = policy(PolicyMode::Improved); // 3 within 3600 s
        let mut h = FailoverHistory::new(vec![at_ms(1_000), at_ms(2_000)]);
        assert_eq!(limit_reached(&p, &h, at_ms(3_000)), None);
        h.record(at_ms(3_000));
        assert!(matches!(
            limit_reached(&p, &h, at_ms(4_000)),
            Some(HoldReason::LimitReached { count: 3, .. })
        ));
        // Once the first one leaves the window, one more is allowed.
        assert_eq!(limit_reached(&p, &h, at_ms(1_000) + secs(3600)), None);
    }

    #[test]
    fn classic_has_no_limit() {
        let p = policy(PolicyMode::Classic);
        let h = FailoverHistory::new((0..100).map(|i| at_ms(i * 1000)).collect());
        assert_eq!(limit_reached(&p, &h, at_ms(100_000)), None);
    }
}
