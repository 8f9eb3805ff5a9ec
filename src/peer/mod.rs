//! The peer protocol on the sync link, as pure code (no socket, no clock, no file): the versioned,
//! HMAC-SHA256-authenticated wire format, the shared key, the replay guard and the counters.
//!
//! The question it carries: "can YOU reach channel X's test hosts?". The active asks it before acting
//! on a channel failure; when the passive cannot reach them either, the fault is not the active's and
//! failing over would help nobody (the source document's dead-test-host stories).
//!
//! The transport is `net::linux::peer`; the sequence numbers come from the wall clock there.

pub mod fast;
pub mod key;
pub mod message;

pub use fast::{HandoverAsk, HandoverReply, Heartbeat, Notice, NoticeReason, Refusal};
pub use key::{Key, KeyError};
pub use message::{
    open, seal, Answer, Body, Message, PeerError, PeerStats, Query, ReplayGuard, Role, Sequence,
    Yielded, HEADER_LEN, MAX_CHANNEL_LEN, MAX_DATAGRAM, MAX_TARGETS, MAX_TIMEOUT_MS, TAG_LEN,
    VERSION,
};
