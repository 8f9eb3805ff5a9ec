//! The daemon's IPv6 half: the state the shell keeps for IPv6 channels, over the primitives of
//! [`ipv6`](super::ipv6). Each piece mirrors the IPv4 one the shell uses beside it:
//!
//! - addresses: [`Addresses6`] adds without duplicate address detection (usable at once) and
//!   removes; [`AddressBook6`] answers "do I still hold it?" and "which of my addresses is the
//!   source of this solicitation?" from memory kept current by netlink events (as
//!   [`AddressBook`](super::addr_book::AddressBook));
//! - announcements: [`NaAnnouncer`], one unsolicited Neighbour Advertisement per round from one
//!   kept packet socket (as the gratuitous ARP's);
//! - the passive's table check: [`TableNdChecker`]'s `begin` and `read` (as `TableArpChecker`);
//! - sockets the event loop polls: one ICMPv6 echo socket for every device ([`Icmp6Port`], echoes
//!   sent out of the channel's device, replies attributed by their arrival device, an
//!   `ICMP6_FILTER` passing echo replies only) and one neighbour-discovery packet socket for
//!   every device ([`NdPort`], a BPF filter passing the advertisements of the activeips only).
//!   The shell registers them in its poll set, one token each; they stay open.

use std::net::Ipv6Addr;

use super::arp_socket::ArpDevice;
use super::ipv6::addr6::Addresses6;
use super::ipv6::addr_book6::AddressBook6;
use super::ipv6::announce::NaAnnouncer;
use super::ipv6::icmp6::Icmp6Port;
use super::ipv6::nd_check::{ns_source, NdResult, TableNdChecker};
use super::ipv6::nd_socket::NdPort;
use super::ipv6::neigh6::NdTarget;
use crate::net::NetError;

/// Everything the shell keeps for IPv6.
#[derive(Default)]
pub struct V6 {
    book: AddressBook6,
    addresses: Addresses6,
    announcer: NaAnnouncer,
    table: TableNdChecker,
    /// The echo socket of every device, opened at the first IPv6 probe.
    pub echo_port: Option<Icmp6Port>,
    /// The devices echoes go out of, with their indexes.
    pub echo: Vec<(String, u32)>,
    /// The neighbour-discovery socket of every device, opened at the first IPv6 check.
    pub nd_port: Option<NdPort>,
    /// The devices it sends on and hears from.
    pub nd: Vec<ArpDevice>,
}

impl V6 {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `address/prefix` to `device` without duplicate address detection (`None`: the prefix of
    /// the device's address in that network, else /128); one already there is success.
    pub fn add(
        &mut self,
        device: &str,
        address: Ipv6Addr,
        prefix: Option<u8>,
    ) -> Result<(), NetError> {
        let r = self.addresses.add(device, address, prefix).map(|_| ());
        self.book.invalidate();
        r
    }

    /// Removes `address` from `device`; an absent one is success.
    pub fn remove(&mut self, device: &str, address: Ipv6Addr) -> Result<(), NetError> {
        let r = self.addresses.remove(device, address);
        self.book.invalidate();
        r
    }

    /// Whether `device` holds `address` now (from the address book: no netlink round trip unless
    /// an address changed).
    pub fn holds(&mut self, device: &str, address: Ipv6Addr) -> Result<bool, NetError> {
        self.book.holds(device, address)
    }

    /// [`Self::holds`] for a list, from one read of the address events.
    pub fn holds_each(&mut self, wanted: &[(&str, Ipv6Addr)]) -> Vec<Result<bool, NetError>> {
        self.book.holds_each(wanted)
    }

    /// One unsolicited Neighbour Advertisement for `address` out of `device` (RFC 4861 7.2.6: to
    /// all nodes, Override, Router when the device forwards, the target link-layer option).
    pub fn announce(&mut self, device: &str, address: Ipv6Addr) -> Result<(), NetError> {
        self.announcer.announce(device, address)
    }

    /// The source of a solicitation for `target` on `device`: `::` in the rival look's
    /// (duplicate-address-detection) form, else this node's address in the target's network.
    pub fn solicitation_source(&mut self, device: &str, target: Ipv6Addr, rival: bool) -> Ipv6Addr {
        if rival {
            return Ipv6Addr::UNSPECIFIED;
        }
        ns_source(false, &self.book.sources(device), target)
    }

    /// The table method's first half: delete each entry, make the kernel solicit it.
    pub fn table_begin(&mut self, targets: &[NdTarget]) -> Result<(), NetError> {
        self.table.begin(targets)
    }

    /// The table method's second half: the MAC of each complete entry, in order.
    pub fn table_read(&mut self, targets: &[NdTarget]) -> Result<Vec<NdResult>, NetError> {
        self.table.read(targets)
    }

    /// Makes `device` one the echo socket sends out of, opening the socket if needed (`true`:
    /// just opened, to be registered).
    pub fn echo_socket(&mut self, device: &str) -> Result<bool, NetError> {
        if self.echo.iter().any(|(d, _)| d == device) {
            return Ok(false);
        }
        let ifindex = super::ifindex(device)?;
        let new = self.echo_port.is_none();
        if new {
            self.echo_port = Some(Icmp6Port::open()?);
        }
        self.echo.push((device.to_owned(), ifindex));
        Ok(new)
    }

    /// Looks `device` up again for the neighbour-discovery socket after a failed send: one
    /// re-created under its name has a new index (and maybe MAC).
    pub fn refresh_nd_device(&mut self, device: &str) {
        let Some(port) = &self.nd_port else {
            return;
        };
        if let (Some(i), Ok(fresh)) = (
            self.nd.iter().position(|d| d.device == device),
            ArpDevice::lookup(port.as_raw_fd(), device),
        ) {
            self.nd[i] = fresh;
        }
    }

    /// Looks `device` up again after a failed send: one re-created under its name has a new index.
    pub fn refresh_echo_device(&mut self, device: &str) {
        if let (Some(e), Ok(i)) = (
            self.echo.iter_mut().find(|(d, _)| d == device),
            super::ifindex(device),
        ) {
            e.1 = i;
        }
    }

    /// Makes `device` one the neighbour-discovery socket serves, opening the socket narrowed to
    /// `watched` if needed (`true`: the socket was just opened, to be registered). A filter the
    /// kernel refuses leaves the socket taking every advertisement: the error says so, the socket
    /// is kept.
    pub fn nd_socket(
        &mut self,
        device: &str,
        watched: &[Ipv6Addr],
    ) -> Result<(bool, Option<std::io::Error>), NetError> {
        if self.nd.iter().any(|s| s.device == device) {
            return Ok((false, None));
        }
        let (mut new, mut narrowed) = (false, None);
        if self.nd_port.is_none() {
            let s = NdPort::open()?;
            narrowed = s.watch_only(watched).err();
            self.nd_port = Some(s);
            new = true;
        }
        let port = self.nd_port.as_ref().expect("opened just above");
        self.nd.push(ArpDevice::lookup(port.as_raw_fd(), device)?);
        Ok((new, narrowed))
    }
}

/// Whether `device` holds `address`, asking the kernel (a restarted daemon resumes).
pub fn kernel_holds(device: &str, address: Ipv6Addr) -> bool {
    Addresses6::new().holds(device, address).unwrap_or(false)
}
