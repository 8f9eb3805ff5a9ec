//! The config corpus: the source document's file parses unchanged; each file under `configs/bad`
//! fails with exactly the errors its `# expect: LINE KEY` header lists (`-` for no key); each file
//! under `configs/warn` is valid with exactly the warnings its header lists.

use failoverctl::config::{self, Diagnostic, FailureAction, PolicyMode, Severity};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn corpus(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ini"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
}

/// The `# expect:` header as (line, key) pairs.
fn expected(path: &Path) -> Vec<(usize, Option<String>)> {
    let text = std::fs::read_to_string(path).expect("readable corpus file");
    let out: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|e| {
            let (line, key) = e.split_once(' ').expect("`# expect: LINE KEY`");
            let key = (key != "-").then(|| key.to_string());
            (line.parse().expect("a line number"), key)
        })
        .collect();
    assert!(!out.is_empty(), "{} has no # expect header", path.display());
    out
}

fn located(diags: &[Diagnostic], severity: Severity) -> Vec<(usize, Option<String>)> {
    diags
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| (d.line, d.key.clone()))
        .collect()
}

#[test]
fn source_document_config_parses_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/source-document.ini");
    let (config, warnings) = config::load(&path).expect("the source document's file is valid");
    let c = &config.channels[0];
    assert_eq!(config.channels.len(), 1);
    assert_eq!((c.device.as_str(), c.ident.as_str()), ("eth1", "if-1"));
    assert_eq!(c.activeip, Ipv4Addr::new(192, 168, 10, 50));
    assert_eq!(c.passiveip, Ipv4Addr::new(192, 168, 10, 51));
    assert_eq!(c.testips, [Ipv4Addr::new(192, 168, 10, 1)]);
    assert_eq!(c.prefix, None);
    assert!(c.checkonlyidle);
    assert_eq!(c.line, 1);
    let n = &config.network;
    assert_eq!(n.checktime, Duration::from_secs(10));
    assert_eq!(n.timeout, Duration::from_secs(2));
    assert_eq!((n.activeretries, n.channelretries), (3, 3));
    assert_eq!(n.synctime, Duration::from_secs(5));
    assert!(n.fastdown);
    let s = config.sendconfig.as_ref().expect("[sendconfig] present");
    assert_eq!((s.device.as_str(), s.peerip), ("eth0", None));
    assert_eq!(config.policy.mode, PolicyMode::Improved);
    assert_eq!(config.policy.onfailure, FailureAction::Demote);
    // The single test host and the missing peerip are worth a warning, not an error.
    let keys: Vec<_> = warnings.iter().filter_map(|w| w.key.as_deref()).collect();
    assert_eq!(keys, ["testip", "peerip"], "{warnings:#?}");
    assert_eq!(warnings[1].line, 17, "the [sendconfig] header");
    assert_eq!(warnings[0].line, 5);
}

#[test]
fn bad_configs_fail_at_the_expected_lines() {
    let mut failures = Vec::new();
    for path in corpus("bad") {
        let err = match config::load(&path) {
            Ok(_) => {
                failures.push(format!("{} should be invalid", path.display()));
                continue;
            }
            Err(e) => e,
        };
        let diags = err.diagnostics();
        let got = located(diags, Severity::Error);
        if got != expected(&path) {
            failures.push(format!("expected {:?}, got:\n{err}", expected(&path)));
        }
        for d in diags {
            assert_eq!(d.file, path.display().to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn warning_configs_are_valid_with_the_expected_warnings() {
    for path in corpus("warn") {
        let (_, warnings) = config::load(&path)
            .unwrap_or_else(|e| panic!("{} should be valid:\n{e}", path.display()));
        let got: Vec<_> = located(&warnings, Severity::Warning)
            .into_iter()
            .filter(|w| expected(&path).contains(w))
            .collect();
        assert_eq!(got, expected(&path), "{}: {warnings:#?}", path.display());
    }
}

#[test]
fn unknown_key_suggests_the_known_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/bad/unknown-key.ini");
    let err = config::load(&path).expect_err("invalid");
    let d = err
        .diagnostics()
        .iter()
        .find(|d| d.key.as_deref() == Some("tesip"))
        .expect("the unknown key is reported");
    assert_eq!(d.suggestion.as_deref(), Some("testip"));
    assert_eq!(d.ident.as_deref(), Some("if-1"));
    assert!(
        d.to_string()
            .ends_with(":7: error: [channel if-1] tesip: unknown key (did you mean `testip`?)"),
        "{d}"
    );
}

#[test]
fn all_problems_in_one_run() {
    let text = "[channel]\ndevice= eth1\nactiveip= 1.2.3\npassiveip= x\ntestip= y\n[network]\ntimeout= z\n";
    let err = config::parse_str(text, Path::new("m.ini")).expect_err("invalid");
    let lines: Vec<_> = located(err.diagnostics(), Severity::Error)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(lines, [3, 4, 5, 7]);
}

#[test]
fn extensions_parse() {
    let text = "[channel]\ndevice= eth1\nactiveip= 192.0.2.50/24\npassiveip= 192.0.2.51/24\n\
                testip= 192.0.2.1 192.0.2.2\ntestip= 192.0.2.3\n\
                [network]\nchecktime= 1s 500ms\ntimeout= 500ms\nfastdown= off\n\
                [sendconfig]\ndevice= eth0\npeerip= 203.0.113.2\n\
                [policy]\nmode= classic\nonfailure= exec:/usr/local/sbin/x --flag\nmaxfailovers= 2\n";
    let (config, warnings) = config::parse_str(text, Path::new("e.ini")).expect("valid");
    let c = &config.channels[0];
    assert_eq!(c.prefix, Some(24));
    assert_eq!(c.testips.len(), 3);
    assert_eq!(c.ident, "eth1", "ident defaults to the device");
    assert_eq!(config.network.checktime, Duration::from_millis(1500));
    assert!(!config.network.fastdown);
    let p = &config.policy;
    assert_eq!(p.mode, PolicyMode::Classic);
    assert_eq!(
        p.onfailure,
        FailureAction::Exec("/usr/local/sbin/x --flag".into())
    );
    assert_eq!(p.maxfailovers, 2, "an explicit key overrides the mode");
    assert!(!p.requirepeer, "classic default");
    // classic's testhosts=all with several hosts is worth a warning.
    assert!(warnings.iter().any(|w| w.key.as_deref() == Some("testip")));
}

/// Issue 12: the IPv6 and dual-stack examples are valid, with no warning at all.
#[test]
fn ipv6_and_dual_stack_examples_are_valid() {
    for (name, families) in [
        ("ipv6.ini", vec![false]),
        ("dual-stack.ini", vec![true, false, false]),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/configs")
            .join(name);
        let (config, warnings) = config::load(&path).expect("valid");
        assert!(warnings.is_empty(), "{name}: {warnings:#?}");
        let got: Vec<bool> = config
            .channels
            .iter()
            .map(|c| c.activeip.is_ipv4())
            .collect();
        assert_eq!(got, families, "{name}");
        for c in &config.channels {
            let v4 = c.activeip.is_ipv4();
            assert!(c.passiveip.is_ipv4() == v4 && c.testips.iter().all(|t| t.is_ipv4() == v4));
        }
    }
}
