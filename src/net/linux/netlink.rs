//! A small synchronous NETLINK_ROUTE client (netlink-sys + netlink-packet-route, no async runtime):
//! one request out, its replies back, ended by the kernel's ACK (requests) or DONE (dumps).
//!
//! Generic on purpose: counters (`GetLink`), the neighbour table (`DelNeighbour`, `GetNeighbour` dump)
//! and address add/remove all go through [`Netlink::request`].

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::net::NetError;

/// Flags of a request answered by an ACK (and possibly replies before it).
pub const REQUEST_ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Flags of a dump: replies until DONE.
pub const DUMP: u16 = NLM_F_REQUEST | NLM_F_DUMP;

/// How long one reply may take before the request fails: the kernel answers in microseconds, so this
/// only guards against a hang, never shapes a measurement.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound NETLINK_ROUTE socket in the current network namespace.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl Netlink {
    /// Opens and binds a NETLINK_ROUTE socket.
    pub fn open() -> Result<Self, NetError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| io_error("netlink socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| io_error("netlink bind", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| io_error("netlink connect", e))?;
        set_receive_timeout(&socket, REPLY_TIMEOUT)?;
        Ok(Self {
            socket,
            sequence: 0,
            buffer: Vec::with_capacity(64 * 1024),
        })
    }

    /// Asks the kernel to check dump requests strictly and to honour their filters (an interface
    /// index in the header); kernels before 4.20 refuse the option and dump everything, which the
    /// callers filter anyway.
    pub fn strict_dumps(&self) {
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor and an int option of the size given.
        unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_NETLINK,
                12, // NETLINK_GET_STRICT_CHK
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    /// Sends `message` with `flags` ([`REQUEST_ACK`] or [`DUMP`]) and returns the kernel's replies.
    ///
    /// A NACK becomes an error: `EPERM`/`EACCES` as [`NetError::Privilege`] (CAP_NET_ADMIN),
    /// `ENODEV` as [`NetError::NoDevice`] (named by `what`), anything else as [`NetError::Io`]; callers
    /// that treat an errno as success (EEXIST on add, ENOENT on delete) match on
    /// [`NetError::os_error`].
    pub fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, NetError> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        self.socket
            .send(&out, 0)
            .map_err(|e| io_error(&format!("{what}: netlink send"), e))?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut replies = Vec::new();
        loop {
            self.buffer.clear();
            self.socket
                .recv(&mut self.buffer, 0)
                .map_err(|e| io_error(&format!("{what}: netlink receive"), e))?;
            let mut offset = 0;
            while offset < self.buffer.len() {
                let bytes = &self.buffer[offset..];
                let reply =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).map_err(|e| {
                        NetError::Io {
                            context: format!("{what}: netlink decode"),
                            source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
                        }
                    })?;
                let length = reply.header.length as usize;
                if length == 0 {
                    break;
                }
                // Messages are 4-byte aligned inside one datagram.
                offset += (length + 3) & !3;
                if reply.header.sequence_number != sequence {
                    continue; // A late answer to an earlier request.
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::Error(e) => match e.code {
                        None if !dump => return Ok(replies),
                        None => {}
                        Some(code) => {
                            return Err(nack(what, io::Error::from_raw_os_error(-code.get())))
                        }
                    },
                    _ => {}
                }
            }
        }
    }
}

impl Netlink {
    /// Sends `messages` as one datagram (requests without replies of their own, such as deletes)
    /// and returns each one's errno, `None` for success. Only the last asks for an ACK: the kernel
    /// handles them in order and reports a failure whether asked or not, so the last ACK closes
    /// the batch.
    pub fn request_all(
        &mut self,
        messages: Vec<RouteNetlinkMessage>,
        extra_flags: u16,
        what: &str,
    ) -> Result<Vec<Option<i32>>, NetError> {
        let count = messages.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let first = self.sequence.wrapping_add(1);
        let mut out = Vec::new();
        for (i, message) in messages.into_iter().enumerate() {
            self.sequence = self.sequence.wrapping_add(1);
            let mut header = NetlinkHeader::default();
            header.flags = extra_flags
                | if i + 1 == count {
                    REQUEST_ACK
                } else {
                    NLM_F_REQUEST
                };
            header.sequence_number = self.sequence;
            let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
            packet.finalize();
            let start = out.len();
            out.resize(start + packet.buffer_len(), 0);
            packet.serialize(&mut out[start..]);
            // Messages are 4-byte aligned inside one datagram.
            out.resize((out.len() + 3) & !3, 0);
        }
        let last = self.sequence;
        self.socket
            .send(&out, 0)
            .map_err(|e| io_error(&format!("{what}: netlink send"), e))?;
        let mut errors = vec![None; count];
        loop {
            self.buffer.clear();
            self.socket
                .recv(&mut self.buffer, 0)
                .map_err(|e| io_error(&format!("{what}: netlink receive"), e))?;
            let mut offset = 0;
            while offset < self.buffer.len() {
                let reply =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buffer[offset..])
                        .map_err(|e| NetError::Io {
                            context: format!("{what}: netlink decode"),
                            source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
                        })?;
                let length = reply.header.length as usize;
                if length == 0 {
                    break;
                }
                offset += (length + 3) & !3;
                let seq = reply.header.sequence_number;
                let index = seq.wrapping_sub(first) as usize;
                if index >= count {
                    continue; // A late answer to an earlier request.
                }
                if let NetlinkPayload::Error(e) = reply.payload {
                    if let Some(code) = e.code {
                        errors[index] = Some(-code.get());
                    }
                    if seq == last {
                        return Ok(errors);
                    }
                }
            }
        }
    }
}

/// Opens a socket, sends one request and returns its replies (see [`Netlink::request`]).
pub fn request(
    message: RouteNetlinkMessage,
    flags: u16,
    what: &str,
) -> Result<Vec<RouteNetlinkMessage>, NetError> {
    Netlink::open()?.request(message, flags, what)
}

pub fn nack(what: &str, err: io::Error) -> NetError {
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => NetError::Privilege {
            what: what.to_string(),
            capability: "CAP_NET_ADMIN",
        },
        Some(libc::ENODEV) => NetError::NoDevice(what.to_string()),
        _ => NetError::Io {
            context: what.to_string(),
            source: err,
        },
    }
}

fn io_error(context: &str, source: io::Error) -> NetError {
    NetError::Io {
        context: context.to_string(),
        source,
    }
}

fn set_receive_timeout(socket: &Socket, timeout: Duration) -> Result<(), NetError> {
    use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout};
    use nix::sys::time::TimeVal;
    // SAFETY: the socket's descriptor is open for the borrow's duration.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(socket.as_raw_fd()) };
    let tv = TimeVal::new(
        timeout.as_secs() as nix::sys::time::time_t,
        timeout.subsec_micros() as nix::sys::time::suseconds_t,
    );
    setsockopt(&fd, ReceiveTimeout, &tv)
        .map_err(|e| io_error("netlink receive timeout", io::Error::from(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};

    #[test]
    fn loopback_answers_a_get_link() {
        // Every namespace has `lo`; an unprivileged GetLink is allowed.
        let mut link = LinkMessage::default();
        link.attributes.push(LinkAttribute::IfName("lo".into()));
        let replies =
            request(RouteNetlinkMessage::GetLink(link), REQUEST_ACK, "lo").expect("GetLink lo");
        assert!(matches!(
            replies.as_slice(),
            [RouteNetlinkMessage::NewLink(_)]
        ));
    }

    #[test]
    fn unknown_device_is_no_device() {
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfName("nosuchdev0".into()));
        let err = request(
            RouteNetlinkMessage::GetLink(link),
            REQUEST_ACK,
            "nosuchdev0",
        )
        .expect_err("no such device");
        assert!(
            matches!(err, NetError::NoDevice(ref d) if d == "nosuchdev0"),
            "{err:?}"
        );
    }

    #[test]
    fn dump_ends_at_done() {
        let replies = request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            DUMP,
            "links",
        )
        .expect("link dump");
        assert!(!replies.is_empty());
    }
}
