//! The peer protocol's UDP transport on the sync link: [`PeerLink`] asks the peer "can you reach
//! these test hosts?", [`Responder`] answers such questions by probing (polled by the daemon's event
//! loop), and [`PeerResponder`] runs a `Responder` on a thread of its own for `peer-respond`.
//!
//! Both sockets are bound to the sync device (`SO_BINDTODEVICE`) and to this node's sync address.
//! Every datagram goes through `peer::open` first: malformed, forged and replayed ones are counted and
//! dropped, never acted on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::config::Config;
use crate::net::{NetError, ProbeResult, ProbeTarget, Prober};
use crate::peer::{
    open, seal, Answer, Body, Key, Message, PeerError, PeerStats, Query, ReplayGuard, Role,
    Sequence, MAX_DATAGRAM, MAX_TARGETS,
};

/// The longest probe a responder runs for one query, whatever the query asks: one query at a time,
/// so this bounds how long the responder is busy.
pub const MAX_PROBE: Duration = Duration::from_secs(2);
/// Queries answered per second at most (and in one burst); more are dropped and counted. A flood
/// of authentic queries must not turn the pair into a ping cannon, while `peer-check` over a few
/// channels, run twice in a second, must still get every answer (5 was measured too tight).
pub const MAX_QUERIES_PER_SECOND: u32 = 20;
/// How often the responder thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Microseconds since the Unix epoch: the start of the sequence numbers (see `peer::Sequence`).
pub fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// This node's address on the sync device: the one in `peer`'s subnet when there are several.
pub fn sync_address(device: &str, peer: Option<IpAddr>) -> Result<IpAddr, NetError> {
    super::ifindex(device)?;
    // Of the peer's family (a dual-stack sync link has both), IPv4 first without a peer, and no
    // link-local one: a socket bound to it would need the link's scope.
    let mut addrs: Vec<_> = super::addresses(device)
        .into_iter()
        .filter(|(a, _)| peer.is_none_or(|p| p.is_ipv4() == a.is_ipv4()))
        .filter(|(a, _)| !crate::config::value::is_link_local(*a))
        .collect();
    addrs.sort_by_key(|(a, _)| a.is_ipv6());
    let in_subnet = |(a, p): &(IpAddr, u8)| {
        peer.is_some_and(|peer| crate::config::value::same_subnet(*a, peer, *p))
    };
    addrs
        .iter()
        .find(|a| in_subnet(a))
        .or(addrs.first())
        .map(|(a, _)| *a)
        .ok_or_else(|| NetError::Io {
            context: format!("sync device {device}"),
            source: std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no address on it"),
        })
}

/// A UDP socket bound to `device` and `node:port` (port 0: any).
fn bind(device: &str, node: IpAddr, port: u16) -> Result<UdpSocket, NetError> {
    let what = "peer UDP socket";
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(node, port)),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(|e| NetError::from_io(what, device, "CAP_NET_RAW", e))?;
    socket
        .bind_device(Some(device.as_bytes()))
        .map_err(|e| NetError::from_io("bind peer socket to device", device, "CAP_NET_RAW", e))?;
    socket
        .bind(&SockAddr::from(SocketAddr::new(node, port)))
        .map_err(|e| NetError::from_io(&format!("bind {node}:{port}"), device, "root", e))?;
    Ok(socket.into())
}

/// Reads one datagram until `deadline`; `None` when the time is up. A datagram longer than any peer
/// message is read whole into the spare room, so `open` sees its true length and drops it.
fn receive(
    socket: &UdpSocket,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<Option<(usize, SocketAddr)>, NetError> {
    let now = Instant::now();
    if now >= deadline {
        return Ok(None);
    }
    socket
        .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))
        .map_err(|e| io("set peer socket read timeout", e))?;
    match socket.recv_from(buf) {
        Ok((n, from)) => Ok(Some((n, from))),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
            ) =>
        {
            // Time left is checked again by the caller's loop.
            Ok(Some((0, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))))
        }
        // An ICMP error of an earlier send (port unreachable: no responder yet) is not a datagram.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Ok(Some((0, SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))))
        }
        Err(e) => Err(io("receive on the peer socket", e)),
    }
}

/// How many datagrams the kernel dropped on `socket` before they could be read (its receive queue
/// was full): the socket's drop count from `SO_MEMINFO`. `None` when the kernel does not say.
pub fn kernel_drops(socket: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    const DROPS: usize = libc::SK_MEMINFO_DROPS as usize;
    let mut info = [0u32; DROPS + 1];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: getsockopt(2) writes at most `len` bytes into `info`, which outlives the call.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    (rc == 0 && len as usize >= std::mem::size_of_val(&info)).then(|| u64::from(info[DROPS]))
}

fn io(context: &str, source: std::io::Error) -> NetError {
    NetError::Io {
        context: context.to_string(),
        source,
    }
}

/// How long the peer may probe when the asker waits `timeout` for its answer: three quarters of it
/// (the rest carries the answer back), at most [`MAX_PROBE`].
pub fn probe_budget(timeout: Duration) -> Duration {
    (timeout * 3 / 4)
        .min(MAX_PROBE)
        .max(Duration::from_millis(1))
}

/// The asking side: one socket on the sync link, this node's sequence, the peer's replay guard.
pub struct PeerLink {
    socket: UdpSocket,
    key: Key,
    node: IpAddr,
    port: u16,
    sequence: Sequence,
    guard: ReplayGuard,
    stats: PeerStats,
}

impl PeerLink {
    /// Opens the asking socket on `device`, from `node` (this node's sync address, any port); queries
    /// go to the peer's `port`.
    pub fn open(device: &str, node: IpAddr, port: u16, key: Key) -> Result<PeerLink, NetError> {
        Ok(PeerLink {
            socket: bind(device, node, 0)?,
            key,
            node,
            port,
            sequence: Sequence::starting_at(now_micros()),
            guard: ReplayGuard::new(),
            stats: PeerStats::default(),
        })
    }

    /// Asks `peer` whether it reaches `targets` of `channel` (at most 16); waits at most `timeout`
    /// for the matching authenticated answer. `Ok(None)`: no answer in time (peer down, link cut,
    /// other key, or no responder). Everything else received is counted in [`PeerLink::stats`] and
    /// ignored.
    pub fn ask(
        &mut self,
        peer: IpAddr,
        channel: &str,
        targets: &[IpAddr],
        timeout: Duration,
    ) -> Result<Option<Answer>, NetError> {
        let deadline = Instant::now() + timeout;
        let sequence = self.sequence.next(now_micros());
        let query = Message {
            sender: self.node,
            sequence,
            // The query's own sequence is unique and increasing: a good request id.
            body: Body::Query(Query {
                request: sequence,
                channel: channel.to_string(),
                targets: targets.to_vec(),
                timeout_ms: probe_budget(timeout).as_millis() as u32,
            }),
        };
        let datagram = seal(&self.key, &query).map_err(|e| {
            io(
                "seal peer query",
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            )
        })?;
        let to = SocketAddr::new(peer, self.port);
        if self.socket.send_to(&datagram, to).is_err() {
            // No route or the link is down: the peer cannot answer, which is the finding.
            return Ok(None);
        }
        let mut buf = [0u8; 2048];
        while let Some((n, from)) = receive(&self.socket, &mut buf, deadline)? {
            if n == 0 {
                continue;
            }
            let outcome = open(&self.key, &buf[..n], &mut self.guard);
            self.stats.record(&outcome);
            let Ok(message) = outcome else { continue };
            match message.body {
                Body::Answer(answer)
                    if answer.request == sequence
                        && from.ip() == peer
                        && message.sender == peer
                        && answer.reached.len() == targets.len() =>
                {
                    return Ok(Some(answer));
                }
                // A late answer to an earlier query, or a query to the wrong socket: authentic but
                // not what is waited for.
                _ => continue,
            }
        }
        Ok(None)
    }

    /// The socket, for the daemon's poll set (see [`PeerLink::set_nonblocking`]).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Puts the socket in non-blocking mode for an event loop; [`PeerLink::ask`] is then unusable.
    pub fn set_nonblocking(&self) -> Result<(), NetError> {
        self.socket
            .set_nonblocking(true)
            .map_err(|e| io("non-blocking peer socket", e))
    }

    /// Sends one question without waiting: the answer comes through [`PeerLink::receive_answers`]
    /// with the returned request number. `Ok(None)`: it could not be sent (no route, link down).
    pub fn send_query(
        &mut self,
        peer: IpAddr,
        channel: &str,
        targets: &[IpAddr],
        timeout: Duration,
    ) -> Result<Option<u64>, NetError> {
        let sequence = self.sequence.next(now_micros());
        let query = Message {
            sender: self.node,
            sequence,
            body: Body::Query(Query {
                request: sequence,
                channel: channel.to_string(),
                targets: targets.to_vec(),
                timeout_ms: probe_budget(timeout).as_millis() as u32,
            }),
        };
        let datagram = seal(&self.key, &query).map_err(|e| {
            io(
                "seal peer query",
                std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            )
        })?;
        let to = SocketAddr::new(peer, self.port);
        Ok(self
            .socket
            .send_to(&datagram, to)
            .is_ok()
            .then_some(sequence))
    }

    /// Reads every datagram waiting on the (non-blocking) socket; returns the authentic answers from
    /// `peer`, by request number. Everything else is counted and dropped.
    pub fn receive_answers(&mut self, peer: IpAddr) -> Vec<(u64, Answer)> {
        let mut found = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            let (n, from) = match self.socket.recv_from(&mut buf) {
                Ok(received) => received,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // An ICMP error of an earlier send (no responder yet) is not a datagram.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(_) => break,
            };
            let outcome = open(&self.key, &buf[..n], &mut self.guard);
            self.stats.record(&outcome);
            let Ok(message) = outcome else { continue };
            if let Body::Answer(answer) = message.body {
                if from.ip() == peer && message.sender == peer {
                    found.push((answer.request, answer));
                }
            }
        }
        found
    }

    /// What was received so far.
    pub fn stats(&self) -> PeerStats {
        self.stats
    }

    /// Sends one fast-path message (heartbeat, notice, handover) to the peer's responder port,
    /// without waiting; false when it could not be sent (no route, link down).
    pub fn send_body(&mut self, peer: IpAddr, body: Body) -> bool {
        let message = Message {
            sender: self.node,
            sequence: self.sequence.next(now_micros()),
            body,
        };
        match seal(&self.key, &message) {
            Ok(d) => self
                .socket
                .send_to(&d, SocketAddr::new(peer, self.port))
                .is_ok(),
            Err(_) => false,
        }
    }

    /// This node's sync address the queries come from.
    pub fn node(&self) -> IpAddr {
        self.node
    }
}

/// A channel the responder can probe for the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderChannel {
    /// The ident the peer names in its query.
    pub ident: String,
    pub device: String,
    /// The source address: the first of these held on the device (activeip, passiveip).
    pub sources: Vec<IpAddr>,
}

/// Where and how the responder listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderParams {
    /// The sync device.
    pub device: String,
    /// This node's sync address.
    pub node: IpAddr,
    /// `[sendconfig] port`.
    pub port: u16,
    /// `[sendconfig] peerip`: when set, queries from any other address are dropped.
    pub peer: Option<IpAddr>,
    pub channels: Vec<ResponderChannel>,
    /// Cap on queries answered per second.
    pub max_per_second: u32,
    /// Cap on one probe, whatever the query asks.
    pub max_probe: Duration,
}

impl ResponderParams {
    /// The responder of `config` on this node (`node`: its sync address); `None` without
    /// `[sendconfig]`.
    pub fn from_config(config: &Config, node: IpAddr) -> Option<ResponderParams> {
        let send = config.sendconfig.as_ref()?;
        Some(ResponderParams {
            device: send.device.clone(),
            node,
            port: send.peerlink.port,
            peer: send.peerip,
            channels: config
                .channels
                .iter()
                .map(|c| ResponderChannel {
                    ident: c.ident.clone(),
                    device: c.device.clone(),
                    sources: vec![c.activeip, c.passiveip],
                })
                .collect(),
            max_per_second: MAX_QUERIES_PER_SECOND,
            max_probe: MAX_PROBE,
        })
    }
}

/// The responder's counters: the datagrams (as every receiver counts them) and what became of the
/// authentic queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResponderStats {
    #[serde(flatten)]
    pub datagrams: PeerStats,
    /// Queries probed and answered.
    pub answered: u64,
    /// Authentic queries naming a channel this node does not have.
    pub unknown_channel: u64,
    /// Authentic queries over the per-second cap.
    pub rate_limited: u64,
    /// Authentic queries from an address other than the peer's (or than the one they name).
    pub wrong_sender: u64,
    /// Queries not answered because the probe itself failed (no privilege, device gone).
    pub probe_failed: u64,
    /// Datagrams the kernel dropped before they were read: the socket's receive queue was full, as
    /// under a flood. Never seen by the checks above, so counted apart (the socket's own count,
    /// read after each batch of datagrams).
    pub kernel_dropped: u64,
}

/// What the responder did with one datagram, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponderEvent {
    Answered {
        from: SocketAddr,
        channel: String,
        role: Role,
        results: Vec<(IpAddr, bool)>,
    },
    Dropped {
        from: SocketAddr,
        reason: PeerError,
    },
    UnknownChannel {
        from: SocketAddr,
        channel: String,
    },
    RateLimited {
        from: SocketAddr,
    },
    WrongSender {
        from: SocketAddr,
        claimed: IpAddr,
    },
    ProbeFailed {
        channel: String,
        error: String,
    },
}

impl std::fmt::Display for ResponderEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponderEvent::Answered {
                from,
                channel,
                role,
                results,
            } => {
                let reached = results.iter().filter(|r| r.1).count();
                write!(
                    f,
                    "answered {from} for channel {channel} as {role}: {reached}/{} test hosts reached",
                    results.len()
                )
            }
            ResponderEvent::Dropped { from, reason } => write!(f, "dropped from {from}: {reason}"),
            ResponderEvent::UnknownChannel { from, channel } => {
                write!(f, "dropped query from {from}: no channel `{channel}` here")
            }
            ResponderEvent::RateLimited { from } => {
                write!(f, "dropped query from {from}: over the rate cap")
            }
            ResponderEvent::WrongSender { from, claimed } => write!(
                f,
                "dropped query from {from}: not the peer (the query names {claimed})"
            ),
            ResponderEvent::ProbeFailed { channel, error } => {
                write!(f, "no answer for channel {channel}: probe failed: {error}")
            }
        }
    }
}

/// The answering thread. Dropping it stops the thread.
pub struct PeerResponder {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<ResponderStats>>,
    events: Receiver<ResponderEvent>,
    thread: Option<JoinHandle<()>>,
}

impl PeerResponder {
    /// Binds `params.node:params.port` on the sync device (errors come back here, not from the
    /// thread) and starts the thread that answers authenticated queries one at a time by probing
    /// with `prober`; `role` says this node's role at the moment of each answer.
    pub fn spawn(
        params: ResponderParams,
        key: Key,
        prober: Box<dyn Prober + Send>,
        role: Box<dyn Fn() -> Role + Send>,
    ) -> Result<PeerResponder, NetError> {
        let responder = Responder::bind(params, key)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(ResponderStats::default()));
        // Bounded: a reader that falls behind loses events, the thread never blocks on it.
        let (tx, events) = mpsc::sync_channel(64);
        let mut worker = Worker {
            responder,
            prober,
            role,
            stats: Arc::clone(&stats),
            events: tx,
        };
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("peer-responder".into())
            .spawn(move || worker.run(&flag))
            .map_err(|e| io("start the peer responder thread", e))?;
        Ok(PeerResponder {
            stop,
            stats,
            events,
            thread: Some(thread),
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> ResponderStats {
        *self
            .stats
            .lock()
            .expect("the responder never panics holding the stats")
    }

    /// The events since the last call (at most 64 are kept).
    pub fn events(&self) -> Vec<ResponderEvent> {
        self.events.try_iter().collect()
    }

    /// Stops the thread (within about 100 ms, or the probe in progress) and returns the counters.
    pub fn stop(mut self) -> ResponderStats {
        self.halt();
        self.stats()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for PeerResponder {
    fn drop(&mut self) {
        self.halt();
    }
}

/// At most `rate` tokens, refilled at `rate` per second.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> TokenBucket {
        TokenBucket {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            at: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Worker {
    responder: Responder,
    prober: Box<dyn Prober + Send>,
    role: Box<dyn Fn() -> Role + Send>,
    stats: Arc<Mutex<ResponderStats>>,
    events: SyncSender<ResponderEvent>,
}

/// The responder without a thread: the daemon polls its socket and runs each probe on its own
/// non-blocking ICMP socket. Every datagram is counted, a zero-length one included.
pub struct Responder {
    socket: UdpSocket,
    params: ResponderParams,
    key: Key,
    sequence: Sequence,
    guard: ReplayGuard,
    stats: ResponderStats,
    events: Vec<ResponderEvent>,
    bucket: TokenBucket,
    /// Authentic fast-path messages from the peer (heartbeats, notices, handover), for the daemon.
    fast: Vec<Body>,
}

/// Fast-path messages kept between two reads (a responder without a daemon never reads them).
const MAX_FAST: usize = 64;

/// An authentic, admitted query: probe `targets` within `timeout`, then [`Responder::reply`].
#[derive(Debug, Clone)]
pub struct ProbeJob {
    pub from: SocketAddr,
    pub channel: String,
    pub request: u64,
    pub targets: Vec<ProbeTarget>,
    pub timeout: Duration,
}

impl Worker {
    fn run(&mut self, stop: &AtomicBool) {
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            let deadline = Instant::now() + STOP_POLL;
            match receive(&self.responder.socket, &mut buf, deadline) {
                Ok(Some((n, from))) if n > 0 => {
                    if let Some(job) = self.responder.on_datagram(&buf[..n], from) {
                        let results = self.prober.probe(&job.targets, job.timeout);
                        let role = (self.role)();
                        self.responder.reply(job, results, role);
                    }
                }
                Ok(_) => {}
                // A broken socket would spin: pause, and look at the stop flag again.
                Err(_) => std::thread::sleep(STOP_POLL),
            }
            self.responder.note_kernel_drops();
            *self.stats.lock().expect("stats lock") = self.responder.stats;
            for e in self.responder.take_events() {
                let _ = self.events.try_send(e);
            }
        }
    }
}

impl Responder {
    /// Binds `params.node:params.port` on the sync device.
    pub fn bind(params: ResponderParams, key: Key) -> Result<Responder, NetError> {
        let socket = bind(&params.device, params.node, params.port)?;
        let bucket = TokenBucket::new(params.max_per_second);
        Ok(Responder {
            socket,
            params,
            key,
            sequence: Sequence::starting_at(now_micros()),
            guard: ReplayGuard::new(),
            stats: ResponderStats::default(),
            events: Vec::new(),
            bucket,
            fast: Vec::new(),
        })
    }

    /// The socket, for a poll set (made non-blocking by [`Responder::receive`]'s caller).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    pub fn stats(&self) -> ResponderStats {
        self.stats
    }

    /// The authentic fast-path messages from the peer since the last call.
    pub fn take_fast(&mut self) -> Vec<Body> {
        std::mem::take(&mut self.fast)
    }

    /// What happened since the last call.
    pub fn take_events(&mut self) -> Vec<ResponderEvent> {
        std::mem::take(&mut self.events)
    }

    /// Reads every datagram waiting on the non-blocking socket; the admitted queries to probe for.
    pub fn receive(&mut self) -> Vec<ProbeJob> {
        let mut jobs = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => jobs.extend(self.on_datagram(&buf[..n], from)),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(_) => break,
            }
        }
        self.note_kernel_drops();
        jobs
    }

    /// Takes the socket's count of datagrams the kernel dropped (a full receive queue).
    fn note_kernel_drops(&mut self) {
        if let Some(n) = kernel_drops(&self.socket) {
            self.stats.kernel_dropped = n;
        }
    }

    /// Checks one datagram (every one is counted, zero-length included); `Some` when it is an
    /// authentic, admitted query to probe for.
    pub fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) -> Option<ProbeJob> {
        let outcome = open(&self.key, datagram, &mut self.guard);
        self.stats.datagrams.record(&outcome);
        let message = match outcome {
            Ok(m) => m,
            Err(reason) => {
                self.events.push(ResponderEvent::Dropped { from, reason });
                return None;
            }
        };
        let query = match message.body {
            Body::Query(q) => q,
            // An answer sent here is authentic but asks nothing.
            Body::Answer(_) => return None,
            fast => {
                if message.sender != from.ip() || self.params.peer.is_some_and(|p| p != from.ip()) {
                    self.stats.wrong_sender += 1;
                    self.events.push(ResponderEvent::WrongSender {
                        from,
                        claimed: message.sender,
                    });
                } else if self.fast.len() < MAX_FAST {
                    self.fast.push(fast);
                }
                return None;
            }
        };
        if message.sender != from.ip() || self.params.peer.is_some_and(|p| p != from.ip()) {
            self.stats.wrong_sender += 1;
            self.events.push(ResponderEvent::WrongSender {
                from,
                claimed: message.sender,
            });
            return None;
        }
        if !self.bucket.take(Instant::now()) {
            self.stats.rate_limited += 1;
            self.events.push(ResponderEvent::RateLimited { from });
            return None;
        }
        let Some(channel) = self
            .params
            .channels
            .iter()
            .find(|c| c.ident == query.channel)
            .cloned()
        else {
            self.stats.unknown_channel += 1;
            self.events.push(ResponderEvent::UnknownChannel {
                from,
                channel: query.channel,
            });
            return None;
        };
        let source = super::own_address(&channel.device, &channel.sources);
        let targets: Vec<ProbeTarget> = query
            .targets
            .iter()
            .take(MAX_TARGETS)
            .map(|&target| ProbeTarget {
                device: channel.device.clone(),
                source,
                target,
            })
            .collect();
        let timeout = Duration::from_millis(u64::from(query.timeout_ms)).min(self.params.max_probe);
        Some(ProbeJob {
            from,
            channel: channel.ident,
            request: query.request,
            targets,
            timeout,
        })
    }

    /// Sends the answer to `job` from the probe's `results`, with this node's `role`.
    pub fn reply(
        &mut self,
        job: ProbeJob,
        results: Result<Vec<ProbeResult>, NetError>,
        role: Role,
    ) {
        let results = match results {
            Ok(r) => r,
            Err(e) => {
                // "Unreached" would be a claim the probe did not make: no answer at all.
                self.stats.probe_failed += 1;
                self.events.push(ResponderEvent::ProbeFailed {
                    channel: job.channel,
                    error: e.to_string(),
                });
                return;
            }
        };
        let reached: Vec<bool> = job
            .targets
            .iter()
            .map(|t| {
                results
                    .iter()
                    .any(|r| r.target.target == t.target && r.rtt.is_some())
            })
            .collect();
        let answer = Message {
            sender: self.params.node,
            sequence: self.sequence.next(now_micros()),
            body: Body::Answer(Answer {
                request: job.request,
                role,
                reached: reached.clone(),
            }),
        };
        let datagram = seal(&self.key, &answer).expect("an answer has at most 16 results");
        debug_assert!(datagram.len() <= MAX_DATAGRAM);
        if self.socket.send_to(&datagram, job.from).is_ok() {
            self.stats.answered += 1;
            self.events.push(ResponderEvent::Answered {
                from: job.from,
                channel: job.channel,
                role,
                results: job.targets.iter().map(|t| t.target).zip(reached).collect(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_budget_leaves_time_for_the_answer_and_is_capped() {
        assert_eq!(
            probe_budget(Duration::from_secs(1)),
            Duration::from_millis(750)
        );
        assert_eq!(probe_budget(Duration::from_secs(10)), MAX_PROBE);
        assert!(probe_budget(Duration::from_micros(1)) > Duration::ZERO);
    }

    /// The kernel's own count: what a full receive queue turned away, read or not, adds up to what
    /// was sent (loopback, no privilege needed).
    #[test]
    fn kernel_drops_counts_what_a_full_receive_queue_turned_away() {
        let rx = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
        rx.set_recv_buffer_size(4096).expect("small receive buffer");
        rx.bind(&SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
            .expect("bind");
        let rx: UdpSocket = rx.into();
        assert_eq!(kernel_drops(&rx), Some(0), "nothing sent yet");
        let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the sender");
        let to = rx.local_addr().expect("address");
        const SENT: u64 = 200;
        for _ in 0..SENT {
            tx.send_to(&[0u8; 1000], to).expect("send");
        }
        rx.set_nonblocking(true).expect("non-blocking");
        let mut read = 0;
        let mut buf = [0u8; 2048];
        while rx.recv_from(&mut buf).is_ok() {
            read += 1;
        }
        let dropped = kernel_drops(&rx).expect("the kernel says");
        assert!(
            dropped > 0,
            "a 4 kB queue held all {SENT} datagrams of 1 kB?"
        );
        assert_eq!(read + dropped, SENT, "read {read}, dropped {dropped}");
    }

    #[test]
    fn the_token_bucket_caps_the_rate() {
        let mut b = TokenBucket::new(5);
        let t0 = b.at;
        let taken = (0..20).filter(|_| b.take(t0)).count();
        assert_eq!(taken, 5, "a burst of 20 gets the 5 tokens");
        assert!(!b.take(t0 + Duration::from_millis(100)), "half a token");
        assert!(
            b.take(t0 + Duration::from_millis(250)),
            "a token and a quarter"
        );
    }
}
