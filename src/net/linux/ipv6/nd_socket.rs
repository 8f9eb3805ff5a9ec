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
use crate::net::NetError;

const ETH_P_IPV6: u16 = 0x86dd;

/// A device's neighbour discovery socket and its MAC.
pub struct NdSocket {
    fd: OwnedFd,
    ifindex: i32,
    pub device: String,
    pub mac: [u8; 6],
}

/// The filter: Ethernet type IPv6 (offset 12), next header ICMPv6 (20), ICMPv6 type 136, NA (54).
/// No extension header is followed: neighbour discovery carries none in practice, and what passes
/// is parsed and checked in full anyway.
pub fn na_filter() -> [libc::sock_filter; 8] {
    let load = |size: u32, k: u32| libc::sock_filter {
        code: (libc::BPF_LD | size | libc::BPF_ABS) as u16,
        jt: 0,
        jf: 0,
        k,
    };
    // Falls through when equal, else jumps `jf` statements ahead (to the drop).
    let jeq = |k: u32, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt: 0,
        jf,
        k,
    };
    let ret = |k: u32| libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k,
    };
    [
        load(libc::BPF_H, 12),
        jeq(u32::from(ETH_P_IPV6), 5),
        load(libc::BPF_B, 20),
        jeq(58, 3),
        load(libc::BPF_B, 54),
        jeq(136, 1),
        ret(u32::MAX),
        ret(0),
    ]
}

impl NdSocket {
    /// Opens the socket on `device` (needs CAP_NET_RAW).
    pub fn open(device: &str) -> Result<NdSocket, NetError> {
        let ifindex = crate::net::linux::ifindex(device)? as i32;
        let fail = |what: &str| {
            NetError::from_io(what, device, "CAP_NET_RAW", std::io::Error::last_os_error())
        };
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                // Protocol 0: no receive hook until bind (see ArpSocket: no RCU wait per socket),
                // and nothing queued before the filter is in place.
                0,
            )
        };
        if raw < 0 {
            return Err(fail("neighbour discovery socket"));
        }
        // SAFETY: `raw` is a fresh, valid descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut program = na_filter();
        let prog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: a valid program that outlives the call; the kernel copies it.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc < 0 {
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
        let mac = own_mac(&fd).map_err(|_| fail("neighbour discovery socket address"))?;
        if mac == [0; 6] {
            return Err(NetError::Io {
                context: format!(
                    "{device}: no Ethernet address, neighbour discovery does not apply"
                ),
                source: std::io::Error::from(std::io::ErrorKind::Unsupported),
            });
        }
        Ok(NdSocket {
            fd,
            ifindex,
            device: device.to_owned(),
            mac,
        })
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends a Neighbour Solicitation for `target` from `source` to its solicited-node group; from
    /// `::` it is the duplicate-address-detection form (no source link-layer option), which the
    /// owner answers to all nodes without learning anything from it.
    pub fn solicit(&self, source: Ipv6Addr, target: Ipv6Addr) -> Result<(), NetError> {
        let m = NdMessage::solicitation(self.mac, source, target);
        self.send(&m.to_frame(), m.eth_dst)
    }

    /// Sends one whole Ethernet frame to `dest`.
    pub fn send(&self, frame: &[u8], dest: [u8; 6]) -> Result<(), NetError> {
        let addr = sockaddr(self.ifindex, dest);
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
                context: format!("send neighbour solicitation on {}", self.device),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The valid Neighbour Advertisements from other stations waiting on the socket (frames this
    /// host sent, and any carrying this device's MAC, are skipped).
    pub fn receive(&self) -> Vec<NdMessage> {
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
            if let Some(m) = NdMessage::parse_advertisement(&buf[..n as usize]) {
                if m.eth_src != self.mac && m.mac() != self.mac {
                    out.push(m);
                }
            }
        }
        out
    }
}

/// The MAC of the bound socket's device (its own address): no interface enumeration.
fn own_mac(fd: &OwnedFd) -> Result<[u8; 6], ()> {
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
        return Err(());
    }
    if own.sll_halen != 6 {
        return Ok([0; 6]);
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&own.sll_addr[..6]);
    Ok(mac)
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
