//! ICMP echo over one raw socket (socket2): each echo leaves its target's device from its source
//! (`IP_PKTINFO`), every echo is sent at once, replies are matched by type, identifier, sequence and
//! source, one overall deadline: N targets cost one timeout, not N.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::net::{NetError, ProbeResult, ProbeTarget, Prober};

const ICMP_ECHO_REPLY: u8 = 0;
/// `ICMP_FILTER` (linux/icmp.h) on `SOL_RAW`: a bit set per ICMP type the socket should NOT receive.
const ICMP_FILTER: libc::c_int = 1;
/// A recognisable payload; its length only has to make the echo an ordinary one.
const PAYLOAD: &[u8; 16] = b"failoverctl-prob";

/// The Linux [`Prober`]: raw ICMP sockets, needs CAP_NET_RAW.
pub struct IcmpProber {
    identifier: u16,
    sequence: u16,
}

impl Default for IcmpProber {
    fn default() -> Self {
        Self::new()
    }
}

impl IcmpProber {
    /// A prober with an identifier of its own, so two probers in one namespace ignore each other's
    /// replies (raw sockets, unlike ping sockets, see every ICMP packet of the namespace).
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let identifier = (std::process::id() as u16) ^ ((nanos >> 8) as u16);
        Self {
            identifier,
            sequence: (nanos as u16) & 0x0fff,
        }
    }

    /// The echo identifier this prober uses.
    pub fn identifier(&self) -> u16 {
        self.identifier
    }

    pub fn next_sequence(&mut self) -> u16 {
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence
    }
}

/// One raw ICMP socket for every probe of a process (non-blocking): each echo leaves through its
/// target's device from its source address (`IP_PKTINFO` per datagram), replies are matched by
/// identifier, sequence and source. The daemon's event loop polls its fd; [`IcmpProber`] waits on it.
pub struct IcmpSocket {
    socket: Socket,
    /// Interface indexes by name: `if_nametoindex` costs a socket and an ioctl per call, and the
    /// daemon sends every checktime. A failed send drops the entry, so a re-created device is
    /// looked up again.
    ifindexes: std::collections::HashMap<String, u32>,
}

impl IcmpSocket {
    pub fn open() -> Result<IcmpSocket, NetError> {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
            .map_err(|e| NetError::from_io("raw ICMP socket", "any", "CAP_NET_RAW", e))?;
        socket.set_nonblocking(true).map_err(|e| NetError::Io {
            context: "non-blocking ICMP socket".into(),
            source: e,
        })?;
        // Let the kernel drop every ICMP type but echo reply before it reaches us.
        let filter: u32 = !(1u32 << ICMP_ECHO_REPLY);
        // SAFETY: a valid fd and a u32 as ICMP_FILTER expects; failure only means more filtering here.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_RAW,
                ICMP_FILTER,
                (&filter as *const u32).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            );
        }
        Ok(IcmpSocket {
            socket,
            ifindexes: std::collections::HashMap::new(),
        })
    }

    pub fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }

    /// Sends one echo request out of `target.device` (from `target.source`, else the kernel's
    /// choice). An error is the finding "not sent": the target then counts as unanswered.
    pub fn send(
        &mut self,
        target: &ProbeTarget,
        identifier: u16,
        sequence: u16,
    ) -> Result<(), NetError> {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn};
        let ifindex = match self.ifindexes.get(&target.device) {
            Some(&i) => i,
            None => {
                let i = super::ifindex(&target.device)?;
                self.ifindexes.insert(target.device.clone(), i);
                i
            }
        };
        let (to, source) = (super::ipv4(target.target)?, target.source.map(super::ipv4));
        let packet = echo_request(identifier, sequence);
        let info = libc::in_pktinfo {
            ipi_ifindex: ifindex as libc::c_int,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(source.transpose()?.unwrap_or(Ipv4Addr::UNSPECIFIED)).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let to = SockaddrIn::from(SocketAddrV4::new(to, 0));
        let iov = [std::io::IoSlice::new(&packet)];
        sendmsg(
            self.socket.as_raw_fd(),
            &iov,
            &[ControlMessage::Ipv4PacketInfo(&info)],
            MsgFlags::MSG_DONTWAIT,
            Some(&to),
        )
        .map(|_| ())
        .map_err(|e| {
            self.ifindexes.remove(&target.device);
            NetError::Io {
                context: format!("echo to {} on {}", target.target, target.device),
                source: std::io::Error::from(e),
            }
        })
    }

    /// The echo replies waiting: `(source, identifier, sequence)` each.
    pub fn receive(&self) -> Vec<(Ipv4Addr, u16, u16)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        while let Ok(n) = (&self.socket).read(&mut buf) {
            if let Some(reply) = parse_echo_reply(&buf[..n]) {
                out.push(reply);
            }
        }
        out
    }
}

/// One echo in flight.
struct Pending {
    sequence: u16,
    sent_at: Option<Instant>,
    rtt: Option<Duration>,
}

impl Prober for IcmpProber {
    fn probe(
        &mut self,
        targets: &[ProbeTarget],
        timeout: Duration,
    ) -> Result<Vec<ProbeResult>, NetError> {
        let deadline = Instant::now() + timeout;
        let mut socket = IcmpSocket::open()?;
        let mut pending: Vec<Pending> = targets
            .iter()
            .map(|_| Pending {
                sequence: self.next_sequence(),
                sent_at: None,
                rtt: None,
            })
            .collect();
        for (t, p) in targets.iter().zip(pending.iter_mut()) {
            // The time is taken before the send: the round trip includes the send itself.
            let before = Instant::now();
            if socket.send(t, self.identifier, p.sequence).is_ok() {
                p.sent_at = Some(before);
            }
        }
        while pending
            .iter()
            .any(|p| p.sent_at.is_some() && p.rtt.is_none())
        {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if !wait_readable(socket.as_raw_fd(), deadline - now)? {
                continue;
            }
            let received = Instant::now();
            for (from, id, seq) in socket.receive() {
                if id != self.identifier {
                    continue;
                }
                for (t, p) in targets.iter().zip(pending.iter_mut()) {
                    if p.sequence == seq && t.target == from && p.rtt.is_none() {
                        if let Some(sent) = p.sent_at {
                            p.rtt = Some(received.duration_since(sent));
                        }
                    }
                }
            }
        }
        Ok(targets
            .iter()
            .zip(pending)
            .map(|(t, p)| ProbeResult {
                target: t.clone(),
                rtt: p.rtt,
            })
            .collect())
    }
}

/// Waits until `fd` is readable or `timeout` passes.
pub fn wait_readable(fd: std::os::fd::RawFd, timeout: Duration) -> Result<bool, NetError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    // SAFETY: the caller's descriptor stays open for this call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    // Round up so a sub-millisecond remainder does not spin.
    let ms = timeout.as_micros().div_ceil(1000);
    let wait = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, wait) {
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return Ok(false),
        Err(e) => {
            return Err(NetError::Io {
                context: "poll".into(),
                source: e.into(),
            })
        }
    }
    Ok(fds[0]
        .revents()
        .is_some_and(|r| r.contains(PollFlags::POLLIN)))
}

/// An ICMP echo request with a correct checksum (pnet_packet builds it).
pub fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    use pnet_packet::icmp::echo_request::MutableEchoRequestPacket;
    use pnet_packet::icmp::{IcmpCode, IcmpPacket, IcmpTypes};
    let mut p = vec![0u8; MutableEchoRequestPacket::minimum_packet_size() + PAYLOAD.len()];
    {
        let mut echo =
            MutableEchoRequestPacket::new(&mut p).expect("the buffer fits an echo request");
        echo.set_icmp_type(IcmpTypes::EchoRequest);
        echo.set_icmp_code(IcmpCode(0));
        echo.set_identifier(identifier);
        echo.set_sequence_number(sequence);
        echo.set_payload(PAYLOAD);
    }
    let sum = pnet_packet::icmp::checksum(&IcmpPacket::new(&p).expect("an ICMP packet"));
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// Parses what a raw IPv4 ICMP socket reads (IP header included): `(source, identifier, sequence)`
/// of an echo reply with a valid checksum, `None` for anything else.
pub fn parse_echo_reply(packet: &[u8]) -> Option<(Ipv4Addr, u16, u16)> {
    use pnet_packet::icmp::echo_reply::EchoReplyPacket;
    use pnet_packet::icmp::{IcmpCode, IcmpTypes};
    use pnet_packet::ip::IpNextHeaderProtocols;
    use pnet_packet::ipv4::Ipv4Packet;
    let ip = Ipv4Packet::new(packet)?;
    let ihl = usize::from(ip.get_header_length()) * 4;
    if ip.get_version() != 4 || ip.get_next_level_protocol() != IpNextHeaderProtocols::Icmp {
        return None;
    }
    // The ICMP message is everything after the header (the raw socket hands over the datagram).
    let icmp = packet.get(ihl..)?;
    let echo = EchoReplyPacket::new(icmp)?;
    if echo.get_icmp_type() != IcmpTypes::EchoReply
        || echo.get_icmp_code() != IcmpCode(0)
        || checksum(icmp) != 0
    {
        return None;
    }
    Some((
        ip.get_source(),
        echo.get_identifier(),
        echo.get_sequence_number(),
    ))
}

/// The Internet checksum (RFC 1071, pnet_packet's); 0 over a packet that carries a correct one.
pub fn checksum(data: &[u8]) -> u16 {
    // No word skipped: summing over the checksum field itself gives 0 for a correct packet.
    pnet_packet::util::checksum(data, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reply the target would send: type 0, same id/seq/payload, behind an IPv4 header.
    fn reply_from(source: Ipv4Addr, request: &[u8]) -> Vec<u8> {
        let mut icmp = request.to_vec();
        icmp[0] = ICMP_ECHO_REPLY;
        icmp[2..4].copy_from_slice(&[0, 0]);
        let sum = checksum(&icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        ip.extend_from_slice(&source.octets());
        ip.extend_from_slice(&[192, 0, 2, 12]);
        ip.extend_from_slice(&icmp);
        ip
    }

    /// Built by pnet_packet since the upgrade: the bytes are the hand-built ones of before.
    #[test]
    fn request_bytes_are_unchanged_by_pnet() {
        let p = echo_request(0x1234, 7);
        let mut expected = vec![8, 0, 0, 0, 0x12, 0x34, 0, 7];
        expected.extend_from_slice(PAYLOAD);
        let sum = checksum(&expected);
        expected[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(p, expected);
    }

    #[test]
    fn request_checksum_verifies() {
        let p = echo_request(0x1234, 7);
        assert_eq!(checksum(&p), 0);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
    }

    #[test]
    fn replies_parse_and_other_traffic_does_not() {
        let from = Ipv4Addr::new(192, 0, 2, 1);
        let reply = reply_from(from, &echo_request(0xbeef, 42));
        assert_eq!(parse_echo_reply(&reply), Some((from, 0xbeef, 42)));

        // Our own echo request, as a raw socket also sees it.
        let mut own = reply.clone();
        own[20] = 8; // echo request
        assert_eq!(parse_echo_reply(&own), None);

        // A corrupted reply.
        let mut bad = reply.clone();
        bad[30] ^= 0xff;
        assert_eq!(parse_echo_reply(&bad), None);

        // Truncated.
        assert_eq!(parse_echo_reply(&reply[..24]), None);
    }

    #[test]
    fn checksum_of_odd_length_pads_with_zero() {
        assert_eq!(checksum(&[0xff]), !0xff00);
    }
}
