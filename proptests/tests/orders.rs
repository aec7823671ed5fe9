//! Laws of orders, actions and the merge, over arbitrary inputs.

use essensys_core::{
    action::{Block, Command, PAIRS},
    catalog::{devices, DeviceKind},
    merge::{self, Queued},
    order::{DeviceOrder, RawCell, Switch},
    Guid, Order, Param,
};
use proptest::prelude::*;

/// What the box does with lamps and shutters: each device ends on/open, off/closed, or — when
/// one scene carries both bits — "both" (a state the law must reproduce exactly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum DeviceState {
    #[default]
    Untouched,
    OnOrOpen,
    OffOrClose,
    Both,
}

/// The simulated outputs: one state per (pair, bit).
type House = [[DeviceState; 8]; 9];

fn run_scene(house: &mut House, block: &Block) {
    let masks = block.masks();
    for (pair, (off, on)) in PAIRS.iter().enumerate() {
        for (bit, state) in house[pair].iter_mut().enumerate() {
            let (is_on, is_off) = (masks[*on] & (1 << bit) != 0, masks[*off] & (1 << bit) != 0);
            *state = match (is_on, is_off) {
                (true, true) => DeviceState::Both,
                (true, false) => DeviceState::OnOrOpen,
                (false, true) => DeviceState::OffOrClose,
                (false, false) => *state,
            };
        }
    }
}

fn run_all<'a>(commands: impl IntoIterator<Item = &'a Command>) -> House {
    let mut house = House::default();
    for command in commands {
        if let Command::Scene(block) = command {
            run_scene(&mut house, block);
        }
    }
    house
}

fn device_order() -> impl Strategy<Value = DeviceOrder> {
    (0..devices().len(), any::<bool>()).prop_map(|(n, on)| DeviceOrder {
        device: &devices()[n],
        switch: if on {
            Switch::OnOrOpen
        } else {
            Switch::OffOrClose
        },
    })
}

/// Orders of 1–4 devices with no device told two things (those are refused, tested elsewhere).
fn devices_order() -> impl Strategy<Value = Order> {
    prop::collection::vec(device_order(), 1..4).prop_map(|mut list| {
        let mut seen = Vec::new();
        list.retain(|o| {
            let key = (
                o.device.kind == DeviceKind::Light || o.device.kind == DeviceKind::Dimmer,
                o.device.id,
            );
            let fresh = !seen.contains(&key);
            seen.push(key);
            fresh
        });
        Order::Devices(list)
    })
}

/// Raw blocks with any bits, including both bits of a pair in one scene.
fn raw_scene() -> impl Strategy<Value = Command> {
    prop::collection::vec((605u64..=622, 1u8..=255), 1..5).prop_map(|cells| {
        let mut block = Block::default();
        for (k, bits) in cells {
            block.set_bits(
                essensys_core::Index::new(k as u16).expect("block index"),
                bits,
            );
        }
        Command::Scene(block)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Every device order becomes a scene with exactly one 590 (= 1) and each of 605–622 once.
    #[test]
    fn mode_b_always_carries_590_and_the_whole_block(order in devices_order()) {
        let commands = order.commands().expect("valid order");
        prop_assert_eq!(commands.len(), 1);
        let params = commands[0].params();
        prop_assert_eq!(params.iter().filter(|p| p.index.get() == 590).count(), 1);
        prop_assert!(params.iter().any(|p| p.index.get() == 590 && p.value.get() == 1));
        let mut block: Vec<u16> = params.iter().map(|p| p.index.get()).filter(|&i| i != 590).collect();
        block.sort_unstable();
        prop_assert_eq!(block, (605..=622).collect::<Vec<_>>());
    }

    /// The merge law: queueing scenes one by one (merging where allowed) and running the queue
    /// leaves every lamp and shutter as running the original scenes one by one would.
    #[test]
    fn merging_never_changes_the_outcome(
        scenes in prop::collection::vec(prop_oneof![devices_order().prop_map(|o| o.commands().expect("valid")[0].clone()), raw_scene()], 1..12),
        sent_after in prop::collection::vec(any::<bool>(), 12),
    ) {
        let mut queue: Vec<Queued> = Vec::new();
        let mut executed: Vec<Command> = Vec::new();
        for (n, scene) in scenes.iter().enumerate() {
            merge::enqueue(&mut queue, scene.clone(), Guid::from_random(n as u128 + 1));
            // sometimes the box polls: everything queued so far is sent, run and acked
            if sent_after[n] {
                for entry in &mut queue { entry.sent = true; }
                executed.extend(queue.drain(..).map(|q| q.action.command));
            }
        }
        executed.extend(queue.into_iter().map(|q| q.action.command));
        prop_assert!(executed.len() <= scenes.len());
        prop_assert_eq!(run_all(&executed), run_all(&scenes));
    }

    /// Plain writes are chunked into actions of at most 30 params, every param kept once, in order.
    #[test]
    fn chunking_keeps_every_param_once_in_order(indices in prop::collection::btree_set(13u64..=300, 1..120)) {
        let cells: Vec<RawCell> = indices.iter().map(|&k| RawCell { k, v: (k % 256).to_string() }).collect();
        let commands = Order::Cells(cells).commands().expect("valid writes");
        prop_assert!(commands.iter().all(|c| c.param_count() <= 30 && matches!(c, Command::Write(_))));
        let out: Vec<Param> = commands.iter().flat_map(Command::params).collect();
        let got: Vec<u64> = out.iter().map(|p| u64::from(p.index.get())).collect();
        prop_assert_eq!(got, indices.into_iter().collect::<Vec<_>>());
        prop_assert!(out.iter().all(|p| u64::from(p.value.get()) == u64::from(p.index.get()) % 256));
    }

    /// Any raw cells give either commands the box accepts, or a refusal — never an invalid action.
    #[test]
    fn raw_orders_never_produce_invalid_actions(cells in prop::collection::vec((0u64..1200, "[0-9]{1,4}|[a-z]{0,3}"), 0..40)) {
        let order = Order::Cells(cells.into_iter().map(|(k, v)| RawCell { k, v }).collect());
        if let Ok(commands) = order.commands() {
            prop_assert!(!commands.is_empty());
            for command in &commands {
                let params = command.params();
                prop_assert!(!params.is_empty() && params.len() <= 30);
                prop_assert!(params.iter().all(|p| p.index.get() < 953 && p.index.info().access.writable() && essensys_core::catalog::protection(p.index).is_none()));
                prop_assert_eq!(Command::from_params(&params), Ok(command.clone()));
            }
        }
    }
}
