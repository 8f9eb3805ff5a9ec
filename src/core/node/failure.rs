//! A failed channel on the active: the policy guards (maxfailovers, requirepeer and the peer's view
//! of the test hosts), holds and their lifting, and the failure action itself.

use super::*;

impl Node {
    pub(super) fn on_failure(&mut self, now: Instant, failure: ChannelFailure) {
        if let Some(reason) = limit_reached(&self.config.policy, &self.history, now) {
            self.hold(now, &failure, reason);
            return;
        }
        if self.config.policy.requirepeer {
            // "The active server should not reboot if the passive one is turned off."
            // From the monitor's sequence, which goes on after the check: ids never repeat.
            let check = match &mut self.mode {
                Mode::Active(m) => m.issue_id(),
                _ => {
                    self.ids = self.next_ids();
                    self.ids.next_id()
                }
            };
            let timeout = peer_check_timeout(&self.config);
            let (channel, testips) = (
                failure.channel.clone(),
                self.config.channels[failure.index].testips.clone(),
            );
            self.pending = Some(PendingFailure { failure, check });
            // The question, then a ping of the peer's host when the question got no answer.
            self.timers.set(
                NodeTimer::PeerAnswer,
                now + timeout + self.config.network.timeout * 2 + ANSWER_GRACE,
            );
            self.push(Action::CheckPeer {
                id: check,
                channel,
                testips,
                timeout,
            });
            return;
        }
        self.act(now, &failure);
    }

    /// A held failure that healed (traffic or an answer on its channel since the hold) ends the hold,
    /// so `status` no longer reports it and the next failure alerts again.
    pub(super) fn lift_hold(&mut self, now: Instant) {
        let Some((channel, since)) = &self.held else {
            return;
        };
        let Mode::Active(m) = &self.mode else {
            return;
        };
        let healed = m
            .status()
            .iter()
            .any(|c| &c.ident == channel && c.last_ok_at.is_some_and(|t| t > *since));
        if healed {
            let channel = channel.clone();
            self.holding = None;
            self.held = None;
            self.log(
                now,
                Some(&channel),
                format!("channel {channel} healthy again: hold lifted"),
            );
        }
    }

    pub(super) fn hold(&mut self, now: Instant, failure: &ChannelFailure, reason: HoldReason) {
        let text = format!(
            "channel {} failed but holding: {reason}; staying active",
            failure.channel
        );
        let changed = self.holding.as_ref() != Some(&reason);
        if changed {
            self.tally.hold(reason.label());
        }
        self.holding = Some(reason);
        self.held = Some((failure.channel.clone(), now));
        let d = self.decision(now, Some(&failure.channel), text);
        // Alert when the hold starts or its reason changes, not at every repeated detection.
        self.push(if changed {
            Action::Alert(d)
        } else {
            Action::Log(d)
        });
        if let Mode::Active(m) = &mut self.mode {
            m.resume(now);
        }
    }

    pub(super) fn act(&mut self, now: Instant, failure: &ChannelFailure) {
        self.holding = None;
        self.held = None;
        self.history.record(now);
        let kind = match self.config.policy.onfailure {
            FailureAction::Demote => "demote",
            FailureAction::Reboot => "reboot",
            FailureAction::Exec(_) => "exec",
        };
        self.tally.failure_action(&failure.channel, kind);
        self.push(Action::RecordFailover { at: now });
        let why = format!("channel {} failed", failure.channel);
        let command = match self.config.policy.onfailure.clone() {
            FailureAction::Demote => {
                self.release(now, &why);
                let holdoff = demote_holdoff(&self.config);
                self.become_passive(now, now + holdoff);
                return;
            }
            FailureAction::Reboot => FailureCommand::Reboot,
            FailureAction::Exec(cmd) => FailureCommand::Exec(cmd),
        };
        let fastdown = self.config.network.fastdown;
        if fastdown {
            // `fastdown=yes`: the addresses go at once, so the peer need not wait for the shutdown.
            self.release(now, &format!("{why}, fastdown"));
        }
        self.log(
            now,
            Some(&failure.channel),
            format!("{why}: failure action {command:?}"),
        );
        let reboot = command == FailureCommand::Reboot;
        self.push(Action::FailureAction(command));
        if reboot {
            self.role = Role::Failed;
            self.since = now;
            self.mode = Mode::Done;
            self.timers.stop_all();
        } else if self.scope == Scope::ActiveOnly && !fastdown {
            // run-active ends with its failure action.
            self.mode = Mode::Done;
            self.timers.stop_all();
        } else if fastdown {
            let holdoff = demote_holdoff(&self.config);
            self.become_passive(now, now + holdoff);
        } else if let Mode::Active(m) = &mut self.mode {
            m.resume(now);
        }
    }
}
