//! The passive node's ARP check, two ways.
//!
//! - [`TableArpChecker`], the source document's: delete the neighbour entry of each address, send a
//!   UDP datagram to it out of the channel's device (the kernel sends the ARP request), wait, read the
//!   table. Deleting first is what keeps a stale entry from passing for a live peer.
//! - [`RawArpChecker`]: send the ARP request and read the reply ourselves (pnet), touching no kernel
//!   table. In RFC 5227 probe form (sender IP 0.0.0.0) it is also the active's conflict check
//!   ([`ConflictChecker`]): the rival's kernel answers a probe without learning anything from it.
//!
//! All targets of one call run concurrently under one deadline.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::thread;
use std::time::{Duration, Instant};

use pnet_datalink::NetworkInterface;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::arp_frame::{ArpMessage, ArpOp};
use super::neigh::NetlinkNeighbours;
use super::raw;
use crate::net::{
    ArpChecker, ArpResult, ArpTarget, ConflictChecker, NeighbourTable, NetError, Rival,
};

/// The UDP port the table check sends to: discard (RFC 863). The datagram only exists to make the
/// kernel resolve the address; what happens to it afterwards does not matter.
pub const DISCARD_PORT: u16 = 9;

/// How often the table check looks at the table before the deadline, to finish early once every
/// address has answered.
const TABLE_POLL: Duration = Duration::from_millis(20);

/// The source document's check over the kernel's neighbour table (needs CAP_NET_ADMIN to delete).
pub struct TableArpChecker<N: NeighbourTable = NetlinkNeighbours> {
    table: N,
    /// Makes the kernel resolve an address on a device; a test double can stand in.
    send: fn(&mut UdpSockets, &str, Ipv4Addr) -> Result<(), NetError>,
    /// One UDP socket per device, kept open across checks.
    udp: UdpSockets,
}

/// The table check's UDP sockets, one bound to each device.
pub type UdpSockets = std::collections::HashMap<String, Socket>;

impl TableArpChecker<NetlinkNeighbours> {
    pub fn new() -> Self {
        Self::with_table(NetlinkNeighbours::new())
    }
}

impl Default for TableArpChecker<NetlinkNeighbours> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: NeighbourTable> TableArpChecker<N> {
    /// A checker over another table (a test double).
    pub fn with_table(table: N) -> Self {
        Self {
            table,
            send: send_udp_on,
            udp: UdpSockets::new(),
        }
    }

    /// The first half of the check: delete each target's entry, then make the kernel resolve it.
    /// The daemon reads the table ([`Self::read`]) when the check's timeout has passed.
    pub fn begin(&mut self, targets: &[ArpTarget]) -> Result<(), NetError> {
        self.table.delete_all(targets)?;
        for t in targets {
            (self.send)(&mut self.udp, &t.device, super::ipv4(t.address)?)?;
        }
        Ok(())
    }

    /// The second half: who is in the table now, with a complete entry (one read of the table for
    /// all targets).
    pub fn read(&mut self, targets: &[ArpTarget]) -> Result<Vec<ArpResult>, NetError> {
        let entries = self.table.entries_of(targets)?;
        Ok(targets
            .iter()
            .map(|t| ArpResult {
                target: t.clone(),
                mac: entries
                    .iter()
                    .find(|e| e.device == t.device && t.address == e.address)
                    .filter(|e| e.state.is_complete())
                    .and_then(|e| e.mac),
            })
            .collect())
    }

    fn resolved(&mut self, t: &ArpTarget) -> Result<Option<[u8; 6]>, NetError> {
        Ok(self
            .table
            .lookup(&t.device, super::ipv4(t.address)?)?
            .filter(|e| e.state.is_complete())
            .and_then(|e| e.mac))
    }
}

impl<N: NeighbourTable> ArpChecker for TableArpChecker<N> {
    fn check(
        &mut self,
        targets: &[ArpTarget],
        timeout: Duration,
    ) -> Result<Vec<ArpResult>, NetError> {
        let deadline = Instant::now() + timeout;
        self.begin(targets)?;
        let mut macs: Vec<Option<[u8; 6]>> = vec![None; targets.len()];
        loop {
            for (t, mac) in targets.iter().zip(macs.iter_mut()) {
                if mac.is_none() {
                    *mac = self.resolved(t)?;
                }
            }
            let now = Instant::now();
            if macs.iter().all(Option::is_some) || now >= deadline {
                break;
            }
            thread::sleep(TABLE_POLL.min(deadline - now));
        }
        Ok(targets
            .iter()
            .zip(macs)
            .map(|(t, mac)| ArpResult {
                target: t.clone(),
                mac,
            })
            .collect())
    }
}

/// One UDP datagram to `address` out of `device`: makes the kernel send an ARP request there.
pub fn send_udp(device: &str, address: Ipv4Addr) -> Result<(), NetError> {
    send_udp_on(&mut UdpSockets::new(), device, address)
}

/// [`send_udp`] from the device's socket in `sockets`, opened on first use and kept.
pub fn send_udp_on(
    sockets: &mut UdpSockets,
    device: &str,
    address: Ipv4Addr,
) -> Result<(), NetError> {
    if !sockets.contains_key(device) {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
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
    let socket = &sockets[device];
    // The datagram waits in the neighbour queue while the kernel resolves; a refusal here (no route)
    // just leaves the entry unresolved, which the table read reports.
    let _ = socket.send_to(
        b"failoverctl arp-check",
        &SockAddr::from(SocketAddrV4::new(address, DISCARD_PORT)),
    );
    Ok(())
}

/// ARP request and reply on the wire (pnet), no kernel table involved; needs CAP_NET_RAW.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawArpChecker {
    /// Send RFC 5227 probes (sender IP 0.0.0.0) rather than requests from our own address.
    probe_form: bool,
}

impl RawArpChecker {
    pub fn new() -> Self {
        RawArpChecker::default()
    }

    /// Requests in RFC 5227 probe form: sender IP 0.0.0.0, so whoever answers puts nothing of ours
    /// in its ARP table (the conflict check must not teach a rival, or its neighbours, anything).
    pub fn probe_form() -> Self {
        RawArpChecker { probe_form: true }
    }
}

/// The granularity at which a reader thread looks at the deadline (pnet's read timeout is per read).
const RAW_READ_TIMEOUT: Duration = Duration::from_millis(20);

/// What one device's reader found: the device, its own MAC, and who answered for which address.
type DeviceAnswers = (String, [u8; 6], BTreeMap<Ipv4Addr, [u8; 6]>);

/// Sends the requests for all targets and collects replies from other stations until each target
/// answered or `timeout` has passed; one reader thread per device.
fn raw_check(
    targets: &[ArpTarget],
    timeout: Duration,
    probe_form: bool,
) -> Result<Vec<DeviceAnswers>, NetError> {
    let deadline = Instant::now() + timeout;
    let mut by_device: BTreeMap<&str, Vec<Ipv4Addr>> = BTreeMap::new();
    for t in targets {
        by_device
            .entry(&t.device)
            .or_default()
            .push(super::ipv4(t.address)?);
    }
    let interfaces = pnet_datalink::interfaces();

    // Open every channel before any request goes out, so no early reply is missed.
    let mut jobs = Vec::new();
    for (device, addresses) in by_device {
        jobs.push(DeviceJob::open(
            raw::find(&interfaces, device)?,
            addresses,
            probe_form,
        )?);
    }
    Ok(thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| s.spawn(move || job.run(deadline)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ARP reader thread panicked"))
            .collect()
    }))
}

impl ArpChecker for RawArpChecker {
    fn check(
        &mut self,
        targets: &[ArpTarget],
        timeout: Duration,
    ) -> Result<Vec<ArpResult>, NetError> {
        let answers = raw_check(targets, timeout, self.probe_form)?;
        Ok(targets
            .iter()
            .map(|t| ArpResult {
                target: t.clone(),
                mac: answers
                    .iter()
                    .find(|(device, _, _)| *device == t.device)
                    .and_then(|(_, _, found)| found.get(&super::ipv4(t.address).ok()?).copied()),
            })
            .collect())
    }
}

impl ConflictChecker for RawArpChecker {
    /// Always in probe form, whatever this checker was made with.
    fn rivals(&self, targets: &[ArpTarget], timeout: Duration) -> Result<Vec<Rival>, NetError> {
        let answers = raw_check(targets, timeout, true)?;
        Ok(targets
            .iter()
            .filter_map(|t| {
                let (_, own_mac, found) = answers.iter().find(|(d, _, _)| *d == t.device)?;
                // The reader already drops frames from our own MAC: whoever is left is a rival.
                found
                    .get(&super::ipv4(t.address).ok()?)
                    .map(|rival_mac| Rival {
                        device: t.device.clone(),
                        address: t.address,
                        rival_mac: *rival_mac,
                        own_mac: *own_mac,
                    })
            })
            .collect())
    }
}

/// The sender IP for a request to `target`: 0.0.0.0 in probe form; else our address (of `sources`)
/// in its subnet, else any of ours, else 0.0.0.0 (an RFC 5227 probe, which every stack answers too).
pub fn sender_ip(probe_form: bool, sources: &[(Ipv4Addr, u8)], target: Ipv4Addr) -> Ipv4Addr {
    if probe_form {
        return Ipv4Addr::UNSPECIFIED;
    }
    let same_subnet = |(ip, prefix): &(Ipv4Addr, u8)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
        u32::from(*ip) & mask == u32::from(target) & mask
    };
    sources
        .iter()
        .find(|s| same_subnet(s))
        .or(sources.first())
        .map(|(ip, _)| *ip)
        .unwrap_or(Ipv4Addr::UNSPECIFIED)
}

/// The raw check on one device: its channel, its MAC and source address, the addresses asked for.
struct DeviceJob {
    device: String,
    mac: [u8; 6],
    sources: Vec<(Ipv4Addr, u8)>,
    addresses: Vec<Ipv4Addr>,
    probe_form: bool,
    tx: Box<dyn pnet_datalink::DataLinkSender>,
    rx: Box<dyn pnet_datalink::DataLinkReceiver>,
}

impl DeviceJob {
    fn open(
        interface: &NetworkInterface,
        addresses: Vec<Ipv4Addr>,
        probe_form: bool,
    ) -> Result<Self, NetError> {
        let device = interface.name.clone();
        let sources = interface
            .ips
            .iter()
            .filter_map(|n| match n.ip() {
                std::net::IpAddr::V4(ip) => Some((ip, n.prefix())),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        let raw::RawChannel { mac, tx, rx } = raw::open(interface, Some(RAW_READ_TIMEOUT))?;
        Ok(Self {
            device,
            mac,
            sources,
            addresses,
            probe_form,
            tx,
            rx,
        })
    }

    fn source_for(&self, target: Ipv4Addr) -> Ipv4Addr {
        sender_ip(self.probe_form, &self.sources, target)
    }

    fn send_requests(&mut self, pending: &[Ipv4Addr]) {
        for &address in pending {
            let frame = ArpMessage::request(self.mac, self.source_for(address), address).to_frame();
            // A failed send leaves the address unanswered, which is what gets reported.
            let _ = self.tx.send_to(&frame, None);
        }
    }

    /// Sends the requests (again at half time for a lost frame) and collects replies until every
    /// address answered or the deadline passed.
    fn run(mut self, deadline: Instant) -> DeviceAnswers {
        let mut found = BTreeMap::new();
        let start = Instant::now();
        let mut resend_at = Some(start + (deadline.saturating_duration_since(start)) / 2);
        let all = self.addresses.clone();
        self.send_requests(&all);
        while found.len() < self.addresses.len() && Instant::now() < deadline {
            if resend_at.is_some_and(|at| Instant::now() >= at) {
                resend_at = None;
                let pending: Vec<_> = all
                    .iter()
                    .copied()
                    .filter(|a| !found.contains_key(a))
                    .collect();
                self.send_requests(&pending);
            }
            let Ok(frame) = self.rx.next() else {
                continue; // Read timeout: look at the deadline again.
            };
            let Some(m) = ArpMessage::parse(frame) else {
                continue;
            };
            // Our own requests come back on this channel too.
            if m.op != ArpOp::Reply || m.sender_mac == self.mac {
                continue;
            }
            if self.addresses.contains(&m.sender_ip) {
                found.entry(m.sender_ip).or_insert(m.sender_mac);
            }
        }
        (self.device, self.mac, found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{NeighbourEntry, NeighbourState};
    use std::collections::HashMap;

    /// A table that holds whatever entries a test puts in, and records deletions.
    #[derive(Default)]
    struct FakeTable {
        entries: HashMap<Ipv4Addr, NeighbourEntry>,
        deleted: Vec<Ipv4Addr>,
    }

    impl NeighbourTable for FakeTable {
        fn delete(&mut self, _device: &str, address: Ipv4Addr) -> Result<(), NetError> {
            self.entries.remove(&address);
            self.deleted.push(address);
            Ok(())
        }
        fn lookup(
            &mut self,
            _device: &str,
            address: Ipv4Addr,
        ) -> Result<Option<NeighbourEntry>, NetError> {
            Ok(self.entries.get(&address).cloned())
        }
    }

    #[test]
    fn probe_form_sends_from_0_0_0_0_even_holding_an_address_in_the_subnet() {
        // Holding the activeip itself: a request "from" it would be a martian to the rival's
        // kernel (its own address as source) and teach its neighbours our MAC for it.
        let sources = [
            (Ipv4Addr::new(198, 51, 100, 10), 24),
            (Ipv4Addr::new(192, 0, 2, 10), 24),
        ];
        let target = Ipv4Addr::new(192, 0, 2, 10);
        assert_eq!(sender_ip(true, &sources, target), Ipv4Addr::UNSPECIFIED);
        assert_eq!(
            sender_ip(false, &sources, target),
            Ipv4Addr::new(192, 0, 2, 10)
        );
        assert_eq!(sender_ip(false, &[], target), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn a_stale_entry_is_deleted_before_the_table_is_read() {
        let address = Ipv4Addr::new(192, 0, 2, 10);
        let mut table = FakeTable::default();
        table.entries.insert(
            address,
            NeighbourEntry {
                device: "eth1".into(),
                address,
                state: NeighbourState::Stale,
                mac: Some([2, 0, 0, 0, 0, 1]),
            },
        );
        let mut checker = TableArpChecker::with_table(table);
        // No datagram leaves this process: nobody answers, as for a peer that is gone.
        checker.send = |_, _, _| Ok(());
        let target = ArpTarget {
            device: "eth1".into(),
            address: address.into(),
        };
        let results = checker
            .check(std::slice::from_ref(&target), Duration::from_millis(50))
            .expect("check");
        assert_eq!(
            results[0].mac, None,
            "the stale entry passed for a live peer"
        );
        assert_eq!(checker.table.deleted, vec![address]);
    }
}
