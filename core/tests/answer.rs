//! `Gateway::answer`: the status of each box request whatever the store does, and what a
//! queue that cannot be read becomes (no action, never an error reply).

use std::sync::Arc;

use async_trait::async_trait;
use essensys_core::{
    answer::{Answered, BoxCall, BoxReply},
    event::{Acked, NoEvents},
    gateway::{GatewayConfig, Ports},
    merge::{Enqueued, Queued},
    ports::{ActionQueue, Contact, Delivery, PortError, Timestamp},
    reply::{self, AlarmOrder},
    ClientId, Command, Gateway, Guid,
};
use essensys_memory::{block_on, CountingGuids, ManualClock, MemoryQueue, MemoryStore};

/// A queue whose backend is gone.
struct Unreachable;

fn gone<T>() -> Result<T, PortError> {
    Err(PortError::Unavailable("the queue is gone".into()))
}

#[async_trait]
impl ActionQueue for Unreachable {
    async fn push(
        &self,
        _: &ClientId,
        _: Vec<(Command, Guid)>,
    ) -> Result<Vec<Enqueued>, PortError> {
        gone()
    }
    async fn pending(&self, _: &ClientId) -> Result<Vec<Queued>, PortError> {
        gone()
    }
    async fn pending_alarm(&self, _: &ClientId) -> Result<Option<AlarmOrder>, PortError> {
        gone()
    }
    async fn deliver(&self, _: &ClientId, _: usize) -> Result<Delivery, PortError> {
        gone()
    }
    async fn ack(&self, _: &ClientId, _: &Guid) -> Result<Acked, PortError> {
        gone()
    }
    async fn set_alarm(&self, _: &ClientId, _: AlarmOrder) -> Result<Option<Guid>, PortError> {
        gone()
    }
}

fn gateway(queue: Arc<dyn ActionQueue>) -> Gateway {
    Gateway::new(
        Ports {
            store: Arc::new(MemoryStore::new()),
            queue,
            events: Arc::new(NoEvents),
            clock: Arc::new(ManualClock::new(Timestamp(1_795_759_212_345))),
            guids: Arc::new(CountingGuids::default()),
        },
        GatewayConfig::default(),
    )
}

fn contact() -> Contact {
    Contact {
        at: Timestamp(1_795_759_212_345),
        address: None,
        authorization: None,
    }
}

fn answer(gateway: &Gateway, call: BoxCall<'_>) -> (BoxReply, String) {
    let mut body = Vec::new();
    let client = ClientId::default_box();
    let reply = block_on(gateway.answer(&client, &contact(), call, &mut body));
    (reply, String::from_utf8(body).expect("utf-8"))
}

#[test]
fn an_unreadable_queue_answers_no_action_with_200() {
    let gateway = gateway(Arc::new(Unreachable));
    let (reply, body) = answer(&gateway, BoxCall::MyActions { budget: 1_000 });
    assert_eq!(reply.status, 200);
    assert!(
        matches!(reply.answered, Answered::Delivered(Err(_))),
        "{reply:?}"
    );
    let mut empty = Vec::new();
    reply::encode_actions(&mut empty, None, &[], 1_000);
    assert_eq!(body.as_bytes(), empty, "the empty actions reply");

    let (reply, body) = answer(
        &gateway,
        BoxCall::Done("00000000-0000-4000-8000-000000000001"),
    );
    assert_eq!(
        (reply.status, body.as_str()),
        (201, ""),
        "a done is 201 even unrecorded"
    );
    assert!(
        matches!(reply.answered, Answered::Acked(Err(_))),
        "{reply:?}"
    );
}

#[test]
fn a_status_is_201_even_garbled_and_serverinfos_200() {
    let gateway = gateway(Arc::new(MemoryQueue::new()));
    let (reply, body) = answer(
        &gateway,
        BoxCall::MyStatus(b"{\"version\":\"V37\",\"ek\":[{k:349,v:"),
    );
    assert_eq!((reply.status, body.as_str()), (201, ""));
    match reply.answered {
        Answered::Reported(Ok(outcome)) => assert!(!outcome.errors.is_empty(), "{outcome:?}"),
        other => panic!("{other:?}"),
    }
    let (reply, body) = answer(&gateway, BoxCall::ServerInfos);
    assert_eq!(reply.status, 200);
    assert!(body.starts_with("{\"isconnected\":"), "{body}");
    assert_eq!(reply.answered, Answered::Polled(Ok(())));
    let (reply, _) = answer(&gateway, BoxCall::Done("not a guid"));
    assert_eq!(
        (reply.status, reply.answered),
        (201, Answered::Acked(Ok(Acked::Unknown)))
    );
}
