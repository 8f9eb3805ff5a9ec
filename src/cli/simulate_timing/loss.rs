//! `simulate-timing --loss`, `--tune` and `--table`: false failovers under packet loss beside the
//! detection bounds, the timing that meets a goal, and the README's table of common settings.

use std::time::Duration;

use serde::Serialize;

use crate::config::{value, Config, Network, PolicyMode};
use crate::sim::detection::{self, DetectionTimes, Percentiles};
use crate::sim::loss::{self, words, ClosedForm, Estimate, LinkModel};
use crate::sim::tune::{self, Goal, Tuned};

/// Per role, as `--json` carries it.
#[derive(Debug, Clone, Serialize)]
pub struct PerRole<T> {
    pub active: T,
    pub passive: T,
}

/// Everything `--loss` adds.
#[derive(Debug, Clone, Serialize)]
pub struct LossReport {
    pub link: LinkModel,
    pub seed: u64,
    /// The closed form, per role: expected false failovers per year.
    pub false_failovers_per_year: PerRole<f64>,
    pub closed_form: ClosedForm,
    /// The seeded simulation of the core's monitors that checks the closed form.
    pub simulated: PerRole<Estimate>,
    /// Whether each role's closed form lies within its simulation's 95% interval.
    pub agrees: PerRole<bool>,
    /// Detection-time percentiles under this loss (ms from the fault to the decision).
    pub detection_ms: Option<DetectionTimes>,
    pub detection_error: Option<String>,
    pub notes: Vec<String>,
}

/// Runs the closed form, the rate simulation (`checks` per role) and the detection runs.
pub fn loss_report(
    config: &Config,
    link: LinkModel,
    seed: u64,
    checks: u64,
    runs: usize,
) -> LossReport {
    let closed = loss::closed_form(config, &link);
    let active = loss::simulate_active(config, &link, seed, checks);
    let passive = loss::simulate_passive(config, &link, seed.wrapping_add(1), checks);
    let (detection_ms, detection_error) = match detection::both(config, &link, runs, seed) {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let agrees = PerRole {
        active: active.agrees_with(closed.active.per_year),
        passive: passive.agrees_with(closed.passive.per_year),
    };
    let mut all_notes = disagreement_notes(
        config,
        &closed,
        [(&active, agrees.active), (&passive, agrees.passive)],
    );
    all_notes.extend(notes(config, &closed, detection_ms.as_ref(), runs));
    LossReport {
        link,
        seed,
        false_failovers_per_year: PerRole {
            active: closed.active.per_year,
            passive: closed.passive.per_year,
        },
        closed_form: closed,
        simulated: PerRole { active, passive },
        agrees,
        detection_ms,
        detection_error,
        notes: all_notes,
    }
}

/// Why a role's closed form lies outside its simulation's interval. For the active with several
/// channels above it, that is no chance: the closed form adds the channels' rates, but the core
/// counts one false failover when their failed checks overlap (at 100% loss every channel fails
/// together and the sum is the channel count times the truth). Otherwise it is the draw.
fn disagreement_notes(
    config: &Config,
    closed: &ClosedForm,
    [(active, active_ok), (passive, passive_ok)]: [(&Estimate, bool); 2],
) -> Vec<String> {
    let mut out = Vec::new();
    for (role, rate, sim, ok) in [
        ("active", closed.active.per_year, active, active_ok),
        ("passive", closed.passive.per_year, passive, passive_ok),
    ] {
        if ok {
            continue;
        }
        let (lo, hi) = sim.ci95_per_year;
        let range = format!("{} to {} per year", short(lo), short(hi));
        if role == "active" && config.channels.len() > 1 && rate > hi {
            out.push(format!(
                "active: the closed form ({} per year) lies above the simulation's 95% interval                  ({range}): it adds the channels' rates, which overstates when their failed checks                  overlap, as they do at this loss; the simulation of the core is the closer figure",
                short(rate)
            ));
        } else {
            out.push(format!(
                "{role}: the closed form lies outside the simulation's 95% interval ({range};                  expected for about one seed in twenty)"
            ));
        }
    }
    out
}

/// A rate for a note: three significant digits.
fn short(x: f64) -> String {
    if x >= 1000.0 {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

fn notes(
    config: &Config,
    closed: &ClosedForm,
    detection: Option<&DetectionTimes>,
    runs: usize,
) -> Vec<String> {
    let mut notes = vec![format!(
        "a check fails when its request or its reply is lost (or the reply comes after timeout): \
         {:.4}% of exchanges; a role fails over falsely after retries failed checks in a row; both \
         re-check at once while their counter is non-zero (see the README, \"Choosing the timing\")",
        closed.exchange_failure * 100.0
    )];
    let idle: Vec<&str> = config
        .channels
        .iter()
        .filter(|c| c.checkonlyidle)
        .map(|c| c.ident.as_str())
        .collect();
    if !idle.is_empty() {
        notes.push(format!(
            "checkonlyidle=yes on {}: counted as idle (probed every checktime); while traffic flows \
             those channels send no probes and lose nothing to loss",
            idle.join(", ")
        ));
    }
    if config.channels.len() > 1 {
        notes.push(
            "the active's figure sums its channels (each has its own counter; while one retries \
             the others wait, so the sum slightly overstates)"
                .to_string(),
        );
    }
    let sync = config.policy.requirepeer
        && config
            .sendconfig
            .as_ref()
            .is_some_and(|s| s.peerip.is_some() && s.peerlink.key.is_some());
    if sync {
        notes.push(
            "requirepeer with the peer protocol: before taking over the passive asks the active \
             over the sync link; while that link works a false takeover is declined with an alert, \
             so the passive's figure counts those alerts, not failovers"
                .to_string(),
        );
    }
    if config.policy.requirepeer {
        notes.push(
            "requirepeer: before its failure action the active asks the peer to probe the failed \
             channel's test hosts; the peer's own probe may fail to loss too, which holds a few of \
             the active's false failovers (not counted)"
                .to_string(),
        );
    }
    if let Some(d) = detection {
        for (role, p) in [("active", &d.active), ("passive", &d.passive)] {
            if p.runs < runs && p.disturbed + p.never > 0 {
                notes.push(format!(
                    "{role} detection: {} of {runs} runs left out because loss had already moved \
                     the active before the fault, {} never decided within the horizon",
                    p.disturbed, p.never
                ));
            }
        }
    }
    notes
}

fn ms(v: u64) -> String {
    value::format_duration(Duration::from_millis(v))
}

fn sim_cell(e: &Estimate) -> String {
    format!(
        "{} in {} ({}–{} per year)",
        e.events,
        span(e.simulated_secs),
        number(e.ci95_per_year.0),
        number(e.ci95_per_year.1)
    )
}

/// A rate with three significant digits, scientific when tiny or huge.
fn number(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if !(0.01..1e6).contains(&x) {
        format!("{x:.2e}")
    } else if x < 10.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.0}")
    }
}

/// A simulated span in words.
fn span(secs: f64) -> String {
    if secs >= 2.0 * 86_400.0 {
        format!("{:.1} days", secs / 86_400.0)
    } else if secs >= 2.0 * 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.0} s", secs)
    }
}

/// The `--loss` table.
pub fn loss_table(r: &LossReport) -> comfy_table::Table {
    let mut t = super::super::output::table(&[
        "role (its check)",
        "one check fails",
        "false failovers per year (closed form)",
        "simulated on the core (95% interval)",
        "detection p50 / p99 / worst",
    ]);
    let det = |p: Option<&Percentiles>| {
        p.map_or("-".to_string(), |p| {
            format!("{} / {} / {}", ms(p.p50), ms(p.p99), ms(p.worst))
        })
    };
    let d = r.detection_ms.as_ref();
    for (name, role, est, p) in [
        (
            "active (test hosts)",
            &r.closed_form.active,
            &r.simulated.active,
            d.map(|d| &d.active),
        ),
        (
            "passive (ARP for the activeips)",
            &r.closed_form.passive,
            &r.simulated.passive,
            d.map(|d| &d.passive),
        ),
    ] {
        t.add_row(vec![
            name.to_string(),
            format!(
                "{:.4}%, {} in a row",
                role.check_failure * 100.0,
                role.retries
            ),
            format!("{} ({})", number(role.per_year), words(role.per_year)),
            sim_cell(est),
            det(p),
        ]);
    }
    t
}

pub fn print_loss(r: &LossReport) {
    println!(
        "under {}% packet loss{} (seed {}):",
        r.link.loss * 100.0,
        if r.link.jitter.is_zero() {
            String::new()
        } else {
            format!(
                ", jitter up to {} a packet",
                value::format_duration(r.link.jitter)
            )
        },
        r.seed
    );
    println!("{}", loss_table(r));
    if let Some(e) = &r.detection_error {
        println!("note: detection times not simulated: {e}");
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

/// `--tune`'s outcome for `--json`.
#[derive(Debug, Serialize)]
pub struct TuneOutput<'a> {
    pub goal: &'a Goal,
    pub link: &'a LinkModel,
    pub tuned: Option<&'a Tuned>,
    pub error: Option<&'a str>,
    pub section: Option<String>,
}

/// Runs `--tune`; exit 1 with the reason when no timing meets the goal.
pub fn run_tune(config: &Config, link: LinkModel, goal: Goal, json: bool) -> anyhow::Result<i32> {
    match tune::tune(config, &link, &goal) {
        Ok(t) => {
            let section = t.section(&goal, &link);
            if json {
                super::super::output::print_json(&TuneOutput {
                    goal: &goal,
                    link: &link,
                    tuned: Some(&t),
                    error: None,
                    section: Some(section),
                })?;
            } else {
                print!("{section}");
            }
            Ok(crate::exit::OK)
        }
        Err(c) => {
            if json {
                super::super::output::print_json(&TuneOutput {
                    goal: &goal,
                    link: &link,
                    tuned: None,
                    error: Some(&c.reason),
                    section: None,
                })?;
            } else {
                eprintln!("simulate-timing --tune: {}", c.reason);
            }
            Ok(crate::exit::FAILED)
        }
    }
}

/// The common settings of the README's table: (checktime, timeout, retries) in ms.
pub const COMMON: &[(u64, u64, u32)] = &[
    (100, 50, 3),
    (500, 100, 3),
    (1_000, 200, 3),
    (1_000, 200, 5),
    (2_000, 500, 3),
    (10_000, 2_000, 3),
];

/// The README's "choosing the timing" table (Markdown), from the closed form: one channel, one test
/// host, both roles alike; each setting with one request per check (the source document's) and with
/// the default `probes=`.
pub fn common_table() -> String {
    let mut out = String::from(
        "| checktime | timeout | retries | probes | detection bound | false failovers at 0.1% loss | at 1% | at 5% |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let (mut config, _) = crate::config::parse_str(
        "[channel]\ndevice= eth1\nactiveip= 192.0.2.50\npassiveip= 192.0.2.51\ntestip= 192.0.2.1\n",
        std::path::Path::new("table"),
    )
    .expect("the table's config is valid");
    config.policy = crate::config::Policy::defaults(PolicyMode::Classic);
    let probe_counts = [1, crate::config::validate::DEFAULT_PROBES];
    for (&(t, o, r), probes) in COMMON
        .iter()
        .flat_map(|row| probe_counts.iter().map(move |n| (row, *n)))
    {
        config.network = Network {
            checktime: Duration::from_millis(t),
            timeout: Duration::from_millis(o),
            activeretries: r,
            channelretries: r,
            probes,
            ..config.network.clone()
        };
        let rate = |pct: f64| {
            let f = loss::closed_form(&config, &LinkModel::new(pct, Duration::ZERO));
            words(f.active.per_year)
        };
        out.push_str(&format!(
            "| {} | {} | {r} | {probes} | {} | {} | {} | {} |\n",
            value::format_duration(config.network.checktime),
            value::format_duration(config.network.timeout),
            value::format_duration(crate::core::timing::active_detection(&config.network)),
            rate(0.1),
            rate(1.0),
            rate(5.0),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::example::EXAMPLE;

    /// Regression: at high loss the active's closed form (the sum over the example's two channels)
    /// lay far above the simulation, every seed (twice it at 100% loss), and the note called that
    /// the chance of about one seed in twenty.
    #[test]
    fn a_systematic_overstatement_is_not_blamed_on_the_seed() {
        let (config, _) =
            crate::config::parse_str(EXAMPLE, std::path::Path::new("example")).expect("valid");
        assert!(config.channels.len() > 1);
        let r = loss_report(
            &config,
            LinkModel::new(100.0, Duration::ZERO),
            1,
            20_000,
            10,
        );
        assert!(!r.agrees.active, "{:?}", r.simulated.active);
        let note = r
            .notes
            .iter()
            .find(|n| n.starts_with("active:"))
            .expect("a note on the active's disagreement");
        assert!(note.contains("adds the channels' rates"), "{note}");
        assert!(!note.contains("one seed in twenty"), "{note}");
    }
}
