//! The lab itself: every node reaches its neighbours, silence drops traffic with the carrier up, and
//! the namespaces are gone after drop.

mod common;
use common::lab::{root_or_skip, Lab};

#[test]
fn lab_connects_silences_and_cleans_up() {
    if !root_or_skip("lab_connects_silences_and_cleans_up") {
        return;
    }
    let name;
    {
        let lab = Lab::up();
        name = lab.name.clone();
        lab.ok("cl", &["ping", "-c1", "-W1", "192.0.2.11"]);
        lab.ok("cl", &["ping", "-c1", "-W1", "198.51.100.12"]);
        lab.ok("a", &["ping", "-c1", "-W1", "203.0.113.2"]);
        lab.silence("a");
        assert!(!lab
            .run("cl", &["ping", "-c1", "-W1", "192.0.2.11"])
            .status
            .success());
        let link = lab.ok("a", &["ip", "-o", "link", "show", "eth1"]);
        assert!(
            link.contains("LOWER_UP"),
            "silence must keep the carrier: {link}"
        );
        lab.unsilence("a");
        lab.ok("cl", &["ping", "-c1", "-W1", "192.0.2.11"]);
    }
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(!list.contains(&name), "lab {name} left behind: {list}");
}
