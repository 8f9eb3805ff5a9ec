//! Foreign claims seen on the LAN and the peer's yield notice, while active (issue 14): the
//! split-brain rule runs at once instead of at the next checktime, and the keeper announces again
//! at once, so neighbours never stay on the MAC of a takeover that was undone.

use super::*;
use crate::core::claims::{judge_claim, ClaimResponse};

impl Node {
    /// Another MAC claimed one of the activeips (an announcement or an ARP reply).
    pub(super) fn on_foreign_claim(&mut self, now: Instant, claim: Rival) {
        let response = judge_claim(self.role, &self.config, &claim);
        if response == ClaimResponse::Ignore {
            return;
        }
        // A look started by a claim is still out: the rest of the claimant's burst (a request and
        // a reply per announcement, on every device) adds nothing until it answers. Without this
        // every frame was logged and announced against: over a hundred lines in a few ms.
        if self.rival_seen && self.conflict.is_some() {
            return;
        }
        let (own, rival) = (format_mac(&claim.own_mac), format_mac(&claim.rival_mac));
        let seen = format!(
            "{} on {} claimed by {rival} (this node: {own})",
            claim.address, claim.device
        );
        if response == ClaimResponse::Reannounce {
            self.log(
                now,
                None,
                format!("{seen}; the lower MAC keeps the activeips: announcing them again now"),
            );
            self.reannounce(now);
        } else {
            self.log(now, None, format!("{seen}; looking for a live rival now"));
        }
        // Whatever the confirming look finds: a live rival runs the tie-break, and none makes the
        // keeper announce once more ("split brain over"), healing the claimant's announcement.
        self.rival_seen = true;
        // A look already out was asked before this claim: its silence says nothing about the
        // claimant, and taken for "split brain over" it left the rival unseen until the next
        // checktime (lab: the keeper never named a newcomer that yielded first). Look again now.
        if self.conflict.take().is_some() {
            self.timers.stop(NodeTimer::ConflictAnswer);
        }
        self.timers.stop(NodeTimer::Conflict);
        self.conflict_check(now);
    }

    /// The peer yielded the activeips after a split brain: announce them again so that every
    /// neighbour that learned the peer's MAC learns this node's.
    pub(super) fn on_peer_yielded(&mut self, now: Instant, keeper_mac: [u8; 6]) {
        if self.role != Role::Active {
            return;
        }
        self.log(
            now,
            None,
            format!(
                "the peer yielded the activeips to {}: announcing them again",
                format_mac(&keeper_mac)
            ),
        );
        self.reannounce(now);
        // A look in flight may hold answers the peer gave before it let go: acting on them would
        // make this node yield too, and nobody would serve. Look again from now.
        if self.conflict.take().is_some() {
            self.timers.stop(NodeTimer::ConflictAnswer);
        }
        self.rival_seen = true;
        self.timers.stop(NodeTimer::Conflict);
        self.conflict_check(now);
    }
}
