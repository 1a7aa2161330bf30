//! `egress-squid-helper <auth|acl|admit|sni|switch|dns|watch|ranges>`: thin; every mode lives in `egress_proxy`.
//! Stdout is Squid's helper protocol, so logs go to stderr (JSON, `RUST_LOG`).

use std::process::ExitCode;
use std::sync::Arc;

use egress_proxy::gateway::Gateway;
use egress_proxy::settings::Settings;
use egress_proxy::{acl, admit, auth, dns, env, ranges, serve, sni, switch, watch};

/// `watch`'s status when it stops the proxy for an engaged kill switch (`EGRESS_PROXY_CUT_TUNNELS=restart`):
/// not 0, so the entrypoint and the orchestrator treat it as a stop; not 1, the status of a failure.
const EXIT_ENGAGED_RESTART: u8 = 3;

const USAGE: &str = "usage: egress-squid-helper <auth|acl|admit|sni|switch|dns|watch|ranges>";

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn run(mode: &str) -> Result<ExitCode, String> {
    let ended = match mode {
        "ranges" => {
            print!("{}", ranges::render());
            Ok(())
        }
        // No gateway, no settings: both read only what Squid hands them.
        "admit" => serve::serve(Arc::new(admit::Admit::from_env()?))
            .await
            .map_err(|e| e.to_string()),
        "sni" => serve::serve(Arc::new(sni::Sni)).await.map_err(|e| e.to_string()),
        // The state file `acl` reads, found the same way.
        "switch" => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            serve::serve(Arc::new(switch::Switch::new(settings.state_dir)))
                .await
                .map_err(|e| e.to_string())
        }
        "dns" => {
            let settings = dns::DnsSettings::from_env().map_err(|e| e.to_string())?;
            dns::run(settings).await.map_err(|e| e.to_string())
        }
        "auth" | "acl" => {
            let settings = Settings::from_env().map_err(|e| e.to_string())?;
            let gateway = Gateway::new(settings.clone()).await.map_err(|e| e.to_string())?;
            let served = if mode == "auth" {
                serve::serve(Arc::new(auth::Auth::new(gateway))).await
            } else {
                serve::serve(Arc::new(acl::Acl::new(gateway, settings))).await
            };
            served.map_err(|e| e.to_string())
        }
        "watch" => return run_watch().await,
        _ => Err(USAGE.into()),
    };
    ended.map(|()| ExitCode::SUCCESS)
}

async fn run_watch() -> Result<ExitCode, String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let parameter = std::env::var(egress_core::env::KILL_SWITCH_PARAMETER)
        .map_err(|_| format!("{} is not set", egress_core::env::KILL_SWITCH_PARAMETER))?;
    let cut = watch::CutTunnels::parse(
        std::env::var(env::CUT_TUNNELS).ok().as_deref(),
        std::env::var(env::PORT).ok().as_deref(),
    )?;
    let watched = watch::run(watch::WatchSettings {
        parameter,
        state_dir: settings.state_dir,
        cut,
    })
    .await;
    match watched {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // Meant, not a failure: watch logged it as a warning, and the exit status still tells the
        // entrypoint (and the orchestrator) to stop the proxy. Kept out of the error log the
        // ProxyHelperErrors alarm counts.
        Err(e @ watch::WatchError::EngagedRestart) => {
            eprintln!("egress-squid-helper: {e}");
            Ok(ExitCode::from(EXIT_ENGAGED_RESTART))
        }
        Err(e) => Err(e.to_string()),
    }
}

// One thread per helper process: a callout is then one wake-up of one thread (with `stdio`, Squid's
// socket is on the event loop), which took 0.15-0.5 ms off the proxy's overhead (docs/BENCHMARKS.md).
// Nothing here blocks for long: file reads and token checks are microseconds, gateway calls are async.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    init_logs();
    let mode = std::env::args().nth(1).unwrap_or_default();
    match run(&mode).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(mode = %mode, error = %e, "egress-squid-helper stopped");
            eprintln!("egress-squid-helper: {e}");
            ExitCode::FAILURE
        }
    }
}
