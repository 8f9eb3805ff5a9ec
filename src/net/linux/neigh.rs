//! The kernel's IPv4 neighbour (ARP) table over netlink: delete one entry (`RTM_DELNEIGH`), read
//! entries (`RTM_GETNEIGH` dump) with their NUD state and MAC.

use std::net::Ipv4Addr;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState as NudState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::{Netlink, DUMP, REQUEST_ACK};
use super::{ifindex, ifname};
use crate::net::{NeighbourEntry, NeighbourState, NeighbourTable, NetError};

/// [`NeighbourTable`] of the current namespace.
#[derive(Default)]
pub struct NetlinkNeighbours {
    netlink: Option<Netlink>,
    /// Interface indexes by name (`if_nametoindex` costs a socket and an ioctl); an entry is
    /// dropped when the kernel no longer knows its index.
    indexes: std::collections::HashMap<String, u32>,
}

impl NetlinkNeighbours {
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

    /// Every IPv4 neighbour entry (of `device` only, when given).
    pub fn entries(&mut self, device: Option<&str>) -> Result<Vec<NeighbourEntry>, NetError> {
        let index = device.map(|d| self.index(d)).transpose()?;
        let mut query = NeighbourMessage::default();
        query.header.family = AddressFamily::Inet;
        let replies = self.netlink()?.request(
            RouteNetlinkMessage::GetNeighbour(query),
            DUMP,
            "neighbour table",
        )?;
        let mut entries = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewNeighbour(m) = reply else {
                continue;
            };
            if index.is_some_and(|i| i != m.header.ifindex) {
                continue;
            }
            if let Some(entry) = entry_of(&m, device) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }
}

fn entry_of(m: &NeighbourMessage, device: Option<&str>) -> Option<NeighbourEntry> {
    let mut address = None;
    let mut mac = None;
    for attribute in &m.attributes {
        match attribute {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => address = Some(*a),
            NeighbourAttribute::LinkLayerAddress(bytes) => {
                mac = <[u8; 6]>::try_from(bytes.as_slice()).ok();
            }
            _ => {}
        }
    }
    Some(NeighbourEntry {
        device: device
            .map(str::to_string)
            .or_else(|| ifname(m.header.ifindex))
            .unwrap_or_else(|| format!("if{}", m.header.ifindex)),
        address: address?,
        state: state_of(m.header.state),
        mac,
    })
}

/// Translates the netlink crate's state into ours, so the traits do not leak netlink types.
pub fn state_of(state: NudState) -> NeighbourState {
    match state {
        NudState::Incomplete => NeighbourState::Incomplete,
        NudState::Reachable => NeighbourState::Reachable,
        NudState::Stale => NeighbourState::Stale,
        NudState::Delay => NeighbourState::Delay,
        NudState::Probe => NeighbourState::Probe,
        NudState::Failed => NeighbourState::Failed,
        NudState::Noarp => NeighbourState::Noarp,
        NudState::Permanent => NeighbourState::Permanent,
        NudState::None => NeighbourState::None,
        other => NeighbourState::Other(u16::from(other)),
    }
}

impl NeighbourTable for NetlinkNeighbours {
    fn delete(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError> {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.ifindex = self.index(device)?;
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
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

    /// Every delete in one datagram, acknowledged only by the last (the kernel handles them in
    /// order, and a failed one still reports): one send and one receive per check instead of a
    /// round trip per channel.
    fn delete_all(&mut self, targets: &[crate::net::ArpTarget]) -> Result<(), NetError> {
        let mut messages = Vec::with_capacity(targets.len());
        for t in targets {
            let mut m = NeighbourMessage::default();
            m.header.family = AddressFamily::Inet;
            m.header.ifindex = self.index(&t.device)?;
            m.attributes
                .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
                    super::ipv4(t.address)?,
                )));
            messages.push(RouteNetlinkMessage::DelNeighbour(m));
        }
        let errors = self
            .netlink()?
            .request_all(messages, 0, "delete neighbours")?;
        for (t, e) in targets.iter().zip(errors) {
            match e {
                // Nothing to delete is the state we wanted.
                None | Some(libc::ENOENT) => {}
                Some(code) => {
                    self.indexes.remove(&t.device);
                    // EPERM/EACCES become a privilege error, as for a single delete.
                    return Err(super::netlink::nack(
                        &format!("delete neighbour {} on {}", t.address, t.device),
                        std::io::Error::from_raw_os_error(code),
                    ));
                }
            }
        }
        Ok(())
    }

    fn entries_of(
        &mut self,
        targets: &[crate::net::ArpTarget],
    ) -> Result<Vec<NeighbourEntry>, NetError> {
        let mut wanted = Vec::with_capacity(targets.len());
        for t in targets {
            wanted.push((self.index(&t.device)?, t));
        }
        let mut query = NeighbourMessage::default();
        query.header.family = AddressFamily::Inet;
        let replies = self.netlink()?.request(
            RouteNetlinkMessage::GetNeighbour(query),
            DUMP,
            "neighbour table",
        )?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewNeighbour(m) = reply else {
                continue;
            };
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

    fn lookup(
        &mut self,
        device: &str,
        address: Ipv4Addr,
    ) -> Result<Option<NeighbourEntry>, NetError> {
        Ok(self
            .entries(Some(device))?
            .into_iter()
            .find(|e| e.address == address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_translate_and_only_resolved_ones_are_complete() {
        assert_eq!(state_of(NudState::Reachable), NeighbourState::Reachable);
        assert!(state_of(NudState::Stale).is_complete());
        assert!(state_of(NudState::Permanent).is_complete());
        assert!(!state_of(NudState::Incomplete).is_complete());
        assert!(!state_of(NudState::Failed).is_complete());
        assert!(!state_of(NudState::None).is_complete());
        // A multicast address's entry (33:33:..., 01:00:5e:...) was made by the kernel, not given
        // by an answer: `arp-check --method table ff02::1` said "answered".
        assert!(!state_of(NudState::Noarp).is_complete());
    }

    #[test]
    fn lookup_on_an_unknown_device_is_no_device() {
        let err = NetlinkNeighbours::new()
            .lookup("nosuchdev0", Ipv4Addr::new(192, 0, 2, 10))
            .expect_err("no device");
        assert!(matches!(err, NetError::NoDevice(_)), "{err:?}");
    }
}
