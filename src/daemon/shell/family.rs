//! The one place per action where the shell looks at an address's family: IPv4 work goes to the
//! ICMP, ARP, gratuitous-ARP and netlink address primitives, IPv6 work to `net::linux::v6`. The
//! core never asks which family a channel is; the rest of the shell passes `IpAddr` through.

use std::net::{IpAddr, Ipv6Addr};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::{Shell, ICMP6, ND_BASE};
use crate::core::action::Address;
use crate::core::observe::{ArpResult, ArpTarget, ProbeTarget};
use crate::net::linux::arp::sender_ip;
use crate::net::linux::garp::{self, GarpForm};
use crate::net::linux::v6;
use crate::net::{AddressControl, NetError};

/// An error of an IPv6 primitive, in the shell's error type.
fn v6_error(what: &str, device: &str, source: std::io::Error) -> NetError {
    NetError::from_io(what, device, "CAP_NET_RAW/CAP_NET_ADMIN", source)
}

/// The IPv6 half of an address expected to be IPv6 (a channel's source and target share a
/// family: the config says so).
fn as_v6(ip: IpAddr) -> Option<Ipv6Addr> {
    match ip {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

/// Whether `device` forwards IPv6 (the Router flag of its Neighbour Advertisements).
fn forwarding(device: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{device}/forwarding"))
        .is_ok_and(|v| v.trim() == "1")
}

impl Shell {
    /// Opens the echo socket of each family `targets` need (once; kept for the next checks).
    pub(super) fn open_echo_sockets(
        &mut self,
        registry: &Registry,
        targets: &[ProbeTarget],
    ) -> Result<(), NetError> {
        if targets.iter().any(|t| t.target.is_ipv4()) {
            self.icmp(registry)?;
        }
        if self.icmp6.is_none() && targets.iter().any(|t| t.target.is_ipv6()) {
            match v6::EchoSocket::open() {
                Ok(s) => {
                    let _ =
                        registry.register(&mut SourceFd(&s.as_raw_fd()), ICMP6, Interest::READABLE);
                    self.icmp6 = Some(s);
                }
                // Its targets go unanswered, which is what the core is told.
                Err(e) => self.log.warn_repeated(&format!("ICMPv6 echo socket: {e}")),
            }
        }
        Ok(())
    }

    /// One echo request to `t` from the open socket of its family.
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
            IpAddr::V6(target) => self
                .icmp6
                .as_mut()
                .ok_or_else(not_open)?
                .send(
                    &t.device,
                    t.source.and_then(as_v6),
                    target,
                    identifier,
                    sequence,
                )
                .map_err(|e| v6_error(&format!("echo to {target}"), &t.device, e)),
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
                if self.nd.iter().any(|s| s.device == t.device) {
                    return Ok(());
                }
                let s = v6::NdSocket::open(&t.device)
                    .map_err(|e| v6_error("neighbour discovery socket", &t.device, e))?;
                let token = Token(ND_BASE + self.nd.len());
                let _ = registry.register(&mut SourceFd(&s.as_raw_fd()), token, Interest::READABLE);
                self.nd.push(s);
                Ok(())
            }
        }
    }

    /// One solicitation for `t`: an ARP request, or a Neighbour Solicitation; in probe form (the
    /// split-brain look) from the unspecified address, else from this node's address in the
    /// target's subnet. A failed send leaves the address unanswered, which is what gets reported.
    pub(super) fn solicit(&mut self, t: &ArpTarget, probe_form: bool) {
        match t.address {
            IpAddr::V4(target) => {
                let sources = if probe_form {
                    vec![]
                } else {
                    self.book.sources(&t.device)
                };
                if let Some(s) = self.arp.iter().find(|s| s.device == t.device) {
                    let _ = s.request(sender_ip(probe_form, &sources, target), target);
                }
            }
            IpAddr::V6(target) => {
                let source = if probe_form {
                    None
                } else {
                    own_v6_source(&t.device, target)
                };
                if let Some(s) = self.nd.iter().find(|s| s.device == t.device) {
                    let _ = s.solicit(source, target);
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
            IpAddr::V6(_) => self.nd.iter().find(|s| s.device == t.device).map(|s| s.mac),
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
        for t in targets {
            if let IpAddr::V6(a) = t.address {
                v6::table_begin(&t.device, a)
                    .map_err(|e| v6_error(&format!("neighbour check of {a}"), &t.device, e))?;
            }
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
        let mut read_v4 = match self.table.as_mut().map(|t| t.read(&v4)) {
            Some(Ok(r)) => r.into_iter(),
            Some(Err(e)) => {
                self.log.warn(&format!("arp check: {e}"));
                Vec::new().into_iter()
            }
            None => Vec::new().into_iter(),
        };
        let mut out = Vec::new();
        for t in targets {
            match t.address {
                IpAddr::V4(_) => out.extend(read_v4.next()),
                IpAddr::V6(a) => {
                    let mac = v6::table_read(&t.device, a).unwrap_or_else(|e| {
                        self.log.warn(&format!("neighbour check of {a}: {e}"));
                        None
                    });
                    out.push(ArpResult {
                        target: t.clone(),
                        mac,
                    });
                }
            }
        }
        out
    }

    /// Whether this node holds `a` now (the active's ownership check).
    pub(super) fn holds(&mut self, a: &Address) -> Result<bool, NetError> {
        match a.address {
            IpAddr::V4(ip) => self.book.holds(&a.device, ip),
            IpAddr::V6(ip) => v6::holds(&a.device, ip)
                .map_err(|e| v6_error(&format!("ownership of {ip}"), &a.device, e)),
        }
    }

    /// One announcement of `a`: both gratuitous ARP forms, or one round of unsolicited
    /// Neighbour Advertisements.
    pub(super) fn announce_once(
        &mut self,
        registry: &Registry,
        a: &Address,
    ) -> Result<(), NetError> {
        match a.address {
            IpAddr::V4(ip) => self.arp_socket(registry, &a.device).and_then(|i| {
                let s = &self.arp[i];
                s.send(&garp::frame(GarpForm::Request, s.mac, ip))?;
                s.send(&garp::frame(GarpForm::Reply, s.mac, ip))
            }),
            IpAddr::V6(ip) => v6::announce(&a.device, ip, forwarding(&a.device))
                .map_err(|e| v6_error(&format!("announce {ip}"), &a.device, e)),
        }
    }
}

/// Adds `a` (an IPv6 one without duplicate address detection, so it is usable at once).
pub(super) fn add(ctl: &mut dyn AddressControl, a: &Address) -> Result<(), NetError> {
    match a.address {
        IpAddr::V4(ip) => ctl.add(&a.device, ip, a.prefix),
        IpAddr::V6(ip) => v6::add(&a.device, ip, a.prefix)
            .map_err(|e| v6_error(&format!("add {ip}"), &a.device, e)),
    }
}

/// Removes `a`.
pub(super) fn remove(ctl: &mut dyn AddressControl, a: &Address) -> Result<(), NetError> {
    match a.address {
        IpAddr::V4(ip) => ctl.remove(&a.device, ip),
        IpAddr::V6(ip) => {
            v6::remove(&a.device, ip).map_err(|e| v6_error(&format!("remove {ip}"), &a.device, e))
        }
    }
}

/// Whether `device` holds `address` now, asking the kernel (a restarted daemon resumes).
pub(super) fn kernel_holds(device: &str, address: IpAddr) -> bool {
    match address {
        IpAddr::V4(ip) => crate::net::linux::addr::holds(device, ip).unwrap_or(false),
        IpAddr::V6(ip) => v6::holds(device, ip).unwrap_or(false),
    }
}

/// This node's IPv6 address on `device` in `target`'s subnet, else any of its global ones: the
/// source of a Neighbour Solicitation (`None`: the unspecified address).
fn own_v6_source(device: &str, target: Ipv6Addr) -> Option<Ipv6Addr> {
    let own: Vec<(Ipv6Addr, u8)> = crate::net::linux::addresses(device)
        .into_iter()
        .filter_map(|(ip, prefix)| as_v6(ip).map(|a| (a, prefix)))
        .filter(|(a, _)| !crate::config::value::is_link_local(IpAddr::V6(*a)))
        .collect();
    own.iter()
        .find(|(a, p)| crate::config::value::same_subnet(IpAddr::V6(*a), IpAddr::V6(target), *p))
        .or(own.first())
        .map(|(a, _)| *a)
}
