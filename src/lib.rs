//! failoverctl: a hot-standby failover pair for two Linux gateways.
//!
//! Layout, by folder:
//! - `config`: `failover.ini` text to a validated [`config::Config`], with file:line diagnostics.
//! - `core`:   the sans-IO decision core (active monitor, passive monitor, failover policy) and timing formulas.
//! - `net`:    the probing and address primitives behind small traits; `net::linux` is the real shell.
//! - `peer`:   the peer protocol on the sync link: authenticated wire format, no I/O.
//! - `sim`:    a simulated world (virtual clock and network) that drives the same core.
//! - `metrics`: the Prometheus text format of a status snapshot, and its file and listener.
//! - `daemon`: the Linux run loop that feeds the core with real events and carries out its actions.
//! - `cli`:    clap definitions and one small file per subcommand.

pub mod cli;
pub mod config;
pub mod core;
pub mod daemon;
pub mod exit;
pub mod metrics;
pub mod net;
pub mod peer;
pub mod sim;
