//! The IPv6 addresses of every device kept in memory, the sibling of
//! [`addr_book`](crate::net::linux::addr_book): "do I still hold the activeip?" and "which of my
//! addresses is the source of this solicitation?" cost no netlink socket per check. Re-read (one
//! `RTM_GETADDR` dump) when the kernel reports an IPv6 address change on a socket subscribed to
//! `RTMGRP_IPV6_IFADDR`, when that socket overflowed, and at the latest [`MAX_AGE`] after the last
//! read; the event socket is drained before every answer.

use std::collections::HashMap;
use std::io;
use std::net::Ipv6Addr;
use std::time::Instant;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::addr6::{device_address, Device6Address};
use crate::net::linux::addr_book::MAX_AGE;
use crate::net::linux::netlink::{Netlink, DUMP};
use crate::net::NetError;

/// `RTMGRP_IPV6_IFADDR` (linux/rtnetlink.h): the multicast group of IPv6 address changes.
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// Every device's IPv6 addresses, by interface index.
#[derive(Default)]
pub struct AddressBook6 {
    netlink: Option<Netlink>,
    events: Option<Socket>,
    buffer: Vec<u8>,
    /// `None`: must be read again before the next answer.
    by_index: Option<HashMap<u32, Vec<Device6Address>>>,
    read_at: Option<Instant>,
    /// Device names to indexes; emptied whenever an event arrives.
    indexes: HashMap<String, u32>,
    /// Set while [`Self::holds_each`] answers a batch from one drain of the event socket.
    drained: bool,
}

impl AddressBook6 {
    pub fn new() -> Self {
        Self::default()
    }

    /// The IPv6 addresses of `device` now (link-local and tentative ones included).
    pub fn addresses(&mut self, device: &str) -> Result<&[Device6Address], NetError> {
        let index = self.index(device)?;
        self.fresh()?;
        Ok(self
            .by_index
            .as_ref()
            .and_then(|m| m.get(&index))
            .map_or(&[][..], Vec::as_slice))
    }

    /// True when `device` holds `address` (any prefix).
    /// [`Self::holds`] for each of `wanted`, from one drain of the event socket: the ownership check
    /// of 64 channels made 64 empty reads of it.
    pub fn holds_each(&mut self, wanted: &[(&str, Ipv6Addr)]) -> Vec<Result<bool, NetError>> {
        self.drain_events();
        self.drained = true;
        let out = wanted.iter().map(|(d, a)| self.holds(d, *a)).collect();
        self.drained = false;
        out
    }

    pub fn holds(&mut self, device: &str, address: Ipv6Addr) -> Result<bool, NetError> {
        Ok(self.addresses(device)?.iter().any(|a| a.address == address))
    }

    /// The addresses of `device` for [`ns_source`](super::nd_check::ns_source); empty when they
    /// cannot be read (the solicitation then goes out from `::`).
    pub fn sources(&mut self, device: &str) -> Vec<Device6Address> {
        self.addresses(device)
            .map(<[Device6Address]>::to_vec)
            .unwrap_or_default()
    }

    /// Forgets the copy: the daemon itself just changed an address.
    pub fn invalidate(&mut self) {
        self.by_index = None;
        self.indexes.clear();
    }

    fn index(&mut self, device: &str) -> Result<u32, NetError> {
        self.drain_events();
        if let Some(&i) = self.indexes.get(device) {
            return Ok(i);
        }
        let i = crate::net::linux::ifindex(device)?;
        self.indexes.insert(device.to_owned(), i);
        Ok(i)
    }

    /// Reads what the event socket holds: any address event, or lost events, make the copy stale.
    fn drain_events(&mut self) {
        if self.drained {
            return;
        }
        if self.events.is_none() {
            match subscribe() {
                Ok(s) => self.events = Some(s),
                // Without events every answer reads the kernel again: correct, only dearer.
                Err(_) => {
                    self.invalidate();
                    return;
                }
            }
        }
        let socket = self.events.as_ref().expect("opened just above");
        let mut reopen = false;
        loop {
            self.buffer.clear();
            self.buffer.reserve(8192);
            match socket.recv(&mut self.buffer, libc::MSG_DONTWAIT) {
                Ok(0) => break,
                Ok(_) => {
                    self.by_index = None;
                    self.indexes.clear();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ENOBUFS: the kernel dropped events for us; anything else: start over.
                Err(e) => {
                    self.by_index = None;
                    self.indexes.clear();
                    reopen = e.raw_os_error() != Some(libc::ENOBUFS);
                    break;
                }
            }
        }
        if reopen {
            self.events = None;
        }
    }

    fn fresh(&mut self) -> Result<(), NetError> {
        let stale = self.by_index.is_none() || self.read_at.is_none_or(|t| t.elapsed() >= MAX_AGE);
        if !stale {
            return Ok(());
        }
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::open()?);
        }
        let netlink = self.netlink.as_mut().expect("opened just above");
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        let replies =
            match netlink.request(RouteNetlinkMessage::GetAddress(msg), DUMP, "IPv6 addresses") {
                Ok(r) => r,
                Err(e) => {
                    // A socket in an unknown state is not reused.
                    self.netlink = None;
                    return Err(e);
                }
            };
        let mut by_index: HashMap<u32, Vec<Device6Address>> = HashMap::new();
        for reply in replies {
            let RouteNetlinkMessage::NewAddress(a) = reply else {
                continue;
            };
            if let Some(d) = device_address(&a) {
                by_index.entry(a.header.index).or_default().push(d);
            }
        }
        self.by_index = Some(by_index);
        self.read_at = Some(Instant::now());
        Ok(())
    }
}

/// A non-blocking NETLINK_ROUTE socket in the IPv6 address group.
fn subscribe() -> Result<Socket, NetError> {
    let io_error = |context: &str, source| NetError::Io {
        context: context.into(),
        source,
    };
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| io_error("netlink event socket", e))?;
    socket
        .bind(&SocketAddr::new(0, RTMGRP_IPV6_IFADDR))
        .map_err(|e| io_error("netlink event bind", e))?;
    socket
        .set_non_blocking(true)
        .map_err(|e| io_error("netlink event socket", e))?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_device_is_no_device() {
        assert!(matches!(
            AddressBook6::new().holds("nosuchdev0", Ipv6Addr::LOCALHOST),
            Err(NetError::NoDevice(_))
        ));
        assert!(AddressBook6::new().sources("nosuchdev0").is_empty());
    }
}
