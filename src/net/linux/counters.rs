//! Packet counters of a device: netlink `RTM_GETLINK` Stats64 (always the current namespace), sysfs
//! `/sys/class/net/DEV/statistics` as the fallback (right only where sysfs was mounted in this
//! namespace, as under `ip netns exec`).

use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::netlink::{Netlink, REQUEST_ACK};
use crate::net::{CounterSource, Counters, NetError};

/// Counters from netlink Stats64, with sysfs as the fallback when netlink cannot be used.
#[derive(Default)]
pub struct NetlinkCounters {
    netlink: Option<Netlink>,
}

impl NetlinkCounters {
    pub fn new() -> Self {
        Self::default()
    }

    fn netlink_sample(&mut self, device: &str) -> Result<Counters, NetError> {
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::open()?);
        }
        let netlink = self.netlink.as_mut().expect("opened just above");
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
