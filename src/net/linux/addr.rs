//! Address control over synchronous rtnetlink: add, remove and read the IPv4 addresses of a device
//! (the takeover's "add each activeip, drop the passiveip"), plus [`NetlinkAddresses`], the
//! [`AddressControl`] the daemon uses.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::ifindex;
use super::netlink::{Netlink, DUMP, REQUEST_ACK};
use crate::net::{AddressControl, NetError};

/// The prefix used when neither the config nor an address of the device in the same network gives one.
pub const HOST_PREFIX: u8 = 32;

/// One IPv4 address of a device, as the kernel lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAddress {
    pub address: Ipv4Addr,
    pub prefix: u8,
    /// The kernel's `secondary` flag: another address of the same network is the primary.
    pub secondary: bool,
}

impl DeviceAddress {
    /// True when `other` lies in this address's network.
    pub fn contains(&self, other: Ipv4Addr) -> bool {
        let mask = prefix_mask(self.prefix);
        u32::from(self.address) & mask == u32::from(other) & mask
    }
}

fn prefix_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// The [`AddressControl`] of a real Linux node: netlink for addresses, raw frames for gratuitous ARP.
/// Everything acts on the network namespace of the calling process.
/// One netlink socket is kept for every change (a 64-channel takeover is 64 adds on it), and one
/// packet socket for gratuitous ARP.
#[derive(Default)]
pub struct NetlinkAddresses {
    netlink: Option<Netlink>,
    garp: super::garp::Announcer,
}

impl NetlinkAddresses {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on the kept socket; a failed request drops it (its state is unknown).
    fn on<T>(
        &mut self,
        f: impl FnOnce(&mut Netlink) -> Result<T, NetError>,
    ) -> Result<T, NetError> {
        if self.netlink.is_none() {
            let n = Netlink::open()?;
            // The kernel then dumps one device's addresses, not the namespace's: a release of 64
            // channels read every address 64 times.
            n.strict_dumps();
            self.netlink = Some(n);
        }
        let r = f(self.netlink.as_mut().expect("opened just above"));
        if r.is_err() {
            self.netlink = None;
        }
        r
    }
}

impl AddressControl for NetlinkAddresses {
    fn add(&mut self, device: &str, address: Ipv4Addr, prefix: Option<u8>) -> Result<(), NetError> {
        self.on(|n| add_on(n, device, address, prefix)).map(|_| ())
    }

    fn remove(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError> {
        self.on(|n| remove_on(n, device, address))
    }

    fn holds(&mut self, device: &str, address: Ipv4Addr) -> Result<bool, NetError> {
        holds(device, address)
    }

    /// Every add in one netlink datagram: a 64-channel takeover's first announcement no longer
    /// waits for 64 round trips. If the batch itself cannot be sent, one add at a time.
    fn add_all(&mut self, list: &[(&str, Ipv4Addr, Option<u8>)]) -> Vec<Result<(), NetError>> {
        match self.on(|n| add_batch(n, list)) {
            Ok(results) => results,
            Err(_) => list.iter().map(|(d, a, p)| self.add(d, *a, *p)).collect(),
        }
    }

    /// One read of the addresses and every delete in one datagram: a 64-channel release (and so
    /// the peer's takeover, which waits for its notice) no longer grows with the channels.
    fn remove_all(&mut self, list: &[(&str, Ipv4Addr)]) -> Vec<Result<(), NetError>> {
        match self.on(|n| remove_batch(n, list)) {
            Ok(results) => results,
            Err(_) => list.iter().map(|(d, a)| self.remove(d, *a)).collect(),
        }
    }

    fn announce(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError> {
        self.garp.announce(device, address)
    }
}

/// Adds `address` to `device` and returns the prefix used: `prefix` if given, else the prefix of an
/// existing address of the device whose network contains `address`, else /32. An address already
/// there is success, so a takeover can be repeated safely.
pub fn add(device: &str, address: Ipv4Addr, prefix: Option<u8>) -> Result<u8, NetError> {
    add_on(&mut Netlink::open()?, device, address, prefix)
}

/// [`add`] over an open socket.
pub fn add_on(
    netlink: &mut Netlink,
    device: &str,
    address: Ipv4Addr,
    prefix: Option<u8>,
) -> Result<u8, NetError> {
    let what = format!("add {address} to {device}");
    let index = ifindex(device)?;
    let prefix = match prefix {
        Some(p) => p,
        None => infer_prefix(&list_index(netlink, index, device, &what)?, address),
    };
    add_index(netlink, index, address, prefix, device, &what)?;
    Ok(prefix)
}

/// The prefix of the first address in `existing` whose network contains `address`, else /32.
pub fn infer_prefix(existing: &[DeviceAddress], address: Ipv4Addr) -> u8 {
    existing
        .iter()
        .find(|a| a.address != address && a.contains(address))
        .map_or(HOST_PREFIX, |a| a.prefix)
}

/// Removes `address` (with any prefix) from `device`; an absent address is success.
///
/// With `promote_secondaries=0` (the kernel default) removing a primary address also removes the
/// secondaries of its network: dropping the passiveip would silently drop the activeip added beside
/// it. Those collateral losses are added back at once with their prefixes.
pub fn remove(device: &str, address: Ipv4Addr) -> Result<(), NetError> {
    remove_on(&mut Netlink::open()?, device, address)
}

/// [`remove`] over an open socket.
pub fn remove_on(netlink: &mut Netlink, device: &str, address: Ipv4Addr) -> Result<(), NetError> {
    let what = format!("remove {address} from {device}");
    let index = ifindex(device)?;
    let before = list_index(netlink, index, device, &what)?;
    let copies: Vec<&DeviceAddress> = before.iter().filter(|b| b.address == address).collect();
    // An address may be present more than once with different prefixes: one delete per copy (the
    // kernel matches IFA_LOCAL alone); one gone meanwhile is fine.
    for _ in &copies {
        match del_index(netlink, index, address, device, &what) {
            Ok(()) => {}
            Err(e) if e.os_error() == Some(libc::EADDRNOTAVAIL) => break,
            Err(e) => return Err(e),
        }
    }
    // Only a primary with secondaries in its network can take others with it.
    let collateral = copies.iter().any(|c| {
        !c.secondary
            && before
                .iter()
                .any(|b| b.address != address && b.secondary && c.contains(b.address))
    });
    if !collateral {
        return Ok(());
    }
    let after = list_index(netlink, index, device, &what)?;
    for lost in before
        .iter()
        .filter(|b| b.address != address && !after.iter().any(|a| a.address == b.address))
    {
        let restore = format!("{what}: restore {}/{}", lost.address, lost.prefix);
        add_index(netlink, index, lost.address, lost.prefix, device, &restore)?;
    }
    Ok(())
}

/// The errno of one message of a batch as the result of that item, named like [`exchange`] names
/// a device.
fn item_result(code: Option<i32>, ok: &[i32], device: &str, what: &str) -> Result<(), NetError> {
    match code {
        None => Ok(()),
        Some(c) if ok.contains(&c) => Ok(()),
        Some(c) => Err(
            match super::netlink::nack(what, std::io::Error::from_raw_os_error(c)) {
                NetError::NoDevice(_) => NetError::NoDevice(device.to_string()),
                e => e,
            },
        ),
    }
}

/// [`add_on`] for a list, the adds in one datagram; the outer error is the batch's own (not sent).
fn add_batch(
    netlink: &mut Netlink,
    list: &[(&str, Ipv4Addr, Option<u8>)],
) -> Result<Vec<Result<(), NetError>>, NetError> {
    let mut results: Vec<Option<Result<(), NetError>>> = Vec::with_capacity(list.len());
    let mut existing: std::collections::HashMap<u32, Vec<DeviceAddress>> = Default::default();
    let mut messages = Vec::new();
    let mut sent = Vec::new();
    for (i, &(device, address, prefix)) in list.iter().enumerate() {
        let what = format!("add {address} to {device}");
        let index = match ifindex(device) {
            Ok(x) => x,
            Err(e) => {
                results.push(Some(Err(e)));
                continue;
            }
        };
        let prefix = match prefix {
            Some(p) => p,
            None => {
                if let std::collections::hash_map::Entry::Vacant(v) = existing.entry(index) {
                    v.insert(list_index(netlink, index, device, &what)?);
                }
                infer_prefix(&existing[&index], address)
            }
        };
        let mut msg = address_message(index, address, prefix);
        msg.attributes
            .push(AddressAttribute::Address(IpAddr::V4(address)));
        messages.push(RouteNetlinkMessage::NewAddress(msg));
        sent.push(i);
        results.push(None);
    }
    let codes = netlink.request_all(messages, NLM_F_CREATE | NLM_F_EXCL, "add addresses")?;
    for (i, code) in sent.into_iter().zip(codes) {
        let (device, address, _) = list[i];
        let what = format!("add {address} to {device}");
        // Already there: the state the takeover wants.
        results[i] = Some(item_result(code, &[libc::EEXIST], device, &what));
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every item answered"))
        .collect())
}

/// [`remove_on`] for a list: one read of every device's addresses, one delete per copy, all in one
/// datagram; the after-read and the restore of collateral losses only for a device where a primary
/// with secondaries went (never restoring an address this batch removes).
fn remove_batch(
    netlink: &mut Netlink,
    list: &[(&str, Ipv4Addr)],
) -> Result<Vec<Result<(), NetError>>, NetError> {
    let before = list_all(netlink, "read addresses")?;
    let mut results: Vec<Result<(), NetError>> = Vec::with_capacity(list.len());
    let mut indexes = Vec::with_capacity(list.len());
    let mut messages = Vec::new();
    let mut owner = Vec::new();
    for (i, &(device, address)) in list.iter().enumerate() {
        match ifindex(device) {
            Ok(index) => {
                let copies = before
                    .get(&index)
                    .map_or(0, |v| v.iter().filter(|b| b.address == address).count());
                for _ in 0..copies {
                    messages.push(RouteNetlinkMessage::DelAddress(address_message(
                        index, address, 0,
                    )));
                    owner.push(i);
                }
                indexes.push(Some(index));
                results.push(Ok(()));
            }
            Err(e) => {
                indexes.push(None);
                results.push(Err(e));
            }
        }
    }
    let codes = netlink.request_all(messages, 0, "remove addresses")?;
    for (i, code) in owner.into_iter().zip(codes) {
        let (device, address) = list[i];
        let what = format!("remove {address} from {device}");
        if results[i].is_ok() {
            // One gone meanwhile is fine.
            results[i] = item_result(code, &[libc::EADDRNOTAVAIL], device, &what);
        }
    }
    let mut checked: Vec<u32> = Vec::new();
    for (i, &(device, address)) in list.iter().enumerate() {
        let Some(index) = indexes[i] else { continue };
        let Some(had) = before.get(&index) else {
            continue;
        };
        let collateral = had.iter().any(|c| {
            c.address == address
                && !c.secondary
                && had
                    .iter()
                    .any(|b| b.address != address && b.secondary && c.contains(b.address))
        });
        if !collateral || checked.contains(&index) {
            continue;
        }
        checked.push(index);
        let removed: Vec<Ipv4Addr> = list
            .iter()
            .zip(&indexes)
            .filter(|(_, x)| **x == Some(index))
            .map(|((_, a), _)| *a)
            .collect();
        let what = format!("remove {address} from {device}");
        let after = list_index(netlink, index, device, &what)?;
        for lost in had.iter().filter(|b| {
            !removed.contains(&b.address) && !after.iter().any(|a| a.address == b.address)
        }) {
            let restore = format!("{what}: restore {}/{}", lost.address, lost.prefix);
            add_index(netlink, index, lost.address, lost.prefix, device, &restore)?;
        }
    }
    Ok(results)
}

/// True when `device` holds `address` (any prefix).
pub fn holds(device: &str, address: Ipv4Addr) -> Result<bool, NetError> {
    Ok(addresses(device)?.iter().any(|a| a.address == address))
}

/// The IPv4 addresses of `device`, in the kernel's order (primaries before their secondaries).
pub fn addresses(device: &str) -> Result<Vec<DeviceAddress>, NetError> {
    let index = ifindex(device)?;
    let what = format!("list addresses of {device}");
    list_index(&mut Netlink::open()?, index, device, &what)
}

/// Sends one address request. [`Netlink::request`] names `what` in a `NoDevice`; here the device
/// itself is named, as the callers of this module expect.
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

fn address_message(index: u32, address: Ipv4Addr, prefix: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(address)));
    msg
}

fn add_index(
    netlink: &mut Netlink,
    index: u32,
    address: Ipv4Addr,
    prefix: u8,
    device: &str,
    what: &str,
) -> Result<(), NetError> {
    let mut msg = address_message(index, address, prefix);
    // For IPv4 `ip addr add` sends both IFA_LOCAL and IFA_ADDRESS (the peer; equal when not p2p).
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(address)));
    let flags = REQUEST_ACK | NLM_F_CREATE | NLM_F_EXCL;
    match exchange(
        netlink,
        RouteNetlinkMessage::NewAddress(msg),
        flags,
        device,
        what,
    ) {
        // Already there: the state the takeover wants.
        Err(e) if e.os_error() == Some(libc::EEXIST) => Ok(()),
        r => r.map(|_| ()),
    }
}

fn del_index(
    netlink: &mut Netlink,
    index: u32,
    address: Ipv4Addr,
    device: &str,
    what: &str,
) -> Result<(), NetError> {
    // Only IFA_LOCAL: the kernel then matches the address whatever its prefix.
    let msg = address_message(index, address, 0);
    exchange(
        netlink,
        RouteNetlinkMessage::DelAddress(msg),
        REQUEST_ACK,
        device,
        what,
    )
    .map(|_| ())
}

fn list_index(
    netlink: &mut Netlink,
    index: u32,
    device: &str,
    what: &str,
) -> Result<Vec<DeviceAddress>, NetError> {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    // Honoured by a socket with strict checking (Linux 4.20+), ignored otherwise: the replies are
    // filtered on the index below either way.
    msg.header.index = index;
    let replies = exchange(
        netlink,
        RouteNetlinkMessage::GetAddress(msg),
        DUMP,
        device,
        what,
    )?;
    Ok(by_index(replies).remove(&index).unwrap_or_default())
}

/// Every device's IPv4 addresses, by interface index (one dump).
fn list_all(
    netlink: &mut Netlink,
    what: &str,
) -> Result<std::collections::HashMap<u32, Vec<DeviceAddress>>, NetError> {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    let replies = netlink.request(RouteNetlinkMessage::GetAddress(msg), DUMP, what)?;
    Ok(by_index(replies))
}

/// The addresses of a dump, grouped by interface index, in the kernel's order.
fn by_index(
    replies: Vec<RouteNetlinkMessage>,
) -> std::collections::HashMap<u32, Vec<DeviceAddress>> {
    let mut out: std::collections::HashMap<u32, Vec<DeviceAddress>> = Default::default();
    for m in replies {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        let Some(local) = a.attributes.iter().find_map(|attr| match attr {
            AddressAttribute::Local(IpAddr::V4(v4)) => Some(*v4),
            _ => None,
        }) else {
            continue;
        };
        out.entry(a.header.index).or_default().push(DeviceAddress {
            address: local,
            prefix: a.header.prefix_len,
            secondary: a.header.flags.contains(AddressHeaderFlags::Secondary),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("a valid test address")
    }

    fn a(s: &str, prefix: u8) -> DeviceAddress {
        DeviceAddress {
            address: ip(s),
            prefix,
            secondary: false,
        }
    }

    #[test]
    fn prefix_comes_from_an_address_in_the_same_network() {
        let existing = [a("198.51.100.11", 24), a("192.0.2.11", 25)];
        assert_eq!(infer_prefix(&existing, ip("192.0.2.10")), 25);
        assert_eq!(
            infer_prefix(&existing, ip("192.0.2.200")),
            HOST_PREFIX,
            "outside the /25"
        );
        assert_eq!(infer_prefix(&[], ip("192.0.2.10")), 32);
    }

    #[test]
    fn the_address_itself_does_not_set_its_prefix() {
        // A stale /32 copy of the activeip must not make the next add a /32 again.
        let existing = [a("192.0.2.10", 32), a("192.0.2.11", 24)];
        assert_eq!(infer_prefix(&existing, ip("192.0.2.10")), 24);
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(24), 0xffff_ff00);
        assert_eq!(prefix_mask(32), u32::MAX);
    }

    #[test]
    fn a_missing_device_is_no_device() {
        assert!(matches!(
            holds("nosuchdev0", ip("192.0.2.10")),
            Err(NetError::NoDevice(d)) if d == "nosuchdev0"
        ));
    }

    #[test]
    fn a_nack_names_the_device_not_the_request() {
        // No interface has index u32::MAX: as root the kernel answers ENODEV, otherwise EPERM first.
        let mut netlink = Netlink::open().expect("a netlink socket");
        let err = del_index(
            &mut netlink,
            u32::MAX,
            ip("192.0.2.10"),
            "gone0",
            "remove 192.0.2.10 from gone0",
        )
        .expect_err("no such interface index");
        if nix::unistd::geteuid().is_root() {
            assert!(
                matches!(err, NetError::NoDevice(ref d) if d == "gone0"),
                "{err:?}"
            );
        } else {
            assert!(matches!(err, NetError::Privilege { .. }), "{err:?}");
        }
    }
}
