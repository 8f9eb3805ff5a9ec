//! Ethernet/ARP frames built and parsed by hand (pnet_packet), for the raw ARP checks and for
//! gratuitous ARP: layer-3 sending would put the wrong MAC in, so whole frames are written.

use std::net::Ipv4Addr;

use pnet_datalink::MacAddr;
use pnet_packet::arp::{
    ArpHardwareTypes, ArpOperation, ArpOperations, ArpPacket, MutableArpPacket,
};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::Packet;

/// Length of an Ethernet header plus an IPv4-over-Ethernet ARP body (no padding; the NIC pads).
pub const FRAME_LEN: usize = 14 + 28;
/// The Ethernet broadcast address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// Request or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    Request,
    Reply,
}

/// The fields of one ARP message over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpMessage {
    pub op: ArpOp,
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// Ethernet source (normally equal to `sender_mac`).
    pub eth_src: [u8; 6],
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

impl ArpMessage {
    /// A broadcast "who has `target_ip`? tell `sender_ip`" from `sender_mac`.
    pub fn request(sender_mac: [u8; 6], sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Self {
        ArpMessage {
            op: ArpOp::Request,
            eth_dst: BROADCAST,
            eth_src: sender_mac,
            sender_mac,
            sender_ip,
            target_mac: [0; 6],
            target_ip,
        }
    }

    /// Gratuitous ARP, request form: a broadcast request whose sender and target IP are the claimed
    /// address.
    pub fn gratuitous_request(mac: [u8; 6], address: Ipv4Addr) -> Self {
        Self::request(mac, address, address)
    }

    /// Gratuitous ARP, reply form (for gear that only learns from replies): broadcast, target MAC the
    /// sender's own.
    pub fn gratuitous_reply(mac: [u8; 6], address: Ipv4Addr) -> Self {
        ArpMessage {
            op: ArpOp::Reply,
            eth_dst: BROADCAST,
            eth_src: mac,
            sender_mac: mac,
            sender_ip: address,
            target_mac: mac,
            target_ip: address,
        }
    }

    /// The Ethernet frame carrying this message.
    pub fn to_frame(&self) -> [u8; FRAME_LEN] {
        let mut frame = [0u8; FRAME_LEN];
        {
            let mut eth = MutableEthernetPacket::new(&mut frame).expect("FRAME_LEN holds a header");
            eth.set_destination(MacAddr::from(self.eth_dst));
            eth.set_source(MacAddr::from(self.eth_src));
            eth.set_ethertype(EtherTypes::Arp);
        }
        let mut arp = MutableArpPacket::new(&mut frame[14..]).expect("FRAME_LEN holds an ARP body");
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(match self.op {
            ArpOp::Request => ArpOperations::Request,
            ArpOp::Reply => ArpOperations::Reply,
        });
        arp.set_sender_hw_addr(MacAddr::from(self.sender_mac));
        arp.set_sender_proto_addr(self.sender_ip);
        arp.set_target_hw_addr(MacAddr::from(self.target_mac));
        arp.set_target_proto_addr(self.target_ip);
        frame
    }

    /// Parses an Ethernet frame; `None` for anything but IPv4-over-Ethernet ARP.
    pub fn parse(frame: &[u8]) -> Option<Self> {
        let eth = EthernetPacket::new(frame)?;
        if eth.get_ethertype() != EtherTypes::Arp {
            return None;
        }
        let arp = ArpPacket::new(eth.payload())?;
        if arp.get_hardware_type() != ArpHardwareTypes::Ethernet
            || arp.get_protocol_type() != EtherTypes::Ipv4
            || arp.get_hw_addr_len() != 6
            || arp.get_proto_addr_len() != 4
        {
            return None;
        }
        // No station sends from the zero or a group (multicast, broadcast) address: such a frame
        // is garbage, and counted as an answer or claim its MAC would win any tie-break.
        let sender_mac = arp.get_sender_hw_addr().octets();
        if !is_station_mac(sender_mac) {
            return None;
        }
        let op = match arp.get_operation() {
            ArpOperation(1) => ArpOp::Request,
            ArpOperation(2) => ArpOp::Reply,
            _ => return None,
        };
        Some(ArpMessage {
            op,
            eth_dst: eth.get_destination().octets(),
            eth_src: eth.get_source().octets(),
            sender_mac,
            sender_ip: arp.get_sender_proto_addr(),
            target_mac: arp.get_target_hw_addr().octets(),
            target_ip: arp.get_target_proto_addr(),
        })
    }
}

/// A MAC a station can send from: not all zeros, not a group address (the I/G bit clear).
pub fn is_station_mac(mac: [u8; 6]) -> bool {
    mac != [0; 6] && mac[0] & 1 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];

    #[test]
    fn request_round_trips_with_the_wire_layout() {
        let m = ArpMessage::request(
            MAC,
            Ipv4Addr::new(192, 0, 2, 12),
            Ipv4Addr::new(192, 0, 2, 10),
        );
        let frame = m.to_frame();
        assert_eq!(&frame[0..6], &BROADCAST);
        assert_eq!(&frame[12..14], &[0x08, 0x06]); // ethertype ARP
        assert_eq!(&frame[20..22], &[0, 1]); // op request
        assert_eq!(&frame[38..42], &[192, 0, 2, 10]); // target IP
        assert_eq!(ArpMessage::parse(&frame), Some(m));
    }

    #[test]
    fn gratuitous_forms_claim_the_address_as_sender_and_target() {
        let a = Ipv4Addr::new(198, 51, 100, 10);
        let req =
            ArpMessage::parse(&ArpMessage::gratuitous_request(MAC, a).to_frame()).expect("arp");
        assert_eq!(
            (req.op, req.sender_ip, req.target_ip),
            (ArpOp::Request, a, a)
        );
        let rep = ArpMessage::parse(&ArpMessage::gratuitous_reply(MAC, a).to_frame()).expect("arp");
        assert_eq!(
            (rep.op, rep.eth_dst, rep.target_mac),
            (ArpOp::Reply, BROADCAST, MAC)
        );
    }

    #[test]
    fn non_arp_frames_are_ignored() {
        let mut frame =
            ArpMessage::request(MAC, Ipv4Addr::UNSPECIFIED, Ipv4Addr::LOCALHOST).to_frame();
        frame[12..14].copy_from_slice(&[0x86, 0xdd]); // IPv6
        assert_eq!(ArpMessage::parse(&frame), None);
        assert_eq!(ArpMessage::parse(&frame[..20]), None);
    }

    /// Bug: one forged ARP reply from 00:00:00:00:00:00 for the activeip, arriving while the
    /// active's conflict look was in flight, counted as a live rival with the lowest MAC, and the
    /// active yielded its addresses to nobody.
    #[test]
    fn frames_from_the_zero_or_a_group_mac_are_garbage() {
        let a = Ipv4Addr::new(192, 0, 2, 10);
        for bad in [
            [0u8; 6],
            BROADCAST,
            [0x01, 0, 0x5e, 0, 0, 1],
            [0x33, 0x33, 0, 0, 0, 1],
        ] {
            let frame = ArpMessage::gratuitous_reply(bad, a).to_frame();
            assert_eq!(ArpMessage::parse(&frame), None, "{bad:02x?}");
        }
        let good = ArpMessage::gratuitous_reply(MAC, a).to_frame();
        assert!(ArpMessage::parse(&good).is_some());
    }
}
