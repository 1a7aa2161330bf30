//! The proxied path against its floor, in one run (DESIGN §12; issue budget: proxy overhead with the
//! gateway's time taken out at most 1 ms p50). The lab of the end-to-end test (real Squid with both legs,
//! the helper, the DNS filter, the origin in its namespace) and the local stack's gateway (`make bench`
//! starts it with watch):
//!
//! - `proxy_path/direct_https_get`: a new TLS connection to the origin and one GET (the floor);
//! - `proxy_path/proxied_https_get`: the same through the proxy (CONNECT, token check, one gateway
//!   decision, DNS, address check, relay to the tunnel leg, TLS peek, splice);
//! - `proxy_path/proxied_minus_gateway`: each proxied GET less the time the gateway took for *its*
//!   decision. The lab reaches the gateway through a forwarder of this bench that times every decision
//!   it passes on, so the subtraction is per request, not of two noisy distributions.
//!
//! The clients run on a thread moved into the lab's proxy namespace (setns(2) moves only the calling
//! thread), which reaches the origin and the proxy's address. After criterion, 300 alternating samples
//! of each give p50/p99 and the overhead `(proxied - its gateway time) - direct`. Needs root. Run:
//! `make bench` (or `cargo bench -p egress-bench --bench proxy_path` with the stack and watch up).

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use egress_e2e::proxy_lab::{Lab, ROOT};
use egress_e2e::{lambda_endpoint, percentile, unique_principal};
use tokio::io::AsyncWriteExt;

mod http1;

const ORIGIN: &str = "https://origin.egress-lab.com/bench";

/// What the client thread is asked to do: `n` GETs, directly or through the proxy; it answers the time
/// of each (through the proxy: less the gateway's time for its decision when `net` is set).
enum Job {
    Direct(u64),
    Proxied {
        n: u64,
        net: bool,
    },
    /// `n` decisions asked the way the helper asks them (through the lab's relay and the forwarder);
    /// answers what the lab's plumbing added to each, beyond the gateway's own time.
    Plumbing {
        n: u64,
        url: String,
        token: String,
    },
}

/// The gateway times the forwarder measured, in the order the decisions were made.
type Timings = Arc<Mutex<Vec<Duration>>>;

/// A forwarder in front of the gateway on loopback: passes every request on (keep-alive, as the helper
/// sends them) and records how long the gateway took for each decision (`POST /v1/egress/requests`).
async fn timing_gateway(upstream: String, timings: Timings) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            // Small writes must not wait for an ACK (Nagle against delayed ACKs costs 40 ms a request).
            let _ = sock.set_nodelay(true);
            let (http, upstream, timings) = (http.clone(), upstream.clone(), Arc::clone(&timings));
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                while let Some((head, body)) = http1::read_request(&mut sock, &mut buf).await {
                    let mut lines = head.lines();
                    let mut first = lines.next().unwrap_or_default().split(' ');
                    let (method, path) = (first.next().unwrap_or("GET"), first.next().unwrap_or("/"));
                    let mut req = http.request(method.parse().expect("method"), format!("{upstream}{path}"));
                    for (k, v) in lines.filter_map(|l| l.split_once(':')) {
                        if !["host", "content-length", "connection"].contains(&k.trim().to_ascii_lowercase().as_str()) {
                            req = req.header(k.trim(), v.trim());
                        }
                    }
                    let t = Instant::now();
                    let Ok(resp) = req.body(body).send().await else { return };
                    let status = resp.status().as_u16();
                    let Ok(bytes) = resp.bytes().await else { return };
                    if method == "POST" && path.starts_with("/v1/egress/requests") {
                        timings.lock().expect("timings").push(t.elapsed());
                    }
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        bytes.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(&bytes);
                    if sock.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// The helper as the image builds it (optimized). In a target directory of its own: built alone, the
/// crate resolves its dependencies' features differently from this bench, and in the shared directory
/// each build would undo the other's.
fn helper_binary() -> PathBuf {
    let dir = format!("{ROOT}/target/proxy-bench");
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
        .env("CARGO_TARGET_DIR", &dir)
        .current_dir(ROOT)
        .status()
        .expect("cargo runs")
        .success();
    assert!(ok, "the helper builds");
    PathBuf::from(format!("{dir}/release/egress-squid-helper"))
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
    timings: Timings,
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
        // Pooled, as the helper's client is: one relay connection, reused.
        let plain = reqwest::Client::builder().no_proxy().build().expect("client");
        for (job, reply) in rx {
            let (client, n, net) = match job {
                Job::Direct(n) => (&direct, n, false),
                Job::Proxied { n, net } => (&proxied, n, net),
                Job::Plumbing { n, url, token } => {
                    let times = rt.block_on(plumbing(&plain, &url, &token, n, &timings));
                    let _ = reply.send(times);
                    continue;
                }
            };
            let times = rt.block_on(async {
                let mut times = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let before = timings.lock().expect("timings").len();
                    let t = Instant::now();
                    let r = client.get(ORIGIN).send().await.expect("GET");
                    assert_eq!(r.status(), 200);
                    r.bytes().await.expect("body");
                    let mut took = t.elapsed();
                    if net {
                        // The decision this GET's CONNECT waited for (one per tunnel, GETs one at a time).
                        let gateway: Duration = timings.lock().expect("timings")[before..].iter().sum();
                        took = took.saturating_sub(gateway);
                    }
                    times.push(took);
                }
                times
            });
            let _ = reply.send(times);
        }
    });
    tx
}

/// What the relay and the forwarder add to one decision: the helper's view of it less the gateway's.
async fn plumbing(http: &reqwest::Client, url: &str, token: &str, n: u64, timings: &Timings) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let before = timings.lock().expect("timings").len();
        let t = Instant::now();
        let r = http
            .post(format!("{url}/v1/egress/requests"))
            .header(
                egress_core::PRINCIPAL_HEADER,
                "arn:aws:iam::000000000000:role/egress-proxy",
            )
            .header(egress_core::PROXY_TOKEN_HEADER, token)
            .json(&serde_json::json!({"url": "https://origin.egress-lab.com:443", "zone": "proxy-lab", "tunnel": true}))
            .send()
            .await
            .expect("decide");
        assert_eq!(r.status().as_u16(), 201);
        r.bytes().await.expect("body");
        let took = t.elapsed();
        let gateway: Duration = timings.lock().expect("timings")[before..].iter().sum();
        times.push(took.saturating_sub(gateway));
    }
    times
}

fn run(client: &mpsc::Sender<(Job, mpsc::Sender<Vec<Duration>>)>, job: Job) -> Vec<Duration> {
    let (tx, rx) = mpsc::channel();
    client.send((job, tx)).expect("client thread");
    rx.recv().expect("client answers")
}

fn proxy_path(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let timings: Timings = Arc::default();
    let forwarder = rt.block_on(timing_gateway(lambda_endpoint(), Arc::clone(&timings)));
    // The lab's relay, and so the helper, reach the gateway through the forwarder.
    let lab = Lab::start_with(&helper_binary(), Some(&forwarder));
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
    let client = client_thread(
        lab.ns("proxy"),
        ca,
        lab.proxy(),
        "proxy-lab",
        token.clone(),
        Arc::clone(&timings),
    );
    // Inside the proxy namespace the relay listens on the forwarder's port, as the helper reaches it.
    let relay_url = format!("http://127.0.0.1:{}", forwarder.rsplit(':').next().unwrap_or_default());
    let mut g = c.benchmark_group("proxy_path");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    g.bench_function("direct_https_get", |b| {
        b.iter_custom(|n| run(&client, Job::Direct(n)).iter().sum())
    });
    g.bench_function("proxied_https_get", |b| {
        b.iter_custom(|n| run(&client, Job::Proxied { n, net: false }).iter().sum())
    });
    g.bench_function("proxied_minus_gateway", |b| {
        b.iter_custom(|n| run(&client, Job::Proxied { n, net: true }).iter().sum())
    });
    g.finish();

    // Percentiles from alternating rounds, so drift hits both alike.
    let (mut direct, mut proxied, mut net) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30 {
        direct.extend(run(&client, Job::Direct(10)));
        let before = timings.lock().expect("timings").len();
        let gross = run(&client, Job::Proxied { n: 10, net: false });
        let gateway = timings.lock().expect("timings")[before..].to_vec();
        assert_eq!(gateway.len(), gross.len(), "one decision per proxied GET");
        net.extend(gross.iter().zip(&gateway).map(|(p, g)| p.saturating_sub(*g)));
        proxied.extend(gross);
    }
    let mut gateway: Vec<Duration> = proxied.iter().zip(&net).map(|(p, n)| *p - *n).collect();
    let mut lab_plumbing = run(
        &client,
        Job::Plumbing {
            n: 300,
            url: relay_url,
            token,
        },
    );
    for v in [&mut direct, &mut proxied, &mut net, &mut gateway, &mut lab_plumbing] {
        v.sort();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = |name: &str, v: &[Duration]| {
        println!(
            "proxy_path/{name:<22} p50 {:>8.3} ms  p99 {:>8.3} ms  (n={})",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0)),
            v.len()
        )
    };
    line("direct", &direct);
    line("proxied", &proxied);
    line("gateway (in the path)", &gateway);
    line("proxied - its gateway", &net);
    line("lab relay + forwarder", &lab_plumbing);
    let over = |p: f64| ms(percentile(&net, p)) - ms(percentile(&direct, p));
    println!(
        "proxy_path/overhead ((proxied - its gateway) - direct): p50 {:.3} ms, p99 {:.3} ms; (proxied - gateway)/direct p50 {:.2}x, proxied/direct p50 {:.2}x",
        over(50.0),
        over(99.0),
        ms(percentile(&net, 50.0)) / ms(percentile(&direct, 50.0)),
        ms(percentile(&proxied, 50.0)) / ms(percentile(&direct, 50.0))
    );
}

criterion_group!(benches, proxy_path);
criterion_main!(benches);
