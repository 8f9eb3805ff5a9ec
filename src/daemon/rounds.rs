//! `probes= N`: a check's N requests spread evenly within its timeout (the k-th at k × timeout / N),
//! so the verdict still comes within `timeout` and the source document's bounds stay exact.

use std::time::{Duration, Instant};

/// The send schedule of one check in flight.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    start: Instant,
    timeout: Duration,
    total: u32,
    sent: u32,
}

impl Rounds {
    /// A check of `total` rounds (at least one) started at `start`; the first round counts as sent.
    pub fn first_sent(start: Instant, timeout: Duration, total: u32) -> Self {
        Self {
            start,
            timeout,
            total: total.max(1),
            sent: 1,
        }
    }

    /// When the next round is due; `None` once every round went out.
    pub fn next_at(&self) -> Option<Instant> {
        (self.sent < self.total).then(|| self.start + self.timeout * self.sent / self.total)
    }

    /// Whether a round is due at `now`; counts it as sent.
    pub fn take_due(&mut self, now: Instant) -> bool {
        if self.next_at().is_some_and(|t| now >= t) {
            self.sent += 1;
            true
        } else {
            false
        }
    }

    /// Every round went out.
    pub fn finished(&self) -> bool {
        self.sent >= self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_spread_within_the_timeout() {
        let t0 = Instant::now();
        let mut r = Rounds::first_sent(t0, Duration::from_millis(90), 3);
        assert_eq!(r.next_at(), Some(t0 + Duration::from_millis(30)));
        assert!(!r.take_due(t0 + Duration::from_millis(29)));
        assert!(r.take_due(t0 + Duration::from_millis(30)));
        assert_eq!(r.next_at(), Some(t0 + Duration::from_millis(60)));
        assert!(r.take_due(t0 + Duration::from_millis(80)));
        assert!(r.finished());
        assert_eq!(r.next_at(), None);
        // One probe: nothing more to send.
        assert!(Rounds::first_sent(t0, Duration::from_millis(90), 1).finished());
    }
}
