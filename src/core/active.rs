//! The active node's algorithm, exactly as the source document states it, as a sans-IO state machine.
//!
//! "Every checktime seconds, the health of each of the interfaces in the configuration is checked."
//! With `checkonlyidle=yes` a positive packet-counter delta over the interval means healthy and resets
//! the channel's failure counter; an idle interval triggers a probe of the channel's test hosts. With
//! `checkonlyidle=no` the test hosts are probed every checktime. No answer within `timeout`: the
//! channel's counter +1. "If at least on one interface the failure counter is not zero, then new packets
//! are sent immediately"; an answer resets that counter; all zero: back to the main loop ("a new wait
//! during checktime"). A counter reaching `channelretries` is a channel failure.
//!
//! Hence the bound checktime + timeout × channelretries ([`super::timing::active_detection`]).
//!
//! Polling order: feed [`ActiveMonitor::handle`]`(now, input)` and [`ActiveMonitor::handle_timeout`]`(now)`
//! (when `now` reaches [`ActiveMonitor::poll_timeout`]), then drain [`ActiveMonitor::poll_action`] until
//! `None`, then check [`ActiveMonitor::poll_failure`].

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::action::{
    Action, CounterSample, Decision, Input, RequestId, RequestIds, Role, ANSWER_GRACE,
};
use super::observe::{Activity, Counters, ProbeResult, ProbeTarget};
use super::timer::Timers;
use super::Instant;
use crate::config::{Config, TestHosts};

/// The active monitor's verdict: a channel's counter reached `channelretries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFailure {
    /// The channel's `ident`.
    pub channel: String,
    /// Its index in `Config::channels`.
    pub index: usize,
    pub at: Instant,
    pub failures: u32,
    /// Counted from unanswered test-host probes (a fresh probe can contradict it), not from a
    /// failed service check.
    pub from_probes: bool,
}

/// One channel as `failoverctl status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelStatus {
    pub ident: String,
    pub device: String,
    /// The channel's failure counter and its limit (`channelretries`).
    pub failures: u32,
    pub limit: u32,
    /// Last time traffic or an answer showed the channel healthy.
    pub last_ok_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum ActiveTimer {
    /// The main loop: the next check ("every checktime seconds").
    Tick,
    /// The request in flight counts as unanswered after this.
    Answer,
}

impl From<ActiveTimer> for usize {
    fn from(t: ActiveTimer) -> usize {
        t as usize
    }
}

#[derive(Debug, Clone)]
enum Phase {
    /// In the main loop, waiting for the tick.
    Waiting,
    /// Waiting for counters; `baseline` marks the sample that opens a new interval after a probe round
    /// ("the difference in the number of packets between the beginning and the end of the interval").
    Sampling { id: RequestId, baseline: bool },
    /// Waiting for the answers of these channels' test hosts.
    Probing {
        id: RequestId,
        channels: Vec<usize>,
        sent_at: Instant,
    },
    /// A channel failed; nothing more until [`ActiveMonitor::resume`].
    Failed,
}

#[derive(Debug, Clone)]
struct ChannelState {
    ident: String,
    device: String,
    activeip: IpAddr,
    testips: Vec<IpAddr>,
    checkonlyidle: bool,
    /// Echo requests per test host in one check (`probes=`).
    probes: u32,
    failures: u32,
    last: Option<Counters>,
    last_ok_at: Option<Instant>,
}

/// What one counter sample says about a channel.
enum Traffic {
    Positive,
    /// No packets, unreadable counters, or counters that were reset: probe.
    Idle,
    /// The first sample: it only opens the interval.
    NoBaseline,
}

/// The one idle-interval rule ([`super::observe::CounterDelta::activity`]), plus what a missing
/// sample means here.
fn traffic(prev: Option<Counters>, now: Option<Counters>) -> Traffic {
    match (prev, now) {
        (_, None) => Traffic::Idle,
        (None, Some(_)) => Traffic::NoBaseline,
        (Some(p), Some(n)) => match n.delta_since(&p).activity() {
            Activity::Traffic => Traffic::Positive,
            Activity::Idle => Traffic::Idle,
        },
    }
}

/// The active algorithm for every channel of a [`Config`].
#[derive(Debug, Clone)]
pub struct ActiveMonitor {
    channels: Vec<ChannelState>,
    checktime: Duration,
    timeout: Duration,
    channelretries: u32,
    testhosts: TestHosts,
    phase: Phase,
    timers: Timers<ActiveTimer, 2>,
    ids: RequestIds,
    actions: VecDeque<Action>,
    failure: Option<ChannelFailure>,
}

impl ActiveMonitor {
    /// Starts monitoring at `now`: the first check (which only opens the counter interval for
    /// `checkonlyidle` channels) is at `now`.
    pub fn new(config: &Config, now: Instant, ids: RequestIds) -> Self {
        let channels = config
            .channels
            .iter()
            .map(|c| ChannelState {
                ident: c.ident.clone(),
                device: c.device.clone(),
                activeip: c.activeip,
                testips: c.testips.clone(),
                checkonlyidle: c.checkonlyidle,
                probes: c.probes(&config.network),
                failures: 0,
                last: None,
                last_ok_at: None,
            })
            .collect();
        let mut timers = Timers::new();
        timers.set(ActiveTimer::Tick, now);
        Self {
            channels,
            checktime: config.network.checktime,
            timeout: config.network.timeout,
            channelretries: config.network.channelretries,
            testhosts: config.policy.testhosts,
            phase: Phase::Waiting,
            timers,
            ids,
            actions: VecDeque::new(),
            failure: None,
        }
    }

    /// The next request id (hand it to whoever issues requests after this monitor).
    pub fn ids(&self) -> RequestIds {
        self.ids.clone()
    }

    /// An id for a request the node issues beside this monitor's own (the conflict check), so ids
    /// stay unique while the monitor runs.
    pub(crate) fn issue_id(&mut self) -> RequestId {
        self.ids.next_id()
    }

    /// The next deadline: call [`Self::handle_timeout`] when `now` reaches it.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// When the next round starts, if it is scheduled (not while a round is out).
    pub fn next_round_at(&self) -> Option<Instant> {
        self.timers.get(ActiveTimer::Tick)
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The channel failure detected, once.
    pub fn poll_failure(&mut self) -> Option<ChannelFailure> {
        self.failure.take()
    }

    /// Per channel: its failure counter, and its last good time while it is failing.
    pub fn counters(&self) -> Vec<(u32, Option<Instant>)> {
        self.channels
            .iter()
            .map(|c| (c.failures, c.last_ok_at.filter(|_| c.failures > 0)))
            .collect()
    }

    pub fn status(&self) -> Vec<ChannelStatus> {
        self.channels
            .iter()
            .map(|c| ChannelStatus {
                ident: c.ident.clone(),
                device: c.device.clone(),
                failures: c.failures,
                limit: self.channelretries,
                last_ok_at: c.last_ok_at,
            })
            .collect()
    }

    /// Takes a reloaded config: channels with the same definition keep their counters, their last
    /// sample and their last good time; new ones start fresh. When the channels or the timing
    /// changed, the round in flight (asked about the old set) is dropped and a new one starts now;
    /// its late answer is then stale. A failure waiting for the policy stays where it is.
    pub fn reconfigure(&mut self, config: &Config, now: Instant) {
        let old = std::mem::take(&mut self.channels);
        self.channels = config
            .channels
            .iter()
            .map(|c| {
                let kept = old.iter().find(|o| {
                    o.ident == c.ident
                        && o.device == c.device
                        && o.activeip == c.activeip
                        && o.testips == c.testips
                        && o.checkonlyidle == c.checkonlyidle
                });
                ChannelState {
                    ident: c.ident.clone(),
                    device: c.device.clone(),
                    activeip: c.activeip,
                    testips: c.testips.clone(),
                    checkonlyidle: c.checkonlyidle,
                    probes: c.probes(&config.network),
                    failures: kept.map_or(0, |k| k.failures.min(config.network.channelretries)),
                    last: kept.and_then(|k| k.last),
                    last_ok_at: kept.and_then(|k| k.last_ok_at),
                }
            })
            .collect();
        let same_channels = old.len() == self.channels.len()
            && old.iter().zip(&self.channels).all(|(o, n)| {
                o.ident == n.ident
                    && o.device == n.device
                    && o.activeip == n.activeip
                    && o.testips == n.testips
                    && o.checkonlyidle == n.checkonlyidle
            });
        let n = &config.network;
        let same_timing = self.checktime == n.checktime
            && self.timeout == n.timeout
            && self.channelretries == n.channelretries;
        self.checktime = n.checktime;
        self.timeout = n.timeout;
        self.channelretries = n.channelretries;
        self.testhosts = config.policy.testhosts;
        let changed = !(same_channels && same_timing);
        if changed && !matches!(self.phase, Phase::Failed) {
            self.phase = Phase::Waiting;
            self.timers.stop_all();
            self.timers.set(ActiveTimer::Tick, now);
        }
    }

    /// Clears the failure counters without touching the schedule: unanswered probes so far do not
    /// count (the node has just re-announced its addresses after a split brain).
    pub fn forgive(&mut self) {
        for c in &mut self.channels {
            c.failures = 0;
        }
    }

    /// Carrier lost on a channel's device: the next round starts now, not at the next checktime.
    pub fn check_now(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Waiting) {
            self.timers.set(ActiveTimer::Tick, now);
        }
    }

    /// After a failure the policy chose to hold: reset the counters and go back to the main loop.
    pub fn resume(&mut self, now: Instant) {
        for c in &mut self.channels {
            c.failures = 0;
        }
        self.failure = None;
        self.phase = Phase::Waiting;
        self.timers.stop_all();
        self.timers.set(ActiveTimer::Tick, now + self.checktime);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(ActiveTimer::Answer, now) {
            // The shell lost the answer: everything asked counts as unanswered.
            match self.phase.clone() {
                Phase::Sampling { id, .. } => self.handle(
                    now,
                    Input::Counters {
                        id,
                        samples: vec![],
                    },
                ),
                Phase::Probing { id, .. } => self.handle(
                    now,
                    Input::ProbeDone {
                        id,
                        results: vec![],
                    },
                ),
                Phase::Waiting | Phase::Failed => {}
            }
        }
        if self.timers.take_expired(ActiveTimer::Tick, now) {
            // A late baseline sample is abandoned: the tick takes its own sample.
            self.start_round(now);
        }
    }

    /// Feeds an answer; inputs for other requests (stale ids) are ignored.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match (self.phase.clone(), input) {
            (Phase::Sampling { id, baseline }, Input::Counters { id: got, samples })
                if id == got =>
            {
                self.timers.stop(ActiveTimer::Answer);
                self.on_counters(now, &samples, baseline);
            }
            (
                Phase::Probing {
                    id,
                    channels,
                    sent_at,
                },
                Input::ProbeDone { id: got, results },
            ) if id == got => {
                self.timers.stop(ActiveTimer::Answer);
                self.on_probe_done(now, sent_at, &channels, &results);
            }
            _ => {}
        }
    }

    fn log(&mut self, now: Instant, channel: Option<&str>, reason: String) {
        self.actions.push_back(Action::Log(Decision {
            at: now,
            role: Role::Active,
            channel: channel.map(str::to_owned),
            reason,
        }));
    }

    fn idle_devices(&self) -> Vec<String> {
        self.channels
            .iter()
            .filter(|c| c.checkonlyidle)
            .map(|c| c.device.clone())
            .collect()
    }

    fn start_round(&mut self, now: Instant) {
        let devices = self.idle_devices();
        if devices.is_empty() {
            // "If the checkonlyidle parameter is set to no, then ... packets are sent to testip
            // addresses every checktime seconds."
            let all: Vec<usize> = (0..self.channels.len()).collect();
            self.probe(now, all);
        } else {
            self.sample(now, devices, false);
        }
    }

    fn sample(&mut self, now: Instant, devices: Vec<String>, baseline: bool) {
        let id = self.ids.next_id();
        self.phase = Phase::Sampling { id, baseline };
        self.timers.set(ActiveTimer::Answer, now + ANSWER_GRACE);
        self.actions
            .push_back(Action::SampleCounters { id, devices });
    }

    fn on_counters(&mut self, now: Instant, samples: &[CounterSample], baseline: bool) {
        let mut to_probe = Vec::new();
        for i in 0..self.channels.len() {
            let c = &mut self.channels[i];
            if !c.checkonlyidle {
                to_probe.push(i);
                continue;
            }
            let sample = samples
                .iter()
                .find(|s| s.device == c.device)
                .and_then(|s| s.counters);
            let prev = c.last.replace(sample.unwrap_or(Counters {
                rx_packets: 0,
                tx_packets: 0,
            }));
            if sample.is_none() {
                // Unreadable counters open no interval.
                c.last = None;
            }
            if baseline {
                continue;
            }
            match traffic(prev, sample) {
                Traffic::Positive => {
                    // "If the difference in the number of packets between the beginning and the end of
                    // the interval is positive, then ... the failure counter for this interface is reset."
                    let was = std::mem::take(&mut c.failures);
                    c.last_ok_at = Some(now);
                    if was > 0 {
                        let (ident, limit) = (c.ident.clone(), self.channelretries);
                        self.log(
                            now,
                            Some(&ident),
                            format!("channel {ident}: traffic, counter reset ({was}/{limit} -> 0)"),
                        );
                    }
                }
                Traffic::Idle => to_probe.push(i),
                Traffic::NoBaseline => {}
            }
        }
        if baseline {
            self.phase = Phase::Waiting;
        } else if to_probe.is_empty() {
            // This sample opens the next interval: no baseline sample needed.
            self.phase = Phase::Waiting;
            self.timers.set(ActiveTimer::Tick, now + self.checktime);
        } else {
            self.probe(now, to_probe);
        }
    }

    fn probe(&mut self, now: Instant, channels: Vec<usize>) {
        let targets: Vec<ProbeTarget> = channels
            .iter()
            .flat_map(|&i| {
                let c = &self.channels[i];
                c.testips.iter().map(|&t| ProbeTarget {
                    device: c.device.clone(),
                    source: Some(c.activeip),
                    target: t,
                })
            })
            .collect();
        // One request per round: channels probed together get the most any of them asks for.
        let probes = channels
            .iter()
            .map(|&i| self.channels[i].probes)
            .max()
            .unwrap_or(1);
        let id = self.ids.next_id();
        self.phase = Phase::Probing {
            id,
            channels,
            sent_at: now,
        };
        self.timers
            .set(ActiveTimer::Answer, now + self.timeout + ANSWER_GRACE);
        self.actions.push_back(Action::Probe {
            id,
            targets,
            timeout: self.timeout,
            probes,
        });
    }

    fn on_probe_done(
        &mut self,
        now: Instant,
        sent_at: Instant,
        channels: &[usize],
        results: &[ProbeResult],
    ) {
        let limit = self.channelretries;
        for &i in channels {
            let c = &self.channels[i];
            let answered_by = |ip: &IpAddr| {
                results.iter().any(|r| {
                    r.target.device == c.device && r.target.target == *ip && r.rtt.is_some()
                })
            };
            let silent: Vec<String> = c
                .testips
                .iter()
                .filter(|ip| !answered_by(ip))
                .map(|ip| ip.to_string())
                .collect();
            // "If there is no response from any testip address on any interface, then its failure
            // counter is incremented": `testhosts` says how several hosts of one channel combine.
            let answered = self.testhosts.healthy(c.testips.iter().map(answered_by));
            let ident = c.ident.clone();
            let c = &mut self.channels[i];
            if answered {
                let was = std::mem::take(&mut c.failures);
                c.last_ok_at = Some(now);
                if was > 0 {
                    self.log(
                        now,
                        Some(&ident),
                        format!("channel {ident}: answer, counter reset ({was}/{limit} -> 0)"),
                    );
                }
            } else {
                c.failures += 1;
                let n = c.failures;
                self.log(
                    now,
                    Some(&ident),
                    format!(
                        "channel {ident}: no answer from {} ({n}/{limit})",
                        silent.join(", ")
                    ),
                );
            }
        }
        if let Some(i) = self.channels.iter().position(|c| c.failures >= limit) {
            // "If ... the failure counter of at least one interface reaches the channelretries value,
            // then a complete interface failure is detected."
            let c = &self.channels[i];
            let failure = ChannelFailure {
                channel: c.ident.clone(),
                index: i,
                at: now,
                failures: c.failures,
                from_probes: true,
            };
            let ident = c.ident.clone();
            self.log(
                now,
                Some(&ident),
                format!("channel {ident}: failure detected ({limit}/{limit} probes unanswered)"),
            );
            self.failure = Some(failure);
            self.phase = Phase::Failed;
            self.timers.stop_all();
            return;
        }
        let nonzero: Vec<usize> = (0..self.channels.len())
            .filter(|&i| self.channels[i].failures > 0)
            .collect();
        if !nonzero.is_empty() {
            // "If at least on one interface the failure counter is not zero, then new packets are sent
            // immediately": only those channels' answers can change anything, so only they are probed.
            self.probe(now, nonzero);
            return;
        }
        // "If after any sending the failure counters on all interfaces become equal to zero, then there
        // is a return to the main loop, a new wait during checktime". The wait counts from the sending:
        // a fault just after an answer then shows by checktime + (timeout * channelretries), however
        // long that answer took.
        self.timers.set(ActiveTimer::Tick, sent_at + self.checktime);
        let devices = self.idle_devices();
        if devices.is_empty() {
            self.phase = Phase::Waiting;
        } else {
            // Our own probes are packets too: the next interval starts now.
            self.sample(now, devices, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::core::testkit::{at_ms, channel, config, drive, probe_done, secs, Machine};

    struct Mon {
        m: ActiveMonitor,
        failure: Option<ChannelFailure>,
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
            if let Some(f) = self.m.poll_failure() {
                self.failure = Some(f);
            }
            self.failure.is_some()
        }
    }

    fn mon(config: &Config) -> Mon {
        Mon {
            m: ActiveMonitor::new(config, Instant::ZERO, RequestIds::default()),
            failure: None,
        }
    }

    /// A world where traffic flows (10 packets/s) and test hosts answer until `fault_ms`, then nothing.
    /// Probes that all answer come back at once; otherwise after `timeout`, as a blocking shell does.
    fn world(
        fault_ms: u64,
        dead: &[IpAddr],
    ) -> impl FnMut(Instant, &Action) -> Option<(Duration, Input)> {
        let dead = dead.to_vec();
        move |now, a| {
            let up = now.as_millis() < fault_ms;
            match a {
                Action::SampleCounters { id, devices } => {
                    let n = now.as_millis().min(fault_ms) / 100;
                    let samples = devices
                        .iter()
                        .map(|d| CounterSample {
                            device: d.clone(),
                            counters: Some(Counters {
                                rx_packets: n,
                                tx_packets: n,
                            }),
                        })
                        .collect();
                    Some((Duration::ZERO, Input::Counters { id: *id, samples }))
                }
                Action::Probe {
                    id,
                    targets,
                    timeout,
                    ..
                } => {
                    let results: Vec<ProbeResult> = targets
                        .iter()
                        .map(|t| ProbeResult {
                            target: t.clone(),
                            rtt: (up && !dead.contains(&t.target)).then_some(Duration::ZERO),
                        })
                        .collect();
                    let delay = if results.iter().all(|r| r.rtt.is_some()) {
                        Duration::ZERO
                    } else {
                        *timeout
                    };
                    Some((delay, Input::ProbeDone { id: *id, results }))
                }
                _ => None,
            }
        }
    }

    fn times(seen: &[(Instant, Action)], pick: impl Fn(&Action) -> bool) -> Vec<u64> {
        seen.iter()
            .filter(|(_, a)| pick(a))
            .map(|(t, _)| t.as_millis())
            .collect()
    }

    #[test]
    fn fault_just_after_a_healthy_tick_is_detected_at_checktime_plus_timeout_times_retries() {
        let cfg = config(PolicyMode::Classic);
        let mut m = mon(&cfg);
        // Ticks at 0 (baseline) and 10 s (traffic: healthy); the link dies 1 ms later.
        let seen = drive(&mut m, Instant::ZERO, at_ms(100_000), world(10_001, &[]));
        let f = m.failure.expect("the dead link must be detected");
        assert_eq!(f.channel, "if-1");
        assert_eq!(f.failures, 3);
        // checktime + timeout × channelretries = 10 + 2 × 3 = 16 s after the healthy tick.
        assert_eq!(f.at, at_ms(10_000) + secs(10) + secs(2) * 3);
        assert_eq!(f.at, at_ms(26_000));
        // The idle tick probes; each unanswered probe is re-sent at once, not after checktime.
        assert_eq!(
            times(&seen, |a| matches!(a, Action::Probe { .. })),
            vec![20_000, 22_000, 24_000]
        );
        let logs: Vec<String> = seen
            .iter()
            .filter_map(|(t, a)| match a {
                Action::Log(d) => Some(format!("{} {}", t, d.reason)),
                _ => None,
            })
            .collect();
        assert_eq!(
            logs,
            vec![
                "22.000s channel if-1: no answer from 192.168.1.1 (1/3)",
                "24.000s channel if-1: no answer from 192.168.1.1 (2/3)",
                "26.000s channel if-1: no answer from 192.168.1.1 (3/3)",
                "26.000s channel if-1: failure detected (3/3 probes unanswered)",
            ]
        );
    }

    #[test]
    fn traffic_keeps_the_channel_healthy_without_probes() {
        let cfg = config(PolicyMode::Classic);
        let mut m = mon(&cfg);
        let seen = drive(&mut m, Instant::ZERO, at_ms(100_000), world(u64::MAX, &[]));
        assert!(m.failure.is_none());
        assert_eq!(
            times(&seen, |a| matches!(a, Action::Probe { .. })),
            Vec::<u64>::new()
        );
        // One sample per checktime: 0, 10, ..., 100 s.
        assert_eq!(
            times(&seen, |a| matches!(a, Action::SampleCounters { .. })).len(),
            11
        );
        assert_eq!(m.m.status()[0].last_ok_at, Some(at_ms(100_000)));
    }

    #[test]
    fn an_answer_resets_the_counter_and_returns_to_the_main_loop() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels[0].checkonlyidle = false;
        let mut m = mon(&cfg);
        // The test host is silent from 20 s to 23 s; answers take 5 ms.
        let mut answered_after = |now: Instant, a: &Action| {
            let silent = (20_000..23_000).contains(&now.as_millis());
            match a {
                Action::Probe {
                    id,
                    targets,
                    timeout,
                    ..
                } => {
                    let rtt = (!silent).then_some(Duration::from_millis(5));
                    let delay = if silent {
                        *timeout
                    } else {
                        Duration::from_millis(5)
                    };
                    Some((delay, probe_done(*id, targets, |_| rtt)))
                }
                _ => None,
            }
        };
        let seen = drive(&mut m, Instant::ZERO, at_ms(45_000), &mut answered_after);
        assert!(m.failure.is_none());
        // 20 s: no answer (1/3); 22 s: again (2/3); 24 s: answered at 24.005 -> reset; the next tick
        // is checktime after that probe was sent.
        assert_eq!(
            times(&seen, |a| matches!(a, Action::Probe { .. })),
            vec![0, 10_000, 20_000, 22_000, 24_000, 34_000, 44_000]
        );
        assert!(seen.iter().any(|(t, a)| *t == at_ms(24_005)
            && matches!(a, Action::Log(d) if d.reason == "channel if-1: answer, counter reset (2/3 -> 0)")));
        assert_eq!(m.m.status()[0].failures, 0);
    }

    #[test]
    fn checkonlyidle_no_probes_every_checktime() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels[0].checkonlyidle = false;
        let mut m = mon(&cfg);
        let seen = drive(&mut m, Instant::ZERO, at_ms(50_000), world(u64::MAX, &[]));
        assert_eq!(
            times(&seen, |a| matches!(a, Action::Probe { .. })),
            vec![0, 10_000, 20_000, 30_000, 40_000, 50_000]
        );
        assert!(times(&seen, |a| matches!(a, Action::SampleCounters { .. })).is_empty());
    }

    #[test]
    fn checkonlyidle_no_fault_just_after_a_probe_is_detected_within_the_bound() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels[0].checkonlyidle = false;
        let mut m = mon(&cfg);
        drive(&mut m, Instant::ZERO, at_ms(100_000), world(30_001, &[]));
        let f = m.failure.expect("detected");
        assert_eq!(f.at, at_ms(30_000 + 16_000));
    }

    #[test]
    fn stale_probe_ids_are_ignored() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels[0].checkonlyidle = false;
        let mut m = ActiveMonitor::new(&cfg, Instant::ZERO, RequestIds::starting_at(7));
        m.handle_timeout(Instant::ZERO);
        let (id, targets) = match m.poll_action() {
            Some(Action::Probe { id, targets, .. }) => (id, targets),
            other => panic!("expected a probe, got {other:?}"),
        };
        assert_eq!(id, RequestId(7));
        let silent: Vec<ProbeResult> = targets
            .iter()
            .map(|t| ProbeResult {
                target: t.clone(),
                rtt: None,
            })
            .collect();
        // An answer to some other request changes nothing.
        m.handle(
            at_ms(2_000),
            Input::ProbeDone {
                id: RequestId(6),
                results: silent.clone(),
            },
        );
        assert_eq!(m.poll_action(), None);
        assert_eq!(m.status()[0].failures, 0);
        // The real answer counts; a replay of it afterwards is stale too.
        m.handle(
            at_ms(2_000),
            Input::ProbeDone {
                id,
                results: silent.clone(),
            },
        );
        assert_eq!(m.status()[0].failures, 1);
        m.handle(
            at_ms(2_000),
            Input::ProbeDone {
                id,
                results: silent,
            },
        );
        assert_eq!(m.status()[0].failures, 1);
    }

    #[test]
    fn a_lost_answer_counts_as_unanswered_after_the_grace() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels[0].checkonlyidle = false;
        let mut m = mon(&cfg);
        // The shell never answers.
        drive(&mut m, Instant::ZERO, at_ms(100_000), |_, _| None);
        let f = m.failure.expect("detected");
        assert_eq!(f.at, at_ms(3 * (2_000 + ANSWER_GRACE.as_millis() as u64)));
    }

    #[test]
    fn testhosts_any_tolerates_one_dead_host_and_all_does_not() {
        let hosts = [
            IpAddr::from([192, 168, 1, 1]),
            IpAddr::from([192, 168, 1, 2]),
        ];
        for (mode, fails) in [(PolicyMode::Improved, false), (PolicyMode::Classic, true)] {
            let mut cfg = config(mode);
            cfg.channels = vec![channel("if-1", 1, &hosts, false)];
            let mut m = mon(&cfg);
            drive(
                &mut m,
                Instant::ZERO,
                at_ms(60_000),
                world(u64::MAX, &hosts[1..]),
            );
            assert_eq!(m.failure.is_some(), fails, "{mode:?}");
        }
    }

    #[test]
    fn a_channel_with_traffic_is_not_reprobed_while_another_retries() {
        let mut cfg = config(PolicyMode::Classic);
        cfg.channels = vec![
            channel("if-1", 1, &[IpAddr::from([192, 168, 1, 1])], true),
            channel("if-2", 2, &[IpAddr::from([192, 168, 2, 1])], false),
        ];
        let mut m = mon(&cfg);
        let dead = [IpAddr::from([192, 168, 2, 1])];
        let seen = drive(&mut m, Instant::ZERO, at_ms(60_000), world(u64::MAX, &dead));
        let f = m.failure.expect("if-2 fails");
        assert_eq!((f.channel.as_str(), f.at), ("if-2", at_ms(6_000)));
        for (_, a) in &seen {
            if let Action::Probe { targets, .. } = a {
                assert!(targets.iter().all(|t| t.device == "eth2"), "{targets:?}");
            }
        }
    }
}
