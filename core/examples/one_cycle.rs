//! A gateway on in-memory ports answering one box cycle — `serverinfos`, `mystatus`,
//! `myactions`, `done` — with an order (the light of `petite_chambre_3` on) injected after the
//! status, as the dashboard or Home Assistant would. Prints each reply body the box would read.
//!
//! ```text
//! cargo run -p essensys-core --example one_cycle
//! ```
//!
//! The ports come from `essensys-memory` (a dev-dependency) with a manual clock and counting
//! guids, so the output is the same on every run. The use cases are `async` but core brings no
//! runtime: the memory ports never wait, so `essensys_memory::block_on` is enough here; with Redis
//! or sockets, call the same methods from your own runtime.

use std::{error::Error, sync::Arc};

use essensys_core::{
    catalog::DeviceKind,
    gateway::{GatewayConfig, Ports},
    matricule,
    order::{DeviceOrder, Switch},
    ports::{Acked, Contact, NoEvents, Timestamp},
    reply, Gateway, Order,
};
use essensys_memory::{block_on, CountingGuids, ManualClock, MemoryQueue, MemoryStore};

/// The firmware's `Authorization` header in `fixtures/box/` (placeholder key).
const AUTHORIZATION: &str = "Basic NzY3MTc5YzdhMmJmZjE5Njo1MWNlOTdkMjk0YzMwY2Zi";

/// The firmware's status body in `fixtures/status/firmware.txt`.
const STATUS: &[u8] =
    br#"{"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"17"},{k:11,v:"00000000"},{k:920,v:"10000000"}]}"#;

fn main() -> Result<(), Box<dyn Error>> {
    let clock = Arc::new(ManualClock::new(Timestamp(1_796_300_000_000)));
    let ports = Ports {
        store: Arc::new(MemoryStore::new()),
        queue: Arc::new(MemoryQueue::new()),
        events: Arc::new(NoEvents),
        clock: clock.clone(),
        guids: Arc::new(CountingGuids::default()),
    };
    let gateway = Gateway::new(ports, GatewayConfig::default());

    // What the transport reads off each request: which box, and from where.
    let client = matricule::client_id(Some(AUTHORIZATION))?;
    let contact = Contact {
        at: gateway.now(),
        address: None,
        authorization: Some(AUTHORIZATION.into()),
    };
    println!("box {client}");

    let mut body = Vec::new();
    block_on(gateway.server_infos(&client, &contact, &mut body))?;
    println!(
        "GET /api/serverinfos -> 200 {}",
        String::from_utf8_lossy(&body)
    );

    let outcome = block_on(gateway.report_status(&client, &contact, STATUS))?;
    println!(
        "POST /api/mystatus -> 201 (stored {} cells, {} errors)",
        outcome.stored,
        outcome.errors.len()
    );

    // Meanwhile, someone switches the lamp on (no box named: the only one seen).
    let lamp = DeviceOrder::find(DeviceKind::Light, "petite_chambre_3", Switch::OnOrOpen)?;
    let injected = block_on(gateway.inject(None, &Order::Devices(vec![lamp])))?;
    for enqueued in &injected.enqueued {
        println!("order queued for {} as {}", injected.client, enqueued.guid);
    }

    // The transport passes one segment minus its HTTP head; the head is left aside here.
    body.clear();
    let sent = block_on(gateway.poll_actions(&client, reply::ONE_SEGMENT_LIMIT, &mut body))?;
    println!(
        "GET /api/myactions -> 200 {}",
        String::from_utf8_lossy(&body)
    );

    clock.advance(250);
    for guid in &sent {
        let what = block_on(gateway.ack(&client, guid.as_str()))?;
        let acked = match what {
            Acked::Action(_) => "an action",
            Acked::Alarm => "the alarm order",
            Acked::Unknown => "nothing known",
        };
        println!("POST /api/done/{guid} -> 201 (acked {acked})");
    }

    // The next cycle's poll: nothing waits any more. The lamp's state is what the box acked.
    body.clear();
    block_on(gateway.poll_actions(&client, reply::ONE_SEGMENT_LIMIT, &mut body))?;
    println!(
        "GET /api/myactions -> 200 {}",
        String::from_utf8_lossy(&body)
    );

    for state in block_on(gateway.device_states(&client))? {
        if let Some(acknowledged) = state.acknowledged {
            let switched = state.device.kind.is_switched();
            let now = match acknowledged.state {
                Some(Switch::OnOrOpen) if switched => "on",
                Some(Switch::OnOrOpen) => "open",
                Some(Switch::OffOrClose) if switched => "off",
                Some(Switch::OffOrClose) => "closed",
                None => "unknown",
            };
            println!("{} is {now} since {}", state.device.key(), acknowledged.at);
        }
    }
    Ok(())
}
