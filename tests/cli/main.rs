//! CLI, config and documentation tests: one test binary, so a change re-links it once.

#[path = "../common/mod.rs"]
mod common;

mod config_corpus;
mod config_fuzz;
mod core_is_sans_io;
mod diagnostics_errors;
mod generated_docs;
mod ipv6;
mod keyfile;
mod readme;
mod simulate_timing;
mod validate;
