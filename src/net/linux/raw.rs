//! Layer-2 channels for hand-built ARP frames (pnet): one way to find the device, its Ethernet
//! address, and open the channel, shared by the raw ARP check and gratuitous ARP.

use std::io;
use std::time::Duration;

use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender, NetworkInterface};

use crate::net::NetError;

/// An open Ethernet channel on one device, with the MAC its frames carry.
pub struct RawChannel {
    pub mac: [u8; 6],
    pub tx: Box<dyn DataLinkSender>,
    pub rx: Box<dyn DataLinkReceiver>,
}

/// The pnet interface named `device`, or [`NetError::NoDevice`]. Callers with several devices use
/// [`find`] on one enumeration instead.
pub fn interface(device: &str) -> Result<NetworkInterface, NetError> {
    find(&pnet_datalink::interfaces(), device).cloned()
}

/// The interface named `device` in `interfaces`, or [`NetError::NoDevice`].
pub fn find<'a>(
    interfaces: &'a [NetworkInterface],
    device: &str,
) -> Result<&'a NetworkInterface, NetError> {
    interfaces
        .iter()
        .find(|i| i.name == device)
        .ok_or_else(|| NetError::NoDevice(device.to_string()))
}

/// The Ethernet address of `interface`; none (or all zero, as on loopback) means ARP does not apply.
pub fn mac_of(interface: &NetworkInterface) -> Result<[u8; 6], NetError> {
    interface
        .mac
        .map(|m| m.octets())
        .filter(|m| *m != [0; 6])
        .ok_or_else(|| NetError::Io {
            context: format!(
                "{}: no Ethernet address, ARP does not apply",
                interface.name
            ),
            source: io::Error::from(io::ErrorKind::Unsupported),
        })
}

/// Opens an Ethernet channel on `interface` (needs CAP_NET_RAW). Promiscuous mode stays off: pnet
/// defaults to on, and we only want frames for us and broadcasts. `read_timeout` bounds each read
/// so a reader can look at its deadline; a sender that never reads passes `None`.
pub fn open(
    interface: &NetworkInterface,
    read_timeout: Option<Duration>,
) -> Result<RawChannel, NetError> {
    let device = &interface.name;
    let mac = mac_of(interface)?;
    let config = Config {
        promiscuous: false,
        read_timeout,
        ..Config::default()
    };
    match pnet_datalink::channel(interface, config) {
        Ok(Channel::Ethernet(tx, rx)) => Ok(RawChannel { mac, tx, rx }),
        Ok(_) => Err(NetError::Io {
            context: format!("{device}: not an Ethernet channel"),
            source: io::Error::from(io::ErrorKind::Unsupported),
        }),
        Err(e) => Err(error(e, device, "open a raw socket")),
    }
}

/// Maps an error of a raw socket: EPERM/EACCES need CAP_NET_RAW; ENODEV and ENXIO (a device that
/// went away under an open socket) are [`NetError::NoDevice`].
pub fn error(e: io::Error, device: &str, what: &str) -> NetError {
    match e.raw_os_error() {
        Some(libc::ENXIO) => NetError::NoDevice(device.to_string()),
        _ => NetError::from_io(what, device, "CAP_NET_RAW", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_device_is_no_device() {
        assert!(matches!(
            interface("nosuchdev0"),
            Err(NetError::NoDevice(d)) if d == "nosuchdev0"
        ));
    }

    #[test]
    fn loopback_has_no_ethernet_address() {
        let lo = interface("lo").expect("every namespace has lo");
        let err = mac_of(&lo).expect_err("lo's MAC is all zero");
        assert!(matches!(err, NetError::Io { .. }), "{err:?}");
    }

    #[test]
    fn errors_map_to_privilege_and_no_device() {
        let e = |n| io::Error::from_raw_os_error(n);
        assert!(matches!(
            error(e(libc::EPERM), "eth1", "send"),
            NetError::Privilege {
                capability: "CAP_NET_RAW",
                ..
            }
        ));
        for n in [libc::ENODEV, libc::ENXIO] {
            assert!(matches!(error(e(n), "eth1", "send"), NetError::NoDevice(d) if d == "eth1"));
        }
        assert_eq!(
            error(e(libc::EIO), "eth1", "send").os_error(),
            Some(libc::EIO)
        );
    }
}
