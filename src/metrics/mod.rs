//! Metrics in the Prometheus text format: [`render`] turns a status snapshot (the one the state
//! file is written from) and the peer counters into text, without I/O; [`export`] writes it to
//! `[policy] metricsfile` and serves it on `[policy] metricslisten`.

pub mod export;
pub mod render;

pub use export::Exporter;
pub use render::{render, Extra, METRICS};
