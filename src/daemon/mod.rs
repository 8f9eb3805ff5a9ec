//! The Linux run loop: feeds the decision core with real events (time, counters, probe and ARP results,
//! signals) and carries out its actions (addresses, gratuitous ARP, hooks, failure action).

pub mod caps;
pub mod children;
pub mod clock;
pub mod control;
pub mod failure;
pub mod hooks;
pub mod instance;
pub mod log;
pub mod notify;
pub mod peer;
pub mod rounds;
pub mod service;
pub mod shell;
pub mod signals;
pub mod state;
