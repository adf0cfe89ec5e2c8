//! The web channel in-process: every route through `app()` with tower's `oneshot`, the
//! auth rules, the limits, and isolation between investors.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use xiaoer::channels::web::{WebState, app};
use xiaoer::config::WebConfig;
use xiaoer::desk::Role;

use super::{REPLY_KEYS, desk_for, shipped_corpus};

pub(super) struct TestWeb {
    pub(super) _dir: tempfile::TempDir,
    pub(super) app: Router,
    pub(super) commissioner: String,
    pub(super) other_commissioner: String,
    pub(super) admin: String,
    pub(super) corpus: std::path::PathBuf,
}

pub(super) fn test_web(web: WebConfig) -> TestWeb {
    let (dir, desk) = desk_for(&shipped_corpus());
    let commissioner = desk
        .add_staff("alice", Role::Commissioner, &[], &[])
        .unwrap();
    let other_commissioner = desk.add_staff("bob", Role::Commissioner, &[], &[]).unwrap();
    let admin = desk.add_staff("root", Role::Admin, &[], &[]).unwrap();
    let corpus = dir.path().join("corpus-drafts");
    let app = app(WebState::new(desk, web, corpus.clone()));
    TestWeb {
        _dir: dir,
        app,
        commissioner,
        other_commissioner,
        admin,
        corpus,
    }
}

pub(super) struct Resp {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) json: serde_json::Value,
    pub(super) text: String,
}

pub(super) async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Resp {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    }
}

/// `req` as if it arrived over a connection from `peer` (what the real server attaches).
pub(super) fn from_peer(mut req: Request<Body>, peer: [u8; 4]) -> Request<Body> {
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            peer, 5555,
        ))));
    req
}

pub(super) fn session_cookie(r: &Resp) -> String {
    let set = r
        .headers
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

/// An investor's message, in the session of `cookie` or, without one, a new session.
pub(super) async fn say(app: &Router, cookie: Option<&str>, text: &str) -> Resp {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    call(
        app,
        "POST",
        "/api/messages",
        &headers,
        Some(serde_json::json!({ "text": text })),
    )
    .await
}

/// A GET by a signed-in member of staff (`auth` is the `Authorization` header).
pub(super) async fn staff_get(app: &Router, uri: &str, auth: &str) -> Resp {
    call(app, "GET", uri, &[("authorization", auth)], None).await
}

/// The id of the first ticket in the queue a commissioner sees.
pub(super) async fn first_ticket(app: &Router, auth: &str) -> u64 {
    staff_get(app, "/api/tickets", auth).await.json["tickets"][0]["id"]
        .as_u64()
        .expect("a ticket in the queue")
}

/// A commissioner's action on a ticket: `claim`, `reply` (with a body), `release`,
/// `handback`, `close`.
pub(super) async fn act(
    app: &Router,
    auth: &str,
    id: u64,
    action: &str,
    body: Option<serde_json::Value>,
) -> Resp {
    call(
        app,
        "POST",
        &format!("/api/tickets/{id}/{action}"),
        &[("authorization", auth)],
        body,
    )
    .await
}

/// The whole conversation of the investor whose session is `cookie`.
pub(super) async fn history(app: &Router, cookie: &str) -> Resp {
    call(
        app,
        "GET",
        "/api/messages?after=0",
        &[("cookie", cookie)],
        None,
    )
    .await
}

/// The texts of the messages in a `GET /api/messages` answer, oldest first.
pub(super) fn texts_of(messages: &Resp) -> Vec<&str> {
    messages.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect()
}

pub(super) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn pages_are_served_from_the_binary() {
    let w = test_web(WebConfig::default());
    for page in ["/", "/staff", "/admin"] {
        let r = call(&w.app, "GET", page, &[], None).await;
        assert_eq!(r.status, StatusCode::OK, "{page}");
        assert!(xiaoer::channels::web::is_html(&r.headers));
        assert!(r.text.contains("<script>"));
        assert!(r.headers.get(header::CONTENT_SECURITY_POLICY).is_some());
    }
    let r = call(&w.app, "GET", "/api/health", &[], None).await;
    assert_eq!(r.json["ok"], true);
}

#[tokio::test]
async fn an_investor_asks_is_handed_off_and_a_commissioner_takes_over() {
    let w = test_web(WebConfig::default());
    let r = say(&w.app, None, "高新技术企业的企业所得税税率是多少？").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["state"], "bot");
    assert_eq!(r.json["reply"]["kind"], "answer");
    for key in REPLY_KEYS {
        assert!(r.json["reply"].get(key).is_some(), "reply.{key}");
    }
    let cookie = session_cookie(&r);
    let conversation = r.json["conversation"].as_str().unwrap().to_string();

    let r = say(&w.app, Some(cookie.as_str()), "明天无锡会下雨吗").await;
    assert_eq!(r.json["state"], "waiting");
    assert_eq!(r.json["reply"]["kind"], "handoff");
    assert_eq!(r.json["conversation"], conversation.as_str());

    let auth = bearer(&w.commissioner);
    let q = staff_get(&w.app, "/api/tickets", &auth).await;
    assert_eq!(q.status, StatusCode::OK);
    let id = q.json["tickets"][0]["id"].as_u64().unwrap();
    assert_eq!(
        q.json["tickets"][0]["brief"]["question"],
        "明天无锡会下雨吗"
    );
    assert!(q.json["tickets"][0]["waiting_secs"].is_number());

    let c = act(&w.app, &auth, id, "claim", None).await;
    assert_eq!(c.status, StatusCode::OK);
    let other = bearer(&w.other_commissioner);
    let c2 = act(&w.app, &other, id, "claim", None).await;
    assert_eq!(c2.status, StatusCode::CONFLICT);
    assert!(c2.json["error"].as_str().unwrap().contains("alice"));

    let rep = act(
        &w.app,
        &auth,
        id,
        "reply",
        Some(serde_json::json!({"text": "天气请查看气象台，项目问题我来跟进。"})),
    )
    .await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.text);
    // While staff own it the bot stays silent: reply is null.
    let r = say(&w.app, Some(cookie.as_str()), "好的，谢谢专员").await;
    assert_eq!(r.json["state"], "staff");
    assert!(r.json["reply"].is_null());

    let m = history(&w.app, &cookie).await;
    let texts = texts_of(&m);
    assert!(texts.contains(&"天气请查看气象台，项目问题我来跟进。"));
    let after = m.json["messages"].as_array().unwrap().len() as u64;
    let none = call(
        &w.app,
        "GET",
        &format!("/api/messages?after={after}"),
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert!(none.json["messages"].as_array().unwrap().is_empty());

    let detail = staff_get(&w.app, &format!("/api/tickets/{id}"), &auth).await;
    assert!(detail.json["messages"].as_array().unwrap().len() >= 5);

    let hb = act(&w.app, &auth, id, "handback", None).await;
    assert_eq!(hb.status, StatusCode::OK);
    let r = say(
        &w.app,
        Some(cookie.as_str()),
        "高新技术企业的企业所得税税率是多少？",
    )
    .await;
    assert_eq!(r.json["state"], "bot");
    assert_eq!(r.json["reply"]["kind"], "answer");
}

#[tokio::test]
async fn release_close_cancel_and_feedback() {
    let w = test_web(WebConfig::default());
    let auth = bearer(&w.commissioner);
    let r = say(&w.app, None, "转人工").await;
    let cookie = session_cookie(&r);
    let id = first_ticket(&w.app, &auth).await;
    assert_eq!(
        act(&w.app, &auth, id, "claim", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        act(&w.app, &auth, id, "release", None).await.status,
        StatusCode::OK
    );
    let cancel = call(&w.app, "POST", "/api/cancel", &[("cookie", &cookie)], None).await;
    assert_eq!(cancel.json["cancelled"], true);
    let closed = act(&w.app, &auth, id, "close", None).await;
    assert_eq!(
        closed.status,
        StatusCode::CONFLICT,
        "a cancelled ticket stays closed"
    );

    let r = say(&w.app, Some(cookie.as_str()), "转人工").await;
    assert_eq!(r.json["state"], "waiting");
    let id2 = first_ticket(&w.app, &auth).await;
    act(&w.app, &auth, id2, "claim", None).await;
    assert_eq!(
        act(&w.app, &auth, id2, "close", None).await.status,
        StatusCode::OK
    );

    let a = say(
        &w.app,
        Some(cookie.as_str()),
        "高新技术企业的企业所得税税率是多少？",
    )
    .await;
    assert_eq!(a.json["reply"]["kind"], "answer");
    let m = call(&w.app, "GET", "/api/messages", &[("cookie", &cookie)], None).await;
    let seq = m.json["messages"].as_array().unwrap().last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    let f = call(
        &w.app,
        "POST",
        "/api/feedback",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"seq": seq, "vote": "up"})),
    )
    .await;
    assert_eq!(f.status, StatusCode::OK);
    let stats = staff_get(&w.app, "/api/admin/stats", &bearer(&w.admin)).await;
    assert_eq!(stats.json["thumbs_up"], 1);
}

#[tokio::test]
async fn investors_see_only_their_own_conversation() {
    let w = test_web(WebConfig::default());
    let a = say(&w.app, None, "我的公司叫甲公司，秘密项目A").await;
    let b = say(&w.app, None, "乙公司的问题").await;
    let (ca, cb) = (session_cookie(&a), session_cookie(&b));
    assert_ne!(a.json["conversation"], b.json["conversation"]);
    let mb = call(&w.app, "GET", "/api/messages", &[("cookie", &cb)], None).await;
    assert!(!mb.text.contains("秘密项目A"));
    let ma = call(&w.app, "GET", "/api/messages", &[("cookie", &ca)], None).await;
    assert!(ma.text.contains("秘密项目A"));
    // A forged or unknown session gets nothing, and is not an error page either.
    let forged = call(
        &w.app,
        "GET",
        "/api/messages",
        &[("cookie", "xiaoer_session=0000")],
        None,
    )
    .await;
    assert_eq!(forged.status, StatusCode::OK);
    assert!(forged.json["messages"].as_array().unwrap().is_empty());
    let fb = call(
        &w.app,
        "POST",
        "/api/feedback",
        &[("cookie", "xiaoer_session=0000")],
        Some(serde_json::json!({"seq": 1, "vote": "up"})),
    )
    .await;
    assert_eq!(fb.status, StatusCode::NOT_FOUND);
    // Feedback on the other investor's message numbers touches only one's own conversation.
    let fb = call(
        &w.app,
        "POST",
        "/api/feedback",
        &[("cookie", &cb)],
        Some(serde_json::json!({"seq": 1, "vote": "up"})),
    )
    .await;
    assert_ne!(
        fb.status,
        StatusCode::OK,
        "message 1 of b is the investor's own text, not an answer"
    );
}
