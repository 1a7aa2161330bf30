//! Precedence step 8: the rate-limit charges of an allow, one per limit of the zone that covers the target,
//! in fixed windows (DESIGN §7). The write spends them all or none; a full counter denies.

use crate::digest::hex_sha256;
use crate::policy::{CompiledPolicy, LimitScope};
use crate::store::LimitCharge;

use super::Asked;

/// Counters outlive their window by this much before TTL may delete them (the key names the window).
const COUNTER_SLACK_SECONDS: i64 = 3600;

/// One limit a request falls under, for this window.
pub(super) struct LimitSpec {
    pub(super) id: String,
    pub(super) charge: LimitCharge,
    pub(super) retry_after_seconds: u32,
}

/// The charges of an allow under the zone's limits that cover the target, in the windows `now` is in.
pub(super) fn limit_specs(policy: &CompiledPolicy, asked: &Asked<'_>, now: i64) -> Vec<LimitSpec> {
    policy
        .limits_for(asked.zone, asked.target)
        .into_iter()
        .map(|l| {
            let window = i64::from(l.window_seconds);
            let start = now - now.rem_euclid(window);
            let whose = match l.per {
                LimitScope::Principal => asked.principal,
                LimitScope::Zone => "*",
            };
            let key = hex_sha256(&[
                asked.zone.as_bytes(),
                l.id.as_bytes(),
                l.per.as_str().as_bytes(),
                whose.as_bytes(),
                &start.to_be_bytes(),
            ]);
            LimitSpec {
                id: l.id.clone(),
                charge: LimitCharge {
                    key,
                    limit: l.limit,
                    expires_at: start + window + COUNTER_SLACK_SECONDS,
                },
                retry_after_seconds: u32::try_from((start + window - now).max(1)).unwrap_or(u32::MAX),
            }
        })
        .collect()
}
