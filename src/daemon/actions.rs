//! The address side of the core's decisions, composed from the primitives: claim a channel (take
//! over), release it (demote, stop, fastdown), and the failure sequence. Written against
//! [`AddressControl`], so the simulated world and the tests can stand in for netlink.

use std::time::Instant;

use crate::config::model::{Channel, Config, FailureAction, Policy};
use crate::daemon::failure::{FailureError, FailureExecutor, FailureOutcome};
use crate::net::linux::garp::GarpBurst;
use crate::net::{AddressControl, NetError};

/// Takes over one channel: adds the activeip (the config's prefix, else the device's), drops the
/// passiveip when `releasepassiveip=yes`, and returns the gratuitous ARP schedule to drive from `now`
/// (`garpcount` x `garpinterval`, then every `garprefresh`). The first announcement is due at once.
///
/// Failing to add the activeip is the error; failing to drop the passiveip is returned beside the
/// burst, since the takeover itself succeeded.
pub fn claim(
    ctl: &mut dyn AddressControl,
    channel: &Channel,
    policy: &Policy,
    now: Instant,
) -> Result<(GarpBurst, Option<NetError>), NetError> {
    ctl.add(&channel.device, channel.activeip, channel.prefix)?;
    let dropped = if policy.releasepassiveip {
        ctl.remove(&channel.device, channel.passiveip).err()
    } else {
        None
    };
    let burst = GarpBurst::new(
        policy.garpcount,
        policy.garpinterval,
        policy.garprefresh,
        now,
    );
    Ok((burst, dropped))
}

/// Releases one channel: when `releasepassiveip=yes` had dropped the passiveip, takes it back, then
/// removes the activeip. The passiveip comes first so that, without a configured prefix, it inherits
/// the activeip's network prefix instead of falling back to /32. Both steps are tried; the first
/// error is returned.
pub fn release(
    ctl: &mut dyn AddressControl,
    channel: &Channel,
    policy: &Policy,
) -> Result<(), NetError> {
    let restored = if policy.releasepassiveip {
        ctl.add(&channel.device, channel.passiveip, channel.prefix)
    } else {
        Ok(())
    };
    let removed = ctl.remove(&channel.device, channel.activeip);
    restored.and(removed)
}

/// Releases every channel; returns the per-channel errors (an empty list: all released).
pub fn release_all(
    ctl: &mut dyn AddressControl,
    channels: &[Channel],
    policy: &Policy,
) -> Vec<(String, NetError)> {
    channels
        .iter()
        .filter_map(|c| release(ctl, c, policy).err().map(|e| (c.ident.clone(), e)))
        .collect()
}

/// What [`on_failure`] did, for the log and the daemon's next step.
#[derive(Debug)]
pub struct FailureReport {
    /// True when the addresses were released (fastdown, or demote).
    pub released: bool,
    /// Channels whose release failed.
    pub release_errors: Vec<(String, NetError)>,
    /// The failure action's result. For `Demote` the addresses are already released: the caller
    /// becomes passive.
    pub outcome: Result<FailureOutcome, FailureError>,
}

/// The active node's answer to a failed channel. With `fastdown=yes` every activeip is released
/// first, so the peer can take over without waiting for the reboot's shutdown (the source document's
/// "up to 30 seconds"); then the `onfailure` action runs. `Demote` releases too (once is enough:
/// release is idempotent).
pub fn on_failure(
    ctl: &mut dyn AddressControl,
    config: &Config,
    failed: &Channel,
    executor: &FailureExecutor,
) -> FailureReport {
    let policy = &config.policy;
    let release_first =
        config.network.fastdown || matches!(policy.onfailure, FailureAction::Demote);
    let release_errors = if release_first {
        release_all(ctl, &config.channels, policy)
    } else {
        Vec::new()
    };
    let outcome = executor.execute(&policy.onfailure, failed);
    FailureReport {
        released: release_first,
        release_errors,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Network, PolicyMode, TestHosts};
    use std::net::Ipv4Addr;
    use std::path::PathBuf;
    use std::time::Duration;

    /// Records every call; fails adds or removes on request.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        fail_remove: bool,
    }

    impl AddressControl for Recorder {
        fn add(&mut self, dev: &str, a: Ipv4Addr, p: Option<u8>) -> Result<(), NetError> {
            self.calls.push(format!("add {dev} {a} {p:?}"));
            Ok(())
        }
        fn remove(&mut self, dev: &str, a: Ipv4Addr) -> Result<(), NetError> {
            self.calls.push(format!("remove {dev} {a}"));
            if self.fail_remove {
                return Err(NetError::NoDevice(dev.to_string()));
            }
            Ok(())
        }
        fn announce(&mut self, dev: &str, a: Ipv4Addr) -> Result<(), NetError> {
            self.calls.push(format!("announce {dev} {a}"));
            Ok(())
        }
    }

    fn channel(dev: &str, net: [u8; 3]) -> Channel {
        let ip = |h| Ipv4Addr::new(net[0], net[1], net[2], h);
        Channel {
            ident: dev.into(),
            device: dev.into(),
            activeip: ip(10),
            passiveip: ip(11),
            prefix: Some(24),
            testips: vec![ip(1)],
            checkonlyidle: true,
            line: 1,
        }
    }

    fn config(onfailure: FailureAction, fastdown: bool, releasepassiveip: bool) -> Config {
        Config {
            source: PathBuf::from("test.ini"),
            channels: vec![
                channel("eth1", [192, 0, 2]),
                channel("eth2", [198, 51, 100]),
            ],
            network: Network {
                checktime: Duration::from_secs(10),
                timeout: Duration::from_secs(2),
                activeretries: 3,
                channelretries: 3,
                synctime: Duration::from_secs(5),
                fastdown,
            },
            sendconfig: None,
            policy: Policy {
                mode: PolicyMode::Improved,
                onfailure,
                testhosts: TestHosts::Any,
                requirepeer: true,
                maxfailovers: 0,
                failoverwindow: Duration::from_secs(3600),
                shutdowndelay: Duration::from_secs(30),
                garpcount: 3,
                garpinterval: Duration::from_millis(250),
                garprefresh: None,
                releasepassiveip,
                releaseonstop: true,
                up: None,
                down: None,
                statefile: PathBuf::from("/nonexistent/state"),
                historyfile: PathBuf::from("/nonexistent/failovers"),
                priority: None,
            },
        }
    }

    fn injected() -> FailureExecutor {
        FailureExecutor {
            reboot_command: Some("true".into()),
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn claim_adds_then_drops_the_passiveip_and_schedules_the_burst() {
        let cfg = config(FailureAction::Demote, false, true);
        let mut r = Recorder::default();
        let now = Instant::now();
        let (mut burst, dropped) =
            claim(&mut r, &cfg.channels[0], &cfg.policy, now).expect("claim");
        assert!(dropped.is_none());
        assert_eq!(
            r.calls,
            ["add eth1 192.0.2.10 Some(24)", "remove eth1 192.0.2.11"]
        );
        assert!(burst.poll(now), "first announcement due at once");
        assert_eq!(burst.next_at(), Some(now + Duration::from_millis(250)));
    }

    #[test]
    fn claim_keeps_the_passiveip_unless_configured() {
        let cfg = config(FailureAction::Demote, false, false);
        let mut r = Recorder {
            fail_remove: true,
            ..Recorder::default()
        };
        let (_, dropped) =
            claim(&mut r, &cfg.channels[0], &cfg.policy, Instant::now()).expect("claim");
        assert!(dropped.is_none());
        assert_eq!(r.calls, ["add eth1 192.0.2.10 Some(24)"]);
    }

    #[test]
    fn release_takes_the_passiveip_back_and_reports_errors() {
        let cfg = config(FailureAction::Demote, false, true);
        let mut r = Recorder {
            fail_remove: true,
            ..Recorder::default()
        };
        let err = release(&mut r, &cfg.channels[0], &cfg.policy);
        assert!(matches!(err, Err(NetError::NoDevice(_))));
        // The passiveip comes back first, and removing the activeip is still tried.
        assert_eq!(
            r.calls,
            ["add eth1 192.0.2.11 Some(24)", "remove eth1 192.0.2.10"]
        );
    }

    #[test]
    fn fastdown_releases_every_channel_before_the_reboot() {
        let cfg = config(FailureAction::Reboot, true, false);
        let mut r = Recorder::default();
        let report = on_failure(&mut r, &cfg, &cfg.channels[1], &injected());
        assert!(report.released);
        assert_eq!(
            r.calls,
            ["remove eth1 192.0.2.10", "remove eth2 198.51.100.10"]
        );
        assert!(matches!(report.outcome, Ok(FailureOutcome::RebootCommand(ref o)) if o.success()));
    }

    #[test]
    fn without_fastdown_the_reboot_leaves_the_addresses() {
        let cfg = config(FailureAction::Reboot, false, false);
        let mut r = Recorder::default();
        let report = on_failure(&mut r, &cfg, &cfg.channels[0], &injected());
        assert!(!report.released);
        assert!(r.calls.is_empty());
        assert!(matches!(
            report.outcome,
            Ok(FailureOutcome::RebootCommand(_))
        ));
    }

    #[test]
    fn demote_releases_and_takes_back_the_passiveips() {
        let cfg = config(FailureAction::Demote, false, true);
        let mut r = Recorder::default();
        let report = on_failure(&mut r, &cfg, &cfg.channels[0], &injected());
        assert!(report.released && report.release_errors.is_empty());
        assert!(matches!(report.outcome, Ok(FailureOutcome::Demote)));
        assert_eq!(
            r.calls,
            [
                "add eth1 192.0.2.11 Some(24)",
                "remove eth1 192.0.2.10",
                "add eth2 198.51.100.11 Some(24)",
                "remove eth2 198.51.100.10"
            ]
        );
    }
}
