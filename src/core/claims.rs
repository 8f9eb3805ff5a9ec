//! Evidence that confirms (or overrules) a disruptive step, as pure rules (issue 14):
//!
//! - a foreign claim: another MAC announcing or answering for one of this node's activeips while it
//!   is active ([`judge_claim`]). The split-brain tie-break (the lower MAC keeps the addresses)
//!   decides who re-announces at once; the confirming look for a live rival runs at once in both
//!   cases, so a takeover that was undone (announced, then withdrawn) never leaves the neighbours on
//!   the wrong MAC: when the rival is gone again, the keeper announces once more;
//! - the peer's heartbeat before a takeover ([`heartbeat_holds_takeover`]): a passive that still
//!   hears an authentic "active, healthy" heartbeat, sent after its ARP checks began to fail, holds
//!   its takeover. It never slows a real failure: a dead active sends nothing after it died.

use std::time::Duration;

use super::action::Role;
use super::observe::Rival;
use super::Instant;
use crate::config::Config;

/// What an active node does about a foreign claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimResponse {
    /// Not ours to judge: this node is not active, the address is not one of its activeips on that
    /// device, or the "claim" is this node's own frame.
    Ignore,
    /// This node keeps the addresses by the tie-break: announce again now (the neighbours that
    /// learned the claimant's MAC learn ours back), then look for a live rival.
    Reannounce,
    /// The claimant would keep them: look for a live rival now before yielding (an announcement
    /// alone may be a takeover already withdrawn, and yielding to nobody would leave nobody).
    Confirm,
}

/// The foreign-claim rule. Only the claimant's MAC against this node's MAC on the same device
/// counts, as in the periodic conflict check, so both nodes reach the same verdict without talking.
pub fn judge_claim(role: Role, config: &Config, claim: &Rival) -> ClaimResponse {
    let ours = config
        .channels
        .iter()
        .any(|c| c.device == claim.device && c.activeip == claim.address);
    if role != Role::Active || !ours || claim.rival_mac == claim.own_mac {
        ClaimResponse::Ignore
    } else if claim.own_mac < claim.rival_mac {
        ClaimResponse::Reannounce
    } else {
        ClaimResponse::Confirm
    }
}

/// Item 3 of issue 14, the passive's confirmation before a takeover, for the heartbeats every
/// `synctime`: hold the takeover while the peer's last authentic "active, healthy" heartbeat
/// (`last_healthy_active_heartbeat_at`, from a node that holds the activeips) came after the first
/// unanswered ARP check of the current streak (`streak_started_at`) and is still current (at most
/// `synctime` plus one `timeout` of delivery old). Such a heartbeat says the active lived and was
/// healthy while the checks failed: the fault is on the path (loss, this node's own ports), and a
/// takeover would make a split brain. A heartbeat from before the streak proves nothing, so a real
/// failure is never held: the dead active's last heartbeat predates the checks it stopped answering.
pub fn heartbeat_holds_takeover(
    now: Instant,
    last_healthy_active_heartbeat_at: Option<Instant>,
    streak_started_at: Instant,
    synctime: Duration,
    timeout: Duration,
) -> bool {
    last_healthy_active_heartbeat_at
        .is_some_and(|at| at >= streak_started_at && at <= now && now - at <= synctime + timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::core::testkit::{at_ms, config};

    fn claim(own: u8, rival: u8, address: [u8; 4]) -> Rival {
        Rival {
            device: "eth1".into(),
            address: address.into(),
            rival_mac: [2, 0, 0, 0, 0, rival],
            own_mac: [2, 0, 0, 0, 0, own],
        }
    }

    #[test]
    fn the_lower_mac_reannounces_and_the_higher_confirms_first() {
        let c = config(PolicyMode::Improved);
        let ours = [192, 168, 1, 50];
        assert_eq!(
            judge_claim(Role::Active, &c, &claim(1, 2, ours)),
            ClaimResponse::Reannounce
        );
        assert_eq!(
            judge_claim(Role::Active, &c, &claim(3, 2, ours)),
            ClaimResponse::Confirm
        );
        // Our own frame, another address, or a passive node: nothing to judge.
        assert_eq!(
            judge_claim(Role::Active, &c, &claim(2, 2, ours)),
            ClaimResponse::Ignore
        );
        assert_eq!(
            judge_claim(Role::Active, &c, &claim(1, 2, [192, 168, 1, 99])),
            ClaimResponse::Ignore
        );
        assert_eq!(
            judge_claim(Role::Passive, &c, &claim(1, 2, ours)),
            ClaimResponse::Ignore
        );
    }

    #[test]
    fn a_heartbeat_during_the_streak_holds_the_takeover_and_an_older_one_never() {
        let (sync, to) = (Duration::from_secs(1), Duration::from_millis(100));
        let streak = at_ms(10_000);
        // Heard 300 ms into the streak, 500 ms ago: the active lives, hold.
        assert!(heartbeat_holds_takeover(
            at_ms(10_800),
            Some(at_ms(10_300)),
            streak,
            sync,
            to
        ));
        // The last heartbeat came before the checks failed: a dead active, take over.
        assert!(!heartbeat_holds_takeover(
            at_ms(10_800),
            Some(at_ms(9_900)),
            streak,
            sync,
            to
        ));
        // No heartbeat at all (the peer protocol off, or nothing heard).
        assert!(!heartbeat_holds_takeover(
            at_ms(10_800),
            None,
            streak,
            sync,
            to
        ));
        // Heard in the streak but gone quiet since for longer than synctime + timeout.
        assert!(!heartbeat_holds_takeover(
            at_ms(11_500),
            Some(at_ms(10_300)),
            streak,
            sync,
            to
        ));
        assert!(heartbeat_holds_takeover(
            at_ms(11_400),
            Some(at_ms(10_300)),
            streak,
            sync,
            to
        ));
    }
}
