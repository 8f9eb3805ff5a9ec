//! Faults scripted at given times, and a seeded loss injector (no randomness without a seed).

use std::net::IpAddr;

/// One node of the simulated pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeId {
    A,
    B,
}

impl NodeId {
    pub fn index(self) -> usize {
        match self {
            NodeId::A => 0,
            NodeId::B => 1,
        }
    }
    pub fn other(self) -> NodeId {
        match self {
            NodeId::A => NodeId::B,
            NodeId::B => NodeId::A,
        }
    }
    pub fn name(self) -> char {
        match self {
            NodeId::A => 'a',
            NodeId::B => 'b',
        }
    }
}

/// Something that happens to the simulated world at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A node's link on channel `channel` (index) goes down or up.
    Link {
        node: NodeId,
        channel: usize,
        up: bool,
    },
    /// Power off (addresses vanish at once) or on (a new node starts passive at once).
    Power { node: NodeId, on: bool },
    /// The node drops every packet on its channels (carrier up; the sync link still works).
    Silent { node: NodeId, silent: bool },
    /// A test host stops or starts answering.
    TestHost { address: IpAddr, alive: bool },
    /// The simulated client sends traffic through the active (or stops).
    Client { sending: bool },
    /// The sync link between the nodes (the peer protocol and the peer ping) is cut or restored.
    SyncLink { up: bool },
    /// The node's daemon is killed (SIGKILL): its addresses stay with the kernel; it is started
    /// again `restart` later (systemd), resuming as active when it holds every activeip.
    DaemonKill {
        node: NodeId,
        restart: std::time::Duration,
    },
    /// The node's daemon is stopped (SIGSTOP, `stopped`) or continued (SIGCONT).
    DaemonStop { node: NodeId, stopped: bool },
    /// A planned stop of the node's daemon (SIGTERM).
    PlannedStop { node: NodeId },
    /// Someone adds channel `channel`'s activeip on the node's host (a person, a network manager).
    AddActiveIp { node: NodeId, channel: usize },
}

/// A seeded packet-loss injector (xorshift64*): the same seed gives the same losses on every run.
#[derive(Debug, Clone)]
pub struct Loss {
    state: u64,
    rate: Rate,
}

#[derive(Debug, Clone, Copy)]
enum Rate {
    /// Whole percent, as the first scripted stories used.
    Percent(u8),
    /// Any probability in [0, 1] (`simulate-timing --loss 0.1`).
    Probability(f64),
}

impl Loss {
    /// Drops `percent`% of answers; `seed` 0 is replaced (xorshift needs a non-zero state).
    pub fn new(seed: u64, percent: u8) -> Self {
        Self {
            state: Self::seed(seed),
            rate: Rate::Percent(percent.min(100)),
        }
    }

    /// Drops each answer with probability `p` (clamped to [0, 1]).
    pub fn with_probability(seed: u64, p: f64) -> Self {
        Self {
            state: Self::seed(seed),
            rate: Rate::Probability(if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }),
        }
    }

    fn seed(seed: u64) -> u64 {
        if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        }
    }

    /// The next raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform draw in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether the next answer is lost.
    pub fn lose(&mut self) -> bool {
        match self.rate {
            Rate::Percent(percent) => (self.next_u64() >> 32) % 100 < u64::from(percent),
            Rate::Probability(p) => self.uniform() < p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_seeded_and_roughly_the_asked_rate() {
        let run = |seed| {
            let mut l = Loss::new(seed, 30);
            (0..1000).filter(|_| l.lose()).count()
        };
        assert_eq!(run(7), run(7));
        let n = run(7);
        assert!((200..400).contains(&n), "{n}");
        assert_eq!((0..100).filter(|_| Loss::new(1, 0).lose()).count(), 0);
    }

    #[test]
    fn a_probability_below_one_percent_is_honoured() {
        let mut l = Loss::with_probability(3, 0.001);
        let n = (0..1_000_000).filter(|_| l.lose()).count();
        assert!((850..1150).contains(&n), "{n}");
        assert_eq!(
            (0..100)
                .filter(|_| Loss::with_probability(1, 0.0).lose())
                .count(),
            0
        );
        assert_eq!(
            (0..100)
                .filter(|_| Loss::with_probability(1, 1.0).lose())
                .count(),
            100
        );
    }
}
