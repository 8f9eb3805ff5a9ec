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

pub use arp::{RawArpChecker, TableArpChecker};
pub use counters::{NetlinkCounters, SysfsCounters};
pub use icmp::IcmpProber;
pub use neigh::NetlinkNeighbours;
pub use peer::{PeerLink, PeerResponder};

use crate::net::NetError;

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

/// The IPv4 addresses assigned to `device` right now, with their prefix lengths.
pub fn addresses(device: &str) -> Vec<(std::net::Ipv4Addr, u8)> {
    let Ok(all) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    all.filter(|i| i.interface_name == device)
        .filter_map(|i| {
            let ip = i.address?.as_sockaddr_in()?.ip();
            let prefix = i
                .netmask
                .and_then(|m| {
                    m.as_sockaddr_in()
                        .map(|s| u32::from(s.ip()).count_ones() as u8)
                })
                .unwrap_or(32);
            Some((ip, prefix))
        })
        .collect()
}

/// The first of `candidates` that is assigned to `device` right now: the node's own address on a
/// channel is the activeip while it is active, the passiveip while passive.
pub fn own_address(device: &str, candidates: &[std::net::Ipv4Addr]) -> Option<std::net::Ipv4Addr> {
    let assigned = addresses(device);
    candidates
        .iter()
        .copied()
        .find(|c| assigned.iter().any(|(a, _)| a == c))
}
