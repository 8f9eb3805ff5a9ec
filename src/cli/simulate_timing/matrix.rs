//! `simulate-timing --matrix`: the safety matrix as a table (or JSON): every fault × policy × peer
//! key × loss, seeded runs at random phases, and the runs that broke each invariant I1-I4.

use std::time::{Duration, Instant as WallClock};

use serde::Serialize;

use crate::config::{value, Config, PolicyMode};
use crate::sim::matrix::{self, MatrixRow};

#[derive(Debug, Serialize)]
struct Output<'a> {
    runs_per_cell: u32,
    /// The total outage bound I1 and I3 are held to (the improved cells; the classic adds the
    /// shutdown delay of a reboot that does not release first).
    bound_ms: u64,
    /// I2: the longest two nodes on one LAN may hold the same activeip.
    overlap_limit_ms: u64,
    /// Violations in the improved policy's cells (0 is the promise).
    improved_violations: u32,
    elapsed_ms: u64,
    cells: &'a [MatrixRow],
}

pub fn run(config: &Config, runs: u32, json: bool) -> anyhow::Result<i32> {
    let started = WallClock::now();
    let rows = matrix::matrix(config, runs);
    let elapsed = started.elapsed();
    let improved: u32 = rows
        .iter()
        .filter(|r| r.policy == PolicyMode::Improved)
        .map(MatrixRow::violations)
        .sum();
    let improved_config = matrix::cell_config(config, PolicyMode::Improved, true);
    let bound = matrix::outage_bound(&improved_config);
    let limit = matrix::overlap_limit(config);
    if json {
        super::super::output::print_json(&Output {
            runs_per_cell: runs,
            bound_ms: bound.as_millis() as u64,
            overlap_limit_ms: limit.as_millis() as u64,
            improved_violations: improved,
            elapsed_ms: elapsed.as_millis() as u64,
            cells: &rows,
        })?;
    } else {
        let mut t = super::super::output::table(&[
            "fault",
            "policy",
            "peer key",
            "loss",
            "runs",
            "I1",
            "I2",
            "I3",
            "I4",
            "worst gap",
        ]);
        for r in &rows {
            let n = |v: u32| {
                if v == 0 {
                    "0".to_string()
                } else {
                    v.to_string()
                }
            };
            t.add_row(vec![
                r.fault_name.to_string(),
                match r.policy {
                    PolicyMode::Classic => "classic",
                    PolicyMode::Improved => "improved",
                }
                .to_string(),
                if r.peer_key { "yes" } else { "no" }.to_string(),
                format!("{}%", r.loss_percent),
                r.runs.to_string(),
                n(r.i1 + r.errors),
                n(r.i2),
                n(r.i3),
                n(r.i4),
                value::format_duration(Duration::from_millis(r.worst_gap_ms)),
            ]);
        }
        println!("{t}");
        println!(
            "I1 converges to one serving holder, I2 no two holders on one LAN beyond {}, I3 no \
             outage beyond {} while a node can serve, I4 no disruptive action while the peer cannot \
             take over; each column counts the runs that broke it.",
            value::format_duration(limit),
            value::format_duration(bound)
        );
        println!(
            "improved policy: {improved} violation(s); the classic policy's are the source \
             document's behaviour, the reason for the improved one. {} cells in {:.1} s.",
            rows.len(),
            elapsed.as_secs_f64()
        );
    }
    Ok(if improved == 0 {
        crate::exit::OK
    } else {
        crate::exit::FAILED
    })
}
