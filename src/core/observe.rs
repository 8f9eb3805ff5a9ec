//! What the shell observes and hands to the core: probe, ARP and counter values, and the one rule
//! that turns two counter samples into a verdict (shared by the active monitor and `watch-counters`).
//! Plain data: nothing here does I/O.

use std::net::IpAddr;
use std::time::Duration;

/// rx/tx packet counters of one device at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub rx_packets: u64,
    pub tx_packets: u64,
}

impl Counters {
    /// The change from `earlier` to `self`. A counter that went down was reset (device re-created,
    /// driver reloaded): its delta is 0 and `reset` is set.
    pub fn delta_since(&self, earlier: &Counters) -> CounterDelta {
        let rx = self.rx_packets.checked_sub(earlier.rx_packets);
        let tx = self.tx_packets.checked_sub(earlier.tx_packets);
        CounterDelta {
            rx_packets: rx.unwrap_or(0),
            tx_packets: tx.unwrap_or(0),
            reset: rx.is_none() || tx.is_none(),
        }
    }
}

/// The packets a device passed during one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CounterDelta {
    pub rx_packets: u64,
    pub tx_packets: u64,
    /// A counter went down during the interval (see [`Counters::delta_since`]).
    pub reset: bool,
}

/// The verdict of the source document's `checkonlyidle` rule for one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    /// "If the difference in the number of packets between the beginning and the end of the interval
    /// is positive, then it is considered that the interface is functioning normally."
    Traffic,
    /// "If no packets were sent and received during this interval, an additional verification
    /// mechanism is activated": a probe is needed.
    Idle,
}

impl CounterDelta {
    /// The one idle-interval rule: traffic when either direction moved and neither counter went
    /// down; otherwise idle, so a probe decides. A reset says nothing about the interval's traffic
    /// (the device may have been re-created with nothing on the wire), so it is never taken as health.
    pub fn activity(&self) -> Activity {
        if !self.reset && (self.rx_packets > 0 || self.tx_packets > 0) {
            Activity::Traffic
        } else {
            Activity::Idle
        }
    }
}

/// One ICMP echo to send: out of `device`, from `source` if given, to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub device: String,
    pub source: Option<IpAddr>,
    pub target: IpAddr,
}

/// The answer to one [`ProbeTarget`]: `rtt` is `None` when no reply came within the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub target: ProbeTarget,
    pub rtt: Option<Duration>,
}

/// One ARP question: does anybody answer for `address` on `device`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpTarget {
    pub device: String,
    pub address: IpAddr,
}

/// The answer: the MAC of whoever answered, `None` when nobody did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpResult {
    pub target: ArpTarget,
    pub mac: Option<[u8; 6]>,
}

/// Another station answered ARP for one of this node's activeips while this node holds it: a split
/// brain. Both MACs are those of the channel's device, so the tie-break (lower MAC keeps) needs no talk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rival {
    pub device: String,
    pub address: IpAddr,
    /// Who else answered for `address`.
    pub rival_mac: [u8; 6],
    /// This node's MAC on `device`.
    pub own_mac: [u8; 6],
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(rx: u64, tx: u64) -> Counters {
        Counters {
            rx_packets: rx,
            tx_packets: tx,
        }
    }

    #[test]
    fn traffic_idle_and_a_reset_that_is_not_traffic() {
        assert_eq!(c(5, 5).delta_since(&c(1, 5)).activity(), Activity::Traffic);
        assert_eq!(c(5, 5).delta_since(&c(5, 5)).activity(), Activity::Idle);
        // Regression (issue 7): watch-counters called this traffic (tx moved) while the daemon
        // called it idle; one rule now: a counter going down is a reset, and a reset is idle.
        let d = c(0, 9).delta_since(&c(100, 5));
        assert!(d.reset);
        assert_eq!(d.activity(), Activity::Idle);
    }
}
