//! ICMP echo over raw sockets (socket2): one socket per (device, source) bound with SO_BINDTODEVICE,
//! every echo sent at once, replies matched by type, identifier, sequence and source, one overall
//! deadline: N targets cost one timeout, not N.

use std::collections::HashMap;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::net::{NetError, ProbeResult, ProbeTarget, Prober};

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO_REQUEST: u8 = 8;
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

    fn next_sequence(&mut self) -> u16 {
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence
    }
}

/// One echo in flight.
struct Pending {
    socket: usize,
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
        let start = Instant::now();
        let deadline = start + timeout;

        // One socket per (device, source): every target of a channel shares it.
        let mut sockets: Vec<Socket> = Vec::new();
        let mut by_key: HashMap<(&str, Option<Ipv4Addr>), usize> = HashMap::new();
        let mut pending = Vec::with_capacity(targets.len());
        for t in targets {
            let key = (t.device.as_str(), t.source);
            let socket = match by_key.get(&key) {
                Some(&i) => i,
                None => {
                    sockets.push(open_socket(&t.device, t.source)?);
                    by_key.insert(key, sockets.len() - 1);
                    sockets.len() - 1
                }
            };
            pending.push(Pending {
                socket,
                sequence: self.next_sequence(),
                sent_at: None,
                rtt: None,
            });
        }

        for (t, p) in targets.iter().zip(pending.iter_mut()) {
            let packet = echo_request(self.identifier, p.sequence);
            let to = SockAddr::from(SocketAddrV4::new(t.target, 0));
            // A send that fails (no route, neighbour failure) leaves the target unanswered: that is
            // the finding, not an error of the whole probe.
            if sockets[p.socket].send_to(&packet, &to).is_ok() {
                p.sent_at = Some(Instant::now());
            }
        }

        let mut buf = [0u8; 1500];
        while pending
            .iter()
            .any(|p| p.sent_at.is_some() && p.rtt.is_none())
        {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let ready = wait_readable(&sockets, deadline - now)?;
            for i in ready {
                // Drain everything queued: the socket is non-blocking.
                while let Ok(n) = (&sockets[i]).read(&mut buf) {
                    let Some((from, id, seq)) = parse_echo_reply(&buf[..n]) else {
                        continue;
                    };
                    if id != self.identifier {
                        continue;
                    }
                    let received = Instant::now();
                    for (t, p) in targets.iter().zip(pending.iter_mut()) {
                        if p.socket == i && p.sequence == seq && t.target == from && p.rtt.is_none()
                        {
                            if let Some(sent) = p.sent_at {
                                p.rtt = Some(received.duration_since(sent));
                            }
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

fn open_socket(device: &str, source: Option<Ipv4Addr>) -> Result<Socket, NetError> {
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
        .map_err(|e| NetError::from_io("raw ICMP socket", device, "CAP_NET_RAW", e))?;
    socket
        .bind_device(Some(device.as_bytes()))
        .map_err(|e| NetError::from_io("bind ICMP socket to device", device, "CAP_NET_RAW", e))?;
    if let Some(source) = source {
        socket
            .bind(&SockAddr::from(SocketAddrV4::new(source, 0)))
            .map_err(|e| NetError::Io {
                context: format!("bind ICMP socket to source {source} on {device}"),
                source: e,
            })?;
    }
    socket.set_nonblocking(true).map_err(|e| NetError::Io {
        context: format!("non-blocking ICMP socket on {device}"),
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
    Ok(socket)
}

/// Waits until some socket is readable or `timeout` passes; returns the readable ones.
fn wait_readable(sockets: &[Socket], timeout: Duration) -> Result<Vec<usize>, NetError> {
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Round up so a sub-millisecond remainder does not spin.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            return Ok(Vec::new());
        }
        return Err(NetError::Io {
            context: "poll ICMP sockets".into(),
            source: err,
        });
    }
    Ok(fds
        .iter()
        .enumerate()
        .filter(|(_, f)| f.revents & libc::POLLIN != 0)
        .map(|(i, _)| i)
        .collect())
}

/// An ICMP echo request with a correct checksum.
pub fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + PAYLOAD.len());
    p.extend_from_slice(&[ICMP_ECHO_REQUEST, 0, 0, 0]);
    p.extend_from_slice(&identifier.to_be_bytes());
    p.extend_from_slice(&sequence.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// Parses what a raw IPv4 ICMP socket reads (IP header included): `(source, identifier, sequence)`
/// of an echo reply with a valid checksum, `None` for anything else.
pub fn parse_echo_reply(packet: &[u8]) -> Option<(Ipv4Addr, u16, u16)> {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != 1 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let icmp = packet.get(ihl..)?;
    if icmp.len() < 8 || icmp[0] != ICMP_ECHO_REPLY || icmp[1] != 0 || checksum(icmp) != 0 {
        return None;
    }
    let source = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let identifier = u16::from_be_bytes([icmp[4], icmp[5]]);
    let sequence = u16::from_be_bytes([icmp[6], icmp[7]]);
    Some((source, identifier, sequence))
}

/// The Internet checksum (RFC 1071); 0 over a packet that carries a correct one.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
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
        own[20] = ICMP_ECHO_REQUEST;
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
