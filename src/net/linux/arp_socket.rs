//! One AF_PACKET socket per device bound to the ARP ethertype, non-blocking: the daemon's event loop
//! polls it for the passive's raw ARP check and the active's conflict check, so neither needs a thread
//! or a fresh socket per check. Bound to ETH_P_ARP, the kernel hands it ARP frames only; frames this
//! host sent itself (PACKET_OUTGOING) are skipped.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::arp_frame::ArpMessage;
use crate::net::NetError;

const ETH_P_ARP: u16 = 0x0806;

/// A device's ARP socket and its MAC.
pub struct ArpSocket {
    fd: OwnedFd,
    ifindex: i32,
    pub device: String,
    pub mac: [u8; 6],
}

impl ArpSocket {
    /// Opens the socket on `device` (needs CAP_NET_RAW).
    pub fn open(device: &str) -> Result<ArpSocket, NetError> {
        let ifindex = super::ifindex(device)? as i32;
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                // Protocol 0: no receive hook until bind. With ETH_P_ARP here, bind would first
                // take down the all-devices hook and wait for an RCU grace period (about 16 ms
                // per socket: a 64-channel takeover's announcements spread over a second).
                0,
            )
        };
        if raw < 0 {
            return Err(NetError::from_io(
                "ARP socket",
                device,
                "CAP_NET_RAW",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: `raw` is a fresh, valid descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
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
            return Err(NetError::from_io(
                "bind ARP socket",
                device,
                "CAP_NET_RAW",
                std::io::Error::last_os_error(),
            ));
        }
        // The bound socket's own address carries the device's MAC: no enumeration of every
        // interface (pnet's reads sysfs for each one, about 12 ms with 64 devices).
        // SAFETY: zeroed sockaddr_ll is a valid out-parameter of the right size.
        let mut own: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: valid descriptor, buffer and length.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut own as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(NetError::from_io(
                "ARP socket address",
                device,
                "CAP_NET_RAW",
                std::io::Error::last_os_error(),
            ));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&own.sll_addr[..6]);
        if own.sll_halen != 6 || mac == [0; 6] {
            return Err(NetError::Io {
                context: format!("{device}: no Ethernet address, ARP does not apply"),
                source: std::io::Error::from(std::io::ErrorKind::Unsupported),
            });
        }
        Ok(ArpSocket {
            fd,
            ifindex,
            device: device.to_owned(),
            mac,
        })
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends an ARP request for `target` from `sender_ip` (0.0.0.0: an RFC 5227 probe).
    pub fn request(&self, sender_ip: Ipv4Addr, target: Ipv4Addr) -> Result<(), NetError> {
        self.send(&ArpMessage::request(self.mac, sender_ip, target).to_frame())
    }

    /// Sends one whole Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> Result<(), NetError> {
        let addr = sockaddr(self.ifindex, [0xff; 6]);
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
                context: format!("send ARP on {}", self.device),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The ARP messages from other stations waiting on the socket.
    pub fn receive(&self) -> Vec<ArpMessage> {
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
            if let Some(m) = ArpMessage::parse(&buf[..n as usize]) {
                if m.sender_mac != self.mac {
                    out.push(m);
                }
            }
        }
        out
    }
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
