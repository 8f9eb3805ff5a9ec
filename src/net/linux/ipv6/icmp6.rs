//! ICMPv6 echo, the IPv6 sibling of [`icmp`](crate::net::linux::icmp): one raw ICMPv6 socket per
//! device, bound to it (`SO_BINDTODEVICE`, so an echo never leaves by another route and a reply
//! counts only when it came in on the channel's device), each echo from its source (`IPV6_PKTINFO`,
//! else the kernel's choice), every echo at once, replies matched by identifier, sequence and
//! source. An `ICMP6_FILTER` lets only echo replies wake the socket. The kernel computes and checks
//! the ICMPv6 checksum on raw ICMPv6 sockets (RFC 3542 3.1), so neither is done here.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::net::linux::icmp::IcmpProber;
use crate::net::NetError;

const ECHO_REPLY: u8 = 129;
/// `ICMP6_FILTER` (linux/icmpv6.h) on `IPPROTO_ICMPV6`: 256 bits, a set bit blocks that type.
const ICMP6_FILTER: libc::c_int = 1;
/// The same recognisable payload as the IPv4 echo.
const PAYLOAD: &[u8; 16] = b"failoverctl-prob";

/// One echo to send: out of `device`, from `source` (else the kernel's choice), to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo6Target {
    pub device: String,
    pub source: Option<Ipv6Addr>,
    pub target: Ipv6Addr,
}

/// A device's raw ICMPv6 socket (non-blocking): the daemon's event loop polls its fd.
pub struct Icmp6Socket {
    socket: Socket,
    ifindex: u32,
    pub device: String,
}

impl Icmp6Socket {
    /// Opens the socket on `device` (needs CAP_NET_RAW).
    pub fn open(device: &str) -> Result<Icmp6Socket, NetError> {
        let ifindex = crate::net::linux::ifindex(device)?;
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| NetError::from_io("raw ICMPv6 socket", device, "CAP_NET_RAW", e))?;
        socket
            .bind_device(Some(device.as_bytes()))
            .map_err(|e| NetError::from_io("bind ICMPv6 socket", device, "CAP_NET_RAW", e))?;
        socket.set_nonblocking(true).map_err(|e| NetError::Io {
            context: format!("non-blocking ICMPv6 socket on {device}"),
            source: e,
        })?;
        set_filter(&socket, &[ECHO_REPLY]).map_err(|e| NetError::Io {
            context: format!("ICMPv6 filter on {device}"),
            source: e,
        })?;
        Ok(Icmp6Socket {
            socket,
            ifindex,
            device: device.to_owned(),
        })
    }

    pub fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }

    /// Sends one echo request to `target` from `source` (else the kernel's choice). An error is the
    /// finding "not sent": the target then counts as unanswered.
    pub fn send(
        &self,
        source: Option<Ipv6Addr>,
        target: Ipv6Addr,
        identifier: u16,
        sequence: u16,
    ) -> Result<(), NetError> {
        // Bound to its device: the packet info only carries a source, when there is one.
        let info = source.map(|s| (s, self.ifindex));
        send_echo(
            &self.socket,
            &self.device,
            self.ifindex,
            info,
            target,
            identifier,
            sequence,
        )
    }

    /// The echo replies waiting: `(source, identifier, sequence)` each.
    pub fn receive(&self) -> Vec<(Ipv6Addr, u16, u16)> {
        let mut out = Vec::new();
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
        while let Ok((n, from)) = self.socket.recv_from(&mut buf) {
            // SAFETY: recv_from initialised the first `n` bytes.
            let data: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
            let Some(from) = from.as_socket_ipv6() else {
                continue;
            };
            if let Some((id, seq)) = parse_echo_reply(data) {
                out.push((*from.ip(), id, seq));
            }
        }
        out
    }
}

/// The daemon's one ICMPv6 echo socket for every device: each echo goes out of its channel's
/// device (`IPV6_PKTINFO` names it, with the source when there is one), and each reply comes with
/// the index of the device it came in on (`IPV6_RECVPKTINFO`), so a reply still counts only when
/// it arrived on the channel's device, as with a socket bound to it.
pub struct Icmp6Port {
    socket: Socket,
}

/// An echo reply: its source, identifier, sequence and arrival device's index.
pub struct Reply6 {
    pub from: Ipv6Addr,
    pub identifier: u16,
    pub sequence: u16,
    pub ifindex: u32,
}

impl Icmp6Port {
    /// Opens the socket (needs CAP_NET_RAW).
    pub fn open() -> Result<Icmp6Port, NetError> {
        let fail = |what: &str, e| NetError::from_io(what, "every device", "CAP_NET_RAW", e);
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| fail("raw ICMPv6 socket", e))?;
        socket.set_nonblocking(true).map_err(|e| NetError::Io {
            context: "non-blocking ICMPv6 socket".into(),
            source: e,
        })?;
        set_filter(&socket, &[ECHO_REPLY]).map_err(|e| NetError::Io {
            context: "ICMPv6 filter".into(),
            source: e,
        })?;
        nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::Ipv6RecvPacketInfo,
            &true,
        )
        .map_err(|e| NetError::Io {
            context: "ICMPv6 arrival device (IPV6_RECVPKTINFO)".into(),
            source: std::io::Error::from(e),
        })?;
        Ok(Icmp6Port { socket })
    }

    pub fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }

    /// Sends one echo request to `target` out of the device `ifindex` (`device` names it in
    /// errors), from `source` (else the kernel's choice). An error is the finding "not sent": the
    /// target then counts as unanswered.
    pub fn send(
        &self,
        device: &str,
        ifindex: u32,
        source: Option<Ipv6Addr>,
        target: Ipv6Addr,
        identifier: u16,
        sequence: u16,
    ) -> Result<(), NetError> {
        // The packet info names the device of every echo (the socket serves all of them).
        let info = Some((source.unwrap_or(Ipv6Addr::UNSPECIFIED), ifindex));
        send_echo(
            &self.socket,
            device,
            ifindex,
            info,
            target,
            identifier,
            sequence,
        )
    }

    /// The echo replies waiting.
    pub fn receive(&self) -> Vec<Reply6> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        loop {
            let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo);
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let Ok(msg) = recvmsg::<SockaddrIn6>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT,
            ) else {
                break;
            };
            let n = msg.bytes;
            let ifindex = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|c| match c {
                    ControlMessageOwned::Ipv6PacketInfo(info) => Some(info.ipi6_ifindex),
                    _ => None,
                })
            });
            let from = msg.address.map(|a| a.ip());
            if let (Some(from), Some(ifindex)) = (from, ifindex) {
                if let Some((identifier, sequence)) = parse_echo_reply(&buf[..n]) {
                    out.push(Reply6 {
                        from,
                        identifier,
                        sequence,
                        ifindex,
                    });
                }
            }
        }
        out
    }
}

/// One echo request to `target` on `socket`, with `IPV6_PKTINFO` (source, device index) when
/// `info` is given; a link-local target gets `ifindex` as its zone.
fn send_echo(
    socket: &Socket,
    device: &str,
    ifindex: u32,
    info: Option<(Ipv6Addr, u32)>,
    target: Ipv6Addr,
    identifier: u16,
    sequence: u16,
) -> Result<(), NetError> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn6};
    let packet = echo_request(identifier, sequence);
    // A link-local target needs its zone; the device's index is the only sensible one.
    let scope = if is_link_local(target) { ifindex } else { 0 };
    let to = SockaddrIn6::from(SocketAddrV6::new(target, 0, 0, scope));
    let pktinfo = info.map(|(source, index)| libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: source.octets(),
        },
        ipi6_ifindex: index,
    });
    let iov = [std::io::IoSlice::new(&packet)];
    let control: Vec<ControlMessage> = pktinfo.iter().map(ControlMessage::Ipv6PacketInfo).collect();
    sendmsg(
        socket.as_raw_fd(),
        &iov,
        &control,
        MsgFlags::MSG_DONTWAIT,
        Some(&to),
    )
    .map(|_| ())
    .map_err(|e| NetError::Io {
        context: format!("echo to {target} on {device}"),
        source: std::io::Error::from(e),
    })
}

/// fe80::/10.
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Lets only the ICMPv6 types in `pass` reach the socket.
fn set_filter(socket: &Socket, pass: &[u8]) -> std::io::Result<()> {
    let mut filter = [u32::MAX; 8];
    for &t in pass {
        filter[usize::from(t >> 5)] &= !(1u32 << (t & 31));
    }
    // SAFETY: a valid fd and the 32-byte struct icmp6_filter the option expects.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast(),
            std::mem::size_of_val(&filter) as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The ICMPv6 types a socket's filter lets through (for the tests: the filter is what keeps the
/// event loop from waking for every ICMPv6 message of the device).
pub fn filter_passes(socket: &Icmp6Socket) -> std::io::Result<Vec<u8>> {
    let mut filter = [0u32; 8];
    let mut len = std::mem::size_of_val(&filter) as libc::socklen_t;
    // SAFETY: a valid fd, buffer and length.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((0..=255u8)
        .filter(|t| filter[usize::from(t >> 5)] & (1u32 << (t & 31)) == 0)
        .collect())
}

/// An ICMPv6 echo request (pnet_packet) with the checksum left zero: the kernel fills it in.
pub fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    use pnet_packet::icmpv6::echo_request::MutableEchoRequestPacket;
    use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Types};
    let mut p = vec![0u8; MutableEchoRequestPacket::minimum_packet_size() + PAYLOAD.len()];
    let mut echo = MutableEchoRequestPacket::new(&mut p).expect("the buffer fits an echo request");
    echo.set_icmpv6_type(Icmpv6Types::EchoRequest);
    echo.set_icmpv6_code(Icmpv6Code(0));
    echo.set_identifier(identifier);
    echo.set_sequence_number(sequence);
    echo.set_payload(PAYLOAD);
    p
}

/// Parses what a raw ICMPv6 socket reads (the message alone, no IPv6 header): `(identifier,
/// sequence)` of an echo reply, `None` for anything else.
pub fn parse_echo_reply(message: &[u8]) -> Option<(u16, u16)> {
    use pnet_packet::icmpv6::echo_reply::EchoReplyPacket;
    use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Types};
    let echo = EchoReplyPacket::new(message)?;
    if echo.get_icmpv6_type() != Icmpv6Types::EchoReply || echo.get_icmpv6_code() != Icmpv6Code(0) {
        return None;
    }
    Some((echo.get_identifier(), echo.get_sequence_number()))
}

/// The one-shot prober of the CLI (`probe` with IPv6 targets): one socket per device, every echo
/// at once, one overall deadline.
pub struct Icmp6Prober {
    ids: IcmpProber,
}

impl Default for Icmp6Prober {
    fn default() -> Self {
        Self::new()
    }
}

impl Icmp6Prober {
    /// A prober with an identifier of its own (raw sockets see every echo reply of the device).
    pub fn new() -> Self {
        Self {
            ids: IcmpProber::new(),
        }
    }

    pub fn identifier(&self) -> u16 {
        self.ids.identifier()
    }

    /// The round trip of each target's echo, `None` when no reply came within `timeout`.
    pub fn probe(
        &mut self,
        targets: &[Echo6Target],
        timeout: Duration,
    ) -> Result<Vec<Option<Duration>>, NetError> {
        let deadline = Instant::now() + timeout;
        let mut sockets: Vec<Icmp6Socket> = Vec::new();
        for t in targets {
            if !sockets.iter().any(|s| s.device == t.device) {
                match Icmp6Socket::open(&t.device) {
                    Ok(s) => sockets.push(s),
                    Err(e @ NetError::Privilege { .. }) => return Err(e),
                    // A device that is gone cannot answer: its targets count as unanswered.
                    Err(_) => {}
                }
            }
        }
        let id = self.ids.identifier();
        let mut sent: Vec<Option<(u16, Instant)>> = vec![None; targets.len()];
        for (t, s) in targets.iter().zip(sent.iter_mut()) {
            let seq = self.ids.next_sequence();
            let Some(socket) = sockets.iter().find(|k| k.device == t.device) else {
                continue;
            };
            let before = Instant::now();
            if socket.send(t.source, t.target, id, seq).is_ok() {
                *s = Some((seq, before));
            }
        }
        let mut rtt: Vec<Option<Duration>> = vec![None; targets.len()];
        loop {
            let waiting = sent
                .iter()
                .zip(&rtt)
                .any(|(s, r)| s.is_some() && r.is_none());
            let now = Instant::now();
            if !waiting || now >= deadline {
                break;
            }
            if !wait_any(&sockets, deadline - now)? {
                continue;
            }
            let received = Instant::now();
            for socket in &sockets {
                for (from, rid, seq) in socket.receive() {
                    if rid != id {
                        continue;
                    }
                    for ((t, s), r) in targets.iter().zip(&sent).zip(rtt.iter_mut()) {
                        if let Some((want, at)) = s {
                            if *want == seq
                                && t.target == from
                                && t.device == socket.device
                                && r.is_none()
                            {
                                *r = Some(received.duration_since(*at));
                            }
                        }
                    }
                }
            }
        }
        Ok(rtt)
    }
}

/// Waits until one of `sockets` is readable or `timeout` passes.
fn wait_any(sockets: &[Icmp6Socket], timeout: Duration) -> Result<bool, NetError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let fds: Vec<_> = sockets
        .iter()
        // SAFETY: the sockets stay open for this call.
        .map(|s| unsafe { std::os::fd::BorrowedFd::borrow_raw(s.as_raw_fd()) })
        .collect();
    let mut polls: Vec<PollFd> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    if polls.is_empty() {
        std::thread::sleep(timeout);
        return Ok(false);
    }
    let ms = timeout.as_micros().div_ceil(1000);
    let wait = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
    match poll(&mut polls, wait) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(NetError::Io {
            context: "poll".into(),
            source: e.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_leaves_the_checksum_to_the_kernel() {
        let p = echo_request(0x1234, 7);
        assert_eq!(&p[..8], &[128, 0, 0, 0, 0x12, 0x34, 0, 7]);
        assert_eq!(&p[8..], PAYLOAD);
    }

    #[test]
    fn replies_parse_and_other_messages_do_not() {
        let mut reply = echo_request(0xbeef, 42);
        reply[0] = ECHO_REPLY;
        assert_eq!(parse_echo_reply(&reply), Some((0xbeef, 42)));
        assert_eq!(parse_echo_reply(&echo_request(1, 2)), None);
        let mut coded = reply.clone();
        coded[1] = 1;
        assert_eq!(parse_echo_reply(&coded), None);
        assert_eq!(parse_echo_reply(&reply[..4]), None);
    }

    #[test]
    fn link_local_addresses() {
        assert!(is_link_local("fe80::1".parse().expect("address")));
        assert!(is_link_local("febf::1".parse().expect("address")));
        assert!(!is_link_local("2001:db8::1".parse().expect("address")));
        assert!(!is_link_local("fec0::1".parse().expect("address")));
    }

    #[test]
    fn an_unknown_device_is_no_device() {
        assert!(matches!(
            Icmp6Socket::open("nosuchdev0"),
            Err(NetError::NoDevice(d)) if d == "nosuchdev0"
        ));
    }
}
