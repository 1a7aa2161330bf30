//! The API's logic claims on the in-memory store (no services): the same suites the end-to-end tests run
//! on DynamoDB Local (`read_path`, `request_path`).

use std::sync::Arc;

use egress_core::MemoryStore;
use egress_e2e::suites;

#[tokio::test]
async fn read_path_on_the_memory_store() {
    suites::read_path(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn rejected_inputs_write_nothing_on_the_memory_store() {
    suites::rejected_inputs_write_nothing(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn idempotency_outcomes_on_the_memory_store() {
    suites::idempotency_outcomes(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn replays_are_re_decided_on_the_memory_store() {
    suites::replays_are_re_decided(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn approvals_lifecycle_on_the_memory_store() {
    suites::approvals_lifecycle(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn grants_cover_only_the_path_shown_on_the_memory_store() {
    suites::grants_cover_only_the_path_shown(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn on_behalf_of_an_agent_on_the_memory_store() {
    suites::on_behalf_of_an_agent(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn approvals_expire_on_the_memory_store() {
    suites::approvals_expire(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvals_under_concurrency_on_the_memory_store() {
    suites::approvals_under_concurrency(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_on_the_memory_store() {
    suites::rate_limits(Arc::new(MemoryStore::new())).await;
}
