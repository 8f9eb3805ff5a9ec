//! `cargo xtask gen [--out-dir DIR]`: regenerates man/ and completions/ (default: the repository).

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--out-dir", Some(dir)) => out = PathBuf::from(dir),
            _ => usage(),
        }
    }
    match task.as_deref() {
        Some("gen") => {
            if let Err(e) = xtask::generate(&out) {
                eprintln!("xtask gen: cannot write into {}: {e}", out.display());
                std::process::exit(1);
            }
        }
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: cargo xtask gen [--out-dir DIR]   (man pages and shell completions)");
    std::process::exit(2);
}
