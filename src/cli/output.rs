//! Shared output helpers: comfy-table tables for people, JSON for scripts, and the formula bounds
//! table that `validate` and `simulate-timing` both print.

use super::simulate_timing::Report;
use crate::config::value;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// A table with the project's house style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    t
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
