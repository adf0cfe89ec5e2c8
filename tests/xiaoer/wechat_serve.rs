//! WeChat and WeCom end to end through a real `serve` process, its `[wechat]` and `[wecom]`
//! APIs (and the group robot) pointed at fakes on 127.0.0.1: a safe-mode question answered
//! with sources and, replayed at 5 s and 10 s as WeChat does, answered and stored once; a
//! request for a person reaching the commissioner's WeCom as a card (and the group as a
//! brief); the commissioner's `认领` and reply from WeCom reaching the investor through the
//! customer-service API; and the bot silent while the commissioner owns the chat.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use xiaoer::channels::wechat::crypto::{AesKey, signature};
use xiaoer::channels::wechat::message::Incoming;

use super::crash::spawn_server;
use super::wechat_fake::{FakeApi as FakeWechat, Send, fake_api as fake_wechat, sends_when};
use super::wecom::{AGENT_ID, CONSOLE, CORP_ID, KEY, SECRET, TOKEN, sealed_post, text_xml};
use super::wecom_fake::{ROBOT_PATH, fake_api as fake_wecom, messages_to, robot_named, text_to};
use super::{KillOnDrop, run, shipped_corpus, xiaoer};

const WX_TOKEN: &str = "servetest";
const WX_APP_ID: &str = "wx2c2769f8efd9abc2";
const WX_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const OPENID: &str = "o_serve_investor";
const QUESTION: &str = "高新技术企业的企业所得税税率是多少？";

/// The `--data`, `--index` and `--corpus` every command here shares.
fn places(dir: &Path) -> Vec<String> {
    let arg = |p: &Path| p.to_str().unwrap().to_string();
    vec![
        "--data".into(),
        arg(&dir.join("data")),
        "--index".into(),
        arg(&dir.join("index")),
        "--corpus".into(),
        arg(&shipped_corpus()),
    ]
}

/// A `serve` with WeChat in safe mode and WeCom (app and robot) on the fakes.
fn start(dir: &Path, wechat_api: &str, wecom_api: &str) -> (KillOnDrop, String) {
    let config = dir.join("xiaoer.toml");
    std::fs::write(
        &config,
        format!(
            r#"[wechat]
app_id = "{WX_APP_ID}"
token = "{WX_TOKEN}"
encoding_aes_key = "{WX_KEY}"
secret = "wechat-secret"
api_base = "{wechat_api}"

[wecom]
corp_id = "{CORP_ID}"
agent_id = {AGENT_ID}
secret = "{SECRET}"
token = "{TOKEN}"
encoding_aes_key = "{KEY}"
api_base = "{wecom_api}"
console_url = "{CONSOLE}"
robot_webhook = "{wecom_api}{ROBOT_PATH}?key=serve-robot-key"
"#
        ),
    )
    .unwrap();
    let mut cmd = xiaoer();
    cmd.args(["--config", config.to_str().unwrap()])
        .args(places(dir))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (child, url) = spawn_server(&mut cmd);
    (KillOnDrop(child), url)
}

/// WeChat's safe-mode POST of text message `msg_id`: the HTTP status, and the reply's text
/// opened from its envelope (`None` when the answer was not a message, e.g. `success`).
async fn deliver(base: &str, msg_id: u64, text: &str) -> (u16, Option<String>) {
    let (ts, nonce) = ("1700000000", "4242");
    let inner = format!(
        "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let key = AesKey::from_encoding_key(WX_KEY).unwrap();
    let sealed = key.encrypt(&inner, WX_APP_ID);
    let sig = signature(&[WX_TOKEN, ts, nonce]);
    let msg_sig = signature(&[WX_TOKEN, ts, nonce, &sealed]);
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/wechat?signature={sig}&timestamp={ts}&nonce={nonce}&openid={OPENID}&encrypt_type=aes&msg_signature={msg_sig}"
        ))
        .body(format!(
            "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
        ))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    let content = Incoming::parse(&body)
        .ok()
        .and_then(|outer| outer.encrypt)
        .map(|sealed| {
            let xml = key
                .decrypt(&sealed, WX_APP_ID)
                .expect("sealed to our AppID");
            Incoming::parse(&xml).unwrap().content
        });
    (status, content)
}

/// A commissioner's message to the WeCom app, sealed and signed as WeCom posts it.
async fn wecom_write(base: &str, user: &str, msg_id: u64, content: &str) {
    let (uri, body) = sealed_post(&text_xml(user, msg_id, content));
    let r = reqwest::Client::new()
        .post(format!("{base}{uri}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "", "answered at once, empty");
}

/// Waits (at most 10 s) until the fake WeChat API accepted a text to the investor holding
/// `part` (its first send, with T1, is refused as expired and sent again).
async fn wechat_text(fake: &FakeWechat, part: &str) -> String {
    let accepted = |s: &Send| s.0 != "T1" && s.1 == OPENID && s.2.contains(part);
    let sends = sends_when(fake, &format!("{part:?} to the investor"), |sends| {
        sends.iter().any(accepted)
    })
    .await;
    sends
        .into_iter()
        .find(accepted)
        .map(|s| s.2)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_investor_and_a_wecom_commissioner_through_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let (wechat_api, wecom_api) = (fake_wechat().await, fake_wecom(false).await);
    // A commissioner tied to a WeCom UserID, added before the server holds the store.
    let mut args = places(dir.path());
    args.extend(
        [
            "staff",
            "add",
            "alice",
            "--role",
            "commissioner",
            "--wecom",
            "alice.w",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = run(&args, "");
    assert!(ok, "{err}");
    let staff_token = out.lines().last().unwrap().trim().to_string();
    let (_server, url) = start(dir.path(), &wechat_api.url, &wecom_api.url);

    // A question the corpus answers: the passive reply, sealed, with its sources.
    let (status, first) = deliver(&url, 9001, QUESTION).await;
    assert_eq!(status, 200);
    let first = first.expect("a sealed passive reply");
    assert!(first.contains("15%") && first.contains("来源："), "{first}");
    // WeChat heard nothing in time (as far as it knows) and redelivers at 5 s and 10 s,
    // while the rest of the conversation goes on.
    let replays = {
        let url = url.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let mut replies = Vec::new();
            for at in [5, 10] {
                tokio::time::sleep_until((start + Duration::from_secs(at)).into()).await;
                replies.push(deliver(&url, 9001, QUESTION).await);
            }
            replies
        })
    };

    // The investor asks for a person: a card to alice's WeCom, a brief to the group.
    let (status, handed) = deliver(&url, 9002, "转人工").await;
    assert_eq!(status, 200);
    assert!(
        handed.is_some_and(|t| !t.is_empty()),
        "the bot says a person is coming"
    );
    let card = messages_to(&wecom_api, "alice.w", 1).await.remove(0);
    assert_eq!(card["msgtype"], "textcard", "{card}");
    let title = card["textcard"]["title"].as_str().unwrap();
    let id: u64 = title.trim_start_matches("工单 #").parse().unwrap();
    assert!(
        card["textcard"]["description"]
            .as_str()
            .unwrap()
            .contains("转人工"),
        "{card}"
    );
    let briefs = robot_named(&wecom_api, &[id], Duration::from_secs(10)).await;
    assert!(briefs[0].contains("微信"), "{briefs:?}");

    // alice claims it and answers from WeCom: the answer reaches the investor in WeChat.
    wecom_write(&url, "alice.w", 501, &format!("认领 {id}")).await;
    text_to(&wecom_api, "alice.w", &format!("已认领工单 #{id}")).await;
    let hello = "你好，我是招商护商专员王敏，高企认定的问题我来跟进。";
    wecom_write(&url, "alice.w", 502, &format!("{id} {hello}")).await;
    let reached = wechat_text(&wechat_api, "高企认定的问题我来跟进").await;
    assert_eq!(reached, format!("【招商护商专员】{hello}"));

    // While alice owns the chat the bot stays silent; she reads the message in WeCom.
    let (status, silent) = deliver(&url, 9003, "高企税率多少").await;
    assert_eq!((status, silent), (200, None), "no bot answer");
    let follow = text_to(&wecom_api, "alice.w", "高企税率多少").await;
    assert_eq!(follow, format!("工单 #{id} 投资者：高企税率多少"));

    // Both redeliveries got the first answer.
    for (status, reply) in replays.await.unwrap() {
        assert_eq!((status, reply.as_deref()), (200, Some(first.as_str())));
    }
    // Nothing but alice's reply went to the investor through the API: no bot answer.
    let to_investor: Vec<String> = wechat_api
        .sends
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.0 != "T1" && s.1 == OPENID && !s.2.contains("招商护商专员"))
        .map(|s| s.2.clone())
        .collect();
    assert!(
        to_investor.iter().all(|t| !t.contains("15%")),
        "{to_investor:?}"
    );

    // The conversation as the console shows it: the question stored and answered once.
    let ticket = crate::get_json(&format!("{url}/api/tickets/{id}"), &staff_token).await;
    let messages = ticket["messages"].as_array().expect("messages");
    let by = |kind: &str| -> Vec<&str> {
        messages
            .iter()
            .filter(|m| m["author"]["kind"] == kind)
            .map(|m| m["text"].as_str().unwrap_or(""))
            .collect()
    };
    assert_eq!(
        by("investor"),
        [QUESTION, "转人工", "高企税率多少"],
        "{messages:#?}"
    );
    let bot = by("bot");
    assert_eq!(
        bot.len(),
        2,
        "the question and the hand-off answered, once each: {bot:?}"
    );
    assert_eq!(by("staff"), [hello]);
    assert_eq!(ticket["ticket"]["state"]["status"], "claimed");
}
