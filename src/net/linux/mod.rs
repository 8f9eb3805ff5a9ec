//! The Linux implementations of the `net` traits: sysfs/netlink counters, ICMP via socket2, ARP via the
//! neighbour table (netlink) or raw frames (pnet), addresses via netlink.
//!
//! Everything here acts on the network namespace the process runs in.

pub mod addr;
pub mod addr_book;
pub mod arp;
pub mod arp_frame;
pub mod arp_socket;
pub mod carrier;
pub mod counters;
pub mod garp;
pub mod icmp;
pub mod ipv6;
pub mod link_events;
pub mod neigh;
pub mod netlink;
pub mod peer;
pub mod raw;
pub mod v6;

pub use arp::{RawArpChecker, TableArpChecker};
pub use counters::{NetlinkCounters, SysfsCounters};
pub use icmp::IcmpProber;
pub use neigh::NetlinkNeighbours;
pub use peer::{PeerLink, PeerResponder};

use crate::net::NetError;
use std::net::IpAddr;

/// The IPv4 address handed to an IPv4 primitive (ICMP, ARP, the ARP side of the neighbour table):
/// the daemon's shell routes IPv6 ones to [`v6`] before they get here, so an IPv6 address is a
/// caller's mistake, reported as an unsupported operation rather than a panic.
pub fn ipv4(ip: IpAddr) -> Result<std::net::Ipv4Addr, NetError> {
    match ip {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(a) => Err(NetError::Io {
            context: a.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "an IPv6 address given to an IPv4 primitive",
            ),
        }),
    }
}

/// The interface index of `device`, or [`NetError::NoDevice`].
pub fn ifindex(device: &str) -> Result<u32, NetError> {
    nix::net::if_::if_nametoindex(device).map_err(|_| NetError::NoDevice(device.to_string()))
}

/// The name of interface `index` (for entries read back from the kernel).
pub fn ifname(index: u32) -> Option<String> {
    nix::net::if_::if_indextoname(index)
        .ok()
        .map(|name| name.to_string_lossy().into_owned())
}

/// The addresses (IPv4 and IPv6) assigned to `device` right now, with their prefix lengths.
pub fn addresses(device: &str) -> Vec<(IpAddr, u8)> {
    let Ok(all) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    all.filter(|i| i.interface_name == device)
        .filter_map(|i| {
            let address = i.address?;
            let mask = i.netmask;
            if let Some(sin) = address.as_sockaddr_in() {
                let prefix = mask
                    .and_then(|m| {
                        m.as_sockaddr_in()
                            .map(|s| u32::from(s.ip()).count_ones() as u8)
                    })
                    .unwrap_or(32);
                Some((IpAddr::V4(sin.ip()), prefix))
            } else {
                let sin6 = address.as_sockaddr_in6()?;
                let prefix = mask
                    .and_then(|m| {
                        m.as_sockaddr_in6()
                            .map(|s| u128::from(s.ip()).count_ones() as u8)
                    })
                    .unwrap_or(128);
                Some((IpAddr::V6(sin6.ip()), prefix))
            }
        })
        .collect()
}

/// The first of `candidates` that is assigned to `device` right now: the node's own address on a
/// channel is the activeip while it is active, the passiveip while passive.
pub fn own_address(device: &str, candidates: &[IpAddr]) -> Option<IpAddr> {
    let assigned = addresses(device);
    candidates
        .iter()
        .copied()
        .find(|c| assigned.iter().any(|(a, _)| a == c))
}
