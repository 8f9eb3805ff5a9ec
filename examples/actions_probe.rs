//! Test helper for the lab: runs one takeover primitive of `net::linux` in the calling process's
//! network namespace (start it with `ip netns exec`), so the lab tests can drive the library.
//!
//! `actions_probe add|remove|holds|announce|request|reply DEV ADDR[/PREFIX]`
//! Prints `ok ...` and exits 0, or prints `error kind=... : message` and exits 3.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use failoverctl::net::linux::{addr, garp};
use failoverctl::net::NetError;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [verb, device, target] = args.as_slice() else {
        eprintln!("usage: actions_probe add|remove|holds|announce|request|reply DEV ADDR[/PREFIX]");
        return ExitCode::from(2);
    };
    let (address, prefix) = match target.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().expect("prefix is a number"))),
        None => (target.as_str(), None),
    };
    let address: Ipv4Addr = address.parse().expect("ADDR is an IPv4 address");
    let result = match verb.as_str() {
        "add" => addr::add(device, address, prefix).map(|p| format!("ok prefix={p}")),
        "remove" => addr::remove(device, address).map(|()| "ok".to_string()),
        "holds" => addr::holds(device, address).map(|h| format!("ok holds={h}")),
        "announce" => garp::announce(device, address).map(|()| "ok".to_string()),
        "request" | "reply" => {
            let form = if verb == "request" {
                garp::GarpForm::Request
            } else {
                garp::GarpForm::Reply
            };
            garp::GarpSender::open(device)
                .and_then(|mut s| s.send(form, address))
                .map(|()| "ok".to_string())
        }
        other => {
            eprintln!("unknown verb {other}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let kind = match &e {
                NetError::Privilege { capability, .. } => {
                    format!("privilege capability={capability}")
                }
                NetError::NoDevice(_) => "no-device".to_string(),
                NetError::Io { .. } => "io".to_string(),
            };
            println!("error kind={kind} : {e}");
            ExitCode::from(3)
        }
    }
}
