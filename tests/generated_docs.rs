//! The committed man pages and completions must match the clap definitions byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

const REGENERATE: &str = "run `cargo run -- generate --out-dir .` and commit man/ and completions/";

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
    failoverctl::cli::generate::generate(tmp.path()).expect("generation succeeds");
    let fresh = files(tmp.path());
    let committed = files(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(fresh.contains_key("man/failoverctl.1"));
    assert!(fresh.contains_key("man/failoverctl-validate.1"));
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
}
