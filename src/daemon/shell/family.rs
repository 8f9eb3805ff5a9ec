//! The one place per action where the shell looks at an address's family: IPv4 work goes to the
//! ICMP, ARP, gratuitous-ARP and netlink address primitives, IPv6 work to `net::linux::v6`. The
//! core never asks which family a channel is; the rest of the shell passes `IpAddr` through.

use std::net::{IpAddr, Ipv6Addr};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::{Shell, ICMP6_BASE, ND_BASE};
use crate::core::action::Address;
use crate::core::observe::{ArpResult, ArpTarget, ProbeTarget};
use crate::net::linux::arp::sender_ip;
use crate::net::linux::garp::{self, GarpForm};
use crate::net::linux::ipv6::neigh6::NdTarget;
use crate::net::linux::v6::{self, V6};
use crate::net::{AddressControl, NetError};

/// The IPv6 half of an address expected to be IPv6 (a channel's source and target share a
/// family: the config says so).
fn as_v6(ip: IpAddr) -> Option<Ipv6Addr> {
    match ip {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

fn nd_targets(targets: &[ArpTarget]) -> Vec<NdTarget> {
    targets
        .iter()
        .filter_map(|t| {
            as_v6(t.address).map(|address| NdTarget {
                device: t.device.clone(),
                address,
            })
        })
        .collect()
}

impl Shell {
    /// Opens the echo sockets `targets` need: the raw ICMP one, and the ICMPv6 one for an IPv6
    /// target (once; kept for the next checks).
    pub(super) fn open_echo_sockets(
        &mut self,
        registry: &Registry,
        targets: &[ProbeTarget],
    ) -> Result<(), NetError> {
        if targets.iter().any(|t| t.target.is_ipv4()) {
            self.icmp(registry)?;
        }
        for t in targets.iter().filter(|t| t.target.is_ipv6()) {
            match self.v6.echo_socket(&t.device) {
                Ok(true) => {
                    if let Some(port) = &self.v6.echo_port {
                        let _ = registry.register(
                            &mut SourceFd(&port.as_raw_fd()),
                            Token(ICMP6_BASE),
                            Interest::READABLE,
                        );
                    }
                }
                Ok(_) => {}
                Err(e @ NetError::Privilege { .. }) => return Err(e),
                // Its targets go unanswered, which is what the core is told.
                Err(e) => self
                    .log
                    .warn_repeated(&format!("ICMPv6 echo socket on {}: {e}", t.device)),
            }
        }
        Ok(())
    }

    /// One echo request to `t` from the open socket of its family (and device).
    pub(super) fn send_echo(
        &mut self,
        t: &ProbeTarget,
        identifier: u16,
        sequence: u16,
    ) -> Result<(), NetError> {
        let not_open = || NetError::Io {
            context: format!("echo to {}", t.target),
            source: std::io::Error::new(std::io::ErrorKind::NotConnected, "no echo socket"),
        };
        match t.target {
            IpAddr::V4(_) => self
                .icmp
                .as_mut()
                .ok_or_else(not_open)?
                .send(t, identifier, sequence),
            IpAddr::V6(target) => {
                // A source the device no longer holds (Linux drops IPv6 addresses with the link,
                // or someone removed it) cannot be sent from: the kernel's choice probes the LAN,
                // where it still has a route.
                let source = t
                    .source
                    .and_then(as_v6)
                    .filter(|s| self.v6.holds(&t.device, *s).unwrap_or(true));
                let ifindex = self
                    .v6
                    .echo
                    .iter()
                    .find(|(d, _)| *d == t.device)
                    .map(|(_, i)| *i)
                    .ok_or_else(not_open)?;
                let port = self.v6.echo_port.as_ref().ok_or_else(not_open)?;
                let sent = port.send(&t.device, ifindex, source, target, identifier, sequence);
                if sent.is_err() {
                    // A device re-created under its name: the next check uses its new index.
                    self.v6.refresh_echo_device(&t.device);
                }
                sent
            }
        }
    }

    /// The IPv6 activeips of every channel: what the neighbour-discovery socket watches for.
    pub(super) fn watched_v6(&self) -> Vec<Ipv6Addr> {
        self.config
            .channels
            .iter()
            .filter_map(|c| as_v6(c.activeip))
            .collect()
    }

    /// Narrows the neighbour-discovery socket to the activeips again (a reload).
    pub(super) fn rewatch_v6(&self) {
        if let Some(s) = &self.v6.nd_port {
            if let Err(e) = s.watch_only(&self.watched_v6()) {
                self.log.warn(&format!(
                    "neighbour discovery socket: no kernel filter: {e}"
                ));
            }
        }
    }

    /// The neighbour socket for `t` (ARP for IPv4, neighbour discovery for IPv6), opened once.
    pub(super) fn neighbour_socket(
        &mut self,
        registry: &Registry,
        t: &ArpTarget,
    ) -> Result<(), NetError> {
        match t.address {
            IpAddr::V4(_) => self.arp_socket(registry, &t.device).map(|_| ()),
            IpAddr::V6(_) => {
                let watched = self.watched_v6();
                let (new, unfiltered) = self.v6.nd_socket(&t.device, &watched)?;
                if let Some(e) = unfiltered {
                    self.log.warn(&format!(
                        "neighbour discovery socket: no kernel filter: {e}"
                    ));
                }
                if let (true, Some(port)) = (new, &self.v6.nd_port) {
                    let _ = registry.register(
                        &mut SourceFd(&port.as_raw_fd()),
                        Token(ND_BASE),
                        Interest::READABLE,
                    );
                }
                Ok(())
            }
        }
    }

    /// One solicitation for `t`: an ARP request, or a Neighbour Solicitation; in probe form (the
    /// split-brain look) from the unspecified address, else from this node's address in the
    /// target's subnet (both from the address books, no enumeration). A failed send leaves the
    /// address unanswered, which is what gets reported.
    pub(super) fn solicit(&mut self, t: &ArpTarget, probe_form: bool) {
        self.solicit_as(t, probe_form, None)
    }

    /// A check's solicitation, to the station `mac` alone when given (IPv4; neighbour discovery
    /// always asks the address's solicited-node group).
    pub(super) fn solicit_to(&mut self, t: &ArpTarget, mac: Option<[u8; 6]>) {
        self.solicit_as(t, false, mac)
    }

    fn solicit_as(&mut self, t: &ArpTarget, probe_form: bool, mac: Option<[u8; 6]>) {
        match t.address {
            IpAddr::V4(target) => {
                let sources = if probe_form {
                    vec![]
                } else {
                    self.book.sources(&t.device)
                };
                let from = sender_ip(probe_form, &sources, target);
                for retry in [false, true] {
                    let dev = self.arp.iter().find(|s| s.device == t.device);
                    let (Some(socket), Some(dev)) = (&self.arp_socket, dev) else {
                        break;
                    };
                    let sent = match mac {
                        Some(mac) => socket.request_to(dev, from, target, mac),
                        None => socket.request(dev, from, target),
                    };
                    if sent.is_ok() || retry {
                        break;
                    }
                    // A device re-created under its name has a new index: once more with it (an
                    // unanswered check would count against a healthy active).
                    self.refresh_arp_device(&t.device);
                }
            }
            IpAddr::V6(target) => {
                let source = self.v6.solicitation_source(&t.device, target, probe_form);
                for retry in [false, true] {
                    let dev = self.v6.nd.iter().find(|s| s.device == t.device);
                    let (Some(port), Some(dev)) = (&self.v6.nd_port, dev) else {
                        break;
                    };
                    if port.solicit(dev, source, target).is_ok() || retry {
                        break;
                    }
                    self.v6.refresh_nd_device(&t.device);
                }
            }
        }
    }

    /// This node's MAC on the device `t` is asked on, from the socket of its family.
    pub(super) fn own_mac(&self, t: &ArpTarget) -> Option<[u8; 6]> {
        match t.address {
            IpAddr::V4(_) => self
                .arp
                .iter()
                .find(|s| s.device == t.device)
                .map(|s| s.mac),
            IpAddr::V6(_) => self
                .v6
                .nd
                .iter()
                .find(|s| s.device == t.device)
                .map(|s| s.mac),
        }
    }

    /// The table method's first half for every target, each by its family.
    pub(super) fn table_begin(&mut self, targets: &[ArpTarget]) -> Result<(), NetError> {
        let v4: Vec<ArpTarget> = targets
            .iter()
            .filter(|t| t.address.is_ipv4())
            .cloned()
            .collect();
        if let Some(table) = self.table.as_mut().filter(|_| !v4.is_empty()) {
            table.begin(&v4)?;
        }
        let v6 = nd_targets(targets);
        if !v6.is_empty() {
            self.v6.table_begin(&v6)?;
        }
        Ok(())
    }

    /// The table method's second half: one result per target, in order.
    pub(super) fn table_read(&mut self, targets: &[ArpTarget]) -> Vec<ArpResult> {
        let v4: Vec<ArpTarget> = targets
            .iter()
            .filter(|t| t.address.is_ipv4())
            .cloned()
            .collect();
        let mut read_v4 = match self
            .table
            .as_mut()
            .filter(|_| !v4.is_empty())
            .map(|t| t.read(&v4))
        {
            Some(Ok(r)) => r.into_iter(),
            Some(Err(e)) => {
                self.log.warn(&format!("arp check: {e}"));
                Vec::new().into_iter()
            }
            None => Vec::new().into_iter(),
        };
        let v6 = nd_targets(targets);
        let mut read_v6 = if v6.is_empty() {
            Vec::new().into_iter()
        } else {
            match self.v6.table_read(&v6) {
                Ok(r) => r.into_iter(),
                Err(e) => {
                    self.log.warn(&format!("neighbour check: {e}"));
                    Vec::new().into_iter()
                }
            }
        };
        let mut out = Vec::new();
        for t in targets {
            let mac = match t.address {
                IpAddr::V4(_) => read_v4.next().and_then(|r| r.mac),
                IpAddr::V6(_) => read_v6.next().and_then(|r| r.mac),
            };
            out.push(ArpResult {
                target: t.clone(),
                mac,
            });
        }
        out
    }

    /// Whether this node holds each of `addresses` now (the ownership checks, from the address
    /// books: one read of each book's event socket for the whole list).
    pub(super) fn holds_each(&mut self, addresses: &[Address]) -> Vec<Result<bool, NetError>> {
        let v4: Vec<(&str, std::net::Ipv4Addr)> = addresses
            .iter()
            .filter_map(|a| match a.address {
                IpAddr::V4(ip) => Some((a.device.as_str(), ip)),
                IpAddr::V6(_) => None,
            })
            .collect();
        let v6: Vec<(&str, std::net::Ipv6Addr)> = addresses
            .iter()
            .filter_map(|a| match a.address {
                IpAddr::V6(ip) => Some((a.device.as_str(), ip)),
                IpAddr::V4(_) => None,
            })
            .collect();
        let mut v4 = if v4.is_empty() {
            Vec::new()
        } else {
            self.book.holds_each(&v4)
        }
        .into_iter();
        let mut v6 = if v6.is_empty() {
            Vec::new()
        } else {
            self.v6.holds_each(&v6)
        }
        .into_iter();
        addresses
            .iter()
            .map(|a| {
                let next = match a.address {
                    IpAddr::V4(_) => v4.next(),
                    IpAddr::V6(_) => v6.next(),
                };
                next.expect("one answer per address of the family")
            })
            .collect()
    }

    /// One announcement of `a`: both gratuitous ARP forms, or one unsolicited Neighbour
    /// Advertisement.
    pub(super) fn announce_once(
        &mut self,
        registry: &Registry,
        a: &Address,
    ) -> Result<(), NetError> {
        match a.address {
            IpAddr::V4(ip) => self.arp_socket(registry, &a.device).and_then(|i| {
                let (Some(socket), d) = (&self.arp_socket, &self.arp[i]) else {
                    return Ok(());
                };
                socket.send(d, &garp::frame(GarpForm::Request, d.mac, ip))?;
                socket.send(d, &garp::frame(GarpForm::Reply, d.mac, ip))
            }),
            IpAddr::V6(ip) => self.v6.announce(&a.device, ip),
        }
    }
}

/// Adds `a` (an IPv6 one without duplicate address detection, so it is usable at once).
pub(super) fn add(ctl: &mut dyn AddressControl, v6: &mut V6, a: &Address) -> Result<(), NetError> {
    match a.address {
        IpAddr::V4(ip) => ctl.add(&a.device, ip, a.prefix),
        IpAddr::V6(ip) => v6.add(&a.device, ip, a.prefix),
    }
}

/// Removes `a`.
pub(super) fn remove(
    ctl: &mut dyn AddressControl,
    v6: &mut V6,
    a: &Address,
) -> Result<(), NetError> {
    match a.address {
        IpAddr::V4(ip) => ctl.remove(&a.device, ip),
        IpAddr::V6(ip) => v6.remove(&a.device, ip),
    }
}

/// Whether `device` holds `address` now, asking the kernel (a restarted daemon resumes).
pub(super) fn kernel_holds(device: &str, address: IpAddr) -> bool {
    match address {
        IpAddr::V4(ip) => crate::net::linux::addr::holds(device, ip).unwrap_or(false),
        IpAddr::V6(ip) => v6::kernel_holds(device, ip),
    }
}
