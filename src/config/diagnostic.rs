//! One finding about a config file, located compiler-style (file:line, section, key), for people and JSON.

use serde::Serialize;
use std::fmt;

/// How bad a finding is. Errors make a config invalid; warnings only fail `validate --strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A finding, rendered `file:line: error: [channel if-1] testip: message (did you mean `x`?)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file as named on the command line (`<stdin>` for `-`).
    pub file: String,
    /// 1-based line; 0 when the finding concerns the whole file (e.g. "no [channel] section").
    pub line: usize,
    /// The section name without brackets (`channel`, `network`, ...), if the finding is inside one.
    pub section: Option<String>,
    /// The channel's ident (its `ident=`, else its `device=`, else `#N`), for `[channel]` findings.
    pub ident: Option<String>,
    /// The key concerned, if any.
    pub key: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// A likely intended spelling or value ("did you mean").
    pub suggestion: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// One line; control characters from the file (a key, a value, an ident) are shown escaped
    /// (`\u{1b}`), so a config cannot drive the terminal that reads its diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        let mut line = String::new();
        if self.line > 0 {
            write!(line, "{}:{}: {}: ", self.file, self.line, self.severity)?;
        } else {
            write!(line, "{}: {}: ", self.file, self.severity)?;
        }
        match (&self.section, &self.ident) {
            (Some(s), Some(i)) => write!(line, "[{s} {i}] ")?,
            (Some(s), None) => write!(line, "[{s}] ")?,
            _ => {}
        }
        if let Some(k) = &self.key {
            write!(line, "{k}: ")?;
        }
        line.push_str(&self.message);
        if let Some(s) = &self.suggestion {
            write!(line, " (did you mean `{s}`?)")?;
        }
        for c in line.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Words (runs without whitespace or backticks) longer than this are shortened in diagnostics.
const LONG_WORD_BYTES: usize = 120;
/// What is kept of a shortened word.
const KEPT_CHARS: usize = 40;

/// `text` with every word over [`LONG_WORD_BYTES`] cut to its start and its length, so a diagnostic
/// that quotes a 200 KB value (a typo, a pasted blob) stays one readable line: ``aaaa…(200000
/// bytes)``. Shorter text is returned unchanged.
pub fn shorten_long_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * LONG_WORD_BYTES));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.len() > LONG_WORD_BYTES {
            out.extend(word.chars().take(KEPT_CHARS));
            out.push_str(&format!("…({} bytes)", word.len()));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || c == '`' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Renders a list of diagnostics, one per line, with a closing count.
pub fn render_all(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: usize) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: "f.ini".into(),
            line,
            section: Some("channel".into()),
            ident: Some("if-1".into()),
            key: Some("tesip".into()),
            message: "unknown key".into(),
            suggestion: Some("testip".into()),
        }
    }

    #[test]
    fn renders_compiler_style() {
        assert_eq!(
            diag(7).to_string(),
            "f.ini:7: error: [channel if-1] tesip: unknown key (did you mean `testip`?)"
        );
        assert_eq!(
            diag(0).to_string(),
            "f.ini: error: [channel if-1] tesip: unknown key (did you mean `testip`?)"
        );
    }

    /// Regression: a 200 KB value was quoted whole, one 200 KB line per finding.
    #[test]
    fn long_words_are_cut_to_their_start_and_length() {
        let long = "9".repeat(200_000);
        let short = shorten_long_words(&format!("`{long}s` is not a duration"));
        assert_eq!(
            short,
            format!("`{}…(200001 bytes)` is not a duration", "9".repeat(40))
        );
        let plain = "`/etc/failoverctl/peer.key` is fine, ünïcödé too";
        assert_eq!(shorten_long_words(plain), plain);
        // Cut on a character boundary, counted in bytes.
        assert!(shorten_long_words(&"é".repeat(100)).ends_with("…(200 bytes)"));
    }

    /// Found by testing: an escape sequence in a key went to the terminal as it was.
    #[test]
    fn control_characters_are_shown_escaped() {
        let mut d = diag(3);
        d.key = Some("foo\u{1b}]0;pwned\u{7}".into());
        d.message = "unknown key\u{0}".into();
        let text = d.to_string();
        assert!(!text.contains(char::is_control), "{text:?}");
        assert!(
            text.contains("foo\\u{1b}]0;pwned\\u{7}: unknown key\\u{0}"),
            "{text}"
        );
    }

    #[test]
    fn render_all_counts() {
        let text = render_all(&[diag(1), diag(2)]);
        assert!(text.ends_with("2 error(s), 0 warning(s)"), "{text}");
    }
}
