//! `failoverctl keygen`: a new random peer key, 32 bytes as 64 hex characters and a newline (what
//! `[sendconfig] key=` and `keyfile=` read), written with mode 0600; an existing file is kept unless
//! `--force`.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::exit::{ExitError, OK};

/// Key length: 32 bytes (256 bits), HMAC-SHA256's output size; within the 16..64 bytes accepted.
pub const KEY_BYTES: usize = 32;

/// The default key file, the one `example-config` names.
pub const DEFAULT_KEYFILE: &str = "/etc/failoverctl/peer.key";

/// Arguments of `failoverctl keygen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the key (mode 0600); `-` prints it on standard output (for `key=`).
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_KEYFILE)]
    pub out: PathBuf,
    /// Replace an existing key file (the peer needs the new key too).
    #[arg(long)]
    pub force: bool,
}

/// A new random key in hex, with its trailing newline.
pub fn new_key_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; KEY_BYTES];
    // The kernel's CSPRNG; blocks only before the pool is first seeded at boot.
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.push('\n');
    Ok(hex)
}

/// Writes `text` to `path` with mode 0600. Without `force` an existing file is an error; with it the
/// file is replaced atomically (a temporary file renamed over it), so the old mode does not survive.
pub fn write_key(path: &Path, text: &str, force: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let target = if force {
        path.with_extension(format!("tmp.{}", std::process::id()))
    } else {
        path.to_path_buf()
    };
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)?;
        // The umask cannot widen 0600, but an odd one could narrow it: set it explicitly.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    if force {
        std::fs::rename(&target, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&target);
        })?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let key =
        new_key_hex().map_err(|e| ExitError::usage(format!("cannot read /dev/urandom: {e}")))?;
    if args.out == Path::new("-") {
        print!("{key}");
        return Ok(OK);
    }
    write_key(&args.out, &key, args.force).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (it is kept; --force replaces it, and the peer then needs the new key)"
        } else {
            ""
        };
        ExitError::usage(format!("cannot write {}: {e}{hint}", args.out.display()))
    })?;
    eprintln!(
        "wrote a new peer key to {} (mode 0600); copy it to the peer's keyfile too",
        args.out.display()
    );
    Ok(OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_accepted_by_the_peer_protocol_and_differs_each_time() {
        let a = new_key_hex().expect("random");
        let b = new_key_hex().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_BYTES * 2 + 1);
        crate::peer::Key::from_hex(&a).expect("a valid key");
    }

    #[test]
    fn written_0600_and_not_overwritten_without_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/peer.key");
        write_key(&path, "one\n", false).expect("first write");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let err = write_key(&path, "two\n", false).expect_err("kept");
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "one\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_key(&path, "two\n", true).expect("forced");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two\n");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "--force leaves no wider mode behind");
    }
}
