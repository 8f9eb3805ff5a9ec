//! The validated configuration: every value parsed, defaults applied, cross-checks passed.
//! Everything downstream (core, net, daemon) takes these types, never raw INI.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A whole validated `failover.ini`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it was read from (`-` for standard input); used in messages.
    pub source: PathBuf,
    /// The `[channel]` sections, in file order.
    pub channels: Vec<Channel>,
    /// The `[network]` section.
    pub network: Network,
    /// The `[sendconfig]` section (sync link), if present.
    pub sendconfig: Option<SendConfig>,
    /// The `[policy]` section (extension): what to do on failure and the fixes to the classic design.
    pub policy: Policy,
    /// Line of `[sendconfig] device=`, for messages after parsing; 0: none, or not from a file.
    /// Kept out of [`SendConfig`], whose equality decides whether a reload reopens the peer link.
    pub sendconfig_line: usize,
}

/// One reserved interface (`[channel]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// `ident=`: the channel's name in messages (defaults to the device name).
    pub ident: String,
    /// `device=`: the interface.
    pub device: String,
    /// `activeip=`: the address the active node owns on this channel. A channel's addresses are
    /// all of one family (validated); the core never looks at which.
    pub activeip: IpAddr,
    /// `passiveip=`: this node's own address while passive.
    pub passiveip: IpAddr,
    /// Optional prefix length (`activeip= 192.0.2.50/24`, `2001:db8::50/64`); `None`: use the
    /// device's existing one.
    pub prefix: Option<u8>,
    /// `testip=`: test hosts (repeated key or a comma/space list; an extension beyond one).
    pub testips: Vec<IpAddr>,
    /// `checkonlyidle=`: probe only when the counters show an idle interval.
    pub checkonlyidle: bool,
    /// `probes=` (extension) of this channel; `None`: the `[network]` value.
    pub probes: Option<u32>,
    /// `check=`: this channel's service check (like `[policy] check=`, but its failure is this
    /// channel's, handled with this channel's test hosts).
    pub check: Option<String>,
    /// Line of the `[channel]` header, for messages.
    pub line: usize,
    /// Lines of the keys a later check (`validate --check-host`) points at; 0: not from a file.
    pub lines: KeyLines,
}

/// Where a channel's keys sit in its file, for messages about them after parsing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLines {
    pub device: usize,
    pub activeip: usize,
}

/// Timing and retries (`[network]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// `checktime=`: the main loop period.
    pub checktime: Duration,
    /// `timeout=`: how long to wait for an answer.
    pub timeout: Duration,
    /// `activeretries=`: the passive's failure counter limit before takeover.
    pub activeretries: u32,
    /// `channelretries=`: the active's per-channel failure counter limit.
    pub channelretries: u32,
    /// `synctime=`: period of the sync link exchange.
    pub synctime: Duration,
    /// `fastdown=`: release the addresses at once when a failure is detected.
    pub fastdown: bool,
    /// `probes=` (extension): requests per test host (active) or activeip (passive) within one
    /// check's `timeout`; any answer counts.
    pub probes: u32,
}

impl Channel {
    /// The echo requests per test host of one check of this channel.
    pub fn probes(&self, network: &Network) -> u32 {
        self.probes.unwrap_or(network.probes)
    }
}

/// The sync link (`[sendconfig]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SendConfig {
    /// `device=`: the sync interface.
    pub device: String,
    /// `peerip=` (extension): the peer's address on the sync link, used to ask "is the peer alive?".
    pub peerip: Option<IpAddr>,
    /// `port=`, `key=`/`keyfile=` (extensions): the peer protocol on the sync link.
    pub peerlink: PeerSettings,
}

/// What the active does when a channel fails (`[policy] onfailure=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureAction {
    /// Reboot the machine (the source document's action).
    Reboot,
    /// Release the activeips, take back the passiveips, become passive.
    Demote,
    /// Run a command (through `/bin/sh -c`).
    Exec(String),
}

/// The two policies documented side by side in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyMode {
    /// The source document's behaviour: reboot on failure, no peer check, no loop guard.
    Classic,
    /// failoverctl's default: fixes the source document's stories.
    Improved,
}

/// How several test hosts of one channel combine (`[policy] testhosts=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestHosts {
    /// The channel is healthy when any test host answers (improved; one dead host is not a failure).
    Any,
    /// The channel is healthy only when every test host answers (classic reading with several hosts).
    All,
}

impl TestHosts {
    /// Whether a channel counts as healthy when its test hosts answered as `reached` (one entry per
    /// host). A channel without test hosts has nothing to fail.
    pub fn healthy(self, reached: impl IntoIterator<Item = bool>) -> bool {
        let (mut n, mut any, mut all) = (0, false, true);
        for r in reached {
            n += 1;
            any |= r;
            all &= r;
        }
        match self {
            TestHosts::Any => n == 0 || any,
            TestHosts::All => all,
        }
    }
}

/// How the passive asks whether the active answers for an activeip (`[policy] arpcheck=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpCheck {
    /// The source document's: delete the neighbour entry, send UDP, read the kernel's table (classic).
    Table,
    /// An ARP request of its own, first to the station that answered last time only, repeats
    /// broadcast; no kernel table touched (improved). IPv6 asks the solicited-node group either way.
    Raw,
}

/// The failover policy (`[policy]`, an extension section). Classic values reproduce the source
/// document; the improved defaults fix its stories.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `mode=`: classic | improved; sets the defaults of the keys below (each may still be set alone).
    pub mode: PolicyMode,
    /// `onfailure=`: reboot | demote | exec:COMMAND.
    pub onfailure: FailureAction,
    /// `testhosts=`: any | all.
    pub testhosts: TestHosts,
    /// `arpcheck=`: table | raw.
    pub arpcheck: ArpCheck,
    /// `requirepeer=`: do not act on a failure unless the peer is alive (story: passive is off).
    pub requirepeer: bool,
    /// `requirefit=`: take over only when this node can serve (carrier on its channel devices, its own
    /// test hosts answer), and give the addresses up rather than hold them while it cannot.
    pub requirefit: bool,
    /// `maxfailovers=`: failure actions allowed within `failoverwindow` before holding (story: a fault
    /// that survives the reboot); 0 means unlimited (classic).
    pub maxfailovers: u32,
    /// `failoverwindow=`: the window for `maxfailovers`.
    pub failoverwindow: Duration,
    /// `shutdowndelay=`: the time from reboot start to interfaces down (the document's "30 seconds").
    pub shutdowndelay: Duration,
    /// `garpcount=`: gratuitous ARPs (both forms) sent after a takeover.
    pub garpcount: u32,
    /// `garpinterval=`: spacing of those.
    pub garpinterval: Duration,
    /// `garprefresh=`: resend period while active (`None`: never).
    pub garprefresh: Option<Duration>,
    /// `releasepassiveip=`: drop the passiveip when taking over.
    pub releasepassiveip: bool,
    /// `releaseonstop=`: release the activeips on SIGTERM/SIGINT.
    pub releaseonstop: bool,
    /// `up=` hook: run after a takeover, once per channel.
    pub up: Option<String>,
    /// `down=` hook: run after releasing, once per channel.
    pub down: Option<String>,
    /// `check=`: the service check (keepalived's track_script), run every checktime on the active;
    /// channelretries failures in a row are a failure of the node.
    pub check: Option<String>,
    /// `statefile=`: where the daemon writes its state for `failoverctl status`.
    pub statefile: PathBuf,
    /// `historyfile=`: the failure-action times kept across reboots (for `maxfailovers`).
    pub historyfile: PathBuf,
    /// `priority=` 0..=7: the start-up order when both nodes start at once, lower takes over first.
    /// Give the node that should normally be active the lower one. `None`: the first passiveip's
    /// last octet modulo 8.
    pub priority: Option<u8>,
    /// `metricsfile=`: the Prometheus text file for the node exporter's textfile collector.
    pub metricsfile: Option<PathBuf>,
    /// `metricslisten=`: serve the metrics over HTTP on this local address.
    pub metricslisten: Option<std::net::SocketAddr>,
}

/// The default UDP port of the peer protocol (`[sendconfig] port`).
pub const DEFAULT_PEER_PORT: u16 = 7411;

/// The peer protocol's settings (`[sendconfig] port`, `key`, `keyfile`).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSettings {
    /// `port=`: the UDP port both nodes listen on for peer queries.
    pub port: u16,
    /// `key=` or `keyfile=`: the shared key; `None`: no peer protocol, the peer is only pinged.
    pub key: Option<PeerKey>,
}

impl Default for PeerSettings {
    fn default() -> Self {
        PeerSettings {
            port: DEFAULT_PEER_PORT,
            key: None,
        }
    }
}

/// Where the shared peer key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerKey {
    /// `key=`: given inline, already parsed (its `Debug` hides it).
    Inline(crate::peer::Key),
    /// `keyfile=`: an absolute path to a file holding the hex key, read when the key is needed.
    File(PathBuf),
}

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PeerKeyError {
    #[error("cannot read keyfile {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("keyfile {}: {source}", .path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: crate::peer::KeyError,
    },
}

impl PeerKey {
    /// The key: the inline one, or the keyfile read now (the config itself never touches the
    /// system; a key rotated in the file is picked up by the next load).
    pub fn load(&self) -> Result<crate::peer::Key, PeerKeyError> {
        match self {
            PeerKey::Inline(key) => Ok(key.clone()),
            PeerKey::File(path) => {
                let text = read_keyfile(path).map_err(|source| PeerKeyError::Read {
                    path: path.clone(),
                    source,
                })?;
                crate::peer::Key::from_hex(&text).map_err(|source| PeerKeyError::Invalid {
                    path: path.clone(),
                    source,
                })
            }
        }
    }
}

/// The most a keyfile may hold: a 64-byte key is 128 hex characters, plus room for whitespace.
const MAX_KEYFILE_BYTES: u64 = 4096;

/// Reads a keyfile that must be a small regular file. Opened without blocking and checked on the
/// open descriptor, so a FIFO cannot hang `validate` or `run` and `/dev/zero` cannot fill memory.
fn read_keyfile(path: &std::path::Path) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let bytes = super::limits::read_limited(file, MAX_KEYFILE_BYTES, "a keyfile")?;
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::TestHosts;

    #[test]
    fn any_needs_one_answer_all_needs_every_answer() {
        assert!(TestHosts::Any.healthy([false, true]));
        assert!(!TestHosts::Any.healthy([false, false]));
        assert!(!TestHosts::All.healthy([false, true]));
        assert!(TestHosts::All.healthy([true, true]));
        assert!(TestHosts::Any.healthy([]) && TestHosts::All.healthy([]));
    }
}
