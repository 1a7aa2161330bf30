//! `egress-squid-helper watch`, the real binary against the kill-switch parameter in moto (the local
//! stack), in the two modes that end open tunnels (`EGRESS_PROXY_CUT_TUNNELS`, DESIGN §12):
//! - `restart` (ECS on Fargate, where no container may hold `CAP_NET_ADMIN`): the switch engaged while the
//!   proxy runs stops `watch` after it wrote the engaged state, and the entrypoint stops Squid with it; a
//!   proxy that starts engaged keeps running (no restart loop);
//! - `1` (`ss -K`): refuses to start without `CAP_NET_ADMIN`, where `ss -K` would do nothing and exit 0.
//!
//! Each test has its own parameter, so the stack's kill switch is never touched.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use egress_e2e::put_parameter;

const HELPER: &str = env!("CARGO_BIN_EXE_egress-squid-helper");

fn state_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("egress-watch-{tag}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&d).expect("state dir");
    d
}

/// `watch` with the stack's environment (moto's SSM) and `cut`, prefixed by `wrap` (e.g. `setpriv`).
fn spawn_watch(wrap: &[&str], parameter: &str, dir: &Path, cut: &str) -> Child {
    let (program, args) = match wrap.split_first() {
        Some((p, rest)) => (*p, [rest, &[HELPER]].concat()),
        None => (HELPER, Vec::new()),
    };
    Command::new(program)
        .args(args)
        .arg("watch")
        .env("EGRESS_KILL_SWITCH_PARAMETER", parameter)
        .env("EGRESS_PROXY_STATE_DIR", dir)
        // Read by the settings every mode shares; watch never calls the gateway.
        .env("EGRESS_GATEWAY_URL", "http://127.0.0.1:9")
        .env("EGRESS_PROXY_CUT_TUNNELS", cut)
        .env("EGRESS_PROXY_PORT", "3128")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("egress-squid-helper runs")
}

fn state(dir: &Path) -> String {
    std::fs::read_to_string(egress_proxy::kill_switch::state_path(dir)).unwrap_or_default()
}

/// Waits up to `limit` for `done`; whether it happened.
async fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

fn stderr_of(child: Child) -> String {
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn restart_mode_stops_the_proxy_when_the_switch_is_engaged_while_it_runs() {
    let parameter = format!("/egress-test/watch-restart-{}", ulid::Ulid::new());
    put_parameter(&parameter, "off").await;
    let dir = state_dir("restart");
    let mut watch = spawn_watch(&[], &parameter, &dir, "restart");
    assert!(
        within(Duration::from_secs(10), || state(&dir) == "off").await,
        "state: {:?}",
        state(&dir)
    );
    // Released: it keeps running.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(watch.try_wait().expect("wait").is_none(), "watch ended while released");

    put_parameter(&parameter, "engaged: incident 42").await;
    let ended = within(Duration::from_secs(10), || matches!(watch.try_wait(), Ok(Some(_)))).await;
    if !ended {
        let _ = watch.kill();
    }
    let status = watch.try_wait().ok().flatten();
    assert!(ended, "watch still running 10 s after the switch was engaged");
    // Its own status (3), neither success (the proxy must stop) nor the failure status, and no error
    // line (the ProxyHelperErrors alarm counts those): a warning says why.
    assert_eq!(status.and_then(|s| s.code()), Some(3), "{status:?}");
    // New connections were refused (the state file) before the proxy stopped.
    let written = state(&dir);
    assert!(
        written.starts_with("engaged: ") && written.contains("incident 42"),
        "{written}"
    );
    let said = stderr_of(watch);
    assert!(said.contains("kill switch engaged"), "{said}");
    assert!(!said.contains("\"level\":\"ERROR\""), "{said}");

    // A proxy that starts while engaged runs and refuses: no restart loop.
    let dir2 = state_dir("restart-engaged");
    let mut again = spawn_watch(&[], &parameter, &dir2, "restart");
    assert!(within(Duration::from_secs(10), || state(&dir2).starts_with("engaged")).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let running = again.try_wait().expect("wait").is_none();
    let _ = again.kill();
    assert!(running, "a proxy that started engaged stopped: {}", stderr_of(again));
    for d in [dir, dir2] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test]
async fn destroy_mode_needs_net_admin_and_says_so() {
    let parameter = format!("/egress-test/watch-destroy-{}", ulid::Ulid::new());
    put_parameter(&parameter, "off").await;
    let dir = state_dir("destroy");
    // Without CAP_NET_ADMIN (as in a Fargate task): it stops at once, saying why.
    let mut without = spawn_watch(
        &["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"],
        &parameter,
        &dir,
        "1",
    );
    assert!(within(Duration::from_secs(5), || matches!(without.try_wait(), Ok(Some(_)))).await);
    assert!(!without.try_wait().ok().flatten().is_some_and(|s| s.success()));
    let said = stderr_of(without);
    assert!(said.contains("CAP_NET_ADMIN"), "{said}");
    assert_eq!(
        state(&dir),
        "",
        "nothing written: the proxy must not run without its tunnel cut"
    );

    // With it (root here, as the entrypoint runs watch): it runs and writes the state.
    let mut with = spawn_watch(&[], &parameter, &dir, "1");
    assert!(within(Duration::from_secs(10), || state(&dir) == "off").await);
    let running = with.try_wait().expect("wait").is_none();
    let _ = with.kill();
    assert!(running, "{}", stderr_of(with));

    // A value that is none of the modes is an error, not "never".
    let typo = spawn_watch(&[], &parameter, &dir, "yes");
    let said = stderr_of(typo);
    assert!(said.contains("expected 0, 1 or restart"), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}
