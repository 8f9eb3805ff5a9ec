//! The annotated example `failover.ini` (`failoverctl example-config`), also the built-in config of
//! `failoverctl simulate-timing`: the source document's timing values on documentation addresses.

/// The example, every key with its unit, default and origin. Commented keys show their defaults.
pub const EXAMPLE: &str = r#"; failover.ini for failoverctl: an annotated example.
;
; Syntax (the original's): [section] headers, `key= value` lines, whole-line comments with `;` or `#`.
; Durations are seconds (the original) or humantime values such as `500ms` or `1s 500ms` (extension).
; Booleans are yes/no (the original) or true/false, on/off, 1/0 (extension).
; origin: "source document" = a key of ViPNet Failover's failover.ini; "extension" = failoverctl's.

; [channel]: one reserved interface. Repeat the section for each interface.
[channel]
; interface name; required; source document
device= eth1
; IPv4 or IPv6 (extension) address, owned by the active node; required; source document.
; An optional /prefix (extension) is checked: activeip, passiveip and testip in one subnet.
; A channel's addresses are of one family: for a dual-stack interface, a second [channel]
; with the same device and IPv6 addresses (say activeip= 2001:db8:1::50/64).
activeip= 192.0.2.50/24
; IPv4 or IPv6 address, this node's own while passive (differs between the two nodes); required; source document
passiveip= 192.0.2.51/24
; IPv4 or IPv6 address of a test host, the nearest router; required; source document.
; Several test hosts (extension): repeat the key, or list them separated by commas or spaces.
testip= 192.0.2.1
testip= 192.0.2.2
; name in messages; default: the device name; source document
ident= if-1
; boolean: probe only after an interval without traffic; default: no; source document
checkonlyidle= yes
; integer 1-16, echo requests per test host in one check; default: the [network] value; extension
;probes= 3
; shell command: this channel's service check, run every checktime on the active with this channel's
; hook environment; channelretries failures in a row are this channel's failure; default: none; extension
;check= /usr/local/sbin/check-tunnel if-1

[channel]
device= eth2
activeip= 198.51.100.50
passiveip= 198.51.100.51
testip= 198.51.100.1, 198.51.100.2
ident= if-2
checkonlyidle= no

; [network]: timing and retries; every key optional, defaults are the source document's example.
[network]
; duration, the main loop period; default: 10 (s); source document
checktime= 10
; duration, the wait for an answer, shorter than checktime; default: 2 (s); source document
timeout= 2
; integer >= 1, the passive's failed rounds before takeover; default: 3; source document
activeretries= 3
; integer >= 1, the active's failed rounds on a channel before its failure action; default: 3; source document
channelretries= 3
; duration, the heartbeat period on the sync link (with peerip and the key); default: 5 (s); source document
synctime= 5
; boolean, release the addresses at once on failure (no shutdown delay); default: yes; source document
fastdown= yes
; integer 1-16, requests per test host (active) and per activeip (passive) in one check, spread
; within timeout; any answer counts, so the detection bounds stay; default: 3; extension
;probes= 3

; [sendconfig]: the sync link between the two nodes; optional section.
[sendconfig]
; interface name; required in this section; source document
device= eth0
; IPv4 or IPv6 address of the peer on the sync link; default: none; extension
peerip= 203.0.113.2
; UDP port of the peer protocol on the sync link, the same on both nodes; default: 7411; extension
;port= 7411
; the shared peer key, hex, at least 32 characters (16 bytes), the same on both nodes; it authenticates
; the question "can you reach the test hosts?" that the active asks before acting on a failure.
; Generate one with `od -An -tx1 -N32 /dev/urandom | tr -d ' \n'`; default: none; extension
;key= <32 or more hex characters>
; absolute path of a file holding that hex key (root-only readable), instead of key; default: none; extension
keyfile= /etc/failoverctl/peer.key

; [policy]: failoverctl's extension section. `mode` sets the defaults of the others; an explicit key
; overrides. The commented keys show the improved defaults.
[policy]
; classic | improved; default: improved; extension
mode= improved
; reboot | demote | exec:COMMAND; default: reboot (classic), demote (improved); extension
;onfailure= demote
; any | all, how several test hosts combine; default: all (classic), any (improved); extension
;testhosts= any
; table | raw, the passive's check of each activeip: table deletes the neighbour entry, sends UDP and
; reads the kernel's table (the source document's); raw sends its own ARP request to the MAC that
; answered last, repeats broadcast; default: table (classic), raw (improved); extension
;arpcheck= raw
; boolean, act on a failure only while the peer is alive; default: no (classic), yes (improved); extension
;requirepeer= yes
; boolean, take over only with carrier and answering test hosts; default: no (classic), yes (improved); extension
;requirefit= yes
; integer, failure actions allowed within failoverwindow, 0 = unlimited; default: 0 (classic), 3 (improved); extension
;maxfailovers= 3
; duration; default: 1h; extension
;failoverwindow= 1h
; duration from reboot start to interfaces down (the document's figure); default: 30s; extension
;shutdowndelay= 30s
; integer, gratuitous ARPs (request and reply form) after a takeover; default: 5; extension
;garpcount= 5
; duration between them (5 x 250ms: the burst lasts about a second); default: 250ms; extension
;garpinterval= 250ms
; duration | off, resend period while active; default: off; extension
;garprefresh= off
; boolean, drop the passiveip when taking over; default: no; extension
;releasepassiveip= no
; boolean, release the activeips on SIGTERM/SIGINT; default: yes; extension
;releaseonstop= yes
; shell command run after a takeover, once per channel; default: none; extension
;up= /usr/local/sbin/failover-up
; shell command run after releasing, once per channel; default: none; extension
;down= /usr/local/sbin/failover-down
; shell command, the service check run every checktime on the active (killed after checktime);
; channelretries failures in a row are a failure of the node; default: none; extension
;check= systemctl is-active --quiet strongswan
; absolute path of the daemon's state file; default: /run/failoverctl/state.json; extension
;statefile= /run/failoverctl/state.json
; absolute path of the failure-action history, kept across reboots for maxfailovers; default: /var/lib/failoverctl/failovers; extension
;historyfile= /var/lib/failoverctl/failovers
; integer 0..7, start-up order when both start at once: the lower takes over first (give it to the node that should be active); default: the first passiveip's last octet mod 8; extension
;priority= 0
; absolute path ending in .prom: Prometheus metrics, rewritten on change, for the node exporter's
; textfile collector (see `man failoverctl-run`); default: none; extension
;metricsfile= /var/lib/prometheus/node-exporter/failoverctl.prom
; IP:port, serve the same metrics over HTTP there (a local or management address); default: none; extension
;metricslisten= 127.0.0.1:9411
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::KEYS;
    use crate::config::{parse_str, FailureAction, PolicyMode, TestHosts};
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn example_validates_without_warnings() {
        let (config, warnings) =
            parse_str(EXAMPLE, Path::new("example")).expect("example is valid");
        assert!(warnings.is_empty(), "{warnings:#?}");
        assert_eq!(config.channels.len(), 2);
        assert_eq!(config.channels[0].prefix, Some(24));
        assert_eq!(config.channels[1].testips.len(), 2);
        assert_eq!(config.network.checktime, Duration::from_secs(10));
        assert_eq!(config.policy.mode, PolicyMode::Improved);
        assert_eq!(config.policy.onfailure, FailureAction::Demote);
        assert_eq!(config.policy.testhosts, TestHosts::Any);
    }

    #[test]
    fn example_names_every_key() {
        for k in KEYS {
            let set = format!("\n{}= ", k.key);
            let shown = format!("\n;{}= ", k.key);
            assert!(
                EXAMPLE.contains(&set) || EXAMPLE.contains(&shown),
                "example lacks [{}] {}",
                k.section,
                k.key
            );
        }
    }

    #[test]
    fn example_uses_documentation_addresses_only() {
        for line in EXAMPLE.lines().filter(|l| !l.starts_with(';')) {
            if let Some((_, v)) = line.split_once("= ") {
                if v.chars().next().is_some_and(|c| c.is_ascii_digit()) && v.contains('.') {
                    assert!(
                        ["192.0.2.", "198.51.100.", "203.0.113."]
                            .iter()
                            .any(|p| v.starts_with(p)),
                        "{line}"
                    );
                }
            }
        }
    }
}
