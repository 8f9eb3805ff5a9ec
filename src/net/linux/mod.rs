//! The Linux implementations of the `net` traits: sysfs/netlink counters, ICMP via socket2, ARP via the
//! neighbour table (netlink) or raw frames (pnet), addresses via netlink.

pub mod addr;
pub mod garp;
