//! The proxied path against its floor, in one run (DESIGN §12; issue budget: proxy overhead with the
//! gateway's time taken out at most 1 ms p50). The lab of the end-to-end test (real Squid, the helper,
//! the origin in its namespace) and the local stack's gateway (`make bench` starts it with watch):
//!
//! - `proxy_path/direct_https_get`: a new TLS connection to the origin and one GET (the floor);
//! - `proxy_path/proxied_https_get`: the same through the proxy (CONNECT, token check, one gateway
//!   decision, DNS, address check, tunnel);
//! - `proxy_path/gateway_decision`: the gateway call the helper makes for that connection (as the
//!   enforcer, with the agent's token, `tunnel: true`, through the lab's relay as the helper reaches
//!   the stack), timed on its own.
//!
//! The clients run on a thread moved into the lab's proxy namespace (setns(2) moves only the calling
//! thread), which reaches the origin, the proxy's address and (through the relay) the gateway. After criterion, 300 alternating samples of each give p50/p99 and
//! `proxied - direct - gateway`. Needs root. Run: `make bench` (or `cargo bench -p egress-bench --bench
//! proxy_path` with the stack and watch up).

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use egress_e2e::proxy_lab::{Lab, ROOT};
use egress_e2e::{lambda_endpoint, percentile, unique_principal};
use serde_json::json;

const ORIGIN: &str = "https://origin.egress-lab.com/bench";

/// What the client thread is asked to do: `n` GETs, directly or through the proxy; it answers the time
/// of each.
enum Job {
    Direct(u64),
    Proxied(u64),
    Decide(u64),
}

fn helper_binary() -> PathBuf {
    let ok = Command::new("cargo")
        .args([
            "build",
            "-q",
            "--profile",
            "bench",
            "-p",
            "egress-proxy",
            "--bin",
            "egress-squid-helper",
        ])
        .current_dir(ROOT)
        .status()
        .expect("cargo runs")
        .success();
    assert!(ok, "the helper builds");
    PathBuf::from(format!("{ROOT}/target/release/egress-squid-helper"))
}

/// Moves the calling thread into the named network namespace.
fn enter_netns(name: &str) {
    let f = std::fs::File::open(format!("/var/run/netns/{name}")).expect("namespace file");
    // SAFETY: setns on a valid namespace fd; it changes only this thread's network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// The client thread: clients made inside the proxy namespace, a new connection per GET.
fn client_thread(
    ns: String,
    ca: Vec<u8>,
    proxy: String,
    zone: &'static str,
    token: String,
) -> mpsc::Sender<(Job, mpsc::Sender<Vec<Duration>>)> {
    let (tx, rx) = mpsc::channel::<(Job, mpsc::Sender<Vec<Duration>>)>();
    std::thread::spawn(move || {
        enter_netns(&ns);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let cert = reqwest::Certificate::from_pem(&ca).expect("lab CA");
        let base = || {
            reqwest::Client::builder()
                .add_root_certificate(cert.clone())
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(10))
        };
        let direct = base()
            .no_proxy()
            .resolve("origin.egress-lab.com", "198.18.1.2:443".parse().expect("addr"))
            .build()
            .expect("client");
        let proxied = base()
            .proxy(
                reqwest::Proxy::all(format!("http://{proxy}"))
                    .expect("proxy")
                    .basic_auth(zone, &token),
            )
            .build()
            .expect("client");
        let gateway = base().no_proxy().build().expect("client");
        for (job, reply) in rx {
            let (client, n) = match job {
                Job::Direct(n) => (&direct, n),
                Job::Proxied(n) => (&proxied, n),
                Job::Decide(n) => {
                    let times = rt.block_on(decide(&gateway, &token, n));
                    let _ = reply.send(times);
                    continue;
                }
            };
            let times = rt.block_on(async {
                let mut times = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let t = Instant::now();
                    let r = client.get(ORIGIN).send().await.expect("GET");
                    assert_eq!(r.status(), 200);
                    r.bytes().await.expect("body");
                    times.push(t.elapsed());
                }
                times
            });
            let _ = reply.send(times);
        }
    });
    tx
}

/// The call the helper makes for one tunnel, from where the helper makes it (the proxy namespace, through
/// the lab's relay to the stack), so that what is subtracted is what the helper waited for.
async fn decide(http: &reqwest::Client, token: &str, n: u64) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = Instant::now();
        let r = http
            .post(format!("{}/v1/egress/requests", lambda_endpoint()))
            .header(
                egress_core::PRINCIPAL_HEADER,
                "arn:aws:iam::000000000000:role/egress-proxy",
            )
            .header(egress_core::PROXY_TOKEN_HEADER, token)
            .json(&json!({"url": "https://origin.egress-lab.com:443", "zone": "proxy-lab", "tunnel": true}))
            .send()
            .await
            .expect("decide");
        assert_eq!(r.status().as_u16(), 201);
        r.bytes().await.expect("body");
        times.push(t.elapsed());
    }
    times
}

fn run(client: &mpsc::Sender<(Job, mpsc::Sender<Vec<Duration>>)>, job: Job) -> Vec<Duration> {
    let (tx, rx) = mpsc::channel();
    client.send((job, tx)).expect("client thread");
    rx.recv().expect("client answers")
}

fn proxy_path(c: &mut Criterion) {
    let lab = Lab::start(&helper_binary());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let http = reqwest::Client::new();
    let lambda = lambda_endpoint();
    let principal = unique_principal("bench-proxy");
    let token = rt.block_on(async {
        let r = http
            .post(format!("{lambda}/v1/egress/proxy-tokens"))
            .header(egress_core::PRINCIPAL_HEADER, &principal)
            .send()
            .await
            .expect("mint");
        let v: serde_json::Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_owned()
    });
    let ca = std::fs::read(lab.ca()).expect("ca");
    let client = client_thread(lab.ns("proxy"), ca, lab.proxy(), "proxy-lab", token.clone());
    let mut g = c.benchmark_group("proxy_path");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    g.bench_function("direct_https_get", |b| {
        b.iter_custom(|n| run(&client, Job::Direct(n)).iter().sum())
    });
    g.bench_function("proxied_https_get", |b| {
        b.iter_custom(|n| run(&client, Job::Proxied(n)).iter().sum())
    });
    g.bench_function("gateway_decision", |b| {
        b.iter_custom(|n| run(&client, Job::Decide(n)).iter().sum())
    });
    g.finish();

    // Percentiles from alternating rounds, so drift hits all three alike.
    let (mut direct, mut proxied, mut gateway) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30 {
        direct.extend(run(&client, Job::Direct(10)));
        proxied.extend(run(&client, Job::Proxied(10)));
        gateway.extend(run(&client, Job::Decide(10)));
    }
    for v in [&mut direct, &mut proxied, &mut gateway] {
        v.sort();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = |name: &str, v: &[Duration]| {
        println!(
            "proxy_path/{name:<18} p50 {:>8.3} ms  p99 {:>8.3} ms  (n={})",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0)),
            v.len()
        )
    };
    line("direct", &direct);
    line("proxied", &proxied);
    line("gateway", &gateway);
    let over = |p: f64| ms(percentile(&proxied, p)) - ms(percentile(&direct, p)) - ms(percentile(&gateway, p));
    println!(
        "proxy_path/overhead (proxied - direct - gateway): p50 {:.3} ms, p99 {:.3} ms; proxied/direct p50 {:.2}x",
        over(50.0),
        over(99.0),
        ms(percentile(&proxied, 50.0)) / ms(percentile(&direct, 50.0))
    );
}

criterion_group!(benches, proxy_path);
criterion_main!(benches);
