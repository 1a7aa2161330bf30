//! Every event the outbox emits, for every decision and reason, validates against the checked-in schema of
//! its detail-type (infra/events/, draft-04 as the EventBridge registry reads it), and the checked-in
//! files, the registry's nested template (infra/events/schemas.yaml) included, are exactly what the types
//! generate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::collections::BTreeSet;
use std::path::PathBuf;

use egress_core::{
    approval_event, authorize_egress, detail_schema, events_for, render_schema, schemas_template, ApprovalRecord,
    ApprovalState, CompiledPolicy, Decision, Grant, GrantScope, Identity, Reason, RequestRecord, Target, DETAIL_TYPES,
    SOURCE,
};
use serde_json::Value;
use ulid::Ulid;

fn schema_file(detail_type: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/events/{detail_type}.schema.json"))
}

#[test]
fn checked_in_schemas_are_the_generated_ones() {
    for (detail_type, _) in DETAIL_TYPES {
        let generated = render_schema(&detail_schema(detail_type).unwrap());
        let file = std::fs::read_to_string(schema_file(detail_type)).unwrap();
        assert_eq!(
            file, generated,
            "{detail_type}: run `cargo run -p egress-core --bin egress-schemas`"
        );
        // Draft-04 has no `const`, `$defs` or `$ref` to definitions the registry cannot resolve.
        for keyword in ["\"const\"", "\"$defs\"", "\"$ref\"", "\"definitions\""] {
            assert!(!file.contains(keyword), "{detail_type} uses {keyword}");
        }
    }
}

#[test]
fn the_registry_template_is_generated_and_registers_every_file() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/events/schemas.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text,
        schemas_template(),
        "run `cargo run -p egress-core --bin egress-schemas`"
    );
    // What CloudFormation will read: one schema per detail-type, in the registry, with the file's content.
    let template: Value = serde_norway::from_str(&text).unwrap();
    let resources = template["Resources"].as_object().unwrap();
    let registries: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::EventSchemas::Registry")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(registries, ["EgressSchemaRegistry"]);
    let registry = &resources["EgressSchemaRegistry"]["Properties"];
    assert_eq!(registry["RegistryName"], serde_json::json!({"Ref": "RegistryName"}));
    assert!(template["Parameters"]["RegistryName"].is_object());
    let schemas: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::EventSchemas::Schema")
        .map(|r| &r["Properties"])
        .collect();
    assert_eq!(schemas.len(), DETAIL_TYPES.len());
    for (detail_type, _) in DETAIL_TYPES {
        let name = format!("{SOURCE}@{detail_type}");
        let schema = schemas
            .iter()
            .find(|s| s["SchemaName"] == name.as_str())
            .unwrap_or_else(|| panic!("no schema {name}"));
        assert_eq!(schema["Type"], "JSONSchemaDraft4");
        assert_eq!(
            schema["RegistryName"],
            serde_json::json!({"Fn::GetAtt": ["EgressSchemaRegistry", "RegistryName"]})
        );
        let file = std::fs::read_to_string(schema_file(detail_type)).unwrap();
        assert_eq!(schema["Content"], file.as_str(), "{detail_type}");
    }
    for output in ["RegistryName", "RegistryArn"] {
        assert!(template["Outputs"][output]["Value"].is_object(), "{output}");
    }
}

const POLICY: &str = r#"
zones:
  open:
    members: ["*"]
    default: allow
    rules:
      - {id: deny-evil, effect: deny, hosts: [evil.example.com]}
      - {id: ask-paste, effect: require_approval, hosts: [paste.example.com]}
      - {id: ok-api, effect: allow, hosts: [api.example.com]}
  closed:
    members: ["*"]
    default: deny
  asking:
    members: ["*"]
    default: require_approval
  watched:
    members: ["*"]
    default: deny
    mode: shadow
  private:
    members: ["arn:aws:iam::123456789012:role/agent-*"]
"#;

fn decisions() -> Vec<Decision> {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    let killed = CompiledPolicy::from_yaml(&format!("kill_switch: {{engaged: true}}\n{POLICY}")).unwrap();
    let t = |u: &str| Target::from_url(u).unwrap();
    let mut out = vec![Decision::policy_unavailable()];
    for (zone, url) in [
        ("open", "https://evil.example.com/"),
        ("open", "https://paste.example.com/"),
        ("open", "https://api.example.com/"),
        ("open", "https://other.example.com/"),
        ("open", "http://169.254.169.254/latest"),
        ("closed", "https://other.example.com/"),
        ("asking", "https://other.example.com/"),
        ("watched", "https://other.example.com/"),
        ("private", "https://api.example.com/"),
        ("nowhere", "https://api.example.com/"),
    ] {
        out.push(authorize_egress(&policy, "alice", zone, &t(url)));
    }
    out.push(authorize_egress(
        &killed,
        "alice",
        "open",
        &t("https://api.example.com/"),
    ));
    // A credential in the query: step 4.
    let (target, tail) =
        Target::parse_url("https://api.example.com/x?access_token=ghp_0123456789abcdefghijABCDEFGHIJ012345").unwrap();
    out.push(authorize_egress(&policy, "alice", "open", (&target, &tail)));
    // Steps 7 and 8, which the create path applies on top.
    let asking = authorize_egress(&policy, "alice", "asking", &t("https://other.example.com/"));
    out.push(asking.clone().awaiting(Ulid::new().to_string()));
    out.push(asking.granted(Ulid::new().to_string()));
    let allowed = authorize_egress(&policy, "alice", "open", &t("https://api.example.com/"));
    out.push(allowed.rate_limited("per-agent".into(), 42));
    out
}

#[test]
fn every_emitted_event_validates_against_its_schema() {
    let validators: Vec<(&str, jsonschema::Validator)> = DETAIL_TYPES
        .iter()
        .map(|(t, _)| {
            let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_file(t)).unwrap()).unwrap();
            (*t, jsonschema::draft4::new(&schema).unwrap())
        })
        .collect();
    let mut reasons = BTreeSet::new();
    let mut types = BTreeSet::new();
    for (i, decision) in decisions().into_iter().enumerate() {
        let target = Target::from_url("https://api.example.com/v1/x").unwrap();
        let mut record = RequestRecord::new(
            Ulid::new(),
            "arn:aws:iam::123456789012:role/agent-runner".into(),
            Identity::dev(),
            "open".into(),
            target,
            Some("audit".into()),
            &decision,
        );
        if i % 2 == 0 {
            record.replaces = Some(Ulid::new().to_string());
        }
        reasons.insert(record.reason.as_str());
        for event in events_for(&record) {
            types.insert(event.detail_type);
            let detail = serde_json::to_value(&event.detail).unwrap();
            let (_, v) = validators.iter().find(|(t, _)| *t == event.detail_type).unwrap();
            let errors: Vec<String> = v.iter_errors(&detail).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{} {detail}: {errors:?}", event.detail_type);
        }
        // The other outcome type refuses the decision (the enums are per detail-type).
        let wrong = if record.decision == egress_core::Effect::Allow {
            "egress.blocked"
        } else {
            "egress.allowed"
        };
        let detail = serde_json::to_value(&events_for(&record)[1].detail).unwrap();
        let (_, v) = validators.iter().find(|(t, _)| *t == wrong).unwrap();
        assert!(!v.is_valid(&detail), "{wrong} accepted decision {}", record.decision);
    }
    let every_reason: BTreeSet<&str> = <Reason as strum::VariantArray>::VARIANTS
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(reasons, every_reason, "every reason was emitted and validated");
    assert_eq!(types.len(), 3, "the request events: requested, allowed, blocked");
}

#[test]
fn every_approval_event_validates_against_its_schema() {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    let target = Target::from_url("https://other.example.com/").unwrap();
    let decision = authorize_egress(&policy, "alice", "asking", &target).awaiting(Ulid::new().to_string());
    let request = RequestRecord::new(
        Ulid::new(),
        "alice".into(),
        Identity::dev(),
        "asking".into(),
        target,
        None,
        &decision,
    );
    let pending = ApprovalRecord::open(Ulid::new(), &request, 3600);
    let granted = ApprovalRecord {
        state: ApprovalState::Granted,
        decided_by: Some("approver".into()),
        decided_at: Some(pending.created_at),
        note: Some("ok".into()),
        grant: Some(Grant {
            scope: GrantScope::Once,
            expires_at: pending.expires_at,
            used_by: None,
        }),
        ..pending.clone()
    };
    let denied = ApprovalRecord {
        state: ApprovalState::Denied,
        decided_by: Some("approver".into()),
        ..pending.clone()
    };
    let expired = ApprovalRecord {
        state: ApprovalState::Expired,
        ..pending.clone()
    };
    assert!(approval_event(&pending).is_none(), "pending is no transition");
    for approval in [granted, denied, expired] {
        let event = approval_event(&approval).unwrap();
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(schema_file(event.detail_type)).unwrap()).unwrap();
        let v = jsonschema::draft4::new(&schema).unwrap();
        let detail = serde_json::to_value(&event.detail).unwrap();
        let errors: Vec<String> = v.iter_errors(&detail).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{} {detail}: {errors:?}", event.detail_type);
        assert_eq!(
            detail["event_id"],
            format!("{}/{}", approval.approval_id, event.detail_type)
        );
        for other in [
            "egress.approval.granted",
            "egress.approval.denied",
            "egress.approval.expired",
        ] {
            if other != event.detail_type {
                let s: Value = serde_json::from_str(&std::fs::read_to_string(schema_file(other)).unwrap()).unwrap();
                assert!(
                    !jsonschema::draft4::new(&s).unwrap().is_valid(&detail),
                    "{other} accepted {}",
                    event.detail_type
                );
            }
        }
    }
}
