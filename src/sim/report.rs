//! Scenarios and their measured timing: what `simulate-timing` prints beside the formula bounds.

use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::core::Instant;

use super::config::peer_config;
use super::fault::NodeId;
use super::world::{Event, SimError, World};

/// A fault hitting the active node (or its network) once the pair has settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The active's link on the first channel goes down.
    ActiveLinkDown,
    /// The active loses power.
    ActivePowerOff,
    /// The active drops every packet on its channels, carrier up.
    ActiveSilent,
    /// The first channel's test hosts stop answering (both nodes share them).
    TestHostDead,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::ActiveLinkDown,
        Scenario::ActivePowerOff,
        Scenario::ActiveSilent,
        Scenario::TestHostDead,
    ];
}

/// Measured times of one scenario, from the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimReport {
    pub scenario: Scenario,
    /// Where in the check cycle the fault fell (the worst one for [`worst_case`]).
    pub fault_offset: Duration,
    /// The failed active's decision (failure action or hold), if it made one.
    pub detected_after: Option<Duration>,
    /// The peer claimed the activeips.
    pub takeover_after: Option<Duration>,
    /// The longest time a client of the first channel found nobody serving its activeip.
    pub longest_gap: Duration,
    /// Runs tried (fault offsets), and how far apart.
    pub runs: u64,
    pub step: Duration,
}

/// Time allowed for the pair to settle at start.
const SETTLE_LIMIT: Duration = Duration::from_secs(600);

/// Simulated steps (instants at which something happens) one scenario's sweep may take in all, and
/// so one run at most: any valid config then simulates in about a second, however short its timeout
/// (a held passive re-checks every timeout) or long its retries (each retry is a step).
pub const SWEEP_STEP_BUDGET: u64 = 200_000;

/// Why a scenario was not (fully) simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sim(#[from] SimError),
    /// One run alone needs more simulated steps than the budget.
    #[error(
        "one run needs more than {0} simulated steps (the retries or the horizon are too long to \
         step through); the formula bounds stand"
    )]
    TooLong(u64),
}

/// Steps `world` until `until` (inclusive), counting steps against `budget`.
fn run_until_bounded(world: &mut World, until: Instant, budget: &mut u64) -> Result<(), RunError> {
    let start = *budget;
    while world.next_at().is_some_and(|t| t <= until) {
        if *budget == 0 {
            return Err(RunError::TooLong(start));
        }
        *budget -= 1;
        world.step()?;
    }
    world.run_until(until)?;
    Ok(())
}

/// Runs `scenario` once, the fault `offset` into a check cycle after the pair has run steadily.
pub fn run_scenario(
    config: &Config,
    scenario: Scenario,
    offset: Duration,
) -> Result<SimReport, RunError> {
    run_counted(config, scenario, offset, SWEEP_STEP_BUDGET).map(|(r, _)| r)
}

/// [`run_scenario`] within `budget` steps; also returns the steps taken.
fn run_counted(
    config: &Config,
    scenario: Scenario,
    offset: Duration,
    budget: u64,
) -> Result<(SimReport, u64), RunError> {
    let mut left = budget;
    let mut world = World::new(config.clone(), peer_config(config));
    world.keep_log = false;
    let n = &config.network;
    let settled = world.settle(n.checktime * 2, Instant::ZERO + SETTLE_LIMIT)?;
    let active = world.actives()[0];
    let fault_at = settled + n.checktime * 3 + offset;
    for f in super::detection::faults(config, scenario, active) {
        world.at(fault_at, f);
    }
    run_until_bounded(&mut world, fault_at, &mut left)?;
    world.measure_gaps_from(fault_at);
    // Long enough for the document's total bound, a shutdown delay and a margin.
    let horizon = n.checktime * 3
        + n.timeout.saturating_mul(
            n.channelretries
                .saturating_add(n.activeretries)
                .saturating_add(2),
        )
        + config.policy.shutdowndelay;
    run_until_bounded(&mut world, fault_at + horizon, &mut left).map_err(|e| match e {
        RunError::TooLong(_) => RunError::TooLong(budget),
        e => e,
    })?;
    let first = |node: NodeId, pick: fn(&Event) -> bool| {
        world
            .events()
            .iter()
            .find(|(t, n, e)| *t >= fault_at && *n == node && pick(e))
            .map(|(t, _, _)| *t - fault_at)
    };
    let report = SimReport {
        scenario,
        fault_offset: offset,
        detected_after: first(active, |e| {
            matches!(e, Event::RecordedFailover | Event::Alert(_))
        }),
        takeover_after: first(active.other(), |e| matches!(e, Event::Claimed)),
        longest_gap: world.longest_gap(0),
        runs: 1,
        step: Duration::ZERO,
    };
    Ok((report, budget - left))
}

/// The spacing of the fault offsets [`worst_case`] tries: 100 ms, or a 200th of the check cycle when
/// that is longer, so a long checktime does not cost thousands of runs.
pub fn sweep_step(config: &Config) -> Duration {
    let n = &config.network;
    let cycle = (n.checktime + n.timeout).as_millis() as u64;
    Duration::from_millis((cycle / 200).max(100))
}

/// Sweeps the fault over one check cycle (checktime + timeout, in [`sweep_step`]s) and returns the run
/// with the longest client gap. When the runs are long (many retries, a tiny timeout) the sweep is
/// thinned so that all runs together stay within [`SWEEP_STEP_BUDGET`] steps; `runs` and `step` of
/// the report say what was tried.
pub fn worst_case(config: &Config, scenario: Scenario) -> Result<SimReport, RunError> {
    let n = &config.network;
    let cycle = (n.checktime + n.timeout).as_millis() as u64;
    let mut step = sweep_step(config).as_millis() as u64;
    let full = cycle.div_ceil(step).max(1);
    let (first, used) = run_counted(config, scenario, Duration::ZERO, SWEEP_STEP_BUDGET)?;
    let affordable = (SWEEP_STEP_BUDGET / used.max(1)).max(1);
    if affordable < full {
        step = cycle.div_ceil(affordable).max(step);
    }
    let mut worst = first;
    let mut runs = 1;
    // Runs that turn out longer than the first one stop the sweep at twice the budget.
    let mut left = (2 * SWEEP_STEP_BUDGET).saturating_sub(used);
    for ms in (step..cycle).step_by(step as usize) {
        if left == 0 {
            break;
        }
        let (r, used) = match run_counted(
            config,
            scenario,
            Duration::from_millis(ms),
            left.min(SWEEP_STEP_BUDGET),
        ) {
            Ok(x) => x,
            Err(RunError::TooLong(_)) => break,
            Err(e) => return Err(e),
        };
        left = left.saturating_sub(used);
        runs += 1;
        if r.longest_gap > worst.longest_gap {
            worst = r;
        }
    }
    worst.runs = runs;
    worst.step = Duration::from_millis(step);
    Ok(worst)
}
