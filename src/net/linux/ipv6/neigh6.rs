//! The kernel's IPv6 neighbour table over netlink, the sibling of
//! [`neigh`](crate::net::linux::neigh): delete one entry (`RTM_DELNEIGH`, `AF_INET6`), read entries
//! (`RTM_GETNEIGH` dump) with their NUD state and MAC.

use std::net::Ipv6Addr;

use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::net::linux::neigh::state_of;
use crate::net::linux::netlink::{Netlink, DUMP, REQUEST_ACK};
use crate::net::linux::{ifindex, ifname};
use crate::net::{NeighbourState, NetError};

/// One address on one device: what the neighbour-discovery checks ask about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NdTarget {
    pub device: String,
    pub address: Ipv6Addr,
}

/// One entry of the IPv6 neighbour table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour6 {
    pub device: String,
    pub address: Ipv6Addr,
    pub state: NeighbourState,
    pub mac: Option<[u8; 6]>,
}

/// The IPv6 neighbour table of the current namespace, one netlink socket kept.
#[derive(Default)]
pub struct Neighbours6 {
    netlink: Option<Netlink>,
    /// Interface indexes by name; an entry is dropped when the kernel no longer knows its index.
    indexes: std::collections::HashMap<String, u32>,
}

impl Neighbours6 {
    pub fn new() -> Self {
        Self::default()
    }

    fn netlink(&mut self) -> Result<&mut Netlink, NetError> {
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::open()?);
        }
        Ok(self.netlink.as_mut().expect("opened just above"))
    }

    fn index(&mut self, device: &str) -> Result<u32, NetError> {
        if let Some(&i) = self.indexes.get(device) {
            return Ok(i);
        }
        let i = ifindex(device)?;
        self.indexes.insert(device.to_owned(), i);
        Ok(i)
    }

    /// Deletes the entry of `address` on `device`; an absent entry is success.
    pub fn delete(&mut self, device: &str, address: Ipv6Addr) -> Result<(), NetError> {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.ifindex = self.index(device)?;
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet6(
                address,
            )));
        let what = format!("delete neighbour {address} on {device}");
        match self
            .netlink()?
            .request(RouteNetlinkMessage::DelNeighbour(m), REQUEST_ACK, &what)
        {
            Ok(_) => Ok(()),
            // Nothing to delete is the state we wanted.
            Err(e) if e.os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) => {
                // A device re-created under its name has a new index: look it up again next time.
                self.indexes.remove(device);
                Err(e)
            }
        }
    }

    /// Every IPv6 neighbour entry (of `device` only, when given).
    pub fn entries(&mut self, device: Option<&str>) -> Result<Vec<Neighbour6>, NetError> {
        let index = device.map(|d| self.index(d)).transpose()?;
        Ok(self
            .dump()?
            .iter()
            .filter(|m| index.is_none_or(|i| i == m.header.ifindex))
            .filter_map(|m| entry_of(m, device))
            .collect())
    }

    /// The entries of every target that has one (one read of the table for all).
    pub fn entries_of(&mut self, targets: &[NdTarget]) -> Result<Vec<Neighbour6>, NetError> {
        let mut wanted = Vec::with_capacity(targets.len());
        for t in targets {
            wanted.push((self.index(&t.device)?, t));
        }
        let mut out = Vec::new();
        for m in self.dump()? {
            for (index, t) in &wanted {
                if *index != m.header.ifindex {
                    continue;
                }
                if let Some(e) = entry_of(&m, Some(&t.device)).filter(|e| e.address == t.address) {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// The entry of `address` on `device`, if there is one.
    pub fn lookup(
        &mut self,
        device: &str,
        address: Ipv6Addr,
    ) -> Result<Option<Neighbour6>, NetError> {
        Ok(self
            .entries(Some(device))?
            .into_iter()
            .find(|e| e.address == address))
    }

    fn dump(&mut self) -> Result<Vec<NeighbourMessage>, NetError> {
        let mut query = NeighbourMessage::default();
        query.header.family = AddressFamily::Inet6;
        let replies = self.netlink()?.request(
            RouteNetlinkMessage::GetNeighbour(query),
            DUMP,
            "IPv6 neighbour table",
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewNeighbour(m) => Some(m),
                _ => None,
            })
            .collect())
    }
}

fn entry_of(m: &NeighbourMessage, device: Option<&str>) -> Option<Neighbour6> {
    let mut address = None;
    let mut mac = None;
    for attribute in &m.attributes {
        match attribute {
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => address = Some(*a),
            NeighbourAttribute::LinkLayerAddress(bytes) => {
                mac = <[u8; 6]>::try_from(bytes.as_slice()).ok();
            }
            _ => {}
        }
    }
    Some(Neighbour6 {
        device: device
            .map(str::to_string)
            .or_else(|| ifname(m.header.ifindex))
            .unwrap_or_else(|| format!("if{}", m.header.ifindex)),
        address: address?,
        state: state_of(m.header.state),
        mac,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_on_an_unknown_device_is_no_device() {
        let err = Neighbours6::new()
            .lookup("nosuchdev0", "2001:db8::10".parse().expect("address"))
            .expect_err("no device");
        assert!(matches!(err, NetError::NoDevice(_)), "{err:?}");
    }
}
