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
