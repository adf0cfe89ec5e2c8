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

use super::{desk_for, shipped_corpus};

const TOKEN: &str = "spamtest";
const APP_ID: &str = "wx2c2769f8efd9abc2";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const TS: &str = "1409735669";
const NONCE: &str = "1320562132";

fn wechat() -> (tempfile::TempDir, std::sync::Arc<Desk>, Router) {
    let (dir, desk) = desk_for(&shipped_corpus());
    let config = WechatConfig {
        app_id: Some(APP_ID.into()),
        token: Some(TOKEN.into()),
        encoding_aes_key: Some(KEY.into()),
        ..WechatConfig::default()
    };
    let state = WechatState::new(desk.clone(), &config).unwrap().unwrap();
    (dir, desk, router(std::sync::Arc::new(state)))
}

async fn send(app: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
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
