//! Several `serve` processes on one PostgreSQL database are one service: an investor's
//! messages may reach either, a commissioner on the other claims (atomically across them)
//! and replies, the investor sees it live, a re-index on one reaches the other, and kill -9
//! of one under load loses no acknowledged message while the other keeps serving.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::crash::spawn_server;
use super::{KillOnDrop, TestDatabase, copy_dir, tiny_corpus, xiaoer};

/// `xiaoer staff add` on the shared store; the account's token.
fn add_staff(store: &str, corpus: &Path, scratch: &Path, name: &str, role: &str) -> String {
    let out = xiaoer()
        .env("XIAOER_STORE", store)
        .args(["--corpus", corpus.to_str().unwrap()])
        .args(["--index", scratch.join("cli-index").to_str().unwrap()])
        .args(["--data", scratch.join("cli-data").to_str().unwrap()])
        .args(["staff", "add", name, "--role", role])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().unwrap().trim().to_string()
}

/// An instance: its own data and index directories, the shared store, and `env`.
fn start_instance(
    store: &str,
    corpus: &Path,
    scratch: &Path,
    name: &str,
    env: &[(&str, &str)],
) -> (KillOnDrop, String) {
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    // Rate limits are kept by each instance in memory; when one instance dies the other
    // takes all of a session's messages, so the tests lift the per-session limit.
    let config = dir.join("xiaoer.toml");
    std::fs::write(&config, "[web]\nsession_messages_per_minute = 100000\n").unwrap();
    let mut cmd = xiaoer();
    cmd.args(["--config", config.to_str().unwrap()])
        .args(["--data", dir.join("data").to_str().unwrap()])
        .args(["--index", dir.join("index").to_str().unwrap()])
        .args(["--corpus", corpus.to_str().unwrap()])
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("XIAOER_STORE", store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (child, url) = spawn_server(&mut cmd);
    (KillOnDrop(child), url)
}

fn investor() -> reqwest::Client {
    // Cookies are per host, not per port: one session on both instances, as behind a
    // balancer on one address.
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn say(client: &reqwest::Client, base: &str, text: &str) -> serde_json::Value {
    let r = client
        .post(format!("{base}/api/messages"))
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{base}: {}", r.status());
    r.json().await.unwrap()
}

async fn investor_texts(client: &reqwest::Client, base: &str) -> Vec<(String, String)> {
    let m: serde_json::Value = client
        .get(format!("{base}/api/messages?after=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"]["kind"].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn staff_post(base: &str, token: &str, path: &str, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Reads the investor's event stream until an event arrives or `within` passes.
async fn next_event(stream: &mut reqwest::Response, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, stream.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let text = String::from_utf8_lossy(&chunk).to_string();
                if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data:")) {
                    return Some(data.trim().to_string());
                }
            }
            _ => return None,
        }
    }
    None
}

/// kill -9.
fn stop(instance: KillOnDrop) {
    drop(instance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_are_one_desk() {
    let db = TestDatabase::create();
    let scratch = tempfile::tempdir().unwrap();
    let corpus = scratch.path().join("corpus");
    copy_dir(&tiny_corpus(), &corpus);
    let alice = add_staff(&db.url, &corpus, scratch.path(), "alice", "commissioner");
    let bob = add_staff(&db.url, &corpus, scratch.path(), "bob", "commissioner");
    let root = add_staff(&db.url, &corpus, scratch.path(), "root", "admin");
    let (a, url_a) = start_instance(&db.url, &corpus, scratch.path(), "a", &[]);
    let (b, url_b) = start_instance(&db.url, &corpus, scratch.path(), "b", &[]);

    // The investor's messages alternate between the instances: one conversation.
    let client = investor();
    let first = say(&client, &url_a, "人才公寓租金补贴怎么申请？").await;
    let conversation = first["conversation"].as_str().unwrap().to_string();
    for (i, base) in [&url_b, &url_a, &url_b].into_iter().enumerate() {
        let r = say(&client, base, &format!("第{i}个问题：租金补贴标准")).await;
        assert_eq!(r["conversation"], conversation.as_str());
    }
    let seen_on_a = investor_texts(&client, &url_a).await;
    assert_eq!(seen_on_a, investor_texts(&client, &url_b).await);
    let asked: Vec<&str> = seen_on_a
        .iter()
        .filter(|(k, _)| k == "investor")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(asked.len(), 4, "{seen_on_a:?}");
    assert!(asked[3].starts_with("第2个问题"), "order kept: {asked:?}");

    // The investor watches on A; asks for a person on B.
    let mut events = client
        .get(format!("{url_a}/api/events"))
        .send()
        .await
        .unwrap();
    assert!(events.status().is_success());
    say(&client, &url_b, "转人工").await;
    assert!(
        next_event(&mut events, Duration::from_secs(10))
            .await
            .is_some(),
        "a message taken in by B reaches A's event stream"
    );
    let tickets = crate::get_json(&format!("{url_a}/api/tickets"), &alice).await;
    let ticket = tickets["tickets"][0]["id"].as_u64().expect("the ticket");

    // Alice on A and Bob on B claim at once: one wins, the other gets 409.
    let claim = |base: String, token: String| async move {
        staff_post(
            &base,
            &token,
            &format!("/api/tickets/{ticket}/claim"),
            serde_json::json!({}),
        )
        .await
    };
    let (on_a, on_b) = tokio::join!(
        claim(url_a.clone(), alice.clone()),
        claim(url_b.clone(), bob.clone())
    );
    let mut codes = [on_a, on_b];
    codes.sort();
    assert_eq!(codes, [200, 409], "alice on A: {on_a}, bob on B: {on_b}");
    let winner = if on_a == 200 { &alice } else { &bob };
    // Drain what the claim sent; then the reply goes in through B (a token works on every
    // instance), so its event must cross over to the investor watching A.
    while next_event(&mut events, Duration::from_millis(500))
        .await
        .is_some()
    {}
    let code = staff_post(
        &url_b,
        winner,
        &format!("/api/tickets/{ticket}/reply"),
        serde_json::json!({"text": "您好，我是专员，租金补贴的事我来跟进。"}),
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        next_event(&mut events, Duration::from_secs(10))
            .await
            .is_some(),
        "the reply made on B reaches the investor watching A, live"
    );
    let texts = investor_texts(&client, &url_a).await;
    assert!(
        texts
            .iter()
            .any(|(k, t)| k == "staff" && t.contains("我来跟进")),
        "{texts:?}"
    );

    // A re-index on A reaches B: B rebuilds its own index from the corpus and answers the
    // new FAQ (and served the old generation until then).
    let health = |base: String| async move {
        reqwest::get(format!("{base}/api/health"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["generation"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before_b = health(url_b.clone()).await;
    let faqs = corpus.join("faqs/tiny.toml");
    let mut text = std::fs::read_to_string(&faqs).unwrap();
    text.push_str(
        "\n[[faq]]\nid = \"tiny-faq-parking\"\nquestion = \"园区停车位怎么申请？\"\n\
         answer = \"园区停车位向物业中心申请（测试答案P）。\"\nsources = [\"tiny-tax\"]\nlang = \"zh\"\n",
    );
    std::fs::write(&faqs, text).unwrap();
    assert_eq!(
        staff_post(&url_a, &root, "/api/admin/reindex", serde_json::json!({})).await,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while health(url_b.clone()).await == before_b {
        assert!(Instant::now() < deadline, "B never switched generation");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let asker = investor();
    let r = say(&asker, &url_b, "园区停车位怎么申请？").await;
    assert!(
        r["reply"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("测试答案P"),
        "{r}"
    );

    stop(a);
    stop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_instance_loses_no_acknowledged_message() {
    let db = TestDatabase::create();
    let scratch = tempfile::tempdir().unwrap();
    let corpus = tiny_corpus();
    let (a, url_a) = start_instance(&db.url, &corpus, scratch.path(), "a", &[]);
    let (b, url_b) = start_instance(&db.url, &corpus, scratch.path(), "b", &[]);
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let stop_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<reqwest::Client> = (0..6).map(|_| investor()).collect();
    // Each investor has a session of their own, begun on B.
    for client in &clients {
        say(client, &url_b, "你好").await;
    }
    let mut tasks = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let (client, urls, acked, stop_flag) = (
            client.clone(),
            [url_a.clone(), url_b.clone()],
            acked.clone(),
            stop_flag.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let text = format!("客户{i} 消息{n} 人才公寓租金补贴");
                // Alternate; once A is dead its requests fail and B takes them.
                for base in [&urls[n % 2], &urls[(n + 1) % 2]] {
                    let r = client
                        .post(format!("{base}/api/messages"))
                        .json(&serde_json::json!({ "text": text }))
                        .send()
                        .await;
                    if let Ok(r) = r
                        && r.status().is_success()
                    {
                        acked.lock().unwrap().push((i, text.clone()));
                        break;
                    }
                }
            }
        }));
    }
    // Under load, however fast this machine is: wait for a number of acknowledgements,
    // not for a time.
    let count = || acked.lock().unwrap().len();
    let wait_for = |n: usize, what: &'static str| {
        let count = &count;
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while count() < n {
                assert!(
                    Instant::now() < deadline,
                    "{what}: only {} acknowledged",
                    count()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(60, "before the kill").await;
    let before_kill = count();
    stop(a); // SIGKILL, mid-request for some
    // B takes every session's messages (each was begun on B, and A's address now fails).
    wait_for(before_kill + 60, "B kept serving after A died").await;
    stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() >= before_kill + 60);
    for (i, client) in clients.iter().enumerate() {
        let stored: Vec<String> = investor_texts(client, &url_b)
            .await
            .into_iter()
            .filter(|(k, _)| k == "investor")
            .map(|(_, t)| t)
            .collect();
        for (_, text) in acked.iter().filter(|(c, _)| *c == i) {
            assert!(
                stored.contains(text),
                "client {i}: acknowledged {text:?} is missing after kill -9 of A"
            );
        }
    }
    stop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_polls_telegram_and_another_takes_over_when_it_dies() {
    use super::telegram_fake::{FakeTelegram, user};
    const INVESTOR: i64 = 6001;
    let db = TestDatabase::create();
    let scratch = tempfile::tempdir().unwrap();
    let corpus = tiny_corpus();
    // One bot, two servers onto it, so the test sees which instance calls getUpdates.
    let fake_a = FakeTelegram::start().await;
    let fake_b = fake_a.sharing().await;
    let start = |name: &str, fake: &FakeTelegram| {
        let env = [
            ("TELOXIDE_TOKEN", "123456:TEST-TOKEN"),
            ("TELOXIDE_API_URL", fake.url.as_str()),
        ];
        start_instance(&db.url, &corpus, scratch.path(), name, &env)
    };
    let (a, _) = start("a", &fake_a);
    let (b, _) = start("b", &fake_b);
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake_a.polls() + fake_b.polls() == 0 {
        assert!(Instant::now() < deadline, "nobody polls Telegram");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Longer than an instance without the lease waits before asking again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (polls_a, polls_b) = (fake_a.polls(), fake_b.polls());
    assert!(
        (polls_a == 0) != (polls_b == 0),
        "exactly one instance polls: A {polls_a}, B {polls_b}"
    );
    let (leader, follower, follower_fake) = if polls_a > 0 {
        (a, b, &fake_b)
    } else {
        (b, a, &fake_a)
    };

    let answers = |needle: &'static str| {
        let sent = fake_a.sent();
        sent.iter()
            .filter(|(m, v)| {
                m == "sendmessage"
                    && v["chat_id"].as_i64() == Some(INVESTOR)
                    && v["text"].as_str().unwrap_or("").contains(needle)
            })
            .count()
    };
    let investor = user(6001, "Mei", "zh");
    fake_a.message(
        INVESTOR,
        investor.clone(),
        "人才公寓租金补贴怎么申请？",
        None,
    );
    fake_a
        .wait_for("the answer", 0, |m, v| {
            m == "sendmessage" && v["text"].as_str().unwrap_or("").contains("测试答案A")
        })
        .await;

    // The polling instance dies; the other takes the lease and polls.
    stop(leader);
    let deadline = Instant::now() + Duration::from_secs(20);
    while follower_fake.polls() == 0 {
        assert!(
            Instant::now() < deadline,
            "the other instance never took over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fake_a.message(INVESTOR, investor, "人才公寓租金补贴怎么计算？", None);
    fake_a
        .wait_for("the answer after failover", 0, |m, v| {
            m == "sendmessage" && v["text"].as_str().unwrap_or("").contains("测试答案B")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(answers("测试答案A"), 1, "the first question answered once");
    assert_eq!(answers("测试答案B"), 1, "the second answered once");
    stop(follower);
}
