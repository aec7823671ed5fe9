//! Redis going away and coming back: the box keeps being served, nothing it said is lost, and
//! orders are refused rather than dropped. Redis is stopped and restarted (no long sleeps).

mod common;

use std::time::Duration;

use common::{fixture, fixture_with, gateway_on, lines, options, wait_up};
use essensys_core::{
    alarm::AlarmCommand,
    gateway::InjectError,
    matricule::Key,
    ports::{Acked, ActionQueue, Delivery, EventKind, ExchangeStore, PortError},
    reply::{AlarmOrder, ONE_SEGMENT_LIMIT},
    Guid, Index,
};
use essensys_redis::{Health, RedisOptions, RedisState};
use essensys_testkit::{
    contract::{self, contact, id, lamp, poll, NOW},
    RedisServer,
};

const REFUSED: &str = "redis unreachable: order not queued, retry later";

#[tokio::test]
async fn the_box_is_served_through_an_outage_and_nothing_is_lost() {
    let mut f = fixture().await;
    let client = id("box1");
    for n in 0..2 {
        f.gateway
            .inject(Some(&client), &lamp(n == 0))
            .await
            .expect("queued");
    }
    let (body, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 2);
    let guids: Vec<String> = f
        .gateway
        .pending(&client)
        .await
        .expect("pending")
        .iter()
        .map(|q| q.action.guid.to_string())
        .collect();

    f.redis.stop();

    // the box still gets its actions, from the cache
    let (during, sent_during) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!((during.as_str(), sent_during), (body.as_str(), 2));
    assert!(matches!(f.state.health(), Health::Down { .. }));
    // its ack is taken and remembered, and gives the cached action back (so the lamp's
    // acknowledged state is recorded, buffered)
    let acked = f.gateway.ack(&client, &guids[0]).await.expect("ack");
    assert!(
        matches!(&acked, Acked::Action(a) if a.guid.as_str() == guids[0]),
        "{acked:?}"
    );
    let (_, left) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(left, 1, "acked action no longer served");
    // its reports are buffered
    let mut out = Vec::new();
    f.gateway
        .server_infos(&client, &contact(5_000), &mut out)
        .await
        .expect("serverinfos while down");
    f.events.take();
    let outcome = f
        .gateway
        .report_status(
            &client,
            &contact(5_050),
            br#"{"version":"V37","ek":[{k:349,v:"17"},{k:350,v:"4"}]}"#,
        )
        .await
        .expect("mystatus while down");
    assert_eq!(outcome.stored, 2);
    assert!(!f
        .events
        .take()
        .iter()
        .any(|e| matches!(e.kind, EventKind::Reported { .. })));
    f.gateway
        .report_status(
            &client,
            &contact(7_050),
            br#"{"version":"V37","ek":[{k:349,v:"18"}]}"#,
        )
        .await
        .expect("mystatus while down");
    // orders are refused, never dropped
    assert_eq!(
        f.gateway.inject(Some(&client), &lamp(true)).await,
        Err(InjectError::Port(PortError::Unavailable(REFUSED.into())))
    );
    // reads are refused
    assert!(matches!(
        f.state.pending(&client).await,
        Err(PortError::Unavailable(_))
    ));
    assert!(matches!(
        f.state
            .values(&client, &[Index::new(349).expect("index")])
            .await,
        Err(PortError::Unavailable(_))
    ));
    assert!(matches!(
        f.state.devices(&client).await,
        Err(PortError::Unavailable(_))
    ));
    match f.state.health() {
        Health::Down {
            buffered_reports,
            remembered_acks,
            buffered_devices,
            ..
        } => assert_eq!(
            (buffered_reports, remembered_acks, buffered_devices),
            (2, 1, 1)
        ),
        Health::Up => panic!("still down"),
    }

    f.redis.restart();
    assert!(
        wait_up(&f.state, Duration::from_secs(10)).await,
        "recovers by itself"
    );
    let actions_key = "essensys:client:box1:actions";
    let queued = lines(&f.redis.cli(&["LRANGE", actions_key, "0", "-1"]));
    assert_eq!(queued.len(), 1, "the remembered ack was applied");
    assert!(queued[0].contains(&guids[1]));
    assert_eq!(
        lines(
            &f.redis
                .cli(&["SMEMBERS", "essensys:client:box1:actions:sent"])
        ),
        [guids[1].clone()]
    );
    assert_eq!(
        f.redis
            .cli(&["HGET", "essensys:client:box1:exchange", "349"]),
        "18",
        "the latest buffered value"
    );
    assert_eq!(
        f.redis
            .cli(&["HGET", "essensys:client:box1:exchange", "350"]),
        "4"
    );
    assert_eq!(
        f.redis
            .cli(&["LRANGE", "essensys:client:box1:history:349", "0", "-1"]),
        "7050:18"
    );
    assert_eq!(
        f.redis.cli(&["GET", "essensys:client:box1:last_poll"]),
        "1970-01-01T00:00:05.000Z"
    );
    assert_eq!(
        lines(&f.redis.cli(&["HGETALL", "essensys:client:box1:devices"])),
        [
            "light.petite_chambre_3".to_string(),
            format!("on:{}", NOW.0)
        ],
        "the buffered device state was written"
    );
    // and everything works again
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued again");
    let (_, sent_after) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent_after, 2);
}

#[tokio::test]
async fn values_and_queues_survive_a_redis_restart() {
    let mut f = fixture().await;
    let client = id("box1");
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    f.gateway
        .report_status(
            &client,
            &contact(1_000),
            br#"{"version":"V37","ek":[{k:349,v:"17"}]}"#,
        )
        .await
        .expect("report");
    let before = f.gateway.pending(&client).await.expect("pending");

    f.redis.restart();

    // the same state carries on (its connection is renewed without an outage)...
    assert_eq!(f.gateway.pending(&client).await.expect("pending"), before);
    assert_eq!(f.state.health(), Health::Up);
    // ...and a new process finds everything
    let state = RedisState::connect(options(f.redis.url()))
        .await
        .expect("connect");
    let (gateway, _) = gateway_on(&state);
    assert_eq!(gateway.pending(&client).await.expect("pending"), before);
    let values = gateway
        .read_values(&client, &[Index::new(349).expect("index")])
        .await
        .expect("values");
    assert_eq!(values[0].1.map(|v| v.get()), Some(17));
    assert_eq!(gateway.clients().await.expect("clients").len(), 1);
}

#[tokio::test]
async fn unreachable_at_startup_then_recovers_by_itself() {
    let mut redis = RedisServer::start();
    redis.stop();
    let state = RedisState::connect(options(redis.url()))
        .await
        .expect("starts anyway");
    assert!(matches!(state.health(), Health::Down { .. }));
    let client = id("box1");
    assert_eq!(
        state.deliver(&client, ONE_SEGMENT_LIMIT).await,
        Ok(Delivery::default())
    );
    state
        .record_poll(&client, &contact(9_000))
        .await
        .expect("buffered");
    let (gateway, _) = gateway_on(&state);
    assert_eq!(
        gateway.inject(Some(&client), &lamp(true)).await,
        Err(InjectError::Port(PortError::Unavailable(REFUSED.into())))
    );

    redis.restart();
    assert!(wait_up(&state, Duration::from_secs(10)).await);
    assert_eq!(
        redis.cli(&["GET", "essensys:client:box1:last_poll"]),
        "1970-01-01T00:00:09.000Z"
    );
    gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued once back");
}

#[tokio::test]
async fn a_pending_alarm_order_waits_out_an_outage() {
    let mut f = fixture_with(contract::keyed_config()).await;
    let client = Key::parse(contract::KEY).expect("key").client_id();
    let mut out = Vec::new();
    f.gateway
        .server_infos(&client, &contact(1_000), &mut out)
        .await
        .expect("poll");
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    let alarm = f
        .gateway
        .alarm(Some(&client), AlarmCommand::Arm)
        .await
        .expect("alarm queued");
    let (before, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    let with_alarm = format!(r#"{{"_de67f":{{"guid":"{}","obl":""#, alarm.guid);
    assert!(before.starts_with(&with_alarm), "{before}");
    assert_eq!(sent, 2, "the action and the alarm order");

    f.redis.stop();

    // the cached action is served, the alarm order is not (it waits in Redis)
    let (during, sent_during) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert!(
        during.starts_with(r#"{"_de67f":null,"actions":[{"guid":"#),
        "{during}"
    );
    assert_eq!(sent_during, 1);
    // a new alarm order is refused, never dropped; the pending one cannot be read
    let order = AlarmOrder::new(Guid::from_random(77), "1;2".into()).expect("obl");
    assert_eq!(
        f.state.set_alarm(&client, order).await,
        Err(PortError::Unavailable(REFUSED.into()))
    );
    assert!(matches!(
        f.gateway.alarm(Some(&client), AlarmCommand::Disarm).await,
        Err(InjectError::Port(PortError::Unavailable(_)))
    ));
    assert!(matches!(
        f.state.pending_alarm(&client).await,
        Err(PortError::Unavailable(_))
    ));

    f.redis.restart();
    assert!(wait_up(&f.state, Duration::from_secs(10)).await);
    // the same order is delivered again, then acked
    let (after, sent_after) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!((after.as_str(), sent_after), (before.as_str(), 2));
    assert_eq!(
        f.gateway.ack(&client, alarm.guid.as_str()).await,
        Ok(Acked::Alarm)
    );
    let key = format!("essensys:client:{client}:alarm");
    assert_eq!(f.redis.cli(&["EXISTS", &key]), "0");
}

#[tokio::test]
async fn an_alarm_order_acked_during_an_outage_is_removed_when_redis_is_back() {
    let mut f = fixture().await;
    let client = id("box1");
    let key = "essensys:client:box1:alarm";
    let order = AlarmOrder::new(Guid::from_random(7), "73;178;187".into()).expect("obl");
    f.state
        .set_alarm(&client, order.clone())
        .await
        .expect("alarm");
    let delivery = f.state.deliver(&client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(delivery.map(|d| d.alarm), Ok(Some(order.clone())));

    f.redis.stop();

    // the box got it before the outage and acks it now: unknown here, remembered
    assert_eq!(
        f.gateway.ack(&client, order.guid().as_str()).await,
        Ok(Acked::Unknown)
    );
    assert!(matches!(
        f.state.health(),
        Health::Down {
            remembered_acks: 1,
            ..
        }
    ));

    f.redis.restart();
    assert!(wait_up(&f.state, Duration::from_secs(10)).await);
    assert_eq!(
        f.redis.cli(&["EXISTS", key]),
        "0",
        "the remembered ack was applied"
    );
    assert_eq!(f.state.pending_alarm(&client).await, Ok(None));
    let (body, _) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(body, r#"{"_de67f":null,"actions":[]}"#);
}

#[tokio::test]
async fn a_hung_redis_costs_one_timeout_then_the_cache_answers() {
    let f = fixture().await;
    let client = id("box1");
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    let (_, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 1);
    // Redis blocks every client for 2 s (longer than the 500 ms operation timeout)
    let pause = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &f.redis.port().to_string(),
            "CLIENT",
            "PAUSE",
            "2000",
            "ALL",
        ])
        .output()
        .expect("redis-cli");
    assert!(pause.status.success());
    let (_, during) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(during, 1, "served from the cache after the timeout");
    assert!(matches!(f.state.health(), Health::Down { .. }));
    assert!(wait_up(&f.state, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn a_malformed_url_is_the_only_connect_error() {
    for url in ["http://127.0.0.1:6379/0", "redis://", "not a url"] {
        let err = RedisState::connect(RedisOptions::new(url)).await;
        assert!(err.is_err(), "{url}");
    }
    let err = RedisState::connect(RedisOptions::new("redis://:secret@[::1/0"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!err.contains("secret"), "{err}");
    let options = RedisOptions::new("redis://:secret@127.0.0.1:1/0");
    assert!(!format!("{options:?}").contains("secret"));
}
