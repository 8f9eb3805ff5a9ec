//! The serializable snapshot `failoverctl status` shows: role, counters, holds and the last decisions.

use serde::Serialize;

use super::action::{Decision, Role};
use super::active::ChannelStatus;
use super::passive::PassiveStatus;
use super::Instant;

/// How many recent decisions a [`Status`] keeps.
pub const RECENT_DECISIONS: usize = 32;

/// A node's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub role: Role,
    /// When the node entered this role.
    pub since: Instant,
    /// Why a failure action is being held, if it is.
    pub holding: Option<String>,
    /// Why this node cannot serve: the reason said at a declined takeover (`requirefit`), or a lost
    /// carrier (`None`: nothing known against it).
    pub unfit: Option<String>,
    /// The active's per-channel counters (empty while passive).
    pub channels: Vec<ChannelStatus>,
    /// The passive's single counter (absent while active).
    pub passive: Option<PassiveStatus>,
    /// Failure actions known (persisted history plus this run's).
    pub failovers: Vec<Instant>,
    /// The last [`RECENT_DECISIONS`] decisions, oldest first.
    pub recent: Vec<Decision>,
    /// Counts since start (takeovers, failure actions, holds, probe round trips), for the metrics.
    pub tally: super::tally::Tally,
    /// The pair's epoch as this node knows it (grows with every takeover).
    pub epoch: u64,
    /// The peer's last heartbeat (absent: none yet, or no peer protocol).
    pub heartbeat: Option<HeartbeatStatus>,
}

/// The peer's last heartbeat, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeartbeatStatus {
    /// When it came.
    pub at: Instant,
    pub role: String,
    pub fit: bool,
    pub epoch: u64,
    /// One per channel of the peer: healthy.
    pub channels: Vec<bool>,
    /// None came for 3 × synctime (evidence only: the ARP checks decide).
    pub lost: bool,
}

/// What [`Status`] shows that can change, built without cloning the decisions or the probe tallies:
/// the daemon compares it at every wake-up and builds the whole status only when it changed. Left
/// out, as the state file leaves them out until something else changes: a healthy channel's or
/// passive's "last ok" time, an on-time heartbeat's arrival, the probe tallies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusKey {
    pub role: Role,
    pub since: Instant,
    pub holding: Option<String>,
    pub unfit: Option<String>,
    /// Per channel: failures, and the last ok time while failing.
    pub channels: Vec<(u32, Option<Instant>)>,
    /// Failures, last seen while failing, not before.
    pub passive: Option<(u32, Option<Instant>, Option<Instant>)>,
    /// How many failure actions are known, and the last.
    pub failovers: (usize, Option<Instant>),
    /// Decisions made since start (the recent list only ever changes with a new one).
    pub decisions: u64,
    /// Takeovers, failure actions and holds counted (they only grow).
    pub counts: u64,
    pub epoch: u64,
    pub heartbeat: Option<HeartbeatKey>,
}

/// The last heartbeat as [`StatusKey`] compares it: its arrival only once it counts as lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatKey {
    pub lost_since: Option<Instant>,
    pub role: crate::peer::Role,
    pub fit: bool,
    pub epoch: u64,
    pub channels: Vec<bool>,
    pub lost: bool,
}
