//! The daemon's one ARP socket: AF_PACKET bound to the ARP ethertype on every device, non-blocking,
//! polled by the event loop for the passive's raw ARP check, the active's conflict check and the
//! claim watcher; frames go out of any device by its index. One socket for 64 channels, not 64:
//! one wake-up and one `recvmmsg` per burst of replies. Frames this host sent itself
//! (PACKET_OUTGOING) and frames of devices the daemon does not use are skipped.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::arp_frame::ArpMessage;
use crate::net::NetError;

const ETH_P_ARP: u16 = 0x0806;

/// A device the ARP (or neighbour-discovery) socket sends on and hears from: its name, index and
/// MAC.
pub struct ArpDevice {
    ifindex: i32,
    pub device: String,
    pub mac: [u8; 6],
}

/// The ARP socket of every device.
pub struct ArpSocket {
    fd: OwnedFd,
}

/// An ARP message heard on the device with index `ifindex`.
pub struct HeardArp {
    pub ifindex: i32,
    pub message: ArpMessage,
}

impl ArpDevice {
    /// Looks `device` up: its index and Ethernet address (an error for a device without one).
    pub fn open(socket: &ArpSocket, device: &str) -> Result<ArpDevice, NetError> {
        Self::lookup(socket.fd.as_raw_fd(), device)
    }

    /// The same through any socket `fd` (the ioctl asks the kernel about the device, not about
    /// the socket): the neighbour-discovery socket's devices too.
    pub fn lookup(fd: RawFd, device: &str) -> Result<ArpDevice, NetError> {
        let ifindex = super::ifindex(device)? as i32;
        // SAFETY: ifreq is plain data; zero is a valid start.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        let name = device.as_bytes();
        if name.len() >= req.ifr_name.len() {
            return Err(NetError::NoDevice(device.to_string()));
        }
        for (d, s) in req.ifr_name.iter_mut().zip(name) {
            *d = *s as libc::c_char;
        }
        // SAFETY: SIOCGIFHWADDR fills the ifreq it is given; the descriptor is valid.
        let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR, &mut req) };
        if rc < 0 {
            return Err(NetError::from_io(
                "device address",
                device,
                "CAP_NET_RAW",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: SIOCGIFHWADDR set the union's hardware-address member.
        let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (d, s) in mac.iter_mut().zip(hw.sa_data.iter()) {
            *d = *s as u8;
        }
        if hw.sa_family != libc::ARPHRD_ETHER || mac == [0; 6] {
            return Err(NetError::Io {
                context: format!(
                    "{device}: no Ethernet address, ARP and neighbour discovery do not apply"
                ),
                source: std::io::Error::from(std::io::ErrorKind::Unsupported),
            });
        }
        Ok(ArpDevice {
            ifindex,
            device: device.to_owned(),
            mac,
        })
    }

    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }
}

impl ArpSocket {
    /// Opens the socket (needs CAP_NET_RAW). Opened once: binding the ARP ethertype costs an RCU
    /// grace period (about 16 ms), which one socket per device paid 64 times.
    pub fn open() -> Result<ArpSocket, NetError> {
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ARP.to_be()),
            )
        };
        if raw < 0 {
            return Err(NetError::from_io(
                "ARP socket",
                "every device",
                "CAP_NET_RAW",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: `raw` is a fresh, valid descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(ArpSocket { fd })
    }

    /// Lets the kernel hand this socket only the frames a check can use: replies (to a check or a
    /// conflict probe) and any frame whose sender is one of `watched` (a claim on an activeip).
    /// Everyone's ordinary requests (the peer's checks, clients resolving the gateway) are dropped
    /// in the kernel: on an idle pair they were most of the wake-ups.
    pub fn watch_only(&self, watched: &[Ipv4Addr]) -> std::io::Result<()> {
        attach_filter(self.fd.as_raw_fd(), &filter_program(watched))
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends an ARP request for `target` from `sender_ip` (0.0.0.0: an RFC 5227 probe) on `dev`.
    pub fn request(
        &self,
        dev: &ArpDevice,
        sender_ip: Ipv4Addr,
        target: Ipv4Addr,
    ) -> Result<(), NetError> {
        self.send(
            dev,
            &ArpMessage::request(dev.mac, sender_ip, target).to_frame(),
        )
    }

    /// Sends an ARP request for `target` to the station `mac` only (RFC 1122's unicast poll of a
    /// cached entry, as the kernel's own probes do): no other station on the LAN sees it.
    pub fn request_to(
        &self,
        dev: &ArpDevice,
        sender_ip: Ipv4Addr,
        target: Ipv4Addr,
        mac: [u8; 6],
    ) -> Result<(), NetError> {
        let mut m = ArpMessage::request(dev.mac, sender_ip, target);
        m.eth_dst = mac;
        self.send(dev, &m.to_frame())
    }

    /// Sends one whole Ethernet frame out of `dev`, to the destination in its header.
    pub fn send(&self, dev: &ArpDevice, frame: &[u8]) -> Result<(), NetError> {
        let mut dest = [0xff; 6];
        if let Some(d) = frame.get(..6) {
            dest.copy_from_slice(d);
        }
        let addr = sockaddr(dev.ifindex, dest);
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
                context: format!("send ARP on {}", dev.device),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The ARP messages from other stations waiting on the socket, each with the index of the
    /// device it came in on. One `recvmmsg` takes up to a batch and, by returning fewer than asked,
    /// says the queue is empty: no trailing empty read per wake-up (the edge-triggered loop must
    /// drain the socket).
    pub fn receive(&self) -> Vec<HeardArp> {
        const BATCH: usize = 32;
        let mut out = Vec::new();
        let mut bufs = [[0u8; 128]; BATCH];
        loop {
            // SAFETY: zeroed sockaddr_ll, iovec and mmsghdr are valid plain data; filled below.
            let mut from: [libc::sockaddr_ll; BATCH] = unsafe { std::mem::zeroed() };
            let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
            let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
            for i in 0..BATCH {
                iov[i].iov_base = bufs[i].as_mut_ptr().cast();
                iov[i].iov_len = bufs[i].len();
                msgs[i].msg_hdr.msg_name = (&mut from[i] as *mut libc::sockaddr_ll).cast();
                msgs[i].msg_hdr.msg_namelen =
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                msgs[i].msg_hdr.msg_iov = &mut iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: every header points at buffers that live until the call returns.
            let n = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    BATCH as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            let n = n as usize;
            for i in 0..n {
                if from[i].sll_pkttype == libc::PACKET_OUTGOING {
                    continue;
                }
                // An ARP frame is 42 bytes (60 padded); a longer one is cut, its ARP part intact.
                let len = (msgs[i].msg_len as usize).min(bufs[i].len());
                if let Some(message) = ArpMessage::parse(&bufs[i][..len]) {
                    out.push(HeardArp {
                        ifindex: from[i].sll_ifindex,
                        message,
                    });
                }
            }
            if n < BATCH {
                break;
            }
        }
        out
    }
}

/// Offsets in an Ethernet frame carrying ARP: the operation and the sender's protocol address.
const ARP_OP_AT: u32 = 14 + 6;
const ARP_SENDER_IP_AT: u32 = 14 + 14;

/// The classic BPF program of [`ArpSocket::watch_only`]: accept a reply, or a sender in `watched`;
/// drop the rest. More addresses than one jump can skip (255) accept every frame: too much is only
/// extra work for user space, too little would hide a claim.
fn attach_filter(fd: RawFd, program: &[libc::sock_filter]) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`, alive for the call; the kernel copies it.
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

fn filter_program(watched: &[Ipv4Addr]) -> Vec<libc::sock_filter> {
    const LD_H_ABS: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    if watched.len() > 250 {
        return vec![op(RET_K, 0, 0, 0xffff)];
    }
    let n = watched.len() as u8;
    let mut p = Vec::with_capacity(watched.len() + 5);
    // The accept instruction is the last one; jumps count from the next instruction.
    p.push(op(LD_H_ABS, 0, 0, ARP_OP_AT));
    p.push(op(JEQ_K, n + 2, 0, 2));
    p.push(op(LD_W_ABS, 0, 0, ARP_SENDER_IP_AT));
    for (i, ip) in watched.iter().enumerate() {
        p.push(op(JEQ_K, n - i as u8, 0, u32::from(*ip)));
    }
    p.push(op(RET_K, 0, 0, 0));
    p.push(op(RET_K, 0, 0, 0xffff));
    p
}

fn sockaddr(ifindex: i32, dest: [u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; zero is a valid start.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ETH_P_ARP.to_be();
    addr.sll_ifindex = ifindex;
    addr.sll_halen = 6;
    addr.sll_addr[..6].copy_from_slice(&dest);
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(op: u16, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
        let mut m = ArpMessage::request([2, 0, 0, 0, 0, 1], sender, target)
            .to_frame()
            .to_vec();
        m[20..22].copy_from_slice(&op.to_be_bytes());
        m
    }

    /// The filter runs in the kernel on any socket: a datagram socket pair carries the frames.
    fn kept_by(watched: &[Ipv4Addr], frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
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
        attach_filter(b.as_raw_fd(), &filter_program(watched)).unwrap();
        for f in frames {
            // SAFETY: valid buffer.
            unsafe { libc::send(a.as_raw_fd(), f.as_ptr().cast(), f.len(), 0) };
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 128];
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
    fn the_filter_keeps_replies_and_claims_and_drops_everyone_elses_requests() {
        let vip = Ipv4Addr::new(192, 0, 2, 10);
        let peer = Ipv4Addr::new(192, 0, 2, 12);
        let reply = frame(2, peer, Ipv4Addr::new(192, 0, 2, 11));
        let peers_check = frame(1, peer, vip);
        let claim = frame(1, vip, vip);
        let probe = frame(1, Ipv4Addr::UNSPECIFIED, vip);
        let frames = [reply.clone(), peers_check, claim.clone(), probe];
        assert_eq!(kept_by(&[vip], &frames), vec![reply.clone(), claim]);
        // Nothing watched: replies only.
        assert_eq!(kept_by(&[], &frames), vec![reply]);
        // Past what one jump can skip: everything, rather than a blind spot.
        let many: Vec<Ipv4Addr> = (0..300u32)
            .map(|i| Ipv4Addr::from(0xc633_6400 + i))
            .collect();
        assert_eq!(kept_by(&many, &frames).len(), 4);
    }
}
