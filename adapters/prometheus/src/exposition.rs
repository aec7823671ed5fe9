//! The classic Prometheus text format (0.0.4): `# HELP`, `# TYPE`, then the samples of each
//! family, label values escaped.

use std::fmt::Write;

use essensys_core::event::BoxEndpoint;

use crate::{recorder::ActionEvent, Sources, BUCKETS, CONNECTED_WITHIN_S, MAX_BOXES};

/// A label value with `\`, `"` and line feeds escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes families into one text.
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (n, (label, value)) in labels.iter().enumerate() {
                if n > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// The whole exposition: counters from the recorder, the boxes from the store.
pub async fn render(sources: &Sources) -> String {
    let recorder = &sources.recorder;
    let mut text = Text(String::with_capacity(8 * 1024));

    text.family(
        "essensys_build_info",
        "gauge",
        "The gateway's version (always 1).",
    );
    text.sample(
        "essensys_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );

    text.family(
        "essensys_box_requests_total",
        "counter",
        "Box requests answered, by endpoint.",
    );
    for endpoint in BoxEndpoint::ALL {
        let labels = [("endpoint", endpoint.name())];
        text.sample(
            "essensys_box_requests_total",
            &labels,
            recorder.requests(endpoint),
        );
    }

    let name = "essensys_box_request_duration_seconds";
    text.family(
        name,
        "histogram",
        "Time to answer a box request once read, by endpoint.",
    );
    for endpoint in BoxEndpoint::ALL {
        let (buckets, count, sum) = recorder.durations(endpoint).read();
        for (le, n) in BUCKETS.iter().zip(buckets) {
            let le = le.to_string();
            let labels = [("endpoint", endpoint.name()), ("le", le.as_str())];
            text.sample(&format!("{name}_bucket"), &labels, n);
        }
        let labels = [("endpoint", endpoint.name()), ("le", "+Inf")];
        text.sample(&format!("{name}_bucket"), &labels, count);
        let labels = [("endpoint", endpoint.name())];
        text.sample(&format!("{name}_sum"), &labels, sum);
        text.sample(&format!("{name}_count"), &labels, count);
    }

    text.family(
        "essensys_actions_total",
        "counter",
        "Actions by what happened: queued, merged (into a waiting action), delivered, acked, refused.",
    );
    for event in ActionEvent::ALL {
        text.sample(
            "essensys_actions_total",
            &[("event", event.name())],
            recorder.actions(event),
        );
    }

    text.family(
        "essensys_status_garbled_total",
        "counter",
        "Status reports with items that could not be read.",
    );
    text.sample("essensys_status_garbled_total", &[], recorder.garbled());
    text.family(
        "essensys_store_errors_total",
        "counter",
        "Operations the state store failed.",
    );
    text.sample("essensys_store_errors_total", &[], recorder.store_errors());

    text.family(
        "essensys_http_requests_total",
        "counter",
        "API answers by route pattern and status.",
    );
    for (route, status, n) in recorder.routes() {
        let status = status.to_string();
        let labels = [("route", &*route), ("status", status.as_str())];
        text.sample("essensys_http_requests_total", &labels, n);
    }

    boxes(sources, &mut text).await;

    if let Some(connected) = &sources.mqtt_connected {
        text.family(
            "essensys_mqtt_connected",
            "gauge",
            "1 while the Home Assistant bridge is connected to the broker.",
        );
        text.sample("essensys_mqtt_connected", &[], u8::from(connected()));
    }
    text.0
}

/// `essensys_store_up` and the per-box gauges, from the store.
async fn boxes(sources: &Sources, text: &mut Text) {
    let gateway = &sources.gateway;
    let clients = gateway.clients().await;
    let adapter_up = sources.store_up.as_ref().is_none_or(|up| up());
    text.family(
        "essensys_store_up",
        "gauge",
        "1 when the state store answers.",
    );
    text.sample(
        "essensys_store_up",
        &[],
        u8::from(clients.is_ok() && adapter_up),
    );
    let Ok(mut clients) = clients else {
        return;
    };
    clients.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.id.cmp(&b.id)));
    clients.truncate(MAX_BOXES);
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    let now = gateway.now();

    text.family(
        "essensys_box_last_seen_timestamp_seconds",
        "gauge",
        "When each box last made a request (Unix time).",
    );
    for client in &clients {
        let seconds = client.last_seen.0 as f64 / 1000.0;
        text.sample(
            "essensys_box_last_seen_timestamp_seconds",
            &[("client", client.id.as_str())],
            seconds,
        );
    }
    text.family(
        "essensys_box_connected",
        "gauge",
        "1 when the box polled within the last minute.",
    );
    for client in &clients {
        let quiet = now.0.saturating_sub(client.last_seen.0) / 1000;
        text.sample(
            "essensys_box_connected",
            &[("client", client.id.as_str())],
            u8::from(quiet <= CONNECTED_WITHIN_S),
        );
    }
    text.family(
        "essensys_actions_pending",
        "gauge",
        "Actions waiting for each box's acknowledgement.",
    );
    for client in &clients {
        if let Ok(pending) = gateway.pending(&client.id).await {
            text.sample(
                "essensys_actions_pending",
                &[("client", client.id.as_str())],
                pending.len(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use essensys_core::{
        event::{Event, EventKind, EventSink},
        gateway::{GatewayConfig, Ports},
        order::RawCell,
        ports::{Contact, ExchangeStore, NoEvents, Timestamp},
        ClientId, Gateway, Order,
    };
    use essensys_memory::{CountingGuids, ManualClock, MemoryQueue, MemoryStore};

    use super::*;
    use crate::Recorder;

    const T0: Timestamp = Timestamp(1_796_300_000_000);

    fn sources(store: Arc<MemoryStore>, clock: Arc<ManualClock>) -> Sources {
        let ports = Ports {
            store,
            queue: Arc::new(MemoryQueue::new()),
            events: Arc::new(NoEvents),
            clock,
            guids: Arc::new(CountingGuids::default()),
        };
        Sources {
            gateway: Arc::new(Gateway::new(ports, GatewayConfig::default())),
            recorder: Arc::new(Recorder::default()),
            store_up: None,
            mqtt_connected: None,
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }

    #[tokio::test]
    async fn boxes_are_shown_from_the_store_with_their_queues() {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(T0));
        let sources = sources(store.clone(), clock.clone());
        let text = render(&sources).await;
        assert!(text.contains("essensys_store_up 1\n"), "{text}");
        assert!(!text.contains("client="), "no box yet: {text}");
        assert!(
            !text.contains("essensys_mqtt_connected"),
            "no broker configured"
        );

        let contact = Contact {
            at: T0,
            address: None,
            authorization: None,
        };
        let client = ClientId::default_box();
        store.record_poll(&client, &contact).await.unwrap();
        let order = Order::Cells(vec![RawCell {
            k: 613,
            v: "64".into(),
        }]);
        sources.gateway.inject(None, &order).await.unwrap();
        sources.recorder.publish(&Event {
            at: T0,
            kind: EventKind::Api {
                route: "/api/v1/lights/{id}".into(),
                status: 202,
            },
        });
        clock.advance(61_000);
        let text = render(&sources).await;
        for line in [
            "essensys_box_last_seen_timestamp_seconds{client=\"default\"} 1796300000\n",
            "essensys_box_connected{client=\"default\"} 0\n",
            "essensys_actions_pending{client=\"default\"} 1\n",
            "essensys_http_requests_total{route=\"/api/v1/lights/{id}\",status=\"202\"} 1\n",
            "essensys_box_request_duration_seconds_bucket{endpoint=\"done\",le=\"+Inf\"} 0\n",
            "# TYPE essensys_box_request_duration_seconds histogram\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[tokio::test]
    async fn the_box_series_are_capped() {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(T0));
        let sources = sources(store.clone(), clock);
        for n in 0..MAX_BOXES as u64 + 5 {
            let contact = Contact {
                at: Timestamp(T0.0 + n),
                address: None,
                authorization: None,
            };
            let id = ClientId::new(&format!("box{n:03}")).unwrap();
            store.record_poll(&id, &contact).await.unwrap();
        }
        let text = render(&sources).await;
        let shown = text
            .lines()
            .filter(|l| l.starts_with("essensys_box_connected{"))
            .count();
        assert_eq!(shown, MAX_BOXES);
        assert!(!text.contains("box000"), "the least recently seen are cut");
        assert!(text.contains("box068"));
    }
}
