//! The IPv4 addresses of every device, kept in memory for the daemon's per-check questions ("do I
//! still hold the activeip?", "which of my addresses is the source of this ARP request?"), so an
//! idle check costs no netlink socket and no `getifaddrs`.
//!
//! The copy is re-read (one `RTM_GETADDR` dump on a socket kept open) when the kernel reports an
//! address change on a socket subscribed to `RTMGRP_IPV4_IFADDR`, when that socket overflowed
//! (`ENOBUFS`: events were lost), and at the latest [`MAX_AGE`] after the last read. The event socket
//! is drained (one non-blocking `recvfrom`) before every answer, so an address removed behind the
//! daemon's back is seen by the very next check, as when every check asked the kernel.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::addr::DeviceAddress;
use super::netlink::{Netlink, DUMP};
use crate::net::NetError;

/// `RTMGRP_IPV4_IFADDR` (linux/rtnetlink.h): the multicast group of IPv4 address changes.
const RTMGRP_IPV4_IFADDR: u32 = 0x10;

/// The copy is re-read at least this often even without an event: a bound on any surprise (a
/// kernel that drops an event without reporting `ENOBUFS`), at one dump per second.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Every device's IPv4 addresses, by interface index.
#[derive(Default)]
pub struct AddressBook {
    netlink: Option<Netlink>,
    events: Option<Socket>,
    buffer: Vec<u8>,
    /// `None`: must be read again before the next answer.
    by_index: Option<HashMap<u32, Vec<DeviceAddress>>>,
    read_at: Option<Instant>,
    /// Device names to indexes; emptied whenever an event arrives (a device re-created under the
    /// same name has a new index, and its addresses come and go with events).
    indexes: HashMap<String, u32>,
    /// Set while [`Self::holds_each`] answers a batch from one drain of the event socket.
    drained: bool,
}

impl AddressBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// The IPv4 addresses of `device` now, with their prefixes.
    pub fn addresses(&mut self, device: &str) -> Result<&[DeviceAddress], NetError> {
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
    pub fn holds_each(&mut self, wanted: &[(&str, Ipv4Addr)]) -> Vec<Result<bool, NetError>> {
        self.drain_events();
        self.drained = true;
        let out = wanted.iter().map(|(d, a)| self.holds(d, *a)).collect();
        self.drained = false;
        out
    }

    /// Answers the following lookups from one drain of the event socket, until [`Self::end_batch`]:
    /// the requests of one check (64 channels) read the socket once, not once per request.
    pub fn begin_batch(&mut self) {
        self.drain_events();
        self.drained = true;
    }

    pub fn end_batch(&mut self) {
        self.drained = false;
    }

    pub fn holds(&mut self, device: &str, address: Ipv4Addr) -> Result<bool, NetError> {
        Ok(self.addresses(device)?.iter().any(|a| a.address == address))
    }

    /// The addresses of `device` as `(address, prefix)`; empty when it cannot be read (the ARP
    /// request then goes out in probe form, as before).
    pub fn sources(&mut self, device: &str) -> Vec<(Ipv4Addr, u8)> {
        self.addresses(device)
            .map(|a| a.iter().map(|a| (a.address, a.prefix)).collect())
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
        let i = super::ifindex(device)?;
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
        msg.header.family = AddressFamily::Inet;
        let replies = match netlink.request(RouteNetlinkMessage::GetAddress(msg), DUMP, "addresses")
        {
            Ok(r) => r,
            Err(e) => {
                // A socket in an unknown state is not reused.
                self.netlink = None;
                return Err(e);
            }
        };
        let mut by_index: HashMap<u32, Vec<DeviceAddress>> = HashMap::new();
        for reply in replies {
            let RouteNetlinkMessage::NewAddress(a) = reply else {
                continue;
            };
            let Some(local) = a.attributes.iter().find_map(|attr| match attr {
                AddressAttribute::Local(IpAddr::V4(v4)) => Some(*v4),
                _ => None,
            }) else {
                continue;
            };
            by_index
                .entry(a.header.index)
                .or_default()
                .push(DeviceAddress {
                    address: local,
                    prefix: a.header.prefix_len,
                    secondary: a.header.flags.contains(AddressHeaderFlags::Secondary),
                });
        }
        self.by_index = Some(by_index);
        self.read_at = Some(Instant::now());
        Ok(())
    }
}

/// A non-blocking NETLINK_ROUTE socket in the IPv4 address group.
fn subscribe() -> Result<Socket, NetError> {
    let io_error = |context: &str, source| NetError::Io {
        context: context.into(),
        source,
    };
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| io_error("netlink event socket", e))?;
    socket
        .bind(&SocketAddr::new(0, RTMGRP_IPV4_IFADDR))
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
    fn loopback_holds_its_address_and_an_unknown_device_is_no_device() {
        let mut book = AddressBook::new();
        assert!(book
            .holds("lo", Ipv4Addr::LOCALHOST)
            .expect("lo is readable"));
        assert!(!book
            .holds("lo", Ipv4Addr::new(192, 0, 2, 99))
            .expect("lo is readable"));
        assert!(matches!(
            book.holds("nosuchdev0", Ipv4Addr::LOCALHOST),
            Err(NetError::NoDevice(_))
        ));
        assert!(book.sources("lo").contains(&(Ipv4Addr::LOCALHOST, 8)));
    }
}
