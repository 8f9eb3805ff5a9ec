//! Documented, stable exit codes shared by every subcommand (see README "Exit codes").

/// Everything checked is healthy / the command did what was asked.
pub const OK: i32 = 0;
/// A finding: invalid config, a failed channel, a failed check.
pub const FAILED: i32 = 1;
/// Usage, privilege or environment error.
pub const USAGE: i32 = 2;

/// An error that carries the exit code it should end the process with.
#[derive(Debug)]
pub struct ExitError {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for ExitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

impl ExitError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(FAILED, message)
    }
}
