//! False failovers under packet loss: the closed form for independent loss, and a seeded simulation
//! of the core's own monitors that checks it (`simulate-timing --loss`).
//!
//! The closed form follows the core exactly (`core::active`, `core::passive`). One check is one
//! exchange per test host (active) or per activeip (passive): a request and its reply, so it fails
//! with `q = 1 - (1-p)² · P(round trip ≤ timeout)`. Both monitors re-check at once while their counter
//! is non-zero and, after an answer, wait checktime from the sending of the check that was answered.
//! So each check cycle starts a run of up to `r` (retries) checks that stops at the first answer:
//!
//! - a cycle fails (a false failover) with probability `f^r`, `f` the failure probability of one
//!   check of the role;
//! - it lasts checktime `T` plus `timeout τ` per failed check, whose expected number is
//!   `f + f² + … + f^r = f (1 - f^r) / (1 - f)`; after a false detection checking resumes one
//!   checktime later (as after a held failure), so a failing cycle also counts `T`;
//! - by renewal, false failovers per second `= f^r / (T + τ · f (1 - f^r) / (1 - f))`.
//!
//! Small `f`: `≈ f^r / T`, the issue's "(1-(1-p)²)³ at ten checks a second".

use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, TestHosts};
use crate::core::action::{Action, CounterSample, Input, RequestIds};
use crate::core::{ActiveMonitor, Instant, PassiveMonitor};
use crate::net::{ArpResult, Counters, ProbeResult};

use super::fault::Loss;

/// Seconds in a (Julian) year: what "per year" means here.
pub const YEAR_SECS: f64 = 365.25 * 24.0 * 3600.0;

/// The network between a node and what it checks: independent loss per packet, and a jitter added
/// to each packet's delay (uniform in `[0, jitter]`, so a round trip adds two).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkModel {
    /// Probability that one packet is lost, in [0, 1].
    pub loss: f64,
    #[serde(rename = "jitter_ms", serialize_with = "as_millis")]
    pub jitter: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl LinkModel {
    pub fn new(loss_percent: f64, jitter: Duration) -> Self {
        Self {
            loss: (loss_percent / 100.0).clamp(0.0, 1.0),
            jitter,
        }
    }

    /// Probability that a round trip with jitter takes longer than `timeout`: the sum of two
    /// uniform delays in `[0, J]` exceeds `τ`.
    pub fn late(&self, timeout: Duration) -> f64 {
        let j = self.jitter.as_secs_f64();
        let t = timeout.as_secs_f64();
        if j <= 0.0 || t >= 2.0 * j {
            0.0
        } else if t <= j {
            1.0 - t * t / (2.0 * j * j)
        } else {
            (2.0 * j - t).powi(2) / (2.0 * j * j)
        }
    }

    /// Probability that one exchange (request and reply) fails: either packet lost, or the reply
    /// later than `timeout`.
    pub fn exchange_failure(&self, timeout: Duration) -> f64 {
        1.0 - (1.0 - self.loss).powi(2) * (1.0 - self.late(timeout))
    }

    /// Probability that all `probes` exchanges of one check fail: the k-th (k = 0..N-1) is sent at
    /// k × timeout / N and must be back by `timeout`, so it has (N - k) / N of the timeout. Without
    /// jitter this is `q^N`.
    pub fn check_exchange_failure(&self, timeout: Duration, probes: u32) -> f64 {
        let n = probes.max(1);
        (0..n)
            .map(|k| self.exchange_failure(timeout * (n - k) / n))
            .product()
    }

    /// One packet's delay, drawn from `rng`.
    fn delay(&self, rng: &mut Loss) -> Duration {
        self.jitter.mul_f64(rng.uniform())
    }
}

/// `f^r`, robust for huge `r` (it underflows to 0 instead of looping).
fn pow(f: f64, r: u32) -> f64 {
    if f <= 0.0 {
        0.0
    } else {
        f.powf(f64::from(r))
    }
}

/// Expected failed checks in one cycle: `f + f² + … + f^r`.
fn expected_failures(f: f64, r: u32) -> f64 {
    if f >= 1.0 {
        f64::from(r)
    } else {
        f * (1.0 - pow(f, r)) / (1.0 - f)
    }
}

/// False failovers per second of one role: `f^r / (T + τ · (f + … + f^r))`.
pub fn rate_per_second(f: f64, retries: u32, checktime: Duration, timeout: Duration) -> f64 {
    let cycle =
        checktime.as_secs_f64() + timeout.as_secs_f64() * expected_failures(f, retries.max(1));
    if cycle <= 0.0 {
        return 0.0;
    }
    pow(f, retries.max(1)) / cycle
}

/// Checks per second of one role (first checks and re-checks): `(1 + f + … + f^(r-1)) / cycle`.
pub fn checks_per_second(f: f64, retries: u32, checktime: Duration, timeout: Duration) -> f64 {
    let r = retries.max(1);
    let cycle = checktime.as_secs_f64() + timeout.as_secs_f64() * expected_failures(f, r);
    if cycle <= 0.0 {
        return 0.0;
    }
    (1.0 + expected_failures(f, r) - pow(f, r)) / cycle
}

/// The failure probability of one active check of a channel with `hosts` test hosts, each exchange
/// failing with `q`, combined by the `testhosts` rule.
pub fn channel_check_failure(q: f64, hosts: usize, rule: TestHosts) -> f64 {
    if hosts == 0 {
        // A channel without test hosts has nothing to fail.
        return 0.0;
    }
    let n = i32::try_from(hosts).unwrap_or(i32::MAX);
    match rule {
        TestHosts::Any => q.powi(n),
        TestHosts::All => 1.0 - (1.0 - q).powi(n),
    }
}

/// The closed form for one role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleRate {
    /// Probability that one check of the role fails (for the active: its worst channel).
    pub check_failure: f64,
    /// The retries in a row that make a detection.
    pub retries: u32,
    /// Expected false failovers per year.
    pub per_year: f64,
    /// Expected checks (exchanges of the role's kind) per second.
    pub checks_per_second: f64,
}

/// The closed form for a config: the active summed over its channels (each channel has its own
/// counter), the passive's one counter over all activeips.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedForm {
    /// Probability that one exchange fails.
    pub exchange_failure: f64,
    pub active: RoleRate,
    pub passive: RoleRate,
}

pub fn closed_form(config: &Config, link: &LinkModel) -> ClosedForm {
    let n = &config.network;
    let q = link.exchange_failure(n.timeout);
    // The passive asks as often as the most demanding channel (one check covers every activeip).
    let passive_probes = crate::core::passive::passive_probes(config);
    let rule = config.policy.testhosts;
    let mut active = RoleRate {
        check_failure: 0.0,
        retries: n.channelretries,
        per_year: 0.0,
        checks_per_second: 0.0,
    };
    for c in &config.channels {
        // Each channel counts on its own; while one retries the others wait, so the sum slightly
        // overstates a multi-channel rate (exact for one channel).
        let qc = link.check_exchange_failure(n.timeout, c.probes(n));
        let f = channel_check_failure(qc, c.testips.len(), rule);
        active.check_failure = active.check_failure.max(f);
        active.per_year += rate_per_second(f, n.channelretries, n.checktime, n.timeout) * YEAR_SECS;
        active.checks_per_second +=
            checks_per_second(f, n.channelretries, n.checktime, n.timeout) * c.testips.len() as f64;
    }
    // "If a response has been received from at least one interface, the failure counter is reset":
    // the passive's check fails only when every activeip's exchange fails.
    let k = i32::try_from(config.channels.len()).unwrap_or(i32::MAX);
    let qp = link.check_exchange_failure(n.timeout, passive_probes);
    let fp = if k == 0 { 0.0 } else { qp.powi(k) };
    let passive = RoleRate {
        check_failure: fp,
        retries: n.activeretries,
        per_year: rate_per_second(fp, n.activeretries, n.checktime, n.timeout) * YEAR_SECS,
        checks_per_second: checks_per_second(fp, n.activeretries, n.checktime, n.timeout)
            * config.channels.len() as f64,
    };
    ClosedForm {
        exchange_failure: q,
        active,
        passive,
    }
}

/// How the default `probes=` is chosen: the fewest requests per check (up to `max`) with which
/// `config` stays below `per_year` false failovers a year in both roles at `loss_percent` loss per
/// packet; `None` when even `max` does not.
pub fn fewest_probes(config: &Config, loss_percent: f64, per_year: f64, max: u32) -> Option<u32> {
    let mut c = config.clone();
    (1..=max).find(|&n| {
        c.network.probes = n;
        for ch in &mut c.channels {
            ch.probes = None;
        }
        let f = closed_form(&c, &LinkModel::new(loss_percent, Duration::ZERO));
        f.active.per_year < per_year && f.passive.per_year < per_year
    })
}

/// What a seeded simulation of one role's monitor saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// False detections seen.
    pub events: u64,
    /// Checks simulated (first checks and re-checks).
    pub checks: u64,
    /// Virtual time simulated, in seconds.
    pub simulated_secs: f64,
    pub per_year: f64,
    /// The 95% confidence interval of the rate (Poisson, Wilson–Hilferty).
    pub ci95_per_year: (f64, f64),
}

impl Estimate {
    fn new(events: u64, checks: u64, secs: f64) -> Self {
        let (lo, hi) = poisson_ci95(events);
        let per_year = |x: f64| {
            if secs > 0.0 {
                x / secs * YEAR_SECS
            } else {
                0.0
            }
        };
        Self {
            events,
            checks,
            simulated_secs: secs,
            per_year: per_year(events as f64),
            ci95_per_year: (per_year(lo), per_year(hi)),
        }
    }

    /// Whether `rate` (per year) lies within the confidence interval.
    pub fn agrees_with(&self, rate: f64) -> bool {
        rate >= self.ci95_per_year.0 && rate <= self.ci95_per_year.1
    }
}

/// A 95% interval for the mean of a Poisson count `k` (Wilson–Hilferty; for k = 0 the upper end is
/// about 3.7, the exact 3.69).
pub fn poisson_ci95(k: u64) -> (f64, f64) {
    let z = 1.959_964;
    let k = k as f64;
    let lo = if k == 0.0 {
        0.0
    } else {
        k * (1.0 - 1.0 / (9.0 * k) - z / (3.0 * k.sqrt())).powi(3)
    };
    let k1 = k + 1.0;
    let hi = k1 * (1.0 - 1.0 / (9.0 * k1) + z / (3.0 * k1.sqrt())).powi(3);
    (lo.max(0.0), hi)
}

/// Drives the core's [`ActiveMonitor`] for `checks` checks over a lossy network with idle counters
/// (the worst case: a `checkonlyidle=yes` channel with traffic is never probed). After each false
/// detection the monitor resumes, as after a held failure.
pub fn simulate_active(config: &Config, link: &LinkModel, seed: u64, checks: u64) -> Estimate {
    let mut rng = Loss::with_probability(seed, 0.0);
    let mut m = ActiveMonitor::new(config, Instant::ZERO, RequestIds::default());
    let mut pending: Option<(Instant, Input)> = None;
    let mut now = Instant::ZERO;
    let (mut sent, mut events) = (0u64, 0u64);
    let idle = Some(Counters {
        rx_packets: 0,
        tx_packets: 0,
    });
    loop {
        while let Some(a) = m.poll_action() {
            match a {
                Action::SampleCounters { id, devices } => {
                    let samples = devices
                        .into_iter()
                        .map(|device| CounterSample {
                            device,
                            counters: idle,
                        })
                        .collect();
                    pending = Some((now, Input::Counters { id, samples }));
                }
                Action::Probe {
                    id,
                    targets,
                    timeout,
                    probes,
                } => {
                    sent += targets.len() as u64;
                    let mut slowest = Duration::ZERO;
                    let mut all = true;
                    let results = targets
                        .into_iter()
                        .map(|target| {
                            let rtt = spread_exchange(link, &mut rng, timeout, probes);
                            match rtt {
                                Some(r) => slowest = slowest.max(r),
                                None => all = false,
                            }
                            ProbeResult { target, rtt }
                        })
                        .collect();
                    // As the shell: done when all answered, else at the timeout.
                    let at = now + if all { slowest } else { timeout };
                    pending = Some((at, Input::ProbeDone { id, results }));
                }
                _ => {}
            }
        }
        if m.poll_failure().is_some() {
            events += 1;
            m.resume(now);
        }
        if sent >= checks {
            break;
        }
        let due = pending.as_ref().map(|(t, _)| *t);
        match (due, m.poll_timeout()) {
            (Some(d), t) if t.is_none_or(|t| d <= t) => {
                now = d;
                let (_, input) = pending.take().expect("due just above");
                m.handle(now, input);
            }
            (_, Some(t)) => {
                now = t;
                m.handle_timeout(now);
            }
            (_, None) => break,
        }
    }
    Estimate::new(events, sent, now.as_millis() as f64 / 1000.0)
}

/// One exchange: its round trip, or `None` when a packet was lost or the reply came too late.
fn exchange(link: &LinkModel, rng: &mut Loss, timeout: Duration) -> Option<Duration> {
    let request_lost = rng.uniform() < link.loss;
    let reply_lost = rng.uniform() < link.loss;
    if request_lost || reply_lost {
        return None;
    }
    let rtt = link.delay(rng) + link.delay(rng);
    (rtt <= timeout).then_some(rtt)
}

/// One check's `probes` exchanges, the k-th sent at k × timeout / probes: the time of the first
/// reply from the check's start, or `None` when none came back by `timeout`.
fn spread_exchange(
    link: &LinkModel,
    rng: &mut Loss,
    timeout: Duration,
    probes: u32,
) -> Option<Duration> {
    let n = probes.max(1);
    (0..n)
        .filter_map(|k| {
            let sent = timeout * k / n;
            exchange(link, rng, timeout - sent).map(|rtt| sent + rtt)
        })
        .min()
}

/// Drives the core's [`PassiveMonitor`] for `checks` checks (ARP exchanges) against a live active
/// over a lossy network. After each false takeover a new monitor starts one checktime later.
pub fn simulate_passive(config: &Config, link: &LinkModel, seed: u64, checks: u64) -> Estimate {
    let mut rng = Loss::with_probability(seed, 0.0);
    let checktime = config.network.checktime;
    let mut m = PassiveMonitor::new(config, Instant::ZERO, None, RequestIds::default());
    let mut pending: Option<(Instant, Input)> = None;
    let mut now = Instant::ZERO;
    let (mut sent, mut events) = (0u64, 0u64);
    loop {
        while let Some(a) = m.poll_action() {
            if let Action::ArpCheck {
                id,
                targets,
                timeout,
                probes,
            } = a
            {
                sent += targets.len() as u64;
                let results = targets
                    .into_iter()
                    .map(|target| ArpResult {
                        target,
                        mac: spread_exchange(link, &mut rng, timeout, probes)
                            .map(|_| [2, 0, 0, 0, 0, 1]),
                    })
                    .collect();
                // The source document's method reads the ARP table after the whole timeout.
                pending = Some((now + timeout, Input::ArpDone { id, results }));
            }
        }
        if m.poll_takeover().is_some() {
            events += 1;
            pending = None;
            m = PassiveMonitor::new(config, now + checktime, None, m.ids());
        }
        if sent >= checks {
            break;
        }
        let due = pending.as_ref().map(|(t, _)| *t);
        match (due, m.poll_timeout()) {
            (Some(d), t) if t.is_none_or(|t| d <= t) => {
                now = d;
                let (_, input) = pending.take().expect("due just above");
                m.handle(now, input);
            }
            (_, Some(t)) => {
                now = t;
                m.handle_timeout(now);
            }
            (_, None) => break,
        }
    }
    Estimate::new(events, sent, now.as_millis() as f64 / 1000.0)
}

/// A rate per year in words: "2.5 per year", "6.8 per day", "31 per hour", "1 every 2 min".
pub fn words(per_year: f64) -> String {
    let sig = |x: f64| {
        if x >= 10.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    let per_day = per_year / 365.25;
    let per_hour = per_day / 24.0;
    if per_year <= 0.0 {
        "never".to_string()
    } else if per_year < 0.01 {
        format!("1 in {} years", sig_years(1.0 / per_year))
    } else if per_year < 1.0 {
        format!("1 in {} years", sig(1.0 / per_year))
    } else if per_day < 1.0 {
        format!("{} per year", sig(per_year))
    } else if per_hour < 1.0 {
        format!("{} per day", sig(per_day))
    } else if per_hour < 60.0 {
        format!("{} per hour", sig(per_hour))
    } else {
        let secs = 3600.0 / per_hour;
        if secs >= 1.0 {
            format!("1 every {} s", sig(secs))
        } else {
            format!("{} per second", sig(1.0 / secs))
        }
    }
}

fn sig_years(y: f64) -> String {
    if y >= 1e4 {
        format!("{y:.0e}")
    } else {
        format!("{y:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PolicyMode, TestHosts};
    use crate::sim::document_config;

    fn anchor() -> Config {
        let mut c = document_config(PolicyMode::Classic);
        c.network.checktime = Duration::from_millis(100);
        c.network.timeout = Duration::from_millis(50);
        c.network.activeretries = 3;
        c.network.channelretries = 3;
        c.channels[0].checkonlyidle = false;
        c
    }

    #[test]
    fn the_issues_orders_of_magnitude() {
        let c = anchor();
        let at = |pct: f64| {
            closed_form(&c, &LinkModel::new(pct, Duration::ZERO))
                .active
                .per_year
        };
        // About twice a year at 0.1%, seven times a day at 1%, once every two minutes at 5%.
        let y = at(0.1);
        assert!((2.0..3.0).contains(&y), "{y}");
        let d = at(1.0) / 365.25;
        assert!((6.0..7.5).contains(&d), "{d}");
        let every = YEAR_SECS / at(5.0);
        assert!((100.0..130.0).contains(&every), "{every}");
        // One host and one activeip: both roles see the same check.
        let f = closed_form(&c, &LinkModel::new(1.0, Duration::ZERO));
        assert!((f.active.per_year - f.passive.per_year).abs() < 1e-9);
    }

    #[test]
    fn the_cycle_limits() {
        // Total loss: one detection per T + rτ.
        let r = rate_per_second(
            1.0,
            3,
            Duration::from_millis(100),
            Duration::from_millis(50),
        );
        assert!((r - 1.0 / 0.25).abs() < 1e-9, "{r}");
        assert_eq!(
            rate_per_second(0.0, 3, Duration::from_secs(1), Duration::from_secs(1)),
            0.0
        );
        // A huge retry count underflows to zero rather than looping.
        assert_eq!(
            rate_per_second(0.5, 65_535, Duration::from_secs(1), Duration::from_secs(1)),
            0.0
        );
    }

    /// The seeded simulation on the core's own monitors agrees with the closed form within its 95%
    /// interval, for both roles, with and without jitter, with several hosts and channels.
    #[test]
    fn simulation_on_the_core_agrees_with_the_closed_form() {
        let mut c = anchor();
        c.network.channelretries = 2;
        c.network.activeretries = 2;
        let cases = [
            (c.clone(), LinkModel::new(10.0, Duration::ZERO), 2),
            (c.clone(), LinkModel::new(5.0, Duration::from_millis(40)), 3),
            (anchor(), LinkModel::new(15.0, Duration::ZERO), 4),
        ];
        for (config, link, seed) in cases {
            let f = closed_form(&config, &link);
            let a = simulate_active(&config, &link, seed, 200_000);
            let p = simulate_passive(&config, &link, seed, 200_000);
            assert!(a.events > 100 && p.events > 100, "{a:?} {p:?}");
            assert!(a.agrees_with(f.active.per_year), "{:?} vs {a:?}", f.active);
            assert!(
                p.agrees_with(f.passive.per_year),
                "{:?} vs {p:?}",
                f.passive
            );
        }
        // Two test hosts with `testhosts=any` and two activeips: both roles need two losses a check.
        let mut two = anchor();
        two.network.channelretries = 2;
        two.network.activeretries = 2;
        two.policy.testhosts = TestHosts::Any;
        two.channels[0]
            .testips
            .push(std::net::Ipv4Addr::new(192, 168, 10, 2).into());
        let mut second = two.channels[0].clone();
        second.device = "eth2".into();
        second.activeip = std::net::Ipv4Addr::new(192, 168, 20, 50).into();
        second.testips = vec![];
        two.channels.push(second);
        let link = LinkModel::new(30.0, Duration::ZERO);
        let f = closed_form(&two, &link);
        let a = simulate_active(&two, &link, 5, 200_000);
        let p = simulate_passive(&two, &link, 6, 200_000);
        assert!(a.agrees_with(f.active.per_year), "{:?} vs {a:?}", f.active);
        assert!(
            p.agrees_with(f.passive.per_year),
            "{:?} vs {p:?}",
            f.passive
        );
    }

    /// `probes= N`: the closed form (a check fails only when all N exchanges fail, each with its
    /// share of the timeout) agrees with the seeded simulation on the core's own monitors, which
    /// send N requests spread within the timeout, with and without jitter.
    #[test]
    fn several_probes_per_check_agree_with_the_simulation() {
        let mut c = anchor();
        c.network.channelretries = 2;
        c.network.activeretries = 2;
        c.network.probes = 2;
        let cases = [
            (LinkModel::new(25.0, Duration::ZERO), 11),
            (LinkModel::new(15.0, Duration::from_millis(30)), 12),
        ];
        for (link, seed) in cases {
            let f = closed_form(&c, &link);
            let a = simulate_active(&c, &link, seed, 400_000);
            let p = simulate_passive(&c, &link, seed, 400_000);
            assert!(a.events > 100 && p.events > 100, "{a:?} {p:?}");
            assert!(a.agrees_with(f.active.per_year), "{:?} vs {a:?}", f.active);
            assert!(
                p.agrees_with(f.passive.per_year),
                "{:?} vs {p:?}",
                f.passive
            );
            // And it is not the one-probe rate.
            let mut one = c.clone();
            one.network.probes = 1;
            assert!(!a.agrees_with(closed_form(&one, &link).active.per_year));
        }
        // Without jitter N probes fail as q^N; the later ones get less of the timeout.
        let l = LinkModel::new(5.0, Duration::ZERO);
        let q = l.exchange_failure(Duration::from_millis(50));
        assert!((l.check_exchange_failure(Duration::from_millis(50), 3) - q.powi(3)).abs() < 1e-15);
        let j = LinkModel::new(0.0, Duration::from_millis(40));
        assert!(j.check_exchange_failure(Duration::from_millis(50), 2) > 0.0);
    }

    /// The default `probes=` is what this rule picks: the fewest with which the README table's
    /// fastest setting (checktime 100ms, timeout 50ms, 3 retries) stays below one false failover a
    /// year at 5% loss, where one probe per check gives 32 an hour.
    #[test]
    fn the_default_probes_is_the_measured_one() {
        let chosen = fewest_probes(&anchor(), 5.0, 1.0, 16);
        assert_eq!(chosen, Some(crate::config::validate::DEFAULT_PROBES));
        let mut c = anchor();
        c.network.probes = 2;
        let two = closed_form(&c, &LinkModel::new(5.0, Duration::ZERO))
            .active
            .per_year;
        assert!((100.0..1000.0).contains(&two), "{two}");
    }

    #[test]
    fn a_wrong_closed_form_would_be_caught() {
        // The same simulation is sharp enough to reject a rate off by a quarter: the naive
        // per-probe loss p instead of 1-(1-p)².
        let mut c = anchor();
        c.network.channelretries = 2;
        let link = LinkModel::new(10.0, Duration::ZERO);
        let a = simulate_active(&c, &link, 1, 200_000);
        let naive = rate_per_second(0.1, 2, c.network.checktime, c.network.timeout) * YEAR_SECS;
        assert!(!a.agrees_with(naive), "{a:?} {naive}");
    }

    #[test]
    fn jitter_makes_late_replies() {
        let l = LinkModel::new(0.0, Duration::from_millis(100));
        assert_eq!(l.late(Duration::from_millis(200)), 0.0);
        assert!((l.late(Duration::from_millis(100)) - 0.5).abs() < 1e-12);
        assert!((l.late(Duration::from_millis(50)) - 0.875).abs() < 1e-12);
        assert!((l.late(Duration::from_millis(150)) - 0.125).abs() < 1e-12);
    }

    #[test]
    fn testhosts_rule_combines_hosts() {
        assert!((channel_check_failure(0.1, 2, TestHosts::Any) - 0.01).abs() < 1e-12);
        assert!((channel_check_failure(0.1, 2, TestHosts::All) - 0.19).abs() < 1e-12);
        assert_eq!(channel_check_failure(0.5, 0, TestHosts::All), 0.0);
    }

    #[test]
    fn poisson_interval() {
        let (lo, hi) = poisson_ci95(0);
        assert_eq!(lo, 0.0);
        assert!((3.6..3.8).contains(&hi), "{hi}");
        let (lo, hi) = poisson_ci95(100);
        assert!(
            (79.0..82.0).contains(&lo) && (119.0..123.0).contains(&hi),
            "{lo} {hi}"
        );
    }

    #[test]
    fn words_pick_a_readable_unit() {
        assert_eq!(words(2.5), "2.5 per year");
        assert_eq!(words(6.8 * 365.25), "6.8 per day");
        assert_eq!(words(YEAR_SECS / 113.0), "32 per hour");
        assert_eq!(words(YEAR_SECS / 30.0), "1 every 30 s");
        assert_eq!(words(0.0), "never");
        assert_eq!(words(0.5), "1 in 2.0 years");
    }
}
