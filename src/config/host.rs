//! `validate --check-host`: read-only checks of a validated config against this host's interfaces
//! and addresses. The facts are gathered by the caller, so the checks are pure and testable.

use super::diagnostic::{Diagnostic, Severity};
use super::model::Config;
use super::validate::display_name;
use std::net::IpAddr;

/// What this host has: its interfaces and their IPv4 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub devices: Vec<String>,
    /// (device, address) pairs.
    pub addresses: Vec<(String, IpAddr)>,
}

impl HostFacts {
    /// Reads the interfaces (`/sys/class/net`) and IPv4 addresses (getifaddrs) of this host. Changes
    /// nothing.
    pub fn read() -> std::io::Result<HostFacts> {
        let mut devices = Vec::new();
        for entry in std::fs::read_dir("/sys/class/net")? {
            devices.push(entry?.file_name().to_string_lossy().into_owned());
        }
        devices.sort();
        let mut addresses = Vec::new();
        for ifa in nix::ifaddrs::getifaddrs().map_err(std::io::Error::from)? {
            let address = ifa.address.as_ref();
            if let Some(sin) = address.and_then(|a| a.as_sockaddr_in()) {
                addresses.push((ifa.interface_name.clone(), sin.ip().into()));
            } else if let Some(sin6) = address.and_then(|a| a.as_sockaddr_in6()) {
                addresses.push((ifa.interface_name.clone(), sin6.ip().into()));
            }
        }
        Ok(HostFacts { devices, addresses })
    }

    fn has(&self, device: &str, ip: IpAddr) -> bool {
        self.addresses.iter().any(|(d, a)| d == device && *a == ip)
    }
}

/// Errors for each device missing on this host and each channel whose device holds neither its
/// activeip nor its passiveip.
pub fn check_host(config: &Config, facts: &HostFacts) -> Vec<Diagnostic> {
    let file = display_name(&config.source);
    let mut out = Vec::new();
    let mut push = |line, section: &str, ident: Option<&str>, key: &str, message: String| {
        out.push(Diagnostic {
            severity: Severity::Error,
            file: file.clone(),
            line,
            section: Some(section.to_string()),
            ident: ident.map(str::to_string),
            key: Some(key.to_string()),
            message,
            suggestion: None,
        });
    };
    for c in &config.channels {
        if !facts.devices.contains(&c.device) {
            let msg = format!("no interface `{}` on this host", c.device);
            push(c.lines.device, "channel", Some(&c.ident), "device", msg);
        } else if !facts.has(&c.device, c.activeip) && !facts.has(&c.device, c.passiveip) {
            let msg = format!(
                "`{}` holds neither activeip {} nor passiveip {}",
                c.device, c.activeip, c.passiveip
            );
            push(c.lines.activeip, "channel", Some(&c.ident), "activeip", msg);
        }
    }
    if let Some(s) = &config.sendconfig {
        if !facts.devices.contains(&s.device) {
            let msg = format!("no interface `{}` on this host", s.device);
            push(config.sendconfig_line, "sendconfig", None, "device", msg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{example::EXAMPLE, parse_str};
    use std::path::Path;

    #[test]
    fn finds_missing_devices_and_addresses() {
        let (config, _) = parse_str(EXAMPLE, Path::new("x.ini")).expect("example is valid");
        let facts = HostFacts {
            devices: vec!["eth0".into(), "eth1".into()],
            addresses: vec![("eth1".into(), IpAddr::from([192, 0, 2, 51]))],
        };
        let diags = check_host(&config, &facts);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].ident.as_deref(), Some("if-2"));
        assert_eq!(diags[0].key.as_deref(), Some("device"));

        let facts = HostFacts {
            devices: vec!["eth0".into(), "eth1".into(), "eth2".into()],
            addresses: vec![("eth1".into(), IpAddr::from([192, 0, 2, 51]))],
        };
        let diags = check_host(&config, &facts);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].key.as_deref(), Some("activeip"));
        assert_eq!(diags[0].ident.as_deref(), Some("if-2"));
    }

    /// Found by testing: the finding pointed at the `[channel]` header (and `[sendconfig]`'s at
    /// line 0), not at the key it names.
    #[test]
    fn each_finding_points_at_the_line_of_its_key() {
        let (config, _) = parse_str(EXAMPLE, Path::new("x.ini")).expect("example is valid");
        let line_of = |section_start: usize, key: &str| {
            EXAMPLE
                .lines()
                .enumerate()
                .skip(section_start)
                .find(|(_, l)| l.starts_with(&format!("{key}=")))
                .map(|(i, _)| i + 1)
                .expect("the key is in the example")
        };
        let c2 = &config.channels[1];
        let send = EXAMPLE
            .lines()
            .position(|l| l.starts_with("[sendconfig]"))
            .expect("a [sendconfig]");
        let diags = check_host(&config, &HostFacts::default());
        let at = |ident: Option<&str>, key: &str| {
            diags
                .iter()
                .find(|d| d.ident.as_deref() == ident && d.key.as_deref() == Some(key))
                .map(|d| d.line)
        };
        assert_eq!(at(Some("if-2"), "device"), Some(line_of(c2.line, "device")));
        assert_eq!(at(None, "device"), Some(line_of(send, "device")));
        let facts = HostFacts {
            devices: vec!["eth0".into(), "eth1".into(), "eth2".into()],
            addresses: vec![],
        };
        let diags = check_host(&config, &facts);
        let activeip = diags
            .iter()
            .find(|d| d.ident.as_deref() == Some("if-2"))
            .expect("if-2 holds nothing");
        assert_eq!(activeip.line, line_of(c2.line, "activeip"));
        assert_ne!(activeip.line, c2.line);
    }
}
