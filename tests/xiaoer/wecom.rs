//! WeCom for commissioners, in-process through `oneshot` like the WeChat tests, against a
//! fake WeCom API on 127.0.0.1: the URL check with its sealed `echostr`, signatures, a web
//! hand-off reaching the routed commissioner as a card, claiming, replying to the web
//! investor, reading their answer and closing from WeCom, strangers refused, an expired token fetched again, and
//! the per-person limit queueing messages instead of dropping them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use xiaoer::channels::wechat::crypto::{AesKey, signature};
use xiaoer::channels::wecom::api::Api;
use xiaoer::channels::wecom::mailer::Mailer;
use xiaoer::channels::wecom::{WecomConfig, WecomState, router};
use xiaoer::desk::{Desk, Role, TicketState};

use super::web::{history, say, session_cookie, texts_of};
use super::wechat::send;
use super::wecom_fake::{FakeApi, fake_api, messages_to, sent_to, text_to, texts_counted};
use super::{desk_for, shipped_corpus};

// Tencent's WeCom sample values (its callback guide and sample code).
pub(super) const TOKEN: &str = "QDG6eK";
pub(super) const CORP_ID: &str = "wx5823bf96d3bd56c7";
pub(super) const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub(super) const SECRET: &str = "app-secret";
pub(super) const AGENT_ID: i64 = 1000002;
const TS: &str = "1409659813";
const NONCE: &str = "1372623149";
pub(super) const CONSOLE: &str = "https://xiaoer.example/staff";

struct Setup {
    _dir: tempfile::TempDir,
    desk: Arc<Desk>,
    wecom: Router,
    web: Router,
    fake: FakeApi,
    mailer: Arc<Mailer>,
}

/// A desk with the WeCom callback, the card sender and the web chat, messages limited to
/// `limit` per `window` per person.
async fn setup(limit: usize, window: Duration, expire_first: bool) -> Setup {
    let fake = fake_api(expire_first).await;
    let (dir, desk) = desk_for(&shipped_corpus());
    let config = WecomConfig {
        corp_id: Some(CORP_ID.into()),
        agent_id: Some(AGENT_ID),
        secret: Some(SECRET.into()),
        token: Some(TOKEN.into()),
        encoding_aes_key: Some(KEY.into()),
        api_base: Some(fake.url.clone()),
        console_url: Some(CONSOLE.into()),
        robot_webhook: None,
    };
    let api = Arc::new(Api::new(&fake.url, CORP_ID, SECRET, AGENT_ID));
    let mailer = Mailer::with_limit(api, limit, window);
    let state = WecomState::new(desk.clone(), &config, mailer.clone())
        .unwrap()
        .unwrap();
    tokio::spawn(xiaoer::channels::wecom::outbound::outbound(
        desk.clone(),
        Some(mailer.clone()),
        None,
        config.console_url.clone(),
    ));
    let web = xiaoer::channels::web::app(xiaoer::channels::web::WebState::new(
        desk.clone(),
        Default::default(),
        dir.path().join("drafts"),
    ));
    Setup {
        _dir: dir,
        desk,
        wecom: router(Arc::new(state)),
        web,
        fake,
        mailer,
    }
}

/// Base64 as a query value: `+`, `/` and `=` escaped.
fn escaped(b64: &str) -> String {
    b64.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

pub(super) fn text_xml(user: &str, msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
    )
}

/// What WeCom posts for `inner`: sealed to the CorpID and signed.
pub(super) fn sealed_post(inner: &str) -> (String, String) {
    let sealed = AesKey::from_encoding_key(KEY)
        .unwrap()
        .encrypt(inner, CORP_ID);
    let sig = signature(&[TOKEN, TS, NONCE, &sealed]);
    (
        format!("/wecom?msg_signature={sig}&timestamp={TS}&nonce={NONCE}"),
        format!(
            "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[{AGENT_ID}]]></AgentID><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
        ),
    )
}

/// A commissioner (or anyone) writing `content` to the app.
async fn write(s: &Setup, user: &str, msg_id: u64, content: &str) {
    let (uri, body) = sealed_post(&text_xml(user, msg_id, content));
    let (status, answer) = send(&s.wecom, "POST", &uri, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.is_empty(), "answered at once, empty: {answer}");
}

pub(super) fn commissioner(desk: &Desk, name: &str, region: &str, wecom: &str) -> String {
    let token = desk
        .add_staff(name, Role::Commissioner, &[region.to_string()], &[])
        .unwrap();
    desk.set_wecom_user("cli", name, Some(wecom)).unwrap();
    token
}

#[tokio::test]
async fn the_url_check_answers_the_decrypted_echostr_only_when_signed() {
    let s = setup(30, Duration::from_secs(60), false).await;
    let echostr = AesKey::from_encoding_key(KEY)
        .unwrap()
        .encrypt("1616140317555161061", CORP_ID);
    let sig = signature(&[TOKEN, TS, NONCE, &echostr]);
    let uri = |sig: &str, echo: &str| {
        format!("/wecom?msg_signature={sig}&timestamp={TS}&nonce={NONCE}&echostr={echo}")
    };
    let (status, body) = send(&s.wecom, "GET", &uri(&sig, &escaped(&echostr)), "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "1616140317555161061")
    );
    // Signed over another echostr, or not at all: refused, nothing revealed.
    let (status, body) = send(
        &s.wecom,
        "GET",
        &uri(&"0".repeat(40), &escaped(&echostr)),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("1616140317555161061"));
    // Sealed to another corp: refused though signed.
    let other = AesKey::from_encoding_key(KEY)
        .unwrap()
        .encrypt("1616140317555161061", "ww_other");
    let sig = signature(&[TOKEN, TS, NONCE, &other]);
    let (status, _) = send(&s.wecom, "GET", &uri(&sig, &escaped(&other)), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_signatures_and_malformed_bodies_are_refused_and_nothing_is_done() {
    let s = setup(30, Duration::from_secs(60), false).await;
    commissioner(&s.desk, "alice", "新吴区", "alice.w");
    let t = s
        .desk
        .investor_message("web", "x", "转人工", &Default::default())
        .unwrap()
        .ticket_opened
        .unwrap();
    let (uri, body) = sealed_post(&text_xml("alice.w", 1, &format!("认领 {t}")));
    let forged = format!(
        "/wecom?msg_signature={}&timestamp={TS}&nonce={NONCE}",
        "0".repeat(40)
    );
    let (status, answer) = send(&s.wecom, "POST", &forged, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!answer.contains("认领"));
    // Malformed XML, a missing Encrypt, bad base64 (signed), a body past the limit.
    let (status, _) = send(&s.wecom, "POST", &uri, "<xml><Encrypt>").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&s.wecom, "POST", &uri, "<xml></xml>").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let junk = "not base64!";
    let sig = signature(&[TOKEN, TS, NONCE, junk]);
    let (status, _) = send(
        &s.wecom,
        "POST",
        &format!("/wecom?msg_signature={sig}&timestamp={TS}&nonce={NONCE}"),
        &format!("<xml><Encrypt><![CDATA[{junk}]]></Encrypt></xml>"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let huge = format!("<xml><Encrypt>{}</Encrypt></xml>", "A".repeat(200_000));
    let (status, _) = send(&s.wecom, "POST", &uri, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(s.desk.ticket(t).unwrap().state, TicketState::Open));
    assert!(
        sent_to(&s.fake, "alice.w")
            .iter()
            .all(|b| b["msgtype"] == "textcard")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_hand_off_is_claimed_answered_and_closed_from_wecom() {
    let s = setup(30, Duration::from_secs(60), false).await;
    let alice = commissioner(&s.desk, "alice", "新吴区", "alice.w");
    let bob = commissioner(&s.desk, "bob", "江阴市", "bob.w");
    // Both online: the ticket is routed by district, to alice alone.
    s.desk.authenticate(&alice).unwrap().unwrap();
    s.desk.authenticate(&bob).unwrap().unwrap();

    let r = say(&s.web, None, "新吴区的厂房问题，转人工").await;
    let cookie = session_cookie(&r);
    let t = s
        .desk
        .open_tickets()
        .unwrap()
        .into_iter()
        .find(|t| t.conversation.starts_with("web:"))
        .expect("a ticket from the web chat");
    assert_eq!(t.routed_to, ["alice"]);
    let id = t.id;

    let card = messages_to(&s.fake, "alice.w", 1).await.remove(0);
    assert_eq!(card["msgtype"], "textcard", "{card}");
    assert_eq!(card["agentid"], AGENT_ID);
    assert_eq!(card["textcard"]["title"], format!("工单 #{id}"));
    assert_eq!(card["textcard"]["url"], CONSOLE);
    assert_eq!(card["textcard"]["btntxt"], "认领");
    let description = card["textcard"]["description"].as_str().unwrap();
    assert!(description.contains("新吴区的厂房问题"), "{description}");
    assert!(description.contains("原因："), "{description}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        sent_to(&s.fake, "bob.w").is_empty(),
        "bob was not routed the ticket"
    );

    write(&s, "alice.w", 101, &format!("认领 {id}")).await;
    let claimed = text_to(&s.fake, "alice.w", "已认领").await;
    assert!(
        claimed.starts_with(&format!("已认领工单 #{id}")),
        "{claimed}"
    );
    assert!(matches!(
        s.desk.ticket(id).unwrap().state,
        TicketState::Claimed { ref by, .. } if by == "alice"
    ));

    // WeCom redelivers the same message: it is not acted on twice.
    write(&s, "alice.w", 101, &format!("认领 {id}")).await;

    // Bob cannot take it.
    write(&s, "bob.w", 201, &format!("claim {id}")).await;
    let no = text_to(&s.fake, "bob.w", "未完成").await;
    assert!(no.contains("already claimed by alice"), "{no}");

    write(
        &s,
        "alice.w",
        102,
        &format!("{id} 您好，我是招商护商专员，厂房问题我来跟进。"),
    )
    .await;
    text_to(&s.fake, "alice.w", &format!("已回复工单 #{id}")).await;
    let m = history(&s.web, &cookie).await;
    let texts = texts_of(&m);
    assert!(
        texts.contains(&"您好，我是招商护商专员，厂房问题我来跟进。"),
        "{texts:?}"
    );

    // The investor answers in the web chat: alice reads it in WeCom.
    let r = say(
        &s.web,
        Some(cookie.as_str()),
        "好的，厂房面积大约两千平方米",
    )
    .await;
    assert_eq!(r.json["state"], "staff");
    let follow = text_to(&s.fake, "alice.w", "两千平方米").await;
    assert_eq!(
        follow,
        format!("工单 #{id} 投资者：好的，厂房面积大约两千平方米")
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let forwards = texts_counted(&s.fake, "alice.w", |t| t.contains("投资者："));
    assert_eq!(forwards, 1, "only what came after the claim, once");
    assert!(
        sent_to(&s.fake, "bob.w")
            .iter()
            .all(|b| !b.to_string().contains("两千平方米"))
    );

    // Holding this one ticket, alice answers without its number: the app's chat with her
    // is the ticket's thread.
    write(&s, "alice.w", 105, "两千平方米够用，下周可以安排看厂房。").await;
    let acks = || texts_counted(&s.fake, "alice.w", |t| t == format!("已回复工单 #{id}"));
    for _ in 0..100 {
        if acks() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(acks(), 2, "the number-less reply went to the ticket");
    let texts_now = history(&s.web, &cookie).await;
    assert!(
        texts_of(&texts_now).contains(&"两千平方米够用，下周可以安排看厂房。"),
        "{:?}",
        texts_of(&texts_now)
    );

    write(&s, "alice.w", 103, &format!("关闭 {id}")).await;
    text_to(&s.fake, "alice.w", &format!("工单 #{id} 已结束")).await;
    assert!(!s.desk.ticket(id).unwrap().is_open());
    let claims = texts_counted(&s.fake, "alice.w", |t| t.starts_with("已认领"));
    assert_eq!(claims, 1, "the redelivery was acted on once");

    // Holding no ticket now, anything else gets the list of commands.
    write(&s, "alice.w", 104, "你好").await;
    text_to(&s.fake, "alice.w", "可用命令").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_politely_and_an_expired_token_is_fetched_again() {
    // The first send with T1 is refused as expired (42001).
    let s = setup(30, Duration::from_secs(60), true).await;
    let t = s
        .desk
        .investor_message("web", "y", "转人工", &Default::default())
        .unwrap()
        .ticket_opened
        .unwrap();
    write(&s, "mallory", 1, &format!("认领 {t}")).await;
    let refusal = text_to(&s.fake, "mallory", "无法处理").await;
    assert!(refusal.contains("请联系管理员"), "{refusal}");
    assert!(matches!(s.desk.ticket(t).unwrap().state, TicketState::Open));
    // Sent twice: refused with T1, then again with a fresh T2. The refused attempt is
    // recorded too, so wait for both rather than for the first text seen.
    messages_to(&s.fake, "mallory", 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sends = s.fake.sends.lock().unwrap().clone();
    let tokens: Vec<&str> = sends
        .iter()
        .filter(|x| x.1 == "mallory")
        .map(|x| x.0.as_str())
        .collect();
    assert_eq!(tokens, ["T1", "T2"], "{sends:?}");
    assert_eq!(s.fake.tokens.load(Ordering::SeqCst), 2);

    // A disabled commissioner is a stranger too.
    commissioner(&s.desk, "dora", "新吴区", "dora.w");
    s.desk.set_disabled("cli", "dora", true).unwrap();
    write(&s, "dora.w", 2, &format!("认领 {t}")).await;
    text_to(&s.fake, "dora.w", "无法处理").await;
    assert!(matches!(s.desk.ticket(t).unwrap().state, TicketState::Open));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_person_limit_cards_wait_their_turn_instead_of_being_dropped() {
    // Two messages per person per 1.5 s stands in for WeCom's 30 a minute.
    let window = Duration::from_millis(1500);
    let s = setup(2, window, false).await;
    commissioner(&s.desk, "alice", "新吴区", "alice.w");
    let start = Instant::now();
    // Nobody online: each ticket goes to every commissioner with a WeCom account.
    for chat in ["a", "b", "c"] {
        s.desk
            .investor_message("web", chat, "转人工", &Default::default())
            .unwrap();
    }
    messages_to(&s.fake, "alice.w", 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_to(&s.fake, "alice.w").len(), 2, "the third waits");
    assert_eq!(s.mailer.pending("alice.w"), 1);
    let cards = messages_to(&s.fake, "alice.w", 3).await;
    assert!(start.elapsed() >= window, "{:?}", start.elapsed());
    assert_eq!(s.mailer.pending("alice.w"), 0);
    let titles: Vec<&str> = cards
        .iter()
        .map(|c| c["textcard"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 3);
    assert!(titles.iter().all(|t| t.starts_with("工单 #")), "{titles:?}");
}
