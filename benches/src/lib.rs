//! Synthetic policies and targets shared by the benchmarks, so every engine sees the same workload.

/// One generated rule: an id, an effect and one host pattern (exact or `*.` wildcard).
#[derive(Debug, Clone)]
pub struct GenRule {
    pub id: String,
    pub effect: &'static str,
    pub host: String,
}

/// `n` rules, a quarter of them wildcards; 80% allow, 10% require_approval, 10% deny.
pub fn rules(n: usize) -> Vec<GenRule> {
    (0..n)
        .map(|i| {
            let effect = match i % 10 {
                0 => "deny",
                1 => "require_approval",
                _ => "allow",
            };
            let host = if i.is_multiple_of(4) {
                format!("*.svc{i}.example{}.com", i % 1000)
            } else {
                format!("api{i}.example{}.com", i % 1000)
            };
            GenRule {
                id: format!("r{i}"),
                effect,
                host,
            }
        })
        .collect()
}

pub fn policy_yaml(rules: &[GenRule]) -> String {
    let mut out = String::from("zones:\n  default:\n    members: ['*']\n    default: deny\n    rules:\n");
    for r in rules {
        out.push_str(&format!(
            "      - {{id: {}, effect: {}, hosts: ['{}']}}\n",
            r.id, r.effect, r.host
        ));
    }
    out
}

/// The same policy in JSON form (valid YAML, read by the faster JSON parser).
pub fn policy_json(rules: &[GenRule]) -> String {
    let list: Vec<String> = rules
        .iter()
        .map(|r| format!(r#"{{"id":"{}","effect":"{}","hosts":["{}"]}}"#, r.id, r.effect, r.host))
        .collect();
    one_zone_json("default", "deny", &list)
}

/// 1024 target hosts spread over the whole rule range: exact hits, wildcard hits at depth 1 and 2, and misses.
pub fn target_hosts(n: usize) -> Vec<String> {
    spread_1024(n, |k, i| match (k % 4, i.is_multiple_of(4)) {
        (0 | 1, true) => format!("a.svc{i}.example{}.com", i % 1000),
        (2, true) => format!("b.c.svc{i}.example{}.com", i % 1000),
        (0..=2, false) => format!("api{i}.example{}.com", i % 1000),
        _ => format!("miss{k}.example{}.org", i % 1000),
    })
}

/// `host(k, i)` for k in 0..1024, where i strides through 0..n by a prime (7919), so the 1024 picks cover
/// the whole range rather than its start.
fn spread_1024(n: usize, host: impl Fn(usize, usize) -> String) -> Vec<String> {
    (0..1024).map(|k| host(k, (k * 7919) % n.max(1))).collect()
}

/// A threat-feed deny list of `n` hosts (a quarter of them `*.` wildcards, the rest exact) in a denylist
/// zone (`default: allow`), as 1,000-host deny rules: the shape of a large feed in JSON form.
pub fn denylist_json(n: usize) -> String {
    let host = |i: usize| match i % 4 {
        0 => format!("\"*.feed{i}.bad{}.net\"", i % 997),
        _ => format!("\"h{i}.bad{}.net\"", i % 997),
    };
    let rules: Vec<String> = (0..n.div_ceil(1000))
        .map(|r| {
            let hosts: Vec<String> = (r * 1000..((r + 1) * 1000).min(n)).map(host).collect();
            format!(r#"{{"id":"feed-{r}","effect":"deny","hosts":[{}]}}"#, hosts.join(","))
        })
        .collect();
    one_zone_json("research", "allow", &rules)
}

/// A policy document in JSON form with one zone open to every principal.
fn one_zone_json(zone: &str, default: &str, rules: &[String]) -> String {
    format!(
        r#"{{"zones":{{"{zone}":{{"members":["*"],"default":"{default}","rules":[{}]}}}}}}"#,
        rules.join(",")
    )
}

/// 1024 targets against [`denylist_json`]`(n)`: mostly hosts off the list (what a deny-list zone mostly
/// sees), some exact hits and some wildcard hits at depth 1 and 2.
pub fn denylist_targets(n: usize) -> Vec<String> {
    spread_1024(n, |k, i| match (k % 8, i % 4) {
        (0, 0) => format!("x.feed{i}.bad{}.net", i % 997),
        (1, 0) => format!("y.z.feed{i}.bad{}.net", i % 997),
        (0 | 1, _) => format!("h{i}.bad{}.net", i % 997),
        _ => format!("api{k}.good{}.org", k % 997),
    })
}
