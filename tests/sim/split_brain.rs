//! Split brain on the simulated pair: with seeded loss the passive sometimes takes over beside a live
//! active; the active's conflict check must end every such moment quickly and leave one owner.

use std::time::Duration;

use failoverctl::config::PolicyMode;
use failoverctl::core::Instant;
use failoverctl::sim::{document_config, peer_config, NodeId, World};

/// The two-owner moments of a run: (start, length, the owners right after).
fn split_brains(
    w: &mut World,
    until: Instant,
    bound: Duration,
) -> Vec<(Instant, Duration, Vec<NodeId>)> {
    let mut found = Vec::new();
    let mut since: Option<Instant> = None;
    while w.now() < until {
        assert!(w.step().expect("progress"), "the pair stopped deciding");
        let two = w.owners(0).len() == 2;
        match (two, since) {
            (true, None) => since = Some(w.now()),
            (false, Some(s)) => {
                found.push((s, w.now() - s, w.owners(0)));
                since = None;
            }
            _ => {}
        }
        // Bounded: a split brain still open past the bound fails here, not at the end.
        if let Some(s) = since {
            assert!(
                w.now() - s <= bound,
                "two owners since {s}, still at {}:\n{}",
                w.now(),
                w.log().join("\n")
            );
        }
    }
    found
}

#[test]
fn with_10_percent_loss_every_split_brain_ends_within_two_checktimes_and_a_timeout() {
    let cfg = document_config(PolicyMode::Improved);
    let n = &cfg.network;
    // One check of the loser a checktime after the claim at most, its answer within timeout, and
    // one lost round.
    let bound = n.checktime * 2 + n.timeout;
    // The passive asks twice per check (max(2, probes)), so three failed checks in a row need
    // six lost exchanges: at 5% loss none happens in 200 runs of 30 minutes (which is the point of
    // issue 14); at 10% a few do, enough for this test to see split brains end.
    let (mut total, mut longest, mut false_takeovers) = (0, None, 0);
    for seed in 1..=200 {
        let mut w = World::new(cfg.clone(), peer_config(&cfg)).with_loss(seed, 10);
        let found = split_brains(&mut w, Instant::from_millis(30 * 60 * 1000), bound);
        longest = found.iter().map(|(_, d, _)| *d).chain(longest).max();
        total += found.len();
        // b's claims after a's first one: takeovers beside a live active.
        false_takeovers += w
            .events()
            .iter()
            .filter(|(_, id, e)| *id == NodeId::B && *e == failoverctl::sim::Event::Claimed)
            .count();
        assert_eq!(w.owners(0).len(), 1, "seed {seed}: {:?}", w.owners(0));
        assert_eq!(w.owners(0), w.actives(), "seed {seed}");
        // The simulated MACs make a the keeper: b yields every time.
        for (at, _, after) in &found {
            assert_eq!(after, &vec![NodeId::A], "seed {seed}, split brain at {at}");
        }
    }
    eprintln!(
        "{false_takeovers} false takeover(s), {total} two-owner moment(s) seen between steps in \
         200 runs of 30 minutes, longest {longest:?}, bound {bound:?}"
    );
    // Otherwise this test would check nothing.
    assert!(
        false_takeovers > 0,
        "no false takeover happened: raise the loss or change the seeds"
    );
    // Issue 14: a takeover beside a live active is seen at once (its announcement is a foreign
    // claim to the active) and ended by the same rule without waiting for a checktime.
    assert!(
        longest.is_none_or(|d| d <= n.timeout),
        "a split brain lasted {longest:?}"
    );
}
