//! The capabilities a daemon role needs, checked once at start: a node that can probe but not hold an
//! address (CAP_NET_RAW without CAP_NET_ADMIN) must not start, fail every takeover and count its own
//! failed claims as failure actions.

use crate::config::{Config, FailureAction};
use crate::core::Scope;
use crate::daemon::failure::FailureExecutor;
use crate::exit::ExitError;

/// One capability and why the role needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub name: &'static str,
    bit: u32,
    pub why: &'static str,
}

const NET_BIND_SERVICE: u32 = 10;
const NET_ADMIN: u32 = 12;
const NET_RAW: u32 = 13;
const SYS_BOOT: u32 = 22;

/// What a role needs. `dry_run` touches no address, hook or kernel table, but still probes and checks
/// ARP with raw frames.
pub fn needs(scope: Scope, config: &Config, dry_run: bool, reboot_command: bool) -> Vec<Need> {
    let mut needs = vec![Need {
        name: "CAP_NET_RAW",
        bit: NET_RAW,
        why: "ICMP probes, ARP frames and the peer socket bound to its device",
    }];
    if !dry_run {
        needs.push(Need {
            name: "CAP_NET_ADMIN",
            bit: NET_ADMIN,
            why: "adding and removing the activeips and reading the neighbour table",
        });
        let acts = scope != Scope::PassiveOnly;
        if acts && config.policy.onfailure == FailureAction::Reboot && !reboot_command {
            needs.push(Need {
                name: "CAP_SYS_BOOT",
                bit: SYS_BOOT,
                why: "onfailure=reboot",
            });
        }
    }
    if config
        .sendconfig
        .as_ref()
        .is_some_and(|s| s.peerip.is_some() && s.peerlink.key.is_some() && s.peerlink.port < 1024)
    {
        needs.push(Need {
            name: "CAP_NET_BIND_SERVICE",
            bit: NET_BIND_SERVICE,
            why: "the peer protocol's port below 1024",
        });
    }
    needs
}

/// The effective capability set of this process (`CapEff` of /proc/self/status).
fn effective() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| std::io::Error::other("no CapEff line in /proc/self/status"))
}

/// The needs that `effective` lacks.
pub fn missing(needs: &[Need], effective: u64) -> Vec<Need> {
    needs
        .iter()
        .filter(|n| effective & (1u64 << n.bit) == 0)
        .copied()
        .collect()
}

/// Exit 2 naming every missing capability, before anything is touched.
pub fn check(command: &str, scope: Scope, config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let reboot_command = FailureExecutor::from_env().reboot_command.is_some();
    let needs = needs(scope, config, dry_run, reboot_command);
    let effective = effective()
        .map_err(|e| ExitError::usage(format!("cannot read this process's capabilities: {e}")))?;
    let missing = missing(&needs, effective);
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing
        .iter()
        .map(|n| format!("{} ({})", n.name, n.why))
        .collect();
    let names: Vec<&str> = missing.iter().map(|n| n.name).collect();
    Err(ExitError::usage(format!(
        "{command} needs {}: permission denied (run as root, or grant {})",
        list.join(", "),
        names.join(" and ")
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyMode;

    fn names(v: &[Need]) -> Vec<&'static str> {
        v.iter().map(|n| n.name).collect()
    }

    /// Bug: with CAP_NET_RAW but not CAP_NET_ADMIN the daemon started, failed every claim and
    /// recorded failure actions; every role that touches addresses needs CAP_NET_ADMIN.
    #[test]
    fn raw_without_admin_is_missing_admin() {
        let mut cfg = crate::sim::document_config(PolicyMode::Improved);
        cfg.policy.onfailure = FailureAction::Demote;
        for scope in [Scope::Service, Scope::ActiveOnly, Scope::PassiveOnly] {
            let needs = needs(scope, &cfg, false, false);
            assert_eq!(
                names(&missing(&needs, 1 << NET_RAW)),
                ["CAP_NET_ADMIN"],
                "{scope:?}"
            );
            assert!(missing(&needs, (1 << NET_RAW) | (1 << NET_ADMIN)).is_empty());
        }
        // A dry run changes no address: CAP_NET_RAW is enough.
        assert!(missing(&needs(Scope::Service, &cfg, true, false), 1 << NET_RAW).is_empty());
    }

    #[test]
    fn reboot_needs_sys_boot_unless_replaced_or_passive_only() {
        let mut cfg = crate::sim::document_config(PolicyMode::Classic);
        cfg.policy.onfailure = FailureAction::Reboot;
        let admin = (1 << NET_RAW) | (1 << NET_ADMIN);
        let need = |scope, cmd| names(&missing(&needs(scope, &cfg, false, cmd), admin));
        assert_eq!(need(Scope::Service, false), ["CAP_SYS_BOOT"]);
        assert_eq!(need(Scope::ActiveOnly, false), ["CAP_SYS_BOOT"]);
        assert!(need(Scope::PassiveOnly, false).is_empty());
        assert!(need(Scope::Service, true).is_empty());
    }

    #[test]
    fn this_process_has_a_readable_effective_set() {
        effective().expect("CapEff in /proc/self/status");
    }
}
