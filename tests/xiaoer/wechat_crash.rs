//! WeChat against a real `serve` killed with SIGKILL between receipt and reply: every
//! message WeChat got an answer for is stored, and WeChat's redeliveries of the same MsgId
//! (it retries at 5 s and 10 s) are answered and stored once, before and after a restart.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use xiaoer::channels::wechat::crypto::signature;
use xiaoer::channels::wechat::message::Incoming;

use super::crash::spawn_server;
use super::{KillOnDrop, tiny_corpus, xiaoer};

const TOKEN: &str = "crashtest";

fn start(dir: &Path) -> (KillOnDrop, String) {
    let config = dir.join("xiaoer.toml");
    std::fs::write(
        &config,
        format!("[wechat]\ntoken = \"{TOKEN}\"\napp_id = \"wx0000000000000000\"\n"),
    )
    .unwrap();
    let mut cmd = xiaoer();
    cmd.args(["--config", config.to_str().unwrap()])
        .args(["--data", dir.join("data").to_str().unwrap()])
        .args(["--index", dir.join("index").to_str().unwrap()])
        .args(["--corpus", tiny_corpus().to_str().unwrap()])
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (child, url) = spawn_server(&mut cmd);
    (KillOnDrop(child), url)
}

/// WeChat's POST of text message `msg_id` from `openid`: the reply, or `None` when the
/// server gave none (it died, or is not there).
async fn deliver(base: &str, openid: &str, msg_id: u64, text: &str) -> Option<String> {
    let (ts, nonce) = ("1700000000", "42");
    let sig = signature(&[TOKEN, ts, nonce]);
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/wechat?signature={sig}&timestamp={ts}&nonce={nonce}"
        ))
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    let xml = r.text().await.ok()?;
    Some(Incoming::parse(&xml).ok()?.content)
}

/// The investor messages stored for `openid`, read from the data directory with the
/// server stopped.
fn stored(dir: &Path, openid: &str) -> Vec<String> {
    let store = xiaoer::store::SledStore::open(&dir.join("data")).unwrap();
    let engine = super::engine_in(&tiny_corpus(), &dir.join("index"));
    let desk = xiaoer::desk::Desk::new(
        std::sync::Arc::new(engine),
        store,
        xiaoer::desk::DeskConfig::default(),
    );
    desk.messages(&format!("wechat:{openid}"), 0)
        .unwrap()
        .into_iter()
        .filter(|m| matches!(m.author, xiaoer::desk::Author::Investor))
        .map(|m| m.text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_receipt_and_reply_loses_nothing_and_redeliveries_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let questions = ["人才公寓租金补贴怎么申请？", "人才公寓租金补贴怎么计算？"];
    let mut answered = Vec::new();
    // Rounds: each sends a burst and is killed in the middle of it, some requests still
    // being answered, some not yet read.
    for round in 0..3u64 {
        let (server, url) = start(dir.path());
        let mut server = Some(server);
        let mut sends = Vec::new();
        for n in 0..12u64 {
            let (url, id) = (url.clone(), round * 100 + n);
            let text = format!("{} #{id}", questions[(n % 2) as usize]);
            sends.push(tokio::spawn(async move {
                let reply = deliver(&url, "o_crash", id, &text).await;
                (id, text, reply)
            }));
            tokio::time::sleep(Duration::from_millis(4)).await;
            if n == 5 + round {
                server = None; // SIGKILL, with requests in flight
            }
        }
        drop(server);
        for s in sends {
            let (id, text, reply) = s.await.unwrap();
            answered.push((id, text, reply));
        }
    }
    let acknowledged: Vec<&(u64, String, Option<String>)> =
        answered.iter().filter(|a| a.2.is_some()).collect();
    assert!(
        !acknowledged.is_empty() && acknowledged.len() < answered.len(),
        "the kills should fall between some receipts and replies: {} of {} answered",
        acknowledged.len(),
        answered.len()
    );
    let before = stored(dir.path(), "o_crash");
    for (_, text, _) in &acknowledged {
        assert!(
            before.contains(text),
            "answered {text:?} but it is not stored"
        );
    }

    // WeChat redelivers every message it got no answer for, and some it did (5 s, 10 s):
    // each is answered, and each stored exactly once.
    let (server, url) = start(dir.path());
    for _ in 0..2 {
        for (id, text, _) in &answered {
            let reply = deliver(&url, "o_crash", *id, text).await;
            let reply = reply.unwrap_or_else(|| panic!("redelivery of {id} unanswered"));
            assert!(reply.contains("测试答案"), "{id}: {reply}");
        }
    }
    drop(server);
    let after = stored(dir.path(), "o_crash");
    for (id, text, _) in &answered {
        let copies = after.iter().filter(|t| *t == text).count();
        assert_eq!(copies, 1, "message {id} stored {copies} times");
    }
    assert_eq!(after.len(), answered.len());
}
