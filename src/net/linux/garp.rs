//! Gratuitous ARP: the two frames network gear expects after an address changes owner (an unsolicited
//! ARP request and an unsolicited ARP reply, as `arping -U` and `arping -A` send), sent as raw Ethernet
//! frames through pnet. The core schedules
//! the repeated announcements (`garpcount`, `garpinterval`, `garprefresh`).

use std::io;
use std::net::Ipv4Addr;

use pnet_datalink::DataLinkSender;

use super::arp_frame::ArpMessage;
pub use super::arp_frame::FRAME_LEN;
use super::raw;
use crate::net::NetError;

/// Which gratuitous ARP form to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarpForm {
    /// Broadcast ARP request, sender IP = target IP = the address, target MAC zero (`arping -U`,
    /// RFC 5227's announcement).
    Request,
    /// Broadcast ARP reply, sender IP = target IP = the address, target MAC = own MAC (`arping -A`);
    /// for gear that ignores requests.
    Reply,
}

/// Builds the Ethernet frame of one gratuitous ARP for `address` owned by `mac`.
pub fn frame(form: GarpForm, mac: [u8; 6], address: Ipv4Addr) -> [u8; FRAME_LEN] {
    match form {
        GarpForm::Request => ArpMessage::gratuitous_request(mac, address),
        GarpForm::Reply => ArpMessage::gratuitous_reply(mac, address),
    }
    .to_frame()
}

/// An open raw sender on one device. Opening needs CAP_NET_RAW; keep one for a burst, or use
/// [`announce`] for a single round.
pub struct GarpSender {
    device: String,
    mac: [u8; 6],
    tx: Box<dyn DataLinkSender>,
}

impl GarpSender {
    /// Opens a layer-2 sender on `device`.
    pub fn open(device: &str) -> Result<Self, NetError> {
        // The receiving half is dropped at once: a sender reads nothing.
        let channel = raw::open(&raw::interface(device)?, None)?;
        Ok(GarpSender {
            device: device.to_string(),
            mac: channel.mac,
            tx: channel.tx,
        })
    }

    /// The MAC address the frames carry.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Sends one frame of `form` for `address`.
    pub fn send(&mut self, form: GarpForm, address: Ipv4Addr) -> Result<(), NetError> {
        let frame = frame(form, self.mac, address);
        match self.tx.send_to(&frame, None) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(raw::error(e, &self.device, "send gratuitous ARP")),
            None => Err(NetError::Io {
                context: format!("send gratuitous ARP on {}", self.device),
                source: io::Error::other("sender gave no result"),
            }),
        }
    }

    /// Sends both forms once: request, then reply.
    pub fn announce(&mut self, address: Ipv4Addr) -> Result<(), NetError> {
        self.send(GarpForm::Request, address)?;
        self.send(GarpForm::Reply, address)
    }
}

/// Sends both gratuitous ARP forms for `address` on `device` once.
pub fn announce(device: &str, address: Ipv4Addr) -> Result<(), NetError> {
    GarpSender::open(device)?.announce(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("a valid test address")
    }

    #[test]
    fn request_form_is_broadcast_request_with_zero_target_mac() {
        let f = frame(GarpForm::Request, MAC, ip("192.0.2.10"));
        assert_eq!(&f[0..6], &[0xff; 6], "broadcast destination");
        assert_eq!(&f[6..12], &MAC, "own source MAC");
        assert_eq!(&f[12..14], &[0x08, 0x06], "ARP ethertype");
        assert_eq!(
            &f[14..22],
            &[0, 1, 0x08, 0, 6, 4, 0, 1],
            "Ethernet/IPv4, op request"
        );
        assert_eq!(&f[22..28], &MAC, "sender MAC");
        assert_eq!(&f[28..32], &[192, 0, 2, 10], "sender IP");
        assert_eq!(&f[32..38], &[0; 6], "target MAC zero");
        assert_eq!(&f[38..42], &[192, 0, 2, 10], "target IP = sender IP");
    }

    #[test]
    fn reply_form_is_broadcast_reply_with_own_target_mac() {
        let f = frame(GarpForm::Reply, MAC, ip("192.0.2.10"));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[20..22], &[0, 2], "op reply");
        assert_eq!(&f[22..28], &MAC);
        assert_eq!(&f[28..32], &[192, 0, 2, 10]);
        assert_eq!(&f[32..38], &MAC, "target MAC = own, as arping -A");
        assert_eq!(&f[38..42], &[192, 0, 2, 10]);
    }
}
