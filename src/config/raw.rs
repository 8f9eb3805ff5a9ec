//! The raw `failover.ini`: a line pre-pass that gives every section and key its line number and reports
//! syntax errors at the broken line, then rust-ini reads the values and must agree with the pre-pass.
//!
//! rust-ini keeps no line numbers and reports syntax errors at the end of the file, hence the pre-pass.
//! Grammar (the original's, strictly): blank lines; comments starting with `;` or `#` (whole lines
//! only, no inline comments, as rust-ini); `[section]` headers; `key= value` lines inside a section.

use ini::{Ini, ParseOption};

/// One `key= value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// One `[section]` with its entries, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSection {
    pub name: String,
    pub line: usize,
    pub entries: Vec<RawEntry>,
}

/// The whole file as sections and entries, every one with its line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawFile {
    pub sections: Vec<RawSection>,
}

/// A line that is not valid INI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Parses `text`: the pre-pass first, then (when it found no syntax error) rust-ini for the values.
pub fn parse(text: &str) -> (RawFile, Vec<SyntaxError>) {
    let (mut raw, errors, normalized) = prepass(text);
    if !errors.is_empty() {
        return (raw, errors);
    }
    match read_values(&normalized, &mut raw) {
        Ok(()) => (raw, errors),
        Err(e) => (raw, vec![e]),
    }
}

/// The pre-pass. Also returns the text rust-ini reads: the same lines, with comments blanked and
/// indentation removed (rust-ini would read an indented comment as a key).
fn prepass(text: &str) -> (RawFile, Vec<SyntaxError>, String) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut raw = RawFile::default();
    let mut errors = Vec::new();
    let mut normalized = String::with_capacity(text.len());
    // After a broken section header, its keys belong to no known section: skip them rather than
    // attribute them to the section before.
    let mut skipping = false;
    for (idx, full) in text.split('\n').enumerate() {
        let line = idx + 1;
        let mut err = |message: String| errors.push(SyntaxError { line, message });
        let content = full.strip_suffix('\r').unwrap_or(full);
        if content.contains('\r') {
            err("carriage return inside a line".into());
            normalized.push('\n');
            continue;
        }
        let t = content.trim();
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            normalized.push('\n');
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            skipping = true;
            match rest.find(']') {
                None => err("section header without closing `]`".into()),
                Some(end) => {
                    let name = rest[..end].trim();
                    let after = rest[end + 1..].trim();
                    if !after.is_empty() {
                        err(format!(
                            "unexpected text `{after}` after the section header"
                        ));
                    } else if !valid_name(name) {
                        err(format!("invalid section name `{name}`"));
                    } else {
                        skipping = false;
                        raw.sections.push(RawSection {
                            name: name.to_string(),
                            line,
                            entries: Vec::new(),
                        });
                    }
                }
            }
            normalized.push_str(t);
            normalized.push('\n');
            continue;
        }
        let Some((key, value)) = t.split_once('=') else {
            err(format!(
                "expected `key= value`, a `[section]` or a comment, found `{t}`"
            ));
            normalized.push('\n');
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            err("missing key before `=`".into());
        } else if !valid_name(key) {
            err(format!(
                "invalid key `{key}` (letters, digits, `_`, `-`, `.`; the separator is `=`)"
            ));
        } else if skipping {
            // reported with its header
        } else if let Some(section) = raw.sections.last_mut() {
            section.entries.push(RawEntry {
                key: key.to_string(),
                value: value.trim().to_string(),
                line,
            });
        } else {
            err(format!("key `{key}` outside any section"));
        }
        if !skipping {
            normalized.push_str(t);
        }
        normalized.push('\n');
    }
    (raw, errors, normalized)
}

/// Reads the values with rust-ini (no quote or escape processing: values are taken literally, so
/// a hook command reaches the shell as written) and checks that it sees the same sections and keys.
fn read_values(normalized: &str, raw: &mut RawFile) -> Result<(), SyntaxError> {
    let opt = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: false,
    };
    let last_line = normalized.lines().count().max(1);
    let ini = Ini::load_from_str_opt(normalized, opt).map_err(|e| SyntaxError {
        line: e.line.clamp(1, last_line),
        message: format!("not readable as INI: {}", e.msg),
    })?;
    // Pair the pre-pass sections with rust-ini's by name and occurrence. One iterator per name, kept
    // across the loop: `section_all(..).nth(n)` for each section made this quadratic.
    let mut by_name: std::collections::HashMap<String, _> = Default::default();
    for section in &mut raw.sections {
        let props = by_name
            .entry(section.name.clone())
            .or_insert_with(|| ini.section_all(Some(section.name.as_str())))
            .next();
        let disagree = |line: usize| SyntaxError {
            line,
            message: "the line cannot be read unambiguously".into(),
        };
        let Some(props) = props else {
            return Err(disagree(section.line));
        };
        let mut it = props.iter();
        for entry in &mut section.entries {
            match it.next() {
                Some((k, v)) if k == entry.key => entry.value = v.to_string(),
                _ => return Err(disagree(entry.line)),
            }
        }
        if it.next().is_some() {
            return Err(disagree(section.line));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_sections_and_keys() {
        let text = "; comment\n[channel] \ndevice= eth1 \n  # indented comment\n testip= 192.0.2.1\n\n[network]\nchecktime= 10\n";
        let (raw, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(raw.sections.len(), 2);
        assert_eq!(raw.sections[0].line, 2);
        assert_eq!(
            raw.sections[0].entries[1],
            RawEntry {
                key: "testip".into(),
                value: "192.0.2.1".into(),
                line: 5
            }
        );
        assert_eq!(raw.sections[1].entries[0].line, 8);
    }

    #[test]
    fn repeated_sections_and_keys_stay_apart() {
        let text = "[channel]\ntestip=1\ntestip=2\n[channel]\ntestip=3\n";
        let (raw, errors) = parse(text);
        assert!(errors.is_empty());
        let values: Vec<_> = raw
            .sections
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.value.as_str()))
            .collect();
        assert_eq!(values, ["1", "2", "3"]);
    }

    #[test]
    fn syntax_errors_at_their_line() {
        let text = "[channel]\ndevice eth1\n[network\nchecktime=10\n=5\nx:y=1\n";
        let (_, errors) = parse(text);
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 5, 6]);
    }

    #[test]
    fn key_before_any_section() {
        let (_, errors) = parse("device= eth1\n[channel]\n");
        assert_eq!(errors[0].line, 1);
        assert!(errors[0].message.contains("outside any section"));
    }

    #[test]
    fn crlf_and_bom() {
        let (raw, errors) = parse("\u{feff}[network]\r\nchecktime= 10\r\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(raw.sections[0].entries[0].value, "10");
    }

    #[test]
    fn values_are_literal() {
        let (raw, errors) = parse("[policy]\nup= /bin/echo \"a b\" \\x ; not a comment\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            raw.sections[0].entries[0].value,
            "/bin/echo \"a b\" \\x ; not a comment"
        );
    }
}
