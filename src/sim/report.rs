//! Scenarios and their measured timing: what `simulate-timing` prints beside the formula bounds.

use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::core::Instant;

use super::config::peer_config;
use super::fault::{Fault, NodeId};
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
}

/// Time allowed for the pair to settle at start.
const SETTLE_LIMIT: Duration = Duration::from_secs(600);

/// Runs `scenario` once, the fault `offset` into a check cycle after the pair has run steadily.
pub fn run_scenario(
    config: &Config,
    scenario: Scenario,
    offset: Duration,
) -> Result<SimReport, SimError> {
    let mut world = World::new(config.clone(), peer_config(config));
    world.keep_log = false;
    let n = &config.network;
    let settled = world.settle(n.checktime * 2, Instant::ZERO + SETTLE_LIMIT)?;
    let active = world.actives()[0];
    let fault_at = settled + n.checktime * 3 + offset;
    let fault = match scenario {
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
    };
    for f in fault {
        world.at(fault_at, f);
    }
    world.run_until(fault_at)?;
    world.measure_gaps_from(fault_at);
    // Long enough for the document's total bound, a shutdown delay and a margin.
    let horizon = n.checktime * 3
        + n.timeout * (n.channelretries + n.activeretries + 2)
        + config.policy.shutdowndelay;
    world.run_until(fault_at + horizon)?;
    let first = |node: NodeId, pick: fn(&Event) -> bool| {
        world
            .events()
            .iter()
            .find(|(t, n, e)| *t >= fault_at && *n == node && pick(e))
            .map(|(t, _, _)| *t - fault_at)
    };
    Ok(SimReport {
        scenario,
        fault_offset: offset,
        detected_after: first(active, |e| {
            matches!(e, Event::RecordedFailover | Event::Alert(_))
        }),
        takeover_after: first(active.other(), |e| matches!(e, Event::Claimed)),
        longest_gap: world.longest_gap(0),
    })
}

/// The spacing of the fault offsets [`worst_case`] tries: 100 ms, or a 200th of the check cycle when
/// that is longer, so a long checktime does not cost thousands of runs.
pub fn sweep_step(config: &Config) -> Duration {
    let n = &config.network;
    let cycle = (n.checktime + n.timeout).as_millis() as u64;
    Duration::from_millis((cycle / 200).max(100))
}

/// Sweeps the fault over one check cycle (checktime + timeout, in [`sweep_step`]s) and returns the run
/// with the longest client gap.
pub fn worst_case(config: &Config, scenario: Scenario) -> Result<SimReport, SimError> {
    let n = &config.network;
    let cycle = (n.checktime + n.timeout).as_millis() as u64;
    let step = sweep_step(config).as_millis() as u64;
    let mut worst: Option<SimReport> = None;
    for ms in (0..cycle).step_by(step as usize) {
        let r = run_scenario(config, scenario, Duration::from_millis(ms))?;
        if worst.as_ref().is_none_or(|w| r.longest_gap > w.longest_gap) {
            worst = Some(r);
        }
    }
    Ok(worst.expect("the sweep runs at least once"))
}
