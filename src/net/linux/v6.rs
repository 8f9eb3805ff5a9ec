//! TEMPORARY placeholders for the IPv6 primitives (issue 12): every function answers
//! `io::ErrorKind::Unsupported` ("IPv6 not yet wired") until the real ones are wired in here.
//! The daemon's shell already routes every IPv6 channel's work to this module, one place per
//! action (`daemon::shell::family`), exactly as it sends IPv4 work to `icmp`, `arp_socket`, `arp`,
//! `garp` and `addr`; so wiring is replacing each body below, keeping the signature.
//!
//! The contract (each mirrors the IPv4 primitive named in brackets):
//!
//! - [`announce`]`(device, addr, forwarding)` [`garp::frame` twice from the device's ARP socket]:
//!   one round of unsolicited Neighbour Advertisements for `addr` out of `device` (RFC 4861
//!   7.2.6: to all-nodes ff02::1, hop limit 255, Override set, Router set when `forwarding`,
//!   target link-layer address option with the device's MAC). The shell calls it once per
//!   `garpcount` round and per `garprefresh`, as it sends the gratuitous ARP pair.
//! - [`add`]`(device, addr, prefix)` [`addr::add_on`]: adds `addr/prefix` (`None`: the prefix of
//!   the device's existing IPv6 address in that subnet, else /128) with `IFA_F_NODAD`, so it is
//!   usable at once; an address already there is success.
//! - [`remove`]`(device, addr)` [`addr::remove_on`]: removes it; an absent address is success.
//! - [`holds`]`(device, addr)` [`addr_book::AddressBook::holds`]: whether `addr` is on `device`
//!   now (the active's ownership check every checktime; keep it a cheap netlink round trip).
//! - [`EchoSocket`] [`icmp::IcmpSocket`]: one non-blocking raw ICMPv6 socket for every echo,
//!   polled by the daemon's event loop. `open()`; `as_raw_fd()`; `send(device, source, target,
//!   identifier, sequence)` sends one echo request out of `device` (from `source`, else the
//!   kernel's choice) without blocking, an error meaning "not sent"; `receive()` drains the
//!   waiting echo replies as `(source, identifier, sequence)`. An ICMPv6 filter should let only
//!   echo replies wake the socket.
//! - [`NdSocket`] [`arp_socket::ArpSocket`]: one non-blocking socket per device for neighbour
//!   discovery, polled by the event loop. `open(device)`; `as_raw_fd()`; `device`, `mac` (the
//!   device's MAC); `solicit(source, target)` sends a Neighbour Solicitation for `target` to its
//!   solicited-node multicast address, hop limit 255, from `source` with the source link-layer
//!   option, or from the unspecified address without it when `source` is `None` (the
//!   duplicate-address-detection form of the split-brain look, so a rival answers to all-nodes
//!   and learns nothing); `receive()` drains the frames of other stations (never this host's own)
//!   as [`NdMessage`]s.
//! - [`table_begin`]`(device, addr)` and [`table_read`]`(device, addr)` [`arp::TableArpChecker`'s
//!   `begin` and `read`]: the passive's check in the source document's form: delete the
//!   neighbour entry of `addr`, then send a datagram so the kernel solicits; after the timeout,
//!   the MAC of a complete entry (REACHABLE, STALE, DELAY, PROBE, PERMANENT), `None` otherwise.
//!   An absent entry on delete is success.

use std::io;
use std::net::Ipv6Addr;

/// Whether the functions below are the real ones. Until then the daemon refuses a config with an
/// IPv6 channel (its checks would always fail); set it when wiring them in.
pub const WIRED: bool = false;
use std::os::fd::RawFd;

fn not_wired() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "IPv6 not yet wired")
}

/// One round of unsolicited Neighbour Advertisements for `addr` on `device`.
pub fn announce(device: &str, addr: Ipv6Addr, forwarding: bool) -> io::Result<()> {
    let _ = (device, addr, forwarding);
    Err(not_wired())
}

/// Adds `addr/prefix` to `device` without duplicate address detection.
pub fn add(device: &str, addr: Ipv6Addr, prefix: Option<u8>) -> io::Result<()> {
    let _ = (device, addr, prefix);
    Err(not_wired())
}

/// Removes `addr` from `device`.
pub fn remove(device: &str, addr: Ipv6Addr) -> io::Result<()> {
    let _ = (device, addr);
    Err(not_wired())
}

/// Whether `addr` is on `device` right now.
pub fn holds(device: &str, addr: Ipv6Addr) -> io::Result<bool> {
    let _ = (device, addr);
    Err(not_wired())
}

/// The table method's first half: delete the entry of `addr`, make the kernel solicit it.
pub fn table_begin(device: &str, addr: Ipv6Addr) -> io::Result<()> {
    let _ = (device, addr);
    Err(not_wired())
}

/// The table method's second half: the MAC of a complete entry of `addr`, if any.
pub fn table_read(device: &str, addr: Ipv6Addr) -> io::Result<Option<[u8; 6]>> {
    let _ = (device, addr);
    Err(not_wired())
}

/// The raw ICMPv6 echo socket (the IPv6 twin of `icmp::IcmpSocket`).
pub struct EchoSocket {
    fd: RawFd,
}

impl EchoSocket {
    pub fn open() -> io::Result<EchoSocket> {
        Err(not_wired())
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd
    }

    /// One echo request to `target` out of `device`, from `source` if given.
    pub fn send(
        &mut self,
        device: &str,
        source: Option<Ipv6Addr>,
        target: Ipv6Addr,
        identifier: u16,
        sequence: u16,
    ) -> io::Result<()> {
        let _ = (device, source, target, identifier, sequence);
        Err(not_wired())
    }

    /// The echo replies waiting: `(source, identifier, sequence)` each.
    pub fn receive(&self) -> Vec<(Ipv6Addr, u16, u16)> {
        Vec::new()
    }
}

/// A neighbour-discovery message of another station, as `arp_socket::ArpMessage` is for ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdMessage {
    /// An advertisement (the answer); `false`: a solicitation.
    pub advertisement: bool,
    /// The address the sender speaks for: an advertisement's target, a solicitation's source
    /// (a DAD solicitation, from the unspecified address, is not reported).
    pub sender_ip: Ipv6Addr,
    /// Its link-layer address (the target or source link-layer option, else the frame's source).
    pub sender_mac: [u8; 6],
}

/// The per-device neighbour-discovery socket (the IPv6 twin of `arp_socket::ArpSocket`).
pub struct NdSocket {
    pub device: String,
    pub mac: [u8; 6],
    fd: RawFd,
}

impl NdSocket {
    pub fn open(device: &str) -> io::Result<NdSocket> {
        let _ = device;
        Err(not_wired())
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd
    }

    /// A Neighbour Solicitation for `target`, from `source` (`None`: the unspecified address).
    pub fn solicit(&self, source: Option<Ipv6Addr>, target: Ipv6Addr) -> io::Result<()> {
        let _ = (source, target);
        Err(not_wired())
    }

    /// The neighbour-discovery messages of other stations waiting.
    pub fn receive(&self) -> Vec<NdMessage> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Until wired, every entry point says so instead of pretending to work.
    #[test]
    fn every_placeholder_answers_unsupported() {
        let a: Ipv6Addr = "2001:db8::10".parse().expect("v6");
        let unsupported = |e: io::Error| e.kind() == io::ErrorKind::Unsupported;
        assert!(announce("eth1", a, true).is_err_and(unsupported));
        assert!(add("eth1", a, Some(64)).is_err_and(unsupported));
        assert!(remove("eth1", a).is_err_and(unsupported));
        assert!(holds("eth1", a).is_err_and(unsupported));
        assert!(table_begin("eth1", a).is_err_and(unsupported));
        assert!(table_read("eth1", a).is_err_and(unsupported));
        assert!(EchoSocket::open().is_err_and(unsupported));
        assert!(NdSocket::open("eth1").is_err_and(unsupported));
    }
}
