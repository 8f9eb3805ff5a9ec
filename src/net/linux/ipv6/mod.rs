//! IPv6 on Linux: the siblings of the IPv4 primitives, with the same shapes (non-blocking sockets
//! the daemon's event loop polls, kept open; blocking forms for the one-shot CLI).
//!
//! - [`icmp6`]: ICMPv6 echo, one raw socket per device ([`icmp6::Icmp6Socket`]).
//! - [`nd_frame`], [`nd_socket`]: Neighbour Solicitation/Advertisement frames and the per-device
//!   packet socket that sends the former and reads the latter ([`nd_socket::NdSocket`]).
//! - [`nd_check`]: the passive's check by the neighbour table or raw frames, the active's rival look.
//! - [`neigh6`]: the IPv6 neighbour table over netlink.
//! - [`announce`]: unsolicited Neighbour Advertisements after a takeover.
//! - [`addr6`], [`addr_book6`]: adding (without duplicate address detection), removing and
//!   watching IPv6 addresses.

pub mod addr6;
pub mod addr_book6;
pub mod announce;
pub mod icmp6;
pub mod nd_check;
pub mod nd_frame;
pub mod nd_socket;
pub mod neigh6;
