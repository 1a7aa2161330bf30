//! The enforcing proxy's lab (`proxy/tests/lab/lab.py`) from Rust: started once per process, taken down
//! when the process closes the lab's stdin (at exit, or when it dies). Used by the proxy's end-to-end
//! test and its benchmark. Needs root, Squid and socat (`make install`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

/// The repository root.
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

pub struct Lab {
    pub info: Value,
    control: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Child,
}

/// The venv's Python (dnslib, requests).
pub fn python() -> String {
    format!("{ROOT}/.local/venv/bin/python")
}

impl Lab {
    /// Starts the lab with `helper` as Squid's helper binary; panics with the lab's words when it fails.
    pub fn start(helper: &Path) -> Lab {
        Self::start_with(helper, None)
    }

    /// [`Lab::start`], with the proxy reaching the gateway at `gateway_url` (on the root namespace's
    /// loopback) instead of the stack's.
    pub fn start_with(helper: &Path, gateway_url: Option<&str>) -> Lab {
        let dir = std::env::temp_dir().join(format!("egress-proxy-lab-{}", std::process::id()));
        let prefix = format!("eg{}", std::process::id() % 100_000);
        let mut child = Command::new(python())
            .arg(format!("{ROOT}/proxy/tests/lab/lab.py"))
            .args(["up", "--prefix", &prefix, "--dir"])
            .arg(&dir)
            .arg("--helper")
            .arg(helper)
            .envs(gateway_url.map(|u| ("EGRESS_LAB_GATEWAY_URL", u)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("lab.py runs (needs root, squid-openssl, socat: make install)");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("lab.py answers");
        let info: Value = match line.strip_prefix("READY ") {
            Some(j) => serde_json::from_str(j).expect("lab info"),
            None => panic!(
                "the lab did not come up: {line} (EGRESS_LAB_KEEP=1 keeps {})",
                dir.display()
            ),
        };
        Lab {
            info,
            control: Mutex::new((stdin, stdout)),
            _child: child,
        }
    }

    pub fn ns(&self, which: &str) -> String {
        self.info["namespaces"][which].as_str().unwrap_or_default().to_owned()
    }
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.info["dir"].as_str().unwrap_or_default())
    }
    /// The proxy's `host:port` as the agent reaches it.
    pub fn proxy(&self) -> String {
        self.info["proxy"].as_str().unwrap_or_default().to_owned()
    }
    /// The lab CA's certificate (the origin's issuer).
    pub fn ca(&self) -> String {
        self.info["ca"].as_str().unwrap_or_default().to_owned()
    }
    pub fn origin_ip(&self) -> String {
        self.info["origin_ip"].as_str().unwrap_or_default().to_owned()
    }
    /// Sends a control command (`relay-down gateway`, `pause gateway`, ...) and returns the lab's `OK` line.
    pub fn command(&self, cmd: &str) -> String {
        let mut c = self.control.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(c.0, "{cmd}").expect("lab control");
        c.0.flush().expect("lab control");
        let mut line = String::new();
        c.1.read_line(&mut line).expect("lab answer");
        assert!(line.starts_with("OK"), "{cmd}: {line}");
        line
    }
    /// Runs a command in the agent namespace (no proxy variables of ours leak in).
    pub fn agent(&self, args: &[&str]) -> std::process::Output {
        self.run_in("agent", args)
    }
    /// Runs a command in one of the lab's namespaces (`agent`, `proxy`, `origin`).
    pub fn run_in(&self, which: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(which)])
            .args(args)
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .output()
            .expect("ip netns exec")
    }
    /// A file of the lab's directory (logs), empty when absent.
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name)).unwrap_or_default()
    }
    /// Access-log lines (JSON) with this request id.
    pub fn access(&self, request_id: &str) -> Vec<Value> {
        self.file("squid/access.log")
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["request_id"] == request_id)
            .collect()
    }
    /// How many times the lab's DNS was asked for `name`.
    pub fn dns_queries(&self, name: &str) -> usize {
        self.file("dns-queries.log").lines().filter(|l| *l == name).count()
    }
    /// Connections the canaries received (must stay 0).
    pub fn canary_hits(&self) -> usize {
        self.file("canary.log").lines().count()
    }
}
