//! Value syntax shared by all keys: durations, booleans, integers, IPv4 and IPv6 addresses with an
//! optional prefix, and lists of test hosts. Each parser returns a message fit for a diagnostic.

use std::net::IpAddr;
use std::time::Duration;

/// A duration: a plain integer is seconds (the original's syntax); anything else is a humantime
/// value such as `500ms` or `1s 500ms` (an extension).
pub fn duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Err("empty value, expected a duration".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("`{s}` is too large a number of seconds"));
    }
    humantime::parse_duration(s).map_err(|e| {
        format!("`{s}` is not a duration (seconds, or a value like `500ms` or `1s 500ms`): {e}")
    })
}

/// A boolean: `yes`/`no` (the original) or `true`/`false`, `on`/`off`, `1`/`0`, any case.
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "`{s}` is not a boolean (yes/no, true/false, on/off, 1/0)"
        )),
    }
}

/// A non-negative integer that fits in 32 bits.
pub fn integer(s: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Err("empty value, expected an integer".into());
    }
    s.parse::<u32>()
        .map_err(|_| format!("`{s}` is not a non-negative integer"))
}

/// An IPv4 or IPv6 address, optionally with a prefix length (`192.0.2.50/24`, `2001:db8::50/64`;
/// the prefix is an extension). The prefix's range is the family's (1 to 32, 1 to 128).
pub fn ip_prefix(s: &str) -> Result<(IpAddr, Option<u8>), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim())),
        None => (s, None),
    };
    let ip = ip(addr)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => None,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => return Err(format!("`{p}` is not a prefix length (1 to {max})")),
        },
    };
    Ok((ip, prefix))
}

/// A plain address: IPv4 in dotted-quad form or IPv6 in RFC 4291 text form. An IPv4-mapped IPv6
/// address (`::ffff:192.0.2.1`) is refused: it names an IPv4 host, and the peer protocol uses that
/// form to carry IPv4 addresses, so allowing it would make two spellings of one address.
pub fn ip(s: &str) -> Result<IpAddr, String> {
    if s.is_empty() {
        return Err("empty value, expected an IP address".into());
    }
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => Err(format!(
                "`{s}` is an IPv4-mapped IPv6 address; write the IPv4 address {v4}"
            )),
            None => Ok(IpAddr::V6(v6)),
        },
        Ok(v4) => Ok(v4),
        Err(_) => Err(format!("`{s}` is not an IP address (IPv4 or IPv6)")),
    }
}

/// Why `name` cannot be an interface name, if it cannot: Linux's rules (`dev_valid_name`: at most
/// 15 bytes, not `.` or `..`, no `/`, `:` or whitespace), and no control characters, which would
/// reach every terminal and log that names the device.
pub fn interface_name_problem(name: &str) -> Option<&'static str> {
    if name.len() > 15 {
        // IFNAMSIZ is 16 bytes with the terminating NUL.
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not interface names")
    } else if name.contains(['/', ':']) || name.contains(char::is_whitespace) {
        Some("`/`, `:` and whitespace are not allowed")
    } else if name.contains(char::is_control) {
        Some("control characters are not allowed")
    } else {
        None
    }
}

/// The name of an address's family, for messages.
pub fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Whether `ip` is an IPv6 link-local address (fe80::/10).
pub fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// Splits a `testip=` value into addresses: one address (the original) or a list separated by commas
/// or spaces (an extension).
pub fn list(s: &str) -> Vec<&str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect()
}

/// An address as a 128-bit number and its family's width, so one mask works for both families.
fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// The host part's mask of a `prefix` in an address `width` bits wide.
fn host_mask(prefix: u8, width: u8) -> u128 {
    let host = u32::from(width.saturating_sub(prefix.min(width)));
    if host == 0 {
        0
    } else {
        u128::MAX >> (128 - host)
    }
}

/// Whether two addresses fall in one subnet of the given prefix length (never across families).
pub fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    let ((x, width), (y, other)) = (bits(a), bits(b));
    let host = host_mask(prefix, width);
    width == other && x & !host == y & !host
}

/// Whether `a` may not be a node's own address in its subnet: the network or broadcast address
/// of an IPv4 subnet up to /30, where both exist; the subnet-router anycast address (host part
/// zero) of an IPv6 subnet up to /126 (a /127 link uses both addresses, RFC 6164).
pub fn is_network_or_broadcast(a: IpAddr, prefix: u8) -> bool {
    let (v, width) = bits(a);
    let host = host_mask(prefix, width);
    match a {
        IpAddr::V4(_) => prefix <= 30 && (v & host == 0 || v & host == host),
        IpAddr::V6(_) => prefix <= 126 && v & host == 0,
    }
}

/// Formats a duration the way the tables print it: `16 s`, `1.5 s`, `500 ms`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 && ms > 0 {
        format!("{ms} ms")
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        let text = format!("{:.3}", d.as_secs_f64());
        format!("{} s", text.trim_end_matches('0'))
    }
}

/// What keeps `ip` from being one station's address, if anything: multicast, broadcast, loopback or
/// unspecified.
pub fn not_unicast(ip: IpAddr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("the unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip == IpAddr::V4(std::net::Ipv4Addr::BROADCAST) {
        Some("the limited broadcast address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1s 500ms"), Ok(Duration::from_millis(1500)));
        assert!(duration("ten").is_err());
        assert!(duration("-1").is_err());
        assert!(duration("").is_err());
        assert!(duration("99999999999999999999999").is_err());
    }

    #[test]
    fn booleans() {
        for t in ["yes", "YES", "true", "on", "1"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["no", "false", "Off", "0"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn addresses() {
        let v4 = |a, b, c, d| IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d));
        assert_eq!(
            ip_prefix("192.0.2.50/24"),
            Ok((v4(192, 0, 2, 50), Some(24)))
        );
        assert_eq!(ip_prefix("192.0.2.50"), Ok((v4(192, 0, 2, 50), None)));
        assert!(ip_prefix("192.0.2.50/33").is_err());
        assert!(ip_prefix("192.0.2.500").is_err());
        assert!(ip_prefix("192.0.2").is_err());
        assert!(same_subnet(v4(192, 0, 2, 1), v4(192, 0, 2, 254), 24));
        assert!(!same_subnet(v4(192, 0, 2, 1), v4(192, 0, 3, 1), 24));
        assert!(is_network_or_broadcast(v4(192, 0, 2, 255), 24));
        assert!(is_network_or_broadcast(v4(192, 0, 2, 0), 24));
        assert!(!is_network_or_broadcast(v4(192, 0, 2, 1), 24));
        assert!(!is_network_or_broadcast(v4(192, 0, 2, 0), 31));
    }

    #[test]
    fn ipv6_addresses() {
        let v6 = |s: &str| s.parse::<IpAddr>().expect("an IPv6 literal");
        assert_eq!(
            ip_prefix("2001:db8::50/64"),
            Ok((v6("2001:db8::50"), Some(64)))
        );
        assert_eq!(ip_prefix("2001:db8::50/128").map(|p| p.1), Ok(Some(128)));
        assert!(ip_prefix("2001:db8::50/129").is_err());
        assert!(ip_prefix("2001:db8::g").is_err());
        let mapped = ip("::ffff:192.0.2.1").expect_err("IPv4-mapped is refused");
        assert!(mapped.contains("192.0.2.1"), "{mapped}");
        assert!(same_subnet(v6("2001:db8::1"), v6("2001:db8::ffff"), 64));
        assert!(!same_subnet(v6("2001:db8::1"), v6("2001:db8:1::1"), 64));
        // Families never share a subnet, whatever the bits.
        assert!(!same_subnet(
            v6("::c000:201"),
            "192.0.2.1".parse().unwrap(),
            1
        ));
        assert!(is_network_or_broadcast(v6("2001:db8::"), 64));
        assert!(!is_network_or_broadcast(v6("2001:db8::1"), 64));
        assert!(!is_network_or_broadcast(v6("2001:db8::"), 127));
        assert!(is_link_local(v6("fe80::1")));
        assert!(is_link_local(v6("febf::1")));
        assert!(!is_link_local(v6("fec0::1")));
        assert!(!is_link_local("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn lists() {
        assert_eq!(
            list("192.0.2.1, 192.0.2.2 192.0.2.3"),
            ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
        );
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_secs(16)), "16 s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(format_duration(Duration::from_millis(300)), "300 ms");
        assert_eq!(format_duration(Duration::ZERO), "0 s");
    }
}
