//! Test helpers for the core's unit tests: a config builder and a scripted driver that jumps a virtual
//! clock from deadline to deadline.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::action::{Action, Input, RequestId};
use super::observe::{ArpResult, ArpTarget, ProbeResult, ProbeTarget};
use super::Instant;
use crate::config::{Channel, Config, FailureAction, Network, Policy, PolicyMode, SendConfig};

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(crate) fn at_ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

pub(crate) fn channel(ident: &str, n: u8, testips: &[IpAddr], checkonlyidle: bool) -> Channel {
    Channel {
        ident: ident.to_owned(),
        device: format!("eth{n}"),
        activeip: Ipv4Addr::new(192, 168, n, 50).into(),
        passiveip: Ipv4Addr::new(192, 168, n, 51).into(),
        prefix: Some(24),
        testips: testips.to_vec(),
        checkonlyidle,
        probes: None,
        check: None,
        line: 1,
        lines: Default::default(),
    }
}

pub(crate) fn policy(mode: PolicyMode) -> Policy {
    // The mode's own defaults, but the source document's failure action in both modes (the stories
    // are told about reboots) and a slower announcement burst that keeps timelines readable.
    Policy {
        onfailure: FailureAction::Reboot,
        garpcount: 3,
        garpinterval: secs(1),
        historyfile: PathBuf::from("/nonexistent/failovers"),
        // The stories of these tests are about the other guards; fitness has its own tests, which
        // switch it on (most worlds here answer no probe, which would make every node unfit).
        requirefit: false,
        ..Policy::defaults(mode)
    }
}

/// The source document's `[network]`: checktime 10, timeout 2, retries 3, fastdown yes; one channel
/// `if-1` on eth1 with test host 192.168.1.1.
pub(crate) fn config(mode: PolicyMode) -> Config {
    Config {
        source: PathBuf::from("test.ini"),
        channels: vec![channel(
            "if-1",
            1,
            &[Ipv4Addr::new(192, 168, 1, 1).into()],
            true,
        )],
        network: Network {
            checktime: secs(10),
            timeout: secs(2),
            activeretries: 3,
            channelretries: 3,
            synctime: secs(5),
            fastdown: true,
            probes: 1,
        },
        sendconfig: Some(SendConfig {
            device: "eth0".to_owned(),
            peerip: Some(Ipv4Addr::new(10, 0, 0, 2).into()),
            peerlink: Default::default(),
        }),
        policy: policy(mode),
        sendconfig_line: 0,
    }
}

/// A state machine the driver can step.
pub(crate) trait Machine {
    fn handle(&mut self, now: Instant, input: Input);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
    fn poll_action(&mut self) -> Option<Action>;
    /// True when the driver should stop (a verdict came out).
    fn done(&mut self) -> bool {
        false
    }
}

/// Steps `m` from `start` to `until` (or until [`Machine::done`]): drains actions, asks `world` for the
/// answer to each (an input and its delay), and jumps time to the earliest answer or deadline.
/// Returns every action with its time.
pub(crate) fn drive<M: Machine>(
    m: &mut M,
    start: Instant,
    until: Instant,
    world: impl FnMut(Instant, &Action) -> Option<(Duration, Input)>,
) -> Vec<(Instant, Action)> {
    drive_late(m, start, until, &[Duration::ZERO], world)
}

/// [`drive`] with the timers served late, by `late` in turn (cycled), as a real event loop does
/// (its wait rounds to whole milliseconds, and it is scheduled when the kernel gets to it); answers
/// still come when the world says.
pub(crate) fn drive_late<M: Machine>(
    m: &mut M,
    start: Instant,
    until: Instant,
    late: &[Duration],
    mut world: impl FnMut(Instant, &Action) -> Option<(Duration, Input)>,
) -> Vec<(Instant, Action)> {
    let mut lateness = late.iter().copied().cycle();
    let mut seen = Vec::new();
    let mut pending: Vec<(Instant, Input)> = Vec::new();
    let mut now = start;
    loop {
        while let Some(a) = m.poll_action() {
            if let Some((delay, input)) = world(now, &a) {
                pending.push((now + delay, input));
            }
            seen.push((now, a));
        }
        if m.done() {
            return seen;
        }
        let next_input = pending.iter().map(|(t, _)| *t).min();
        let late = lateness.next().unwrap_or_default();
        let next = match (next_input, m.poll_timeout().map(|t| t + late)) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return seen,
            },
        };
        if next > until {
            return seen;
        }
        now = next;
        // Answers due now go first: a blocking shell hands them in before it looks at the clock.
        if let Some(i) = pending.iter().position(|(t, _)| *t <= now) {
            let (_, input) = pending.remove(i);
            m.handle(now, input);
        } else {
            m.handle_timeout(now);
        }
    }
}

/// The answer to a probe: each target answered after `rtt(target)`, or not at all (`None`).
pub(crate) fn probe_done(
    id: RequestId,
    targets: &[ProbeTarget],
    rtt: impl Fn(&ProbeTarget) -> Option<Duration>,
) -> Input {
    let results = targets
        .iter()
        .map(|t| ProbeResult {
            target: t.clone(),
            rtt: rtt(t),
        })
        .collect();
    Input::ProbeDone { id, results }
}

/// The answer to an ARP check: each target answered by `mac(target)`, or by nobody (`None`).
pub(crate) fn arp_done(
    id: RequestId,
    targets: &[ArpTarget],
    mac: impl Fn(&ArpTarget) -> Option<[u8; 6]>,
) -> Input {
    let results = targets
        .iter()
        .map(|t| ArpResult {
            target: t.clone(),
            mac: mac(t),
        })
        .collect();
    Input::ArpDone { id, results }
}
