//! The gateway's use cases on the in-memory adapters: the storage ports' contract
//! (`essensys_testkit::contract`), each law on fresh adapters.

use std::sync::Arc;

use essensys_core::gateway::GatewayConfig;
use essensys_memory::{MemoryQueue, MemoryStore};
use essensys_testkit::contract::{self, Fixture};

/// A gateway with `config` on a fresh store and queue.
fn memory(config: GatewayConfig) -> Fixture {
    Fixture::new(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryQueue::new()),
        config,
    )
}

#[tokio::test]
async fn orders_wait_for_a_box_and_pick_the_only_one() {
    contract::orders_wait_for_a_box_and_pick_the_only_one(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn refused_orders_queue_nothing_and_say_why() {
    contract::refused_orders_queue_nothing_and_say_why(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn actions_are_delivered_whole_until_acked() {
    contract::actions_are_delivered_whole_until_acked(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn compatible_orders_merge_until_sent() {
    contract::compatible_orders_merge_until_sent(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn each_box_has_its_own_queue() {
    contract::each_box_has_its_own_queue(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn status_reports_store_what_they_can() {
    contract::status_reports_store_what_they_can(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn changes_carry_the_old_value_and_history_is_bounded() {
    contract::changes_carry_the_old_value_and_history_is_bounded(&memory(GatewayConfig::default()))
        .await;
}

#[tokio::test]
async fn serverinfos_rotates_through_the_watch_list() {
    contract::serverinfos_rotates_through_the_watch_list(&memory(contract::watch_list_config()))
        .await;
}

#[tokio::test]
async fn acked_scenes_record_device_states() {
    contract::acked_scenes_record_device_states(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn alarm_orders_ride_in_de67f_and_are_acked() {
    contract::alarm_orders_ride_in_de67f_and_are_acked(&memory(contract::keyed_config())).await;
}

#[tokio::test]
async fn a_full_queue_refuses_orders_and_keeps_what_it_has() {
    contract::a_full_queue_refuses_orders_and_keeps_what_it_has(&memory(
        contract::small_queue_config(),
    ))
    .await;
}

#[tokio::test]
async fn the_first_matricule_pins_its_box() {
    contract::the_first_matricule_pins_its_box(&memory(GatewayConfig::default())).await;
}

#[tokio::test]
async fn silent_idle_boxes_are_forgotten() {
    contract::silent_idle_boxes_are_forgotten(&memory(GatewayConfig::default())).await;
}
