//! Load test on loopback: many concurrent investor sessions post questions to real
//! `xiaoer serve` processes (release build) for a fixed time; reports messages per second
//! and latency percentiles, then checks that every acknowledged message was stored.
//!
//! Run: `cargo bench --bench load`. It measures one instance on sled, then, when
//! `XIAOER_BENCH_POSTGRES` (or `XIAOER_TEST_POSTGRES`) names a PostgreSQL server the bench
//! may create a database on, `LOAD_INSTANCES` (default 2) instances on one fresh database,
//! each session's messages alternating between them as behind a balancer without sticky
//! sessions. Env `LOAD_SESSIONS`, `LOAD_SECONDS` change the load; `LOAD_STORES=sled` or
//! `=postgres` measures one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

    let dir = tempfile::tempdir().unwrap();
    let only = std::env::var("LOAD_STORES").unwrap_or_else(|_| "sled,postgres".into());
    if only.contains("sled") {
        let sled = Instance::start(&root, dir.path(), "sled", None);
        let urls = [sled.url.clone()];
        runtime.block_on(measure(
            "sled, 1 instance",
            &urls,
            sessions,
            seconds,
            &questions,
        ));
    }
    if !only.contains("postgres") {
        return;
    }

    let server =
        std::env::var("XIAOER_BENCH_POSTGRES").or_else(|_| std::env::var("XIAOER_TEST_POSTGRES"));
    let Ok(server) = server else {
        println!("load: no XIAOER_BENCH_POSTGRES: PostgreSQL not measured");
        return;
    };
    let n = env_or("LOAD_INSTANCES", 2);
    let database = Database::create(&runtime, &server);
    let instances: Vec<Instance> = (0..n)
        .map(|i| Instance::start(&root, dir.path(), &format!("pg{i}"), Some(&database.url)))
        .collect();
    let urls: Vec<String> = instances.iter().map(|i| i.url.clone()).collect();
    let label = format!("PostgreSQL, {n} instances");
    runtime.block_on(measure(&label, &urls, sessions, seconds, &questions));
    drop(instances);
    let (commits, rollbacks) = database.transactions(&runtime);
    println!(
        "load ({label}): PostgreSQL committed {commits} transactions, rolled back {rollbacks} (lost races, retried)"
    );
    database.drop_on(&runtime);
}

/// A `xiaoer serve` process, killed on drop.
struct Instance {
    child: Child,
    url: String,
}

impl Instance {
    fn start(root: &Path, scratch: &Path, name: &str, store: Option<&str>) -> Instance {
        let dir = scratch.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("load.toml");
        // The load comes from one address; lift the per-address limit for it.
        std::fs::write(
            &config,
            "[web]\nsession_messages_per_minute = 1000000\naddress_messages_per_minute = 100000000\n",
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_xiaoer"));
        command
            .args(["--config", config.to_str().unwrap()])
            .args(["--corpus", root.join("corpus").to_str().unwrap()])
            .args(["--index", dir.join("index").to_str().unwrap()])
            .args(["--data", dir.join("data").to_str().unwrap()])
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env_remove("XIAOER_STORE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(url) = store {
            command.env("XIAOER_STORE", url);
        }
        let mut child = command.spawn().expect("xiaoer serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Instance { child, url }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database for one run on the server at `XIAOER_BENCH_POSTGRES`.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(runtime: &tokio::runtime::Runtime, admin: &str) -> Database {
        let name = format!("xiaoer_load_{}", std::process::id());
        let base = admin.rsplit_once('/').expect("URL ends with /DATABASE").0;
        let url = format!("{base}/{name}");
        sql(runtime, admin, &format!("DROP DATABASE IF EXISTS {name}"));
        sql(runtime, admin, &format!("CREATE DATABASE {name}"));
        Database {
            admin: admin.to_string(),
            name,
            url,
        }
    }

    /// Transactions committed and rolled back in the database so far.
    fn transactions(&self, runtime: &tokio::runtime::Runtime) -> (i64, i64) {
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&self.admin, tokio_postgres::NoTls)
                .await
                .expect("the PostgreSQL server");
            tokio::spawn(connection);
            let row = client
                .query_one(
                    "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1",
                    &[&self.name],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        })
    }

    fn drop_on(self, runtime: &tokio::runtime::Runtime) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sql(runtime, &self.admin, &drop);
    }
}

fn sql(runtime: &tokio::runtime::Runtime, url: &str, statement: &str) {
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("the PostgreSQL server");
        tokio::spawn(connection);
        client.batch_execute(statement).await.unwrap();
    });
}

/// Runs the load against `urls` (each session's messages alternate between them), prints
/// throughput and latency, and checks every acknowledged message is stored.
async fn measure(
    label: &str,
    urls: &[String],
    sessions: usize,
    seconds: u64,
    questions: &Arc<Vec<String>>,
) {
    let urls: Arc<Vec<String>> = Arc::new(urls.to_vec());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut clients = Vec::new();
    for s in 0..sessions {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .pool_max_idle_per_host(urls.len())
            .build()
            .unwrap();
        clients.push(client.clone());
        let (urls, stop, questions) = (urls.clone(), stop.clone(), questions.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut acked = 0usize;
            let mut i = s * 7;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let q = &questions[i % questions.len()];
                let url = &urls[i % urls.len()];
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
    let mut latencies = Vec::new();
    let mut per_session = Vec::new();
    for t in tasks {
        let (lat, acked) = t.await.unwrap();
        latencies.extend(lat);
        per_session.push(acked);
    }
    latencies.sort();
    let n = latencies.len();
    assert!(n > 0, "{label}: nothing was acknowledged");
    let p = |x: f64| latencies[((n as f64 * x) as usize).min(n - 1)];
    println!(
        "load ({label}): {sessions} sessions for {seconds}s: {n} messages acknowledged, {:.0} messages/s, p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        n as f64 / seconds as f64,
        p(0.5),
        p(0.9),
        p(0.99),
        latencies[n - 1]
    );

    // Every acknowledged message is stored: count each session's investor messages,
    // read back through the first instance.
    let mut stored = 0;
    for (client, acked) in clients.iter().zip(&per_session) {
        let m: serde_json::Value = client
            .get(format!("{}/api/messages?after=0", urls[0]))
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
            "{label}: a session has {mine} stored of {acked} acknowledged"
        );
        stored += mine;
    }
    println!("load ({label}): {stored} investor messages stored for {n} acknowledged");
}
