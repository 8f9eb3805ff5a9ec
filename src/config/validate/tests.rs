//! Unit tests of the validation.

use crate::config::{parse_str, ArpCheck, PeerKey, PolicyMode, TestHosts, DEFAULT_PEER_PORT};
use std::path::{Path, PathBuf};

const CHANNEL: &str = "[channel]\ndevice= eth1\nactiveip= 192.0.2.50\npassiveip= 192.0.2.51\n\
                       testip= 192.0.2.1, 192.0.2.2\n";

#[test]
fn timeout_check_points_at_the_key_that_was_set() {
    // checktime set below the default timeout (2 s): the finding is on checktime's line.
    let text = format!("{CHANNEL}[network]\nchecktime= 2\n");
    let err = parse_str(&text, Path::new("t.ini")).expect_err("invalid");
    let d = err
        .diagnostics()
        .iter()
        .find(|d| d.is_error())
        .expect("an error");
    assert_eq!((d.line, d.key.as_deref()), (7, Some("checktime")), "{err}");
}

#[test]
fn mode_sets_defaults_and_keys_override() {
    let text = format!("{CHANNEL}[policy]\nmode= classic\ntesthosts= any\n");
    let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
    assert_eq!(config.policy.mode, PolicyMode::Classic);
    assert_eq!(config.policy.testhosts, TestHosts::Any);
    assert_eq!(config.policy.maxfailovers, 0);
    assert!(!config.policy.requirepeer);
}

/// The passive's check: the document's table method in classic mode, the polling raw check in
/// improved mode; the key overrides either, and a bad value is an error on its line.
#[test]
fn arpcheck_follows_the_mode_and_the_key_overrides_it() {
    let check = |policy: &str| {
        let text = format!("{CHANNEL}[policy]\n{policy}");
        parse_str(&text, Path::new("t.ini")).map(|(c, _)| c.policy.arpcheck)
    };
    assert_eq!(check("").expect("valid"), ArpCheck::Raw);
    assert_eq!(check("mode= classic\n").expect("valid"), ArpCheck::Table);
    assert_eq!(
        check("mode= classic\narpcheck= raw\n").expect("valid"),
        ArpCheck::Raw
    );
    assert_eq!(check("arpcheck= TABLE\n").expect("valid"), ArpCheck::Table);
    let err = check("arpcheck= kernel\n").expect_err("not a method");
    let d = err
        .diagnostics()
        .iter()
        .find(|d| d.is_error())
        .expect("an error");
    assert_eq!((d.line, d.key.as_deref()), (7, Some("arpcheck")), "{err}");
    assert!(d.message.contains("table | raw"), "{err}");
}

const KEY: &str = "00112233445566778899aabbccddeeff";

/// The config's errors and warnings as (line, key, message).
fn findings(text: &str) -> Vec<(usize, Option<String>, String)> {
    let diags = match parse_str(text, Path::new("t.ini")) {
        Ok((_, warnings)) => warnings,
        Err(e) => e.diagnostics().to_vec(),
    };
    diags
        .into_iter()
        .map(|d| (d.line, d.key, d.message))
        .collect()
}

#[test]
fn peer_port_and_key_parse_with_defaults() {
    let text = format!("{CHANNEL}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\nkey= {KEY}\n");
    let (config, warnings) = parse_str(&text, Path::new("t.ini")).expect("valid");
    assert_eq!(
        config
            .sendconfig
            .as_ref()
            .expect("a [sendconfig]")
            .peerlink
            .port,
        DEFAULT_PEER_PORT
    );
    let Some(PeerKey::Inline(key)) = &config
        .sendconfig
        .as_ref()
        .expect("a [sendconfig]")
        .peerlink
        .key
    else {
        panic!(
            "an inline key: {:?}",
            config.sendconfig.as_ref().expect("a [sendconfig]").peerlink
        )
    };
    assert_eq!(key, &crate::peer::Key::from_hex(KEY).expect("valid"));
    assert!(
        warnings.iter().all(|w| w.key.as_deref() != Some("key")),
        "{warnings:#?}"
    );
    assert!(
        !format!("{config:?}").contains(KEY),
        "Debug must not print the key"
    );

    let text = format!("{CHANNEL}[sendconfig]\ndevice= sync0\nport= 9000\nkeyfile= /etc/k\n");
    let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
    assert_eq!(
        config
            .sendconfig
            .as_ref()
            .expect("a [sendconfig]")
            .peerlink
            .port,
        9000
    );
    assert_eq!(
        config
            .sendconfig
            .as_ref()
            .expect("a [sendconfig]")
            .peerlink
            .key,
        Some(PeerKey::File(PathBuf::from("/etc/k")))
    );
}

#[test]
fn bad_peer_keys_are_errors_at_their_lines() {
    let base = format!("{CHANNEL}[sendconfig]\ndevice= sync0\n");
    for (extra, key, needle) in [
        ("port= 0", "port", "not a UDP port"),
        ("port= 65536", "port", "not a UDP port"),
        ("key= 0011", "key", "at least 16 bytes"),
        (
            "key= zz112233445566778899aabbccddeeff",
            "key",
            "not hexadecimal",
        ),
        ("keyfile= peer.key", "keyfile", "not an absolute path"),
    ] {
        let f = findings(&format!("{base}{extra}\n"));
        assert!(
            f.iter()
                .any(|(l, k, m)| *l == 8 && k.as_deref() == Some(key) && m.contains(needle)),
            "{extra}: {f:#?}"
        );
    }
    let f = findings(&format!("{base}key= {KEY}\nkeyfile= /etc/k\n"));
    assert!(
        f.iter().any(|(l, k, m)| *l == 9
            && k.as_deref() == Some("keyfile")
            && m.contains("both set (the other at line 8)")),
        "{f:#?}"
    );
}

#[test]
fn requirepeer_with_peerip_but_no_key_warns() {
    let text = format!("{CHANNEL}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\n");
    let (_, warnings) = parse_str(&text, Path::new("t.ini")).expect("valid, with a warning");
    let w = warnings
        .iter()
        .find(|w| w.key.as_deref() == Some("key"))
        .unwrap_or_else(|| panic!("{warnings:#?}"));
    assert_eq!(w.line, 8, "at peerip");
    assert!(w.message.contains("only asked whether it is alive (ICMP)"));
    // Classic does not ask the peer at all: nothing to warn about.
    let classic = format!("{text}[policy]\nmode= classic\n");
    let (_, warnings) = parse_str(&classic, Path::new("t.ini")).expect("valid");
    assert!(
        warnings.iter().all(|w| w.key.as_deref() != Some("key")),
        "{warnings:#?}"
    );
}

#[test]
fn a_single_test_host_is_no_single_point_of_failure_when_the_peer_is_asked() {
    let one = CHANNEL.replace(", 192.0.2.2", "");
    let single = |w: &[(usize, Option<String>, String)]| {
        w.iter()
            .any(|(_, k, m)| k.as_deref() == Some("testip") && m.contains("only one test host"))
    };
    let asked = format!("{one}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\nkey= {KEY}\n");
    assert!(!single(&findings(&asked)), "{:#?}", findings(&asked));
    // Without the key, or in classic mode (nobody asks), the warning stays.
    let keyless = format!("{one}[sendconfig]\ndevice= sync0\npeerip= 203.0.113.2\n");
    assert!(single(&findings(&keyless)));
    let classic = format!("{asked}[policy]\nmode= classic\n");
    assert!(single(&findings(&classic)));
}

#[test]
fn priority_is_0_to_7_and_out_of_range_names_the_range() {
    let (config, _) = parse_str(CHANNEL, Path::new("t.ini")).expect("valid");
    assert_eq!(config.policy.priority, None);
    let text = format!("{CHANNEL}[policy]\npriority= 7\n");
    let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
    assert_eq!(config.policy.priority, Some(7));
    for bad in ["8", "300", "-1"] {
        let text = format!("{CHANNEL}[policy]\npriority= {bad}\n");
        let err = parse_str(&text, Path::new("t.ini")).expect_err("invalid");
        let d = err
            .diagnostics()
            .iter()
            .find(|d| d.is_error())
            .expect("an error");
        assert_eq!((d.line, d.key.as_deref()), (7, Some("priority")), "{err}");
        if bad != "-1" {
            assert!(d.to_string().contains("out of range: 0"), "{d}");
        }
    }
}

#[test]
fn errors_come_sorted_by_line() {
    let text = "[network]\ntimeout= x\n[channel]\ndevice= eth1\nactiveip= y\n";
    let err = parse_str(text, Path::new("t.ini")).expect_err("invalid");
    let lines: Vec<_> = err.diagnostics().iter().map(|d| d.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    assert!(lines.contains(&2) && lines.contains(&5), "{err}");
}

/// Bug: an ident over 64 bytes validated though the peer protocol cannot carry it, and a NUL byte
/// in an ident was accepted.
#[test]
fn ident_is_at_most_64_bytes_without_control_characters() {
    let ok = format!("{CHANNEL}ident= {}\n", "x".repeat(64));
    parse_str(&ok, Path::new("t.ini")).expect("64 bytes fit");
    for bad in ["x".repeat(65), "if\u{0}1".to_string(), "if\t1".to_string()] {
        let f = findings(&format!("{CHANNEL}ident= {bad}\n"));
        assert!(
            f.iter()
                .any(|(l, k, _)| *l == 6 && k.as_deref() == Some("ident")),
            "{bad:?}: {f:#?}"
        );
    }
}

/// Bug: `garprefresh= 0s` was a zero-length refresh that made the active busy-loop; any zero now
/// means off, like `off` and `0`.
#[test]
fn a_zero_garprefresh_is_off() {
    for zero in ["0", "0s", "0ms", "off"] {
        let text = format!("{CHANNEL}[policy]\ngarprefresh= {zero}\n");
        let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
        assert_eq!(config.policy.garprefresh, None, "{zero}");
    }
    let text = format!("{CHANNEL}[policy]\ngarprefresh= 30s\n");
    let (config, _) = parse_str(&text, Path::new("t.ini")).expect("valid");
    assert_eq!(
        config.policy.garprefresh,
        Some(std::time::Duration::from_secs(30))
    );
}

/// Scale: the number of channels is bounded, and a file far over the bound is still validated in
/// linear time (the channel numbering and rust-ini's section lookup were quadratic).
#[test]
fn too_many_channels_is_an_error_at_the_first_one_over() {
    let max = crate::config::limits::MAX_CHANNELS;
    let mut text = String::new();
    for i in 0..=max {
        let (a, b) = (i / 250, i % 250 + 1);
        text.push_str(&format!(
            "[channel]\ndevice= e{i}\nactiveip= 10.{a}.0.{b}/8\npassiveip= 10.{a}.1.{b}/8\ntestip= 10.255.0.1\n"
        ));
    }
    // 5 lines per channel: the first one over the limit starts at line 5 × max + 1.
    let err = parse_str(&text, Path::new("t.ini")).expect_err("one too many");
    let d = err
        .diagnostics()
        .iter()
        .find(|d| d.is_error())
        .expect("an error");
    assert_eq!(d.line, 5 * max + 1, "{d}");
    assert!(d.message.contains(&format!("at most {max}")), "{d}");
    let fewer = text.lines().take(5 * max).collect::<Vec<_>>().join("\n");
    parse_str(&fewer, Path::new("t.ini")).expect("exactly the limit is valid");
}

const CHANNEL6: &str = "[channel]\nident= lan6\ndevice= eth1\nactiveip= 2001:db8:1::50/64\n\
                        passiveip= 2001:db8:1::51/64\ntestip= 2001:db8:1::1, 2001:db8:1::2\n";

/// Issue 12: an IPv6 channel parses like an IPv4 one, and an IPv4 and an IPv6 channel on one
/// device are two channels (a dual-stack interface), not a device used twice.
#[test]
fn ipv6_and_dual_stack_channels_parse() {
    let text = format!("{CHANNEL}{CHANNEL6}[sendconfig]\ndevice= eth0\npeerip= 2001:db8:ffff::2\n");
    let (config, warnings) = parse_str(&text, Path::new("t.ini")).expect("valid");
    assert!(
        warnings.iter().all(|w| w.key.as_deref() != Some("device")),
        "{warnings:?}"
    );
    let [v4, v6] = &config.channels[..] else {
        panic!("two channels: {:?}", config.channels)
    };
    assert_eq!((v4.device.as_str(), v6.device.as_str()), ("eth1", "eth1"));
    assert!(v4.activeip.is_ipv4() && v6.activeip.is_ipv6());
    assert_eq!(v6.prefix, Some(64));
    assert_eq!(v6.testips.len(), 2);
    assert_eq!(
        config.sendconfig.and_then(|s| s.peerip),
        Some("2001:db8:ffff::2".parse().expect("v6"))
    );
}

/// Issue 12: a channel's addresses are of one family; each stray address is one error that says
/// which family and what to do, and it is not also reported as outside the subnet.
#[test]
fn a_channel_of_two_families_is_an_error_at_each_stray_address() {
    let text = "[channel]\ndevice= eth1\nactiveip= 2001:db8:1::50/64\npassiveip= 2001:db8:1::51\n\
                testip= 2001:db8:1::1 192.0.2.1\n";
    let f = findings(text);
    let errors: Vec<_> = f
        .iter()
        .filter(|(_, _, m)| m.contains("one family"))
        .collect();
    assert_eq!(errors.len(), 1, "{f:?}");
    let (line, key, msg) = errors[0];
    assert_eq!((*line, key.as_deref()), (5, Some("testip")));
    assert!(
        msg.contains("192.0.2.1 is an IPv4 address but activeip 2001:db8:1::50 is IPv6"),
        "{msg}"
    );
    assert!(!f.iter().any(|(_, _, m)| m.contains("outside")), "{f:?}");
    // The IPv4 form is unchanged: a prefix of another family's width is no error of its own.
    let text = "[channel]\ndevice= eth1\nactiveip= 192.0.2.50/24\npassiveip= 2001:db8::51/64\n\
                testip= 192.0.2.1 192.0.2.2\n";
    let f = findings(text);
    assert!(
        f.iter()
            .any(|(l, _, m)| *l == 4 && m.contains("one family")),
        "{f:?}"
    );
    assert!(
        !f.iter().any(|(_, _, m)| m.contains("prefix /64 differs")),
        "{f:?}"
    );
}

/// Issue 12: two channels of one family on one device are still a device used twice, and the
/// message names the family so the dual-stack rule is plain.
#[test]
fn two_channels_of_one_family_on_one_device_are_still_an_error() {
    let second = CHANNEL6.replace("lan6", "lan6b").replace(":1::", ":2::");
    let f = findings(&format!("{CHANNEL}{CHANNEL6}{second}"));
    let dup: Vec<_> = f
        .iter()
        .filter(|(_, k, _)| k.as_deref() == Some("device"))
        .collect();
    assert_eq!(dup.len(), 1, "{f:?}");
    assert!(
        dup[0]
            .2
            .contains("already used by the IPv6 channel at line 8"),
        "{f:?}"
    );
    let f = findings(&format!("{CHANNEL}{}", CHANNEL.replace(".2.", ".3.")));
    assert!(
        f.iter()
            .any(|(_, _, m)| m.contains("already used by the IPv4 channel at line 2")),
        "{f:?}"
    );
}

/// Issue 12: a link-local activeip is valid but warned about; a global one is not.
#[test]
fn a_link_local_activeip_is_warned_about() {
    let text = "[channel]\ndevice= eth1\nactiveip= fe80::50\npassiveip= fe80::51\n\
                testip= fe80::1 fe80::2\n";
    let (_, warnings) = parse_str(text, Path::new("t.ini")).expect("valid");
    let w: Vec<_> = warnings
        .iter()
        .filter(|w| w.key.as_deref() == Some("activeip"))
        .collect();
    assert_eq!(w.len(), 1, "{warnings:?}");
    assert_eq!(w[0].line, 3);
    assert!(w[0].message.contains("link-local"), "{}", w[0].message);
    let (_, warnings) = parse_str(CHANNEL6, Path::new("t.ini")).expect("valid");
    assert!(warnings
        .iter()
        .all(|w| w.key.as_deref() != Some("activeip")));
}

/// Found by testing: `device= .` and `device= ..` passed, and a name with an escape sequence too.
/// Linux refuses the first two (and `:`); control characters would reach every terminal and log.
#[test]
fn interface_names_follow_linux_and_carry_no_control_characters() {
    for bad in [".", "..", "eth1:0", "eth1\u{1b}[2J", "sixteen-bytes-xx"] {
        let text = CHANNEL.replace("device= eth1", &format!("device= {bad}"));
        let err = parse_str(&text, Path::new("t.ini")).expect_err(bad);
        let d = err
            .diagnostics()
            .iter()
            .find(|d| d.key.as_deref() == Some("device"))
            .unwrap_or_else(|| panic!("{bad:?}: {err}"));
        assert_eq!(d.line, 2, "{bad:?}: {err}");
        assert!(d.message.contains("not a valid interface name"), "{err}");
        let sync = format!("{CHANNEL}[sendconfig]\ndevice= {bad}\n");
        let err = parse_str(&sync, Path::new("t.ini")).expect_err(bad);
        assert!(
            err.diagnostics()
                .iter()
                .any(|d| d.section.as_deref() == Some("sendconfig") && d.line == 7),
            "{bad:?} in [sendconfig]: {err}"
        );
    }
    for good in ["eth1", "bond0.100", "enp0s31f6", "fifteen-bytes-x"] {
        let text = CHANNEL.replace("device= eth1", &format!("device= {good}"));
        parse_str(&text, Path::new("t.ini")).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}
