//! The kernel's link notifications: a `NETLINK_ROUTE` socket subscribed to `RTMGRP_LINK`, read
//! without blocking from the daemon's poll set. Every `RTM_NEWLINK`/`RTM_DELLINK` becomes
//! `(device, carrier)`, carrier being `IFF_LOWER_UP` (a device set down, a cable pulled, the other
//! end of a veth gone). [`LinkEvents::request_dump`] asks for every link once, for the state at
//! start and after the kernel dropped notifications (`ENOBUFS`).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `IFF_LOWER_UP`: the driver reports the carrier (RFC 2863's "lower layer up").
const IFF_LOWER_UP: u32 = 0x1_0000;
const IFLA_IFNAME: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;

/// One subscription to the kernel's link notifications.
pub struct LinkEvents {
    fd: OwnedFd,
    seq: u32,
}

impl LinkEvents {
    /// Opens the socket (non-blocking) and joins the link group; needs no capability.
    pub fn open() -> std::io::Result<LinkEvents> {
        // SAFETY: plain socket(2); the descriptor is owned right after.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor this process owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a zeroed sockaddr_nl is valid; the fields are set below.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        addr.nl_groups = libc::RTMGRP_LINK as u32;
        // SAFETY: addr is a valid sockaddr_nl of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(LinkEvents { fd, seq: 0 })
    }

    /// Asks the kernel for every link now; the answers arrive as ordinary readable events.
    pub fn request_dump(&mut self) -> std::io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDRLEN + IFINFOMSG_LEN;
        let mut msg = vec![0u8; len];
        msg[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
        msg[4..6].copy_from_slice(&libc::RTM_GETLINK.to_ne_bytes());
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
        msg[6..8].copy_from_slice(&flags.to_ne_bytes());
        msg[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        msg[NLMSG_HDRLEN] = libc::AF_UNSPEC as u8;
        // SAFETY: a zeroed sockaddr_nl addresses the kernel (pid 0).
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: msg and to are valid for the lengths given.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                &to as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reads everything waiting: `(device, carrier)` per link message, in order. `Err` only for a
    /// broken socket; a dropped burst (`ENOBUFS`) asks for a dump instead.
    pub fn receive(&mut self) -> std::io::Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) => break,
                    Some(libc::EINTR) => continue,
                    // Notifications were lost: read the whole state again.
                    Some(libc::ENOBUFS) => {
                        self.request_dump()?;
                        continue;
                    }
                    _ => return Err(e),
                }
            }
            out.extend(parse(&buf[..n as usize]));
        }
        Ok(out)
    }
}

impl AsRawFd for LinkEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The link messages of one netlink datagram; anything malformed ends the parse.
pub fn parse(mut data: &[u8]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(data[0..4].try_into().expect("4 bytes")) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        let msg = &data[NLMSG_HDRLEN..len];
        if (kind == libc::RTM_NEWLINK || kind == libc::RTM_DELLINK) && msg.len() >= IFINFOMSG_LEN {
            let flags = u32::from_ne_bytes(msg[8..12].try_into().expect("4 bytes"));
            let mut attrs = &msg[IFINFOMSG_LEN..];
            let mut name = None;
            while attrs.len() >= 4 {
                let alen = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
                let atype = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
                if alen < 4 || alen > attrs.len() {
                    break;
                }
                if atype == IFLA_IFNAME {
                    let v = &attrs[4..alen];
                    let v = v.split(|&b| b == 0).next().unwrap_or(v);
                    name = Some(String::from_utf8_lossy(v).into_owned());
                }
                let step = ((alen + 3) & !3).min(attrs.len());
                attrs = &attrs[step..];
            }
            if let Some(name) = name {
                let up = kind == libc::RTM_NEWLINK && flags & IFF_LOWER_UP != 0;
                out.push((name, up));
            }
        }
        let next = (len + 3) & !3;
        if next >= data.len() {
            break;
        }
        data = &data[next..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newlink(name: &str, flags: u32, kind: u16) -> Vec<u8> {
        let mut attr = Vec::new();
        let alen = 4 + name.len() + 1;
        attr.extend_from_slice(&(alen as u16).to_ne_bytes());
        attr.extend_from_slice(&IFLA_IFNAME.to_ne_bytes());
        attr.extend_from_slice(name.as_bytes());
        attr.push(0);
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut info = vec![0u8; IFINFOMSG_LEN];
        info[8..12].copy_from_slice(&flags.to_ne_bytes());
        let len = NLMSG_HDRLEN + info.len() + attr.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend(info);
        m.extend(attr);
        m
    }

    #[test]
    fn link_messages_give_the_carrier_of_each_device() {
        let mut d = newlink("eth1", IFF_LOWER_UP | 1, libc::RTM_NEWLINK);
        d.extend(newlink("eth2", 1, libc::RTM_NEWLINK));
        d.extend(newlink("sync0", IFF_LOWER_UP, libc::RTM_DELLINK));
        assert_eq!(
            parse(&d),
            vec![
                ("eth1".into(), true),
                ("eth2".into(), false),
                ("sync0".into(), false)
            ]
        );
    }

    #[test]
    fn a_truncated_message_is_ignored_not_a_panic() {
        let d = newlink("eth1", IFF_LOWER_UP, libc::RTM_NEWLINK);
        for n in 0..d.len() {
            let _ = parse(&d[..n]);
        }
    }
}
