//! The README's configuration reference lists every key the parser knows, with its origin.

use failoverctl::config::keys::KEYS;

#[test]
fn reference_table_lists_every_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    for k in KEYS {
        let row = format!("| [{}] | `{}` |", k.section, k.key);
        let line = readme
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("README lacks a row for [{}] {}", k.section, k.key));
        assert!(
            line.trim_end()
                .ends_with(&format!("| {} |", k.origin.as_str())),
            "README row for [{}] {} should end with its origin: {line}",
            k.section,
            k.key
        );
    }
}

/// The README's "Limits" table gives every bounded key its range, as `config::limits` enforces it.
#[test]
fn limits_table_gives_every_bounded_key_its_range() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    for (section, key, range) in failoverctl::config::limits::KEY_RANGES {
        let prefix = format!("| [{section}] ");
        let line = readme
            .lines()
            .find(|l| {
                l.starts_with(&prefix)
                    && l.contains(&format!("`{key}`"))
                    && !l.contains(" | required |")
                    && l.matches('|').count() == 3
            })
            .unwrap_or_else(|| panic!("README's Limits table lacks [{section}] {key}"));
        assert!(
            line.contains(&range.describe()),
            "[{section}] {key}: {} in `{line}`",
            range.describe()
        );
    }
}

/// The "choosing the timing" table is the output of `simulate-timing --table`, so it cannot drift
/// from the closed form.
#[test]
fn choosing_the_timing_table_is_the_commands_output() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let out = assert_cmd::Command::cargo_bin("failoverctl")
        .expect("the binary is built")
        .args(["simulate-timing", "--table"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(table.lines().count() >= 5, "{table}");
    assert!(
        readme.contains(&table),
        "README's table differs from `failoverctl simulate-timing --table`:\n{table}"
    );
}

/// One README reference row: (section, key) -> (meaning, value, default, origin), `\|` unescaped.
fn readme_rows() -> std::collections::BTreeMap<(String, String), Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let mut rows = std::collections::BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| [")) {
        let cells: Vec<String> = line
            .replace("\\|", "\u{1}")
            .split('|')
            .map(|c| c.trim().replace('\u{1}', "|"))
            .collect();
        // "", section, key, meaning, value, default, origin, ""
        if cells.len() != 8 {
            continue;
        }
        let section = cells[1].trim_matches(['[', ']']).to_owned();
        let key = cells[2].trim_matches('`').to_owned();
        rows.insert((section, key), cells[3..7].to_vec());
    }
    rows
}

/// Issue 11: failover.ini(5), `example-config` and the README's reference come from one key table
/// and must agree: every key with the same meaning, value, default and origin in all three.
#[test]
fn config_page_example_and_readme_agree_with_the_key_table() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/failover.ini.5"))
        .expect("man/failover.ini.5 is readable (cargo xtask gen)");
    let rows = readme_rows();
    let mut section = String::new();
    let mut on_page = Vec::new();
    let lines: Vec<&str> = page.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if let Some(s) = l
            .strip_prefix(".SH \"[")
            .and_then(|s| s.strip_suffix("]\""))
        {
            section = s.to_lowercase();
        }
        if let Some(key) = l.strip_prefix("\\fB").and_then(|k| k.strip_suffix("=\\fR")) {
            on_page.push((
                section.clone(),
                key.replace("\\-", "-"),
                lines[i + 1].replace("\\-", "-"),
            ));
        }
    }
    assert_eq!(
        on_page.len(),
        KEYS.len(),
        "failover.ini(5) lists another set of keys"
    );
    for k in KEYS {
        let (_, _, text) = on_page
            .iter()
            .find(|(s, key, _)| s == k.section && key == k.key)
            .unwrap_or_else(|| panic!("failover.ini(5) lacks [{}] {}", k.section, k.key));
        for part in [
            format!("Value: {}.", k.kind),
            format!("Default: {}.", k.default),
            format!("Origin: {}.", k.origin.as_str()),
        ] {
            assert!(
                text.contains(&part),
                "failover.ini(5) [{}] {}: no `{part}` in {text}",
                k.section,
                k.key
            );
        }
        let row = &rows[&(k.section.to_owned(), k.key.to_owned())];
        assert_eq!(
            row,
            &[
                k.meaning.to_owned(),
                k.kind.to_owned(),
                k.default.to_owned(),
                k.origin.as_str().to_owned()
            ],
            "README row of [{}] {} differs from the key table",
            k.section,
            k.key
        );
        let example = failoverctl::config::example::EXAMPLE;
        assert!(
            example.contains(&format!("\n{}= ", k.key))
                || example.contains(&format!("\n;{}= ", k.key)),
            "example-config lacks {}",
            k.key
        );
    }
    assert_eq!(
        rows.len(),
        KEYS.len(),
        "the README lists keys the table does not know"
    );
}
