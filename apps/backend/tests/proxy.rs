//! The box through a real nginx running the shipped `/api/` block (`compose/nginx/box-api.conf`)
//! in front of the backend: every reply must still reach the box as one segment (at most
//! `ONE_SEGMENT_LIMIT` bytes, read in one read of at most 1499), including `myactions` replies
//! full of actions — which needs `--reply-headroom` for the headers nginx adds.

use std::{net::SocketAddr, path::Path, time::Duration};

use essensys_bp_sim::{house::DeviceState, BoxSim, SimConfig};
use essensys_core::{catalog::DeviceKind, reply::ONE_SEGMENT_LIMIT, Index, Value};
use essensys_testkit::Nginx;

mod common;
use common::{api, start};

const BOX_API: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../compose/nginx/box-api.conf"
);

/// nginx in front of `backend`, running the shipped box block.
fn nginx_for(backend: SocketAddr) -> Nginx {
    let locations = format!(
        "    location /api/ {{\n      proxy_pass http://{backend};\n      include box-api.conf;\n    }}"
    );
    Nginx::start(&locations, &[Path::new(BOX_API)])
}

fn sim(front: SocketAddr) -> BoxSim {
    BoxSim::new(SimConfig {
        step_gap: Duration::ZERO,
        ..SimConfig::new(front)
    })
}

/// Queues 40 one-cell orders (plain writes 100..140 do not merge): more than one reply holds.
async fn fill(backend: SocketAddr) {
    for k in 100..140 {
        let order = format!(r#"{{"k":{k},"v":"1"}}"#);
        let (status, body) = api(backend, "POST", "/api/admin/inject", &order).await;
        assert_eq!(status, 200, "{order}: {body}");
    }
}

/// The largest `myactions` reply the box read while its queue drained.
async fn drain(sim: &mut BoxSim, backend: SocketAddr) -> usize {
    let mut largest = 0;
    for _ in 0..10 {
        let report = sim.cycle().await.unwrap_or_else(|e| {
            panic!("a cycle through nginx failed as the firmware sees it: {e}")
        });
        assert!(
            report.actions.iter().all(|a| a.acked),
            "every done through nginx: {report:?}"
        );
        for reply in &report.replies {
            assert!(reply.bytes > 0 && reply.bytes <= 1499, "{reply:?}");
            largest = largest.max(reply.bytes);
        }
        let (_, pending) = api(backend, "GET", "/api/admin/actions", "").await;
        if pending.contains(r#""actions":[]"#) {
            return largest;
        }
    }
    panic!("the queue did not drain through nginx");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_box_is_served_through_nginx_one_segment_per_reply() {
    let backend = start(&["--reply-headroom", "64"]).await;
    let nginx = nginx_for(backend);
    let front: SocketAddr = format!("127.0.0.1:{}", nginx.port()).parse().expect("addr");
    let mut sim = sim(front);
    sim.set_cell(Index::new(349).expect("349"), Value(17));
    let report = sim.cycle().await.expect("an idle cycle through nginx");
    assert_eq!(report.replies.len(), 3, "serverinfos, mystatus, myactions");

    // scenes, a launch and writes, through nginx to the house
    for order in [
        r#"{"k":617,"v":"1"}"#,
        r#"{"k":349,"v":"18"}"#,
        r#"{"k":590,"v":"3"}"#,
        r#"{"k":350,"v":"19"}"#,
    ] {
        let (status, body) = api(backend, "POST", "/api/admin/inject", order).await;
        assert_eq!(status, 200, "{order}: {body}");
    }
    drain(&mut sim, backend).await;
    assert_eq!(sim.table().get(Index::new(349).expect("349")), Value(18));
    assert_eq!(sim.table().get(Index::new(350).expect("350")), Value(19));
    assert_eq!(
        sim.house().state(DeviceKind::Shutter, "salon_1"),
        Some(DeviceState::Open),
        "617 bit 1 opens the living-room shutter"
    );

    // full replies: with the headroom nginx's own headers need, each still fits one segment
    fill(backend).await;
    let largest = drain(&mut sim, backend).await;
    assert!(
        largest <= ONE_SEGMENT_LIMIT,
        "{largest} bytes through nginx: more than one segment"
    );
    assert!(
        largest > ONE_SEGMENT_LIMIT - 64 - 100,
        "the replies were full: {largest}"
    );
    for k in 100..140 {
        assert_eq!(
            sim.table().get(Index::new(k).expect("k")),
            Value(1),
            "{k} written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_headroom_a_full_reply_through_nginx_is_cut_at_the_box() {
    // why the compose stack sets --reply-headroom: nginx adds Server and Date to every reply
    let backend = start(&[]).await;
    let nginx = nginx_for(backend);
    let front: SocketAddr = format!("127.0.0.1:{}", nginx.port()).parse().expect("addr");
    let mut sim = sim(front);
    sim.cycle().await.expect("an idle cycle");
    fill(backend).await;
    let error = sim
        .cycle()
        .await
        .expect_err("a full reply is cut at the box");
    assert!(
        error
            .to_string()
            .contains("more than the 1499 the firmware reads"),
        "{error}"
    );
}
