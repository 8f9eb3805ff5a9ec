//! `simulate-timing --plot`: plain SVG pictures of a config's timing. A timeline of the worst case of
//! each scenario (checks and their answers, counters, the decision, release, takeover, the client's
//! gap), and with a loss model a chart of detection time against false failovers per year as
//! checktime varies.
//!
//! Every mark carries a class (`probe`, `answer`, `miss`, `counter`, `decision`, `release`,
//! `takeover`, `fault`, `gap`, `series-active`, ...) so that tests can check what is drawn.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{value, Config};
use crate::core::action::Action;
use crate::core::{timing, Input, Instant};

use super::config::peer_config;
use super::fault::NodeId;
use super::loss::{closed_form, LinkModel};
use super::report::{worst_case, RunError, Scenario, SWEEP_STEP_BUDGET};
use super::world::{Event, SimError, Traced, World};

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 30.0;
const PANEL: f64 = 190.0;
const LEGEND: f64 = 70.0;
const CHART: f64 = 420.0;

/// Colours of the marks (one place, so the legend matches).
const GREEN: &str = "#1a7f37";
const RED: &str = "#cf222e";
const BLUE: &str = "#0969da";
const ORANGE: &str = "#bc4c00";
const PURPLE: &str = "#8250df";
const GREY: &str = "#57606a";

/// One mark on a node's lane.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    /// A probe (active) or ARP check (passive) sent.
    Sent,
    Answered,
    Missed,
    /// A counter value after a check: (value, limit).
    Counter(u32, u32),
    Decision(String),
    Release,
    Takeover,
}

/// What a traced worst-case run looked like.
struct Timeline {
    scenario: Scenario,
    /// Where in the check cycle the fault fell.
    offset: Duration,
    fault_at: Instant,
    /// The window shown.
    from: Instant,
    to: Instant,
    active: NodeId,
    marks: Vec<(Instant, NodeId, Mark)>,
    /// Intervals nobody served the first channel's activeip.
    gaps: Vec<(Instant, Instant)>,
}

fn scenario_title(s: Scenario) -> &'static str {
    match s {
        Scenario::ActiveLinkDown => "active link down",
        Scenario::ActivePowerOff => "active power off",
        Scenario::ActiveSilent => "active silent (carrier up)",
        Scenario::TestHostDead => "test host dead",
    }
}

fn slug(s: Scenario) -> &'static str {
    match s {
        Scenario::ActiveLinkDown => "active-link-down",
        Scenario::ActivePowerOff => "active-power-off",
        Scenario::ActiveSilent => "active-silent",
        Scenario::TestHostDead => "test-host-dead",
    }
}

/// Reruns the worst case of `scenario` with the world's trace on.
fn timeline(config: &Config, scenario: Scenario) -> Result<Timeline, RunError> {
    let worst = worst_case(config, scenario)?;
    let mut world = World::new(config.clone(), peer_config(config));
    world.keep_log = false;
    let n = &config.network;
    let settled = world.settle(n.checktime * 2, Instant::ZERO + Duration::from_secs(600))?;
    let active = world.actives()[0];
    let fault_at = settled + n.checktime * 3 + worst.fault_offset;
    for f in super::detection::faults(config, scenario, active) {
        world.at(fault_at, f);
    }
    let from = Instant::from_millis(
        fault_at
            .as_millis()
            .saturating_sub(n.checktime.as_millis() as u64 + n.timeout.as_millis() as u64),
    );
    world.run_until(from)?;
    world.trace = Some(vec![]);
    let events_from = world.events().len();
    let end = [
        worst.detected_after,
        worst.takeover_after,
        Some(worst.longest_gap),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or_default();
    let to = fault_at + end + n.checktime.max(n.timeout * 2);
    let mut marks = Vec::new();
    let mut gaps = Vec::new();
    let mut gap_from: Option<Instant> = None;
    let mut budget = SWEEP_STEP_BUDGET;
    while world.next_at().is_some_and(|t| t <= to) {
        if budget == 0 {
            return Err(RunError::TooLong(SWEEP_STEP_BUDGET));
        }
        budget -= 1;
        world.step()?;
        let now = world.now();
        let failed = scenario != Scenario::TestHostDead && now >= fault_at;
        let serving = world.owners(0).iter().any(|&o| !(failed && o == active));
        match (serving, gap_from) {
            (false, None) => gap_from = Some(now),
            (true, Some(s)) => {
                gaps.push((s, now));
                gap_from = None;
            }
            _ => {}
        }
    }
    if let Some(s) = gap_from {
        gaps.push((s, to));
    }
    for (t, id, item) in world.trace.take().unwrap_or_default() {
        let mark = match item {
            Traced::Action(Action::Probe { .. } | Action::ArpCheck { .. }) => Mark::Sent,
            Traced::Input(Input::ProbeDone { results, .. }) => {
                if !results.is_empty() && results.iter().all(|r| r.rtt.is_some()) {
                    Mark::Answered
                } else {
                    Mark::Missed
                }
            }
            Traced::Action(Action::Log(d)) if d.reason.contains("failure detected") => {
                Mark::Decision("failure detected".to_string())
            }
            Traced::Action(Action::Log(d)) if d.reason.starts_with("active gone") => {
                Mark::Decision("active gone".to_string())
            }
            Traced::Action(Action::Alert(_)) => Mark::Decision("hold (alert)".to_string()),
            Traced::Action(Action::Log(d)) => {
                // The core's own counter statements, for the first channel or the passive.
                let first = config.channels.first().map(|c| c.ident.as_str());
                if d.channel.is_some() && d.channel.as_deref() != first {
                    continue;
                }
                match counter_of(&d.reason) {
                    Some((v, limit)) => Mark::Counter(v, limit),
                    None => continue,
                }
            }
            Traced::Input(Input::ArpDone { results, .. }) => {
                if results.iter().any(|r| r.mac.is_some()) {
                    Mark::Answered
                } else {
                    Mark::Missed
                }
            }
            _ => continue,
        };
        marks.push((t, id, mark));
    }
    for (t, id, e) in &world.events()[events_from..] {
        let mark = match e {
            Event::FailureAction(cmd) => Mark::Decision(format!(
                "failure action: {}",
                format!("{cmd:?}").to_lowercase()
            )),
            Event::Released => Mark::Release,
            Event::Claimed if *id != active => Mark::Takeover,
            _ => continue,
        };
        marks.push((*t, *id, mark));
    }
    Ok(Timeline {
        scenario,
        offset: worst.fault_offset,
        fault_at,
        from,
        to,
        active,
        marks,
        gaps,
    })
}

/// The counter a decision states: "no answer ... (2/3)" gives (2, 3), "counter reset (2/3 -> 0)"
/// gives (0, 3).
fn counter_of(reason: &str) -> Option<(u32, u32)> {
    let counting = reason.contains("no answer")
        || reason.contains("no ARP answer")
        || reason.contains("no NDP answer")
        || reason.contains("no ARP/NDP answer");
    let reset = reason.contains("counter reset");
    if !counting && !reset {
        return None;
    }
    // The first "(n/limit" in the sentence.
    reason.match_indices('(').find_map(|(i, _)| {
        let (v, rest) = reason[i + 1..].split_once('/')?;
        let v: u32 = v.parse().ok()?;
        let limit: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let limit: u32 = limit.parse().ok()?;
        Some((if reset { 0 } else { v }, limit))
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick step of about `span / 8` in 1-2-5 steps.
fn tick_step(span: f64) -> f64 {
    let raw = (span / 8.0).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn secs_label(s: f64) -> String {
    let t = format!("{s:.3}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" {
        "0".to_string()
    } else {
        t.to_string()
    }
}

fn legend(out: &mut String, y: f64, items: &[(&str, &str)]) {
    let _ = writeln!(
        out,
        r#"<g class="legend" transform="translate({LEFT},{y})">"#
    );
    let mut x = 0.0;
    let mut row = 0.0;
    for (class, label) in items {
        if x > WIDTH - LEFT - RIGHT - 150.0 {
            x = 0.0;
            row += 20.0;
        }
        let _ = writeln!(
            out,
            r#"<g class="legend-item {class}" transform="translate({x},{row})">{}<text x="18" y="4">{}</text></g>"#,
            symbol(class, 6.0, 0.0),
            esc(label)
        );
        x += 20.0 + 7.0 * label.len() as f64;
    }
    out.push_str("</g>\n");
}

/// The symbol drawn for a class, centred at (x, y).
fn symbol(class: &str, x: f64, y: f64) -> String {
    match class {
        "probe" => format!(
            r#"<line class="probe" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{GREY}" stroke-width="1.5"/>"#,
            y - 7.0,
            y + 7.0
        ),
        "answer" => format!(r#"<circle class="answer" cx="{x}" cy="{y}" r="4" fill="{GREEN}"/>"#),
        "miss" => format!(
            r#"<path class="miss" d="M{} {}L{} {}M{} {}L{} {}" stroke="{RED}" stroke-width="2"/>"#,
            x - 4.0,
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0,
            y + 4.0,
            x + 4.0,
            y - 4.0
        ),
        "counter" => format!(
            r#"<text class="counter" x="{x}" y="{}" text-anchor="middle" font-size="10" fill="{ORANGE}">n/r</text>"#,
            y + 3.0
        ),
        "decision" => format!(
            r#"<path class="decision" d="M{x} {}L{} {y}L{x} {}L{} {y}Z" fill="{PURPLE}"/>"#,
            y - 6.0,
            x + 6.0,
            y + 6.0,
            x - 6.0
        ),
        "release" => format!(
            r#"<line class="release" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{ORANGE}" stroke-width="2" stroke-dasharray="3 2"/>"#,
            y - 8.0,
            y + 8.0
        ),
        "takeover" => format!(
            r#"<line class="takeover" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{BLUE}" stroke-width="3"/>"#,
            y - 8.0,
            y + 8.0
        ),
        "fault" => format!(
            r#"<line class="fault" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{RED}" stroke-width="2"/>"#,
            y - 8.0,
            y + 8.0
        ),
        "gap" => format!(
            r#"<rect class="gap" x="{}" y="{}" width="12" height="10" fill="{RED}" fill-opacity="0.3"/>"#,
            x - 6.0,
            y - 5.0
        ),
        "series-active" => {
            format!(r#"<circle class="series-active" cx="{x}" cy="{y}" r="4" fill="{BLUE}"/>"#)
        }
        "series-passive" => format!(
            r#"<rect class="series-passive" x="{}" y="{}" width="8" height="8" fill="{ORANGE}"/>"#,
            x - 4.0,
            y - 4.0
        ),
        "this-config" => format!(
            r#"<circle class="this-config" cx="{x}" cy="{y}" r="8" fill="none" stroke="{RED}" stroke-width="2"/>"#
        ),
        _ => String::new(),
    }
}

/// Draws one timeline panel at vertical offset `top`.
fn panel(out: &mut String, config: &Config, t: &Timeline, top: f64) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let span = (t.to - t.from).as_secs_f64().max(1e-3);
    let x_of = |at: Instant| LEFT + (at - t.from).as_secs_f64() / span * plot_w;
    let secs_since_fault =
        |at: Instant| at.as_millis() as f64 / 1000.0 - t.fault_at.as_millis() as f64 / 1000.0;
    let lanes = [
        (t.active, format!("{} (active) checks", t.active.name())),
        (
            t.active.other(),
            format!("{} (passive) checks", t.active.other().name()),
        ),
    ];
    let lane_y = |i: usize| top + 45.0 + 40.0 * i as f64;
    let client_y = lane_y(2);
    let axis_y = client_y + 25.0;
    let _ = writeln!(
        out,
        r#"<g class="panel timeline" id="timeline-{}">"#,
        slug(t.scenario)
    );
    let n = &config.network;
    let _ = writeln!(
        out,
        r#"<text class="title" x="{LEFT}" y="{}" font-weight="bold">{}: worst case (the fault {} into the check cycle; checktime {}, timeout {}, retries {}/{})</text>"#,
        top + 18.0,
        esc(scenario_title(t.scenario)),
        value::format_duration(t.offset),
        value::format_duration(n.checktime),
        value::format_duration(n.timeout),
        n.channelretries,
        n.activeretries
    );
    // Lanes and their labels (the y axis).
    for (i, (_, label)) in lanes.iter().enumerate() {
        let y = lane_y(i);
        let _ = writeln!(
            out,
            r##"<line class="lane" x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#d0d7de"/><text class="lane-label" x="{}" y="{}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 8.0,
            y + 4.0,
            esc(label)
        );
    }
    let _ = writeln!(
        out,
        r##"<line class="lane" x1="{LEFT}" y1="{client_y}" x2="{}" y2="{client_y}" stroke="#d0d7de"/><text class="lane-label" x="{}" y="{}" text-anchor="end">client of {}</text>"##,
        WIDTH - RIGHT,
        LEFT - 8.0,
        client_y + 4.0,
        esc(config.channels.first().map_or("-", |c| c.ident.as_str()))
    );
    // The x axis: time since the fault.
    let step = tick_step(span);
    let first = (secs_since_fault(t.from) / step).ceil() as i64;
    let last = (secs_since_fault(t.to) / step).floor() as i64;
    let _ = writeln!(
        out,
        r#"<g class="axis x"><line x1="{LEFT}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="black"/>"#,
        WIDTH - RIGHT
    );
    for k in first..=last {
        let s = k as f64 * step;
        let x = LEFT + (s - secs_since_fault(t.from)) / span * plot_w;
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="{axis_y}" x2="{x}" y2="{}" stroke="black"/><text class="tick" x="{x}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            axis_y + 5.0,
            axis_y + 17.0,
            secs_label(s)
        );
    }
    let _ = writeln!(
        out,
        r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">time since the fault (s)</text></g>"#,
        LEFT + plot_w / 2.0,
        axis_y + 33.0
    );
    let _ = writeln!(
        out,
        r#"<text class="axis-label y" x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">node</text>"#,
        lane_y(1),
        lane_y(1)
    );
    // The fault.
    let fx = x_of(t.fault_at);
    let _ = writeln!(
        out,
        r#"<line class="fault" x1="{fx}" y1="{}" x2="{fx}" y2="{}" stroke="{RED}" stroke-width="2"/><text class="fault-label" x="{}" y="{}" fill="{RED}" font-size="11">fault</text>"#,
        top + 28.0,
        client_y + 10.0,
        fx + 3.0,
        top + 32.0
    );
    // The client's gaps.
    for &(s, e) in &t.gaps {
        let (x1, x2) = (x_of(s), x_of(e));
        let _ = writeln!(
            out,
            r#"<rect class="gap" x="{x1}" y="{}" width="{}" height="12" fill="{RED}" fill-opacity="0.3"/><text class="gap-label" x="{}" y="{}" font-size="11" text-anchor="middle">gap {}</text>"#,
            client_y - 6.0,
            (x2 - x1).max(1.0),
            (x1 + x2) / 2.0,
            client_y + 18.0,
            value::format_duration(e - s)
        );
    }
    for (at, id, mark) in &t.marks {
        let i = if *id == t.active { 0 } else { 1 };
        let (x, y) = (x_of(*at), lane_y(i));
        match mark {
            Mark::Sent => out.push_str(&symbol("probe", x, y)),
            Mark::Answered => out.push_str(&symbol("answer", x, y)),
            Mark::Missed => out.push_str(&symbol("miss", x, y)),
            Mark::Counter(v, limit) => {
                let _ = write!(
                    out,
                    r#"<text class="counter" x="{x}" y="{}" text-anchor="middle" font-size="10" fill="{ORANGE}">{v}/{limit}</text>"#,
                    y - 10.0
                );
            }
            Mark::Decision(what) => {
                out.push_str(&symbol("decision", x, y));
                let _ = write!(
                    out,
                    r#"<text class="decision-label" x="{}" y="{}" font-size="11" fill="{PURPLE}">{}</text>"#,
                    x + 8.0,
                    y + 16.0,
                    esc(what)
                );
            }
            Mark::Release => {
                out.push_str(&symbol("release", x, y));
                let _ = write!(
                    out,
                    r#"<text class="release-label" x="{}" y="{}" font-size="11" fill="{ORANGE}">release</text>"#,
                    x + 4.0,
                    y - 22.0
                );
            }
            Mark::Takeover => {
                out.push_str(&symbol("takeover", x, y));
                let _ = write!(
                    out,
                    r#"<text class="takeover-label" x="{}" y="{}" font-size="11" fill="{BLUE}">takeover</text>"#,
                    x + 8.0,
                    y + 28.0
                );
            }
        }
        out.push('\n');
    }
    out.push_str("</g>\n");
}

/// Draws the chart of detection bound against false failovers per year as checktime varies.
fn chart(out: &mut String, config: &Config, link: &LinkModel, top: f64) {
    let n = &config.network;
    // Checktimes from just above the timeout to a few times the config's.
    let mut checktimes: Vec<Duration> = [
        1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0,
    ]
    .iter()
    .map(|m| n.timeout.mul_f64(*m))
    .chain([n.checktime])
    .filter(|c| *c > n.timeout && *c <= (n.checktime * 10).max(n.timeout * 3))
    .collect();
    checktimes.sort();
    checktimes.dedup();
    let points: Vec<(Duration, f64, f64, f64, f64)> = checktimes
        .iter()
        .map(|&c| {
            let mut cfg = config.clone();
            cfg.network.checktime = c;
            let f = closed_form(&cfg, link);
            (
                c,
                timing::active_detection(&cfg.network).as_secs_f64(),
                f.active.per_year,
                timing::passive_detection(&cfg.network).as_secs_f64(),
                f.passive.per_year,
            )
        })
        .collect();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = CHART - 110.0;
    let (y0, y1) = (top + 40.0, top + 40.0 + plot_h);
    let xmax = points.iter().map(|p| p.1.max(p.3)).fold(0.0_f64, f64::max) * 1.05;
    // Zero rates (no loss, or beyond f64) sit on the axis floor: 1e-12, or below the least rate.
    let least = points
        .iter()
        .flat_map(|p| [p.2, p.4])
        .filter(|r| *r > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if least.is_finite() {
        least.max(1e-12)
    } else {
        1e-12
    };
    let logs: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.2, p.4])
        .map(|r| r.max(floor).log10())
        .collect();
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let hi = logs
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil()
        .max(lo + 1.0);
    let x_of = |s: f64| LEFT + s / xmax.max(1e-9) * plot_w;
    let y_of = |r: f64| y1 - (r.max(floor).log10() - lo) / (hi - lo) * plot_h;
    let _ = writeln!(out, r#"<g class="panel chart" id="chart-loss">"#);
    let _ = writeln!(
        out,
        r#"<text class="title" x="{LEFT}" y="{}" font-weight="bold">detection bound against false failovers per year as checktime varies ({}% loss{}, timeout {}, retries {}/{})</text>"#,
        top + 18.0,
        link.loss * 100.0,
        if link.jitter.is_zero() {
            String::new()
        } else {
            format!(", jitter {}", value::format_duration(link.jitter))
        },
        value::format_duration(n.timeout),
        n.channelretries,
        n.activeretries
    );
    // Axes.
    let _ = writeln!(
        out,
        r#"<g class="axis x"><line x1="{LEFT}" y1="{y1}" x2="{}" y2="{y1}" stroke="black"/>"#,
        WIDTH - RIGHT
    );
    let step = tick_step(xmax);
    let mut s = 0.0;
    while s <= xmax {
        let x = x_of(s);
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="{y1}" x2="{x}" y2="{}" stroke="black"/><text class="tick" x="{x}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            y1 + 5.0,
            y1 + 17.0,
            secs_label(s)
        );
        s += step;
    }
    let _ = writeln!(
        out,
        r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">detection bound, checktime + timeout × retries (s)</text></g>"#,
        LEFT + plot_w / 2.0,
        y1 + 35.0
    );
    let _ = writeln!(
        out,
        r#"<g class="axis y"><line x1="{LEFT}" y1="{y0}" x2="{LEFT}" y2="{y1}" stroke="black"/>"#
    );
    let mut e = lo;
    while e <= hi {
        let y = y1 - (e - lo) / (hi - lo) * plot_h;
        let _ = writeln!(
            out,
            r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#d0d7de"/><text class="tick" x="{}" y="{}" text-anchor="end" font-size="11">{}</text>"##,
            LEFT,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            if (0.0..6.0).contains(&e) {
                format!("{}", 10f64.powf(e))
            } else {
                format!("1e{e}")
            }
        );
        e += 1.0;
    }
    let _ = writeln!(
        out,
        r#"<text class="axis-label y" x="{}" y="{}" transform="rotate(-90 {} {})" text-anchor="middle">false failovers per year (log)</text></g>"#,
        LEFT - 55.0,
        (y0 + y1) / 2.0,
        LEFT - 55.0,
        (y0 + y1) / 2.0
    );
    // The two series, joined, each point labelled with its checktime.
    // The passive first: where both coincide (one host, one activeip) the active's dots stay visible.
    for (class, colour, pick) in [
        ("series-passive", ORANGE, 1usize),
        ("series-active", BLUE, 0usize),
    ] {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .map(|p| {
                if pick == 0 {
                    (x_of(p.1), y_of(p.2))
                } else {
                    (x_of(p.3), y_of(p.4))
                }
            })
            .collect();
        let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            out,
            r#"<polyline class="{class} line" points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
            path.join(" ")
        );
        for (i, (x, y)) in pts.iter().enumerate() {
            out.push_str(&symbol(class, *x, *y));
            if pick == 0 {
                let _ = write!(
                    out,
                    r#"<text class="point-label" x="{}" y="{}" font-size="10">{}</text>"#,
                    x + 6.0,
                    y - 6.0,
                    value::format_duration(points[i].0)
                );
            }
            out.push('\n');
        }
    }
    // This config's own point.
    let f = closed_form(config, link);
    let (x, y) = (
        x_of(timing::active_detection(n).as_secs_f64()),
        y_of(f.active.per_year),
    );
    out.push_str(&symbol("this-config", x, y));
    out.push_str("\n</g>\n");
}

/// The whole picture: one timeline per scenario and, with `link`, the loss chart.
pub fn render(config: &Config, link: Option<&LinkModel>) -> Result<String, SimError> {
    let mut timelines = Vec::new();
    for s in Scenario::ALL {
        match timeline(config, s) {
            Ok(t) => timelines.push(t),
            // A run too long to draw is left out; the table says why.
            Err(RunError::TooLong(_)) => {}
            Err(RunError::Sim(e)) => return Err(e),
        }
    }
    let height =
        LEGEND + PANEL * timelines.len() as f64 + if link.is_some() { CHART + LEGEND } else { 0.0 };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">
<title>failoverctl simulate-timing: {}</title>
<rect width="100%" height="100%" fill="white"/>"#,
        esc(&config.source.display().to_string())
    );
    legend(
        &mut out,
        20.0,
        &[
            ("probe", "check sent (probe or ARP)"),
            ("answer", "answered"),
            ("miss", "unanswered"),
            ("counter", "counter n/retries"),
            ("decision", "decision"),
            ("release", "release"),
            ("takeover", "takeover"),
            ("fault", "fault"),
            ("gap", "client gap"),
        ],
    );
    for (i, t) in timelines.iter().enumerate() {
        panel(&mut out, config, t, LEGEND + PANEL * i as f64);
    }
    if let Some(link) = link {
        let top = LEGEND + PANEL * timelines.len() as f64;
        legend(
            &mut out,
            top + 10.0,
            &[
                ("series-active", "active's check"),
                ("series-passive", "passive's check"),
                ("this-config", "this config"),
            ],
        );
        chart(&mut out, config, link, top + 30.0);
    }
    out.push_str("</svg>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_from_the_cores_statements() {
        assert_eq!(
            counter_of("channel if-1: no answer from 192.0.2.1 (2/3)"),
            Some((2, 3))
        );
        assert_eq!(
            counter_of("no ARP answer for 192.0.2.50 (3/3, waiting 20 ms more: start slot)"),
            Some((3, 3))
        );
        assert_eq!(
            counter_of("active answers again, counter reset (2/3 -> 0)"),
            Some((0, 3))
        );
        assert_eq!(counter_of("claiming the activeips"), None);
    }
}
