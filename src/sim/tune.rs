//! `simulate-timing --tune`: the `[network]` timing that detects a failure within a bound and fails
//! over falsely at most so often under loss, with the least probing; or why none exists.
//!
//! The search walks a grid of round values (checktime, timeout) and, for each pair, takes the fewest
//! retries of each role that meet the false-failover limit (the rate falls as retries grow), using
//! the closed form of [`super::loss`]. Of the pairs that also meet the detection bound, the one with
//! the fewest checks per second wins (then the longer timeout, which tolerates slower replies).

use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, Network};

use super::loss::{
    channel_check_failure, checks_per_second, rate_per_second, LinkModel, YEAR_SECS,
};

/// Checktimes tried, in milliseconds.
const CHECKTIMES_MS: &[u64] = &[
    50, 100, 150, 200, 250, 300, 400, 500, 750, 1_000, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000,
    7_500, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 120_000, 300_000,
];

/// Timeouts tried, in milliseconds.
const TIMEOUTS_MS: &[u64] = &[
    10, 20, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000,
    10_000, 20_000, 30_000,
];

/// Retries considered per role.
pub const MAX_RETRIES: u32 = 50;

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Goal {
    /// Both roles detect within this (the document's formulas, plus one checktime for the active
    /// when a channel has `checkonlyidle=yes`).
    #[serde(rename = "detect_ms", serialize_with = "as_millis")]
    pub detect: Duration,
    /// False failovers per year allowed for each role.
    pub max_false_per_year: f64,
    /// The shortest timeout considered (a healthy round trip must fit in it).
    #[serde(rename = "min_timeout_ms", serialize_with = "as_millis")]
    pub min_timeout: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A timing and what it gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tuned {
    #[serde(rename = "checktime_ms", serialize_with = "as_millis")]
    pub checktime: Duration,
    #[serde(rename = "timeout_ms", serialize_with = "as_millis")]
    pub timeout: Duration,
    pub activeretries: u32,
    pub channelretries: u32,
    #[serde(rename = "active_detection_ms", serialize_with = "as_millis")]
    pub active_detection: Duration,
    #[serde(rename = "passive_detection_ms", serialize_with = "as_millis")]
    pub passive_detection: Duration,
    pub active_false_per_year: f64,
    pub passive_false_per_year: f64,
    /// Exchanges per second of both roles together (the probing cost).
    pub checks_per_second: f64,
}

impl Tuned {
    /// The `[network]` section to paste, with the figures as comments.
    pub fn section(&self, goal: &Goal, link: &LinkModel) -> String {
        let d = crate::config::value::format_duration;
        format!(
            "; simulate-timing --tune: detection within {}, at most {} false failover(s) per year \
             per role at {}% loss{}\n\
             ; active detects within {}, passive within {}\n\
             ; false failovers per year: active {:.3}, passive {:.3}; {:.2} checks per second\n\
             [network]\n\
             checktime= {}\n\
             timeout= {}\n\
             activeretries= {}\n\
             channelretries= {}\n",
            d(goal.detect),
            goal.max_false_per_year,
            link.loss * 100.0,
            if link.jitter.is_zero() {
                String::new()
            } else {
                format!(", jitter {}", d(link.jitter))
            },
            d(self.active_detection),
            d(self.passive_detection),
            self.active_false_per_year,
            self.passive_false_per_year,
            self.checks_per_second,
            ini_duration(self.checktime),
            ini_duration(self.timeout),
            self.activeretries,
            self.channelretries,
        )
    }

    /// `network` with this timing.
    pub fn apply(&self, network: &Network) -> Network {
        Network {
            checktime: self.checktime,
            timeout: self.timeout,
            activeretries: self.activeretries,
            channelretries: self.channelretries,
            ..network.clone()
        }
    }
}

/// A duration as failover.ini writes it: whole seconds bare (the original's form), else `NNNms`.
pub fn ini_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The per-check failure probabilities of each role for `config` at `timeout`.
fn check_failures(config: &Config, link: &LinkModel, timeout: Duration) -> (Vec<f64>, f64) {
    let q = link.exchange_failure(timeout);
    let rule = config.policy.testhosts;
    let channels = config
        .channels
        .iter()
        .map(|c| channel_check_failure(q, c.testips.len(), rule))
        .collect();
    let k = i32::try_from(config.channels.len()).unwrap_or(i32::MAX);
    (channels, if k == 0 { 0.0 } else { q.powi(k) })
}

/// Everything the search needs about one (checktime, timeout, retries) point.
fn evaluate(
    config: &Config,
    link: &LinkModel,
    checktime: Duration,
    timeout: Duration,
    channelretries: u32,
    activeretries: u32,
) -> Tuned {
    let (channels, fp) = check_failures(config, link, timeout);
    let hosts: Vec<usize> = config.channels.iter().map(|c| c.testips.len()).collect();
    let active_false_per_year = channels
        .iter()
        .map(|&f| rate_per_second(f, channelretries, checktime, timeout) * YEAR_SECS)
        .sum();
    let active_checks: f64 = channels
        .iter()
        .zip(&hosts)
        .map(|(&f, &h)| checks_per_second(f, channelretries, checktime, timeout) * h as f64)
        .sum();
    let passive_checks =
        checks_per_second(fp, activeretries, checktime, timeout) * config.channels.len() as f64;
    let idle = config.channels.iter().any(|c| c.checkonlyidle);
    let n = Network {
        checktime,
        timeout,
        activeretries,
        channelretries,
        ..config.network.clone()
    };
    Tuned {
        checktime,
        timeout,
        activeretries,
        channelretries,
        active_detection: crate::core::timing::active_detection(&n)
            + if idle { checktime } else { Duration::ZERO },
        passive_detection: crate::core::timing::passive_detection(&n),
        active_false_per_year,
        passive_false_per_year: rate_per_second(fp, activeretries, checktime, timeout) * YEAR_SECS,
        checks_per_second: active_checks + passive_checks,
    }
}

/// The fewest retries (up to [`MAX_RETRIES`]) whose rate meets `max`, by `rate(r)`.
fn fewest_retries(max: f64, rate: impl Fn(u32) -> f64) -> Option<u32> {
    (1..=MAX_RETRIES).find(|&r| rate(r) <= max)
}

/// Why no timing meets the goal: the bounds that conflict, each with the best the other allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub reason: String,
    /// The fastest timing that meets the false-failover limit, if any.
    pub fastest_within_limit: Option<Tuned>,
    /// The timing with the fewest false failovers that detects within the bound, if any.
    pub fewest_within_detect: Option<Tuned>,
}

/// Searches the grid; `Err` says which bounds conflict.
pub fn tune(config: &Config, link: &LinkModel, goal: &Goal) -> Result<Tuned, Box<Conflict>> {
    let mut best: Option<Tuned> = None;
    let mut fastest: Option<Tuned> = None;
    let mut fewest: Option<Tuned> = None;
    let detect_of = |t: &Tuned| t.active_detection.max(t.passive_detection);
    let false_of = |t: &Tuned| t.active_false_per_year.max(t.passive_false_per_year);
    // The shortest timeout allowed is always tried, also when it lies between or beyond the grid's
    // (`--min-timeout 1m` left no candidate at all, and "no timing at all" was then claimed).
    let min_ms = u64::try_from(goal.min_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut timeouts: Vec<u64> = TIMEOUTS_MS.to_vec();
    if !timeouts.contains(&min_ms) {
        timeouts.push(min_ms);
        timeouts.sort_unstable();
    }
    for &t_ms in CHECKTIMES_MS {
        let checktime = Duration::from_millis(t_ms);
        for &o_ms in &timeouts {
            let timeout = Duration::from_millis(o_ms);
            if timeout >= checktime || timeout < goal.min_timeout {
                continue;
            }
            let at = |c: u32, a: u32| evaluate(config, link, checktime, timeout, c, a);
            let c = fewest_retries(goal.max_false_per_year, |r| at(r, 1).active_false_per_year);
            let a = fewest_retries(goal.max_false_per_year, |r| at(1, r).passive_false_per_year);
            if let (Some(c), Some(a)) = (c, a) {
                let t = at(c, a);
                if fastest
                    .as_ref()
                    .is_none_or(|f| detect_of(&t) < detect_of(f))
                {
                    fastest = Some(t.clone());
                }
                if detect_of(&t) <= goal.detect {
                    let better = best.as_ref().is_none_or(|b| {
                        (t.checks_per_second, std::cmp::Reverse(t.timeout))
                            < (b.checks_per_second, std::cmp::Reverse(b.timeout))
                    });
                    if better {
                        best = Some(t);
                    }
                    continue;
                }
            }
            // The most retries the detection bound allows: the fewest false failovers there.
            let room = goal.detect.saturating_sub(
                checktime
                    + if config.channels.iter().any(|c| c.checkonlyidle) {
                        checktime
                    } else {
                        Duration::ZERO
                    },
            );
            let rc =
                (room.as_millis() / timeout.as_millis().max(1)).min(MAX_RETRIES as u128) as u32;
            let ra = ((goal.detect.saturating_sub(checktime)).as_millis()
                / timeout.as_millis().max(1))
            .min(MAX_RETRIES as u128) as u32;
            if rc >= 1 && ra >= 1 {
                let t = at(rc, ra);
                if detect_of(&t) <= goal.detect
                    && fewest.as_ref().is_none_or(|f| false_of(&t) < false_of(f))
                {
                    fewest = Some(t);
                }
            }
        }
    }
    if let Some(b) = best {
        return Ok(b);
    }
    let d = crate::config::value::format_duration;
    let loss = format!("{}% loss", link.loss * 100.0);
    let mut reason = format!(
        "no timing detects within {} with at most {} false failovers per year per role at {loss}",
        d(goal.detect),
        goal.max_false_per_year
    );
    match &fastest {
        Some(f) => reason.push_str(&format!(
            "; the false-failover limit needs a detection of at least {} (checktime {}, timeout \
             {}, channelretries {}, activeretries {})",
            d(detect_of(f)),
            d(f.checktime),
            d(f.timeout),
            f.channelretries,
            f.activeretries
        )),
        None => reason.push_str(&format!(
            "; no timing meets the false-failover limit at all (up to {MAX_RETRIES} retries)"
        )),
    }
    match &fewest {
        Some(f) => reason.push_str(&format!(
            "; within {} the fewest false failovers are {:.3} per year (checktime {}, timeout {}, \
             channelretries {}, activeretries {})",
            d(goal.detect),
            false_of(f),
            d(f.checktime),
            d(f.timeout),
            f.channelretries,
            f.activeretries
        )),
        None => reason.push_str(&format!(
            "; no timing tried detects within {} (checktime {} to {}, timeout at least {} and \
             below checktime; detection checktime + timeout × retries, one checktime more with \
             checkonlyidle=yes)",
            d(goal.detect),
            d(Duration::from_millis(CHECKTIMES_MS[0])),
            d(Duration::from_millis(
                CHECKTIMES_MS[CHECKTIMES_MS.len() - 1]
            )),
            d(goal.min_timeout)
        )),
    }
    Err(Box::new(Conflict {
        reason,
        fastest_within_limit: fastest,
        fewest_within_detect: fewest,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::sim::document_config;

    fn one_channel() -> Config {
        let mut c = document_config(PolicyMode::Classic);
        c.channels[0].checkonlyidle = false;
        c
    }

    fn goal(detect_ms: u64, max: f64) -> Goal {
        Goal {
            detect: Duration::from_millis(detect_ms),
            max_false_per_year: max,
            min_timeout: Duration::from_millis(50),
        }
    }

    #[test]
    fn meets_both_bounds_with_the_least_probing() {
        let c = one_channel();
        let link = LinkModel::new(1.0, Duration::ZERO);
        let g = goal(2_000, 1.0);
        let t = tune(&c, &link, &g).expect("feasible");
        assert!(
            t.active_detection <= g.detect && t.passive_detection <= g.detect,
            "{t:?}"
        );
        assert!(
            t.active_false_per_year <= 1.0 && t.passive_false_per_year <= 1.0,
            "{t:?}"
        );
        // No grid point with fewer checks per second meets both.
        for &t_ms in CHECKTIMES_MS {
            for &o_ms in TIMEOUTS_MS {
                let (ct, to) = (Duration::from_millis(t_ms), Duration::from_millis(o_ms));
                if to >= ct || to < g.min_timeout {
                    continue;
                }
                for r in 1..=10 {
                    let e = evaluate(&c, &link, ct, to, r, r);
                    if e.active_detection <= g.detect
                        && e.passive_detection <= g.detect
                        && e.active_false_per_year <= 1.0
                        && e.passive_false_per_year <= 1.0
                    {
                        assert!(
                            e.checks_per_second >= t.checks_per_second - 1e-12,
                            "{e:?} {t:?}"
                        );
                    }
                }
            }
        }
        // A looser goal probes less.
        let loose = tune(&c, &link, &goal(20_000, 1.0)).expect("feasible");
        assert!(
            loose.checks_per_second < t.checks_per_second,
            "{loose:?} {t:?}"
        );
    }

    /// Regression: `--min-timeout 1m` was above every timeout of the grid, so `--tune` said "no
    /// timing meets the false-failover limit at all" and "no timing detects within 1 h at all",
    /// though checktime 2 min, timeout 1 min and a few retries meet both.
    #[test]
    fn a_min_timeout_beyond_the_grid_is_tried_itself() {
        let c = one_channel();
        let link = LinkModel::new(1.0, Duration::ZERO);
        let g = Goal {
            detect: Duration::from_secs(3600),
            max_false_per_year: 1.0,
            min_timeout: Duration::from_secs(60),
        };
        let t = tune(&c, &link, &g).expect("feasible");
        assert_eq!(t.timeout, Duration::from_secs(60), "{t:?}");
        assert!(t.checktime > t.timeout, "{t:?}");
    }

    /// The grid's smallest checktime is 50 ms: a bound below what it can reach says so, instead
    /// of "no timing detects within ... at all".
    #[test]
    fn an_unreachable_detection_bound_names_the_grid() {
        let c = one_channel();
        let link = LinkModel::new(0.0, Duration::ZERO);
        let g = Goal {
            detect: Duration::from_millis(20),
            max_false_per_year: 1.0,
            min_timeout: Duration::from_millis(1),
        };
        let e = tune(&c, &link, &g).expect_err("below the grid");
        assert!(
            e.reason
                .contains("no timing tried detects within 20 ms (checktime 50 ms to 300 s"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn conflicting_bounds_name_both_sides() {
        let c = one_channel();
        let link = LinkModel::new(20.0, Duration::ZERO);
        let e = tune(&c, &link, &goal(200, 0.001)).expect_err("infeasible");
        assert!(
            e.reason.contains("no timing detects within 200 ms"),
            "{}",
            e.reason
        );
        assert!(
            e.reason.contains("needs a detection of at least"),
            "{}",
            e.reason
        );
        assert!(
            e.reason.contains("within 200 ms the fewest"),
            "{}",
            e.reason
        );
        let fastest = e.fastest_within_limit.expect("some timing meets the limit");
        assert!(
            fastest.active_detection.max(fastest.passive_detection) > Duration::from_millis(200)
        );
    }
}
