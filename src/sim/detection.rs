//! Detection times under loss: many seeded runs of a scenario on the simulated pair (both nodes'
//! real cores), the fault at a random point of the check cycle, summarised as percentiles.
//!
//! The pair is settled once and cloned for every run, and a run stops as soon as its decision is
//! in, so 10,000 runs take a fraction of a second.

use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::core::Instant;

use super::config::peer_config;
use super::fault::{Fault, Loss, NodeId};
use super::loss::LinkModel;
use super::report::Scenario;
use super::world::{Event, SimError, World};

/// Percentiles of the measured times (nearest rank), in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p99: u64,
    pub worst: u64,
    /// Runs measured.
    pub runs: usize,
    /// Runs where the decision never came within the horizon.
    pub never: usize,
    /// Runs left out because loss had already moved the active before the fault.
    pub disturbed: usize,
    /// Fewer runs than asked: their steps would have exceeded [`STEP_BUDGET`].
    pub cut_short: bool,
}

/// Simulated steps all runs of one role may take together: long runs (tens of thousands of retries,
/// a tiny timeout) cut the number of runs, not the promise to answer quickly.
pub const STEP_BUDGET: u64 = 3_000_000;

impl Percentiles {
    fn of(mut ms: Vec<u64>, never: usize, disturbed: usize, cut_short: bool) -> Self {
        ms.sort_unstable();
        let rank = |p: f64| {
            if ms.is_empty() {
                0
            } else {
                let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
                ms[i]
            }
        };
        Self {
            p50: rank(0.50),
            p99: rank(0.99),
            worst: ms.last().copied().unwrap_or(0),
            runs: ms.len(),
            never,
            disturbed,
            cut_short,
        }
    }
}

/// Detection times of both roles: the active's own decision when its link dies, the passive's
/// takeover when the active loses power.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectionTimes {
    pub active: Percentiles,
    pub passive: Percentiles,
}

/// A settled pair to clone for each run.
struct Base {
    world: World,
    settled: Instant,
    active: NodeId,
}

fn settle(config: &Config) -> Result<Base, SimError> {
    let mut world = World::new(config.clone(), peer_config(config));
    world.keep_log = false;
    let n = &config.network;
    let settled = world.settle(n.checktime * 2, Instant::ZERO + Duration::from_secs(600))?;
    let active = world.actives()[0];
    Ok(Base {
        world,
        settled,
        active,
    })
}

/// Runs `scenario` `runs` times with seeded loss and a random fault offset in one check cycle;
/// returns the times from the fault to the measured decision.
pub fn detection_times(
    config: &Config,
    link: &LinkModel,
    scenario: Scenario,
    runs: usize,
    seed: u64,
) -> Result<Percentiles, SimError> {
    let base = settle(config)?;
    let n = &config.network;
    let q = link.exchange_failure(n.timeout);
    let cycle = (n.checktime + n.timeout).as_millis() as u64;
    let horizon = n.checktime * 3
        + n.timeout.saturating_mul(
            n.channelretries
                .saturating_add(n.activeretries)
                .saturating_add(2),
        )
        + config.policy.shutdowndelay;
    let mut offsets = Loss::with_probability(seed ^ 0x5DEE_CE66_D1CE_4E5B, 0.0);
    let (mut times, mut never, mut disturbed) = (Vec::with_capacity(runs), 0, 0);
    let mut budget = STEP_BUDGET;
    let mut cut_short = false;
    for run in 0..runs {
        if budget == 0 {
            cut_short = true;
            break;
        }
        let offset = (offsets.uniform() * cycle as f64) as u64;
        let loss = Loss::with_probability(seed.wrapping_add(run as u64).wrapping_mul(0x9E37), q);
        let mut w = base.world.clone().with_loss_model(loss);
        // One full lossy cycle before the fault, so counters may already be counting.
        let fault_at = base.world.now() + Duration::from_millis(cycle + offset);
        for f in faults(config, scenario, base.active) {
            w.at(fault_at, f);
        }
        let before = Instant::from_millis(fault_at.as_millis().saturating_sub(1));
        while budget > 0 && w.next_at().is_some_and(|t| t <= before) {
            budget -= 1;
            w.step()?;
        }
        if budget == 0 {
            cut_short = true;
            break;
        }
        w.run_until(before)?;
        let moved = w.actives() != [base.active]
            || w.events().iter().any(|(t, _, e)| {
                *t > base.settled && matches!(e, Event::Claimed | Event::FailureAction(_))
            });
        w.run_until(fault_at)?;
        if moved {
            disturbed += 1;
            continue;
        }
        let seen = w.events().len();
        let limit = fault_at + horizon;
        let wanted = |node: NodeId, e: &Event| match scenario {
            Scenario::ActiveLinkDown | Scenario::TestHostDead => {
                node == base.active && matches!(e, Event::RecordedFailover | Event::Alert(_))
            }
            Scenario::ActivePowerOff | Scenario::ActiveSilent => {
                node != base.active && matches!(e, Event::Claimed)
            }
        };
        let mut found = None;
        while found.is_none() && budget > 0 && w.now() <= limit && w.step()? {
            budget -= 1;
            found = w.events()[seen..]
                .iter()
                .find(|(t, node, e)| *t <= limit && wanted(*node, e))
                .map(|(t, _, _)| *t);
        }
        match found {
            Some(t) => times.push((t - fault_at).as_millis() as u64),
            None if budget == 0 => cut_short = true,
            None => never += 1,
        }
    }
    Ok(Percentiles::of(times, never, disturbed, cut_short))
}

/// The faults of a scenario on `active` (as `report::run_scenario` scripts them).
pub(crate) fn faults(config: &Config, scenario: Scenario, active: NodeId) -> Vec<Fault> {
    match scenario {
        Scenario::ActiveLinkDown => vec![Fault::Link {
            node: active,
            channel: 0,
            up: false,
        }],
        Scenario::ActivePowerOff => vec![Fault::Power {
            node: active,
            on: false,
        }],
        Scenario::ActiveSilent => vec![Fault::Silent {
            node: active,
            silent: true,
        }],
        Scenario::TestHostDead => config.channels[0]
            .testips
            .iter()
            .map(|&address| Fault::TestHost {
                address,
                alive: false,
            })
            .collect(),
    }
}

/// Both roles' detection times.
pub fn both(
    config: &Config,
    link: &LinkModel,
    runs: usize,
    seed: u64,
) -> Result<DetectionTimes, SimError> {
    Ok(DetectionTimes {
        active: detection_times(config, link, Scenario::ActiveLinkDown, runs, seed)?,
        passive: detection_times(config, link, Scenario::ActivePowerOff, runs, seed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;
    use crate::core::timing;
    use crate::sim::document_config;

    #[test]
    fn without_loss_the_times_stay_within_the_document_bounds() {
        let mut c = document_config(PolicyMode::Classic);
        c.channels[0].checkonlyidle = false;
        let link = LinkModel::new(0.0, Duration::ZERO);
        let t = both(&c, &link, 200, 1).expect("runs");
        assert_eq!(
            (t.active.runs, t.active.never, t.active.disturbed),
            (200, 0, 0)
        );
        let bound = timing::active_detection(&c.network).as_millis() as u64;
        assert!(t.active.worst <= bound, "{t:?}");
        // A fault anywhere in the cycle: at least the retries, at most the bound.
        assert!(t.active.p50 >= 6_000 && t.active.p50 < bound, "{t:?}");
        let bound = timing::passive_detection(&c.network).as_millis() as u64;
        assert!(t.passive.worst <= bound, "{t:?}");
    }

    #[test]
    fn loss_before_the_fault_can_only_hasten_detection() {
        let mut c = document_config(PolicyMode::Classic);
        c.channels[0].checkonlyidle = false;
        let clean = detection_times(
            &c,
            &LinkModel::new(0.0, Duration::ZERO),
            Scenario::ActiveLinkDown,
            300,
            9,
        )
        .expect("runs");
        let lossy = detection_times(
            &c,
            &LinkModel::new(20.0, Duration::ZERO),
            Scenario::ActiveLinkDown,
            300,
            9,
        )
        .expect("runs");
        let bound = timing::active_detection(&c.network).as_millis() as u64;
        assert!(lossy.worst <= bound, "{lossy:?}");
        assert!(lossy.p50 <= clean.p50 + 1_000, "{clean:?} {lossy:?}");
        // Some runs found the counter already counting when the link died.
        assert!(
            lossy.runs > 200 && lossy.p50 < clean.p50 + 1_000,
            "{lossy:?}"
        );
    }
}
