//! Gratuitous ARP: the two frames network gear expects after an address changes owner (an unsolicited
//! ARP request and an unsolicited ARP reply, as `arping -U` and `arping -A` send), sent as raw Ethernet
//! frames through pnet, and [`GarpBurst`], the schedule of a repeated announcement.

use std::io;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use pnet_datalink::DataLinkSender;

use super::arp_frame::ArpMessage;
pub use super::arp_frame::FRAME_LEN;
use super::raw;
use crate::net::NetError;

/// Default number of announcements after a takeover: with [`DEFAULT_INTERVAL`] they span about a
/// second, so a neighbour or switch that missed the first (a busy port, a link still negotiating)
/// hears a later one.
pub const DEFAULT_COUNT: u32 = 5;
/// Default spacing of those announcements.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

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

/// The schedule of a gratuitous ARP burst, driven by the caller's clock: it never sleeps, it says when
/// the next announcement is due. `count` announcements `interval` apart, then, if `refresh` is set,
/// one every `refresh` for as long as the node stays active (so stale caches heal, e.g. after a split
/// brain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpBurst {
    count: u32,
    interval: Duration,
    refresh: Option<Duration>,
    sent: u32,
    next_at: Option<Instant>,
}

impl GarpBurst {
    /// A burst whose first announcement is due at `now`. A `count` of 0 sends no burst (only the
    /// refreshes, the first `refresh` after `now`).
    pub fn new(count: u32, interval: Duration, refresh: Option<Duration>, now: Instant) -> Self {
        let next_at = if count > 0 {
            Some(now)
        } else {
            refresh.map(|r| now + r)
        };
        GarpBurst {
            count,
            interval,
            refresh,
            sent: 0,
            next_at,
        }
    }

    /// When the next announcement is due; `None` when the schedule is over.
    pub fn next_at(&self) -> Option<Instant> {
        self.next_at
    }

    /// True when an announcement is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.next_at.is_some_and(|at| at <= now)
    }

    /// Announcements recorded so far (burst and refreshes).
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// If an announcement is due at `now`, records it as sent and returns true: the caller then sends
    /// it (both forms). The next one is scheduled from `now`, so a late loop does not send a flurry.
    pub fn poll(&mut self, now: Instant) -> bool {
        if !self.is_due(now) {
            return false;
        }
        self.sent += 1;
        self.next_at = if self.sent < self.count {
            Some(now + self.interval)
        } else {
            self.refresh.map(|r| now + r)
        };
        true
    }
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

    #[test]
    fn burst_is_count_sends_interval_apart_then_over() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = GarpBurst::new(3, ms(250), None, t0);
        assert!(b.poll(t0));
        assert!(!b.poll(t0), "not twice at the same moment");
        assert_eq!(b.next_at(), Some(t0 + ms(250)));
        assert!(!b.poll(t0 + ms(249)));
        assert!(b.poll(t0 + ms(250)));
        // A late loop: the next one counts from the actual send.
        assert!(b.poll(t0 + ms(700)));
        assert_eq!(b.sent(), 3);
        assert_eq!(b.next_at(), None);
        assert!(!b.poll(t0 + ms(10_000)));
    }

    #[test]
    fn refresh_follows_the_burst_forever() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = GarpBurst::new(2, ms(100), Some(ms(30_000)), t0);
        assert!(b.poll(t0));
        assert!(b.poll(t0 + ms(100)));
        assert_eq!(b.next_at(), Some(t0 + ms(30_100)));
        assert!(b.poll(t0 + ms(30_100)));
        assert_eq!(b.next_at(), Some(t0 + ms(60_100)));
    }

    #[test]
    fn zero_count_only_refreshes() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(GarpBurst::new(0, ms(100), None, t0).next_at(), None);
        let b = GarpBurst::new(0, ms(100), Some(ms(5_000)), t0);
        assert_eq!(b.next_at(), Some(t0 + ms(5_000)));
    }

    #[test]
    fn default_burst_spans_about_a_second() {
        let span = DEFAULT_INTERVAL * (DEFAULT_COUNT - 1);
        assert!(span >= Duration::from_millis(800) && span <= Duration::from_millis(1500));
    }
}
