//! The sans-IO decision core: state machines fed with the time and events, returning actions and the
//! next deadline. Nothing here reads a clock, opens a socket, touches a file or spawns a process
//! (`tests/core_is_sans_io.rs` keeps it so).

pub mod action;
pub mod active;
pub mod claims;
pub mod node;
pub mod observe;
pub mod passive;
pub mod policy;
pub mod status;
pub mod tally;
pub mod time;
mod timer;
pub mod timing;

#[cfg(test)]
mod testkit;

pub use action::{Action, Input};
pub use active::ActiveMonitor;
pub use node::{Node, Scope};
pub use passive::PassiveMonitor;
pub use status::Status;
pub use time::Instant;
