//! The simulated world: a virtual clock and network that drive the same decision core as the daemon,
//! for `simulate-timing` and deterministic tests.
//!
//! - `world`:  two nodes, test hosts, links, a client; steps to the earliest deadline.
//! - `fault`:  faults scripted at given times and a seeded loss injector.
//! - `report`: scenarios and [`worst_case`], the measured detection and takeover times.
//! - `config`: the source document's config and the peer's copy of a config.
//! - `loss`:   false failovers under packet loss: the closed form and a seeded check of it.
//! - `matrix`: the safety matrix, every fault × policy × key × loss checked against I1-I4.
//! - `detection`: detection-time percentiles under loss, from many seeded runs.
//! - `plot`:   SVG timelines of the worst cases and the loss chart (`simulate-timing --plot`).
//! - `tune`:   the timing that meets a detection bound and a false-failover limit.

pub mod config;
pub mod detection;
pub mod fault;
pub mod loss;
pub mod matrix;
pub mod plot;
pub mod report;
pub mod tune;
pub mod world;

pub use config::{document_config, peer_config};
pub use fault::{Fault, Loss, NodeId};
pub use report::{run_scenario, sweep_step, worst_case, RunError, Scenario, SimReport};
pub use world::{Event, SimError, Traced, World};
