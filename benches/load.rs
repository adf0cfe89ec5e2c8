//! Load test on loopback: many concurrent investor sessions post questions to a real
//! `xiaoer serve` (release build) for a fixed time; reports messages per second and
//! latency percentiles, then checks that every acknowledged message was stored.
//! Run: `cargo bench --bench load` (env LOAD_SESSIONS, LOAD_SECONDS to change the load).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: only run
    // the load when asked to benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sessions = env_or("LOAD_SESSIONS", 48);
    let seconds = env_or("LOAD_SECONDS", 10) as u64;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("load.toml");
    // The load comes from one address; lift the per-address limit for it.
    std::fs::write(
        &config,
        "[web]\nsession_messages_per_minute = 1000000\naddress_messages_per_minute = 100000000\n",
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_xiaoer"))
        .args(["--config", config.to_str().unwrap()])
        .args(["--corpus", root.join("corpus").to_str().unwrap()])
        .args(["--index", dir.path().join("index").to_str().unwrap()])
        .args(["--data", dir.path().join("data").to_str().unwrap()])
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("xiaoer serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let questions: Vec<String> = xiaoer::eval::load(&root.join("tests/eval"))
        .unwrap()
        .into_iter()
        .map(|q| q.q)
        .collect();
    let questions = Arc::new(questions);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (latencies, per_session, clients) = runtime.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let mut clients = Vec::new();
        for s in 0..sessions {
            let client = reqwest::Client::builder()
                .cookie_store(true)
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            clients.push(client.clone());
            let (url, stop, questions) = (url.clone(), stop.clone(), questions.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut acked = 0usize;
                let mut i = s * 7;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let q = &questions[i % questions.len()];
                    let t = Instant::now();
                    let r = client
                        .post(format!("{url}/api/messages"))
                        .json(&serde_json::json!({ "text": q }))
                        .send()
                        .await;
                    if let Ok(r) = r
                        && r.status().is_success()
                        && r.bytes().await.is_ok()
                    {
                        lat.push(t.elapsed());
                        acked += 1;
                    }
                }
                (lat, acked)
            }));
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        let mut per_session = Vec::new();
        for t in tasks {
            let (lat, acked) = t.await.unwrap();
            all.extend(lat);
            per_session.push(acked);
        }
        (all, per_session, clients)
    });

    let mut latencies = latencies;
    latencies.sort();
    let n = latencies.len();
    let p = |x: f64| latencies[((n as f64 * x) as usize).min(n - 1)];
    println!(
        "load: {sessions} sessions for {seconds}s: {n} messages acknowledged, {:.0} messages/s, p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        n as f64 / seconds as f64,
        p(0.5),
        p(0.9),
        p(0.99),
        latencies[n - 1]
    );

    // Every acknowledged message is stored: count each session's investor messages.
    let stored: usize = runtime.block_on(async {
        let mut stored = 0;
        for (client, acked) in clients.iter().zip(&per_session) {
            let m: serde_json::Value = client
                .get(format!("{url}/api/messages?after=0"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mine = m["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["author"]["kind"] == "investor")
                .count();
            assert!(
                mine >= *acked,
                "a session has {mine} stored of {acked} acknowledged"
            );
            stored += mine;
        }
        stored
    });
    println!("load: {stored} investor messages stored for {n} acknowledged");
    let _ = server.kill();
    let _ = server.wait();
}
