//! Shared output helpers: comfy-table tables for people, JSON for scripts, and the formula bounds
//! table that `validate` and `simulate-timing` both print.

use super::simulate_timing::Report;
use crate::config::value;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// The width tables take when the terminal reports none worth using: serial consoles and `script`
/// report 0 columns, which made every cell one character wide.
pub const FALLBACK_WIDTH: u16 = 100;
/// Narrower than this, a terminal's reported width is not believed.
const MIN_WIDTH: u16 = 20;

/// A table with the project's house style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    let reported = t.width();
    fit(&mut t, reported);
    t
}

/// Fixes the width of `t` when the terminal reported an unusable one (`None`: not a terminal, no
/// wrapping at all).
fn fit(t: &mut Table, reported: Option<u16>) {
    if reported.is_some_and(|w| w < MIN_WIDTH) {
        t.set_width(FALLBACK_WIDTH);
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(())
}

/// The formula bounds of a config (`validate`, `simulate-timing`) as a table.
pub fn bounds_table(r: &Report) -> comfy_table::Table {
    let mut t = table(&["bound", "formula", "value"]);
    for row in &r.rows {
        t.add_row(vec![
            row.name.to_string(),
            row.formula.clone(),
            value::format_duration(row.value),
        ]);
    }
    t
}

/// The input line above the bounds table.
pub fn bounds_heading(r: &Report) -> String {
    format!(
        "{}: checktime {}, timeout {}, activeretries {}, channelretries {}, fastdown {}",
        r.source,
        value::format_duration(r.checktime_ms),
        value::format_duration(r.timeout_ms),
        r.activeretries,
        r.channelretries,
        if r.fastdown { "yes" } else { "no" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bug: on a terminal that reports 0 columns (a serial console, `script`) `probe` printed one
    /// character per column: 20 lines for one row.
    #[test]
    fn a_terminal_of_zero_columns_gets_the_fixed_width() {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["channel", "target", "reached", "round trip"]);
        fit(&mut t, Some(0));
        t.add_row(["lan1", "192.0.2.1", "yes", "0.052 ms"]);
        assert_eq!(t.width(), Some(FALLBACK_WIDTH));
        // Header and row one line each, between three rules.
        assert_eq!(t.to_string().lines().count(), 5, "{t}");
        let mut wide = Table::new();
        fit(&mut wide, Some(200));
        fit(&mut wide, None);
        assert_eq!(wide.width(), None, "a usable or absent width is left alone");
    }
}
