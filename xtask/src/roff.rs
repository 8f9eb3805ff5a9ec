//! A few roff helpers for the hand-written sections of the man pages.

/// Escapes text for a roff body line: backslashes, hyphens (so `man` shows and copies a plain
/// minus), and a leading `.` or `'`, which roff would read as a request.
pub fn esc(text: &str) -> String {
    let s = text.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// Text where `` `code` `` spans become bold.
pub fn text(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("\\fB{}\\fR", esc(part)));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// A section heading.
pub fn sh(name: &str) -> String {
    format!(".SH \"{name}\"\n")
}

/// A paragraph.
pub fn pp(body: &str) -> String {
    format!(".PP\n{}\n", text(body))
}

/// A tagged paragraph: `tag` in bold, then `body`.
pub fn tp(tag: &str, body: &str) -> String {
    format!(".TP\n\\fB{}\\fR\n{}\n", esc(tag), text(body))
}

/// A literal block (no filling), as for examples and config files.
pub fn literal(lines: &str) -> String {
    let mut out = String::from(".PP\n.nf\n.RS 4\n");
    for l in lines.lines() {
        out.push_str(&esc(l));
        out.push('\n');
    }
    out.push_str(".RE\n.fi\n");
    out
}
