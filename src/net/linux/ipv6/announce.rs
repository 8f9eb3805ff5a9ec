//! Unsolicited Neighbour Advertisements (RFC 4861 7.2.6), the IPv6 form of gratuitous ARP: after a
//! takeover the neighbours' entries for the address move to the new owner's MAC without soliciting
//! again. One round is one advertisement per address; the core repeats the rounds like the
//! gratuitous ARP burst (`garpcount`, `garpinterval`) and refreshes them (`garprefresh`).

use std::io;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::nd_frame::NdMessage;
use crate::net::linux::garp::device_link;
use crate::net::linux::raw;
use crate::net::NetError;

const ETH_P_IPV6: u16 = 0x86dd;

/// True when `device` forwards IPv6 (`/proc/sys/net/ipv6/conf/DEV/forwarding`): the node is then a
/// router and its advertisements carry the Router flag, else neighbours that used it as a router
/// would drop it from their default router lists (RFC 4861 7.2.5). Unreadable is "not a router".
pub fn forwarding(device: &str) -> bool {
    // A name with a slash would read another file; no such device exists anyway.
    if device.contains('/') || device.is_empty() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{device}/forwarding"))
        .is_ok_and(|v| v.trim() != "0")
}

/// The daemon's advertisement sender, as the gratuitous ARP [`Announcer`]: one packet socket,
/// opened once and kept (closing one waits for an RCU grace period, about 10 ms, with the event loop
/// blocked); protocol 0, so it receives nothing; unbound, each frame names its device's index,
/// looked up at every send with the device's current MAC.
///
/// [`Announcer`]: crate::net::linux::garp::Announcer
#[derive(Debug, Default)]
pub struct NaAnnouncer {
    socket: Option<OwnedFd>,
}

impl NaAnnouncer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends one unsolicited advertisement of `address` on `device` (one round): to all nodes, hop
    /// limit 255, Override set, Solicited clear, Router as the device forwards, the target
    /// link-layer option carrying the device's MAC.
    pub fn announce(&mut self, device: &str, address: Ipv6Addr) -> Result<(), NetError> {
        let fd = self.socket(device)?;
        let (index, mac) = device_link(fd, device)?;
        let m = NdMessage::unsolicited_advertisement(mac, address, forwarding(device));
        let frame = m.to_frame();
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ETH_P_IPV6.to_be();
        to.sll_ifindex = index;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&m.eth_dst);
        // SAFETY: the frame and the address outlive the call; lengths are theirs.
        let n = unsafe {
            libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&to as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(raw::error(
                io::Error::last_os_error(),
                device,
                "send neighbour advertisement",
            ));
        }
        Ok(())
    }

    fn socket(&mut self, device: &str) -> Result<i32, NetError> {
        if let Some(fd) = &self.socket {
            return Ok(fd.as_raw_fd());
        }
        // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd at once.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(NetError::from_io(
                "open a raw socket",
                device,
                "CAP_NET_RAW",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let r = fd.as_raw_fd();
        self.socket = Some(fd);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_of_a_missing_or_odd_device_is_not_a_router() {
        assert!(!forwarding("nosuchdev0"));
        assert!(!forwarding("../all"));
        assert!(!forwarding(""));
    }

    #[test]
    fn an_unknown_device_is_no_device() {
        let err = NaAnnouncer::new()
            .announce("nosuchdev0", "2001:db8::10".parse().expect("address"))
            .expect_err("no device");
        // Without CAP_NET_RAW the socket itself is refused first.
        assert!(
            matches!(err, NetError::NoDevice(_) | NetError::Privilege { .. }),
            "{err:?}"
        );
    }
}
