//! `POST /api/admin/inject` bodies through the public router, down to the queued actions.
//!
//! One gateway on the in-memory adapters and its router (no admin token: in-process requests
//! pass the local-network guard) serve every input, the queue emptied after each. Each input is
//! one request `POST /api/admin/inject?client=box1` carrying the input as its body. A first byte
//! `+`, `-` or `=` is not sent: it first queues, unsent, a scene switching the bedroom-3 lamp on
//! (`613 = 64`), the same lamp off (`607 = 64`) or a plain write (`349 = 17`), so that merging
//! is exercised.
//!
//! Checked: nothing panics; the answer is 200 or 4xx, never 5xx; a 4xx is a JSON
//! `{"error": …}` and leaves the queue exactly as it was; a body that is not JSON is a 400;
//! a 200 is `{"status":"ok","client":"box1","guids":[…],"merged":[…]}` with one guid per
//! action, each in the queue, and the queue is what it was plus the new actions (the last one
//! possibly merged into); every queued action has at most 30 params, all indices < 953, writable
//! and not protected, and is a command the box understands (`Command::from_params`).

#![no_main]

use std::sync::{Arc, OnceLock};

use axum::{body::Body, Router};
use essensys_core::{
    action::MAX_PARAMS,
    catalog,
    event::NoEvents,
    gateway::{GatewayConfig, Ports},
    merge::Queued,
    order::RawCell,
    ports::{ActionQueue, Timestamp},
    ClientId, Command, Gateway, Order,
};
use essensys_http_api::{router, ApiState};
use essensys_memory::{CountingGuids, ManualClock, MemoryQueue, MemoryStore};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use serde_json::Value as Json;
use tower::ServiceExt;

/// What every input shares: the runtime, and a gateway on the in-memory adapters with its
/// router, built once (building them per input would cost more than the request).
struct World {
    runtime: tokio::runtime::Runtime,
    gateway: Arc<Gateway>,
    queue: Arc<MemoryQueue>,
    router: Router,
    client: ClientId,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let queue = Arc::new(MemoryQueue::new());
        let gateway = Arc::new(Gateway::new(
            Ports {
                store: Arc::new(MemoryStore::new()),
                queue: queue.clone(),
                events: Arc::new(NoEvents),
                clock: Arc::new(ManualClock::new(Timestamp(1_795_759_212_345))),
                guids: Arc::new(CountingGuids::default()),
            },
            GatewayConfig::default(),
        ));
        World {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
            router: router(ApiState::new(gateway.clone(), "memory")),
            gateway,
            queue,
            client: ClientId::new("box1").expect("client id"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    world.runtime.block_on(async {
        check(world, data).await;
        // Empty the queue for the next input (through the queue port: no device state is
        // recorded, so every input starts from the same gateway).
        let queue = &world.queue;
        for queued in queue.pending(&world.client).await.expect("pending") {
            queue
                .ack(&world.client, &queued.action.guid)
                .await
                .expect("ack");
        }
        assert!(queue
            .pending(&world.client)
            .await
            .expect("pending")
            .is_empty());
    });
});

async fn check(world: &World, data: &[u8]) {
    let (gateway, client) = (&world.gateway, &world.client);
    let (before_order, body) = match data.split_first() {
        Some((b'+', rest)) => (Some((613, "64")), rest),
        Some((b'-', rest)) => (Some((607, "64")), rest),
        Some((b'=', rest)) => (Some((349, "17")), rest),
        _ => (None, data),
    };
    if let Some((k, v)) = before_order {
        let order = Order::Cells(vec![RawCell { k, v: v.into() }]);
        gateway
            .inject(Some(client), &order)
            .await
            .expect("the first order");
    }
    let before = gateway.pending(client).await.expect("pending");

    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/admin/inject?client=box1")
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    let response = world
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let reply: Json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let after = gateway.pending(client).await.expect("pending");

    if status.is_client_error() {
        assert!(
            reply["error"].is_string(),
            "{status} without an error message: {reply}"
        );
        assert_eq!(after, before, "a {status} queued something: {reply}");
        return;
    }
    assert_eq!(status.as_u16(), 200, "{reply}");
    assert!(
        serde_json::from_slice::<Json>(body).is_ok(),
        "200 for a body that is not JSON"
    );
    assert_eq!(reply["status"], "ok", "{reply}");
    assert_eq!(reply["client"], "box1", "{reply}");
    let guids: Vec<&str> = reply["guids"]
        .as_array()
        .expect("guids")
        .iter()
        .map(|g| g.as_str().expect("a guid is a string"))
        .collect();
    let merged: Vec<bool> = reply["merged"]
        .as_array()
        .expect("merged")
        .iter()
        .map(|m| m.as_bool().expect("merged is a bool"))
        .collect();
    assert!(!guids.is_empty(), "200 with no action: {reply}");
    assert_eq!(guids.len(), merged.len());
    assert_eq!(reply["guid"], guids[0]);

    // What was there stays, in order; only the last may have been merged into.
    let appended = merged.iter().filter(|m| !**m).count();
    assert_eq!(after.len(), before.len() + appended, "{reply}");
    if let Some((last, earlier)) = before.split_last() {
        assert_eq!(&after[..earlier.len()], earlier);
        assert_eq!(after[earlier.len()].action.guid, last.action.guid);
    } else {
        assert!(
            merged.iter().all(|m| !m),
            "merged into an empty queue: {reply}"
        );
    }
    for guid in &guids {
        assert!(
            after.iter().any(|q| q.action.guid.as_str() == *guid),
            "guid {guid} not queued"
        );
    }
    for queued in &after {
        check_action(queued);
    }
}

fn check_action(queued: &Queued) {
    let command = &queued.action.command;
    let params = command.params();
    assert!(
        params.len() <= MAX_PARAMS,
        "{} params: {command:?}",
        params.len()
    );
    assert_eq!(params.len(), command.param_count());
    for p in &params {
        let index = p.index;
        assert!(index.get() < 953);
        assert!(
            index.info().access.writable(),
            "{} is not writable",
            index.get()
        );
        assert!(
            catalog::protection(index).is_none(),
            "{} is protected",
            index.get()
        );
    }
    assert_eq!(
        Command::from_params(&params).as_ref(),
        Ok(command),
        "not a command the box understands"
    );
}
