//! The core's vocabulary with the shell: [`Input`] values in, [`Action`] values out, and the logged
//! [`Decision`]. The shell handles every `Action` in one `match`; requests carry a [`RequestId`] and
//! their answers come back as an `Input` with the same id (a stale id is ignored).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::observe::{ArpResult, ArpTarget, Counters, ProbeResult, ProbeTarget, Rival};
use super::Instant;

/// Ties an answer to its request. Ids only grow within one [`super::Node`], so the answer to a request
/// of an earlier round (or an earlier monitor) never matches the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Hands out [`RequestId`]s in increasing order.
#[derive(Debug, Clone, Default)]
pub struct RequestIds {
    next: u64,
}

impl RequestIds {
    /// Starts at `next` (pass the previous owner's [`RequestIds::peek`] to keep ids unique).
    pub fn starting_at(next: u64) -> Self {
        Self { next }
    }
    /// The id the next request will get.
    pub fn peek(&self) -> u64 {
        self.next
    }
    pub(crate) fn next_id(&mut self) -> RequestId {
        let id = RequestId(self.next);
        self.next += 1;
        id
    }
}

/// The role of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Watching the active's addresses (the passive algorithm).
    Passive,
    /// Owning the activeips and checking the channels (the active algorithm).
    Active,
    /// A failure action (reboot) was handed to the shell; nothing more is decided.
    Failed,
    /// The service stopped ([`Input::Stop`]).
    Stopped,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Passive => "passive",
            Role::Active => "active",
            Role::Failed => "failed",
            Role::Stopped => "stopped",
        })
    }
}

/// One address on one device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Address {
    pub device: String,
    pub address: IpAddr,
    /// `None`: use the device's existing prefix.
    pub prefix: Option<u8>,
}

/// Which hook to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// After a takeover (`up=`).
    Up,
    /// After releasing the addresses (`down=`).
    Down,
}

/// The failure actions the shell carries out (a demote is done inside the core: release, then passive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureCommand {
    /// Reboot the machine.
    Reboot,
    /// Run this command through `/bin/sh -c`.
    Exec(String),
}

/// A decision with its reason, for the log, alerts and `failoverctl status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub at: Instant,
    pub role: Role,
    /// The channel (`ident`) the decision is about, if any.
    pub channel: Option<String>,
    /// A sentence for humans, e.g. "channel if-1: no answer from 192.0.2.1 (2/3)".
    pub reason: String,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.at, self.role, self.reason)
    }
}

/// What the shell must do. Handle every variant; requests are answered with the matching [`Input`].
#[must_use = "an action not carried out leaves the core waiting or the network wrong"]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Read the rx/tx packet counters of `devices` now; answer with [`Input::Counters`].
    SampleCounters { id: RequestId, devices: Vec<String> },
    /// Send `probes` ICMP echoes to each target, spread evenly within `timeout` (the k-th at
    /// k × timeout / probes, only to targets not yet answered), and wait at most `timeout`; any reply
    /// counts. Answer with [`Input::ProbeDone`] as soon as all answered or `timeout` has passed.
    Probe {
        id: RequestId,
        targets: Vec<ProbeTarget>,
        timeout: Duration,
        probes: u32,
    },
    /// The passive's check: does anybody answer ARP for each target within `timeout`? The question
    /// is asked `probes` times, spread evenly within `timeout` (with the table method: the
    /// solicitation repeated before the table is read). Answer with [`Input::ArpDone`].
    ArpCheck {
        id: RequestId,
        targets: Vec<ArpTarget>,
        timeout: Duration,
        probes: u32,
    },
    /// The active's look for a rival owner of its own activeips (a split brain): ask each target
    /// without teaching anybody our address (an RFC 5227 probe, sender IP 0.0.0.0) and answer with
    /// [`Input::ConflictDone`], as soon as every target answered or `timeout` has passed. Replies from
    /// this node's own MAC are no rival. Must not hold up the other requests: it runs every checktime.
    /// With `report_empty` false an answer without a rival is not awaited: the shell may give it
    /// late (with whatever it does next) or never, and need not wake for it.
    ConflictCheck {
        id: RequestId,
        targets: Vec<ArpTarget>,
        timeout: Duration,
        report_empty: bool,
    },
    /// Does this node still hold its activeips? Someone else (a network manager restarting an
    /// interface, an operator's `ip addr flush`) may have removed one. Answer at once with
    /// [`Input::OwnershipDone`].
    CheckOwnership {
        id: RequestId,
        addresses: Vec<Address>,
    },
    /// Ask the peer's daemon over the sync link (the peer protocol) which of `testips` it reaches
    /// out of its own link on `channel`, and in which role it runs. Answer with [`Input::PeerAnswer`]
    /// within `timeout` (`None` when no authentic answer came). The core judges the answer: before
    /// acting on a failure (does the peer reach what this node cannot?) and before a takeover (is the
    /// peer a healthy active?). The shell splits a long list into several questions and answers once
    /// all of them are answered.
    AskPeer {
        id: RequestId,
        channel: String,
        testips: Vec<IpAddr>,
        timeout: Duration,
    },
    /// One ICMP echo to the peer's host over the sync link; answer with [`Input::ProbeDone`].
    PingPeer {
        id: RequestId,
        target: ProbeTarget,
        timeout: Duration,
    },
    /// Takeover: add `add` (the activeips), then remove `remove` (passiveips, per `releasepassiveip`).
    ClaimAddresses {
        add: Vec<Address>,
        remove: Vec<Address>,
    },
    /// Send one gratuitous ARP (request and reply forms) for each address.
    Announce { addresses: Vec<Address> },
    /// Give up the activeips (`remove`), then put back `restore` (the passiveips dropped at takeover).
    ReleaseAddresses {
        remove: Vec<Address>,
        restore: Vec<Address>,
    },
    /// Run a configured hook for one channel, after every hook asked for before it (one ordered
    /// queue), killed when it runs longer than `timeout`.
    RunHook {
        hook: Hook,
        channel: String,
        command: String,
        timeout: Duration,
    },
    /// Carry out the failure action for the failed `channel` (its values go into the command's
    /// environment); the node decides nothing more after a reboot.
    FailureAction {
        command: FailureCommand,
        channel: String,
    },
    /// Persist the time of this failure action (handed back at the next start as history).
    RecordFailover { at: Instant },
    /// Send one heartbeat to the peer over the sync link (every `synctime`, and at once when this
    /// node's role or fitness changes). Fire and forget.
    SendHeartbeat(crate::peer::Heartbeat),
    /// Tell the peer this node released its activeips. Queued right after the
    /// [`Action::ReleaseAddresses`] it announces, before anything else (hooks): the addresses are
    /// gone when the peer hears it, so the two never hold them at once.
    SendNotice(crate::peer::Notice),
    /// One message of a planned handover to the peer.
    SendHandover(HandoverMessage),
    /// Answer the local `failoverctl handover` client `client` (see [`Input::HandoverRequest`]).
    HandoverDone {
        client: u64,
        ok: bool,
        message: String,
    },
    /// Run the service check (`[policy] check=`) through `/bin/sh -c`, killed after `timeout`;
    /// answer with [`Input::CheckDone`]. Never waited for in the loop.
    RunCheck {
        id: RequestId,
        command: String,
        timeout: Duration,
        /// The channel whose hook environment the command gets (the first for `[policy] check=`).
        channel: usize,
    },
    /// Tell the peer over the sync link (the peer protocol's authenticated yield notice) that this
    /// node gave up the activeips to `keeper_mac` after a split brain, so the keeper announces again.
    NotifyYielded { keeper_mac: [u8; 6] },
    /// Tell a human (syslog at alert level, a notification): the core is holding instead of acting.
    Alert(Decision),
    /// Log a decision.
    Log(Decision),
}

/// The counters of one device, `None` when they could not be read (counted as an idle interval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSample {
    pub device: String,
    pub counters: Option<Counters>,
}

/// What the shell feeds in (time comes separately, as the `now` argument).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Answer to [`Action::SampleCounters`].
    Counters {
        id: RequestId,
        samples: Vec<CounterSample>,
    },
    /// Answer to [`Action::Probe`]; a target missing from `results` counts as not answered.
    ProbeDone {
        id: RequestId,
        results: Vec<ProbeResult>,
    },
    /// Answer to [`Action::ArpCheck`]; a target missing from `results` counts as not answered.
    ArpDone {
        id: RequestId,
        results: Vec<ArpResult>,
    },
    /// Answer to [`Action::ConflictCheck`]: one entry per target another station answered for.
    ConflictDone { id: RequestId, rivals: Vec<Rival> },
    /// Answer to [`Action::CheckOwnership`]: the addresses no longer on this node.
    OwnershipDone {
        id: RequestId,
        missing: Vec<Address>,
    },
    /// Answer to [`Action::AskPeer`]: what the peer said, `None` when it did not answer in time.
    PeerAnswer {
        id: RequestId,
        answer: Option<PeerReport>,
    },
    /// The carrier of `device` as the shell read it (at start and at each check) or as a kernel link
    /// event reported it. Only changes matter; repeating the same state is harmless. A device never
    /// reported counts as having carrier.
    Carrier { device: String, up: bool },
    /// Another station claimed one of this node's activeips on the LAN (an ARP announcement or
    /// reply with that sender address from another MAC), seen by the shell's ARP sockets.
    ForeignClaim(Rival),
    /// The peer's authentic notice that it yielded the activeips after a split brain.
    PeerYielded { keeper_mac: [u8; 6] },
    /// The service is stopping (SIGTERM/SIGINT): release the addresses if `releaseonstop`.
    Stop,
    /// An authentic, fresh heartbeat from the peer (the shell dropped and counted the others).
    PeerHeartbeat(crate::peer::Heartbeat),
    /// An authentic release notice from the peer: it is letting go of the activeips.
    ReleaseNotice(crate::peer::Notice),
    /// An authentic handover message from the peer.
    PeerHandover(HandoverMessage),
    /// `failoverctl handover` on this node asks for a planned switchover; answer with
    /// [`Action::HandoverDone`] for `client` within `timeout`.
    HandoverRequest { client: u64, timeout: Duration },
    /// Answer to [`Action::RunCheck`]: `Ok` the check passed, `Err` why not (exit status, hung and
    /// killed, cannot be started).
    CheckDone {
        id: RequestId,
        outcome: Result<(), String>,
    },
}

/// A handover message to or from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoverMessage {
    Ask(crate::peer::HandoverAsk),
    Reply(crate::peer::HandoverReply),
}

/// The peer's authentic answer to [`Action::AskPeer`]: facts only, judged by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// The peer's role when it answered.
    pub role: Role,
    /// One entry per asked test host, in order: whether the peer got an echo reply from it.
    pub reached: Vec<bool>,
}

/// How long a hook may run before the shell kills it (and its process group).
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// A shell that lost an answer must not stall the core: a request still unanswered this long after its
/// own `timeout` counts as unanswered.
pub const ANSWER_GRACE: Duration = Duration::from_millis(1000);
