//! The metrics keys of `[policy]`: `metricsfile` (an absolute path, for the node exporter's textfile
//! collector) and `metricslisten` (an IP address and port to serve them on).

use std::net::SocketAddr;
use std::path::PathBuf;

/// `metricsfile=`: an absolute path ending in `.prom`, the only files the textfile collector reads.
pub fn parse_metricsfile(s: &str) -> Result<Option<PathBuf>, String> {
    if !s.starts_with('/') {
        return Err(format!("`{s}` is not an absolute path"));
    }
    if !s.ends_with(".prom") {
        return Err(format!(
            "`{s}` does not end in .prom (the node exporter's textfile collector reads only *.prom)"
        ));
    }
    Ok(Some(PathBuf::from(s)))
}

/// `metricslisten=`: `IP:PORT`, e.g. `127.0.0.1:9411`; an explicit address, so the operator
/// chooses who can reach it.
pub fn parse_metricslisten(s: &str) -> Result<Option<SocketAddr>, String> {
    let addr: SocketAddr = s
        .parse()
        .map_err(|_| format!("`{s}` is not an IP address and port (e.g. 127.0.0.1:9411)"))?;
    if addr.port() == 0 {
        return Err("port 0 cannot be scraped: give a fixed port".to_owned());
    }
    Ok(Some(addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_keys_parse_and_reject_what_cannot_work() {
        assert!(parse_metricsfile("/var/lib/prometheus/node-exporter/failoverctl.prom").is_ok());
        assert!(parse_metricsfile("failoverctl.prom").is_err());
        assert!(parse_metricsfile("/tmp/failoverctl.txt").is_err());
        assert_eq!(
            parse_metricslisten("127.0.0.1:9411"),
            Ok(Some("127.0.0.1:9411".parse().expect("addr")))
        );
        assert!(parse_metricslisten("[::1]:9411").is_ok());
        assert!(parse_metricslisten("localhost:9411").is_err());
        assert!(parse_metricslisten("127.0.0.1:0").is_err());
    }
}
