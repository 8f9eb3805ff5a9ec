//! Network-namespace lab tests (root; a loud skip without root, a failure under CI): one test binary.

#[path = "../common/mod.rs"]
mod common;
#[path = "../examples_bin/mod.rs"]
mod examples_bin;

mod arp_check;
mod daemon_notify;
mod diagnostics_config;
mod event_loop;
mod failover;
mod failure_reboot_pidns;
mod fastpath;
mod ipv6;
mod ipv6_pair;
mod loss;
mod matrix_faults;
mod metrics;
mod peer;
mod probe;
mod roles;
mod smoke;
mod split_brain;
mod takeover_actions;
mod watch_counters;
