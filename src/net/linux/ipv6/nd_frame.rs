//! Neighbour Solicitation and Advertisement frames (RFC 4861) built and parsed whole, Ethernet and
//! IPv6 header included (pnet_packet): the duplicate-address-detection form needs the unspecified
//! source `::`, which no IPv6 socket of the kernel sends, so neighbour discovery goes out of packet
//! sockets as the raw ARP frames do, and the ICMPv6 checksum is ours to compute.

use std::net::Ipv6Addr;

use pnet_datalink::MacAddr;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    Icmpv6Codes, MutableNeighborAdvertPacket, MutableNeighborSolicitPacket, NdpOption,
    NdpOptionTypes, NeighborAdvertFlags, NeighborAdvertPacket,
};
use pnet_packet::icmpv6::Icmpv6Types;
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use pnet_packet::Packet;

/// Ethernet + IPv6 header lengths.
const ETH_LEN: usize = 14;
const IP6_LEN: usize = 40;
/// The NS/NA body before options: type, code, checksum, flags/reserved, target.
const ND_LEN: usize = 24;
/// One link-layer address option for Ethernet: type, length (in 8 octets), 6-byte MAC.
const LLA_LEN: usize = 8;
/// RFC 4861: every neighbour discovery message is sent with hop limit 255, and one received with
/// less came through a router (off-link forgery): it is dropped.
pub const ND_HOP_LIMIT: u8 = 255;
/// ff02::1, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The solicited-node multicast address of `address` (RFC 4291 2.7.1): ff02::1:ffXX:XXXX from its
/// low 24 bits; every node joins it for each of its addresses, so a solicitation reaches the owner
/// without flooding every node's IPv6 stack.
pub fn solicited_node(address: Ipv6Addr) -> Ipv6Addr {
    let o = address.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address of an IPv6 multicast group (RFC 2464 7): 33:33 and the group's low 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// Solicitation or advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdKind {
    Solicitation,
    Advertisement,
}

/// The fields of one NS or NA on Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdMessage {
    pub kind: NdKind,
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub hop_limit: u8,
    /// The address asked for (NS) or advertised (NA).
    pub target: Ipv6Addr,
    /// NA only: the R (router), S (solicited) and O (override) flags.
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
    /// The source (NS) or target (NA) link-layer address option.
    pub lladdr: Option<[u8; 6]>,
}

impl NdMessage {
    /// A solicitation for `target` from `source` to the target's solicited-node group. From `::`
    /// (duplicate address detection form, RFC 4862 5.4.2) it carries no source link-layer option, as
    /// RFC 4861 7.2.2 demands: the owner answers to all nodes and learns nothing about us.
    pub fn solicitation(mac: [u8; 6], source: Ipv6Addr, target: Ipv6Addr) -> Self {
        let group = solicited_node(target);
        NdMessage {
            kind: NdKind::Solicitation,
            eth_dst: multicast_mac(group),
            eth_src: mac,
            source,
            destination: group,
            hop_limit: ND_HOP_LIMIT,
            target,
            router: false,
            solicited: false,
            override_: false,
            lladdr: (!source.is_unspecified()).then_some(mac),
        }
    }

    /// An unsolicited advertisement of `address` owned by `mac` (RFC 4861 7.2.6): to all nodes,
    /// Override set so neighbours replace the old MAC at once, Solicited clear, Router as the node
    /// forwards, the target link-layer option carrying `mac`. Its source is the address itself, as
    /// Linux sends its own (the new owner holds it).
    pub fn unsolicited_advertisement(mac: [u8; 6], address: Ipv6Addr, router: bool) -> Self {
        NdMessage {
            kind: NdKind::Advertisement,
            eth_dst: multicast_mac(ALL_NODES),
            eth_src: mac,
            source: address,
            destination: ALL_NODES,
            hop_limit: ND_HOP_LIMIT,
            target: address,
            router,
            solicited: false,
            override_: true,
            lladdr: Some(mac),
        }
    }

    /// The Ethernet frame carrying this message, with its ICMPv6 checksum.
    pub fn to_frame(&self) -> Vec<u8> {
        let icmp_len = ND_LEN + if self.lladdr.is_some() { LLA_LEN } else { 0 };
        let mut frame = vec![0u8; ETH_LEN + IP6_LEN + icmp_len];
        {
            let mut eth = MutableEthernetPacket::new(&mut frame).expect("the frame holds a header");
            eth.set_destination(MacAddr::from(self.eth_dst));
            eth.set_source(MacAddr::from(self.eth_src));
            eth.set_ethertype(EtherTypes::Ipv6);
        }
        {
            let mut ip = MutableIpv6Packet::new(&mut frame[ETH_LEN..]).expect("an IPv6 header");
            ip.set_version(6);
            ip.set_payload_length(icmp_len as u16);
            ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
            ip.set_hop_limit(self.hop_limit);
            ip.set_source(self.source);
            ip.set_destination(self.destination);
        }
        let icmp = &mut frame[ETH_LEN + IP6_LEN..];
        let option = self.lladdr.map(|mac| NdpOption {
            option_type: match self.kind {
                NdKind::Solicitation => NdpOptionTypes::SourceLLAddr,
                NdKind::Advertisement => NdpOptionTypes::TargetLLAddr,
            },
            length: 1,
            data: mac.to_vec(),
        });
        match self.kind {
            NdKind::Solicitation => {
                let mut ns = MutableNeighborSolicitPacket::new(icmp).expect("an NS body");
                ns.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
                ns.set_icmpv6_code(Icmpv6Codes::NoCode);
                ns.set_target_addr(self.target);
                if let Some(o) = option {
                    ns.set_options(&[o]);
                }
            }
            NdKind::Advertisement => {
                let mut na = MutableNeighborAdvertPacket::new(icmp).expect("an NA body");
                na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
                na.set_icmpv6_code(Icmpv6Codes::NoCode);
                na.set_flags(self.flags());
                na.set_target_addr(self.target);
                if let Some(o) = option {
                    na.set_options(&[o]);
                }
            }
        }
        let sum = checksum(icmp, self.source, self.destination);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        frame
    }

    fn flags(&self) -> u8 {
        let mut f = 0;
        if self.router {
            f |= NeighborAdvertFlags::Router;
        }
        if self.solicited {
            f |= NeighborAdvertFlags::Solicited;
        }
        if self.override_ {
            f |= NeighborAdvertFlags::Override;
        }
        f
    }

    /// Parses a frame as a valid Neighbour Advertisement (the checks of RFC 4861 7.1.2: hop limit
    /// 255, checksum, code 0, at least 24 octets, a unicast target, no Solicited flag towards a
    /// multicast destination, no option of length zero); `None` for anything else, solicitations
    /// included. IPv6 extension headers are not followed: neighbour discovery never carries any.
    pub fn parse_advertisement(frame: &[u8]) -> Option<Self> {
        let eth = EthernetPacket::new(frame)?;
        if eth.get_ethertype() != EtherTypes::Ipv6 {
            return None;
        }
        let ip = Ipv6Packet::new(eth.payload())?;
        if ip.get_version() != 6
            || ip.get_next_header() != IpNextHeaderProtocols::Icmpv6
            || ip.get_hop_limit() != ND_HOP_LIMIT
        {
            return None;
        }
        // The payload length, not the frame's: Ethernet pads short frames.
        let icmp = eth
            .payload()
            .get(IP6_LEN..IP6_LEN + usize::from(ip.get_payload_length()))?;
        let (source, destination) = (ip.get_source(), ip.get_destination());
        if icmp.len() < ND_LEN || checksum(icmp, source, destination) != 0 {
            return None;
        }
        let na = NeighborAdvertPacket::new(icmp)?;
        if na.get_icmpv6_type() != Icmpv6Types::NeighborAdvert
            || na.get_icmpv6_code() != Icmpv6Codes::NoCode
        {
            return None;
        }
        let flags = na.get_flags();
        let target = na.get_target_addr();
        let solicited = flags & NeighborAdvertFlags::Solicited != 0;
        if target.is_multicast() || (destination.is_multicast() && solicited) {
            return None;
        }
        let lladdr = link_layer_option(&icmp[ND_LEN..], NdpOptionTypes::TargetLLAddr.0)?;
        // The answering MAC must be a station's (see `is_station_mac`).
        if !crate::net::linux::arp_frame::is_station_mac(
            lladdr.unwrap_or(eth.get_source().octets()),
        ) {
            return None;
        }
        Some(NdMessage {
            kind: NdKind::Advertisement,
            eth_dst: eth.get_destination().octets(),
            eth_src: eth.get_source().octets(),
            source,
            destination,
            hop_limit: ip.get_hop_limit(),
            target,
            router: flags & NeighborAdvertFlags::Router != 0,
            solicited,
            override_: flags & NeighborAdvertFlags::Override != 0,
            lladdr,
        })
    }

    /// The MAC of whoever answered: the target link-layer option, else the Ethernet source (a
    /// solicited unicast answer may leave the option out).
    pub fn mac(&self) -> [u8; 6] {
        self.lladdr.unwrap_or(self.eth_src)
    }
}

/// Walks the options: `Some(the Ethernet address of the first of type `kind`, if any)`, `None` when
/// an option is malformed (length zero or past the end), which makes the whole message invalid.
fn link_layer_option(mut options: &[u8], kind: u8) -> Option<Option<[u8; 6]>> {
    let mut found = None;
    while !options.is_empty() {
        let len = usize::from(*options.get(1)?) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        if options[0] == kind && found.is_none() && len >= LLA_LEN {
            found = <[u8; 6]>::try_from(&options[2..8]).ok();
        }
        options = &options[len..];
    }
    Some(found)
}

/// The ICMPv6 checksum over the pseudo-header (RFC 4443 2.3, pnet_packet's); 0 over a message
/// that carries a correct one, the sum to write into one whose checksum field is zero.
pub fn checksum(icmp: &[u8], source: Ipv6Addr, destination: Ipv6Addr) -> u16 {
    // No word skipped: summing over the checksum field itself gives 0 for a correct message.
    pnet_packet::util::ipv6_checksum(
        icmp,
        usize::MAX,
        &[],
        &source,
        &destination,
        IpNextHeaderProtocols::Icmpv6,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().expect("a valid test address")
    }

    #[test]
    fn solicited_node_group_and_its_mac() {
        let a = ip("2001:db8::1:2:3a:bc10");
        assert_eq!(solicited_node(a), ip("ff02::1:ff3a:bc10"));
        assert_eq!(
            multicast_mac(solicited_node(a)),
            [0x33, 0x33, 0xff, 0x3a, 0xbc, 0x10]
        );
        assert_eq!(multicast_mac(ALL_NODES), [0x33, 0x33, 0, 0, 0, 1]);
    }

    #[test]
    fn solicitation_wire_layout() {
        let target = ip("2001:db8::10");
        let f = NdMessage::solicitation(MAC, ip("2001:db8::12"), target).to_frame();
        assert_eq!(f.len(), 14 + 40 + 24 + 8);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0xff, 0, 0, 0x10]);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14] >> 4, 6);
        assert_eq!(f[20], 58, "next header ICMPv6");
        assert_eq!(f[21], 255, "hop limit");
        assert_eq!(&f[38..54], &ip("ff02::1:ff00:10").octets());
        assert_eq!(f[54], 135, "type NS");
        assert_eq!(&f[62..78], &target.octets());
        assert_eq!(&f[78..86], &[1, 1, 2, 0, 0, 0, 0, 0x11], "source LL option");
        let src = ip("2001:db8::12");
        assert_eq!(checksum(&f[54..], src, ip("ff02::1:ff00:10")), 0);
    }

    #[test]
    fn dad_form_has_no_source_link_layer_option() {
        let f = NdMessage::solicitation(MAC, Ipv6Addr::UNSPECIFIED, ip("2001:db8::10")).to_frame();
        assert_eq!(f.len(), 14 + 40 + 24);
        assert_eq!(&f[22..38], &[0; 16], "source ::");
        assert_eq!(
            checksum(&f[54..], Ipv6Addr::UNSPECIFIED, ip("ff02::1:ff00:10")),
            0
        );
    }

    #[test]
    fn unsolicited_advertisement_round_trips_with_override_and_router() {
        let a = ip("2001:db8::10");
        for router in [false, true] {
            let m = NdMessage::unsolicited_advertisement(MAC, a, router);
            let f = m.to_frame();
            assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
            assert_eq!(f[54], 136, "type NA");
            assert_eq!(
                f[58],
                if router { 0xa0 } else { 0x20 },
                "R?, S clear, O set"
            );
            assert_eq!(&f[78..86], &[2, 1, 2, 0, 0, 0, 0, 0x11], "target LL option");
            assert_eq!(NdMessage::parse_advertisement(&f), Some(m));
        }
    }

    #[test]
    fn invalid_advertisements_are_dropped() {
        let good = NdMessage::unsolicited_advertisement(MAC, ip("2001:db8::10"), false).to_frame();
        assert!(NdMessage::parse_advertisement(&good).is_some());
        // Came through a router.
        let mut f = good.clone();
        f[21] = 254;
        assert_eq!(NdMessage::parse_advertisement(&f), None);
        // Corrupted.
        let mut f = good.clone();
        f[70] ^= 1;
        assert_eq!(NdMessage::parse_advertisement(&f), None);
        // Solicited flag towards all nodes (checksum fixed so only the rule fails).
        let mut m = NdMessage::unsolicited_advertisement(MAC, ip("2001:db8::10"), false);
        m.solicited = true;
        assert_eq!(NdMessage::parse_advertisement(&m.to_frame()), None);
        // An option of length zero.
        let mut f = good.clone();
        f[79] = 0;
        let sum_fix = {
            f[56..58].copy_from_slice(&[0, 0]);
            checksum(&f[54..], ip("2001:db8::10"), ALL_NODES)
        };
        f[56..58].copy_from_slice(&sum_fix.to_be_bytes());
        assert_eq!(NdMessage::parse_advertisement(&f), None);
        // A solicitation is not an advertisement; truncated is nothing.
        let ns = NdMessage::solicitation(MAC, ip("2001:db8::12"), ip("2001:db8::10")).to_frame();
        assert_eq!(NdMessage::parse_advertisement(&ns), None);
        assert_eq!(NdMessage::parse_advertisement(&good[..70]), None);
    }

    #[test]
    fn padding_after_the_payload_is_ignored() {
        let mut f = NdMessage::unsolicited_advertisement(MAC, ip("2001:db8::10"), true).to_frame();
        f.extend_from_slice(&[0; 10]);
        assert!(NdMessage::parse_advertisement(&f).is_some());
    }

    #[test]
    fn without_the_option_the_mac_is_the_ethernet_source() {
        let mut m = NdMessage::unsolicited_advertisement(MAC, ip("2001:db8::10"), false);
        m.lladdr = None;
        m.eth_src = [2, 0, 0, 0, 0, 0x22];
        let parsed = NdMessage::parse_advertisement(&m.to_frame()).expect("valid");
        assert_eq!(parsed.mac(), [2, 0, 0, 0, 0, 0x22]);
    }

    /// Bug: an advertisement naming 00:00:00:00:00:00 (or a group MAC) for the activeip was
    /// taken as a rival with the lowest MAC, so the active yielded its addresses to nobody.
    #[test]
    fn advertisements_for_the_zero_or_a_group_mac_are_garbage() {
        let a = ip("2001:db8:1::10");
        for bad in [[0u8; 6], [0xff; 6], [0x33, 0x33, 0, 0, 0, 1]] {
            let frame = NdMessage::unsolicited_advertisement(bad, a, false).to_frame();
            assert_eq!(NdMessage::parse_advertisement(&frame), None, "{bad:02x?}");
        }
        let good = NdMessage::unsolicited_advertisement(MAC, a, false).to_frame();
        assert!(NdMessage::parse_advertisement(&good).is_some());
    }
}
