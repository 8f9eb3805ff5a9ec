//! The source document's downtime bounds, as pure functions of the validated config. `simulate-timing`
//! and the sim tests check the decision core (driven by `sim::World`) against these bounds.

use crate::config::{Network, Policy};
use std::time::Duration;

/// "the maximum down time of the interface before [detection is] checktime + (timeout *
/// channelretries)" (source document, active server).
pub fn active_detection(n: &Network) -> Duration {
    n.checktime
        .saturating_add(n.timeout.saturating_mul(n.channelretries))
}

/// "checktime + (timeout * activeretries)" (source document, passive server).
pub fn passive_detection(n: &Network) -> Duration {
    n.checktime
        .saturating_add(n.timeout.saturating_mul(n.activeretries))
}

/// "The total system [down]time during a crash may be slightly longer than checktime * 2 + timeout *
/// (channelretries + activeretries)" (source document).
pub fn total_outage(n: &Network) -> Duration {
    n.checktime.saturating_mul(2).saturating_add(
        n.timeout
            .saturating_mul(n.channelretries.saturating_add(n.activeretries)),
    )
}

/// The interface shutdown delay after the reboot starts ("does not exceed 30 seconds"): zero with
/// `fastdown=yes`, read as "the failing node releases its addresses at once", before rebooting.
pub fn effective_shutdown_delay(n: &Network, shutdown_delay: Duration) -> Duration {
    if n.fastdown {
        Duration::ZERO
    } else {
        shutdown_delay
    }
}

/// All bounds of one config. The arithmetic saturates: the config's ranges keep it far from
/// overflow, and a `Network` built by hand must not panic either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub active_detection: Duration,
    pub passive_detection: Duration,
    pub total_outage: Duration,
    /// The shutdown delay considered (policy `shutdowndelay` or an override).
    pub shutdown_delay: Duration,
    /// The total outage plus the full shutdown delay: the bound without `fastdown`.
    pub total_with_shutdown_delay: Duration,
    pub fastdown: bool,
    /// The bound that applies to this config: the total outage, plus the shutdown delay unless
    /// `fastdown=yes`.
    pub worst_case: Duration,
}

/// The bounds of a config; `shutdown_delay` overrides the policy's `shutdowndelay`.
pub fn bounds(n: &Network, p: &Policy, shutdown_delay: Option<Duration>) -> Bounds {
    let delay = shutdown_delay.unwrap_or(p.shutdowndelay);
    let total = total_outage(n);
    Bounds {
        active_detection: active_detection(n),
        passive_detection: passive_detection(n),
        total_outage: total,
        shutdown_delay: delay,
        total_with_shutdown_delay: total.saturating_add(delay),
        fastdown: n.fastdown,
        worst_case: total.saturating_add(effective_shutdown_delay(n, delay)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;

    fn network(checktime: u64, timeout: u64, a: u32, c: u32, fastdown: bool) -> Network {
        Network {
            checktime: Duration::from_secs(checktime),
            timeout: Duration::from_secs(timeout),
            activeretries: a,
            channelretries: c,
            synctime: Duration::from_secs(5),
            fastdown,
            probes: 1,
        }
    }

    #[test]
    fn source_document_example() {
        let b = bounds(
            &network(10, 2, 3, 3, false),
            &Policy::defaults(PolicyMode::Classic),
            None,
        );
        assert_eq!(b.active_detection, Duration::from_secs(16));
        assert_eq!(b.passive_detection, Duration::from_secs(16));
        assert_eq!(b.total_outage, Duration::from_secs(32));
        assert_eq!(b.worst_case, Duration::from_secs(62));
    }

    #[test]
    fn retries_weigh_separately_and_fastdown_drops_the_delay() {
        let n = network(5, 1, 2, 4, true);
        let b = bounds(
            &n,
            &Policy::defaults(PolicyMode::Improved),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(b.active_detection, Duration::from_secs(9));
        assert_eq!(b.passive_detection, Duration::from_secs(7));
        assert_eq!(b.total_outage, Duration::from_secs(16));
        assert_eq!(b.total_with_shutdown_delay, Duration::from_secs(23));
        assert_eq!(b.worst_case, Duration::from_secs(16));
    }

    /// Bug: `checktime= 18446744073709551615` overflowed `checktime + timeout × retries` here and
    /// panicked `validate` and `simulate-timing`.
    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let mut n = network(u64::MAX, u64::MAX, u32::MAX, u32::MAX, false);
        n.checktime = Duration::MAX;
        let b = bounds(
            &n,
            &Policy::defaults(PolicyMode::Classic),
            Some(Duration::MAX),
        );
        assert_eq!(b.active_detection, Duration::MAX);
        assert_eq!(b.passive_detection, Duration::MAX);
        assert_eq!(b.total_outage, Duration::MAX);
        assert_eq!(b.worst_case, Duration::MAX);
        assert_eq!(b.total_with_shutdown_delay, Duration::MAX);
    }
}
