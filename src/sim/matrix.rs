//! The safety matrix (`simulate-timing --matrix`): every single fault of the list × {classic,
//! improved} × {no peer key, peer key} × {no loss, 1% loss}, each cell many seeded runs with the fault
//! at a random phase of the check cycle, on the real cores of both nodes. Each run is checked against
//! the invariants (the world measures them; the simulator has no policy of its own):
//!
//! - I1: after the fault the pair converges, within the source document's bound, to exactly one holder
//!   of every activeip that is on its LAN, and any other holder is cut off from its peer on every link;
//! - I2: an activeip is never held by two nodes both on its LAN for longer than 2 × checktime + timeout;
//! - I3: no outage beyond the bound while a node can serve;
//! - I4: no disruptive action (reboot, demote, exec) while the peer cannot take over.

use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, PeerKey, Policy, PolicyMode};
use crate::core::Instant;

use super::config::peer_config;
use super::fault::{Fault, Loss, NodeId};
use super::world::World;

/// The faults of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatrixFault {
    ActiveLinkDown,
    ActivePowerOff,
    ActiveSilent,
    LanSilentSyncCut,
    DaemonKill,
    DaemonStop,
    PlannedStop,
    SyncCut,
    TestHostDead,
    PassiveLanDown,
    PassiveLanSilent,
    BothStarted,
    ActiveIpOnPassive,
    PartitionHeals,
}

impl MatrixFault {
    pub const ALL: [MatrixFault; 14] = [
        MatrixFault::ActiveLinkDown,
        MatrixFault::ActivePowerOff,
        MatrixFault::ActiveSilent,
        MatrixFault::LanSilentSyncCut,
        MatrixFault::DaemonKill,
        MatrixFault::DaemonStop,
        MatrixFault::PlannedStop,
        MatrixFault::SyncCut,
        MatrixFault::TestHostDead,
        MatrixFault::PassiveLanDown,
        MatrixFault::PassiveLanSilent,
        MatrixFault::BothStarted,
        MatrixFault::ActiveIpOnPassive,
        MatrixFault::PartitionHeals,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MatrixFault::ActiveLinkDown => "active link down",
            MatrixFault::ActivePowerOff => "active power off",
            MatrixFault::ActiveSilent => "active silent, carrier up",
            MatrixFault::LanSilentSyncCut => "active LAN silent + sync link cut",
            MatrixFault::DaemonKill => "active daemon SIGKILL",
            MatrixFault::DaemonStop => "active daemon SIGSTOP",
            MatrixFault::PlannedStop => "planned stop of the active",
            MatrixFault::SyncCut => "sync link cut",
            MatrixFault::TestHostDead => "a test host dead",
            MatrixFault::PassiveLanDown => "passive's own LAN down",
            MatrixFault::PassiveLanSilent => "passive's LAN silent",
            MatrixFault::BothStarted => "both nodes started at once",
            MatrixFault::ActiveIpOnPassive => "activeip added on the passive's host",
            MatrixFault::PartitionHeals => "partition that heals",
        }
    }
}

/// One cell's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixRow {
    pub fault: MatrixFault,
    pub fault_name: &'static str,
    #[serde(serialize_with = "mode_name")]
    pub policy: PolicyMode,
    pub peer_key: bool,
    pub loss_percent: u8,
    pub runs: u32,
    /// Runs that broke each invariant.
    pub i1: u32,
    pub i2: u32,
    pub i3: u32,
    pub i4: u32,
    /// Runs the simulation could not finish (time stopped moving).
    pub errors: u32,
    /// The longest client gap of any run, from the fault (or the start), milliseconds.
    pub worst_gap_ms: u64,
}

fn mode_name<S: serde::Serializer>(mode: &PolicyMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match mode {
        PolicyMode::Classic => "classic",
        PolicyMode::Improved => "improved",
    })
}

impl MatrixRow {
    pub fn violations(&self) -> u32 {
        self.i1 + self.i2 + self.i3 + self.i4 + self.errors
    }
}

/// The config of one cell: `base` with the mode's own policy (the keys the mode sets) and with or
/// without the peer protocol's key.
pub fn cell_config(base: &Config, mode: PolicyMode, key: bool) -> Config {
    let mut c = base.clone();
    let d = Policy::defaults(mode);
    c.policy.mode = mode;
    c.policy.onfailure = d.onfailure;
    c.policy.testhosts = d.testhosts;
    c.policy.requirepeer = d.requirepeer;
    c.policy.requirefit = d.requirefit;
    c.policy.maxfailovers = d.maxfailovers;
    if let Some(s) = c.sendconfig.as_mut() {
        if !key {
            s.peerlink.key = None;
        } else if s.peerlink.key.is_none() {
            s.peerlink.key = Some(PeerKey::Inline(
                crate::peer::Key::from_hex("73696d756c61746564206b6579000000")
                    .expect("a valid hex key"),
            ));
        }
    }
    c
}

/// The source document's total outage bound for `config`, with the shutdown delay of a reboot that
/// does not release first, plus two timeouts for the questions the improved policy asks (the peer,
/// a second fitness probe) when activeretries leaves them no room.
pub fn outage_bound(config: &Config) -> Duration {
    let n = &config.network;
    let mut total = n.checktime * 2 + n.timeout * (n.channelretries + n.activeretries);
    if config.policy.onfailure == crate::config::FailureAction::Reboot && !n.fastdown {
        total += config.policy.shutdowndelay;
    }
    total + n.timeout * 2
}

/// The longest I2 allows two nodes on one LAN to hold the same activeip.
pub fn overlap_limit(config: &Config) -> Duration {
    config.network.checktime * 2 + config.network.timeout
}

/// The start bound: the latest start slot plus the passive's detection.
fn start_bound(config: &Config) -> Duration {
    let n = &config.network;
    n.timeout * 2 * (crate::core::node::STAGGER_SLOTS - 1)
        + n.checktime
        + n.timeout * (n.activeretries + 2)
}

/// A settled pair of one (mode, key) config, cloned for every run.
struct Base {
    world: World,
    settled: Instant,
    active: NodeId,
}

fn settled(config: &Config) -> Option<Base> {
    let mut world = World::new(config.clone(), peer_config(config));
    world.keep_log = false;
    // With the peer key the daemons exchange heartbeats and notices: so do the simulated ones.
    world.sync_messages = config
        .sendconfig
        .as_ref()
        .is_some_and(|s| s.peerlink.key.is_some());
    world.boot_time = config.network.checktime * 2;
    let n = &config.network;
    let settled = world
        .settle(n.checktime * 2, Instant::ZERO + Duration::from_secs(3600))
        .ok()?;
    let active = world.actives()[0];
    Some(Base {
        world,
        settled,
        active,
    })
}

/// What one run broke.
#[derive(Default)]
struct Outcome {
    i1: bool,
    i2: bool,
    i3: bool,
    i4: bool,
    error: bool,
    gap: Duration,
    log: Vec<String>,
}

fn run(config: &Config, base: &Base, fault: MatrixFault, seed: u64, loss: u8) -> Outcome {
    let n = &config.network;
    let mut rng = Loss::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(1), 0);
    let cycle = (n.checktime + n.timeout).as_millis() as u64;
    let phase = Duration::from_millis(rng.next_u64() % cycle.max(1));
    let bound = outage_bound(config);
    let (mut world, fault_at, active, bound) = if fault == MatrixFault::BothStarted {
        let mut w = World::new(config.clone(), peer_config(config));
        w.keep_log = false;
        w.boot_time = n.checktime * 2;
        // b starts up to one timeout after a: "at once" as two machines powered together.
        let late = Duration::from_millis(rng.next_u64() % (n.timeout.as_millis() as u64).max(1));
        w.at(
            Instant::ZERO,
            Fault::Power {
                node: NodeId::B,
                on: false,
            },
        );
        w.at(
            Instant::ZERO + late,
            Fault::Power {
                node: NodeId::B,
                on: true,
            },
        );
        (w, Instant::ZERO, NodeId::A, start_bound(config))
    } else {
        let w = base.world.clone();
        let at = base.settled + n.checktime * 3 + phase;
        (w, at, base.active, bound)
    };
    world.set_loss((loss > 0).then(|| Loss::new(seed.wrapping_add(7), loss)));
    let passive = active.other();
    let last = config.channels.len() - 1;
    let heal = fault_at + bound;
    let schedule: Vec<(Instant, Fault)> = match fault {
        MatrixFault::ActiveLinkDown => vec![(
            fault_at,
            Fault::Link {
                node: active,
                channel: 0,
                up: false,
            },
        )],
        MatrixFault::ActivePowerOff => vec![(
            fault_at,
            Fault::Power {
                node: active,
                on: false,
            },
        )],
        MatrixFault::ActiveSilent => vec![(
            fault_at,
            Fault::Silent {
                node: active,
                silent: true,
            },
        )],
        MatrixFault::LanSilentSyncCut => vec![
            (
                fault_at,
                Fault::Silent {
                    node: active,
                    silent: true,
                },
            ),
            (fault_at, Fault::SyncLink { up: false }),
        ],
        MatrixFault::DaemonKill => vec![(
            fault_at,
            Fault::DaemonKill {
                node: active,
                restart: Duration::from_secs(1),
            },
        )],
        MatrixFault::DaemonStop => vec![
            (
                fault_at,
                Fault::DaemonStop {
                    node: active,
                    stopped: true,
                },
            ),
            (
                heal,
                Fault::DaemonStop {
                    node: active,
                    stopped: false,
                },
            ),
        ],
        MatrixFault::PlannedStop => vec![(fault_at, Fault::PlannedStop { node: active })],
        MatrixFault::SyncCut => vec![(fault_at, Fault::SyncLink { up: false })],
        MatrixFault::TestHostDead => config.channels[0]
            .testips
            .iter()
            .map(|&address| {
                (
                    fault_at,
                    Fault::TestHost {
                        address,
                        alive: false,
                    },
                )
            })
            .collect(),
        MatrixFault::PassiveLanDown => vec![(
            fault_at,
            Fault::Link {
                node: passive,
                channel: 0,
                up: false,
            },
        )],
        MatrixFault::PassiveLanSilent => vec![(
            fault_at,
            Fault::Silent {
                node: passive,
                silent: true,
            },
        )],
        MatrixFault::BothStarted => vec![],
        MatrixFault::ActiveIpOnPassive => vec![(
            fault_at,
            Fault::AddActiveIp {
                node: passive,
                channel: last,
            },
        )],
        MatrixFault::PartitionHeals => vec![
            (
                fault_at,
                Fault::Silent {
                    node: active,
                    silent: true,
                },
            ),
            (
                heal,
                Fault::Silent {
                    node: active,
                    silent: false,
                },
            ),
        ],
    };
    for (t, f) in schedule {
        world.at(t, f);
    }
    let mut out = Outcome::default();
    if world.run_until(fault_at).is_err() {
        out.error = true;
        return out;
    }
    world.measure_gaps_from(fault_at);
    world.watch_from(fault_at);
    // Converged within the bound (plus the time I2 allows a duplicate to be found and ended), and
    // still so once every hold-off, reboot and start slot has passed.
    let check = fault_at.max(heal) + overlap_limit(config);
    let holdoff = n.checktime * 2 + n.timeout * (n.activeretries + 1);
    let end = check
        + config.policy.shutdowndelay
        + world.boot_time
        + start_bound(config)
        + holdoff
        + n.checktime * 2;
    world.watch.converge_by = Some(check);
    if world.run_until(end).is_err() {
        out.error = true;
        return out;
    }
    out.i1 = world.watch.diverged || !world.converged();
    out.i2 = world.watch.longest_overlap > overlap_limit(config);
    out.i3 = world.watch.longest_servable_gap > bound;
    out.i4 = world.watch.disruptive_unsafe > 0;
    out.gap = (0..config.channels.len())
        .map(|c| world.longest_gap(c))
        .max()
        .unwrap_or_default();
    out.log = world.log().to_vec();
    out
}

/// Runs one cell: `runs` seeded runs.
/// One run with its log kept (to look at a violation): the log lines, and which invariants broke.
pub fn trace(config: &Config, fault: MatrixFault, seed: u64, loss: u8) -> (Vec<String>, String) {
    let Some(mut base) = settled(config) else {
        return (vec![], "did not settle".into());
    };
    base.world.keep_log = true;
    let o = run(config, &base, fault, seed, loss);
    let broke = format!(
        "I1={} I2={} I3={} I4={} error={}",
        o.i1, o.i2, o.i3, o.i4, o.error
    );
    (o.log, broke)
}

pub fn cell(
    base_config: &Config,
    fault: MatrixFault,
    mode: PolicyMode,
    key: bool,
    loss: u8,
    runs: u32,
) -> MatrixRow {
    let config = cell_config(base_config, mode, key);
    let mut row = MatrixRow {
        fault,
        fault_name: fault.name(),
        policy: mode,
        peer_key: key,
        loss_percent: loss,
        runs,
        i1: 0,
        i2: 0,
        i3: 0,
        i4: 0,
        errors: 0,
        worst_gap_ms: 0,
    };
    let Some(base) = settled(&config) else {
        row.errors = runs;
        return row;
    };
    for seed in 0..u64::from(runs) {
        let o = run(&config, &base, fault, seed, loss);
        row.i1 += u32::from(o.i1);
        row.i2 += u32::from(o.i2);
        row.i3 += u32::from(o.i3);
        row.i4 += u32::from(o.i4);
        row.errors += u32::from(o.error);
        row.worst_gap_ms = row.worst_gap_ms.max(o.gap.as_millis() as u64);
    }
    row
}

/// Every cell, `runs` runs each, spread over the machine's cores.
pub fn matrix(config: &Config, runs: u32) -> Vec<MatrixRow> {
    let mut cells = Vec::new();
    for fault in MatrixFault::ALL {
        for mode in [PolicyMode::Classic, PolicyMode::Improved] {
            for key in [false, true] {
                for loss in [0u8, 1] {
                    cells.push((fault, mode, key, loss));
                }
            }
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(cells.len());
    let mut rows: Vec<(usize, MatrixRow)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let cells = &cells;
                s.spawn(move || {
                    cells
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, &(f, m, k, l))| (i, cell(config, f, m, k, l, runs)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a matrix worker does not panic"))
            .collect()
    });
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}
