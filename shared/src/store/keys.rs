//! The table's item layout: keys, index shards and the stored shapes of request and idempotency items, and
//! how a page is cut from what each shard read. Shared by both stores, so they cannot drift apart.

use serde::{Deserialize, Serialize};

use super::{IdempotencyClaim, Page, RecordOutcome, StoreError};
use crate::{
    approval::{ApprovalRecord, ApprovalSlot, ApprovalState},
    request::RequestRecord,
};

/// Write shards of each index: 10,000 writes/s spread over 16 keys is 625 WCU/s per key, under the
/// 1,000 WCU/s a single partition accepts (arithmetic in docs/ACCESS_PATTERNS.md).
pub const INDEX_SHARDS: u8 = 16;
/// The index of requests by time (`T#<shard>`) and approvals by zone (`A#<zone>`), newest first.
pub const INDEX_BY_TIME: &str = "by_time";
/// The index of requests (`P#<shard>#<principal>`) and approvals (`A#<principal>`) by principal.
pub const INDEX_BY_PRINCIPAL: &str = "by_principal";
/// The sparse index of pending approvals per zone: an approver's queue is one Query.
pub const INDEX_BY_PENDING: &str = "by_pending";
/// The `kind` value of a request row (`REQ#<request_id>`).
pub const KIND_REQUEST: &str = "request";
/// The `kind` value of an idempotency claim (`IDEM#<key hash>`).
pub const KIND_IDEMPOTENCY: &str = "idempotency";
/// The `kind` value of an approval row (`APR#<approval_id>`).
pub const KIND_APPROVAL: &str = "approval";
/// The `kind` value of an approval slot (`AKEY#<approval key>`).
pub const KIND_APPROVAL_SLOT: &str = "approval_slot";
/// The `kind` value of a rate-limit counter (`RL#<counter key>`).
pub const KIND_RATE_COUNTER: &str = "rate_counter";

/// The keys of an item that the `by_time` and `by_principal` indexes list: its own key and kind, and the
/// two index keys, both sorted by the item's id (a ULID, so newest last).
#[derive(Debug, Serialize, Deserialize)]
pub struct ListedKeys {
    /// Partition key of the item itself.
    pub pk: String,
    /// Sort key of the item itself (a constant per kind).
    pub sk: String,
    /// Which kind of item this is (`KIND_*`).
    pub kind: String,
    /// Partition key in the `by_time` index.
    pub time_pk: String,
    /// Sort key in the `by_time` index: the item's id.
    pub time_sk: String,
    /// Partition key in the `by_principal` index.
    pub principal_pk: String,
    /// Sort key in the `by_principal` index: the item's id.
    pub principal_sk: String,
}

impl ListedKeys {
    fn new(pk: String, sk: &str, kind: &str, id: &str, time_pk: String, principal_pk: String) -> Self {
        Self {
            pk,
            sk: sk.into(),
            kind: kind.into(),
            time_pk,
            time_sk: id.into(),
            principal_pk,
            principal_sk: id.into(),
        }
    }
}

/// The request item as stored: the record plus its keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct RequestItem {
    /// Its own and its index keys.
    #[serde(flatten)]
    pub keys: ListedKeys,
    /// The request record, as answered by the API.
    #[serde(flatten)]
    pub record: RequestRecord,
    /// When DynamoDB's TTL may delete the row (epoch seconds; the table's TTL attribute): set only under a
    /// retention (`RequestRetentionDays`), else the row is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl RequestItem {
    /// The row of `record`, kept until deleted by hand; `expiring` gives it a TTL.
    pub fn new(record: RequestRecord) -> Self {
        let id = &record.request_id;
        let shard = shard_of(id);
        Self {
            keys: ListedKeys::new(
                request_pk(id),
                "REQ",
                KIND_REQUEST,
                id,
                time_pk(shard),
                principal_pk(shard, &record.principal),
            ),
            record,
            expires_at: None,
        }
    }

    /// The same row, deleted by DynamoDB's TTL after `at` (epoch seconds) when given.
    pub fn expiring(self, at: Option<i64>) -> Self {
        Self { expires_at: at, ..self }
    }
}

/// An idempotency claim as stored: which request holds a principal's key, and for which body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyItem {
    /// `IDEM#<key hash>`: the hash scopes the key to its principal.
    pub pk: String,
    /// Always `IDEM`.
    pub sk: String,
    /// Always [`KIND_IDEMPOTENCY`].
    pub kind: String,
    /// The request that holds the claim (a superseding replay moves it).
    pub request_id: String,
    /// SHA-256 (hex) of the canonical body: a different body under the same key conflicts.
    pub body_hash: String,
    /// The resource as first answered, so a replay needs no second read.
    pub response: String,
    /// Unix seconds after which the claim is free again (the TTL attribute).
    pub expires_at: i64,
}

impl IdempotencyItem {
    /// The claim of `claim`'s key for `record`, answering it as first given.
    pub(crate) fn claiming(record: &RequestRecord, claim: &IdempotencyClaim) -> Result<Self, StoreError> {
        Ok(Self {
            pk: format!("IDEM#{}", claim.key_hash),
            sk: "IDEM".into(),
            kind: KIND_IDEMPOTENCY.into(),
            request_id: record.request_id.clone(),
            body_hash: claim.body_hash.clone(),
            response: serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            expires_at: claim.expires_at,
        })
    }

    /// What a claim that found this live item gets: the original resource (same body) or a key conflict.
    pub(crate) fn answer(&self, claim: &IdempotencyClaim) -> Result<RecordOutcome, StoreError> {
        if self.body_hash != claim.body_hash {
            return Ok(RecordOutcome::KeyConflict);
        }
        let original: RequestRecord =
            serde_json::from_str(&self.response).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(RecordOutcome::Replayed(Box::new(original)))
    }
}

/// The approval item as stored: the resource plus its keys. `by_time` and `by_principal` list approvals
/// under their own partition keys (`A#<zone>`, `A#<principal>`: never mixed with requests); the
/// `by_pending` keys exist only while the approval is pending (a sparse index).
#[derive(Debug, Serialize, Deserialize)]
pub struct ApprovalItem {
    /// Its own keys and its `by_time` (zone) and `by_principal` index keys.
    #[serde(flatten)]
    pub keys: ListedKeys,
    /// `by_pending` partition key (`PA#<zone>`), only while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_pk: Option<String>,
    /// `by_pending` sort key (the approval id), only while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_sk: Option<String>,
    /// The approval key (see `approval_key`): the slot a decision updates. Internal, never answered.
    pub approval_key: String,
    /// The approval resource, as answered by the API.
    #[serde(flatten)]
    pub approval: ApprovalRecord,
}

impl ApprovalItem {
    /// The row of `approval` under `approval_key`, in the pending index only if it is pending.
    pub fn new(approval: ApprovalRecord, approval_key: String) -> Self {
        let pending = approval.state == ApprovalState::Pending;
        let id = &approval.approval_id;
        Self {
            keys: ListedKeys::new(
                approval_pk(id),
                "APR",
                KIND_APPROVAL,
                id,
                approvals_of_zone(&approval.zone),
                approvals_of_principal(&approval.principal),
            ),
            pending_pk: pending.then(|| pending_in_zone(&approval.zone)),
            pending_sk: pending.then(|| approval.approval_id.clone()),
            approval_key,
            approval,
        }
    }
}

/// The approval slot of a key as stored; `expires_at` is the table's TTL attribute.
#[derive(Debug, Serialize, Deserialize)]
pub struct SlotItem {
    /// `AKEY#<approval key>`.
    pub pk: String,
    /// Always `AKEY`.
    pub sk: String,
    /// Always [`KIND_APPROVAL_SLOT`].
    pub kind: String,
    /// The slot itself.
    #[serde(flatten)]
    pub slot: ApprovalSlot,
}

impl SlotItem {
    /// The slot item of approval key `key`.
    pub fn new(key: &str, slot: ApprovalSlot) -> Self {
        Self {
            pk: slot_pk(key),
            sk: "AKEY".into(),
            kind: KIND_APPROVAL_SLOT.into(),
            slot,
        }
    }
}

/// Partition key of an approval row: `APR#<approval_id>`.
pub fn approval_pk(approval_id: &str) -> String {
    format!("APR#{approval_id}")
}
/// Partition key of an approval key's slot: `AKEY#<key>`.
pub fn slot_pk(key: &str) -> String {
    format!("AKEY#{key}")
}
/// Partition key of a rate-limit counter: `RL#<key>` (the key names limit, scope and window).
pub fn counter_pk(key: &str) -> String {
    format!("RL#{key}")
}
/// `by_time` partition of a zone's approvals: `A#<zone>`.
pub fn approvals_of_zone(zone: &str) -> String {
    format!("A#{zone}")
}
/// `by_principal` partition of a principal's approvals: `A#<principal>`.
pub fn approvals_of_principal(principal: &str) -> String {
    format!("A#{principal}")
}
/// `by_pending` partition of a zone's pending approvals: `PA#<zone>`.
pub fn pending_in_zone(zone: &str) -> String {
    format!("PA#{zone}")
}

/// Partition key of a request row: `REQ#<request_id>`.
pub fn request_pk(request_id: &str) -> String {
    format!("REQ#{request_id}")
}
/// `by_time` partition of one request shard: `T#<shard, two digits>`.
pub fn time_pk(shard: u8) -> String {
    format!("T#{shard:02}")
}
/// `by_principal` partition of one principal's request shard: `P#<shard>#<principal>`.
pub fn principal_pk(shard: u8, principal: &str) -> String {
    format!("P#{shard:02}#{principal}")
}

/// Spreads writes over the index shards using the ULID's 80 random bits (uniform by construction). Not the
/// last character's byte: Crockford base32 leaves some byte values unused, which would skew the shards.
pub fn shard_of(request_id: &str) -> u8 {
    let random = ulid::Ulid::from_string(request_id).map(|u| u.random()).unwrap_or(0);
    (random % u128::from(INDEX_SHARDS)) as u8
}

/// What one shard's Query read: its matches, and how far down it got when it stopped before the end.
pub(super) struct ShardRead<T = RequestRecord> {
    pub items: Vec<T>,
    /// The index sort key (an id) of the last item the Query evaluated, if the partition has more.
    pub stopped_at: Option<String>,
}

/// Something a page lists, newest first by its ULID.
pub(super) trait Listed {
    fn id(&self) -> &str;
}

impl Listed for RequestRecord {
    fn id(&self) -> &str {
        &self.request_id
    }
}

impl Listed for ApprovalRecord {
    fn id(&self) -> &str {
        &self.approval_id
    }
}

/// The newest `limit` items at or above `frontier` (ids are unique, so the item at the frontier is the
/// stopping shard's own, already read), and where the next page starts.
pub(super) fn merge_page<T: Listed>(mut all: Vec<T>, frontier: Option<String>, limit: usize) -> Page<T> {
    if let Some(f) = &frontier {
        all.retain(|r| r.id() >= f.as_str());
    }
    all.sort_by(|a, b| b.id().cmp(a.id()));
    // Partitions may overlap (an approver's zone and their own requests): each item once.
    all.dedup_by(|a, b| a.id() == b.id());
    if all.len() > limit {
        all.truncate(limit);
        let next_before = all.last().map(|r| r.id().to_owned());
        return Page {
            items: all,
            next_before,
        };
    }
    Page {
        items: all,
        next_before: frontier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(ids: &[&str]) -> Vec<RequestRecord> {
        let target = crate::normalize::Target::from_url("https://example.com/").unwrap();
        let decision = crate::policy::Decision::policy_unavailable();
        ids.iter()
            .map(|id| {
                let mut r = RequestRecord::new(
                    ulid::Ulid::nil(),
                    "p".into(),
                    crate::identity::Identity::dev(),
                    "z".into(),
                    target.clone(),
                    None,
                    &decision,
                );
                r.request_id = (*id).to_owned();
                r
            })
            .collect()
    }

    fn ids(page: &super::super::ListPage) -> Vec<&str> {
        page.items.iter().map(|r| r.request_id.as_str()).collect()
    }

    #[test]
    fn a_page_stops_where_a_shard_stopped_early() {
        // Shard A read 09, 07, 05 and stopped; shard B read 08, 04, 02 and was done. Below 05, A has unread
        // items that may be newer than 04: the page ends at 05 and the next one starts below it.
        let page = merge_page(records(&["09", "07", "05", "08", "04", "02"]), Some("05".into()), 10);
        assert_eq!(ids(&page), ["09", "08", "07", "05"]);
        assert_eq!(page.next_before.as_deref(), Some("05"));
    }

    #[test]
    fn a_full_page_continues_below_its_last_item_and_a_done_one_ends() {
        let page = merge_page(records(&["09", "07", "05", "08"]), Some("05".into()), 2);
        assert_eq!(ids(&page), ["09", "08"]);
        assert_eq!(page.next_before.as_deref(), Some("08"));
        let last = merge_page(records(&["03", "01"]), None, 2);
        assert_eq!(ids(&last), ["03", "01"]);
        assert_eq!(last.next_before, None);
    }

    #[test]
    fn a_filter_that_matched_nothing_still_moves_the_cursor() {
        let page = merge_page(Vec::<RequestRecord>::new(), Some("05".into()), 50);
        assert!(page.items.is_empty());
        assert_eq!(page.next_before.as_deref(), Some("05"));
    }

    #[test]
    fn shards_are_even() {
        let mut counts = [0u32; INDEX_SHARDS as usize];
        for _ in 0..64_000 {
            counts[usize::from(shard_of(&ulid::Ulid::new().to_string()))] += 1;
        }
        // 4,000 expected per shard; a skewed shard function would leave some near 0 or 6,000.
        assert!(counts.iter().all(|c| (3_600..=4_400).contains(c)), "{counts:?}");
    }
}
