//! Redis going away and coming back: the box keeps being served, nothing it said is lost, and
//! orders are refused rather than dropped. Redis is stopped and restarted (no long sleeps).

mod common;

use std::time::Duration;

use common::{fixture, gateway_on, lines, options, wait_up};
use essensys_core::{
    gateway::InjectError,
    ports::{ActionQueue, Event, ExchangeStore, PortError},
    reply::ONE_SEGMENT_LIMIT,
    Index,
};
use essensys_redis::{Health, RedisOptions, RedisState};
use essensys_testkit::{
    contract::{contact, id, lamp, poll},
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
    // its ack is taken and remembered
    assert!(f.gateway.ack(&client, &guids[0]).await.expect("ack"));
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
        .any(|e| matches!(e, Event::Reported { .. })));
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
    match f.state.health() {
        Health::Down {
            buffered_reports,
            remembered_acks,
            ..
        } => assert_eq!((buffered_reports, remembered_acks), (2, 1)),
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
    assert_eq!(state.deliver(&client, ONE_SEGMENT_LIMIT).await, Ok(vec![]));
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
