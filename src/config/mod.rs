//! `failover.ini`: the raw text (with line numbers), its validation, and the validated [`Config`].
//!
//! Raw input is validated without touching the system; checks against the host (`--check-host`)
//! come after, in the CLI.

pub mod model;

pub use model::*;
