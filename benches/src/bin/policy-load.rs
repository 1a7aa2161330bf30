//! Load + compile of a large deny list in JSON form, in a fresh process: wall time of each run and the
//! process's peak RSS (`VmHWM`). `make bench` runs it for 1,000,000 hosts; docs/BENCHMARKS.md records it.
//!
//! Usage: policy-load [HOSTS (1000000)] [RUNS (5)]

use std::time::Instant;

use egress_bench::denylist_json;
use egress_core::CompiledPolicy;

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let hosts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let path = std::env::temp_dir().join(format!("egress-denylist-{hosts}-{}.json", std::process::id()));
    std::fs::write(&path, denylist_json(hosts)).expect("write policy");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // Forget the generation's peak: from here VmHWM is what loading costs (Linux `clear_refs` 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base_rss = peak_rss_kib().unwrap_or(0);
    let mut times = Vec::new();
    for _ in 0..runs {
        // What a cold start does: read the file, then parse, validate, hash and compile it.
        let start = Instant::now();
        let text = std::fs::read_to_string(&path).expect("read policy");
        let policy = CompiledPolicy::from_yaml(&text).expect("deny list compiles");
        times.push(start.elapsed());
        assert_eq!(policy.rule_count(), hosts.div_ceil(1000));
        drop(policy);
    }
    let _ = std::fs::remove_file(&path);
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "policy-load: {hosts} hosts, {:.1} MB JSON; load+compile min {:.0} ms, median {:.0} ms, max {:.0} ms over {runs} runs; peak RSS {:.0} MB (before loading {:.0} MB)",
        size as f64 / 1e6,
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
        base_rss as f64 / 1024.0,
    );
}
