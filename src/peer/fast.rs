//! The fast-path bodies of the peer protocol (same header, key id, sequence and tag as the query):
//! the heartbeat sent every `synctime`, the release notice an active sends before it lets go of its
//! addresses, and the two messages of a planned handover. Pure encoding; the rules live in the core.
//!
//! ```text
//! heartbeat (type 3): role u8 (0 passive, 1 active) | fit u8 | epoch u64 | channels u16
//!                     | health bitmap (ceil(channels / 8) bytes, bit i of byte i/8: channel i healthy)
//! notice    (type 4): epoch u64 | reason u8 (0 stop, 1 demote, 2 failure, 3 handover, 4 carrier,
//!                     5 split brain)
//! handover  (type 5): request u64 | role u8 | fit u8                     "shall we switch?"
//! reply     (type 6): request u64 | accepted u8 | refusal u8 (0 none, 1 not fit, 2 not passive,
//!                     3 not active, 4 busy)
//! ```

use super::message::{PeerError, Role};

/// Channels one heartbeat describes (the config allows 1,024; the bitmap of 1,024 is 128 bytes).
pub const MAX_HEARTBEAT_CHANNELS: usize = 1024;

/// "I am here, in this role, this fit, with these channels healthy."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub role: Role,
    /// The sender could serve every channel now (see the core's `fit_to_serve`).
    pub fit: bool,
    /// Grows with every takeover of either node: a later holder has a higher epoch.
    pub epoch: u64,
    /// One entry per channel of the sender's config, in order.
    pub channels: Vec<bool>,
}

/// Why an active released its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeReason {
    Stop,
    Demote,
    Failure,
    Handover,
    Carrier,
    SplitBrain,
}

impl NoticeReason {
    fn code(self) -> u8 {
        match self {
            NoticeReason::Stop => 0,
            NoticeReason::Demote => 1,
            NoticeReason::Failure => 2,
            NoticeReason::Handover => 3,
            NoticeReason::Carrier => 4,
            NoticeReason::SplitBrain => 5,
        }
    }
    fn from_code(c: u8) -> Option<NoticeReason> {
        Some(match c {
            0 => NoticeReason::Stop,
            1 => NoticeReason::Demote,
            2 => NoticeReason::Failure,
            3 => NoticeReason::Handover,
            4 => NoticeReason::Carrier,
            5 => NoticeReason::SplitBrain,
            _ => return None,
        })
    }
}

impl std::fmt::Display for NoticeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoticeReason::Stop => "a planned stop",
            NoticeReason::Demote => "a demote",
            NoticeReason::Failure => "a failure",
            NoticeReason::Handover => "a handover",
            NoticeReason::Carrier => "carrier lost",
            NoticeReason::SplitBrain => "a split brain",
        })
    }
}

/// "I have released the activeips (or am about to, in this very step): take over."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// The sender's epoch while it held the addresses.
    pub epoch: u64,
    pub reason: NoticeReason,
}

/// The first message of a planned switchover, from the node where `failoverctl handover` ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverAsk {
    pub request: u64,
    /// The asker's role: an active asks "are you fit?", a passive says "release to me".
    pub role: Role,
    pub fit: bool,
}

/// Why a handover was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFit,
    NotPassive,
    NotActive,
    Busy,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NotFit => "the peer is not fit to serve",
            Refusal::NotPassive => "the peer is not passive",
            Refusal::NotActive => "the peer is not active",
            Refusal::Busy => "the peer is busy with another handover",
        })
    }
}

/// The passive's answer to an active's [`HandoverAsk`]; a refusal from either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverReply {
    pub request: u64,
    /// `None`: accepted.
    pub refusal: Option<Refusal>,
}

fn role_code(r: Role) -> u8 {
    match r {
        Role::Passive => 0,
        Role::Active => 1,
    }
}

fn role_from(c: u8) -> Result<Role, PeerError> {
    match c {
        0 => Ok(Role::Passive),
        1 => Ok(Role::Active),
        _ => Err(PeerError::Malformed("unknown role")),
    }
}

fn flag(c: u8) -> Result<bool, PeerError> {
    match c {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(PeerError::Malformed("a flag is neither 0 nor 1")),
    }
}

pub(super) fn heartbeat_body(h: &Heartbeat) -> Result<Vec<u8>, PeerError> {
    if h.channels.len() > MAX_HEARTBEAT_CHANNELS {
        return Err(PeerError::Oversize("more than 1024 channels"));
    }
    let mut b = vec![role_code(h.role), u8::from(h.fit)];
    b.extend_from_slice(&h.epoch.to_be_bytes());
    b.extend_from_slice(&(h.channels.len() as u16).to_be_bytes());
    let mut bitmap = vec![0u8; h.channels.len().div_ceil(8)];
    for (i, _) in h.channels.iter().enumerate().filter(|(_, &ok)| ok) {
        bitmap[i / 8] |= 1 << (i % 8);
    }
    b.extend_from_slice(&bitmap);
    Ok(b)
}

pub(super) fn parse_heartbeat(body: &[u8]) -> Result<Heartbeat, PeerError> {
    if body.len() < 12 {
        return Err(PeerError::Malformed("body cut short"));
    }
    let role = role_from(body[0])?;
    let fit = flag(body[1])?;
    let epoch = u64::from_be_bytes(body[2..10].try_into().expect("8 bytes"));
    let count = usize::from(u16::from_be_bytes([body[10], body[11]]));
    if count > MAX_HEARTBEAT_CHANNELS {
        return Err(PeerError::Malformed("channel count out of range"));
    }
    let bitmap = &body[12..];
    if bitmap.len() != count.div_ceil(8) {
        return Err(PeerError::Malformed("health bitmap of the wrong length"));
    }
    // Bits beyond the count must be zero: one encoding per heartbeat.
    if count % 8 != 0 && bitmap.last().is_some_and(|b| b >> (count % 8) != 0) {
        return Err(PeerError::Malformed("health bits beyond the channel count"));
    }
    let channels = (0..count)
        .map(|i| bitmap[i / 8] & (1 << (i % 8)) != 0)
        .collect();
    Ok(Heartbeat {
        role,
        fit,
        epoch,
        channels,
    })
}

pub(super) fn notice_body(n: &Notice) -> Vec<u8> {
    let mut b = n.epoch.to_be_bytes().to_vec();
    b.push(n.reason.code());
    b
}

pub(super) fn parse_notice(body: &[u8]) -> Result<Notice, PeerError> {
    if body.len() != 9 {
        return Err(PeerError::Malformed("notice body of the wrong length"));
    }
    Ok(Notice {
        epoch: u64::from_be_bytes(body[0..8].try_into().expect("8 bytes")),
        reason: NoticeReason::from_code(body[8])
            .ok_or(PeerError::Malformed("unknown notice reason"))?,
    })
}

pub(super) fn ask_body(a: &HandoverAsk) -> Vec<u8> {
    let mut b = a.request.to_be_bytes().to_vec();
    b.push(role_code(a.role));
    b.push(u8::from(a.fit));
    b
}

pub(super) fn parse_ask(body: &[u8]) -> Result<HandoverAsk, PeerError> {
    if body.len() != 10 {
        return Err(PeerError::Malformed("handover body of the wrong length"));
    }
    Ok(HandoverAsk {
        request: u64::from_be_bytes(body[0..8].try_into().expect("8 bytes")),
        role: role_from(body[8])?,
        fit: flag(body[9])?,
    })
}

pub(super) fn reply_body(r: &HandoverReply) -> Vec<u8> {
    let mut b = r.request.to_be_bytes().to_vec();
    let code = match r.refusal {
        None => 0,
        Some(Refusal::NotFit) => 1,
        Some(Refusal::NotPassive) => 2,
        Some(Refusal::NotActive) => 3,
        Some(Refusal::Busy) => 4,
    };
    b.push(u8::from(r.refusal.is_none()));
    b.push(code);
    b
}

pub(super) fn parse_reply(body: &[u8]) -> Result<HandoverReply, PeerError> {
    if body.len() != 10 {
        return Err(PeerError::Malformed("handover reply of the wrong length"));
    }
    let accepted = flag(body[8])?;
    let refusal = match (accepted, body[9]) {
        (true, 0) => None,
        (false, 1) => Some(Refusal::NotFit),
        (false, 2) => Some(Refusal::NotPassive),
        (false, 3) => Some(Refusal::NotActive),
        (false, 4) => Some(Refusal::Busy),
        _ => return Err(PeerError::Malformed("impossible handover reply")),
    };
    Ok(HandoverReply {
        request: u64::from_be_bytes(body[0..8].try_into().expect("8 bytes")),
        refusal,
    })
}

#[cfg(test)]
mod tests {
    use super::super::message::{open, seal, Body, Message, ReplayGuard};
    use super::super::Key;
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key() -> Key {
        Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("valid key")
    }

    fn bodies() -> Vec<Body> {
        vec![
            Body::Heartbeat(Heartbeat {
                role: Role::Active,
                fit: true,
                epoch: 7,
                channels: vec![true, false, true],
            }),
            Body::Heartbeat(Heartbeat {
                role: Role::Passive,
                fit: false,
                epoch: u64::MAX,
                channels: vec![true; MAX_HEARTBEAT_CHANNELS],
            }),
            Body::Notice(Notice {
                epoch: 3,
                reason: NoticeReason::Handover,
            }),
            Body::HandoverAsk(HandoverAsk {
                request: 9,
                role: Role::Passive,
                fit: true,
            }),
            Body::HandoverReply(HandoverReply {
                request: 9,
                refusal: Some(Refusal::NotFit),
            }),
            Body::HandoverReply(HandoverReply {
                request: 10,
                refusal: None,
            }),
        ]
    }

    #[test]
    fn fast_bodies_round_trip_within_one_datagram() {
        for (i, body) in bodies().into_iter().enumerate() {
            let m = Message {
                sender: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
                sequence: 100 + i as u64,
                body,
            };
            let sealed = seal(&key(), &m).expect("within bounds");
            assert!(
                sealed.len() <= super::super::MAX_DATAGRAM,
                "{}",
                sealed.len()
            );
            assert_eq!(open(&key(), &sealed, &mut ReplayGuard::new()), Ok(m));
        }
    }

    #[test]
    fn a_replayed_or_altered_heartbeat_or_notice_is_rejected() {
        for body in bodies() {
            let m = Message {
                sender: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
                sequence: 50,
                body,
            };
            let sealed = seal(&key(), &m).expect("within bounds");
            let mut guard = ReplayGuard::new();
            assert!(open(&key(), &sealed, &mut guard).is_ok());
            assert!(matches!(
                open(&key(), &sealed, &mut guard),
                Err(PeerError::Replayed { .. })
            ));
            for i in 0..sealed.len() * 8 {
                let mut bad = sealed.clone();
                bad[i / 8] ^= 1 << (i % 8);
                assert!(
                    open(&key(), &bad, &mut ReplayGuard::new()).is_err(),
                    "bit {i}"
                );
            }
        }
    }

    #[test]
    fn stray_health_bits_are_malformed() {
        let mut b = heartbeat_body(&Heartbeat {
            role: Role::Active,
            fit: true,
            epoch: 1,
            channels: vec![true, true, true],
        })
        .expect("small");
        *b.last_mut().expect("a bitmap byte") |= 0x80;
        assert!(parse_heartbeat(&b).is_err());
    }
}
