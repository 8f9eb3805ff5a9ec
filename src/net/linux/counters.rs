//! Packet counters of a device: netlink `RTM_GETSTATS` with only the Stats64 block (always the
//! current namespace), `RTM_GETLINK` where the kernel lacks it, sysfs
//! `/sys/class/net/DEV/statistics` as the last fallback (right only where sysfs was mounted in this
//! namespace, as under `ip netns exec`).

use std::collections::HashMap;

use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::stats::{StatsAttribute, StatsFilterMask, StatsMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::netlink::{Netlink, REQUEST_ACK};
use crate::net::{CounterSource, Counters, NetError};

/// Counters from netlink Stats64, with sysfs as the fallback when netlink cannot be used.
#[derive(Default)]
pub struct NetlinkCounters {
    netlink: Option<Netlink>,
    /// Interface indexes by name, for `RTM_GETSTATS` (which takes no name); dropped when the kernel
    /// no longer knows the index (the device was removed, perhaps made again under a new one).
    indexes: HashMap<String, u32>,
    /// The kernel refused `RTM_GETSTATS` (before 4.7): the whole link message instead.
    no_getstats: bool,
}

impl NetlinkCounters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the remembered interface indexes (after a link event: a device renamed or made
    /// again must not be read under its old index).
    pub fn forget_indexes(&mut self) {
        self.indexes.clear();
    }

    fn netlink_sample(&mut self, device: &str) -> Result<Counters, NetError> {
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::open()?);
        }
        if !self.no_getstats {
            match self.stats_sample(device) {
                Ok(c) => return Ok(c),
                Err(e @ NetError::NoDevice(_)) => return Err(e),
                Err(_) => self.no_getstats = true,
            }
        }
        self.link_sample(device)
    }

    /// Only the Stats64 block (about 200 bytes): the whole link message the kernel builds for
    /// `RTM_GETLINK` (a few kB, every attribute parsed) cost most of an idle active's check.
    fn stats_sample(&mut self, device: &str) -> Result<Counters, NetError> {
        let index = match self.indexes.get(device) {
            Some(&i) => i,
            None => {
                let i = interface_index(device)?;
                self.indexes.insert(device.to_owned(), i);
                i
            }
        };
        let netlink = self.netlink.as_mut().expect("opened by the caller");
        let mut request = StatsMessage::default();
        request.header.ifindex = index;
        request.header.filter_mask = StatsFilterMask::Link64;
        let replies =
            match netlink.request(RouteNetlinkMessage::GetStats(request), REQUEST_ACK, device) {
                Err(NetError::NoDevice(_)) => {
                    // The index is gone; the name may be back under another one.
                    self.indexes.remove(device);
                    let i = interface_index(device)?;
                    self.indexes.insert(device.to_owned(), i);
                    let mut request = StatsMessage::default();
                    request.header.ifindex = i;
                    request.header.filter_mask = StatsFilterMask::Link64;
                    netlink.request(RouteNetlinkMessage::GetStats(request), REQUEST_ACK, device)?
                }
                other => other?,
            };
        for reply in replies {
            let RouteNetlinkMessage::NewStats(stats) = reply else {
                continue;
            };
            for attribute in stats.attributes {
                if let StatsAttribute::Link64(s) = attribute {
                    return Ok(Counters {
                        rx_packets: s.rx_packets,
                        tx_packets: s.tx_packets,
                    });
                }
            }
        }
        Err(NetError::Io {
            context: format!("{device}: no Stats64 in the netlink stats answer"),
            source: std::io::Error::from(std::io::ErrorKind::InvalidData),
        })
    }

    fn link_sample(&mut self, device: &str) -> Result<Counters, NetError> {
        let netlink = self.netlink.as_mut().expect("opened by the caller");
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfName(device.to_string()));
        let replies = netlink.request(RouteNetlinkMessage::GetLink(link), REQUEST_ACK, device)?;
        for reply in replies {
            let RouteNetlinkMessage::NewLink(link) = reply else {
                continue;
            };
            for attribute in link.attributes {
                if let LinkAttribute::Stats64(s) = attribute {
                    return Ok(Counters {
                        rx_packets: s.rx_packets,
                        tx_packets: s.tx_packets,
                    });
                }
            }
        }
        Err(NetError::Io {
            context: format!("{device}: no Stats64 in the netlink answer"),
            source: std::io::Error::from(std::io::ErrorKind::InvalidData),
        })
    }
}

impl CounterSource for NetlinkCounters {
    fn sample(&mut self, device: &str) -> Result<Counters, NetError> {
        match self.netlink_sample(device) {
            Ok(c) => Ok(c),
            Err(e @ NetError::NoDevice(_)) => Err(e),
            // Netlink unusable (seccomp, odd kernels): sysfs still knows.
            Err(_) => SysfsCounters.sample(device),
        }
    }
}

/// The interface index of `device` in this namespace.
fn interface_index(device: &str) -> Result<u32, NetError> {
    let name = std::ffi::CString::new(device).map_err(|_| NetError::NoDevice(device.to_owned()))?;
    // SAFETY: a NUL-terminated name that outlives the call.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(NetError::NoDevice(device.to_owned())),
        i => Ok(i),
    }
}

/// Counters from `/sys/class/net/DEV/statistics/{rx,tx}_packets`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SysfsCounters;

impl CounterSource for SysfsCounters {
    fn sample(&mut self, device: &str) -> Result<Counters, NetError> {
        // A name with a slash would leave the device directory.
        if device.is_empty() || device.contains('/') || device.starts_with('.') {
            return Err(NetError::NoDevice(device.to_string()));
        }
        let read = |name: &str| -> Result<u64, NetError> {
            let path = format!("/sys/class/net/{device}/statistics/{name}");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    NetError::NoDevice(device.to_string())
                } else {
                    NetError::Io {
                        context: path.clone(),
                        source: e,
                    }
                }
            })?;
            text.trim().parse().map_err(|_| NetError::Io {
                context: path,
                source: std::io::Error::from(std::io::ErrorKind::InvalidData),
            })
        };
        Ok(Counters {
            rx_packets: read("rx_packets")?,
            tx_packets: read("tx_packets")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_counters_from_both_sources() {
        // Read-only: the lab tests make the traffic.
        NetlinkCounters::new().sample("lo").expect("lo via netlink");
        SysfsCounters.sample("lo").expect("lo via sysfs");
    }

    #[test]
    fn the_stats_block_agrees_with_the_link_message() {
        // Counters only grow on lo: the lean answer must lie between two full ones.
        let mut n = NetlinkCounters::new();
        n.netlink = Some(Netlink::open().expect("netlink"));
        let before = n.link_sample("lo").expect("lo via RTM_GETLINK");
        let lean = n.stats_sample("lo").expect("lo via RTM_GETSTATS");
        let after = n.link_sample("lo").expect("lo via RTM_GETLINK");
        assert!(before.rx_packets <= lean.rx_packets && lean.rx_packets <= after.rx_packets);
        assert!(before.tx_packets <= lean.tx_packets && lean.tx_packets <= after.tx_packets);
        assert!(!n.no_getstats);
    }

    #[test]
    fn a_stale_index_is_looked_up_again() {
        // As if lo had been made again under another index since it was cached.
        let mut n = NetlinkCounters::new();
        n.indexes.insert("lo".to_owned(), u32::MAX - 7);
        n.sample("lo").expect("re-resolved");
        assert_eq!(n.indexes.get("lo"), Some(&interface_index("lo").unwrap()));
        n.forget_indexes();
        assert!(n.indexes.is_empty());
    }

    #[test]
    fn a_counter_that_goes_down_is_a_reset_not_traffic() {
        let before = Counters {
            rx_packets: 100,
            tx_packets: 50,
        };
        let after = Counters {
            rx_packets: 3,
            tx_packets: 50,
        };
        let d = after.delta_since(&before);
        assert!(d.reset);
        assert_eq!((d.rx_packets, d.tx_packets), (0, 0));
        assert_eq!(d.activity(), crate::net::Activity::Idle);
        let later = Counters {
            rx_packets: 3,
            tx_packets: 51,
        };
        assert_eq!(
            later.delta_since(&after).activity(),
            crate::net::Activity::Traffic
        );
    }

    #[test]
    fn unknown_device_is_no_device_for_both_sources() {
        assert!(matches!(
            NetlinkCounters::new().sample("nosuchdev0"),
            Err(NetError::NoDevice(_))
        ));
        assert!(matches!(
            SysfsCounters.sample("nosuchdev0"),
            Err(NetError::NoDevice(_))
        ));
        assert!(matches!(
            SysfsCounters.sample("../lo"),
            Err(NetError::NoDevice(_))
        ));
    }
}
