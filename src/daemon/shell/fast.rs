//! The shell's side of the fast paths: heartbeats, notices and handover messages out of the peer
//! link, the authentic ones the responder kept turned into inputs, the kernel's link events, the
//! local control socket of `failoverctl handover`, and the service check as a child process.
//! Nothing here decides: the core does.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::{Answers, Shell};
use crate::core::action::{HandoverMessage, RequestId};
use crate::core::Input;
use crate::daemon::children::Job;
use crate::daemon::control::Control;
use crate::daemon::hooks::{HookEnv, HookEvent};
use crate::net::linux::link_events::LinkEvents;
use crate::peer::Body;

pub const LINK_EVENTS: Token = Token(4);
pub const CONTROL: Token = Token(5);

impl Shell {
    /// Subscribes to the kernel's link notifications and asks for every link's state once.
    pub fn open_link_events(&mut self, registry: &Registry) {
        match LinkEvents::open() {
            Ok(mut l) => {
                let _ = registry.register(
                    &mut SourceFd(&l.as_raw_fd()),
                    LINK_EVENTS,
                    Interest::READABLE,
                );
                if let Err(e) = l.request_dump() {
                    self.log.warn(&format!("link events: {e}"));
                }
                self.link_events = Some(l);
            }
            Err(e) => self.log.warn(&format!(
                "link events off (carrier is then learned by the checks): {e}"
            )),
        }
    }

    /// The link events socket is readable: the carrier of the config's devices.
    pub fn link_events_readable(&mut self) -> Answers {
        let Some(l) = self.link_events.as_mut() else {
            return vec![];
        };
        let events = match l.receive() {
            Ok(e) => e,
            Err(e) => {
                self.log.warn(&format!("link events: {e}"));
                return vec![];
            }
        };
        // A link came, went or changed (maybe a rename): ask the kernel for indexes afresh.
        self.counters.forget_indexes();
        events
            .into_iter()
            .filter(|(dev, _)| self.config.channels.iter().any(|c| &c.device == dev))
            .map(|(device, up)| Input::Carrier { device, up })
            .collect()
    }

    /// Opens the control socket beside the state file (none for a dry run without one).
    pub fn open_control(&mut self, registry: &Registry, path: &std::path::Path) {
        match Control::bind(path) {
            Ok(mut c) => {
                let _ = registry.register(c.socket(), CONTROL, Interest::READABLE);
                self.control = Some(c);
            }
            Err(e) => self.log.warn(&format!(
                "control socket {}: {e}; `failoverctl handover` cannot reach this daemon",
                path.display()
            )),
        }
    }

    pub fn control_readable(&mut self) -> Answers {
        self.control
            .as_mut()
            .map(Control::receive)
            .unwrap_or_default()
    }

    /// The responder kept the peer's authentic fast-path messages: inputs for the core.
    pub(super) fn fast_inputs(&mut self) -> Answers {
        let Some(r) = self.responder.as_mut() else {
            return vec![];
        };
        r.take_fast()
            .into_iter()
            .filter_map(|body| match body {
                Body::Heartbeat(h) => Some(Input::PeerHeartbeat(h)),
                Body::Notice(n) => Some(Input::ReleaseNotice(n)),
                Body::HandoverAsk(a) => Some(Input::PeerHandover(HandoverMessage::Ask(a))),
                Body::HandoverReply(r) => Some(Input::PeerHandover(HandoverMessage::Reply(r))),
                Body::Yielded(y) => Some(Input::PeerYielded {
                    keeper_mac: y.keeper_mac,
                }),
                Body::Query(_) | Body::Answer(_) => None,
            })
            .collect()
    }

    /// Sends one fast-path message to the peer (no peer protocol: nothing to send).
    pub(super) fn send_fast(&mut self, body: Body) {
        let notice = matches!(body, Body::Notice(_));
        let Some((link, peer)) = self.link.as_mut() else {
            return;
        };
        let sent = link.send_body(*peer, body);
        if notice {
            if sent {
                self.log.info(&format!("release notice sent to {peer}"));
            } else {
                self.log
                    .warn(&format!("release notice to {peer} could not be sent"));
            }
        }
    }

    pub(super) fn handover_done(&mut self, client: u64, ok: bool, message: &str) {
        if let Some(c) = self.control.as_mut() {
            c.answer(client, ok, message);
        }
    }

    /// Starts the service check; a check that cannot start is answered at once.
    pub(super) fn run_check(
        &mut self,
        registry: &Registry,
        id: RequestId,
        command: String,
        timeout: Duration,
        channel: usize,
    ) -> Answers {
        let channel = self
            .config
            .channels
            .get(channel)
            .or(self.config.channels.first())
            .cloned()
            .expect("a validated config has a channel");
        let job = Job {
            name: "service check".into(),
            command,
            env: HookEnv::for_channel(HookEvent::Check, &channel),
            timeout,
        };
        self.check = Some((id, Instant::now()));
        match self.children.check(registry, job) {
            Some(e) => {
                self.check = None;
                vec![Input::CheckDone {
                    id,
                    outcome: Err(e),
                }]
            }
            None => vec![],
        }
    }
}
