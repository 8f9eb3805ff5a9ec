//! The one place where the system's clocks become the core's [`Instant`]: milliseconds since the Unix
//! epoch, taken once at start and advanced by the monotonic clock, so timers never jump with NTP and
//! failure-action times stay comparable across reboots (`maxfailovers`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core::Instant;

/// The daemon's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: std::time::Instant,
    start_ms: u64,
}

impl Clock {
    pub fn start() -> Clock {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Clock {
            start: std::time::Instant::now(),
            start_ms: u64::try_from(epoch.as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_millis(self.start_ms) + self.start.elapsed()
    }

    /// How long from now until `deadline` (zero when it has passed).
    pub fn until(&self, deadline: Instant) -> Duration {
        deadline.saturating_since(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_epoch_based_and_monotonic() {
        let c = Clock::start();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        // Later than 2020-01-01 in epoch milliseconds.
        assert!(a.as_millis() > 1_577_836_800_000);
        assert_eq!(c.until(a), Duration::ZERO);
    }
}
