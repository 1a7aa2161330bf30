//! From the policy's decision to the recorded request: precedence step 7 (approval grants, and opening or
//! joining an approval: `approval`), step 8 (rate limits: `limits`), and the one write that records the
//! request with its idempotency claim, approval step and limit charges. A write that finds the world
//! changed (a concurrent request took the grant or opened the approval, a counter filled, a replay was
//! re-decided elsewhere) writes nothing and is decided again, within one retry budget (`budget`).
//! Domain logic only: no HTTP, any [`Store`].

mod approval;
mod budget;
mod limits;

use std::ops::ControlFlow;

use time::OffsetDateTime;
use ulid::Ulid;

pub use budget::{Budget, RECORD_TIMEOUT, RETRY_WINDOW, ROUNDS};

use crate::approval::GrantPath;
use crate::identity::Identity;
use crate::normalize::Target;
use crate::policy::{CompiledPolicy, Decision, Effect};
use crate::request::{rfc3339_millis, RequestRecord};
use crate::store::{IdempotencyClaim, LimitCharge, RecordOutcome, Store, StoreError, Write};

/// Who asked for what, as the record states it.
pub struct Asked<'a> {
    /// The authenticated caller (never taken from the body).
    pub principal: &'a str,
    /// What the authorizer said about the caller.
    pub identity: &'a Identity,
    /// The zone the request is decided in.
    pub zone: &'a str,
    /// The normalized target the decision is about.
    pub target: &'a Target,
    /// The caller's stated purpose, as given in the body.
    pub purpose: Option<&'a str>,
    /// A fingerprint of the URL's tail (path, query, fragment), for approvals a credential asked for.
    pub tail_fingerprint: Option<&'a str>,
    /// The URL's path as written, or a tunnel (a grant covers exactly that, with the normalized path).
    pub path: GrantPath<'a>,
}

/// How the request was answered.
pub enum Recorded {
    /// A new request (`replaces` names the original when a replay was re-decided).
    Created(RequestRecord),
    /// An idempotent replay whose decision still holds: the original, as first answered.
    Replayed(RequestRecord),
    /// The idempotency key was used before with a different body: nothing was written.
    KeyConflict,
    /// Every round lost a race, or the budget ran out: nothing was written.
    Busy,
}

/// What a lost round learned, for the next.
#[derive(Default)]
struct Learned {
    /// A replay re-decided: the original the new record replaces.
    supersedes: Option<String>,
    /// A limit found full: its id and when its window ends.
    limited: Option<(String, u32)>,
}

/// Records the request `base` decided (steps 1-6), applying steps 7 and 8 on the way, within `budget`.
pub async fn record_request(
    store: &dyn Store,
    policy: Option<&CompiledPolicy>,
    base: &Decision,
    asked: &Asked<'_>,
    claim: Option<&IdempotencyClaim>,
    budget: Budget,
) -> Result<Recorded, StoreError> {
    let mut learned = Learned::default();
    for round in 0..ROUNDS {
        if round > 0 && !budget.may_retry() {
            break;
        }
        match record_round(store, policy, base, asked, claim, budget, learned).await? {
            ControlFlow::Break(recorded) => return Ok(recorded),
            ControlFlow::Continue(next) => learned = next,
        }
    }
    Ok(Recorded::Busy)
}

/// One round: decide steps 7 and 8 against what the store holds now, then the one write. Breaks with the
/// answer, or continues with what the lost race taught.
async fn record_round(
    store: &dyn Store,
    policy: Option<&CompiledPolicy>,
    base: &Decision,
    asked: &Asked<'_>,
    claim: Option<&IdempotencyClaim>,
    budget: Budget,
    learned: Learned,
) -> Result<ControlFlow<Recorded, Learned>, StoreError> {
    let now = OffsetDateTime::now_utc();
    let (mut decision, mut step, opening) = approval::apply(store, base.clone(), asked, now).await?;
    // Step 8: an allow spends its limits' budgets; one already found full denies.
    let specs = match (policy, decision.effective()) {
        (Some(p), Effect::Allow) => limits::limit_specs(p, asked, now.unix_timestamp()),
        _ => Vec::new(),
    };
    if let Some((limit_id, retry)) = &learned.limited {
        decision = decision.rate_limited(limit_id.clone(), *retry);
        if decision.effective() != Effect::Allow {
            step = None; // a denied request uses no grant
        }
    }
    let charges: Vec<LimitCharge> = match &learned.limited {
        None => specs.iter().map(|s| s.charge.clone()).collect(),
        Some(_) => Vec::new(),
    };
    let mut record = RequestRecord::new(
        Ulid::new(),
        asked.principal.to_owned(),
        asked.identity.clone(),
        asked.zone.to_owned(),
        asked.target.clone(),
        asked.purpose.map(str::to_owned),
        &decision,
    );
    record.replaces = learned.supersedes.clone();
    record.tunnel = asked.path == GrantPath::Tunnel;
    if let Some(opening) = opening {
        step = Some(approval::open(opening, &record, asked, policy));
    }
    let write = Write {
        record: &record,
        claim,
        supersedes: learned.supersedes.as_deref(),
        approval: step.as_ref(),
        charges: &charges,
        retry_until: Some(budget.retry_until()),
    };
    Ok(match store.write(&write).await? {
        RecordOutcome::Created => ControlFlow::Break(Recorded::Created(record)),
        RecordOutcome::KeyConflict => ControlFlow::Break(Recorded::KeyConflict),
        RecordOutcome::Replayed(original) if original.decision == record.decision => {
            // The audit trail counts the replay on the original; the answer is the original as first given.
            store.note_replay(&original.request_id, &rfc3339_millis(now)).await?;
            ControlFlow::Break(Recorded::Replayed(*original))
        }
        RecordOutcome::Replayed(original) => {
            // A replay answers the original only while the current policy still gives its decision;
            // otherwise the new decision is recorded, naming the original, and the key moves to it.
            tracing::info!(
                original = %original.request_id,
                was = original.decision.as_str(),
                now = record.decision.as_str(),
                "idempotent replay re-decided"
            );
            ControlFlow::Continue(Learned {
                supersedes: Some(original.request_id),
                ..learned
            })
        }
        RecordOutcome::ApprovalChanged => ControlFlow::Continue(learned),
        RecordOutcome::LimitReached(i) => {
            let spec = specs
                .get(i)
                .ok_or_else(|| StoreError::Corrupt("unknown limit charge".into()))?;
            ControlFlow::Continue(Learned {
                limited: Some((spec.id.clone(), spec.retry_after_seconds)),
                ..learned
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::approval::ApprovalSlot;
    use crate::policy::{DefaultEffect, Mode, Verdict};
    use crate::store::{
        ApprovalPage, ApprovalQuery, ApprovalStore, DecideOutcome, DecisionWrite, ListPage, ListQuery, MemoryStore,
        RequestStore, StoredApproval,
    };

    /// A store on which every write loses its race (a concurrent writer changed the approval slot).
    #[derive(Default)]
    struct LosingStore {
        inner: MemoryStore,
        writes: AtomicUsize,
    }

    #[async_trait]
    impl RequestStore for LosingStore {
        async fn write(&self, _: &Write<'_>) -> Result<RecordOutcome, StoreError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Ok(RecordOutcome::ApprovalChanged)
        }
        async fn note_replay(&self, request_id: &str, at: &str) -> Result<(), StoreError> {
            self.inner.note_replay(request_id, at).await
        }
        async fn get(&self, request_id: &str) -> Result<Option<RequestRecord>, StoreError> {
            self.inner.get(request_id).await
        }
        async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
            self.inner.list(query).await
        }
        async fn approval_slot(&self, key: &str) -> Result<Option<ApprovalSlot>, StoreError> {
            self.inner.approval_slot(key).await
        }
    }

    #[async_trait]
    impl ApprovalStore for LosingStore {
        async fn get_approval(&self, approval_id: &str) -> Result<Option<StoredApproval>, StoreError> {
            self.inner.get_approval(approval_id).await
        }
        async fn decide_approval(&self, decision: &DecisionWrite) -> Result<DecideOutcome, StoreError> {
            self.inner.decide_approval(decision).await
        }
        async fn list_approvals(&self, query: &ApprovalQuery) -> Result<ApprovalPage, StoreError> {
            self.inner.list_approvals(query).await
        }
    }

    async fn record_with(store: &LosingStore, budget: Budget) -> Recorded {
        let target = Target::from_domain("example.com").unwrap();
        let identity = Identity::dev();
        let asked = Asked {
            principal: "agent",
            identity: &identity,
            zone: "default",
            target: &target,
            purpose: None,
            tail_fingerprint: None,
            path: GrantPath::Written(None),
        };
        let decision = Decision::new(Verdict::Default(DefaultEffect::Allow), Mode::Enforce, None);
        record_request(store, None, &decision, &asked, None, budget)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn lost_races_are_retried_for_at_most_the_rounds_of_the_budget() {
        let store = LosingStore::default();
        assert!(matches!(record_with(&store, Budget::start()).await, Recorded::Busy));
        assert_eq!(store.writes.load(Ordering::SeqCst), ROUNDS);
    }

    #[tokio::test]
    async fn no_round_starts_once_the_budget_is_spent() {
        let store = LosingStore::default();
        assert!(matches!(
            record_with(&store, Budget::with_window(Duration::ZERO)).await,
            Recorded::Busy
        ));
        assert_eq!(store.writes.load(Ordering::SeqCst), 1, "the first round only");
    }
}
