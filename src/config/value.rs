//! Value syntax shared by all keys: durations, booleans, integers, IPv4 addresses with an optional
//! prefix, and lists of test hosts. Each parser returns a message fit for a diagnostic.

use std::net::Ipv4Addr;
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

/// An IPv4 address, optionally with a prefix length (`192.0.2.50/24`, an extension).
pub fn ipv4_prefix(s: &str) -> Result<(Ipv4Addr, Option<u8>), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p.trim())),
        None => (s, None),
    };
    let ip = ipv4(addr)?;
    let prefix = match prefix {
        None => None,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if (1..=32).contains(&n) => Some(n),
            _ => return Err(format!("`{p}` is not a prefix length (1 to 32)")),
        },
    };
    Ok((ip, prefix))
}

/// A plain IPv4 address in dotted-quad form.
pub fn ipv4(s: &str) -> Result<Ipv4Addr, String> {
    if s.is_empty() {
        return Err("empty value, expected an IPv4 address".into());
    }
    s.parse::<Ipv4Addr>()
        .map_err(|_| format!("`{s}` is not an IPv4 address"))
}

/// Splits a `testip=` value into addresses: one address (the original) or a list separated by commas
/// or spaces (an extension).
pub fn list(s: &str) -> Vec<&str> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether two addresses fall in one subnet of the given prefix length.
pub fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = mask(prefix);
    u32::from(a) & mask == u32::from(b) & mask
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

/// Whether `a` is the network or broadcast address of its subnet (only for prefixes up to /30,
/// where both exist).
pub fn is_network_or_broadcast(a: Ipv4Addr, prefix: u8) -> bool {
    if prefix > 30 {
        return false;
    }
    let m = mask(prefix);
    let v = u32::from(a);
    v & !m == 0 || v & !m == !m
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
        assert_eq!(
            ipv4_prefix("192.0.2.50/24"),
            Ok((Ipv4Addr::new(192, 0, 2, 50), Some(24)))
        );
        assert_eq!(
            ipv4_prefix("192.0.2.50"),
            Ok((Ipv4Addr::new(192, 0, 2, 50), None))
        );
        assert!(ipv4_prefix("192.0.2.50/33").is_err());
        assert!(ipv4_prefix("192.0.2.500").is_err());
        assert!(ipv4_prefix("192.0.2").is_err());
        assert!(same_subnet(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 254),
            24
        ));
        assert!(!same_subnet(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 3, 1),
            24
        ));
        assert!(is_network_or_broadcast(Ipv4Addr::new(192, 0, 2, 255), 24));
        assert!(!is_network_or_broadcast(Ipv4Addr::new(192, 0, 2, 1), 24));
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
