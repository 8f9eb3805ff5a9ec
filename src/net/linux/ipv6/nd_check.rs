//! The passive node's check in neighbour-discovery form, two ways, and the active's rival look; the
//! IPv6 siblings of [`arp`](crate::net::linux::arp).
//!
//! - [`TableNdChecker`], the source document's steps: delete the neighbour entry of each address,
//!   send a UDP datagram to it out of the channel's device (the kernel solicits), wait, read the
//!   table: REACHABLE, STALE, DELAY, PROBE or PERMANENT is an answer; INCOMPLETE or FAILED is none.
//! - [`RawNdChecker`]: send the Neighbour Solicitation ourselves ([`NdSocket`]) and read the
//!   Advertisement, touching no kernel table. In duplicate-address-detection form (source `::`) it is
//!   the active's rival look: a rival holder answers to all nodes and learns nothing from it.
//!
//! The daemon drives the same pieces from its event loop ([`TableNdChecker::begin`] and
//! [`TableNdChecker::read`], [`NdSocket`]); the blocking `check`/`rivals` serve the one-shot CLI.

use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::addr6::{Addresses6, Device6Address};
use super::icmp6::is_link_local;
use super::nd_socket::NdSocket;
use super::neigh6::{NdTarget, Neighbours6};
use crate::net::linux::arp::DISCARD_PORT;
use crate::net::NetError;

/// The answer for one target: the MAC of whoever answered, `None` when nobody did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdResult {
    pub target: NdTarget,
    pub mac: Option<[u8; 6]>,
}

/// Another station answering for one of our addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rival6 {
    pub device: String,
    pub address: Ipv6Addr,
    pub rival_mac: [u8; 6],
    pub own_mac: [u8; 6],
}

/// How often the one-shot table check reads the table before the deadline, to finish early once
/// every address has answered.
const TABLE_POLL: Duration = Duration::from_millis(20);

/// The table check's UDP sockets, one bound to each device, kept open across checks.
pub type Udp6Sockets = std::collections::HashMap<String, Socket>;

/// The source document's check over the kernel's IPv6 neighbour table (CAP_NET_ADMIN to delete).
#[derive(Default)]
pub struct TableNdChecker {
    table: Neighbours6,
    udp: Udp6Sockets,
}

impl TableNdChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first half: delete each target's entry (so a stale one cannot pass for a live peer),
    /// then make the kernel solicit it. The daemon calls [`Self::read`] when the timeout has passed.
    pub fn begin(&mut self, targets: &[NdTarget]) -> Result<(), NetError> {
        for t in targets {
            self.table.delete(&t.device, t.address)?;
        }
        for t in targets {
            send_udp6_on(&mut self.udp, &t.device, t.address)?;
        }
        Ok(())
    }

    /// The second half: who is in the table now with a complete entry (one read for all targets).
    pub fn read(&mut self, targets: &[NdTarget]) -> Result<Vec<NdResult>, NetError> {
        let entries = self.table.entries_of(targets)?;
        Ok(targets
            .iter()
            .map(|t| NdResult {
                target: t.clone(),
                mac: entries
                    .iter()
                    .find(|e| e.device == t.device && e.address == t.address)
                    .filter(|e| e.state.is_complete())
                    .and_then(|e| e.mac),
            })
            .collect())
    }

    /// Both halves (the one-shot CLI): the table is read until every target has a complete entry
    /// or `timeout` has passed, as the IPv4 table check does.
    pub fn check(
        &mut self,
        targets: &[NdTarget],
        timeout: Duration,
    ) -> Result<Vec<NdResult>, NetError> {
        let deadline = Instant::now() + timeout;
        self.begin(targets)?;
        loop {
            let results = self.read(targets)?;
            let now = Instant::now();
            if results.iter().all(|r| r.mac.is_some()) || now >= deadline {
                return Ok(results);
            }
            std::thread::sleep(TABLE_POLL.min(deadline - now));
        }
    }
}

/// One UDP datagram to `address` out of `device` from the device's socket in `sockets` (opened on
/// first use and kept): the kernel has to resolve the address first, so it sends the solicitation.
pub fn send_udp6_on(
    sockets: &mut Udp6Sockets,
    device: &str,
    address: Ipv6Addr,
) -> Result<(), NetError> {
    if !sockets.contains_key(device) {
        let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| NetError::from_io("UDP socket", device, "CAP_NET_RAW", e))?;
        socket.bind_device(Some(device.as_bytes())).map_err(|e| {
            NetError::from_io("bind UDP socket to device", device, "CAP_NET_RAW", e)
        })?;
        socket.set_nonblocking(true).map_err(|e| NetError::Io {
            context: format!("non-blocking UDP socket on {device}"),
            source: e,
        })?;
        sockets.insert(device.to_owned(), socket);
    }
    let scope = if is_link_local(address) {
        crate::net::linux::ifindex(device)?
    } else {
        0
    };
    // The datagram waits in the neighbour queue while the kernel resolves; a refusal here (no route)
    // just leaves the entry unresolved, which the table read reports.
    let _ = sockets[device].send_to(
        b"failoverctl arp-check",
        &SockAddr::from(SocketAddrV6::new(address, DISCARD_PORT, 0, scope)),
    );
    Ok(())
}

/// The source address of a solicitation for `target`: `::` in rival (DAD) form; else our usable
/// address (of `sources`) in the target's network, else our link-local one, else `::` (which every
/// stack answers too, to all nodes).
pub fn ns_source(rival_form: bool, sources: &[Device6Address], target: Ipv6Addr) -> Ipv6Addr {
    if rival_form {
        return Ipv6Addr::UNSPECIFIED;
    }
    let usable = || sources.iter().filter(|s| s.usable() && s.address != target);
    usable()
        .find(|s| s.contains(target))
        .or_else(|| usable().find(|s| is_link_local(s.address)))
        .map_or(Ipv6Addr::UNSPECIFIED, |s| s.address)
}

/// Solicitation and advertisement on the wire, no kernel table involved; needs CAP_NET_RAW.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawNdChecker;

/// What one device found: its own MAC, and who answered for which address.
type DeviceAnswers = ([u8; 6], BTreeMap<Ipv6Addr, [u8; 6]>);

impl RawNdChecker {
    pub fn new() -> Self {
        RawNdChecker
    }

    /// The passive's raw check: solicitations from our own address, answered by the holder.
    pub fn check(
        &self,
        targets: &[NdTarget],
        timeout: Duration,
    ) -> Result<Vec<NdResult>, NetError> {
        let answers = raw_check(targets, timeout, false)?;
        Ok(targets
            .iter()
            .map(|t| NdResult {
                target: t.clone(),
                mac: answers
                    .get(&t.device)
                    .and_then(|(_, found)| found.get(&t.address).copied()),
            })
            .collect())
    }

    /// The active's look for a rival holder of its own addresses: DAD-form solicitations, one
    /// [`Rival6`] for each target another station answered for within `timeout`.
    pub fn rivals(&self, targets: &[NdTarget], timeout: Duration) -> Result<Vec<Rival6>, NetError> {
        let answers = raw_check(targets, timeout, true)?;
        Ok(targets
            .iter()
            .filter_map(|t| {
                let (own_mac, found) = answers.get(&t.device)?;
                // The socket already drops frames from our own MAC: whoever is left is a rival.
                found.get(&t.address).map(|rival_mac| Rival6 {
                    device: t.device.clone(),
                    address: t.address,
                    rival_mac: *rival_mac,
                    own_mac: *own_mac,
                })
            })
            .collect())
    }
}

/// Sends the solicitations for all targets (again at half time, for a lost frame) and collects the
/// advertisements until each target answered or `timeout` has passed.
fn raw_check(
    targets: &[NdTarget],
    timeout: Duration,
    rival_form: bool,
) -> Result<BTreeMap<String, DeviceAnswers>, NetError> {
    let deadline = Instant::now() + timeout;
    let mut addresses = Addresses6::new();
    let mut sockets: Vec<(NdSocket, Vec<Device6Address>)> = Vec::new();
    // Every socket is open before any solicitation goes out, so no early answer is missed.
    for t in targets {
        if !sockets.iter().any(|(s, _)| s.device == t.device) {
            let socket = NdSocket::open(&t.device)?;
            let sources = if rival_form {
                Vec::new()
            } else {
                addresses.addresses(&t.device)?
            };
            sockets.push((socket, sources));
        }
    }
    let mut found: BTreeMap<NdTarget, [u8; 6]> = BTreeMap::new();
    let send = |found: &BTreeMap<NdTarget, [u8; 6]>| {
        for t in targets.iter().filter(|t| !found.contains_key(t)) {
            if let Some((s, sources)) = sockets.iter().find(|(s, _)| s.device == t.device) {
                // A failed send leaves the address unanswered, which is what gets reported.
                let _ = s.solicit(ns_source(rival_form, sources, t.address), t.address);
            }
        }
    };
    let start = Instant::now();
    let mut resend_at = Some(start + deadline.saturating_duration_since(start) / 2);
    send(&found);
    while found.len() < targets.len() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if resend_at.is_some_and(|at| now >= at) {
            resend_at = None;
            send(&found);
        }
        let until = resend_at.map_or(deadline, |at| at.min(deadline));
        wait_any(
            sockets.iter().map(|(s, _)| s.as_raw_fd()),
            until.saturating_duration_since(now),
        )?;
        for (s, _) in &sockets {
            for m in s.receive() {
                let t = NdTarget {
                    device: s.device.clone(),
                    address: m.target,
                };
                if targets.contains(&t) {
                    found.entry(t).or_insert(m.mac());
                }
            }
        }
    }
    Ok(sockets
        .iter()
        .map(|(s, _)| {
            let mine = found
                .iter()
                .filter(|(t, _)| t.device == s.device)
                .map(|(t, mac)| (t.address, *mac))
                .collect();
            (s.device.clone(), (s.mac, mine))
        })
        .collect())
}

/// Waits until one of `fds` is readable or `timeout` passes.
fn wait_any(
    fds: impl Iterator<Item = std::os::fd::RawFd>,
    timeout: Duration,
) -> Result<(), NetError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    // SAFETY: the sockets stay open for this call.
    let borrowed: Vec<_> = fds
        .map(|fd| unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
        .collect();
    let mut polls: Vec<PollFd> = borrowed
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    let ms = timeout.as_micros().div_ceil(1000);
    let wait = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
    match poll(&mut polls, wait) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(NetError::Io {
            context: "poll".into(),
            source: e.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str, prefix: u8, tentative: bool) -> Device6Address {
        Device6Address {
            address: s.parse().expect("address"),
            prefix,
            tentative,
            dadfailed: false,
        }
    }

    #[test]
    fn solicitation_source() {
        let target: Ipv6Addr = "2001:db8:1::10".parse().expect("address");
        let sources = [
            a("fe80::12", 64, false),
            a("2001:db8:2::12", 64, false),
            a("2001:db8:1::12", 64, false),
        ];
        assert_eq!(ns_source(true, &sources, target), Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            ns_source(false, &sources, target),
            "2001:db8:1::12".parse::<Ipv6Addr>().expect("address")
        );
        // No address in the network: the link-local one.
        assert_eq!(
            ns_source(false, &sources[..2], target),
            "fe80::12".parse::<Ipv6Addr>().expect("address")
        );
        // A tentative address is no source, nor is the target itself (held by us: a martian).
        let only = [
            a("2001:db8:1::12", 64, true),
            a("2001:db8:1::10", 64, false),
        ];
        assert_eq!(ns_source(false, &only, target), Ipv6Addr::UNSPECIFIED);
    }
}
