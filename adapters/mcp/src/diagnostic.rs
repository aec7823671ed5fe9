//! `run_self_diagnostic`: named checks of the gateway, each with pass/fail and what to do, and
//! the safe repairs.
//!
//! A safe repair restarts the state store or the MQTT broker through the service manager when
//! its check failed. Nothing else: orders, queues and state are never deleted (an order that
//! waits for a box that does not poll is not "stuck" in a way deleting it would fix).

use serde::Serialize;

use essensys_core::{ports::Timestamp, Gateway};

use crate::{
    host::{Host, Manager},
    Vitals,
};

/// A box that has not polled for this long is reported (it polls every 2–5 s).
pub const POLL_SILENCE_S: u64 = 60;

/// More actions than this waiting for one box is reported as a growing queue.
pub const QUEUE_LIMIT: usize = 20;

/// The years a sane clock reads (alarm orders need 2000–2099; the box's clock is set from it).
const SANE_YEARS: std::ops::RangeInclusive<i64> = 2024..=2099;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All is well.
    Pass,
    /// Something needs doing: see the advice.
    Fail,
    /// Not configured here.
    Skipped,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `store`, `box_polling`, `queues`, `clock` or `mqtt`.
    pub name: &'static str,
    /// Its outcome.
    pub status: Status,
    /// What was seen.
    pub detail: String,
    /// What to do, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// One repair done (or not) for a failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// The check it answers.
    pub check: &'static str,
    /// What was done, or why nothing was.
    pub action: String,
    /// Whether it succeeded.
    pub ok: bool,
}

/// The whole diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether every check that ran passed.
    pub healthy: bool,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
    /// Whether repairs were asked for.
    pub auto_repair: bool,
    /// What the repairs did (empty without `auto_repair`).
    pub repairs: Vec<Repair>,
}

impl Check {
    fn pass(name: &'static str, detail: String) -> Self {
        Self {
            name,
            status: Status::Pass,
            detail,
            advice: None,
        }
    }

    fn fail(name: &'static str, detail: String, advice: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Fail,
            detail,
            advice: Some(advice.into()),
        }
    }
}

/// Runs every check, then, with `auto_repair`, the safe repairs.
pub async fn run(gateway: &Gateway, host: &Host, vitals: &Vitals, auto_repair: bool) -> Report {
    let now = gateway.now();
    let mut checks = vec![store(gateway, vitals).await];
    checks.extend(boxes(gateway, now).await);
    checks.push(clock(now));
    checks.push(mqtt(vitals));
    let mut repairs = Vec::new();
    if auto_repair {
        for check in checks.iter().filter(|c| c.status == Status::Fail) {
            let service = match check.name {
                "store" if vitals.store_kind == "redis" => "redis",
                "mqtt" => "mosquitto",
                _ => continue,
            };
            repairs.push(restart(host, check.name, service).await);
        }
    }
    Report {
        healthy: checks.iter().all(|c| c.status != Status::Fail),
        checks,
        auto_repair,
        repairs,
    }
}

/// Restarts `service` for the failed `check`, through the manager when there is one.
async fn restart(host: &Host, check: &'static str, service: &str) -> Repair {
    if host.manager() == Manager::None {
        return Repair {
            check,
            action: format!(
                "did not restart {service}: no service manager (Docker or systemd) on this host"
            ),
            ok: false,
        };
    }
    match host.restart(service).await {
        Ok(status) => Repair {
            check,
            action: format!("restarted {service}: now {}", status.state),
            ok: true,
        },
        Err(e) => Repair {
            check,
            action: format!("could not restart {service}: {e}"),
            ok: false,
        },
    }
}

async fn store(gateway: &Gateway, vitals: &Vitals) -> Check {
    const NAME: &str = "store";
    let advice = "check that Redis runs (list_service_status, read_service_logs redis) and that \
                  the gateway's --store URL points at it; boxes are served from the local cache \
                  meanwhile";
    if let Err(e) = gateway.clients().await {
        return Check::fail(
            NAME,
            format!("the state store does not answer: {e}"),
            advice,
        );
    }
    match vitals.store_health.as_ref().map(|h| h()) {
        Some(health) if !health.up => Check::fail(NAME, health.detail, advice),
        Some(health) => Check::pass(
            NAME,
            format!("{} store: {}", vitals.store_kind, health.detail),
        ),
        None => Check::pass(NAME, format!("{} store answers", vitals.store_kind)),
    }
}

/// `box_polling` and `queues`, from the boxes the store knows.
async fn boxes(gateway: &Gateway, now: Timestamp) -> Vec<Check> {
    let Ok(clients) = gateway.clients().await else {
        let detail = || "not checked: the state store does not answer".to_string();
        let advice = "repair the store first";
        return vec![
            Check::fail("box_polling", detail(), advice),
            Check::fail("queues", detail(), advice),
        ];
    };
    if clients.is_empty() {
        let advice = "make mon.essensys.fr resolve to this gateway on the box's network (DNS \
                      rewrite) and check the box's network cable";
        return vec![
            Check::fail(
                "box_polling",
                "no box has polled the gateway yet".into(),
                advice,
            ),
            Check::pass("queues", "no box, no queue".into()),
        ];
    }
    let mut silent = Vec::new();
    let mut stuck = Vec::new();
    let mut polled = Vec::new();
    let mut waiting = Vec::new();
    for client in &clients {
        let quiet = now.0.saturating_sub(client.last_seen.0) / 1000;
        if quiet > POLL_SILENCE_S {
            silent.push(format!("{} last polled {quiet} s ago", client.id));
        } else {
            polled.push(format!("{} polled {quiet} s ago", client.id));
        }
        match gateway.pending(&client.id).await {
            Ok(pending) if pending.len() > QUEUE_LIMIT => stuck.push(format!(
                "{}: {} actions waiting (more than {QUEUE_LIMIT})",
                client.id,
                pending.len()
            )),
            Ok(pending) if !pending.is_empty() && quiet > POLL_SILENCE_S => stuck.push(format!(
                "{}: {} actions waiting for a box that does not poll",
                client.id,
                pending.len()
            )),
            Ok(pending) => waiting.push(format!("{}: {} waiting", client.id, pending.len())),
            Err(e) => stuck.push(format!("{}: queue not readable: {e}", client.id)),
        }
    }
    let polling = if silent.is_empty() {
        Check::pass("box_polling", polled.join("; "))
    } else {
        Check::fail(
            "box_polling",
            silent.join("; "),
            "a box polls every 2-5 s: check its power and network, and that mon.essensys.fr \
             still resolves to this gateway",
        )
    };
    let queues = if stuck.is_empty() {
        Check::pass("queues", waiting.join("; "))
    } else {
        Check::fail(
            "queues",
            stuck.join("; "),
            "orders wait until the box polls and acknowledges them; get the box polling again \
             (nothing is deleted: the box runs them when it is back)",
        )
    };
    vec![polling, queues]
}

fn clock(now: Timestamp) -> Check {
    let (year, ..) = now.civil();
    if SANE_YEARS.contains(&year) {
        Check::pass("clock", format!("system clock reads {now}"))
    } else {
        Check::fail(
            "clock",
            format!("system clock reads {now}"),
            "set the system clock (enable NTP: timedatectl set-ntp true): the box's clock and \
             alarm orders are set from it",
        )
    }
}

fn mqtt(vitals: &Vitals) -> Check {
    match vitals.mqtt_connected.as_ref().map(|f| f()) {
        None => Check {
            name: "mqtt",
            status: Status::Skipped,
            detail: "no MQTT broker configured here".into(),
            advice: None,
        },
        Some(true) => Check::pass("mqtt", "connected to the broker".into()),
        Some(false) => Check::fail(
            "mqtt",
            "not connected to the broker".into(),
            "check that Mosquitto runs (list_service_status, read_service_logs mosquitto) and \
             the gateway's --mqtt-url; the bridge reconnects by itself",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use essensys_core::{
        gateway::{GatewayConfig, Ports},
        order::RawCell,
        ports::{Contact, ExchangeStore, NoEvents},
        ClientId, Order,
    };
    use essensys_memory::{CountingGuids, ManualClock, MemoryQueue, MemoryStore};

    use super::*;

    const T0: Timestamp = Timestamp(1_796_300_000_000);

    /// A gateway on memory adapters at a manual clock, and its store.
    fn gateway() -> (Gateway, Arc<ManualClock>, Arc<MemoryStore>) {
        let clock = Arc::new(ManualClock::new(T0));
        let store = Arc::new(MemoryStore::new());
        let ports = Ports {
            store: store.clone(),
            queue: Arc::new(MemoryQueue::new()),
            events: Arc::new(NoEvents),
            clock: clock.clone(),
            guids: Arc::new(CountingGuids::default()),
        };
        (Gateway::new(ports, GatewayConfig::default()), clock, store)
    }

    /// A host with neither Docker nor systemd.
    fn no_manager() -> Host {
        Host::new(crate::HostConfig {
            docker_socket: "/nonexistent".into(),
            systemd_dir: "/nonexistent".into(),
            ..crate::HostConfig::default()
        })
    }

    fn status<'a>(report: &'a Report, name: &str) -> &'a Check {
        report.checks.iter().find(|c| c.name == name).expect(name)
    }

    #[tokio::test]
    async fn a_box_that_stops_polling_fails_and_its_waiting_orders_are_reported_not_deleted() {
        let (gateway, clock, store) = gateway();
        let host = no_manager();
        let vitals = Vitals {
            store_kind: "memory",
            ..Vitals::default()
        };
        let report = run(&gateway, &host, &vitals, false).await;
        assert_eq!(
            status(&report, "box_polling").status,
            Status::Fail,
            "no box yet"
        );
        assert!(!report.healthy);

        let client = ClientId::default_box();
        let contact = Contact {
            at: T0,
            address: None,
            authorization: None,
        };
        store.record_poll(&client, &contact).await.unwrap();
        let order = Order::Cells(vec![RawCell {
            k: 613,
            v: "64".into(),
        }]);
        gateway.inject(None, &order).await.unwrap();
        let report = run(&gateway, &host, &vitals, false).await;
        assert!(report.healthy, "{report:?}");
        assert_eq!(status(&report, "mqtt").status, Status::Skipped);

        clock.advance((POLL_SILENCE_S + 1) * 1000);
        let report = run(&gateway, &host, &vitals, true).await;
        let polling = status(&report, "box_polling");
        assert_eq!(polling.status, Status::Fail);
        assert!(polling.detail.contains("61 s ago"), "{polling:?}");
        assert_eq!(status(&report, "queues").status, Status::Fail);
        assert_eq!(report.repairs, [], "nothing a restart would fix");
        assert_eq!(
            gateway.pending(&client).await.unwrap().len(),
            1,
            "the order is kept"
        );
    }

    #[tokio::test]
    async fn auto_repair_without_a_service_manager_says_it_did_nothing() {
        let (gateway, _clock, _store) = gateway();
        let host = no_manager();
        let vitals = Vitals {
            store_kind: "redis",
            store_health: Some(Arc::new(|| crate::StoreHealth {
                up: false,
                detail: "Down".into(),
            })),
            mqtt_connected: Some(Arc::new(|| false)),
            counters: None,
        };
        let report = run(&gateway, &host, &vitals, true).await;
        assert_eq!(status(&report, "store").status, Status::Fail);
        assert_eq!(status(&report, "mqtt").status, Status::Fail);
        let checks: Vec<_> = report.repairs.iter().map(|r| (r.check, r.ok)).collect();
        assert_eq!(checks, [("store", false), ("mqtt", false)]);
        assert!(
            report.repairs[0].action.contains("no service manager"),
            "{report:?}"
        );
    }

    #[test]
    fn the_clock_is_sane_between_2024_and_2099() {
        // 2026-12-03
        assert_eq!(clock(Timestamp(1_796_300_000_000)).status, Status::Pass);
        // 1970
        let epoch = clock(Timestamp(0));
        assert_eq!(epoch.status, Status::Fail);
        assert!(epoch.advice.unwrap().contains("NTP"));
    }

    #[test]
    fn mqtt_is_skipped_without_a_broker_and_fails_when_disconnected() {
        let mut vitals = Vitals::default();
        assert_eq!(mqtt(&vitals).status, Status::Skipped);
        vitals.mqtt_connected = Some(std::sync::Arc::new(|| false));
        assert_eq!(mqtt(&vitals).status, Status::Fail);
        vitals.mqtt_connected = Some(std::sync::Arc::new(|| true));
        assert_eq!(mqtt(&vitals).status, Status::Pass);
    }
}
