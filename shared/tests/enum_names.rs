//! Every enum the API, the table and the events name is declared once; serde (wire) and strum (as_str,
//! parsing, Display) both derive from that declaration. These tests hold the two derivations together and
//! pin the names, which are a public contract (OpenAPI, event schemas, stored rows).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use egress_core::{
    DefaultEffect, Detector, DlpAction, Effect, IdentityKind, Mode, NormalizeError, Reason, Scheme, SpecialKind,
};
use strum::VariantArray;

fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()
}

fn agree<T>(names: &[&str])
where
    T: VariantArray + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Copy,
    &'static str: From<T>,
{
    let got: Vec<&str> = T::VARIANTS.iter().map(|v| <&'static str>::from(*v)).collect();
    assert_eq!(got, names, "{}", std::any::type_name::<T>());
    for v in T::VARIANTS {
        let name = <&'static str>::from(*v);
        assert_eq!(wire(v), name, "serde and strum disagree on {v:?}");
        let back: T = serde_json::from_value(serde_json::Value::String(name.to_owned())).unwrap();
        assert_eq!(back, *v);
    }
}

#[test]
fn serde_and_strum_give_the_same_names() {
    agree::<Effect>(&["allow", "require_approval", "deny"]);
    agree::<Mode>(&["enforce", "shadow"]);
    agree::<DefaultEffect>(&["deny", "require_approval", "allow"]);
    agree::<Reason>(&[
        "kill_switch",
        "internal_target",
        "zone_not_permitted",
        "rule_deny",
        "rule_require_approval",
        "rule_allow",
        "default_deny",
        "default_require_approval",
        "default_allow",
        "policy_unavailable",
        "dlp_secret_in_url",
        "approval_granted",
        "rate_limited",
    ]);
    agree::<DlpAction>(&["deny", "require_approval", "off"]);
    agree::<Detector>(&[
        "private_key",
        "aws_access_key_id",
        "aws_session_token",
        "github_token",
        "gitlab_token",
        "slack_token",
        "slack_webhook",
        "discord_webhook",
        "telegram_bot_token",
        "stripe_key",
        "anthropic_key",
        "openrouter_key",
        "openai_key",
        "huggingface_token",
        "google_api_key",
        "google_oauth_token",
        "azure_sas_signature",
        "jwt",
        "url_credentials",
        "credential_parameter",
    ]);
    agree::<Scheme>(&["http", "https"]);
    for k in IdentityKind::VARIANTS {
        assert_eq!(wire(k), <&'static str>::from(*k));
    }
    for k in SpecialKind::VARIANTS {
        assert_eq!(wire(k), <&'static str>::from(*k));
    }
}

#[test]
fn parsing_is_the_same_table() {
    assert_eq!("require_approval".parse::<Effect>().unwrap(), Effect::RequireApproval);
    assert!("Require_Approval".parse::<Effect>().is_err());
    assert_eq!(Scheme::parse("https"), Some(Scheme::Https));
    assert_eq!(Scheme::parse("HTTPS"), None);
    assert_eq!(Reason::DefaultAllow.to_string(), "default_allow");
}

/// The error codes as the API has always reported them (`errors[].code`).
#[test]
fn normalize_error_codes_are_stable() {
    use NormalizeError::*;
    let s = String::new;
    let cases = [
        (Empty, "empty"),
        (TooLong, "too_long"),
        (ControlOrWhitespace, "control_or_whitespace"),
        (Backslash, "backslash"),
        (InvalidUrl(s()), "invalid_url"),
        (UnsupportedScheme(s()), "unsupported_scheme"),
        (MissingAuthority, "missing_authority"),
        (Userinfo, "userinfo"),
        (EmptyHost, "empty_host"),
        (PercentEncodedHost, "percent_encoded_host"),
        (HostTooLong, "host_too_long"),
        (LabelTooLong, "label_too_long"),
        (EmptyLabel, "empty_label"),
        (InvalidHost, "invalid_host"),
        (InvalidIdn, "invalid_idn"),
        (InvalidIp, "invalid_ip"),
        (AmbiguousIpv4, "ambiguous_ipv4"),
        (AmbiguousIdn, "ambiguous_idn"),
        (InvalidPort, "invalid_port"),
        (InvalidDomain, "invalid_domain"),
    ];
    for (e, code) in cases {
        assert_eq!(e.code(), code);
    }
}

/// The OpenAPI document lists the same names (it is written by hand; this holds it to the types).
#[test]
fn openapi_enums_are_the_types() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/openapi.yaml")).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let schemas = &doc["components"]["schemas"];
    let listed = |name: &str| -> Vec<String> {
        let node = &schemas[name];
        let list = node["enum"].as_array().unwrap_or_else(|| panic!("{name} has no enum"));
        list.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    fn names<T: VariantArray + Copy>() -> Vec<String>
    where
        &'static str: From<T>,
    {
        T::VARIANTS
            .iter()
            .map(|v| <&'static str>::from(*v).to_owned())
            .collect()
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(listed("Effect")), sorted(names::<Effect>()));
    assert_eq!(listed("Reason"), names::<Reason>());
    assert_eq!(listed("Detector"), names::<Detector>());
}
