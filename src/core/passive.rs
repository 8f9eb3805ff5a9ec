//! The passive node's algorithm, as the source document states it, as a sans-IO state machine.
//!
//! "Once in checktime seconds" the passive checks every activeip by ARP; after the `timeout` "if no
//! response was received from any interface, the failure counter (it is the only one on all interfaces)
//! increases. If a response has been received from at least one interface, the failure counter is reset
//! to zero. If the failure counter reaches the value of activeretries, it switches to active mode."
//!
//! The document bounds the passive's detection by `checktime + (timeout * activeretries)`
//! ([`super::timing::passive_detection`]). That bound only holds if, like the active, the passive
//! re-checks at once (not after another checktime) while its counter is non-zero: so it does.
//!
//! Polling order: [`PassiveMonitor::handle`]`(now, input)` and [`PassiveMonitor::handle_timeout`]`(now)`,
//! then [`PassiveMonitor::poll_action`] until `None`, then [`PassiveMonitor::poll_takeover`].

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::action::{Action, Decision, Input, RequestId, RequestIds, Role, ANSWER_GRACE};
use super::observe::{ArpResult, ArpTarget};
use super::timer::Timers;
use super::Instant;
use crate::config::Config;

/// The passive monitor's verdict: the active is gone, take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takeover {
    pub at: Instant,
    pub failures: u32,
}

/// The passive's counter as `failoverctl status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassiveStatus {
    pub failures: u32,
    /// `activeretries`.
    pub limit: u32,
    /// Last time the active answered.
    pub last_seen_at: Option<Instant>,
    /// No takeover before this (start stagger or after a demote).
    pub not_before_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum PassiveTimer {
    /// The main loop ("once in checktime seconds").
    Tick,
    /// The check in flight counts as unanswered after this.
    Answer,
}

impl From<PassiveTimer> for usize {
    fn from(t: PassiveTimer) -> usize {
        t as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    /// A check sent at the instant, waiting for its answer.
    Checking(RequestId, Instant),
    /// Took over; nothing more.
    Done,
}

/// Requests per activeip in one passive check: the most any channel asks for (one check covers
/// every activeip, so the check is as robust as the most demanding channel wants).
pub fn passive_probes(config: &Config) -> u32 {
    config
        .channels
        .iter()
        .map(|c| c.probes(&config.network))
        .max()
        .unwrap_or(config.network.probes)
}

/// The passive algorithm over all activeips of a [`Config`].
#[derive(Debug, Clone)]
pub struct PassiveMonitor {
    targets: Vec<ArpTarget>,
    checktime: Duration,
    timeout: Duration,
    /// Requests per activeip in one check: the most any channel asks for (one check covers all).
    probes: u32,
    activeretries: u32,
    failures: u32,
    last_seen_at: Option<Instant>,
    not_before_at: Option<Instant>,
    phase: Phase,
    timers: Timers<PassiveTimer, 2>,
    ids: RequestIds,
    actions: VecDeque<Action>,
    takeover: Option<Takeover>,
}

impl PassiveMonitor {
    /// Starts watching: the first check is at `now` (so a node that starts next to a live active sees
    /// it at once and stays passive); no takeover is decided before `not_before`.
    pub fn new(
        config: &Config,
        now: Instant,
        not_before: Option<Instant>,
        ids: RequestIds,
    ) -> Self {
        let targets = config
            .channels
            .iter()
            .map(|c| ArpTarget {
                device: c.device.clone(),
                address: c.activeip,
            })
            .collect();
        let mut timers = Timers::new();
        timers.set(PassiveTimer::Tick, now);
        Self {
            targets,
            checktime: config.network.checktime,
            timeout: config.network.timeout,
            probes: passive_probes(config),
            activeretries: config.network.activeretries,
            failures: 0,
            last_seen_at: None,
            not_before_at: not_before,
            phase: Phase::Waiting,
            timers,
            ids,
            actions: VecDeque::new(),
            takeover: None,
        }
    }

    pub fn ids(&self) -> RequestIds {
        self.ids.clone()
    }

    /// An id from this monitor's sequence, for a request the node makes beside it.
    pub(crate) fn issue_id(&mut self) -> RequestId {
        self.ids.next_id()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The takeover decision, once.
    pub fn poll_takeover(&mut self) -> Option<Takeover> {
        self.takeover.take()
    }

    pub fn status(&self) -> PassiveStatus {
        PassiveStatus {
            failures: self.failures,
            limit: self.activeretries,
            last_seen_at: self.last_seen_at,
            not_before_at: self.not_before_at,
        }
    }

    /// Takes a reloaded config, keeping the hold-off (`not_before`) and, when the watched activeips
    /// are the same, the counter and the last time the active was seen. Other activeips start a new
    /// count with a check now (the check in flight asked about the old ones; its answer is stale).
    pub fn reconfigure(&mut self, config: &Config, now: Instant) {
        let targets: Vec<ArpTarget> = config
            .channels
            .iter()
            .map(|c| ArpTarget {
                device: c.device.clone(),
                address: c.activeip,
            })
            .collect();
        let n = &config.network;
        let same_timing = self.checktime == n.checktime && self.timeout == n.timeout;
        // Takes effect with the next check.
        self.probes = passive_probes(config);
        self.checktime = n.checktime;
        self.timeout = n.timeout;
        self.activeretries = n.activeretries;
        self.failures = self.failures.min(self.activeretries);
        if targets != self.targets {
            self.targets = targets;
            self.failures = 0;
            self.last_seen_at = None;
        } else if same_timing {
            return;
        }
        if self.phase != Phase::Done {
            self.phase = Phase::Waiting;
            self.timers.stop_all();
            self.timers.set(PassiveTimer::Tick, now);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(PassiveTimer::Answer, now) {
            if let Phase::Checking(id, _) = self.phase {
                // The shell lost the answer: nobody answered.
                self.handle(
                    now,
                    Input::ArpDone {
                        id,
                        results: vec![],
                    },
                );
            }
        }
        if self.timers.take_expired(PassiveTimer::Tick, now) {
            self.check(now);
        }
    }

    /// Feeds an answer; stale ids are ignored.
    pub fn handle(&mut self, now: Instant, input: Input) {
        if let (Phase::Checking(id, sent_at), Input::ArpDone { id: got, results }) =
            (self.phase, input)
        {
            if id == got {
                self.timers.stop(PassiveTimer::Answer);
                self.on_answer(now, sent_at, &results);
            }
        }
    }

    fn log(&mut self, now: Instant, reason: String) {
        self.actions.push_back(Action::Log(Decision {
            at: now,
            role: Role::Passive,
            channel: None,
            reason,
        }));
    }

    fn check(&mut self, now: Instant) {
        let id = self.ids.next_id();
        self.phase = Phase::Checking(id, now);
        self.timers
            .set(PassiveTimer::Answer, now + self.timeout + ANSWER_GRACE);
        self.actions.push_back(Action::ArpCheck {
            id,
            targets: self.targets.clone(),
            timeout: self.timeout,
            probes: self.probes,
        });
    }

    fn on_answer(&mut self, now: Instant, sent_at: Instant, results: &[ArpResult]) {
        let limit = self.activeretries;
        let answered = results
            .iter()
            .any(|r| r.mac.is_some() && self.targets.contains(&r.target));
        if answered {
            // "If a response has been received from at least one interface, the failure counter is
            // reset to zero."
            self.last_seen_at = Some(now);
            let was = std::mem::take(&mut self.failures);
            if was > 0 {
                self.log(
                    now,
                    format!("active answers again, counter reset ({was}/{limit} -> 0)"),
                );
            }
            self.phase = Phase::Waiting;
            // "Once in checktime seconds": the period runs from check to check, so an active that goes
            // silent right after answering is taken over checktime + (timeout * activeretries) later.
            self.timers
                .set(PassiveTimer::Tick, sent_at + self.checktime);
            return;
        }
        // The counter stops at its limit: past it only the start slot or hold-off is waited out.
        self.failures = (self.failures + 1).min(limit);
        let n = self.failures;
        let held = self.not_before_at.filter(|&t| now < t);
        let addresses: Vec<String> = self.targets.iter().map(|t| t.address.to_string()).collect();
        let waiting = match held {
            Some(t) if n >= limit => format!(
                ", waiting {} ms more: start slot or demote hold-off",
                (t - now).as_millis()
            ),
            _ => String::new(),
        };
        // An IPv6 activeip is asked by neighbour discovery, not ARP: the log says which.
        let asked = match (
            self.targets.iter().any(|t| t.address.is_ipv4()),
            self.targets.iter().any(|t| t.address.is_ipv6()),
        ) {
            (true, true) => "ARP/NDP",
            (false, true) => "NDP",
            _ => "ARP",
        };
        self.log(
            now,
            format!(
                "no {asked} answer for {} ({n}/{limit}{waiting})",
                addresses.join(", ")
            ),
        );
        let held = held.is_some();
        if n >= limit && !held {
            // "If the failure counter reaches the value of activeretries, it switches to active mode."
            self.log(now, format!("active gone ({n}/{limit}): taking over"));
            self.takeover = Some(Takeover {
                at: now,
                failures: n,
            });
            self.phase = Phase::Done;
            self.timers.stop_all();
            return;
        }
        // Re-check at once while the counter is non-zero: without it the document's own bound
        // checktime + (timeout * activeretries) would not hold.
        self.check(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::core::testkit::{arp_done, at_ms, config, drive, secs, Machine};

    struct Mon {
        m: PassiveMonitor,
        takeover: Option<Takeover>,
    }

    impl Machine for Mon {
        fn handle(&mut self, now: Instant, input: Input) {
            self.m.handle(now, input)
        }
        fn handle_timeout(&mut self, now: Instant) {
            self.m.handle_timeout(now)
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.m.poll_timeout()
        }
        fn poll_action(&mut self) -> Option<Action> {
            self.m.poll_action()
        }
        fn done(&mut self) -> bool {
            if let Some(t) = self.m.poll_takeover() {
                self.takeover = Some(t);
            }
            self.takeover.is_some()
        }
    }

    /// The active answers ARP while `alive(now)`; the check reads the answer after `timeout`, as the
    /// source document's flush-send-read method does.
    fn world(
        alive: impl Fn(u64) -> bool,
    ) -> impl FnMut(Instant, &Action) -> Option<(Duration, Input)> {
        move |now, a| match a {
            Action::ArpCheck {
                id,
                targets,
                timeout,
                ..
            } => {
                let mac = alive(now.as_millis()).then_some([2, 0, 0, 0, 0, 1]);
                Some((*timeout, arp_done(*id, targets, |_| mac)))
            }
            _ => None,
        }
    }

    fn mon(not_before: Option<Instant>) -> Mon {
        let cfg = config(PolicyMode::Classic);
        Mon {
            m: PassiveMonitor::new(&cfg, Instant::ZERO, not_before, RequestIds::default()),
            takeover: None,
        }
    }

    #[test]
    fn takeover_exactly_checktime_plus_timeout_times_retries_after_the_active_goes_silent() {
        let mut m = mon(None);
        // Checks at 0 and 10 s are answered; the active goes silent 1 ms after answering at 10 s.
        let seen = drive(
            &mut m,
            Instant::ZERO,
            at_ms(100_000),
            world(|t| t <= 10_000),
        );
        let t = m.takeover.expect("takes over");
        // checktime + timeout × activeretries = 10 + 2 × 3 = 16 s after it stopped answering.
        assert_eq!(t.at, at_ms(10_000) + secs(10) + secs(2) * 3);
        let checks: Vec<u64> = seen
            .iter()
            .filter(|(_, a)| matches!(a, Action::ArpCheck { .. }))
            .map(|(t, _)| t.as_millis())
            .collect();
        // After the first miss (read at 22 s) the re-checks go at once.
        assert_eq!(checks, vec![0, 10_000, 20_000, 22_000, 24_000]);
    }

    #[test]
    fn an_answer_resets_the_single_counter() {
        let mut m = mon(None);
        // Silent for one check only.
        drive(
            &mut m,
            Instant::ZERO,
            at_ms(200_000),
            world(|t| !(20_000..22_000).contains(&t)),
        );
        assert!(m.takeover.is_none());
        assert_eq!(m.m.status().failures, 0);
    }

    #[test]
    fn any_answering_activeip_resets_the_counter() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels
            .push(crate::core::testkit::channel("if-2", 2, &[], true));
        let mut m = Mon {
            m: PassiveMonitor::new(&cfg, Instant::ZERO, None, RequestIds::default()),
            takeover: None,
        };
        // Only eth2's activeip answers: "a response ... from at least one interface" keeps us passive.
        let world = |_now: Instant, a: &Action| match a {
            Action::ArpCheck {
                id,
                targets,
                timeout,
                ..
            } => Some((
                *timeout,
                arp_done(*id, targets, |t| {
                    (t.device == "eth2").then_some([2, 0, 0, 0, 0, 1])
                }),
            )),
            _ => None,
        };
        drive(&mut m, Instant::ZERO, at_ms(100_000), world);
        assert!(m.takeover.is_none());
    }

    #[test]
    fn no_takeover_before_not_before_and_none_if_the_active_appears_meanwhile() {
        let mut m = mon(Some(at_ms(20_000)));
        drive(&mut m, Instant::ZERO, at_ms(100_000), world(|_| false));
        assert_eq!(m.takeover.expect("takes over").at, at_ms(20_000));

        let mut m = mon(Some(at_ms(20_000)));
        drive(
            &mut m,
            Instant::ZERO,
            at_ms(100_000),
            world(|t| t >= 15_000),
        );
        assert!(m.takeover.is_none());
    }

    #[test]
    fn stale_arp_answers_are_ignored() {
        let mut m = mon(None).m;
        m.handle_timeout(Instant::ZERO);
        let Some(Action::ArpCheck { id, .. }) = m.poll_action() else {
            panic!("expected an ARP check");
        };
        m.handle(
            at_ms(2_000),
            Input::ArpDone {
                id: RequestId(id.0 + 1),
                results: vec![],
            },
        );
        assert_eq!(m.status().failures, 0);
        assert_eq!(m.poll_action(), None);
        m.handle(
            at_ms(2_000),
            Input::ArpDone {
                id,
                results: vec![],
            },
        );
        assert_eq!(m.status().failures, 1);
    }
}
