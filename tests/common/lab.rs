//! The network-namespace lab (`scripts/netlab.sh`) from Rust tests: a uniquely named lab per test,
//! removed on drop, also when the test panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// True when the lab can run. Without root: a loud skip, unless `CI` is set, where it is a failure.
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: the network-namespace lab needs root, and CI is set: refusing to skip");
    }
    eprintln!("SKIPPED {test}: the network-namespace lab needs root (run the tests as root)");
    false
}

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/netlab.sh")
}

/// A running lab; `Drop` removes every namespace it made.
pub struct Lab {
    pub name: String,
}

impl Lab {
    /// Brings a new lab up under a name unique to this process and call.
    pub fn up() -> Lab {
        let name = format!(
            "fl{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // Constructed before the script runs so a half-built lab is removed too.
        let lab = Lab { name };
        let out = Command::new("bash")
            .arg(script())
            .args(["up", &lab.name])
            .output()
            .expect("run scripts/netlab.sh up");
        assert!(
            out.status.success(),
            "netlab up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    /// A new lab with IPv6 too (`netlab.sh ipv6`): 2001:db8:1::/64 on LAN 1 and 2001:db8:2::/64 on
    /// LAN 2, same host numbers as IPv4 (a ::11, b ::12, th ::1, cl ::100), no duplicate address
    /// detection.
    pub fn up_ipv6() -> Lab {
        let lab = Lab::up();
        lab.script(&["ipv6", &lab.name]);
        lab
    }

    /// The namespace of `node` (a, b, th, cl, s1, s2).
    pub fn ns(&self, node: &str) -> String {
        format!("{}-{node}", self.name)
    }

    /// A command that runs `program` inside `node`'s namespace (`ip netns exec`, which also remounts
    /// /sys so sysfs counters are the namespace's own).
    pub fn command(&self, node: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(node)]).arg(program);
        c
    }

    /// Runs a command inside `node`'s namespace and returns its output.
    pub fn run(&self, node: &str, args: &[&str]) -> Output {
        let (program, rest) = args.split_first().expect("a command");
        self.command(node, program)
            .args(rest)
            .output()
            .expect("run command in namespace")
    }

    /// Runs a command inside `node`'s namespace and asserts it succeeded.
    pub fn ok(&self, node: &str, args: &[&str]) -> String {
        let out = self.run(node, args);
        assert!(
            out.status.success(),
            "{args:?} in {node} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the failoverctl binary under test inside `node`'s namespace.
    pub fn failoverctl(&self, node: &str) -> Command {
        self.command(node, assert_cmd::cargo::cargo_bin("failoverctl"))
    }

    /// Spawns a long-running command in `node`'s namespace with its output captured.
    pub fn spawn(&self, node: &str, args: &[&str]) -> Child {
        let (program, rest) = args.split_first().expect("a command");
        self.command(node, program)
            .args(rest)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace")
    }

    /// Drops all of `node`'s traffic at the switches; its carrier stays up (a hung host).
    pub fn silence(&self, node: &str) {
        self.script(&["silence", &self.name, node]);
    }

    pub fn unsilence(&self, node: &str) {
        self.script(&["unsilence", &self.name, node]);
    }

    /// Random loss at every switch port, in and out: each frame is dropped with `permyriad` in
    /// 10,000 at its way in and again at its way out (0 removes the rules).
    #[allow(dead_code)]
    pub fn loss(&self, permyriad: u32) {
        self.script(&["loss", &self.name, &permyriad.to_string()]);
    }

    /// Sets `dev` of `node` down or up (carrier lost on both ends of the veth).
    pub fn link(&self, node: &str, dev: &str, up: bool) {
        self.ok(
            node,
            &["ip", "link", "set", dev, if up { "up" } else { "down" }],
        );
    }

    fn script(&self, args: &[&str]) {
        let out = Command::new("bash")
            .arg(script())
            .args(args)
            .output()
            .expect("run scripts/netlab.sh");
        assert!(
            out.status.success(),
            "netlab {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["down", &self.name])
            .status();
    }
}
