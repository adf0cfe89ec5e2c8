//! Nothing acknowledged is lost: a real server process is killed with SIGKILL while
//! investors send messages and commissioners claim tickets, then started again on the same
//! data; every acknowledged message and ticket (with its claim timer) must be there.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{tiny_corpus, xiaoer};

/// Starts `xiaoer serve` on a free port; returns the child and its base URL.
pub fn start_server(
    data: &Path,
    index: &Path,
    corpus: &Path,
    extra_env: &[(&str, &str)],
) -> (Child, String) {
    let mut cmd = xiaoer();
    cmd.args([
        "--data",
        data.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--corpus",
        corpus.to_str().unwrap(),
        "serve",
        "--addr",
        "127.0.0.1:0",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    spawn_server(&mut cmd)
}

/// Spawns `cmd` (a `serve` with `--addr 127.0.0.1:0` and piped stdout) and waits for the
/// line that says where it serves.
pub fn spawn_server(cmd: &mut std::process::Command) -> (Child, String) {
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (child, url)
}

pub fn add_staff(data: &Path, index: &Path, corpus: &Path, name: &str, role: &str) -> String {
    let (ok, out, err) = super::run(
        &[
            "--data",
            data.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "--corpus",
            corpus.to_str().unwrap(),
            "staff",
            "add",
            name,
            "--role",
            role,
        ],
        "",
    );
    assert!(ok, "{err}");
    out.lines().last().unwrap().trim().to_string()
}

#[derive(Default)]
struct Acknowledged {
    /// (session cookie client index, text)
    messages: Vec<(usize, String)>,
    tickets_claimed: Vec<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message_or_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let (data, index) = (dir.path().join("data"), dir.path().join("index"));
    let corpus = tiny_corpus();
    let token = add_staff(&data, &index, &corpus, "alice", "commissioner");
    let clients: Vec<reqwest::Client> = (0..6)
        .map(|_| {
            reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap()
        })
        .collect();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));

    for round in 0..3 {
        let (mut server, url) = start_server(&data, &index, &corpus, &[]);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let (client, url, acked, stop) =
                (client.clone(), url.clone(), acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let text = if n % 7 == 0 {
                        "转人工".to_string()
                    } else {
                        format!("第{round}轮 客户{i} 消息{n} 高新技术企业税率")
                    };
                    let r = client
                        .post(format!("{url}/api/messages"))
                        .json(&serde_json::json!({"text": text}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            acked.lock().unwrap().messages.push((i, text))
                        }
                        Ok(_) => {}
                        Err(_) => break, // the server died under us: unacknowledged, may be lost
                    }
                }
            }));
        }
        let staff = {
            let (url, acked, stop, token) =
                (url.clone(), acked.clone(), stop.clone(), token.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(r) = http
                        .get(format!("{url}/api/tickets"))
                        .bearer_auth(&token)
                        .send()
                        .await
                    else {
                        break;
                    };
                    let Ok(q) = r.json::<serde_json::Value>().await else {
                        break;
                    };
                    for t in q["tickets"].as_array().into_iter().flatten() {
                        if t["state"]["status"] == "open" {
                            let id = t["id"].as_u64().unwrap();
                            if let Ok(r) = http
                                .post(format!("{url}/api/tickets/{id}/claim"))
                                .bearer_auth(&token)
                                .send()
                                .await
                                && r.status().is_success()
                            {
                                acked.lock().unwrap().tickets_claimed.push(id);
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(700 + 300 * round)).await;
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        staff.await.unwrap();
    }

    // Start once more and check everything acknowledged is there.
    let (mut server, url) = start_server(&data, &index, &corpus, &[]);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.messages.len() > 30,
        "only {} messages were acknowledged",
        acked.messages.len()
    );
    for (i, client) in clients.iter().enumerate() {
        let m: serde_json::Value = client
            .get(format!("{url}/api/messages?after=0"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored: Vec<&str> = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author"]["kind"] == "investor")
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        let mine: Vec<&str> = acked
            .messages
            .iter()
            .filter(|(c, _)| *c == i)
            .map(|(_, t)| t.as_str())
            .collect();
        for text in &mine {
            assert!(
                stored.contains(text),
                "client {i}: acknowledged {text:?} is missing after kill -9"
            );
        }
        // Every investor message has its reply, or the conversation is with staff.
        assert!(stored.len() >= mine.len());
    }
    for id in &acked.tickets_claimed {
        let t = crate::get_json(&format!("{url}/api/tickets/{id}"), &token).await;
        let state = &t["ticket"]["state"];
        assert!(
            state["status"] == "claimed" || t["ticket"]["flagged"] == true,
            "ticket {id}: {state}"
        );
        if state["status"] == "claimed" {
            assert!(
                state["at"].as_i64().unwrap() > 0,
                "the claim timer survived"
            );
        }
    }
    assert!(!acked.tickets_claimed.is_empty());
    server.kill().unwrap();
    server.wait().unwrap();
}
