//! The probing and address primitives the daemon is composed of, each behind a small trait so that the
//! simulated world can stand in for the Linux implementations in `net::linux`.

pub mod linux;

use std::net::Ipv4Addr;
use std::time::Duration;

/// Errors of the primitives: the diagnostics map `Privilege` and `Environment` to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Missing capability, e.g. CAP_NET_RAW for ICMP or CAP_NET_ADMIN for addresses.
    #[error("{what}: permission denied (needs {capability})")]
    Privilege {
        what: String,
        capability: &'static str,
    },
    /// No such device.
    #[error("no such device: {0}")]
    NoDevice(String),
    /// Any other system error, with context.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// rx/tx packet counters of one device at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// Reads packet counters (sysfs or netlink).
pub trait CounterSource {
    fn sample(&mut self, device: &str) -> Result<Counters, NetError>;
}

/// One ICMP echo to send: out of `device`, from `source` if given, to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub device: String,
    pub source: Option<Ipv4Addr>,
    pub target: Ipv4Addr,
}

/// The answer to one [`ProbeTarget`]: `rtt` is `None` when no reply came within the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub target: ProbeTarget,
    pub rtt: Option<Duration>,
}

/// Sends ICMP echoes to all targets at once and waits at most `timeout` in all.
pub trait Prober {
    fn probe(
        &mut self,
        targets: &[ProbeTarget],
        timeout: Duration,
    ) -> Result<Vec<ProbeResult>, NetError>;
}

/// One ARP question: does anybody answer for `address` on `device`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpTarget {
    pub device: String,
    pub address: Ipv4Addr,
}

/// The answer: the MAC of whoever answered, `None` when nobody did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpResult {
    pub target: ArpTarget,
    pub mac: Option<[u8; 6]>,
}

/// The passive node's check (the source document's flush, UDP, read-the-table; or raw ARP).
pub trait ArpChecker {
    fn check(
        &mut self,
        targets: &[ArpTarget],
        timeout: Duration,
    ) -> Result<Vec<ArpResult>, NetError>;
}

/// Adds and removes this node's addresses; announces them.
pub trait AddressControl {
    /// Adds `address/prefix` to `device`; an address already there is success (takeover can repeat).
    fn add(&mut self, device: &str, address: Ipv4Addr, prefix: Option<u8>) -> Result<(), NetError>;
    /// Removes `address` from `device`; an address already absent is success.
    fn remove(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError>;
    /// Sends gratuitous ARP for `address` on `device`, both request and reply forms, once.
    fn announce(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError>;
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
