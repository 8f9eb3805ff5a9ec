//! The wire format of the peer protocol, its sealing (HMAC-SHA256) and its opening (bounds, key id,
//! constant-time tag check, then the replay guard). After keepalived 2.4's `auth_hmac`: a key id, a
//! 64-bit sequence, an HMAC over the header plus the packet.
//!
//! ```text
//! offset size field
//!      0    4 magic "FLPR"
//!      4    1 version (1: IPv4 addresses, 4 bytes; 2: addresses of 16 bytes, see below)
//!      5    1 type: 1 query, 2 answer, 8 yielded
//!      6    2 body length N (big-endian, like every integer here)
//!      8    4 key id (a fingerprint of the shared key)
//!     12    4 sender node id: the sender's IPv4 address on the sync link
//!     16    8 sequence: strictly increasing per sender, from the wall clock in microseconds
//!     24    N body
//!   24+N   32 tag: HMAC-SHA256(key, bytes 0 .. 24+N)
//!
//! query body:  request u64 | timeout_ms u32 | channel length u8 | channel (UTF-8)
//!              | target count u8 | targets (4 bytes each)
//! answer body: request u64 | role u8 (0 passive, 1 active) | count u8 | reached (1 byte each, 0 or 1)
//! types 3-6: heartbeat, release notice, handover and its reply (see `peer::fast`)
//! yielded body: keeper MAC (6 bytes): "I gave the activeips up to this MAC after a split brain"
//! ```
//!
//! Version 2 is version 1 with every address 16 bytes wide: the sender node id (so the sequence
//! is at 28 and the body at 36) and the query's targets. An IPv6 address is itself; an IPv4 one is
//! written IPv4-mapped (`::ffff:a.b.c.d`), which the config refuses as an IPv6 address, so the
//! reading is unambiguous. A node seals version 1 whenever every address of the message is IPv4,
//! byte for byte what it sent before IPv6 was supported, so an IPv4 pair keeps talking to a peer
//! not yet upgraded; only a message that must carry an IPv6 address is version 2, and an older
//! peer drops it as another version (counted as malformed). Both versions are read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::key::Key;

type HmacSha256 = Hmac<Sha256>;

/// "FLPR": failoverctl peer.
pub const MAGIC: [u8; 4] = *b"FLPR";
/// The version with IPv4 addresses (4 bytes each), sealed whenever the message has no IPv6 one.
pub const VERSION: u8 = 1;
/// The version with 16-byte addresses (IPv6, or IPv4-mapped); any other version is dropped as
/// [`PeerError::WrongVersion`].
pub const VERSION_WIDE: u8 = 2;
/// Bytes before the body (version 1).
pub const HEADER_LEN: usize = 24;
/// Bytes before the body (version 2: a 16-byte sender).
pub const HEADER_LEN_WIDE: usize = 36;
/// HMAC-SHA256's full output: no truncation.
pub const TAG_LEN: usize = 32;
/// Test hosts in one query (a channel has a handful; this bounds the probe work a query can ask for).
pub const MAX_TARGETS: usize = 16;
/// Bytes of a channel ident.
pub const MAX_CHANNEL_LEN: usize = 64;
/// The longest probe a query may ask for; the responder caps it lower still.
pub const MAX_TIMEOUT_MS: u32 = 10_000;
/// The largest datagram either side sends or accepts (the largest query is 198 bytes in version 1,
/// 402 in version 2).
pub const MAX_DATAGRAM: usize = 512;

const TYPE_QUERY: u8 = 1;
const TYPE_ANSWER: u8 = 2;
const TYPE_HEARTBEAT: u8 = 3;
const TYPE_NOTICE: u8 = 4;
const TYPE_HANDOVER: u8 = 5;
const TYPE_HANDOVER_REPLY: u8 = 6;
/// Far from 1 and 2 so that other kinds can take the numbers in between.
const TYPE_YIELDED: u8 = 8;

/// Why a datagram was dropped (or, for `Oversize`, why a message cannot be sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// Not a peer message, cut short, too long, or an authentic one with an impossible body.
    #[error("malformed peer message: {0}")]
    Malformed(&'static str),
    /// A peer message of another protocol version.
    #[error("peer message of version {0}; this node speaks versions {VERSION} and {VERSION_WIDE}")]
    WrongVersion(u8),
    /// Sealed with another key (or a forgery naming none we know).
    #[error("peer message for key id {0:08x}, not ours: is the same key set on both nodes?")]
    UnknownKey(u32),
    /// The tag does not verify: forged or altered on the way.
    #[error("peer message with a bad authentication tag (forged or altered)")]
    BadTag,
    /// Authentic but not newer than the last accepted one: a replay.
    #[error("replayed peer message: sequence {sequence} is not above {high_water}")]
    Replayed { sequence: u64, high_water: u64 },
    /// The message is beyond the protocol's bounds and is not sent.
    #[error("peer message not sent: {0}")]
    Oversize(&'static str),
}

impl PeerError {
    /// The kind of error without the details the sender chose (a key id, a version, a sequence):
    /// what a log line is counted under.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerError::Malformed(_) => "malformed",
            PeerError::WrongVersion(_) => "another protocol version",
            PeerError::UnknownKey(_) => "another key",
            PeerError::BadTag => "a bad authentication tag",
            PeerError::Replayed { .. } => "replayed",
            PeerError::Oversize(_) => "oversize",
        }
    }
}

/// The responder's role when it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Passive,
    Active,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Passive => "passive",
            Role::Active => "active",
        })
    }
}

/// "Can you reach these test hosts of channel `channel`?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Chosen by the asker; the answer repeats it.
    pub request: u64,
    /// The channel's ident, as in both nodes' `failover.ini`.
    pub channel: String,
    /// Of the channel's family (the query is version 2 when one is IPv6).
    pub targets: Vec<IpAddr>,
    /// How long the responder may probe.
    pub timeout_ms: u32,
}

/// The responder's findings, one `reached` per target of the query, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub request: u64,
    pub role: Role,
    pub reached: Vec<bool>,
}

/// A node that yielded after a split brain tells its peer, so the keeper announces its activeips
/// again: neighbours that learned the yielder's MAC heal at once, not when their entry ages out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yielded {
    /// The MAC the yielder saw keep the activeips.
    pub keeper_mac: [u8; 6],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Query(Query),
    Answer(Answer),
    /// Every `synctime` (see `peer::fast`).
    Heartbeat(super::fast::Heartbeat),
    /// Sent by an active before it releases.
    Notice(super::fast::Notice),
    HandoverAsk(super::fast::HandoverAsk),
    HandoverReply(super::fast::HandoverReply),
    Yielded(Yielded),
}

/// One peer message with its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender's address on the sync link.
    pub sender: IpAddr,
    pub sequence: u64,
    pub body: Body,
}

/// The sender's sequence numbers: never below the wall clock in microseconds and strictly
/// increasing, so a restarted daemon (or a second process of the same node) continues above the
/// numbers it used before without keeping any state.
#[derive(Debug, Clone)]
pub struct Sequence {
    last: u64,
}

impl Sequence {
    /// Starts at `now_micros` (microseconds since the Unix epoch, read by the caller).
    pub fn starting_at(now_micros: u64) -> Sequence {
        Sequence {
            last: now_micros.saturating_sub(1),
        }
    }

    /// The next number: the clock's, or one above the last when the clock did not move (or stepped
    /// back).
    pub fn next(&mut self, now_micros: u64) -> u64 {
        self.last = now_micros.max(self.last.saturating_add(1));
        self.last
    }
}

/// The highest sequence accepted from the peer. It moves only when a message authenticates, so a
/// forged packet with a huge sequence cannot lock the real peer out.
#[derive(Debug, Clone, Default)]
pub struct ReplayGuard {
    high_water: Option<u64>,
}

impl ReplayGuard {
    pub fn new() -> ReplayGuard {
        ReplayGuard::default()
    }

    /// The highest sequence accepted so far.
    pub fn high_water(&self) -> Option<u64> {
        self.high_water
    }
}

/// What happened to the datagrams received: for `failoverctl status` and the diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PeerStats {
    /// Every datagram read.
    pub received: u64,
    /// Authentic, fresh and well-formed: the only ones acted on.
    pub accepted: u64,
    /// Not a peer message, cut short, too long, another version, or an impossible body.
    pub malformed: u64,
    /// Another key, or a tag that does not verify.
    pub forged: u64,
    /// Authentic but not newer than the high-water mark.
    pub replayed: u64,
}

impl PeerStats {
    /// Counts one datagram by the outcome of [`open`].
    pub fn record<T>(&mut self, outcome: &Result<T, PeerError>) {
        self.received += 1;
        match outcome {
            Ok(_) => self.accepted += 1,
            Err(PeerError::Malformed(_) | PeerError::WrongVersion(_) | PeerError::Oversize(_)) => {
                self.malformed += 1
            }
            Err(PeerError::UnknownKey(_) | PeerError::BadTag) => self.forged += 1,
            Err(PeerError::Replayed { .. }) => self.replayed += 1,
        }
    }
}

/// Encodes and authenticates `message`; refuses one beyond the protocol's bounds, so a node never
/// sends what its peer must drop.
pub fn seal(key: &Key, message: &Message) -> Result<Vec<u8>, PeerError> {
    let wide = message.sender.is_ipv6()
        || matches!(&message.body, Body::Query(q) if q.targets.iter().any(IpAddr::is_ipv6));
    let (kind, body) = match &message.body {
        Body::Query(q) => (TYPE_QUERY, query_body(q, wide)?),
        Body::Answer(a) => (TYPE_ANSWER, answer_body(a)?),
        Body::Heartbeat(h) => (TYPE_HEARTBEAT, super::fast::heartbeat_body(h)?),
        Body::Notice(n) => (TYPE_NOTICE, super::fast::notice_body(n)),
        Body::HandoverAsk(a) => (TYPE_HANDOVER, super::fast::ask_body(a)),
        Body::HandoverReply(r) => (TYPE_HANDOVER_REPLY, super::fast::reply_body(r)),
        Body::Yielded(y) => (TYPE_YIELDED, y.keeper_mac.to_vec()),
    };
    let mut out = Vec::with_capacity(HEADER_LEN_WIDE + body.len() + TAG_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(if wide { VERSION_WIDE } else { VERSION });
    out.push(kind);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&key.id().to_be_bytes());
    put_address(&mut out, message.sender, wide);
    out.extend_from_slice(&message.sequence.to_be_bytes());
    out.extend_from_slice(&body);
    let tag = mac(key).chain_update(&out).finalize().into_bytes();
    out.extend_from_slice(&tag);
    debug_assert!(out.len() <= MAX_DATAGRAM, "bounds keep a message small");
    Ok(out)
}

/// Checks and decodes one datagram: bounds, magic, version, key id, the tag in constant time, the
/// body, then freshness. The replay guard moves only for a message that passed all of them.
pub fn open(key: &Key, datagram: &[u8], guard: &mut ReplayGuard) -> Result<Message, PeerError> {
    let d = datagram;
    if d.len() < HEADER_LEN + TAG_LEN {
        return Err(PeerError::Malformed("shorter than header and tag"));
    }
    if d.len() > MAX_DATAGRAM {
        return Err(PeerError::Malformed("longer than the largest peer message"));
    }
    if d[0..4] != MAGIC {
        return Err(PeerError::Malformed("not a peer message (magic)"));
    }
    let (wide, header_len) = match d[4] {
        VERSION => (false, HEADER_LEN),
        VERSION_WIDE => (true, HEADER_LEN_WIDE),
        other => return Err(PeerError::WrongVersion(other)),
    };
    let body_len = usize::from(u16::from_be_bytes([d[6], d[7]]));
    if header_len + body_len + TAG_LEN != d.len() {
        return Err(PeerError::Malformed(
            "length field does not match the datagram",
        ));
    }
    let key_id = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
    if key_id != key.id() {
        return Err(PeerError::UnknownKey(key_id));
    }
    let (signed, tag) = d.split_at(header_len + body_len);
    mac(key)
        .chain_update(signed)
        .verify_slice(tag)
        .map_err(|_| PeerError::BadTag)?;

    // Authentic from here on.
    let mut header = Reader(&signed[12..header_len]);
    let sender = header.address(wide)?;
    let sequence = header.u64()?;
    let body = &signed[header_len..];
    let body = match d[5] {
        TYPE_QUERY => Body::Query(parse_query(body, wide)?),
        TYPE_ANSWER => Body::Answer(parse_answer(body)?),
        TYPE_HEARTBEAT => Body::Heartbeat(super::fast::parse_heartbeat(body)?),
        TYPE_NOTICE => Body::Notice(super::fast::parse_notice(body)?),
        TYPE_HANDOVER => Body::HandoverAsk(super::fast::parse_ask(body)?),
        TYPE_HANDOVER_REPLY => Body::HandoverReply(super::fast::parse_reply(body)?),
        TYPE_YIELDED => Body::Yielded(parse_yielded(body)?),
        _ => return Err(PeerError::Malformed("unknown message type")),
    };
    if let Some(high_water) = guard.high_water {
        if sequence <= high_water {
            return Err(PeerError::Replayed {
                sequence,
                high_water,
            });
        }
    }
    guard.high_water = Some(sequence);
    Ok(Message {
        sender,
        sequence,
        body,
    })
}

fn mac(key: &Key) -> HmacSha256 {
    HmacSha256::new_from_slice(key.bytes()).expect("HMAC takes a key of any length")
}

/// An address in 4 bytes (version 1) or 16 (version 2; an IPv4 one IPv4-mapped).
fn put_address(out: &mut Vec<u8>, ip: IpAddr, wide: bool) {
    match (ip, wide) {
        (IpAddr::V4(a), false) => out.extend_from_slice(&a.octets()),
        (IpAddr::V4(a), true) => out.extend_from_slice(&a.to_ipv6_mapped().octets()),
        (IpAddr::V6(a), _) => {
            debug_assert!(wide, "an IPv6 address makes the message version 2");
            out.extend_from_slice(&a.octets())
        }
    }
}

fn query_body(q: &Query, wide: bool) -> Result<Vec<u8>, PeerError> {
    if q.channel.is_empty() || q.channel.len() > MAX_CHANNEL_LEN {
        return Err(PeerError::Oversize("channel ident empty or over 64 bytes"));
    }
    if q.targets.is_empty() || q.targets.len() > MAX_TARGETS {
        return Err(PeerError::Oversize("no target, or more than 16"));
    }
    if q.timeout_ms == 0 || q.timeout_ms > MAX_TIMEOUT_MS {
        return Err(PeerError::Oversize("timeout zero or over 10 s"));
    }
    let mut b = Vec::with_capacity(14 + q.channel.len() + 16 * q.targets.len());
    b.extend_from_slice(&q.request.to_be_bytes());
    b.extend_from_slice(&q.timeout_ms.to_be_bytes());
    b.push(q.channel.len() as u8);
    b.extend_from_slice(q.channel.as_bytes());
    b.push(q.targets.len() as u8);
    for &t in &q.targets {
        put_address(&mut b, t, wide);
    }
    Ok(b)
}

fn answer_body(a: &Answer) -> Result<Vec<u8>, PeerError> {
    if a.reached.len() > MAX_TARGETS {
        return Err(PeerError::Oversize("more than 16 results"));
    }
    let mut b = Vec::with_capacity(10 + a.reached.len());
    b.extend_from_slice(&a.request.to_be_bytes());
    b.push(match a.role {
        Role::Passive => 0,
        Role::Active => 1,
    });
    b.push(a.reached.len() as u8);
    b.extend(a.reached.iter().map(|&r| u8::from(r)));
    Ok(b)
}

/// A cursor over a body that fails instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PeerError> {
        if self.0.len() < n {
            return Err(PeerError::Malformed("body cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, PeerError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, PeerError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, PeerError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8")))
    }
    /// An address of the message's width; in version 2 an IPv4-mapped one is the IPv4 address.
    fn address(&mut self, wide: bool) -> Result<IpAddr, PeerError> {
        if !wide {
            let b: [u8; 4] = self.take(4)?.try_into().expect("4");
            return Ok(IpAddr::V4(Ipv4Addr::from(b)));
        }
        let b: [u8; 16] = self.take(16)?.try_into().expect("16");
        let v6 = Ipv6Addr::from(b);
        Ok(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
    }
    fn end(&self) -> Result<(), PeerError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(PeerError::Malformed("trailing bytes after the body"))
        }
    }
}

fn parse_query(body: &[u8], wide: bool) -> Result<Query, PeerError> {
    let mut r = Reader(body);
    let request = r.u64()?;
    let timeout_ms = r.u32()?;
    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
        return Err(PeerError::Malformed("timeout out of range"));
    }
    let len = usize::from(r.u8()?);
    if len == 0 || len > MAX_CHANNEL_LEN {
        return Err(PeerError::Malformed("channel ident length out of range"));
    }
    let channel = std::str::from_utf8(r.take(len)?)
        .map_err(|_| PeerError::Malformed("channel ident is not UTF-8"))?
        .to_string();
    let count = usize::from(r.u8()?);
    if count == 0 || count > MAX_TARGETS {
        return Err(PeerError::Malformed("target count out of range"));
    }
    let targets = (0..count)
        .map(|_| r.address(wide))
        .collect::<Result<Vec<_>, _>>()?;
    r.end()?;
    Ok(Query {
        request,
        channel,
        targets,
        timeout_ms,
    })
}

fn parse_yielded(body: &[u8]) -> Result<Yielded, PeerError> {
    let mut r = Reader(body);
    let keeper_mac = r.take(6)?.try_into().expect("6 bytes");
    r.end()?;
    Ok(Yielded { keeper_mac })
}

fn parse_answer(body: &[u8]) -> Result<Answer, PeerError> {
    let mut r = Reader(body);
    let request = r.u64()?;
    let role = match r.u8()? {
        0 => Role::Passive,
        1 => Role::Active,
        _ => return Err(PeerError::Malformed("unknown role")),
    };
    let count = usize::from(r.u8()?);
    if count > MAX_TARGETS {
        return Err(PeerError::Malformed("result count out of range"));
    }
    let reached = r
        .take(count)?
        .iter()
        .map(|&b| match b {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(PeerError::Malformed("a result is neither 0 nor 1")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    r.end()?;
    Ok(Answer {
        request,
        role,
        reached,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn v6(s: &str) -> IpAddr {
        s.parse().expect("an IPv6 literal")
    }

    /// A query of an IPv6 channel over an IPv6 sync link: the largest the bounds allow.
    fn v6_query(sequence: u64) -> Message {
        Message {
            sender: v6("2001:db8:ffff::1"),
            sequence,
            body: Body::Query(Query {
                request: 9,
                channel: "x".repeat(MAX_CHANNEL_LEN),
                targets: (1..=MAX_TARGETS as u16)
                    .map(|i| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i)))
                    .collect(),
                timeout_ms: MAX_TIMEOUT_MS,
            }),
        }
    }

    /// Issue 12: an IPv4-only message is still version 1, byte for byte as before (an older peer
    /// understands it); one with an IPv6 address is version 2 and round-trips, IPv4 addresses in
    /// it coming back as IPv4.
    #[test]
    fn ipv6_addresses_make_version_2_and_ipv4_stays_version_1() {
        let v1 = seal(&key(), &query(3)).expect("sealed");
        assert_eq!(v1[4], VERSION);
        assert_eq!(&v1[12..16], &[203, 0, 113, 1], "the v1 header is unchanged");
        assert_eq!(v1.len(), HEADER_LEN + 8 + 4 + 1 + 4 + 1 + 2 * 4 + TAG_LEN);

        let m = v6_query(1_700_000_000_000_000);
        let sealed = seal(&key(), &m).expect("within bounds");
        assert_eq!(sealed[4], VERSION_WIDE);
        assert!(sealed.len() <= MAX_DATAGRAM, "{}", sealed.len());
        assert_eq!(open(&key(), &sealed, &mut ReplayGuard::new()), Ok(m));

        // An IPv6 sync link asking about an IPv4 channel, and the answer over it.
        let mut mixed = query(4);
        mixed.sender = v6("2001:db8:ffff::2");
        let sealed = seal(&key(), &mixed).expect("sealed");
        assert_eq!(sealed[4], VERSION_WIDE);
        let sender: Ipv6Addr = "2001:db8:ffff::2".parse().expect("v6");
        assert_eq!(&sealed[12..28], &sender.octets());
        assert_eq!(open(&key(), &sealed, &mut ReplayGuard::new()), Ok(mixed));
        let mut reply = answer(5);
        reply.sender = v6("2001:db8:ffff::1");
        let sealed = seal(&key(), &reply).expect("sealed");
        assert_eq!(open(&key(), &sealed, &mut ReplayGuard::new()), Ok(reply));

        // An IPv4 channel asked over an IPv6 link: its targets are carried IPv4-mapped.
        let mut q = query(6);
        q.sender = v6("2001:db8:ffff::1");
        let sealed = seal(&key(), &q).expect("sealed");
        let mapped = Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().octets();
        assert!(sealed.windows(16).any(|w| w == mapped));
    }

    /// Issue 12: version 2 is sealed and checked exactly as version 1: a flipped bit, a cut, a
    /// byte more, another key or a replay is dropped, and the replay mark does not move.
    #[test]
    fn a_version_2_message_is_authenticated_like_version_1() {
        let sealed = seal(&key(), &v6_query(42)).expect("sealed");
        for i in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[i / 8] ^= 1 << (i % 8);
            let mut g = ReplayGuard::new();
            assert!(
                open(&key(), &bad, &mut g).is_err(),
                "bit {i} flipped was accepted"
            );
            assert_eq!(
                g.high_water(),
                None,
                "bit {i}: a rejected packet moved the mark"
            );
        }
        for n in 0..sealed.len() {
            assert!(open(&key(), &sealed[..n], &mut ReplayGuard::new()).is_err());
        }
        // A version-1 datagram relabelled as version 2 (and the reverse) does not verify.
        let mut relabelled = seal(&key(), &query(42)).expect("sealed");
        relabelled[4] = VERSION_WIDE;
        assert!(open(&key(), &relabelled, &mut ReplayGuard::new()).is_err());
        let mut g = ReplayGuard::new();
        assert!(open(&key(), &sealed, &mut g).is_ok());
        assert!(matches!(
            open(&key(), &sealed, &mut g),
            Err(PeerError::Replayed { .. })
        ));
    }

    /// Issue 14: the yield notice is sealed and checked like every other kind: it round-trips, and
    /// a flipped bit or another key is dropped, never acted on.
    #[test]
    fn a_yield_notice_is_authenticated_like_the_others() {
        let key = Key::from_hex("000102030405060708090a0b0c0d0e0f").expect("key");
        let m = Message {
            sender: v4(203, 0, 113, 2),
            sequence: 7,
            body: Body::Yielded(Yielded {
                keeper_mac: [2, 0, 0, 0, 0, 0xa],
            }),
        };
        let d = seal(&key, &m).expect("sealed");
        assert_eq!(d[5], 8);
        assert_eq!(open(&key, &d, &mut ReplayGuard::new()), Ok(m.clone()));
        let mut bad = d.clone();
        bad[HEADER_LEN] ^= 1;
        assert_eq!(
            open(&key, &bad, &mut ReplayGuard::new()),
            Err(PeerError::BadTag)
        );
        let other = Key::from_hex("ff0102030405060708090a0b0c0d0e0f").expect("key");
        assert!(matches!(
            open(&other, &d, &mut ReplayGuard::new()),
            Err(PeerError::UnknownKey(_))
        ));
        let mut guard = ReplayGuard::new();
        assert!(open(&key, &d, &mut guard).is_ok());
        assert!(matches!(
            open(&key, &d, &mut guard),
            Err(PeerError::Replayed { .. })
        ));
    }

    fn key() -> Key {
        Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("valid key")
    }

    fn query(sequence: u64) -> Message {
        Message {
            sender: v4(203, 0, 113, 1),
            sequence,
            body: Body::Query(Query {
                request: 7,
                channel: "lan1".into(),
                targets: vec![v4(192, 0, 2, 1), v4(192, 0, 2, 2)],
                timeout_ms: 1500,
            }),
        }
    }

    fn answer(sequence: u64) -> Message {
        Message {
            sender: v4(203, 0, 113, 2),
            sequence,
            body: Body::Answer(Answer {
                request: 7,
                role: Role::Passive,
                reached: vec![true, false],
            }),
        }
    }

    /// The largest query the bounds allow.
    fn largest_query() -> Message {
        Message {
            sender: v4(203, 0, 113, 1),
            sequence: u64::MAX - 1,
            body: Body::Query(Query {
                request: u64::MAX,
                channel: "x".repeat(MAX_CHANNEL_LEN),
                targets: vec![v4(198, 51, 100, 1); MAX_TARGETS],
                timeout_ms: MAX_TIMEOUT_MS,
            }),
        }
    }

    #[test]
    fn query_and_answer_round_trip() {
        for m in [query(1_700_000_000_000_000), answer(5), largest_query()] {
            let sealed = seal(&key(), &m).expect("within bounds");
            assert!(sealed.len() <= MAX_DATAGRAM, "{}", sealed.len());
            let mut g = ReplayGuard::new();
            assert_eq!(open(&key(), &sealed, &mut g), Ok(m.clone()));
            assert_eq!(g.high_water(), Some(m.sequence));
        }
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        for m in [query(42), answer(42)] {
            let sealed = seal(&key(), &m).expect("within bounds");
            for i in 0..sealed.len() * 8 {
                let mut bad = sealed.clone();
                bad[i / 8] ^= 1 << (i % 8);
                let mut g = ReplayGuard::new();
                let r = open(&key(), &bad, &mut g);
                assert!(r.is_err(), "bit {i} flipped was accepted: {r:?}");
                assert_eq!(
                    g.high_water(),
                    None,
                    "bit {i}: a rejected packet moved the mark"
                );
            }
        }
    }

    #[test]
    fn every_truncation_and_an_extension_is_rejected() {
        let sealed = seal(&key(), &query(42)).expect("within bounds");
        for n in 0..sealed.len() {
            let r = open(&key(), &sealed[..n], &mut ReplayGuard::new());
            assert!(r.is_err(), "truncated to {n} was accepted");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(matches!(
            open(&key(), &longer, &mut ReplayGuard::new()),
            Err(PeerError::Malformed(_))
        ));
    }

    #[test]
    fn a_replay_is_rejected_and_a_newer_message_accepted() {
        let mut g = ReplayGuard::new();
        let first = seal(&key(), &query(100)).expect("sealed");
        assert!(open(&key(), &first, &mut g).is_ok());
        assert_eq!(
            open(&key(), &first, &mut g),
            Err(PeerError::Replayed {
                sequence: 100,
                high_water: 100
            })
        );
        let older = seal(&key(), &query(99)).expect("sealed");
        assert!(matches!(
            open(&key(), &older, &mut g),
            Err(PeerError::Replayed { .. })
        ));
        let newer = seal(&key(), &query(101)).expect("sealed");
        assert!(open(&key(), &newer, &mut g).is_ok());
        assert_eq!(g.high_water(), Some(101));
    }

    #[test]
    fn a_forged_huge_sequence_does_not_move_the_high_water_mark() {
        let mut g = ReplayGuard::new();
        let real = seal(&key(), &query(1000)).expect("sealed");
        assert!(open(&key(), &real, &mut g).is_ok());
        // The forger knows the format and the key id but not the key: a correct header, a
        // sequence at the top, and a tag that cannot verify.
        let mut forged = seal(&key(), &query(u64::MAX)).expect("sealed");
        let n = forged.len();
        forged[n - TAG_LEN..].copy_from_slice(&[0xa5; TAG_LEN]);
        assert_eq!(open(&key(), &forged, &mut g), Err(PeerError::BadTag));
        assert_eq!(g.high_water(), Some(1000));
        let next = seal(&key(), &query(1001)).expect("sealed");
        assert!(
            open(&key(), &next, &mut g).is_ok(),
            "the real peer is not locked out"
        );
    }

    #[test]
    fn another_key_is_rejected() {
        let other = Key::from_hex("ff".repeat(32).as_str()).expect("valid key");
        let sealed = seal(&other, &query(5)).expect("sealed");
        let mut g = ReplayGuard::new();
        assert_eq!(
            open(&key(), &sealed, &mut g),
            Err(PeerError::UnknownKey(other.id()))
        );
        // The same key id (copied) but another key: the tag fails.
        let mut sealed = sealed;
        sealed[8..12].copy_from_slice(&key().id().to_be_bytes());
        assert_eq!(open(&key(), &sealed, &mut g), Err(PeerError::BadTag));
        assert_eq!(g.high_water(), None);
    }

    #[test]
    fn another_version_is_reported_as_such() {
        let mut sealed = seal(&key(), &query(5)).expect("sealed");
        sealed[4] = 3;
        assert_eq!(
            open(&key(), &sealed, &mut ReplayGuard::new()),
            Err(PeerError::WrongVersion(3))
        );
    }

    #[test]
    fn messages_beyond_the_bounds_are_not_sealed() {
        let mut m = query(1);
        let Body::Query(q) = &mut m.body else {
            unreachable!("a query")
        };
        q.targets = vec![Ipv4Addr::LOCALHOST.into(); MAX_TARGETS + 1];
        assert!(matches!(seal(&key(), &m), Err(PeerError::Oversize(_))));
        let mut m = query(1);
        let Body::Query(q) = &mut m.body else {
            unreachable!("a query")
        };
        q.channel = "x".repeat(MAX_CHANNEL_LEN + 1);
        assert!(matches!(seal(&key(), &m), Err(PeerError::Oversize(_))));
    }

    #[test]
    fn sequence_follows_the_clock_and_always_increases() {
        let mut s = Sequence::starting_at(1_000);
        assert_eq!(s.next(1_000), 1_000);
        assert_eq!(s.next(1_000), 1_001, "the clock did not move");
        assert_eq!(s.next(500), 1_002, "the clock stepped back");
        assert_eq!(s.next(5_000), 5_000, "a restart later continues above");
    }

    #[test]
    fn stats_count_each_outcome() {
        let mut st = PeerStats::default();
        st.record::<()>(&Ok(()));
        st.record::<()>(&Err(PeerError::Malformed("x")));
        st.record::<()>(&Err(PeerError::WrongVersion(9)));
        st.record::<()>(&Err(PeerError::BadTag));
        st.record::<()>(&Err(PeerError::UnknownKey(1)));
        st.record::<()>(&Err(PeerError::Replayed {
            sequence: 1,
            high_water: 2,
        }));
        assert_eq!(
            st,
            PeerStats {
                received: 6,
                accepted: 1,
                malformed: 2,
                forged: 2,
                replayed: 1
            }
        );
    }

    /// xorshift64*: a seeded generator, so a failure can be replayed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_and_mutated_datagrams_never_panic_and_never_pass() {
        let mut rng = Rng(0x5eed_f00d_cafe_d00d);
        let k = key();
        let valid = [
            seal(&k, &query(77)).expect("sealed"),
            seal(&k, &answer(77)).expect("sealed"),
            seal(&k, &v6_query(77)).expect("sealed"),
        ];
        for case in 0..20_000 {
            let mut g = ReplayGuard::new();
            let bytes: Vec<u8> = if case % 2 == 0 {
                // Random bytes, sometimes behind a valid-looking header.
                let n = rng.below(MAX_DATAGRAM + 64);
                let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                if case % 4 == 0 && n >= HEADER_LEN_WIDE {
                    // Either version's valid-looking header.
                    let (version, header) = if case % 8 == 0 {
                        (VERSION, HEADER_LEN)
                    } else {
                        (VERSION_WIDE, HEADER_LEN_WIDE)
                    };
                    b[..4].copy_from_slice(&MAGIC);
                    b[4] = version;
                    b[6..8].copy_from_slice(
                        &((n.saturating_sub(header + TAG_LEN)) as u16).to_be_bytes(),
                    );
                    b[8..12].copy_from_slice(&k.id().to_be_bytes());
                }
                b
            } else {
                // A valid message with 1 to 4 random bytes changed.
                let mut b = valid[rng.below(valid.len())].clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(b.len());
                    b[i] ^= 1 + (rng.next() % 255) as u8;
                }
                b
            };
            let r = open(&k, &bytes, &mut g);
            if !valid.contains(&bytes) {
                assert!(r.is_err(), "case {case} accepted: {bytes:02x?}");
                assert_eq!(g.high_water(), None, "case {case} moved the mark");
            }
        }
    }
}
