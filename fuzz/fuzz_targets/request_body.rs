//! The POST body parser on arbitrary bytes: never panics, and whatever it accepts is a consistent request
//! (exactly one of url/domain, a valid zone, a bounded purpose, a target that re-normalizes to itself).
#![no_main]

use egress_core::{parse_body, MAX_PURPOSE_CHARS};
use egress_core::Target;
use egress_core::valid_zone_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(valid) = parse_body(data) else { return };
    let b = &valid.body;
    assert!(b.url.is_some() != b.domain.is_some(), "exactly one of url or domain");
    assert!(valid_zone_name(&b.zone));
    assert!(b.purpose.as_ref().is_none_or(|p| p.chars().count() <= MAX_PURPOSE_CHARS));
    let again = match (&b.url, &b.domain) {
        (Some(u), _) => Target::from_url(u),
        (_, Some(d)) => Target::from_domain(d),
        _ => unreachable!(),
    };
    assert_eq!(again.as_ref(), Ok(&valid.target), "parsing is deterministic");
    assert_eq!(Target::from_url(&valid.target.to_string()).as_ref(), Ok(&valid.target));
    // The canonical body used for idempotency round-trips.
    let canonical = serde_json::to_vec(b).expect("serializes");
    assert_eq!(parse_body(&canonical).map(|v| v.body), Ok(b.clone()));
});
