//! A reload (SIGHUP) as a state transition of the running node: the role, the hold-off, the request
//! ids, the failure history and the counters of unchanged channels are kept; only what the new config
//! changes is acted on (a dropped channel's activeip released with its down hook, a new channel's
//! claimed and announced with its up hook). A channel that keeps its addresses (only its test hosts
//! or `checkonlyidle` changed) keeps them in place and runs no hook; its counter starts again.

use super::*;
use crate::config::Channel;

/// Two channel definitions that hold the same addresses: the node keeps them across the reload,
/// with no release, claim or hook (a new test host or `checkonlyidle` changes only the checks).
fn same_addresses(a: &Channel, b: &Channel) -> bool {
    a.ident == b.ident
        && a.device == b.device
        && a.activeip == b.activeip
        && a.passiveip == b.passiveip
        && a.prefix == b.prefix
}

/// Two channel definitions that mean the same to the node (the line a key sits on does not count).
fn same_channel(a: &Channel, b: &Channel) -> bool {
    same_addresses(a, b) && a.testips == b.testips && a.checkonlyidle == b.checkonlyidle
}

fn address(c: &Channel, active: bool) -> Address {
    Address {
        device: c.device.clone(),
        address: if active { c.activeip } else { c.passiveip },
        prefix: c.prefix,
    }
}

impl Node {
    /// Applies a reloaded, validated config at `now`.
    pub fn reconfigure(&mut self, now: Instant, config: &Config) {
        let old = std::mem::replace(&mut self.config, config.clone());
        // Addresses follow the address identity; counters and pending failures the whole channel.
        let removed: Vec<Channel> = old
            .channels
            .iter()
            .filter(|o| !config.channels.iter().any(|n| same_addresses(o, n)))
            .cloned()
            .collect();
        let added: Vec<Channel> = config
            .channels
            .iter()
            .filter(|n| !old.channels.iter().any(|o| same_addresses(o, n)))
            .cloned()
            .collect();
        let changed: Vec<String> = config
            .channels
            .iter()
            .filter(|n| !old.channels.iter().any(|o| same_channel(o, n)))
            .map(|c| c.ident.clone())
            .collect();
        let rechecked = changed.len() - added.len();
        let kept = config.channels.len() - changed.len();
        self.log(
            now,
            None,
            format!(
                "reload: {kept} channel(s) unchanged, {rechecked} with new checks, {} added, {} removed; staying {}",
                added.len(),
                removed.len(),
                self.role
            ),
        );
        match &mut self.mode {
            Mode::Passive { monitor: m, .. } => m.reconfigure(config, now),
            Mode::Active { monitor: m, .. } => m.reconfigure(config, now),
            Mode::Done => return,
        }
        if self.role != Role::Active {
            self.after_monitor(now);
            return;
        }
        // A failure or hold about a channel that changed is about something that no longer exists.
        let gone = |ident: &str| {
            !config.channels.iter().any(|c| c.ident == ident) || changed.iter().any(|c| c == ident)
        };
        if self.pending().is_some_and(|p| gone(&p.failure.channel)) {
            self.take_pending();
            self.timers.stop(NodeTimer::PeerAnswer);
            if let Mode::Active { monitor: m, .. } = &mut self.mode {
                m.resume(now);
            }
        }
        if self.held.as_ref().is_some_and(|(c, _)| gone(c)) {
            self.holding = None;
            self.held = None;
        }
        if !removed.is_empty() {
            let restore = if self.passive_dropped && old.policy.releasepassiveip {
                removed.iter().map(|c| address(c, false)).collect()
            } else {
                vec![]
            };
            self.push(Action::ReleaseAddresses {
                remove: removed.iter().map(|c| address(c, true)).collect(),
                restore,
            });
            if let Some(command) = old.policy.down.clone() {
                for c in &removed {
                    self.push(Action::RunHook {
                        hook: Hook::Down,
                        channel: c.ident.clone(),
                        command: command.clone(),
                        timeout: HOOK_TIMEOUT,
                    });
                }
            }
        }
        if !added.is_empty() {
            let remove = if self.passive_dropped {
                added.iter().map(|c| address(c, false)).collect()
            } else {
                vec![]
            };
            self.push(Action::ClaimAddresses {
                add: added.iter().map(|c| address(c, true)).collect(),
                remove,
            });
            self.start_burst(now);
            if let Some(command) = config.policy.up.clone() {
                for c in &added {
                    self.push(Action::RunHook {
                        hook: Hook::Up,
                        channel: c.ident.clone(),
                        command: command.clone(),
                        timeout: HOOK_TIMEOUT,
                    });
                }
            }
        } else if self.announcements_left == 0
            && old.policy.garprefresh != config.policy.garprefresh
        {
            self.schedule_refresh(now);
        }
        self.after_monitor(now);
    }
}
