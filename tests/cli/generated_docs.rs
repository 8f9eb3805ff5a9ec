//! The committed man pages and completions must match what `cargo xtask gen` makes from the clap
//! definitions and the config key table, byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

const REGENERATE: &str = "run `cargo xtask gen` and commit man/ and completions/";

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["man", "completions"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries {
            let path = e.expect("readable entry").path();
            let name = format!(
                "{sub}/{}",
                path.file_name().expect("a name").to_string_lossy()
            );
            out.insert(name, std::fs::read(&path).expect("readable file"));
        }
    }
    out
}

#[test]
fn man_pages_and_completions_are_current() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    xtask::generate(tmp.path()).expect("generation succeeds");
    let fresh = files(tmp.path());
    let committed = files(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(fresh.contains_key("man/failoverctl.1"));
    assert!(fresh.contains_key("man/failoverctl-validate.1"));
    assert!(fresh.contains_key("man/failover.ini.5"));
    assert!(fresh.contains_key("completions/_failoverctl"));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&fresh),
        "generated files differ from the committed ones: {REGENERATE}"
    );
    for (name, content) in &fresh {
        assert!(committed[name] == *content, "{name} is stale: {REGENERATE}");
    }
    let example = "scripts/failover.ini.example";
    assert!(
        std::fs::read(tmp.path().join(example)).ok()
            == std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(example)).ok(),
        "{example} is stale: {REGENERATE}"
    );
}

/// Issue 11: the completions offered the hidden `peer-respond` (and the generator's subcommand).
#[test]
fn completions_leave_out_hidden_subcommands() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for file in ["failoverctl.bash", "_failoverctl", "failoverctl.fish"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("completion file");
        assert!(!text.contains("peer-respond"), "{file} offers peer-respond");
        assert!(text.contains("keygen"), "{file} lacks keygen");
    }
}

/// Issue 11: every page has the sections an operator looks for, and `run` documents its signals
/// and metrics.
#[test]
fn man_pages_have_the_operator_sections() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    for e in std::fs::read_dir(&dir).expect("man/") {
        let path = e.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("page");
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let wanted: &[&str] = if name == "failover.ini.5" {
            &["EXAMPLE", "FILES", "SEE ALSO"]
        } else {
            &["EXIT STATUS", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"]
        };
        for s in wanted {
            assert!(text.contains(&format!(".SH \"{s}\"")), "{name} lacks {s}");
        }
    }
    let run = std::fs::read_to_string(dir.join("failoverctl-run.1")).expect("run page");
    for needle in ["SIGNALS", "SIGHUP", "METRICS", "failoverctl_role", "FILES"] {
        assert!(run.contains(needle), "failoverctl-run.1 lacks {needle}");
    }
}
