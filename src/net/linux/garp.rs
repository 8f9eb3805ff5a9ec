//! Gratuitous ARP: the two frames network gear expects after an address changes owner (an unsolicited
//! ARP request and an unsolicited ARP reply, as `arping -U` and `arping -A` send), sent as raw Ethernet
//! frames through pnet. The core schedules
//! the repeated announcements (`garpcount`, `garpinterval`, `garprefresh`).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use pnet_datalink::DataLinkSender;

use super::arp_frame::ArpMessage;
pub use super::arp_frame::FRAME_LEN;
use super::raw;
use crate::net::NetError;

/// Which gratuitous ARP form to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarpForm {
    /// Broadcast ARP request, sender IP = target IP = the address, target MAC zero (`arping -U`,
    /// RFC 5227's announcement).
    Request,
    /// Broadcast ARP reply, sender IP = target IP = the address, target MAC = own MAC (`arping -A`);
    /// for gear that ignores requests.
    Reply,
}

/// Builds the Ethernet frame of one gratuitous ARP for `address` owned by `mac`.
pub fn frame(form: GarpForm, mac: [u8; 6], address: Ipv4Addr) -> [u8; FRAME_LEN] {
    match form {
        GarpForm::Request => ArpMessage::gratuitous_request(mac, address),
        GarpForm::Reply => ArpMessage::gratuitous_reply(mac, address),
    }
    .to_frame()
}

/// An open raw sender on one device. Opening needs CAP_NET_RAW; keep one for a burst, or use
/// [`announce`] for a single round.
pub struct GarpSender {
    device: String,
    mac: [u8; 6],
    tx: Box<dyn DataLinkSender>,
}

impl GarpSender {
    /// Opens a layer-2 sender on `device`.
    pub fn open(device: &str) -> Result<Self, NetError> {
        // The receiving half is dropped at once: a sender reads nothing.
        let channel = raw::open(&raw::interface(device)?, None)?;
        Ok(GarpSender {
            device: device.to_string(),
            mac: channel.mac,
            tx: channel.tx,
        })
    }

    /// The MAC address the frames carry.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Sends one frame of `form` for `address`.
    pub fn send(&mut self, form: GarpForm, address: Ipv4Addr) -> Result<(), NetError> {
        let frame = frame(form, self.mac, address);
        match self.tx.send_to(&frame, None) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(raw::error(e, &self.device, "send gratuitous ARP")),
            None => Err(NetError::Io {
                context: format!("send gratuitous ARP on {}", self.device),
                source: io::Error::other("sender gave no result"),
            }),
        }
    }

    /// Sends both forms once: request, then reply.
    pub fn announce(&mut self, address: Ipv4Addr) -> Result<(), NetError> {
        self.send(GarpForm::Request, address)?;
        self.send(GarpForm::Reply, address)
    }
}

/// Sends both gratuitous ARP forms for `address` on `device` once.
pub fn announce(device: &str, address: Ipv4Addr) -> Result<(), NetError> {
    GarpSender::open(device)?.announce(address)
}

/// The daemon's gratuitous ARP sender: one packet socket, opened once and kept. Closing a packet
/// socket waits for an RCU grace period (`synchronize_net`, about 10 ms), which a sender opened per
/// announcement paid once per device and round, with the event loop blocked (it delayed a
/// takeover's second device and its heartbeat by 10-20 ms). Protocol 0: it receives nothing, so
/// keeping it open costs no per-frame work. Unbound: each frame names its device's index, looked up
/// at every send with the device's current MAC (a replaced device or a new MAC is followed).
#[derive(Debug, Default)]
pub struct Announcer {
    socket: Option<OwnedFd>,
}

impl Announcer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends both forms for `address` on `device` (request, then reply).
    pub fn announce(&mut self, device: &str, address: Ipv4Addr) -> Result<(), NetError> {
        let fd = match &self.socket {
            Some(fd) => fd.as_raw_fd(),
            None => {
                // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd at once.
                let raw = unsafe {
                    libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
                };
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
                r
            }
        };
        let (index, mac) = device_link(fd, device)?;
        for form in [GarpForm::Request, GarpForm::Reply] {
            let frame = frame(form, mac, address);
            // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
            let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            to.sll_family = libc::AF_PACKET as u16;
            to.sll_protocol = (libc::ETH_P_ARP as u16).to_be();
            to.sll_ifindex = index;
            to.sll_halen = 6;
            to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
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
                    "send gratuitous ARP",
                ));
            }
        }
        Ok(())
    }
}

/// The index and Ethernet address of `device` now (SIOCGIFINDEX, SIOCGIFHWADDR on `fd`).
pub fn device_link(fd: i32, device: &str) -> Result<(i32, [u8; 6]), NetError> {
    let name = device.as_bytes();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return Err(NetError::NoDevice(device.to_string()));
    }
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    let ioctl = |req: &mut libc::ifreq, what: libc::Ioctl| {
        // SAFETY: the request is a valid ifreq for both calls.
        if unsafe { libc::ioctl(fd, what, req as *mut libc::ifreq) } < 0 {
            Err(NetError::from_io(
                "look up the device",
                device,
                "CAP_NET_RAW",
                io::Error::last_os_error(),
            ))
        } else {
            Ok(())
        }
    };
    ioctl(&mut req, libc::SIOCGIFINDEX)?;
    // SAFETY: SIOCGIFINDEX filled the index member.
    let index = unsafe { req.ifr_ifru.ifru_ifindex };
    ioctl(&mut req, libc::SIOCGIFHWADDR)?;
    // SAFETY: SIOCGIFHWADDR filled the hardware address member.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(hw.sa_data.iter()) {
        *d = *s as u8;
    }
    if hw.sa_family != libc::ARPHRD_ETHER || mac == [0; 6] {
        return Err(NetError::Io {
            context: format!("{device}: no Ethernet address, ARP does not apply"),
            source: io::Error::from(io::ErrorKind::Unsupported),
        });
    }
    Ok((index, mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("a valid test address")
    }

    #[test]
    fn request_form_is_broadcast_request_with_zero_target_mac() {
        let f = frame(GarpForm::Request, MAC, ip("192.0.2.10"));
        assert_eq!(&f[0..6], &[0xff; 6], "broadcast destination");
        assert_eq!(&f[6..12], &MAC, "own source MAC");
        assert_eq!(&f[12..14], &[0x08, 0x06], "ARP ethertype");
        assert_eq!(
            &f[14..22],
            &[0, 1, 0x08, 0, 6, 4, 0, 1],
            "Ethernet/IPv4, op request"
        );
        assert_eq!(&f[22..28], &MAC, "sender MAC");
        assert_eq!(&f[28..32], &[192, 0, 2, 10], "sender IP");
        assert_eq!(&f[32..38], &[0; 6], "target MAC zero");
        assert_eq!(&f[38..42], &[192, 0, 2, 10], "target IP = sender IP");
    }

    #[test]
    fn reply_form_is_broadcast_reply_with_own_target_mac() {
        let f = frame(GarpForm::Reply, MAC, ip("192.0.2.10"));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[20..22], &[0, 2], "op reply");
        assert_eq!(&f[22..28], &MAC);
        assert_eq!(&f[28..32], &[192, 0, 2, 10]);
        assert_eq!(&f[32..38], &MAC, "target MAC = own, as arping -A");
        assert_eq!(&f[38..42], &[192, 0, 2, 10]);
    }
}
