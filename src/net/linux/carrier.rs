//! The carrier of a device (netlink `RTM_GETLINK`, `IFLA_CARRIER`), read at each check and handed to
//! the core as `Input::Carrier`: fitness before a takeover needs it.

use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::netlink::{Netlink, REQUEST_ACK};
use crate::net::NetError;

/// Reads carrier over one netlink socket, opened at first use.
#[derive(Default)]
pub struct CarrierReader {
    netlink: Option<Netlink>,
}

impl CarrierReader {
    /// Whether `device` has carrier now (a device that is administratively down has none).
    pub fn carrier(&mut self, device: &str) -> Result<bool, NetError> {
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
                if let LinkAttribute::Carrier(c) = attribute {
                    return Ok(c != 0);
                }
            }
        }
        Err(NetError::Io {
            context: format!("{device}: no carrier in the netlink answer"),
            source: std::io::Error::from(std::io::ErrorKind::InvalidData),
        })
    }
}
