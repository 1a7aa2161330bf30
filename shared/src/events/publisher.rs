//! The outbox publisher's logic: chunking events into PutEvents calls (10 entries and 256 KiB), sending
//! them in waves, retrying rejected entries, and reporting per record what was published. At least once:
//! a record is done only when all of its events were accepted.

use std::time::Duration;

use async_trait::async_trait;

use super::contract::Event;
use super::entry::{entry_size, MAX_ENTRIES_PER_PUT, MAX_PUT_BYTES};

/// Why a whole PutEvents call failed (as opposed to single entries it rejected).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The call did not go through (bus unreachable, timeout, or an entry that would not serialize).
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// Publishes up to [`MAX_ENTRIES_PER_PUT`] events; returns, per event, whether it was accepted.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// One PutEvents call with these events; `Err` when the call itself failed.
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, PublishError>;
}

/// Consecutive runs of `sizes` that PutEvents accepts in one call: at most [`MAX_ENTRIES_PER_PUT`]
/// entries and [`MAX_PUT_BYTES`] in all. Returns the end index of each chunk. Every size must fit alone.
fn chunk_ends(sizes: &[usize]) -> Vec<usize> {
    let mut ends = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        if count == MAX_ENTRIES_PER_PUT || (count > 0 && bytes + size > MAX_PUT_BYTES) {
            ends.push(i);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        ends.push(sizes.len());
    }
    ends
}

/// Retry policy for entries PutEvents reports as failed (throttling, internal errors).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per entry at most, the first included (0 counts as 1).
    pub attempts: u32,
    /// Wait before the first retry; it doubles with each further one.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(50),
        }
    }
}

/// PutEvents calls sent at once: a stream batch of 100 records (200 events) is 20 calls, sent in two waves of
/// 10 rather than one after another.
pub const PUTS_IN_FLIGHT: usize = 10;

/// Publishes the events of many stream records. Returns, for each record (by index), whether all of its
/// events were accepted. Calls go out [`PUTS_IN_FLIGHT`] at a time. Entries PutEvents rejects (throttling,
/// internal errors) are retried with backoff; a failed call (bus unreachable, timeout) ends the attempt
/// after its wave and reports the rest as unpublished, so an outage costs one call timeout, not one per
/// chunk. EventBridge does not order events anyway; on the first attempt a record's two events share a call
/// (a chunk of 10 holds whole records).
pub async fn publish_records(bus: &dyn EventBus, records: &[Vec<Event>], retry: RetryPolicy) -> Vec<bool> {
    // (record index, event, entry size) for every event still to publish, in stream order. An event
    // larger than a whole call can never be published: it is reported failed at once (its record goes
    // to the on-failure destination after the event source's retries), never sent or retried here.
    let mut pending: Vec<(usize, &Event, usize)> = Vec::new();
    let mut oversized = Vec::new();
    for (i, e) in records
        .iter()
        .enumerate()
        .flat_map(|(i, evs)| evs.iter().map(move |e| (i, e)))
    {
        match entry_size(e) {
            size if size > MAX_PUT_BYTES => {
                tracing::error!(event_id = %e.detail.event_id(), size, limit = MAX_PUT_BYTES, "event larger than PutEvents accepts; not published");
                oversized.push(i);
            }
            size => pending.push((i, e, size)),
        }
    }
    'attempts: for attempt in 0..retry.attempts.max(1) {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(retry.base_delay * 2u32.saturating_pow(attempt - 1)).await;
        }
        let mut still = Vec::new();
        let mut start = 0;
        let sizes: Vec<usize> = pending.iter().map(|p| p.2).collect();
        let chunks: Vec<&[(usize, &Event, usize)]> = chunk_ends(&sizes)
            .into_iter()
            .map(|end| {
                let chunk = &pending[start..end];
                start = end;
                chunk
            })
            .collect();
        for (w, wave) in chunks.chunks(PUTS_IN_FLIGHT).enumerate() {
            let results = futures_util::future::join_all(wave.iter().map(|chunk| async move {
                let batch: Vec<Event> = chunk.iter().map(|(_, e, _)| (*e).clone()).collect();
                bus.put(&batch).await
            }))
            .await;
            let mut call_failed = false;
            for (chunk, result) in wave.iter().zip(results) {
                match result {
                    // A result missing for an entry counts as a rejection, never as accepted.
                    Ok(accepted) => still.extend(
                        chunk
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !accepted.get(*i).copied().unwrap_or(false))
                            .map(|(_, item)| *item),
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, attempt, entries = chunk.len(), "PutEvents failed; giving the batch back");
                        call_failed = true;
                        still.extend(chunk.iter().copied());
                    }
                }
            }
            if call_failed {
                // The bus itself is unreachable: retrying here only holds the batch (and the shard) for
                // longer. Report everything unpublished now; the event source retries with backoff.
                still.extend(
                    chunks
                        .chunks(PUTS_IN_FLIGHT)
                        .skip(w + 1)
                        .flatten()
                        .flat_map(|c| c.iter().copied()),
                );
                pending = still;
                break 'attempts;
            }
        }
        pending = still;
    }
    let mut ok = vec![true; records.len()];
    for i in pending.into_iter().map(|p| p.0).chain(oversized) {
        ok[i] = false;
    }
    ok
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::{
        events::events_for,
        normalize::Target,
        policy::{Effect, Mode, Reason},
        request::RequestRecord,
    };

    /// A scripted bus: `fail_call(n)` makes call n (0-based, in start order) an error, `reject` lists
    /// event ids PutEvents reports as failed on their first try, `short` answers with one result too few.
    #[derive(Default)]
    struct ScriptedBus {
        fail_call: Option<usize>,
        reject_once: Mutex<Vec<String>>,
        short: bool,
        calls: AtomicUsize,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        accepted: Mutex<Vec<String>>,
        /// Entries per call, in call order.
        sizes: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl EventBus for ScriptedBus {
        async fn put(&self, events: &[Event]) -> Result<Vec<bool>, PublishError> {
            assert!(events.len() <= MAX_ENTRIES_PER_PUT);
            assert!(
                events.iter().map(entry_size).sum::<usize>() <= MAX_PUT_BYTES,
                "call over 256 KiB"
            );
            self.sizes.lock().unwrap().push(events.len());
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::task::yield_now().await; // let the other calls of the wave start
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if self.fail_call == Some(n) {
                return Err(PublishError::Unavailable("scripted".into()));
            }
            let mut out = Vec::new();
            for e in events {
                let mut reject = self.reject_once.lock().unwrap();
                let ok = match reject.iter().position(|id| id == e.detail.event_id()) {
                    Some(p) => {
                        reject.remove(p);
                        false
                    }
                    None => true,
                };
                if ok {
                    self.accepted.lock().unwrap().push(e.detail.event_id().to_owned());
                }
                out.push(ok);
            }
            if self.short {
                out.pop();
            }
            Ok(out)
        }
    }

    fn records(n: usize) -> Vec<Vec<Event>> {
        records_with(n, "p", "https://api.example.com/")
    }

    fn records_with(n: usize, principal: &str, url: &str) -> Vec<Vec<Event>> {
        let target = Target::from_url(url).unwrap();
        (0..n)
            .map(|i| {
                let record = RequestRecord {
                    request_id: format!("r{i:03}"),
                    principal: principal.into(),
                    identity: crate::identity::Identity::dev(),
                    zone: "default".into(),
                    target: target.clone(),
                    tunnel: false,
                    decision: Effect::Allow,
                    policy_decision: Effect::Allow,
                    mode: Mode::Enforce,
                    reason: Reason::RuleAllow,
                    rule: Some("r".into()),
                    approval_id: None,
                    policy_version: None,
                    purpose: None,
                    dlp: None,
                    rate_limit: None,
                    retry_after_seconds: None,
                    created_at: "2026-01-01T00:00:00.000Z".into(),
                    replaces: None,
                    replays: None,
                    last_replayed_at: None,
                };
                events_for(&record).to_vec()
            })
            .collect()
    }

    const FAST: RetryPolicy = RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(1),
    };

    #[tokio::test]
    async fn a_full_batch_goes_out_in_two_waves_of_ten_calls() {
        let bus = ScriptedBus::default();
        let ok = publish_records(&bus, &records(100), FAST).await;
        assert!(ok.iter().all(|o| *o));
        assert_eq!(bus.calls.load(Ordering::SeqCst), 20);
        assert_eq!(bus.max_in_flight.load(Ordering::SeqCst), PUTS_IN_FLIGHT);
        assert_eq!(bus.accepted.lock().unwrap().len(), 200);
    }

    #[tokio::test]
    async fn rejected_entries_are_retried_alone() {
        let bus = ScriptedBus {
            reject_once: Mutex::new(vec!["r007/egress.allowed".into(), "r042/egress.requested".into()]),
            ..Default::default()
        };
        let ok = publish_records(&bus, &records(50), FAST).await;
        assert!(ok.iter().all(|o| *o));
        assert_eq!(
            bus.calls.load(Ordering::SeqCst),
            10 + 1,
            "one retry call holds both rejected entries"
        );
        assert_eq!(bus.accepted.lock().unwrap().len(), 100);
    }

    #[tokio::test]
    async fn a_failed_call_gives_back_its_chunk_and_every_later_wave() {
        let bus = ScriptedBus {
            fail_call: Some(3),
            ..Default::default()
        };
        let ok = publish_records(&bus, &records(100), FAST).await;
        // Call 3 held records 15..20; the second wave (records 50..100) is never sent.
        let expected: Vec<bool> = (0..100).map(|i| !(15..20).contains(&i) && i < 50).collect();
        assert_eq!(ok, expected);
        assert_eq!(
            bus.calls.load(Ordering::SeqCst),
            PUTS_IN_FLIGHT,
            "no retry and no second wave"
        );
    }

    /// The longest principal (1 KiB of `"`, which JSON doubles) and the longest path a URL can carry
    /// (8 KiB of non-ASCII input, percent-encoded to ~24 KiB): ten events are ~275 KiB, more than one
    /// call takes.
    #[tokio::test]
    async fn calls_are_cut_by_bytes_as_well_as_by_count() {
        let principal = "\"".repeat(crate::names::MAX_PRINCIPAL_LEN);
        let url = format!(
            "https://api.example.com/{}",
            "é".repeat((crate::normalize::MAX_URL_LEN - 40) / 2)
        );
        let records = records_with(5, &principal, &url);
        let one = entry_size(&records[0][0]);
        assert!(one > 20_000 && 10 * one > MAX_PUT_BYTES, "{one}");
        let bus = ScriptedBus::default();
        let ok = publish_records(&bus, &records, FAST).await;
        assert!(ok.iter().all(|o| *o));
        assert_eq!(bus.accepted.lock().unwrap().len(), 10);
        let sizes = bus.sizes.lock().unwrap().clone();
        assert!(
            sizes.len() >= 2 && sizes.iter().all(|n| *n < MAX_ENTRIES_PER_PUT),
            "{sizes:?}"
        );
    }

    #[tokio::test]
    async fn an_event_that_can_never_fit_is_reported_not_sent() {
        let mut records = records(3);
        if let crate::events::Detail::Request(d) = &mut records[1][1].detail {
            d.principal = "p".repeat(MAX_PUT_BYTES);
        }
        let bus = ScriptedBus::default();
        let ok = publish_records(&bus, &records, FAST).await;
        assert_eq!(ok, vec![true, false, true]);
        let accepted = bus.accepted.lock().unwrap().clone();
        assert_eq!(
            accepted.len(),
            5,
            "the record's other event still goes out: {accepted:?}"
        );
        assert!(!accepted.contains(&"r001/egress.allowed".to_owned()));
        assert_eq!(bus.calls.load(Ordering::SeqCst), 1, "sent once, never retried");
    }

    #[test]
    fn chunks_hold_ten_entries_and_256_kib_at_most() {
        assert_eq!(chunk_ends(&[1; 25]), vec![10, 20, 25]);
        assert_eq!(chunk_ends(&[100_000, 100_000, 100_000]), vec![2, 3]);
        assert_eq!(chunk_ends(&[MAX_PUT_BYTES, 1]), vec![1, 2]);
        assert_eq!(chunk_ends(&[]), Vec::<usize>::new());
    }

    #[tokio::test]
    async fn a_missing_result_counts_as_rejected() {
        let bus = ScriptedBus {
            short: true,
            ..Default::default()
        };
        let ok = publish_records(&bus, &records(5), RetryPolicy { attempts: 1, ..FAST }).await;
        assert_eq!(ok, vec![true, true, true, true, false]);
    }
}
