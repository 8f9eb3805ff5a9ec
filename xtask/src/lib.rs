//! failoverctl's build-time tasks, kept out of the shipped binary: the man pages (one per visible
//! subcommand, with the operator's sections, and failover.ini(5) from the config key table) and
//! the bash, zsh and fish completions (without the hidden subcommands).
//!
//! `cargo xtask gen` writes them into `man/` and `completions/`; `tests/generated_docs.rs` fails
//! when the committed ones are stale.

mod pages;
mod roff;

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use failoverctl::config::keys::{KEYS, SECTIONS};
use failoverctl::metrics::METRICS;

use roff::{literal, pp, sh, text, tp};

/// The command without its hidden subcommands, for the completions.
fn visible_command() -> clap::Command {
    let full = failoverctl::cli::Cli::command();
    let visible: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut cmd = clap::Command::new("failoverctl")
        // A build-time tool: leaking one short string is simpler than clap's `string` feature.
        .version(full.get_version().map(|v| &*v.to_owned().leak()))
        .propagate_version(true)
        .subcommand_required(full.is_subcommand_required_set())
        .subcommands(visible);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    cmd
}

/// The operator's sections for the page of `name` (`""`: failoverctl(1)).
fn extra_sections(name: &str) -> String {
    let Some(p) = pages::PAGES.iter().find(|p| p.name == name) else {
        return String::new();
    };
    let mut out = String::new();
    for (title, body) in p.sections {
        out += &sh(title);
        out += &pp(body);
        if *title == "METRICS" {
            out += &metrics_list();
        }
    }
    out += &sh("EXIT STATUS");
    for (code, meaning) in p.exit {
        out += &tp(code, meaning);
    }
    if !p.signals.is_empty() {
        out += &sh("SIGNALS");
        for (sig, meaning) in p.signals {
            out += &tp(sig, meaning);
        }
    }
    out += &sh("ENVIRONMENT");
    if p.environment.is_empty() {
        out += &pp("No environment variable changes what this command does.");
    }
    for (var, meaning) in p.environment {
        out += &tp(var, meaning);
    }
    if !p.files.is_empty() {
        out += &sh("FILES");
        for (file, meaning) in p.files {
            out += &tp(file, meaning);
        }
    }
    out += &sh("EXAMPLES");
    for (cmd, what) in p.examples {
        out += &pp(what);
        out += &literal(cmd);
    }
    out += &sh("SEE ALSO");
    out += &format!("{}\n", text(&see_also(name, p.see_also)));
    out
}

fn see_also(name: &str, pages: &[&str]) -> String {
    let mut all: Vec<&str> = Vec::new();
    if !name.is_empty() {
        all.push("failoverctl(1)");
    }
    all.extend(pages.iter().copied());
    all.iter()
        .map(|p| match p.split_once('(') {
            Some((n, s)) => format!("`{n}`({s}"),
            None => format!("`{p}`"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn metrics_list() -> String {
    let mut out = String::new();
    for (name, kind, help) in METRICS {
        out += &tp(&format!("{name} ({kind})"), help);
    }
    out
}

/// Renders one command's page: clap_mangen's sections, then the operator's, before VERSION.
fn page(cmd: clap::Command, name: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    let rendered = String::from_utf8(buf).expect("clap_mangen writes UTF-8");
    let extra = extra_sections(name);
    let out = match rendered.find(".SH VERSION") {
        Some(at) => format!("{}{extra}{}", &rendered[..at], &rendered[at..]),
        None => format!("{rendered}{extra}"),
    };
    Ok(out.into_bytes())
}

/// failover.ini(5), from the key table and the annotated example.
pub fn config_page() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut out = format!(".TH FAILOVER.INI 5 \"\" \"failoverctl {version}\" \"File Formats\"\n");
    out += &sh("NAME");
    out += "failover.ini \\- configuration of a failoverctl gateway pair\n";
    out += &sh("SYNOPSIS");
    out += "\\fB/etc/failoverctl/failover.ini\\fR\n";
    out += &sh("DESCRIPTION");
    out += &pp("The `failover.ini` of ViPNet Failover, read unchanged by failoverctl(1), plus its extensions. The syntax is the original's: `[section]` headers, `key= value` lines, whole-line comments starting with `;` or `#` (no inline comments). Durations are seconds (the original) or humantime values such as `500ms` or `1s 500ms`; booleans are `yes`/`no` (the original) or `true`/`false`, `on`/`off`, `1`/`0`.");
    out += &pp("`[channel]` may repeat, one per reserved interface; `[network]`, `[sendconfig]` and `[policy]` appear at most once. Every key below is listed with its value, its default and its origin: \"source document\" for a key of the original, \"extension\" for failoverctl's. `failoverctl validate` checks a file and names the line of every problem.");
    for section in SECTIONS {
        out += &sh(&format!("[{}]", section.to_uppercase()));
        for k in KEYS.iter().filter(|k| k.section == *section) {
            out += &tp(
                &format!("{}=", k.key),
                &format!(
                    "{}. Value: {}. Default: {}. Origin: {}.",
                    upper_first(k.meaning),
                    k.kind,
                    k.default,
                    k.origin.as_str()
                ),
            );
        }
    }
    out += &sh("EXAMPLE");
    out += &pp("The annotated example, as printed by `failoverctl example-config` and installed as /etc/failoverctl/failover.ini.example by the package:");
    out += &literal(failoverctl::config::example::EXAMPLE);
    out += &sh("FILES");
    out += &tp(
        "/etc/failoverctl/failover.ini",
        "the configuration `failoverctl run` reads by default",
    );
    out += &tp(
        "/etc/failoverctl/failover.ini.example",
        "the annotated example (not read by anything)",
    );
    out += &tp(
        "/etc/failoverctl/peer.key",
        "the shared peer key named by `keyfile=`, made by `failoverctl keygen`",
    );
    out += &sh("SEE ALSO");
    out += &format!(
        "{}\n",
        text("`failoverctl`(1), `failoverctl-validate`(1), `failoverctl-example-config`(1), `failoverctl-keygen`(1), `failoverctl-run`(1)")
    );
    out
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Writes `DIR/man/` (failoverctl.1, one page per visible subcommand, failover.ini.5),
/// `DIR/completions/{failoverctl.bash,_failoverctl,failoverctl.fish}` and
/// `DIR/scripts/failover.ini.example` (the package's copy of `example-config`).
pub fn generate(out_dir: &Path) -> std::io::Result<()> {
    let man = out_dir.join("man");
    let completions = out_dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    let mut cmd = failoverctl::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_owned();
        if !pages::PAGES.iter().any(|p| p.name == name) {
            // A new subcommand gets its EXIT STATUS, EXAMPLES, ... before its page is written.
            return Err(std::io::Error::other(format!(
                "xtask/src/pages.rs has no operator sections for `{name}`"
            )));
        }
        let file = man.join(format!("failoverctl-{name}.1"));
        std::fs::write(file, page(sub.clone(), &name)?)?;
    }
    std::fs::write(man.join("failoverctl.1"), page(cmd, "")?)?;
    std::fs::write(man.join("failover.ini.5"), config_page())?;
    // The package installs the annotated example as /etc/failoverctl/failover.ini.example.
    let scripts = out_dir.join("scripts");
    std::fs::create_dir_all(&scripts)?;
    std::fs::write(
        scripts.join("failover.ini.example"),
        failoverctl::config::example::EXAMPLE,
    )?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = visible_command();
        clap_complete::generate_to(shell, &mut cmd, "failoverctl", &completions)?;
    }
    Ok(())
}
