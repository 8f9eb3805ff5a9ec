//! The sans-IO decision core: state machines fed with the time and events, returning actions and the
//! next deadline. Nothing here reads a clock, opens a socket, touches a file or spawns a process
//! (`tests/core_is_sans_io.rs` keeps it so).

pub mod time;
pub mod timing;

pub use time::Instant;
