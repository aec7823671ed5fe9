//! The box's four endpoints: which request is which, who the box is (admission, open mode's
//! pin), then core's [`Gateway::answer`] decides the reply (status, the 201-always rule, the
//! one-segment `myactions` budget, what a store failure becomes: see
//! [`essensys_core::answer`]); this module writes it and logs what happened.

use std::{net::IpAddr, sync::Arc, time::Instant};

use essensys_core::{
    answer::{self, Answered, BoxCall, BoxReply},
    event::{Acked, BoxEndpoint, EventKind},
    matricule::{self, Key, Pin},
    ports::Contact,
    reply::BOX_READ_LIMIT,
    ClientId, Gateway,
};
use tracing::{debug, info, warn};

use crate::{
    request::Head,
    response::{self, Status, JSON},
    throttle::Throttle,
};

/// One of the box's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `GET /api/serverinfos`.
    ServerInfos,
    /// `POST /api/mystatus`.
    MyStatus,
    /// `GET /api/myactions`.
    MyActions,
    /// `POST /api/done/<guid>`.
    Done(&'a str),
}

impl<'a> Endpoint<'a> {
    /// The box endpoint a request is for, if any.
    pub fn of(head: &Head<'a>) -> Option<Self> {
        match (head.method, head.path()) {
            ("GET", "/api/serverinfos") => Some(Endpoint::ServerInfos),
            ("POST", "/api/mystatus") => Some(Endpoint::MyStatus),
            ("GET", "/api/myactions") => Some(Endpoint::MyActions),
            ("POST", path) => path.strip_prefix("/api/done/").map(Endpoint::Done),
            _ => None,
        }
    }

    /// Which of core's [`BoxEndpoint`]s this is.
    pub fn kind(self) -> BoxEndpoint {
        match self {
            Endpoint::ServerInfos => BoxEndpoint::ServerInfos,
            Endpoint::MyStatus => BoxEndpoint::MyStatus,
            Endpoint::MyActions => BoxEndpoint::MyActions,
            Endpoint::Done(_) => BoxEndpoint::Done,
        }
    }
}

/// The method the box uses on `path`, if `path` is one of its four endpoints.
pub fn method_of(path: &str) -> Option<&'static str> {
    match path {
        "/api/serverinfos" | "/api/myactions" => Some("GET"),
        "/api/mystatus" => Some("POST"),
        done if done.starts_with("/api/done/") => Some("POST"),
        _ => None,
    }
}

/// Which boxes may talk to the gateway.
#[derive(Clone, Debug, Default)]
pub enum Admission {
    /// Any box; its id is the user part of its matricule (`default` without `Authorization`).
    #[default]
    Open,
    /// Only boxes whose matricule matches one of these keys.
    Keys(Vec<Key>),
}

impl Admission {
    /// The id of the box sending `authorization`, or why it is refused.
    pub fn identify(&self, authorization: Option<&str>) -> Result<ClientId, String> {
        match self {
            Admission::Open => matricule::client_id(authorization).map_err(|e| e.to_string()),
            Admission::Keys(keys) => {
                let auth = authorization.ok_or("strict mode: the box sent no Authorization")?;
                keys.iter()
                    .find(|k| k.verifies(auth))
                    .map(Key::client_id)
                    .ok_or_else(|| {
                        "strict mode: the matricule matches no configured box key".to_string()
                    })
            }
        }
    }
}

/// The byte budget of a `myactions` body ([`answer::myactions_budget`]): this transport's head
/// of a 200 reply with a 4-digit Content-Length, and what a proxy in front adds (`headroom`).
pub fn myactions_budget(headroom: usize) -> usize {
    answer::myactions_budget(response::head_len(Status::OK, JSON, 1000), headroom)
}

/// The most headroom accepted: the empty `myactions` reply must still fit.
pub const MAX_HEADROOM: usize = 512;

/// The box endpoints: the gateway and who may talk to it.
pub struct BoxApi {
    /// The use cases; also where this adapter's events go ([`Gateway::publish`]).
    pub gateway: Arc<Gateway>,
    /// Which boxes are served.
    pub admission: Admission,
    /// The `myactions` body budget ([`myactions_budget`]).
    pub budget: usize,
    /// Repeated warnings, held back.
    pub throttle: Throttle,
}

/// Logs a warning at most once per throttle period per `kind`, saying how many were held back.
macro_rules! warn_throttled {
    ($throttle:expr, $kind:literal, $($field:tt)*) => {
        if let Some(held_back) = $throttle.allow($kind) {
            warn!(held_back, $($field)*, $kind);
        }
    };
}

impl BoxApi {
    /// Answers one box request into `out`, then publishes a [`EventKind::BoxRequest`] with the
    /// time it took.
    pub async fn answer(
        &self,
        endpoint: Endpoint<'_>,
        head: &Head<'_>,
        body: &[u8],
        peer: IpAddr,
        out: &mut Vec<u8>,
    ) {
        let started = Instant::now();
        let (client, status) = self.reply(endpoint, head, body, peer, out).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.gateway.publish(EventKind::BoxRequest {
            client,
            endpoint: endpoint.kind(),
            status: status.0,
            micros,
        });
    }

    async fn reply(
        &self,
        endpoint: Endpoint<'_>,
        head: &Head<'_>,
        body: &[u8],
        peer: IpAddr,
        out: &mut Vec<u8>,
    ) -> (Option<ClientId>, Status) {
        let Self {
            gateway,
            admission,
            budget,
            throttle,
        } = self;
        let authorization = head.header("authorization");
        let mut identified = admission.identify(authorization);
        // open mode: the first matricule seen for this id pins it (in strict mode the keys have
        // verified the whole matricule: no digest is computed)
        if let (Ok(client), Admission::Open) = (&identified, admission) {
            let refused = match authorization.and_then(Pin::of) {
                Some(pin) => gateway.check_pin(client, &pin).await.err(),
                None => None,
            };
            if let Some(refusal) = refused {
                identified = Err(refusal.to_string());
            }
        }
        let client = match identified {
            Ok(client) => client,
            Err(reason) => {
                warn_throttled!(throttle, "box refused", %peer, endpoint = ?endpoint, %reason);
                response::error(out, Status(401), &reason);
                gateway.publish(EventKind::Rejected {
                    peer,
                    status: 401,
                    reason,
                });
                return (None, Status(401));
            }
        };
        let contact = Contact {
            at: gateway.now(),
            address: Some(peer),
            // kept without its password half: the secret is never stored
            authorization: authorization.and_then(matricule::without_password),
        };
        let call = match endpoint {
            Endpoint::ServerInfos => BoxCall::ServerInfos,
            Endpoint::MyStatus => BoxCall::MyStatus(body),
            Endpoint::MyActions => BoxCall::MyActions { budget: *budget },
            Endpoint::Done(guid) => BoxCall::Done(guid),
        };
        let mut reply_body = Vec::with_capacity(BOX_READ_LIMIT);
        let BoxReply { status, answered } = gateway
            .answer(&client, &contact, call, &mut reply_body)
            .await;
        // Store failures are published as events by the gateway; here they are only logged.
        match answered {
            Answered::Polled(Ok(())) => {}
            Answered::Polled(Err(e)) => {
                warn_throttled!(throttle, "serverinfos: poll not recorded", %client, error = %e);
            }
            Answered::Reported(Ok(outcome)) if outcome.errors.is_empty() => {}
            Answered::Reported(Ok(outcome)) => {
                let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
                warn_throttled!(throttle, "mystatus: part of the status could not be read", %client, stored = outcome.stored, ?errors);
            }
            Answered::Reported(Err(e)) => {
                warn_throttled!(throttle, "mystatus: status not stored", %client, error = %e);
            }
            Answered::Delivered(Ok(guids)) if !guids.is_empty() => {
                info!(%client, ?guids, "actions delivered to the box");
            }
            Answered::Delivered(Ok(_)) => {}
            Answered::Delivered(Err(e)) => {
                warn_throttled!(throttle, "myactions: queue unreadable, answering with no action", %client, error = %e);
            }
            Answered::Acked(Ok(Acked::Action(_))) => {
                info!(%client, guid = call_guid(call), "action done by the box");
            }
            Answered::Acked(Ok(Acked::Alarm)) => {
                info!(%client, guid = call_guid(call), "alarm order done by the box");
            }
            Answered::Acked(Ok(Acked::Unknown)) => {
                debug!(%client, guid = call_guid(call), "ack for an unknown or already acked guid");
            }
            Answered::Acked(Err(e)) => {
                warn_throttled!(throttle, "done: ack not recorded", %client, guid = call_guid(call), error = %e);
            }
        }
        let status = Status(status);
        response::write(out, status, JSON, &[], &reply_body);
        (Some(client), status)
    }
}

/// The guid a `done` was for, for its log line.
fn call_guid<'a>(call: BoxCall<'a>) -> &'a str {
    match call {
        BoxCall::Done(guid) => guid,
        _ => "",
    }
}
