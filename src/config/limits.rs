//! The documented range of every duration and count, and the size limits of the files read. Config
//! keys and command-line flags parse through the same ranges, so `--timeout 2` and `timeout= 2` mean
//! the same and stop at the same bound. The README's "Limits" table lists them (a test keeps it so).
//!
//! Why upper bounds at all: every value here ends up in timing arithmetic or a loop count. A bound far
//! above any useful setting keeps that arithmetic exact and the work of the daemon, `validate` and
//! `simulate-timing` finite, and it turns a typo (`checktime= 10000000`) into a clear error.

use super::value;
use std::io::Read;
use std::time::Duration;

/// The largest config file read (a real one is a few KiB; 1,024 channels fit in about 150 KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The largest state file `status` reads (the daemon writes a few KiB).
pub const MAX_STATE_BYTES: u64 = 1024 * 1024;
/// The most `[channel]` sections in one config.
pub const MAX_CHANNELS: usize = 1024;
/// The most test hosts of one channel: what one peer query can carry (`peer::MAX_TARGETS`).
pub const MAX_TESTIPS: usize = crate::peer::MAX_TARGETS;
/// The longest channel `ident`: what one peer query can carry (`peer::MAX_CHANNEL_LEN`).
pub const MAX_IDENT_BYTES: usize = crate::peer::MAX_CHANNEL_LEN;

/// Reads all of `r`, but no more than `limit` bytes: a larger input (`/dev/zero`, an endless pipe) is
/// an error naming `what` and the limit, not a process that grows until it runs out of memory.
pub fn read_limited(r: impl Read, limit: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than the {} limit of {what}", size(limit)),
        ));
    }
    Ok(buf)
}

/// `1 MiB`, `64 KiB`, `100 bytes`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// The inclusive range of a duration. Values count in whole milliseconds (the decision core's unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

const MS: Duration = Duration::from_millis(1);
const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl DurationRange {
    /// Parses `s` with the one duration syntax ([`value::duration`]) and checks the range.
    pub fn parse(&self, s: &str) -> Result<Duration, String> {
        self.check(value::duration(s)?, s)
    }

    /// Checks a parsed duration against the range; `text` is the value as written, for the message.
    pub fn check(&self, d: Duration, text: &str) -> Result<Duration, String> {
        if d.is_zero() && !self.min.is_zero() {
            Err("must be greater than zero".into())
        } else if d < self.min || d > self.max {
            Err(format!("`{text}` is out of range: {}", self.describe()))
        } else if d.subsec_nanos() % 1_000_000 != 0 {
            // The core counts whole milliseconds: a remainder would be dropped there, after the
            // checks here (timeout below checktime) were made on the exact value.
            Err(format!(
                "`{text}` is not a whole number of milliseconds (durations count in milliseconds)"
            ))
        } else {
            Ok(d)
        }
    }

    /// `1ms to 1h`, as the README and the messages say it.
    pub fn describe(&self) -> String {
        format!(
            "{} to {}",
            humantime::format_duration(self.min),
            humantime::format_duration(self.max)
        )
    }
}

/// The inclusive range of a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountRange {
    pub min: u32,
    pub max: u32,
}

impl CountRange {
    /// Parses `s` as a non-negative integer and checks the range.
    pub fn parse(&self, s: &str) -> Result<u32, String> {
        let n = value::integer(s)?;
        if n < self.min || n > self.max {
            Err(format!("`{n}` is out of range: {}", self.describe()))
        } else {
            Ok(n)
        }
    }

    pub fn describe(&self) -> String {
        format!("{} to {}", self.min, self.max)
    }
}

/// `[network] checktime`: the main loop period.
pub const CHECKTIME: DurationRange = DurationRange {
    min: MS,
    max: secs(3600),
};
/// `[network] timeout` and the `--timeout` of `probe`, `arp-check`, `peer-check`: one wait for an
/// answer (the config's must also be below checktime).
pub const TIMEOUT: DurationRange = DurationRange {
    min: MS,
    max: secs(60),
};
/// `[network] synctime`.
pub const SYNCTIME: DurationRange = CHECKTIME;
/// `[network] activeretries` and `channelretries`: at least one, since zero retries would act on the
/// first lost answer.
pub const RETRIES: CountRange = CountRange { min: 1, max: 100 };
/// `[network] probes` and `[channel] probes`: requests per check, spread within `timeout`.
pub const PROBES: CountRange = CountRange { min: 1, max: 16 };
/// `[policy] maxfailovers` (0: unlimited).
pub const MAXFAILOVERS: CountRange = CountRange { min: 0, max: 100 };
/// `[policy] failoverwindow`.
pub const FAILOVERWINDOW: DurationRange = DurationRange {
    min: Duration::ZERO,
    max: secs(30 * 24 * 3600),
};
/// `[policy] shutdowndelay` and `simulate-timing --shutdown-delay`.
pub const SHUTDOWNDELAY: DurationRange = DurationRange {
    min: Duration::ZERO,
    max: secs(3600),
};
/// `[policy] garpcount`.
pub const GARPCOUNT: CountRange = CountRange { min: 0, max: 100 };
/// `[policy] garpinterval`.
pub const GARPINTERVAL: DurationRange = DurationRange {
    min: Duration::ZERO,
    max: secs(10),
};
/// `[policy] garprefresh` when not off (`off` or any zero, such as `0s`, turns it off): a refresh
/// shorter than a second floods the segment without helping anyone.
pub const GARPREFRESH: DurationRange = DurationRange {
    min: secs(1),
    max: secs(3600),
};
/// `probe --interval`, `watch-counters --interval`.
pub const INTERVAL: DurationRange = DurationRange {
    min: MS,
    max: secs(60),
};
/// `peer-respond --for`.
pub const RESPOND_FOR: DurationRange = DurationRange {
    min: MS,
    max: secs(24 * 3600),
};

/// The range of each bounded config key, for the README and the test that keeps every duration and
/// count key bounded.
pub enum Range {
    Duration(DurationRange),
    Count(CountRange),
}

/// Every bounded config key: (section, key, range).
pub const KEY_RANGES: &[(&str, &str, Range)] = &[
    ("network", "checktime", Range::Duration(CHECKTIME)),
    ("network", "timeout", Range::Duration(TIMEOUT)),
    ("network", "activeretries", Range::Count(RETRIES)),
    ("network", "channelretries", Range::Count(RETRIES)),
    ("network", "synctime", Range::Duration(SYNCTIME)),
    ("network", "probes", Range::Count(PROBES)),
    ("channel", "probes", Range::Count(PROBES)),
    ("policy", "maxfailovers", Range::Count(MAXFAILOVERS)),
    ("policy", "failoverwindow", Range::Duration(FAILOVERWINDOW)),
    ("policy", "shutdowndelay", Range::Duration(SHUTDOWNDELAY)),
    ("policy", "garpcount", Range::Count(GARPCOUNT)),
    ("policy", "garpinterval", Range::Duration(GARPINTERVAL)),
    ("policy", "garprefresh", Range::Duration(GARPREFRESH)),
    (
        "policy",
        "priority",
        Range::Count(CountRange {
            min: 0,
            max: super::validate::MAX_PRIORITY as u32,
        }),
    ),
];

impl Range {
    pub fn describe(&self) -> String {
        match self {
            Range::Duration(r) => r.describe(),
            Range::Count(r) => r.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::KEYS;

    #[test]
    fn every_duration_and_count_key_has_a_range() {
        for k in KEYS {
            let bounded = k.kind.contains("duration") || k.kind.contains("integer");
            let listed = KEY_RANGES
                .iter()
                .any(|(s, key, _)| *s == k.section && *key == k.key);
            assert_eq!(bounded, listed, "[{}] {}: {}", k.section, k.key, k.kind);
        }
    }

    #[test]
    fn ranges_parse_the_one_duration_syntax_and_name_the_bound() {
        assert_eq!(TIMEOUT.parse("2"), Ok(secs(2)));
        assert_eq!(TIMEOUT.parse("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(
            TIMEOUT.parse("0s").unwrap_err(),
            "must be greater than zero"
        );
        let e = CHECKTIME.parse("18446744073709551615").unwrap_err();
        assert!(e.contains("out of range: 1ms to 1h"), "{e}");
        assert!(RETRIES.parse("65535").unwrap_err().contains("1 to 100"));
        assert!(INTERVAL.parse("1y").unwrap_err().contains("1ms to 1m"));
        // Sub-millisecond values would be zero in the core.
        assert!(CHECKTIME.parse("500us").is_err());
    }

    /// Regression: `100ms 500us` was accepted and cut to 100 ms in the core, after `validate` had
    /// compared the exact values (so a timeout equal to the checktime passed).
    #[test]
    fn sub_millisecond_remainders_are_refused() {
        let e = TIMEOUT.parse("100ms 500us").unwrap_err();
        assert!(e.contains("not a whole number of milliseconds"), "{e}");
        assert!(INTERVAL.parse("1500us").is_err());
        assert_eq!(TIMEOUT.parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(GARPINTERVAL.parse("0s"), Ok(Duration::ZERO));
    }
}
