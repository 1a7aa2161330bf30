//! `authorize_egress` at 10, 1k, 10k and 100k rules, and the same decisions through Cedar (feature `cedar`).
//! Run: `make bench` (or `cargo bench -p egress-bench --features cedar --bench authorize`).

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use egress_bench::{denylist_json, denylist_targets, policy_json, policy_yaml, rules, target_hosts};
use egress_core::{authorize_egress, CompiledPolicy, Target};

const SIZES: [usize; 4] = [10, 1_000, 10_000, 100_000];

fn bench_authorize(c: &mut Criterion) {
    let mut g = c.benchmark_group("authorize_egress");
    for n in SIZES {
        decide_each(&mut g, n, &policy_yaml(&rules(n)), &target_hosts(n), "default");
    }
    g.finish();
}

/// A threat-feed deny list in a denylist zone: 10 hosts against 1,000,000, the same decisions.
fn bench_denylist(c: &mut Criterion) {
    let mut g = c.benchmark_group("denylist");
    for n in [10, 1_000_000] {
        decide_each(&mut g, n, &denylist_json(n), &denylist_targets(n), "research");
    }
    g.finish();
}

/// One decision per iteration, cycling through the 1024 `hosts` (so no single cache line wins) in `zone`
/// of the compiled `policy`.
fn decide_each(g: &mut BenchmarkGroup<'_, WallTime>, n: usize, policy: &str, hosts: &[String], zone: &str) {
    let policy = CompiledPolicy::from_yaml(policy).expect("generated policy compiles");
    let targets: Vec<Target> = hosts
        .iter()
        .map(|h| Target::from_domain(h).expect("generated host normalizes"))
        .collect();
    let mut i = 0usize;
    g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(authorize_egress(&policy, "agent", zone, &targets[i]))
        })
    });
}

/// Path rules: a decision that consults a path-constrained rule computes the path's readings. Against the
/// same host without a path rule (no readings), in the same run: a plain path, one with a few encodings,
/// and a hostile 8 KB path built to multiply readings until the cap (where it counts as read every way).
fn bench_path_readings(c: &mut Criterion) {
    let policy = CompiledPolicy::from_yaml(
        r#"
zones:
  default:
    members: ["*"]
    default: deny
    rules:
      - {id: repos, effect: allow, hosts: [api.github.com], paths: ["/repos/acme/"]}
      - {id: admin, effect: deny, hosts: [api.github.com], paths: ["/admin"]}
      - {id: plain, effect: allow, hosts: [plain.example.com]}
"#,
    )
    .expect("policy compiles");
    let hostile_unit = "/a;b/.//%2e%2e/c./%252e%252e;x/%u002e%u002e/%25252e%25252e/d%3F/%C5%BF";
    let hostile = format!("/repos/acme{}", hostile_unit.repeat(8000 / hostile_unit.len()));
    let cases = [
        (
            "no_path_rule",
            "https://plain.example.com/repos/acme/web/blob/main/README.md".to_owned(),
        ),
        (
            "plain",
            "https://api.github.com/repos/acme/web/blob/main/README.md".to_owned(),
        ),
        (
            "encoded",
            "https://api.github.com/repos/acme/%77eb/..%2Fapi/%252e%252e;v=1/Issues".to_owned(),
        ),
        ("hostile_8kb", format!("https://api.github.com{hostile}")),
        (
            "hostile_8kb_no_path_rule",
            format!("https://plain.example.com{hostile}"),
        ),
    ];
    let mut g = c.benchmark_group("path_readings");
    for (name, url) in &cases {
        let (target, tail) = Target::parse_url(url).expect("bench URL parses");
        g.bench_function(*name, |b| {
            b.iter(|| black_box(authorize_egress(&policy, "agent", "default", (&target, &tail))))
        });
    }
    g.finish();
}

/// Loading a 10k-rule policy: YAML parse alone, then parse + validate + compile (the cold-start cost).
fn bench_compile(c: &mut Criterion) {
    let yaml = policy_yaml(&rules(10_000));
    let mut g = c.benchmark_group("policy_10k_rules");
    g.sample_size(10);
    g.bench_function("yaml_parse", |b| {
        b.iter(|| black_box(serde_norway::from_str::<egress_core::PolicyDocument>(&yaml).expect("parses")))
    });
    g.bench_function("parse_and_compile", |b| {
        b.iter(|| black_box(CompiledPolicy::from_yaml(&yaml).expect("compiles")))
    });
    let json = policy_json(&rules(10_000));
    g.bench_function("json_parse_and_compile", |b| {
        b.iter(|| black_box(CompiledPolicy::from_yaml(&json).expect("compiles")))
    });
    g.finish();
}

#[cfg(feature = "cedar")]
mod cedar {
    use super::*;
    use cedar_policy::{Authorizer, Context, Entities, Entity, EntityUid, PolicySet, Request, RestrictedExpression};
    use std::collections::{HashMap, HashSet};
    use std::str::FromStr;

    fn uid(ty: &str, id: &str) -> EntityUid {
        EntityUid::from_str(&format!("{ty}::\"{id}\"")).expect("valid uid")
    }

    /// The equivalent Cedar policy: exact hosts are `resource == Host::"h"`, wildcards are
    /// `resource in Domain::"d"` with every host a child of each of its proper parent domains; deny is a
    /// `forbid`, require_approval a permit annotated `@effect("require_approval")`.
    pub fn policy_set(n: usize) -> PolicySet {
        let mut text = String::new();
        for r in rules(n) {
            let (verb, ann) = match r.effect {
                "deny" => ("forbid", ""),
                "require_approval" => ("permit", "@effect(\"require_approval\") "),
                _ => ("permit", ""),
            };
            let scope = match r.host.strip_prefix("*.") {
                Some(d) => format!("resource in Domain::\"{d}\""),
                None => format!("resource == Host::\"{}\"", r.host),
            };
            text.push_str(&format!(
                "@id(\"{}\") {ann}{verb}(principal, action == Action::\"connect\", {scope});\n",
                r.id
            ));
        }
        PolicySet::from_str(&text).expect("cedar policy parses")
    }

    pub fn entities(hosts: &[String]) -> Entities {
        let mut list = Vec::new();
        let mut domains = HashSet::new();
        for h in hosts {
            let mut parents = HashSet::new();
            let mut rest = h.as_str();
            while let Some(dot) = rest.find('.') {
                rest = &rest[dot + 1..];
                parents.insert(uid("Domain", rest));
                domains.insert(rest.to_owned());
            }
            list.push(
                Entity::new(uid("Host", h), HashMap::<String, RestrictedExpression>::new(), parents).expect("entity"),
            );
        }
        for d in domains {
            list.push(Entity::new_no_attrs(uid("Domain", &d), HashSet::new()));
        }
        Entities::from_entities(list, None).expect("entities")
    }

    pub fn bench(c: &mut Criterion) {
        let mut g = c.benchmark_group("cedar");
        g.sample_size(20);
        for n in SIZES {
            let policies = policy_set(n);
            let hosts = target_hosts(n);
            let entities = entities(&hosts);
            let requests: Vec<Request> = hosts
                .iter()
                .map(|h| {
                    Request::new(
                        uid("Agent", "agent"),
                        uid("Action", "connect"),
                        uid("Host", h),
                        Context::empty(),
                        None,
                    )
                    .expect("request")
                })
                .collect();
            let authorizer = Authorizer::new();
            let mut i = 0usize;
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    black_box(authorizer.is_authorized(&requests[i], &policies, &entities))
                })
            });
        }
        g.finish();
    }
}

#[cfg(feature = "cedar")]
fn bench_cedar(c: &mut Criterion) {
    cedar::bench(c)
}
#[cfg(not(feature = "cedar"))]
fn bench_cedar(_: &mut Criterion) {}

criterion_group!(
    benches,
    bench_authorize,
    bench_denylist,
    bench_path_readings,
    bench_compile,
    bench_cedar
);
criterion_main!(benches);
