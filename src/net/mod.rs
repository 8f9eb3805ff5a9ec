//! The Linux I/O: probing, ARP, counters and addresses behind small blocking traits (the one-shot
//! CLI commands use them), and the non-blocking sockets the daemon's event loop polls (`net::linux`).
//! The values they exchange with the decision core live in `core::observe`.

pub mod linux;

pub use crate::core::observe::{
    format_mac, Activity, ArpResult, ArpTarget, CounterDelta, Counters, ProbeResult, ProbeTarget,
    Rival,
};

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

impl NetError {
    /// The OS error number behind an `Io` error, for callers that treat one as success (ENOENT on
    /// delete, EEXIST on add).
    pub fn os_error(&self) -> Option<i32> {
        match self {
            NetError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Maps an error of opening or using a socket: EPERM/EACCES become [`NetError::Privilege`] naming
    /// `capability`, ENODEV becomes [`NetError::NoDevice`] naming `device`.
    pub fn from_io(
        what: &str,
        device: &str,
        capability: &'static str,
        source: std::io::Error,
    ) -> NetError {
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => NetError::Privilege {
                what: what.to_string(),
                capability,
            },
            Some(libc::ENODEV) => NetError::NoDevice(device.to_string()),
            _ => NetError::Io {
                context: format!("{what} ({device})"),
                source,
            },
        }
    }
}

/// Reads packet counters (sysfs or netlink).
pub trait CounterSource {
    fn sample(&mut self, device: &str) -> Result<Counters, NetError>;
}

/// Sends ICMP echoes to all targets at once and waits at most `timeout` in all.
pub trait Prober {
    fn probe(
        &mut self,
        targets: &[ProbeTarget],
        timeout: Duration,
    ) -> Result<Vec<ProbeResult>, NetError>;
}

/// The passive node's check (the source document's flush, UDP, read-the-table; or raw ARP).
pub trait ArpChecker {
    fn check(
        &mut self,
        targets: &[ArpTarget],
        timeout: Duration,
    ) -> Result<Vec<ArpResult>, NetError>;
}

/// The active's look for a rival owner of its own addresses. Runs on a worker thread of the daemon
/// (it must not hold up the active's probes), hence `Send + Sync` and `&self`.
pub trait ConflictChecker: Send + Sync {
    /// Asks for every target without teaching anybody our address; one [`Rival`] for each target
    /// another station answered for within `timeout`. Our own replies are no rival.
    fn rivals(&self, targets: &[ArpTarget], timeout: Duration) -> Result<Vec<Rival>, NetError>;
}

/// The state of a neighbour (ARP) entry, after the kernel's NUD_* states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NeighbourState {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    Noarp,
    Permanent,
    None,
    Other(u16),
}

impl NeighbourState {
    /// True for the states that hold a link-layer address somebody gave (REACHABLE, STALE, DELAY,
    /// PROBE, PERMANENT); INCOMPLETE and FAILED mean nobody answered. NOARP is no answer either: the
    /// kernel made that entry itself (a multicast address gets 01:00:5e:..., 33:33:...) without
    /// asking anybody. A STALE entry may be old: that is why the ARP check deletes the entry first
    /// and only then looks for a complete one.
    pub fn is_complete(&self) -> bool {
        matches!(
            self,
            NeighbourState::Reachable
                | NeighbourState::Stale
                | NeighbourState::Delay
                | NeighbourState::Probe
                | NeighbourState::Permanent
        )
    }
}

/// One entry of the neighbour table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourEntry {
    pub device: String,
    pub address: Ipv4Addr,
    pub state: NeighbourState,
    pub mac: Option<[u8; 6]>,
}

/// The kernel's IPv4 neighbour (ARP) table.
pub trait NeighbourTable {
    /// Deletes the entry of `address` on `device`; an absent entry is success.
    fn delete(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError>;
    /// [`Self::delete`] for every target (an implementation may send them all at once).
    fn delete_all(&mut self, targets: &[ArpTarget]) -> Result<(), NetError> {
        for t in targets {
            self.delete(&t.device, linux::ipv4(t.address)?)?;
        }
        Ok(())
    }
    /// The entry of `address` on `device`, if there is one.
    fn lookup(
        &mut self,
        device: &str,
        address: Ipv4Addr,
    ) -> Result<Option<NeighbourEntry>, NetError>;
    /// The entries of every target that has one (an implementation may read the table once).
    fn entries_of(&mut self, targets: &[ArpTarget]) -> Result<Vec<NeighbourEntry>, NetError> {
        let mut out = Vec::new();
        for t in targets {
            out.extend(self.lookup(&t.device, linux::ipv4(t.address)?)?);
        }
        Ok(out)
    }
}

/// Adds and removes this node's addresses; announces them.
pub trait AddressControl {
    /// Adds `address/prefix` to `device`; an address already there is success (takeover can repeat).
    fn add(&mut self, device: &str, address: Ipv4Addr, prefix: Option<u8>) -> Result<(), NetError>;
    /// Removes `address` from `device`; an address already absent is success.
    fn remove(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError>;
    /// Whether `address` is on `device` right now.
    fn holds(&mut self, device: &str, address: Ipv4Addr) -> Result<bool, NetError>;
    /// [`Self::add`] for each of `list`, in order (an implementation may send them all at once).
    fn add_all(&mut self, list: &[(&str, Ipv4Addr, Option<u8>)]) -> Vec<Result<(), NetError>> {
        list.iter().map(|(d, a, p)| self.add(d, *a, *p)).collect()
    }
    /// [`Self::remove`] for each of `list` (an implementation may send them all at once).
    fn remove_all(&mut self, list: &[(&str, Ipv4Addr)]) -> Vec<Result<(), NetError>> {
        list.iter().map(|(d, a)| self.remove(d, *a)).collect()
    }
    /// Sends gratuitous ARP for `address` on `device`, both request and reply forms, once.
    fn announce(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError>;
}
