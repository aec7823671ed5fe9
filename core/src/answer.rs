//! What the gateway answers a box: the status code of each of its four requests, the
//! **201-always** rule, the `myactions` body budget, and what a store failure becomes — decided
//! here, so that the transport only reads bytes, identifies the box and writes the reply.
//!
//! | request | status | body |
//! |---|---|---|
//! | `GET /api/serverinfos` | 200 | the cells to report (the poll recorded) |
//! | `POST /api/mystatus` | **201 always** once read | empty: every readable pair is stored |
//! | `GET /api/myactions` | 200 | the alarm order and whole actions within the budget |
//! | `POST /api/done/<guid>` | 201, also for an unknown or repeated guid | empty |
//!
//! A store failure never becomes an error reply (the box would lose ~20 s and the house stop
//! answering): `myactions` then answers no action, the others their usual status, and
//! [`Answered`] carries the failure for the transport's log (the gateway has published it).

use crate::{
    event::{Acked, BoxEndpoint},
    gateway::StatusOutcome,
    ports::{Contact, PortError},
    reply::{self, BOX_READ_LIMIT, ONE_SEGMENT_LIMIT},
    ClientId, Gateway, Guid,
};

/// One of the box's requests, read and identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoxCall<'a> {
    /// `GET /api/serverinfos`.
    ServerInfos,
    /// `POST /api/mystatus` with its body.
    MyStatus(&'a [u8]),
    /// `GET /api/myactions`, its body within `budget` bytes ([`myactions_budget`]).
    MyActions {
        /// The most bytes of the reply's body.
        budget: usize,
    },
    /// `POST /api/done/<guid>` with the guid as sent.
    Done(&'a str),
}

impl BoxCall<'_> {
    /// Which endpoint.
    pub const fn endpoint(&self) -> BoxEndpoint {
        match self {
            BoxCall::ServerInfos => BoxEndpoint::ServerInfos,
            BoxCall::MyStatus(_) => BoxEndpoint::MyStatus,
            BoxCall::MyActions { .. } => BoxEndpoint::MyActions,
            BoxCall::Done(_) => BoxEndpoint::Done,
        }
    }

    /// The status of the reply, whatever the store did: 200 for the two reads, 201 for the two
    /// writes.
    pub const fn status(&self) -> u16 {
        match self {
            BoxCall::ServerInfos | BoxCall::MyActions { .. } => 200,
            BoxCall::MyStatus(_) | BoxCall::Done(_) => 201,
        }
    }
}

/// The `myactions` body budget: one segment ([`ONE_SEGMENT_LIMIT`], below the box's
/// [`BOX_READ_LIMIT`]-byte read) minus the reply's head (`head_len` bytes, the transport's)
/// and what a proxy in front adds to it (`headroom`).
pub const fn myactions_budget(head_len: usize, headroom: usize) -> usize {
    let segment = if ONE_SEGMENT_LIMIT < BOX_READ_LIMIT {
        ONE_SEGMENT_LIMIT
    } else {
        BOX_READ_LIMIT
    };
    segment.saturating_sub(head_len).saturating_sub(headroom)
}

/// What answering did, for the transport's log (the gateway has published the events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// `serverinfos`: the poll was recorded, or not.
    Polled(Result<(), PortError>),
    /// `mystatus`: what was stored and what could not be read, or the store failed.
    Reported(Result<StatusOutcome, PortError>),
    /// `myactions`: the guids handed over (the alarm order's last), or the queue could not be
    /// read (no action was sent).
    Delivered(Result<Vec<Guid>, PortError>),
    /// `done`: what the guid was, or the ack was not recorded.
    Acked(Result<Acked, PortError>),
}

/// The reply to a box: its status, its body (appended to the caller's buffer) and what
/// happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxReply {
    /// 200 or 201 ([`BoxCall::status`]).
    pub status: u16,
    /// What answering did.
    pub answered: Answered,
}

impl Gateway {
    /// Answers `call` from box `client` (seen at `contact`): appends the reply's body to
    /// `body` and says its status and what happened. Never an error: see the module doc.
    pub async fn answer(
        &self,
        client: &ClientId,
        contact: &Contact,
        call: BoxCall<'_>,
        body: &mut Vec<u8>,
    ) -> BoxReply {
        let answered = match call {
            BoxCall::ServerInfos => {
                Answered::Polled(self.server_infos(client, contact, body).await)
            }
            BoxCall::MyStatus(report) => {
                Answered::Reported(self.report_status(client, contact, report).await)
            }
            BoxCall::MyActions { budget } => {
                let start = body.len();
                let delivered = self.poll_actions(client, budget, body).await;
                if delivered.is_err() {
                    body.truncate(start);
                    reply::encode_actions(body, None, &[], budget);
                }
                Answered::Delivered(delivered)
            }
            BoxCall::Done(guid) => Answered::Acked(self.ack(client, guid).await),
        };
        BoxReply {
            status: call.status(),
            answered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_200_and_writes_201_whatever_happens() {
        assert_eq!(BoxCall::ServerInfos.status(), 200);
        assert_eq!(BoxCall::MyActions { budget: 1 }.status(), 200);
        assert_eq!(BoxCall::MyStatus(b"garbage").status(), 201);
        assert_eq!(BoxCall::Done("not-a-guid").status(), 201);
    }

    #[test]
    fn the_budget_is_one_segment_less_the_head_and_the_proxys_headroom() {
        assert_eq!(myactions_budget(100, 0), ONE_SEGMENT_LIMIT - 100);
        assert_eq!(myactions_budget(100, 64), ONE_SEGMENT_LIMIT - 164);
        assert_eq!(myactions_budget(2000, 0), 0);
    }
}
