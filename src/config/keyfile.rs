//! The `[sendconfig] keyfile` on this host: missing, unreadable, not a key, or readable by group or
//! others. `validate` reports it (an error with `--check-host`, a warning without); `run` refuses to
//! start with `requirepeer` and no usable key rather than silently running without the peer
//! protocol. Read-only: nothing here changes a file.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::diagnostic::{Diagnostic, Severity};
use super::model::{Config, PeerKey};
use super::validate::display_name;

/// Group and other permission bits that let anyone but the owner read the key.
const NOT_OWNER_READ: u32 = 0o044;

/// What is wrong with the keyfile at `path`, if anything: one sentence each.
pub fn problems(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.push(format!(
                "keyfile {} does not exist (create it with `failoverctl keygen --out {}`)",
                path.display(),
                path.display()
            ));
            return out;
        }
        Err(e) => {
            out.push(format!("keyfile {}: {e}", path.display()));
            return out;
        }
        Ok(meta) if !meta.is_file() => {
            // A directory, device or FIFO: its mode says nothing, and reading it could block.
            out.push(format!("keyfile {} is not a regular file", path.display()));
            return out;
        }
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & NOT_OWNER_READ != 0 {
                out.push(format!(
                    "keyfile {} is readable by group or others (mode {mode:04o}); `chmod 600` it",
                    path.display()
                ));
            }
        }
    }
    if let Err(e) = PeerKey::File(path.to_path_buf()).load() {
        let denied = matches!(&e, super::model::PeerKeyError::Read { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied);
        if denied && !nix::unistd::geteuid().is_root() {
            // A root-only key is right; the check just ran as another user.
            out.push(format!(
                "{e} (the daemon reads it as root: run this check as root)"
            ));
        } else {
            out.push(e.to_string());
        }
    }
    out
}

/// `validate`'s findings about the keyfile: errors with `--check-host`, warnings without.
pub fn check(config: &Config, check_host: bool) -> Vec<Diagnostic> {
    let Some(PeerKey::File(path)) = config
        .sendconfig
        .as_ref()
        .and_then(|s| s.peerlink.key.as_ref())
    else {
        return vec![];
    };
    let severity = if check_host {
        Severity::Error
    } else {
        Severity::Warning
    };
    problems(path)
        .into_iter()
        .map(|message| Diagnostic {
            severity,
            file: display_name(&config.source),
            line: 0,
            section: Some("sendconfig".to_string()),
            ident: None,
            key: Some("keyfile".to_string()),
            message,
            suggestion: None,
        })
        .collect()
}

/// For `run`: with `requirepeer` and a key configured, the key must load, since a daemon without the
/// peer protocol would act on failures its peer could have vetoed. The error names the fix.
pub fn require_for_run(config: &Config) -> Result<(), String> {
    let Some(key) = config
        .sendconfig
        .as_ref()
        .and_then(|s| s.peerlink.key.as_ref())
    else {
        return Ok(());
    };
    match key.load() {
        Ok(_) => Ok(()),
        Err(e) if config.policy.requirepeer => Err(format!(
            "{e}: requirepeer= yes needs the peer protocol's key; create it with `failoverctl keygen \
             --out PATH` (the same key on both nodes) or set requirepeer= no"
        )),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const KEY: &str = "00112233445566778899aabbccddeeff";

    fn config_with_keyfile(path: &Path, requirepeer: bool) -> Config {
        let text = format!(
            "[channel]\ndevice= eth1\nactiveip= 192.0.2.10\npassiveip= 192.0.2.11\ntestip= 192.0.2.1\n\
             testip= 192.0.2.2\n[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\nkeyfile= {}\n\
             [policy]\nrequirepeer= {}\n",
            path.display(),
            if requirepeer { "yes" } else { "no" }
        );
        super::super::parse_str(&text, Path::new("t.ini"))
            .expect("valid config")
            .0
    }

    fn write_key(path: &Path, text: &str, mode: u32) {
        fs::write(path, text).expect("write key");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn missing_keyfile_is_a_warning_without_check_host_and_an_error_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = config_with_keyfile(&dir.path().join("peer.key"), true);
        let soft = check(&cfg, false);
        assert_eq!(soft.len(), 1, "{soft:?}");
        assert_eq!(soft[0].severity, Severity::Warning);
        assert!(soft[0].message.contains("does not exist"), "{}", soft[0]);
        let hard = check(&cfg, true);
        assert_eq!(hard[0].severity, Severity::Error);
    }

    #[test]
    fn keyfile_readable_by_others_or_not_a_key_is_reported_and_a_good_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("peer.key");
        let cfg = config_with_keyfile(&path, true);
        write_key(&path, &format!("{KEY}\n"), 0o644);
        let d = check(&cfg, true);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("mode 0644"), "{}", d[0]);
        write_key(&path, "not hex\n", 0o600);
        let d = check(&cfg, false);
        assert!(d[0].message.contains("not hexadecimal"), "{}", d[0]);
        write_key(&path, &format!("{KEY}\n"), 0o600);
        assert!(check(&cfg, true).is_empty());
        assert!(require_for_run(&cfg).is_ok());
    }

    /// Regression: the key was read whole and blocking, so `keyfile= /dev/zero` made `run` grow
    /// until out of memory and a FIFO kept it from ever starting.
    #[test]
    fn a_keyfile_that_is_not_a_regular_file_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo.key");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let cfg = config_with_keyfile(path, true);
            let err = require_for_run(&cfg).expect_err("refused");
            assert!(err.contains("not a regular file"), "{err}");
            let d = check(&cfg, true);
            assert_eq!(d.len(), 1, "{d:?}");
            assert!(d[0].message.contains("is not a regular file"), "{}", d[0]);
        }
        let big = dir.path().join("big.key");
        write_key(&big, &"0".repeat(1 << 20), 0o600);
        let err = require_for_run(&config_with_keyfile(&big, true)).expect_err("refused");
        assert!(err.contains("larger than the 4 KiB limit"), "{err}");
    }

    #[test]
    fn run_refuses_requirepeer_with_an_unreadable_key_but_not_without_requirepeer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent.key");
        let err = require_for_run(&config_with_keyfile(&path, true)).expect_err("refused");
        assert!(
            err.contains("requirepeer") && err.contains("keygen"),
            "{err}"
        );
        assert!(require_for_run(&config_with_keyfile(&path, false)).is_ok());
    }
}
