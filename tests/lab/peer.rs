//! The peer protocol in the lab: b answers with `peer-respond`, a asks with `peer-check` over the sync
//! link. b reports what it reaches; a dead test host is reported unreached; a wrong key, a replayed
//! datagram and garbage are dropped and counted by b, never answered.

use crate::common;
use common::lab::{root_or_skip, Lab};
use failoverctl::peer::{open, seal, Body, Key, Message, Query, ReplayGuard, Role};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const KEY: &str = "6a1f0c33b2e54d7e9a0b1c2d3e4f5061728394a5b6c7d8e9f001122334455667";
const OTHER_KEY: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/// One node's config: both lab LANs, its own passiveips, the sync link to the other node.
fn config(own: u8, peer: u8, key: &str) -> String {
    format!(
        "[channel]\nident= lan1\ndevice= eth1\nactiveip= 192.0.2.10/24\npassiveip= 192.0.2.{own}/24\n\
         testip= 192.0.2.1\n\n\
         [channel]\nident= lan2\ndevice= eth2\nactiveip= 198.51.100.10/24\npassiveip= 198.51.100.{own}/24\n\
         testip= 198.51.100.1\n\n\
         [network]\nchecktime= 1s\ntimeout= 300ms\n\n\
         [sendconfig]\ndevice= sync0\npeerip= 203.0.113.{peer}\nkey= {key}\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the config");
    path
}

/// b's responder, its stderr lines read by a thread.
struct Responder {
    child: Child,
    lines: Receiver<String>,
}

impl Responder {
    /// Starts `peer-respond` in b and waits (at most 10 s) until it listens.
    fn start(lab: &Lab, config: &Path) -> Responder {
        let mut child = lab
            .failoverctl("b")
            .args(["peer-respond", "--for", "60s", "--json", "-c"])
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn peer-respond");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let r = Responder { child, lines };
        r.wait_for("listening on 203.0.113.2:7411");
        r
    }

    /// Waits at most 10 s for a stderr line containing `needle`.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("peer-respond never said `{needle}`; it said: {seen:#?}");
    }

    /// Ends the responder with SIGTERM (by its PID) and returns the counters it prints at exit.
    fn finish(mut self) -> Value {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .expect("signal peer-respond");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("peer-respond did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = String::new();
        std::io::Read::read_to_string(self.child.stdout.as_mut().expect("piped stdout"), &mut out)
            .expect("read stdout");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("no JSON stats ({e}): {out}"))
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        // A failed assertion must not leave the process behind: end it by its PID.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `peer-check --json` in a; returns the exit code and the report.
fn peer_check(lab: &Lab, config: &Path, extra: &[&str]) -> (i32, Value) {
    let out = lab
        .failoverctl("a")
        .args(["peer-check", "--json", "--timeout", "1s", "-c"])
        .arg(config)
        .args(extra)
        .output()
        .expect("run peer-check");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "peer-check: no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report)
}

/// What b said about `target` (`null` without an answer).
fn reached(report: &Value, target: &str) -> Value {
    report["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .flat_map(|c| c["targets"].as_array().expect("targets"))
        .find(|t| t["target"] == target)
        .unwrap_or_else(|| panic!("{target} missing in {report}"))["reached_by_peer"]
        .clone()
}

#[test]
fn peer_check_reports_what_the_peer_reaches() {
    if !root_or_skip("peer_check_reports_what_the_peer_reaches") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("temp dir");
    let a = write(dir.path(), "a.ini", &config(11, 2, KEY));
    let b = write(dir.path(), "b.ini", &config(12, 1, KEY));
    let responder = Responder::start(&lab, &b);

    let (code, report) = peer_check(&lab, &a, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(reached(&report, "192.0.2.1"), true);
    assert_eq!(reached(&report, "198.51.100.1"), true);
    assert_eq!(
        report["channels"][0]["role"], "passive",
        "b holds no activeip"
    );
    let elapsed = report["channels"][0]["elapsed_ms"]
        .as_f64()
        .expect("elapsed");
    assert!(
        elapsed < 1000.0,
        "answered within the timeout: {elapsed} ms"
    );
    responder.wait_for("answered 203.0.113.1");

    // The test host's LAN1 side dies: b cannot reach it either (exit 1), LAN2 still fine.
    lab.link("th", "eth1", false);
    let (code, report) = peer_check(&lab, &a, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(reached(&report, "192.0.2.1"), false);
    assert_eq!(reached(&report, "198.51.100.1"), true);
    assert_eq!(report["channels"][0]["answered"], true);

    // One channel only.
    let (code, report) = peer_check(&lab, &a, &["--channel", "lan2"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["channels"].as_array().expect("channels").len(), 1);

    let stats = responder.finish();
    assert_eq!(stats["answered"], 5, "{stats}");
    assert_eq!(stats["accepted"], 5, "{stats}");
    assert_eq!(stats["forged"], 0, "{stats}");
    assert_eq!(stats["malformed"], 0, "{stats}");
    assert_eq!(stats["replayed"], 0, "{stats}");
}

#[test]
fn a_wrong_key_is_dropped_as_forged_and_gets_no_answer() {
    if !root_or_skip("a_wrong_key_is_dropped_as_forged_and_gets_no_answer") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("temp dir");
    let a = write(dir.path(), "a.ini", &config(11, 2, OTHER_KEY));
    let b = write(dir.path(), "b.ini", &config(12, 1, KEY));
    let responder = Responder::start(&lab, &b);

    let started = Instant::now();
    let (code, report) = peer_check(&lab, &a, &["--channel", "lan1"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["channels"][0]["answered"], false, "{report}");
    assert_eq!(reached(&report, "192.0.2.1"), Value::Null);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after its 1s timeout"
    );
    responder.wait_for("is the same key set on both nodes?");
    // Bug: only the responder explained; the asking node now says where to look too.
    let out = lab
        .failoverctl("a")
        .args([
            "peer-check",
            "--timeout",
            "300ms",
            "--channel",
            "lan1",
            "-c",
        ])
        .arg(&a)
        .output()
        .expect("run peer-check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the peer did not answer")
            && stdout.contains("same key set on both nodes")
            && stdout.contains("counted as forged"),
        "{stdout}"
    );

    let stats = responder.finish();
    assert_eq!(stats["received"], 2, "{stats}");
    assert_eq!(stats["forged"], 2, "{stats}");
    assert_eq!(stats["answered"], 0, "{stats}");
}

/// a's first query (sequence 1) on lan2 about `target`, sealed with `key`.
fn sealed_query(key: &Key, request: u64, target: Ipv4Addr, timeout_ms: u32) -> Vec<u8> {
    let query = Message {
        sender: Ipv4Addr::new(203, 0, 113, 1).into(),
        sequence: 1,
        body: Body::Query(Query {
            request,
            channel: "lan2".into(),
            targets: vec![target.into()],
            timeout_ms,
        }),
    };
    seal(key, &query).expect("sealed")
}

/// Runs `f` on a thread inside `node`'s network namespace (a namespace is per thread).
fn in_namespace<T: Send + 'static>(
    lab: &Lab,
    node: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let path = format!("/run/netns/{}", lab.ns(node));
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).expect("open the namespace");
        // SAFETY: a valid namespace fd; only this thread moves.
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("the namespace thread")
}

#[test]
fn a_replayed_query_is_counted_and_answered_once_and_garbage_is_malformed() {
    if !root_or_skip("a_replayed_query_is_counted_and_answered_once_and_garbage_is_malformed") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("temp dir");
    let b = write(dir.path(), "b.ini", &config(12, 1, KEY));
    let responder = Responder::start(&lab, &b);

    // From a: one sealed query sent twice, byte for byte, as a capture replayed would be.
    let answers = in_namespace(&lab, "a", || {
        let key = Key::from_hex(KEY).expect("valid key");
        let socket = UdpSocket::bind("203.0.113.1:0").expect("bind in a");
        let datagram = sealed_query(&key, 99, Ipv4Addr::new(198, 51, 100, 1), 300);
        for _ in 0..2 {
            socket
                .send_to(&datagram, "203.0.113.2:7411")
                .expect("send to b");
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("read timeout");
        let mut guard = ReplayGuard::new();
        let mut answers = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut buf = [0u8; 512];
        while Instant::now() < deadline {
            if let Ok(n) = socket.recv(&mut buf) {
                answers.push(open(&key, &buf[..n], &mut guard));
            }
        }
        answers
    });
    assert_eq!(answers.len(), 1, "{answers:?}");
    let Ok(Message {
        body: Body::Answer(answer),
        ..
    }) = &answers[0]
    else {
        panic!("not an authentic answer: {answers:?}")
    };
    assert_eq!((answer.request, answer.role), (99, Role::Passive));
    assert_eq!(answer.reached, vec![true]);
    responder.wait_for("replayed peer message");

    // Garbage from a's shell.
    lab.ok(
        "a",
        &["bash", "-c", "echo garbage > /dev/udp/203.0.113.2/7411"],
    );
    responder.wait_for("malformed peer message");

    let stats = responder.finish();
    assert_eq!(stats["received"], 3, "{stats}");
    assert_eq!(stats["accepted"], 1, "{stats}");
    assert_eq!(stats["replayed"], 1, "{stats}");
    assert_eq!(stats["malformed"], 1, "{stats}");
    assert_eq!(stats["answered"], 1, "{stats}");
}

/// A flood the responder cannot keep up with: while it probes one query (a test host nobody has,
/// so the probe runs its whole budget), a burst of junk fills its socket's queue. What the kernel
/// turned away is counted apart, and with what was read it adds up to what was sent.
#[test]
fn datagrams_the_kernel_drops_in_a_flood_are_counted_apart() {
    if !root_or_skip("datagrams_the_kernel_drops_in_a_flood_are_counted_apart") {
        return;
    }
    let lab = Lab::up();
    let dir = tempfile::tempdir().expect("temp dir");
    let b = write(dir.path(), "b.ini", &config(12, 1, KEY));
    let responder = Responder::start(&lab, &b);
    const JUNK: u64 = 3000;
    in_namespace(&lab, "a", || {
        let key = Key::from_hex(KEY).expect("valid key");
        let socket = UdpSocket::bind("203.0.113.1:0").expect("bind in a");
        let datagram = sealed_query(&key, 7, Ipv4Addr::new(198, 51, 100, 77), 1000);
        socket
            .send_to(&datagram, "203.0.113.2:7411")
            .expect("send the query");
        // Bounded: JUNK datagrams of 1200 bytes, once.
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..JUNK {
            let _ = socket.send_to(&[0x5a; 1200], "203.0.113.2:7411");
        }
    });
    // Everything still queued is read within the probe's budget and a moment more.
    std::thread::sleep(Duration::from_secs(2));
    let stats = responder.finish();
    let received = stats["received"].as_u64().expect("received");
    let dropped = stats["kernel_dropped"].as_u64().expect("kernel_dropped");
    assert!(dropped > 0, "no drop counted: {stats}");
    assert_eq!(received + dropped, JUNK + 1, "{stats}");
    assert_eq!(stats["malformed"].as_u64(), Some(received - 1), "{stats}");
}

#[test]
fn peer_check_without_key_or_peerip_is_a_usage_error() {
    // Refused while reading the config, before any socket: no lab and no root needed.
    let dir = tempfile::tempdir().expect("temp dir");
    let full = config(11, 2, KEY);
    let no_key = full.replace(&format!("key= {KEY}\n"), "");
    let no_peer = full.replace("peerip= 203.0.113.2\n", "");
    for (text, needle) in [
        (no_key, "no [sendconfig] key or keyfile"),
        (no_peer, "no [sendconfig] peerip"),
    ] {
        let path = write(dir.path(), "x.ini", &text);
        let out = assert_cmd::Command::cargo_bin("failoverctl")
            .expect("binary")
            .args(["peer-check", "-c"])
            .arg(&path)
            .output()
            .expect("run peer-check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    }
}
