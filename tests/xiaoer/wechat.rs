//! The WeChat callback in-process through `oneshot`: the handshake, signatures, Tencent's
//! safe mode, a redelivered message answered and stored once, and the bot silent while a
//! commissioner owns the chat.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use xiaoer::channels::wechat::crypto::{AesKey, signature};
use xiaoer::channels::wechat::message::Incoming;
use xiaoer::channels::wechat::{WechatConfig, WechatState, router};
use xiaoer::desk::{Desk, Role};

use super::wechat_fake::{Send, fake_api, sends_when};
use super::{desk_for, shipped_corpus, tiny_corpus};

const TOKEN: &str = "spamtest";
const APP_ID: &str = "wx2c2769f8efd9abc2";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const TS: &str = "1409735669";
const NONCE: &str = "1320562132";

fn wechat() -> (tempfile::TempDir, std::sync::Arc<Desk>, Router) {
    wechat_on(&shipped_corpus())
}

fn wechat_on(corpus: &std::path::Path) -> (tempfile::TempDir, std::sync::Arc<Desk>, Router) {
    let (dir, desk) = desk_for(corpus);
    let config = WechatConfig {
        app_id: Some(APP_ID.into()),
        token: Some(TOKEN.into()),
        encoding_aes_key: Some(KEY.into()),
        ..WechatConfig::default()
    };
    let state = WechatState::new(desk.clone(), &config).unwrap().unwrap();
    (dir, desk, router(std::sync::Arc::new(state)))
}

/// A request to a channel's router: its status and body text.
pub(super) async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn signed_query() -> String {
    let sig = signature(&[TOKEN, TS, NONCE]);
    format!("signature={sig}&timestamp={TS}&nonce={NONCE}&openid=o_investor")
}

fn text_message(openid: &str, msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

#[tokio::test]
async fn the_handshake_echoes_only_a_signed_request() {
    let (_dir, _desk, app) = wechat();
    let (status, body) = send(
        &app,
        "GET",
        &format!("/wechat?{}&echostr=hello123", signed_query()),
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello123"));
    let forged = format!(
        "/wechat?signature={}&timestamp={TS}&nonce={NONCE}&echostr=x",
        "0".repeat(40)
    );
    assert_eq!(
        send(&app, "GET", &forged, "").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_question_is_answered_passively_and_a_redelivery_is_answered_once() {
    let (_dir, desk, app) = wechat();
    let uri = format!("/wechat?{}", signed_query());
    let body = text_message("o_investor", 42, "高新技术企业的企业所得税税率是多少？");
    let (status, xml) = send(&app, "POST", &uri, &body).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let reply = Incoming::parse(&xml).unwrap();
    assert_eq!(reply.to_user_name, "o_investor");
    assert_eq!(reply.from_user_name, "gh_office");
    assert_eq!(reply.msg_type, "text");
    assert!(reply.content.contains("15%"), "{}", reply.content);
    assert!(
        reply.content.contains("来源："),
        "sources as plain text: {}",
        reply.content
    );
    assert_eq!(desk.messages("wechat:o_investor", 0).unwrap().len(), 2);

    // WeChat got no reply in 5 s and delivers the same MsgId again: the same answer, and
    // nothing stored twice.
    let (_, again) = send(&app, "POST", &uri, &body).await;
    assert_eq!(Incoming::parse(&again).unwrap().content, reply.content);
    assert_eq!(desk.messages("wechat:o_investor", 0).unwrap().len(), 2);

    // A new message is a new question.
    send(&app, "POST", &uri, &text_message("o_investor", 43, "谢谢")).await;
    assert_eq!(desk.messages("wechat:o_investor", 0).unwrap().len(), 4);
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_nothing_is_stored() {
    let (_dir, desk, app) = wechat();
    let uri = format!(
        "/wechat?signature={}&timestamp={TS}&nonce={NONCE}",
        "f".repeat(40)
    );
    let (status, body) = send(&app, "POST", &uri, &text_message("o_mallory", 1, "转人工")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("转人工"));
    assert!(desk.messages("wechat:o_mallory", 0).unwrap().is_empty());
}

#[tokio::test]
async fn safe_mode_messages_are_opened_and_answered_sealed() {
    let (_dir, desk, app) = wechat();
    let key = AesKey::from_encoding_key(KEY).unwrap();
    let sealed = key.encrypt(
        &text_message("o_safe", 7, "What is the CIT rate for an HNTE?"),
        APP_ID,
    );
    let msg_signature = signature(&[TOKEN, TS, NONCE, &sealed]);
    let uri = format!(
        "/wechat?{}&encrypt_type=aes&msg_signature={msg_signature}",
        signed_query()
    );
    let envelope = format!(
        "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    );
    let (status, xml) = send(&app, "POST", &uri, &envelope).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let outer = Incoming::parse(&xml).unwrap();
    let reply_sealed = outer.encrypt.expect("a sealed reply");
    assert!(
        xml.contains(&format!(
            "<MsgSignature><![CDATA[{}]]>",
            signature(&[TOKEN, TS, NONCE, &reply_sealed])
        )),
        "{xml}"
    );
    let inner = Incoming::parse(&key.decrypt(&reply_sealed, APP_ID).unwrap()).unwrap();
    assert_eq!(inner.to_user_name, "o_safe");
    assert!(inner.content.contains("15%"), "{}", inner.content);
    assert_eq!(desk.messages("wechat:o_safe", 0).unwrap().len(), 2);

    // A wrong msg_signature is refused even though the query's signature is right.
    let forged = format!(
        "/wechat?{}&encrypt_type=aes&msg_signature={}",
        signed_query(),
        "0".repeat(40)
    );
    assert_eq!(
        send(&app, "POST", &forged, &envelope).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_bot_is_silent_while_a_commissioner_owns_the_chat() {
    let (_dir, desk, app) = wechat();
    desk.add_staff("alice", Role::Commissioner, &[], &[])
        .unwrap();
    let uri = format!("/wechat?{}", signed_query());
    let (_, xml) = send(&app, "POST", &uri, &text_message("o_owned", 1, "转人工")).await;
    assert!(!Incoming::parse(&xml).unwrap().content.is_empty(), "{xml}");
    let ticket = desk
        .open_tickets()
        .unwrap()
        .into_iter()
        .find(|t| t.conversation == "wechat:o_owned")
        .expect("a ticket for the WeChat investor")
        .id;
    desk.claim(ticket, "alice").unwrap();
    let (status, body) = send(
        &app,
        "POST",
        &uri,
        &text_message("o_owned", 2, "高企税率多少"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "success"));
    // Stored for the commissioner all the same.
    let texts: Vec<String> = desk
        .messages("wechat:o_owned", 0)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert!(texts.iter().any(|t| t == "高企税率多少"), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commissioners_reply_reaches_the_wechat_investor_through_the_api() {
    use xiaoer::channels::wechat::api::Api;
    let fake = fake_api().await;
    let (_dir, desk, _app) = wechat();
    desk.add_staff("alice", Role::Commissioner, &[], &[])
        .unwrap();
    let api = std::sync::Arc::new(Api::new(&fake.url, APP_ID, "app-secret"));
    tokio::spawn(xiaoer::channels::wechat::outbound::outbound(
        desk.clone(),
        api,
    ));

    let sent = |desk: &std::sync::Arc<Desk>, openid: &str| {
        let inbound = desk
            .investor_message("wechat", openid, "转人工", &Default::default())
            .unwrap();
        let ticket = inbound.ticket_opened.expect("a ticket");
        desk.claim(ticket, "alice").unwrap();
        desk.reply(ticket, "alice", "您好，我是招商护商专员，马上为您查询。")
            .unwrap();
    };
    sent(&desk, "o_reader");
    let sends = sends_when(&fake, "the reply", |sends| {
        sends
            .iter()
            .any(|s| s.2.contains("马上为您查询") && s.0 != "T1")
    })
    .await;
    // The first try carried a token WeChat called expired: a new one was fetched and the
    // same message sent again, once.
    let replies: Vec<_> = sends
        .iter()
        .filter(|s| s.2.contains("马上为您查询"))
        .collect();
    assert_eq!(replies.len(), 2, "{sends:?}");
    assert_eq!((replies[0].0.as_str(), replies[1].0.as_str()), ("T1", "T2"));
    assert_eq!(replies[1].1, "o_reader");
    assert!(
        replies[1].2.starts_with("【招商护商专员】"),
        "{}",
        replies[1].2
    );
    assert_eq!(fake.tokens.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A long reply reaches the investor in parts under 2,048 bytes, cut at sentence ends,
    // nothing lost.
    let sentence = "厂房租金补贴按实际租用面积计算，具体以区里当年的通知为准。";
    let long: String = sentence.repeat(60);
    let ticket = desk
        .investor_message("wechat", "o_long", "转人工", &Default::default())
        .unwrap()
        .ticket_opened
        .expect("a ticket");
    desk.claim(ticket, "alice").unwrap();
    desk.reply(ticket, "alice", &long).unwrap();
    let to_long = |sends: &[Send]| -> Vec<String> {
        sends
            .iter()
            .filter(|s| s.1 == "o_long")
            .map(|s| s.2.clone())
            .collect()
    };
    let sends = sends_when(&fake, "the long reply", |sends| {
        to_long(sends).concat().matches(sentence).count() >= 60
    })
    .await;
    let parts = to_long(&sends);
    assert!(parts.len() >= 2, "{} parts", parts.len());
    for p in &parts {
        assert!(p.len() <= 2048, "{} bytes", p.len());
        assert!(
            p.ends_with('。'),
            "cut mid-sentence: …{}",
            &p[p.len() - 12..]
        );
    }
    assert_eq!(parts.concat().matches(sentence).count(), 60);

    // 45015 (the investor's 48 hours have passed) is not retried.
    sent(&desk, "o_closed");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let closed = fake
        .sends
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.1 == "o_closed")
        .count();
    assert_eq!(closed, 1);
    // The console says why, until the investor writes again.
    let note = desk
        .undelivered("wechat:o_closed")
        .unwrap()
        .expect("a note");
    assert!(note.why.contains("45015"), "{note:?}");
    assert_eq!(desk.undelivered("wechat:o_reader").unwrap(), None);
    desk.investor_message("wechat", "o_closed", "我回来了", &Default::default())
        .unwrap();
    assert_eq!(desk.undelivered("wechat:o_closed").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_misses_the_passive_window_follows_through_the_api() {
    use xiaoer::channels::wechat::api::Api;
    let fake = fake_api().await;
    let (_dir, desk) = desk_for(&shipped_corpus());
    let config = WechatConfig {
        app_id: Some(APP_ID.into()),
        token: Some(TOKEN.into()),
        ..WechatConfig::default()
    };
    let api = std::sync::Arc::new(Api::new(&fake.url, APP_ID, "app-secret"));
    // No answer is ready in zero time: every one misses the passive window.
    let state = WechatState::new(desk.clone(), &config)
        .unwrap()
        .unwrap()
        .with_api(api)
        .reply_within(std::time::Duration::ZERO);
    let app = router(std::sync::Arc::new(state));
    let uri = format!("/wechat?{}", signed_query());
    let (status, body) = send(
        &app,
        "POST",
        &uri,
        &text_message("o_slow", 9, "高新技术企业的企业所得税税率是多少？"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "success"));
    let sends = sends_when(
        &fake,
        "the answer through the customer-service API",
        |sends| {
            sends
                .iter()
                .any(|s| s.1 == "o_slow" && s.2.contains("15%") && s.0 != "T1")
        },
    )
    .await;
    assert_eq!(desk.messages("wechat:o_slow", 0).unwrap().len(), 2);
    // "Typing…" showed first, while the answer was being worked out.
    let typing = sends
        .iter()
        .position(|s| s.0.starts_with("typing:") && s.1 == "o_slow");
    let answer = sends
        .iter()
        .position(|s| s.1 == "o_slow" && s.2.contains("15%"));
    assert!(
        matches!((typing, answer), (Some(t), Some(a)) if t < a),
        "{sends:?}"
    );
}

#[tokio::test]
async fn a_number_answers_a_clarify_question_and_a_thumb_rates_an_answer() {
    let (_dir, desk, app) = wechat_on(&tiny_corpus());
    let uri = format!("/wechat?{}", signed_query());
    let conversation = "wechat:o_choosy";
    let ask = |id: u64, text: &str| {
        let (app, uri, body) = (app.clone(), uri.clone(), text_message("o_choosy", id, text));
        async move {
            let (status, xml) = send(&app, "POST", &uri, &body).await;
            assert_eq!(status, StatusCode::OK, "{xml}");
            Incoming::parse(&xml).unwrap().content
        }
    };
    let clarify = ask(1, "人才公寓租金补贴").await;
    assert!(
        clarify.contains("1.") && clarify.contains("2."),
        "{clarify}"
    );
    let options = desk.messages(conversation, 0).unwrap()[1]
        .reply
        .clone()
        .unwrap()
        .options;
    assert_eq!(options.len(), 2, "{options:?}");

    // "2" asks the second option's question.
    let answer = ask(2, "2").await;
    let messages = desk.messages(conversation, 0).unwrap();
    assert_eq!(
        messages[2].text, options[1].title,
        "the choice is stored as asked"
    );
    let answered = messages[3].reply.clone().unwrap();
    assert_eq!(answered.sources[0].id, options[1].id);
    assert!(
        answer.contains("👍"),
        "the answer says how to rate it: {answer}"
    );

    // A thumb rates that answer; nothing new is stored, and a redelivery changes nothing.
    for _ in 0..2 {
        let thanks = ask(3, "👍").await;
        assert!(thanks.contains("谢谢您的反馈"), "{thanks}");
        let messages = desk.messages(conversation, 0).unwrap();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[3].feedback, Some(xiaoer::desk::Vote::Up));
    }
    // After an answer a bare number is a question of its own, not a choice.
    ask(4, "1").await;
    let messages = desk.messages(conversation, 0).unwrap();
    assert_eq!(messages[4].text, "1");
}

#[tokio::test]
async fn a_new_follower_is_greeted_in_chinese_and_english() {
    let (_dir, _desk, app) = wechat();
    let uri = format!("/wechat?{}", signed_query());
    let event = "<xml><ToUserName><![CDATA[gh_office]]></ToUserName><FromUserName><![CDATA[o_new]]></FromUserName><CreateTime>1409735670</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>";
    let (status, xml) = send(&app, "POST", &uri, event).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    let reply = Incoming::parse(&xml).unwrap();
    assert_eq!(reply.to_user_name, "o_new");
    assert!(
        reply.content.contains("您好") && reply.content.contains("Hello"),
        "{}",
        reply.content
    );
}
