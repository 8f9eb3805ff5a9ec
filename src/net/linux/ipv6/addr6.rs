//! IPv6 address control over synchronous rtnetlink, the sibling of
//! [`addr`](crate::net::linux::addr): add an activeip without duplicate address detection
//! (`IFA_F_NODAD`: usable at once, where a tentative address would wait a second and a takeover
//! would be a second longer), remove it, list a device's addresses with their flags.

use std::net::{IpAddr, Ipv6Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::net::linux::ifindex;
use crate::net::linux::netlink::{Netlink, DUMP, REQUEST_ACK};
use crate::net::NetError;

/// The prefix used when neither the config nor an address of the device in the same network gives
/// one.
pub const HOST_PREFIX6: u8 = 128;

/// One IPv6 address of a device, as the kernel lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device6Address {
    pub address: Ipv6Addr,
    pub prefix: u8,
    /// Still in duplicate address detection: not usable as a source yet.
    pub tentative: bool,
    /// Duplicate address detection found another holder: the kernel will not use it.
    pub dadfailed: bool,
}

impl Device6Address {
    /// True when `other` lies in this address's network.
    pub fn contains(&self, other: Ipv6Addr) -> bool {
        let mask = prefix_mask6(self.prefix);
        u128::from(self.address) & mask == u128::from(other) & mask
    }

    /// Usable as a source address now.
    pub fn usable(&self) -> bool {
        !self.tentative && !self.dadfailed
    }
}

fn prefix_mask6(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - u32::from(p.min(128))),
    }
}

/// The prefix of the first address in `existing` whose network contains `address`, else /128.
pub fn infer_prefix6(existing: &[Device6Address], address: Ipv6Addr) -> u8 {
    existing
        .iter()
        .find(|a| a.address != address && a.contains(address))
        .map_or(HOST_PREFIX6, |a| a.prefix)
}

/// An IPv6 [`addr`](crate::net::linux::addr) over one kept netlink socket: a 64-channel takeover
/// is 64 adds on it. A failed request drops the socket (its state is unknown).
#[derive(Default)]
pub struct Addresses6 {
    netlink: Option<Netlink>,
}

impl Addresses6 {
    pub fn new() -> Self {
        Self::default()
    }

    fn on<T>(
        &mut self,
        f: impl FnOnce(&mut Netlink) -> Result<T, NetError>,
    ) -> Result<T, NetError> {
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::open()?);
        }
        let r = f(self.netlink.as_mut().expect("opened just above"));
        if r.is_err() {
            self.netlink = None;
        }
        r
    }

    /// Adds `address` to `device` without duplicate address detection and returns the prefix used:
    /// `prefix` if given, else that of an address of the device whose network contains `address`,
    /// else /128. An address already there is success, so a takeover can be repeated safely.
    pub fn add(
        &mut self,
        device: &str,
        address: Ipv6Addr,
        prefix: Option<u8>,
    ) -> Result<u8, NetError> {
        self.on(|n| {
            let what = format!("add {address} to {device}");
            let index = ifindex(device)?;
            let prefix = match prefix {
                Some(p) => p,
                None => infer_prefix6(&list_index(n, index, device, &what)?, address),
            };
            let mut msg = address_message(index, address, prefix);
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
            let flags = REQUEST_ACK | NLM_F_CREATE | NLM_F_EXCL;
            match exchange(
                n,
                RouteNetlinkMessage::NewAddress(msg),
                flags,
                device,
                &what,
            ) {
                // Already there: the state the takeover wants.
                Err(e) if e.os_error() == Some(libc::EEXIST) => Ok(prefix),
                r => r.map(|_| prefix),
            }
        })
    }

    /// Removes `address` (with any prefix) from `device`; an absent address is success. IPv6 has no
    /// primary and secondary addresses: nothing else goes with it. Unlike IPv4 the kernel deletes an
    /// IPv6 address only when the prefix length matches too, so each copy is deleted with its own.
    pub fn remove(&mut self, device: &str, address: Ipv6Addr) -> Result<(), NetError> {
        self.on(|n| {
            let what = format!("remove {address} from {device}");
            let index = ifindex(device)?;
            for copy in list_index(n, index, device, &what)?
                .into_iter()
                .filter(|a| a.address == address)
            {
                let msg = address_message(index, address, copy.prefix);
                match exchange(
                    n,
                    RouteNetlinkMessage::DelAddress(msg),
                    REQUEST_ACK,
                    device,
                    &what,
                ) {
                    // Gone meanwhile: the state wanted.
                    Err(e) if e.os_error() != Some(libc::EADDRNOTAVAIL) => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        })
    }

    /// The IPv6 addresses of `device`, link-local ones included.
    pub fn addresses(&mut self, device: &str) -> Result<Vec<Device6Address>, NetError> {
        self.on(|n| {
            let index = ifindex(device)?;
            list_index(
                n,
                index,
                device,
                &format!("list IPv6 addresses of {device}"),
            )
        })
    }

    /// True when `device` holds `address` (any prefix, tentative or not).
    pub fn holds(&mut self, device: &str, address: Ipv6Addr) -> Result<bool, NetError> {
        Ok(self.addresses(device)?.iter().any(|a| a.address == address))
    }
}

/// Sends one address request; a `NoDevice` names the device, as the callers expect.
fn exchange(
    netlink: &mut Netlink,
    message: RouteNetlinkMessage,
    flags: u16,
    device: &str,
    what: &str,
) -> Result<Vec<RouteNetlinkMessage>, NetError> {
    netlink.request(message, flags, what).map_err(|e| match e {
        NetError::NoDevice(_) => NetError::NoDevice(device.to_string()),
        e => e,
    })
}

fn address_message(index: u32, address: Ipv6Addr, prefix: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    msg.header.prefix_len = prefix;
    msg.header.index = index;
    // IFA_LOCAL, as `ip -6 addr` sends: the kernel takes it as the address when no peer is given.
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V6(address)));
    msg
}

/// Parses one `RTM_NEWADDR` of family IPv6: the kernel names the address in IFA_ADDRESS (IFA_LOCAL
/// only for a point-to-point peer), and its full flags in IFA_FLAGS.
pub fn device_address(a: &AddressMessage) -> Option<Device6Address> {
    let mut address = None;
    let mut local = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(a.header.flags.bits()));
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Address(IpAddr::V6(v6)) => address = Some(*v6),
            AddressAttribute::Local(IpAddr::V6(v6)) => local = Some(*v6),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    Some(Device6Address {
        address: local.or(address)?,
        prefix: a.header.prefix_len,
        tentative: flags.contains(AddressFlags::Tentative),
        dadfailed: flags.contains(AddressFlags::Dadfailed),
    })
}

fn list_index(
    netlink: &mut Netlink,
    index: u32,
    device: &str,
    what: &str,
) -> Result<Vec<Device6Address>, NetError> {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    let replies = exchange(
        netlink,
        RouteNetlinkMessage::GetAddress(msg),
        DUMP,
        device,
        what,
    )?;
    Ok(replies
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) if a.header.index == index => device_address(&a),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().expect("a valid test address")
    }

    fn a(s: &str, prefix: u8) -> Device6Address {
        Device6Address {
            address: ip(s),
            prefix,
            tentative: false,
            dadfailed: false,
        }
    }

    #[test]
    fn prefix_comes_from_an_address_in_the_same_network() {
        let existing = [a("fe80::1", 64), a("2001:db8:1::12", 64)];
        assert_eq!(infer_prefix6(&existing, ip("2001:db8:1::10")), 64);
        assert_eq!(infer_prefix6(&existing, ip("2001:db8:2::10")), 128);
        // The address itself does not set its prefix (a stale /128 copy).
        let existing = [a("2001:db8:1::10", 128), a("2001:db8:1::12", 64)];
        assert_eq!(infer_prefix6(&existing, ip("2001:db8:1::10")), 64);
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_mask6(0), 0);
        assert_eq!(prefix_mask6(128), u128::MAX);
        assert_eq!(prefix_mask6(64), u128::MAX << 64);
    }

    #[test]
    fn loopback_holds_its_address_and_an_unknown_device_is_no_device() {
        let mut book = Addresses6::new();
        // A namespace with IPv6 disabled has no ::1; only check when the kernel has one.
        if std::path::Path::new("/proc/sys/net/ipv6/conf/lo").exists()
            && book.addresses("lo").is_ok_and(|a| !a.is_empty())
        {
            assert!(book.holds("lo", Ipv6Addr::LOCALHOST).expect("lo"));
            assert!(!book.holds("lo", ip("2001:db8::99")).expect("lo"));
        }
        assert!(matches!(
            book.holds("nosuchdev0", Ipv6Addr::LOCALHOST),
            Err(NetError::NoDevice(d)) if d == "nosuchdev0"
        ));
    }
}
