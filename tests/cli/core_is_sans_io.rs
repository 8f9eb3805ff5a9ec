//! The decision core and the peer protocol take time as a value and do no I/O: this scans
//! `src/core/**/*.rs` and `src/peer/**/*.rs` for the names of clocks, sockets, files, processes and
//! network crates.

use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "std::net::UdpSocket",
    "std::time::Instant::now",
    "SystemTime",
    "std::thread::sleep",
    "std::fs",
    "std::process",
    "socket2",
    "pnet",
    "netlink",
    "nix::",
    "crate::net",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the source folder is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_names_no_clock_socket_file_or_process() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() >= 5,
        "expected the core's files, found {files:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source is UTF-8");
        for word in FORBIDDEN {
            if text.contains(word) {
                found.push(format!("{}: {word}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the core must stay sans-IO:\n{}",
        found.join("\n")
    );
}

/// The forbidden names found in `files`.
fn forbidden_in(files: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("source is UTF-8");
        for word in FORBIDDEN {
            if text.contains(word) {
                found.push(format!("{}: {word}", file.display()));
            }
        }
    }
    found
}

#[test]
fn the_peer_protocol_names_no_clock_socket_file_or_process() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/peer");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() >= 3, "expected the peer files, found {files:?}");
    let found = forbidden_in(&files);
    assert!(
        found.is_empty(),
        "the peer protocol must stay sans-IO:\n{}",
        found.join("\n")
    );
}
