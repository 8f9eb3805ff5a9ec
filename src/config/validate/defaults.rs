//! The defaults of `[network]` and `[policy]`, and the fixed limits of values.

use super::super::model::*;
use std::path::PathBuf;
use std::time::Duration;

/// The source document's example values, chosen as the defaults of `[network]` (the document gives
/// no defaults of its own).
pub const DEFAULT_CHECKTIME: Duration = Duration::from_secs(10);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_ACTIVERETRIES: u32 = 3;
pub const DEFAULT_CHANNELRETRIES: u32 = 3;
pub const DEFAULT_SYNCTIME: Duration = Duration::from_secs(5);
/// `probes= 3`: the fewest requests per check with which the fastest setting of the README's timing
/// table (checktime 100ms, timeout 50ms, 3 retries) stays below one false failover a year at 5%
/// packet loss (closed form, `sim::loss`; N = 2 gives about 270 a year there). A test re-derives it.
pub const DEFAULT_PROBES: u32 = 3;
/// `fastdown=yes`, as in the document's example: releasing the addresses at once removes the
/// shutdown delay from the outage and keeps two nodes from answering for one address.
pub const DEFAULT_FASTDOWN: bool = true;
/// "Typically, the time from the start of a reboot to shutting down the interfaces does not exceed
/// 30 seconds" (source document).
pub const DEFAULT_SHUTDOWNDELAY: Duration = Duration::from_secs(30);
/// Where the daemon writes its state.
pub const DEFAULT_STATEFILE: &str = "/run/failoverctl/state.json";
/// On persistent storage: the failure-action history must survive the reboot it counts.
pub const DEFAULT_HISTORYFILE: &str = "/var/lib/failoverctl/failovers";

/// The highest `priority=`: one value per start stagger slot.
pub const MAX_PRIORITY: u8 = 7;

impl Policy {
    /// The defaults of `mode`: classic reproduces the source document, improved fixes its stories.
    pub fn defaults(mode: PolicyMode) -> Policy {
        let classic = mode == PolicyMode::Classic;
        Policy {
            mode,
            onfailure: if classic {
                FailureAction::Reboot
            } else {
                FailureAction::Demote
            },
            testhosts: if classic {
                TestHosts::All
            } else {
                TestHosts::Any
            },
            // The raw check polls the active's MAC alone: no broadcast to every station on the LAN
            // each checktime, and no neighbour entry deleted.
            arpcheck: if classic {
                ArpCheck::Table
            } else {
                ArpCheck::Raw
            },
            requirepeer: !classic,
            requirefit: !classic,
            maxfailovers: if classic { 0 } else { 3 },
            failoverwindow: Duration::from_secs(3600),
            shutdowndelay: DEFAULT_SHUTDOWNDELAY,
            // Five announcements over about a second: gear that misses one still learns the owner.
            garpcount: 5,
            garpinterval: Duration::from_millis(250),
            garprefresh: None,
            releasepassiveip: false,
            releaseonstop: true,
            up: None,
            down: None,
            check: None,
            statefile: PathBuf::from(DEFAULT_STATEFILE),
            historyfile: PathBuf::from(DEFAULT_HISTORYFILE),
            priority: None,
            metricsfile: None,
            metricslisten: None,
        }
    }
}

impl Default for Network {
    /// The source document's example values (see the `DEFAULT_*` constants).
    fn default() -> Self {
        Network {
            checktime: DEFAULT_CHECKTIME,
            timeout: DEFAULT_TIMEOUT,
            activeretries: DEFAULT_ACTIVERETRIES,
            channelretries: DEFAULT_CHANNELRETRIES,
            synctime: DEFAULT_SYNCTIME,
            fastdown: DEFAULT_FASTDOWN,
            probes: DEFAULT_PROBES,
        }
    }
}
