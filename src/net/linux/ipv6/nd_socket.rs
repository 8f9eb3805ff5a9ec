//! One AF_PACKET socket per device for neighbour discovery, non-blocking, the IPv6 sibling of
//! [`ArpSocket`](crate::net::linux::arp_socket::ArpSocket): the daemon's event loop polls it for the
//! passive's raw check and the active's rival look; it sends whole NS frames (the rival look's comes
//! from `::`, which only a packet socket can send) and reads the NAs.
//!
//! Why a packet socket and not a raw ICMPv6 one: a raw ICMPv6 socket would see every NA too, but
//! it cannot send from `::` (the kernel fills in a source), and the rival's MAC is the Ethernet
//! source here. Bound to ETH_P_IPV6 it would wake for every IPv6 frame of the device: a classic BPF
//! filter lets only ICMPv6 Neighbour Advertisements through, so the loop wakes for those alone.

use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::nd_frame::NdMessage;
use crate::net::linux::arp_socket::ArpDevice;
use crate::net::NetError;

const ETH_P_IPV6: u16 = 0x86dd;

/// A neighbour discovery socket on one device (the one-shot `arp-check` and the lab): the
/// daemon's [`NdPort`] bound to that device alone.
pub struct NdSocket {
    port: NdPort,
    dev: ArpDevice,
    pub device: String,
    pub mac: [u8; 6],
}

/// The filter: Ethernet type IPv6 (offset 12), next header ICMPv6 (20), ICMPv6 type 136, NA (54).
/// No extension header is followed: neighbour discovery carries none in practice, and what passes
/// is parsed and checked in full anyway.
pub fn na_filter() -> Vec<libc::sock_filter> {
    filter_program(None)
}

/// `SKF_AD_OFF + SKF_AD_PKTTYPE` (linux/filter.h): the ancillary load of the frame's packet type.
const SKF_AD_PKTTYPE_AT: u32 = 0xffff_f000 + 4;
/// Where an NA's target address ends (its low 32 bits): Ethernet 14 + IPv6 40 + ICMPv6 8 + 12.
const NA_TARGET_LOW_AT: u32 = 74;
/// More watched addresses than this accept every NA (too much is only extra work in user space,
/// too little would hide a claim); a device has a few activeips.
const MAX_WATCHED: usize = 200;

/// The classic BPF program: an NA (as [`na_filter`]); with `watched`, also not sent by this host
/// (`PACKET_OUTGOING`: the kernel's own answers to the peer's checks) and with a target whose low
/// 32 bits are one of the watched addresses'. User space checks the whole address.
fn filter_program(watched: Option<&[Ipv6Addr]>) -> Vec<libc::sock_filter> {
    let watched = watched.filter(|w| w.len() <= MAX_WATCHED);
    let op = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let ld_h = libc::BPF_LD | libc::BPF_H | libc::BPF_ABS;
    let ld_b = libc::BPF_LD | libc::BPF_B | libc::BPF_ABS;
    let ld_w = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    // Jumps are resolved below: `Some(true)` goes to the accept, `Some(false)` to the drop.
    let mut p: Vec<(libc::sock_filter, Option<bool>, Option<bool>)> = vec![
        (op(ld_h, 12), None, None),
        (op(jeq, u32::from(ETH_P_IPV6)), None, Some(false)),
        (op(ld_b, 20), None, None),
        (op(jeq, 58), None, Some(false)),
        (op(ld_b, 54), None, None),
        (op(jeq, 136), None, Some(false)),
    ];
    if let Some(watched) = watched {
        p.push((op(ld_b, SKF_AD_PKTTYPE_AT), None, None));
        p.push((op(jeq, u32::from(libc::PACKET_OUTGOING)), Some(false), None));
        p.push((op(ld_w, NA_TARGET_LOW_AT), None, None));
        for a in watched {
            let low = u32::from_be_bytes(a.octets()[12..].try_into().expect("four bytes"));
            p.push((op(jeq, low), Some(true), None));
        }
        // None matched.
        p.push((op(ret, 0), None, None));
    }
    let accept = p.len();
    let drop = accept + 1;
    let mut out: Vec<libc::sock_filter> = p
        .into_iter()
        .enumerate()
        .map(|(i, (mut f, jt, jf))| {
            let to = |t: Option<bool>| match t {
                Some(true) => (accept - i - 1) as u8,
                Some(false) => (drop - i - 1) as u8,
                None => 0,
            };
            f.jt = to(jt);
            f.jf = to(jf);
            f
        })
        .collect();
    out.push(op(ret, u32::MAX));
    out.push(op(ret, 0));
    out
}

fn attach(fd: RawFd, program: &[libc::sock_filter]) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: a valid program that outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl NdSocket {
    /// Opens the socket on `device` (needs CAP_NET_RAW).
    pub fn open(device: &str) -> Result<NdSocket, NetError> {
        let ifindex = crate::net::linux::ifindex(device)? as i32;
        let port = NdPort::open_on(ifindex, device)?;
        let dev = ArpDevice::lookup(port.as_raw_fd(), device)?;
        Ok(NdSocket {
            device: dev.device.clone(),
            mac: dev.mac,
            port,
            dev,
        })
    }

    /// Lets the kernel hand this socket only the advertisements a check or the claim watcher can
    /// use: from other stations, for one of `watched`. The peer's checks answered by this host and
    /// everyone's ordinary neighbour discovery no longer wake the event loop.
    pub fn watch_only(&self, watched: &[Ipv6Addr]) -> std::io::Result<()> {
        self.port.watch_only(watched)
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.port.as_raw_fd()
    }

    /// Sends a Neighbour Solicitation for `target` from `source` to its solicited-node group; from
    /// `::` it is the duplicate-address-detection form (no source link-layer option), which the
    /// owner answers to all nodes without learning anything from it.
    pub fn solicit(&self, source: Ipv6Addr, target: Ipv6Addr) -> Result<(), NetError> {
        self.port.solicit(&self.dev, source, target)
    }

    /// Sends one whole Ethernet frame to `dest`.
    pub fn send(&self, frame: &[u8], dest: [u8; 6]) -> Result<(), NetError> {
        self.port.send(&self.dev, frame, dest)
    }

    /// The valid Neighbour Advertisements from other stations waiting on the socket (frames this
    /// host sent, and any carrying this device's MAC, are skipped).
    pub fn receive(&self) -> Vec<NdMessage> {
        self.port
            .receive()
            .into_iter()
            .map(|h| h.message)
            .filter(|m| m.eth_src != self.mac && m.mac() != self.mac)
            .collect()
    }
}

/// The daemon's one neighbour-discovery socket, every device: bound to ETH_P_IPV6 on all of them,
/// the advertisement filter in place before the bind (nothing unfiltered is queued), frames sent
/// out of a device by its index, advertisements attributed by the device they came in on. One
/// socket for every IPv6 channel, as [`ArpSocket`](crate::net::linux::arp_socket::ArpSocket).
pub struct NdPort {
    fd: OwnedFd,
}

/// An advertisement heard on the device with index `ifindex`.
pub struct HeardNd {
    pub ifindex: i32,
    pub message: NdMessage,
}

impl NdPort {
    /// Opens the socket on every device (needs CAP_NET_RAW).
    pub fn open() -> Result<NdPort, NetError> {
        Self::open_on(0, "every device")
    }

    /// Opens the socket on the device with index `ifindex`, 0 for every device (`what` names it
    /// in errors).
    fn open_on(ifindex: i32, what: &str) -> Result<NdPort, NetError> {
        let fail = |context: &str| {
            NetError::from_io(
                context,
                what,
                "CAP_NET_RAW",
                std::io::Error::last_os_error(),
            )
        };
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                // Protocol 0: no receive hook until bind (no RCU wait), and nothing queued before
                // the filter is in place.
                0,
            )
        };
        if raw < 0 {
            return Err(fail("neighbour discovery socket"));
        }
        // SAFETY: `raw` is a fresh, valid descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if attach(fd.as_raw_fd(), &na_filter()).is_err() {
            return Err(fail("neighbour advertisement filter"));
        }
        let addr = sockaddr(ifindex, [0; 6]);
        // SAFETY: a valid sockaddr_ll of the right size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(fail("bind neighbour discovery socket"));
        }
        Ok(NdPort { fd })
    }

    /// As [`NdSocket::watch_only`], for the activeips of every device.
    pub fn watch_only(&self, watched: &[Ipv6Addr]) -> std::io::Result<()> {
        attach(self.fd.as_raw_fd(), &filter_program(Some(watched)))
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// As [`NdSocket::solicit`], out of `dev`.
    pub fn solicit(
        &self,
        dev: &ArpDevice,
        source: Ipv6Addr,
        target: Ipv6Addr,
    ) -> Result<(), NetError> {
        let m = NdMessage::solicitation(dev.mac, source, target);
        self.send(dev, &m.to_frame(), m.eth_dst)
    }

    /// Sends one whole Ethernet frame out of `dev` to `dest`.
    pub fn send(&self, dev: &ArpDevice, frame: &[u8], dest: [u8; 6]) -> Result<(), NetError> {
        let addr = sockaddr(dev.ifindex(), dest);
        // SAFETY: valid buffer and sockaddr_ll.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(NetError::Io {
                context: format!("send neighbour solicitation on {}", dev.device),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The valid Neighbour Advertisements waiting on the socket, each with its device's index
    /// (frames this host sent are skipped; the caller skips its own MACs).
    pub fn receive(&self) -> Vec<HeardNd> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1600];
        loop {
            // SAFETY: zeroed sockaddr_ll is a valid out-parameter.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: valid buffers and lengths.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            if let Some(message) = NdMessage::parse_advertisement(&buf[..n as usize]) {
                out.push(HeardNd {
                    ifindex: from.sll_ifindex,
                    message,
                });
            }
        }
        out
    }
}

fn sockaddr(ifindex: i32, dest: [u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; zero is a valid start.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ETH_P_IPV6.to_be();
    addr.sll_ifindex = ifindex;
    addr.sll_halen = 6;
    addr.sll_addr[..6].copy_from_slice(&dest);
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().expect("a valid test address")
    }

    /// The filter runs in the kernel on any socket: a datagram socket pair carries the frames.
    fn kept_by(program: &[libc::sock_filter], frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut fds = [0; 2];
        // SAFETY: socketpair(2) fills two descriptors this test owns.
        let rc = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK,
                0,
                fds.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0);
        // SAFETY: both are fresh descriptors owned from here on.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        attach(b.as_raw_fd(), program).expect("the kernel takes the program");
        for f in frames {
            // SAFETY: valid buffer.
            unsafe { libc::send(a.as_raw_fd(), f.as_ptr().cast(), f.len(), 0) };
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: valid buffer.
            let n = unsafe { libc::recv(b.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                break;
            }
            out.push(buf[..n as usize].to_vec());
        }
        out
    }

    #[test]
    fn the_watch_filter_keeps_advertisements_of_watched_addresses_only() {
        let mac = [2, 0, 0, 0, 0, 9];
        let vip = ip("2001:db8:1::10");
        let claim = NdMessage::unsolicited_advertisement(mac, vip, false).to_frame();
        let other =
            NdMessage::unsolicited_advertisement(mac, ip("2001:db8:1::1"), false).to_frame();
        let dad = NdMessage::solicitation(mac, Ipv6Addr::UNSPECIFIED, vip).to_frame();
        let frames = [claim.clone(), other.clone(), dad];
        assert_eq!(kept_by(&filter_program(Some(&[vip])), &frames).len(), 1);
        assert_eq!(kept_by(&filter_program(Some(&[vip])), &frames)[0], claim);
        // Nothing watched: nothing wakes the socket.
        assert!(kept_by(&filter_program(Some(&[])), &frames).is_empty());
        // Unwatched (as opened): every advertisement.
        assert_eq!(kept_by(&na_filter(), &frames), [claim.clone(), other]);
        // Past the limit: every advertisement rather than a blind spot.
        let many: Vec<Ipv6Addr> = (0..300u128).map(|i| Ipv6Addr::from(i + 1)).collect();
        assert_eq!(kept_by(&filter_program(Some(&many)), &frames).len(), 2);
    }
}
