//! The delivery script applies exactly `reply::fitting_count`'s rule, on stored strings whose
//! lengths are exactly `reply::action_len`, in the room `reply::room_with_alarm` leaves when an
//! alarm order waits (on the stored alarm order, whose length is `AlarmOrder::encoded_len`):
//! checked on generated queues, with and without an alarm order, against a real Redis — the
//! count must be `reply::actions_fitting`'s, computed in Rust.

mod common;

use common::{fixture, lines};
use essensys_core::{
    action::{Slot, Writes},
    ports::ActionQueue,
    reply::{self, AlarmOrder},
    Block, Command, Guid, Index, Param, Value,
};
use essensys_testkit::contract::id;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn command(rng: &mut Rng) -> Command {
    match rng.below(3) {
        0 => {
            let mut block = Block::default();
            for _ in 0..=rng.below(4) {
                let index = Index::new(605 + rng.below(18) as u16).expect("block index");
                block.set_bits(index, rng.below(256) as u8);
            }
            Command::Scene(block)
        }
        1 => Command::Launch(Slot::new(2 + rng.below(7) as u8).expect("slot")),
        _ => {
            let count = 1 + rng.below(30) as usize;
            let params = (0..count)
                .map(|n| {
                    // 0..=589 avoids 590 and the block; distinct enough for the test
                    let index =
                        Index::new((n as u16 * 19 + rng.below(19) as u16) % 590).expect("index");
                    Param::new(index, Value::from(rng.below(256) as u8))
                })
                .collect();
            Command::Write(Writes::new(params).expect("writes"))
        }
    }
}

fn guid(rng: &mut Rng, n: usize) -> Guid {
    if rng.below(2) == 0 {
        Guid::from_random(u128::from(rng.next()) << 64 | n as u128)
    } else {
        // any length 1..=64
        let len = 1 + rng.below(64) as usize;
        let text: String = format!("{n}-{}", "x".repeat(64))
            .chars()
            .take(len.max(3))
            .collect();
        Guid::new(&text).expect("guid")
    }
}

/// An alarm order with a random guid and a random `obl` (1 to 40 decimal bytes).
fn random_alarm(rng: &mut Rng, n: usize) -> AlarmOrder {
    let bytes: Vec<String> = (0..=rng.below(40))
        .map(|_| rng.below(256).to_string())
        .collect();
    AlarmOrder::new(guid(rng, n), bytes.join(";")).expect("obl")
}

#[tokio::test]
async fn the_script_fits_exactly_what_core_fits() {
    let f = fixture().await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut delivered_something = 0;
    let mut cut_short = 0;
    let mut with_alarm = 0;
    for round in 0..150 {
        let client = id(&format!("box{round}"));
        let commands: Vec<(Command, Guid)> = (0..rng.below(12) as usize)
            .map(|n| (command(&mut rng), guid(&mut rng, n)))
            .collect();
        f.state.push(&client, commands).await.expect("pushed");
        let queue = f.state.pending(&client).await.expect("pending");

        // stored strings are the wire form, so their lengths are action_len
        let stored = lines(&f.redis.cli(&[
            "LRANGE",
            &format!("essensys:client:{client}:actions"),
            "0",
            "-1",
        ]));
        assert_eq!(stored.len(), queue.len());
        for (text, q) in stored.iter().zip(&queue) {
            let mut wire = Vec::new();
            reply::encode_action(&mut wire, &q.action);
            assert_eq!(text.as_bytes(), wire.as_slice());
            assert_eq!(text.len(), reply::action_len(&q.action));
        }

        // half the boxes have an alarm order waiting, stored as its `_de67f` object
        let alarm = (rng.below(2) == 0).then(|| random_alarm(&mut rng, 100));
        if let Some(alarm) = &alarm {
            assert_eq!(f.state.set_alarm(&client, alarm.clone()).await, Ok(None));
            let stored = f
                .redis
                .cli(&["GET", &format!("essensys:client:{client}:alarm")]);
            let mut wire = Vec::new();
            reply::encode_alarm(&mut wire, alarm);
            assert_eq!(stored.as_bytes(), wire.as_slice());
            assert_eq!(stored.len(), alarm.encoded_len());
        }

        let mut most = 0;
        for _ in 0..3 {
            let budget = rng.below(3_000) as usize;
            let expected =
                reply::actions_fitting(queue.iter().map(|q| &q.action), alarm.as_ref(), budget);
            // what the gateway asks: the room without an alarm order
            let room = reply::action_room(None, budget);
            let delivered = f.state.deliver(&client, room).await.expect("deliver");
            let prefix: Vec<_> = queue[..expected].iter().map(|q| q.action.clone()).collect();
            assert_eq!(
                delivered.actions, prefix,
                "round {round}, budget {budget}, alarm {alarm:?}"
            );
            assert_eq!(delivered.alarm, alarm, "round {round}");
            most = most.max(expected);
            delivered_something += usize::from(!delivered.actions.is_empty());
            cut_short += usize::from(expected < queue.len());
            with_alarm += usize::from(alarm.is_some() && !delivered.actions.is_empty());
        }
        // delivered actions are marked sent, the rest not
        let sent: Vec<bool> = f
            .state
            .pending(&client)
            .await
            .expect("pending")
            .iter()
            .map(|q| q.sent)
            .collect();
        let expected_sent: Vec<bool> = (0..queue.len()).map(|n| n < most).collect();
        assert_eq!(sent, expected_sent, "round {round}");
    }
    assert!(
        delivered_something > 100 && cut_short > 100 && with_alarm > 50,
        "the generator covers every case ({delivered_something}, {cut_short}, {with_alarm})"
    );
}

#[tokio::test]
async fn the_room_is_counted_to_the_byte() {
    let f = fixture().await;
    let client = id("box1");
    let commands: Vec<(Command, Guid)> = (0..3)
        .map(|n| {
            (
                Command::Launch(Slot::new(5).expect("slot")),
                Guid::from_random(n),
            )
        })
        .collect();
    f.state.push(&client, commands).await.expect("pushed");
    let queue = f.state.pending(&client).await.expect("pending");
    let one = reply::action_len(&queue[0].action);
    for (room, expected) in [
        (0, 0),
        (one - 1, 0),
        (one, 1),
        (2 * one, 1),
        (2 * one + 1, 2),
        (3 * one + 2, 3),
        (usize::MAX, 3),
    ] {
        let delivered = f.state.deliver(&client, room).await.expect("deliver");
        assert_eq!(delivered.actions.len(), expected, "room {room}");
        assert_eq!(delivered.alarm, None);
    }
    // with an alarm order, its object takes the place of `null`: `len - 4` bytes less
    let alarm = AlarmOrder::new(Guid::from_random(99), "73;178;187".into()).expect("obl");
    f.state
        .set_alarm(&client, alarm.clone())
        .await
        .expect("alarm");
    let extra = alarm.encoded_len() - 4;
    for (room, expected) in [
        (0, 0),
        (extra, 0),
        (extra + one - 1, 0),
        (extra + one, 1),
        (extra + 2 * one + 1, 2),
        (extra + 3 * one + 1, 2),
        (extra + 3 * one + 2, 3),
        (usize::MAX, 3),
    ] {
        assert_eq!(
            reply::fitting_count([one; 3], reply::room_with_alarm(room, alarm.encoded_len())),
            expected,
            "core agrees, room {room}"
        );
        let delivered = f.state.deliver(&client, room).await.expect("deliver");
        assert_eq!(
            delivered.actions.len(),
            expected,
            "room {room} with an alarm order"
        );
        assert_eq!(delivered.alarm.as_ref(), Some(&alarm));
    }
}
