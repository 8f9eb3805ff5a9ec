//! Two failoverctl daemons in the lab: per-node configs written to a temp dir, daemons started in
//! their namespaces with their log in a file, helpers to wait for a node to own the activeip.

use super::lab::Lab;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub const ACTIVEIP: &str = "192.0.2.10";

/// The source document's total outage for the lab config, computed by the library from the config
/// itself: checktime × 2 + timeout × (channelretries + activeretries).
pub fn outage_bound() -> Duration {
    let text = config("a", "").replace("@DIR@", "/tmp");
    let (cfg, _) = failoverctl::config::parse_str(&text, std::path::Path::new("a.ini"))
        .expect("the lab config is valid");
    failoverctl::core::timing::total_outage(&cfg.network)
}

/// The config of `node` (a or b): `scripts/netlab.sh config` (both lab channels, two test hosts
/// each, the lab timing above, the peer's sync address) with `policy` lines appended to `[policy]`.
/// Its files live under `@DIR@`, which [`Daemon::start`] replaces with the test's directory.
pub fn config(node: &str, policy: &str) -> String {
    let out = std::process::Command::new("bash")
        .arg(super::lab::script())
        .args(["config", node, "@DIR@"])
        .args(policy.lines().filter(|l| !l.trim().is_empty()))
        .output()
        .expect("run scripts/netlab.sh config");
    assert!(out.status.success(), "netlab config failed");
    String::from_utf8(out.stdout).expect("the config is text")
}

/// One daemon under test.
pub struct Daemon {
    pub node: String,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// Writes `config_text` and starts `failoverctl <command> -c` inside `node`, with `extra` args.
    pub fn start(
        lab: &Lab,
        dir: &std::path::Path,
        node: &str,
        command: &str,
        config_text: &str,
        extra: &[&str],
    ) -> Daemon {
        let config = dir.join(format!("{node}.ini"));
        let text = config_text.replace("@DIR@", &dir.display().to_string());
        std::fs::write(&config, text).expect("write config");
        let mut d = Daemon {
            node: node.to_owned(),
            dir: dir.to_path_buf(),
            child: None,
        };
        d.spawn(lab, command, extra);
        d
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(format!("{}.ini", self.node))
    }
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(format!("{}.state", self.node))
    }
    /// Where the injected reboot command writes a line per "reboot".
    pub fn reboots_path(&self) -> PathBuf {
        self.dir.join(format!("{}.reboots", self.node))
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.node))
    }

    /// (Re)starts the daemon, appending to its log.
    pub fn spawn(&mut self, lab: &Lab, command: &str, extra: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open daemon log");
        let child = lab
            .failoverctl(&self.node)
            .arg(command)
            .arg("-c")
            .arg(self.config_path())
            .arg("--state-file")
            .arg(self.state_path())
            .args(extra)
            // Never the real reboot(2): it would reboot the whole machine, namespace or not.
            .env(
                "FAILOVERCTL_REBOOT_COMMAND",
                format!("echo reboot >> {}", self.reboots_path().display()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start failoverctl");
        self.child = Some(child);
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.as_ref().expect("running").id() as i32)
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), sig).expect("signal our own daemon");
    }

    /// SIGKILL and reap: the daemon dies without releasing anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits at most `limit` for the daemon to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        let child = self.child.as_mut()?;
        while Instant::now() < end {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            // Our own child, ended by PID: SIGTERM first so it releases, then SIGKILL.
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let end = Instant::now() + Duration::from_secs(2);
            while Instant::now() < end {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Does `node` hold `address` right now?
pub fn holds(lab: &Lab, node: &str, address: &str) -> bool {
    let out = lab.run(node, &["ip", "-o", "-4", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {address}/"))
}

/// Waits at most `limit` for `cond`; how long it took.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// True when `ok` held at every poll (every 20 ms) for the whole `window`: an absence (no takeover,
/// no second holder) is watched for the window, not slept through and looked at once.
pub fn throughout(window: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if !ok() {
            return false;
        }
        if start.elapsed() >= window {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lab config with heartbeats every 100 ms and `policy` lines; `key: false` drops the peer key
/// (the fast-path and matrix lab tests).
pub fn config_with_heartbeats(node: &str, policy: &str, key: bool) -> String {
    let text = config(node, policy).replace(
        "channelretries= 3\n",
        "channelretries= 3\nsynctime= 100ms\n",
    );
    if key {
        text
    } else {
        text.lines()
            .filter(|l| !l.starts_with("key="))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

/// Starts a with `text_a` until it owns the activeip, then b with `text_b`, which must stay
/// passive (watched for 800 ms, several checks).
pub fn start_pair(
    lab: &crate::common::lab::Lab,
    dir: &std::path::Path,
    text_a: &str,
    text_b: &str,
) -> (Daemon, Daemon) {
    let a = Daemon::start(lab, dir, "a", "run", text_a, &[]);
    let took = wait_for(Duration::from_secs(5), || holds(lab, "a", ACTIVEIP));
    assert!(took.is_some(), "a never took over alone:\n{}", a.log());
    let b = Daemon::start(lab, dir, "b", "run", text_b, &[]);
    assert!(
        throughout(Duration::from_millis(800), || !holds(lab, "b", ACTIVEIP)),
        "b took over beside a live active:\n{}",
        b.log()
    );
    (a, b)
}

/// LAN 1's activeip in the lab's IPv6 form (`Lab::up_ipv6`).
pub const ACTIVEIP6: &str = "2001:db8:1::10";
/// LAN 2's.
pub const ACTIVEIP6_2: &str = "2001:db8:2::10";

/// The lab config of `node` with both channels in IPv6 (`2001:db8:1::/64` on eth1,
/// `2001:db8:2::/64` on eth2, the same host numbers); the sync link stays IPv4.
pub fn config6(node: &str, policy: &str) -> String {
    lan2_to_ipv6(&config(node, policy))
        .replace("192.0.2.", "2001:db8:1::")
        .replace("/24", "/64")
}

/// The lab config of `node` with LAN 1 in IPv4 and LAN 2 in IPv6: a dual-stack pair.
pub fn config_dual(node: &str, policy: &str) -> String {
    lan2_to_ipv6(&config(node, policy))
}

fn lan2_to_ipv6(text: &str) -> String {
    text.replace("198.51.100.10/24", "2001:db8:2::10/64")
        .replace("198.51.100.", "2001:db8:2::")
}

/// Does `node` hold the IPv6 `address` right now?
pub fn holds6(lab: &Lab, node: &str, address: &str) -> bool {
    let out = lab.run(node, &["ip", "-o", "-6", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {address}/"))
}

/// As [`start_pair`], for the IPv6 pair: a alone until it owns LAN 1's IPv6 activeip, then b,
/// which stays passive.
pub fn start_pair6(
    lab: &Lab,
    dir: &std::path::Path,
    text_a: &str,
    text_b: &str,
) -> (Daemon, Daemon) {
    let a = Daemon::start(lab, dir, "a", "run", text_a, &[]);
    let took = wait_for(Duration::from_secs(5), || holds6(lab, "a", ACTIVEIP6));
    assert!(took.is_some(), "a never took over alone:\n{}", a.log());
    let b = Daemon::start(lab, dir, "b", "run", text_b, &[]);
    assert!(
        throughout(Duration::from_millis(800), || !holds6(lab, "b", ACTIVEIP6)),
        "b took over beside a live active:\n{}",
        b.log()
    );
    (a, b)
}
