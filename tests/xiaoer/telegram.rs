//! Telegram end to end without Telegram: the real teloxide `Bot` pointed (`set_api_url`) at
//! a fake Bot API server on 127.0.0.1 that feeds updates and records what the bot sends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use xiaoer::channels::telegram::{self, TelegramConfig};
use xiaoer::desk::{Desk, Role};

use super::telegram_fake::*;
use super::{desk_for, shipped_corpus};

pub(super) const STAFF_GROUP: i64 = -100_777;
const INVESTOR: i64 = 5001;
const ADMIN: u64 = 42;

async fn start_bot(desk: Arc<Desk>, fake: &FakeTelegram) {
    start_bot_with(desk, fake, false).await
}

async fn start_bot_with(desk: Arc<Desk>, fake: &FakeTelegram, forum: bool) {
    let config = TelegramConfig {
        staff_group_forum: forum,
        token: Some("123456:TEST-TOKEN".into()),
        api_url: Some(fake.url.clone()),
        staff_group: Some(STAFF_GROUP),
        admins: vec![ADMIN],
        ..TelegramConfig::default()
    };
    let bot = telegram::bot(&config).unwrap();
    tokio::spawn(async move { telegram::run(bot, desk, config).await.unwrap() });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investor_commissioner_and_admin_through_telegram() {
    let fake = FakeTelegram::start().await;
    let (_dir, desk) = desk_for(&shipped_corpus());
    start_bot(desk.clone(), &fake).await;
    let investor = user(INVESTOR as u64, "kenji", "zh-hans");
    let alice = user(7, "alice", "zh-hans");
    let bob = user(8, "bob", "zh-hans");

    // /start greets in the user's language.
    fake.message(
        INVESTOR,
        user(INVESTOR as u64, "kenji", "en"),
        "/start",
        None,
    );
    fake.wait_for("an English greeting", 0, text_to(INVESTOR, "Hello"))
        .await;

    // An answerable question: answer, sources, feedback buttons, "typing" first.
    let n = fake.sent().len();
    fake.message(
        INVESTOR,
        investor.clone(),
        "高新技术企业的企业所得税税率是多少？",
        None,
    );
    let answer = fake
        .wait_for("an answer", n, text_to(INVESTOR, "15%"))
        .await;
    assert!(
        answer["text"].as_str().unwrap().contains("来源"),
        "{answer}"
    );
    assert!(
        answer["reply_markup"].to_string().contains("vote:up:"),
        "{answer}"
    );
    assert!(
        fake.sent()[n..]
            .iter()
            .any(|(m, v)| m == "sendchataction" && v["action"] == "typing")
    );

    // Out of scope: a hand-off, and the ticket's brief in the staff group with a Claim button.
    let n = fake.sent().len();
    fake.message(INVESTOR, investor.clone(), "明天无锡会下雨吗", None);
    fake.wait_for("the hand-off", n, text_to(INVESTOR, "转接招商护商专员"))
        .await;
    let brief = fake
        .wait_for("the brief", n, text_to(STAFF_GROUP, "工单 #1"))
        .await;
    assert!(brief["text"].as_str().unwrap().contains("明天无锡会下雨吗"));
    assert!(brief["reply_markup"].to_string().contains("claim:1"));

    // Two commissioners press Claim: exactly one wins, the other is told who has it.
    let n = fake.sent().len();
    fake.press(alice.clone(), as_message(&brief), "claim:1");
    fake.wait_for(
        "alice's claim noted",
        n,
        text_to(STAFF_GROUP, "已由 tg:alice 认领"),
    )
    .await;
    fake.press(bob.clone(), as_message(&brief), "claim:1");
    fake.wait_for("bob told", n, |m, v| {
        m == "answercallbackquery"
            && v["text"]
                .as_str()
                .is_some_and(|t| t.contains("已由 tg:alice 认领"))
    })
    .await;

    // Alice replies to the brief: the investor receives it.
    let n = fake.sent().len();
    fake.message(
        STAFF_GROUP,
        alice.clone(),
        "您好，我是专员 alice，天气请以气象台为准。",
        Some(as_message(&brief)),
    );
    fake.wait_for(
        "the reply delivered",
        n,
        text_to(INVESTOR, "我是专员 alice"),
    )
    .await;

    // While alice owns the chat the bot stays silent.
    let n = fake.sent().len();
    fake.message(
        INVESTOR,
        investor.clone(),
        "高新技术企业的企业所得税税率是多少？",
        None,
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !fake.sent()[n..]
            .iter()
            .any(|(m, v)| m == "sendmessage" && v["chat_id"] == INVESTOR),
        "the bot answered over the commissioner"
    );
    assert_eq!(
        desk.conversation(&format!("telegram:{INVESTOR}"))
            .unwrap()
            .unwrap()
            .owner
            .state(),
        "staff"
    );

    // /handback returns the chat to the bot.
    let n = fake.sent().len();
    fake.message(
        STAFF_GROUP,
        alice.clone(),
        "/handback",
        Some(as_message(&brief)),
    );
    fake.wait_for("the hand-back note", n, text_to(INVESTOR, "交还给小二"))
        .await;
    let n = fake.sent().len();
    fake.message(
        INVESTOR,
        investor.clone(),
        "高新技术企业的企业所得税税率是多少？",
        None,
    );
    fake.wait_for("the bot again", n, text_to(INVESTOR, "15%"))
        .await;

    // /reindex: refused for anyone but a configured admin.
    let n = fake.sent().len();
    fake.message(INVESTOR, investor.clone(), "/reindex", None);
    fake.wait_for("a refusal", n, text_to(INVESTOR, "仅管理员"))
        .await;
    let n = fake.sent().len();
    fake.message(STAFF_GROUP, user(ADMIN, "root", "en"), "/reindex", None);
    fake.wait_for(
        "the admin's re-index",
        n,
        text_to(STAFF_GROUP, "re-indexed"),
    )
    .await;
    fake.message(STAFF_GROUP, user(ADMIN, "root", "en"), "/stats", None);
    fake.wait_for("stats", n, text_to(STAFF_GROUP, "questions"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out_and_nothing_is_lost() {
    let fake = FakeTelegram::start().await;
    let (_dir, desk) = desk_for(&shipped_corpus());
    start_bot(desk.clone(), &fake).await;
    fake.state.lock().unwrap().rate_limit_next = 2;
    let started = Instant::now();
    fake.message(
        INVESTOR,
        user(INVESTOR as u64, "kenji", "zh-hans"),
        "高新技术企业的企业所得税税率是多少？",
        None,
    );
    fake.wait_for("the answer after the 429s", 0, text_to(INVESTOR, "15%"))
        .await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retry_after was not waited out"
    );
    let sent = fake.sent();
    assert_eq!(sent.iter().filter(|(m, _)| m == "429").count(), 2);
    assert_eq!(
        sent.iter()
            .filter(|(m, v)| m == "sendmessage" && v["chat_id"] == INVESTOR)
            .count(),
        1
    );
    // The message and the answer are stored.
    assert_eq!(
        desk.messages(&format!("telegram:{INVESTOR}"), 0)
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_ticket_answered_from_the_web_console_reaches_the_chat() {
    let fake = FakeTelegram::start().await;
    let (_dir, desk) = desk_for(&shipped_corpus());
    let token = desk
        .add_staff("carol", Role::Commissioner, &[], &[])
        .unwrap();
    start_bot(desk.clone(), &fake).await;
    fake.message(
        INVESTOR,
        user(INVESTOR as u64, "kenji", "zh-hans"),
        "/human",
        None,
    );
    fake.wait_for("the brief", 0, text_to(STAFF_GROUP, "工单 #1"))
        .await;

    let web = xiaoer::channels::web::app(xiaoer::channels::web::WebState::new(
        desk.clone(),
        Default::default(),
        std::env::temp_dir(),
    ));
    use tower::ServiceExt;
    for (uri, body) in [
        ("/api/tickets/1/claim", "{}"),
        (
            "/api/tickets/1/reply",
            "{\"text\": \"carol 在网页工作台回复您\"}",
        ),
    ] {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        assert_eq!(
            web.clone().oneshot(req).await.unwrap().status(),
            200,
            "{uri}"
        );
    }
    fake.wait_for(
        "the web reply in Telegram",
        0,
        text_to(INVESTOR, "carol 在网页工作台回复您"),
    )
    .await;

    // A long reply is split under Telegram's limit.
    let long = "这是一段很长的说明。".repeat(600);
    desk.reply(1, "carol", &long).unwrap();
    let started = Instant::now();
    loop {
        let parts: Vec<usize> = fake
            .sent()
            .iter()
            .filter(|(m, v)| {
                m == "sendmessage"
                    && v["chat_id"] == INVESTOR
                    && v["text"].as_str().unwrap().contains("很长的说明")
            })
            .map(|(_, v)| v["text"].as_str().unwrap().encode_utf16().count())
            .collect();
        if parts.len() >= 2 {
            assert!(parts.iter().all(|n| *n <= 4096), "{parts:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "long reply not split: {parts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_blocked_the_bot_closes_the_conversation() {
    let fake = FakeTelegram::start().await;
    let (_dir, desk) = desk_for(&shipped_corpus());
    start_bot(desk.clone(), &fake).await;
    fake.message(
        INVESTOR,
        user(INVESTOR as u64, "kenji", "zh-hans"),
        "/human",
        None,
    );
    fake.wait_for("the brief", 0, text_to(STAFF_GROUP, "工单 #1"))
        .await;
    desk.claim(1, "carol").unwrap();
    fake.state.lock().unwrap().blocked.push(INVESTOR);
    desk.reply(1, "carol", "还在吗？").unwrap();
    let started = Instant::now();
    while desk.ticket(1).unwrap().is_open() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the ticket stayed open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Exactly one attempt: a 403 is not retried in a loop.
    assert_eq!(
        fake.sent().iter().filter(|(m, _)| m == "blocked").count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_forum_group_each_ticket_gets_a_topic() {
    let fake = FakeTelegram::start().await;
    let (_dir, desk) = desk_for(&shipped_corpus());
    start_bot_with(desk.clone(), &fake, true).await;
    fake.message(
        INVESTOR,
        user(INVESTOR as u64, "kenji", "zh-hans"),
        "/human",
        None,
    );
    let topic = fake
        .wait_for("a topic", 0, |m, _| m == "createforumtopic")
        .await;
    assert!(topic["name"].as_str().unwrap().starts_with("工单 #1"));
    let brief = fake
        .wait_for("the brief in the topic", 0, text_to(STAFF_GROUP, "工单 #1"))
        .await;
    assert_eq!(brief["message_thread_id"], 555);
    desk.claim(1, "tg:alice").unwrap();
    // Any message in the topic (not only a reply to the brief) answers the investor.
    let mut m = json!({"message_id": 900, "date": 1_800_000_000, "chat": chat(STAFF_GROUP), "from": user(7, "alice", "zh-hans"),
                       "text": "在话题里回复您", "message_thread_id": 555, "is_topic_message": true});
    m["chat"]["is_forum"] = json!(true);
    fake.push(json!({"message": m}));
    fake.wait_for(
        "the topic reply delivered",
        0,
        text_to(INVESTOR, "在话题里回复您"),
    )
    .await;
}
