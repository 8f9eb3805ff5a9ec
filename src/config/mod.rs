//! `failover.ini`: the raw text (with line numbers), its validation, and the validated [`Config`].
//!
//! Raw input is validated without touching the system; checks against the host (`--check-host`)
//! come after, in [`host`]. Entry points: [`load`] and [`parse_str`].

pub mod diagnostic;
pub mod example;
pub mod host;
pub mod keyfile;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod raw;
pub mod validate;
pub mod value;

pub use diagnostic::{Diagnostic, Severity};
pub use model::*;

use std::path::{Path, PathBuf};

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file was read but is not a valid config: every error found, plus the warnings.
    #[error("{}", diagnostic::render_all(.diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
    /// The file could not be read at all.
    #[error("cannot read {}: {source}", validate::display_name(.path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    /// The diagnostics of an invalid config (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid { diagnostics } => diagnostics,
            ConfigError::Io { .. } => &[],
        }
    }
}

/// Reads and validates a config file; `-` reads standard input. On success, returns the config
/// and its warnings.
pub fn load(path: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let what = "a config file";
    let bytes = if path == Path::new("-") {
        limits::read_limited(std::io::stdin().lock(), limits::MAX_CONFIG_BYTES, what)
    } else {
        std::fs::File::open(path)
            .and_then(|f| limits::read_limited(f, limits::MAX_CONFIG_BYTES, what))
    }
    .map_err(io)?;
    parse_bytes(&bytes, path)
}

/// Validates config bytes; text that is not UTF-8 is reported at the line of the first bad byte.
pub fn parse_bytes(bytes: &[u8], source: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text, source),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            Err(ConfigError::Invalid {
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    file: validate::display_name(source),
                    line,
                    section: None,
                    ident: None,
                    key: None,
                    message: "not valid UTF-8 text".into(),
                    suggestion: None,
                }],
            })
        }
    }
}

/// Validates config text; `source` names it in messages (`-` for standard input).
pub fn parse_str(text: &str, source: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    let (raw, syntax) = raw::parse(text);
    match validate::validate(&raw, &syntax, source) {
        (Some(config), diagnostics) => Ok((config, diagnostics)),
        (None, diagnostics) => Err(ConfigError::Invalid { diagnostics }),
    }
}
