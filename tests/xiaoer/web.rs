//! The web channel in-process: every route through `app()` with tower's `oneshot`, the
//! auth rules, the limits, and isolation between investors.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use xiaoer::channels::web::{WebState, app};
use xiaoer::config::WebConfig;
use xiaoer::desk::Role;

use super::{desk_for, shipped_corpus};

struct TestWeb {
    _dir: tempfile::TempDir,
    app: Router,
    commissioner: String,
    other_commissioner: String,
    admin: String,
    corpus: std::path::PathBuf,
}

fn test_web(web: WebConfig) -> TestWeb {
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

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    json: serde_json::Value,
    text: String,
}

async fn call(
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

fn session_cookie(r: &Resp) -> String {
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

fn bearer(token: &str) -> String {
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
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "高新技术企业的企业所得税税率是多少？"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["state"], "bot");
    assert_eq!(r.json["reply"]["kind"], "answer");
    for key in [
        "question",
        "kind",
        "text",
        "confidence",
        "reason",
        "sources",
        "options",
    ] {
        assert!(r.json["reply"].get(key).is_some(), "reply.{key}");
    }
    let cookie = session_cookie(&r);
    let conversation = r.json["conversation"].as_str().unwrap().to_string();

    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"text": "明天无锡会下雨吗"})),
    )
    .await;
    assert_eq!(r.json["state"], "waiting");
    assert_eq!(r.json["reply"]["kind"], "handoff");
    assert_eq!(r.json["conversation"], conversation.as_str());

    let auth = bearer(&w.commissioner);
    let q = call(
        &w.app,
        "GET",
        "/api/tickets",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(q.status, StatusCode::OK);
    let id = q.json["tickets"][0]["id"].as_u64().unwrap();
    assert_eq!(
        q.json["tickets"][0]["brief"]["question"],
        "明天无锡会下雨吗"
    );
    assert!(q.json["tickets"][0]["waiting_secs"].is_number());

    let c = call(
        &w.app,
        "POST",
        &format!("/api/tickets/{id}/claim"),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(c.status, StatusCode::OK);
    let other = bearer(&w.other_commissioner);
    let c2 = call(
        &w.app,
        "POST",
        &format!("/api/tickets/{id}/claim"),
        &[("authorization", &other)],
        None,
    )
    .await;
    assert_eq!(c2.status, StatusCode::CONFLICT);
    assert!(c2.json["error"].as_str().unwrap().contains("alice"));

    let rep = call(
        &w.app,
        "POST",
        &format!("/api/tickets/{id}/reply"),
        &[("authorization", &auth)],
        Some(serde_json::json!({"text": "天气请查看气象台，项目问题我来跟进。"})),
    )
    .await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.text);
    // While staff own it the bot stays silent: reply is null.
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"text": "好的，谢谢专员"})),
    )
    .await;
    assert_eq!(r.json["state"], "staff");
    assert!(r.json["reply"].is_null());

    let m = call(
        &w.app,
        "GET",
        "/api/messages?after=0",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    let texts: Vec<&str> = m.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
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

    let detail = call(
        &w.app,
        "GET",
        &format!("/api/tickets/{id}"),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert!(detail.json["messages"].as_array().unwrap().len() >= 5);

    let hb = call(
        &w.app,
        "POST",
        &format!("/api/tickets/{id}/handback"),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(hb.status, StatusCode::OK);
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"text": "高新技术企业的企业所得税税率是多少？"})),
    )
    .await;
    assert_eq!(r.json["state"], "bot");
    assert_eq!(r.json["reply"]["kind"], "answer");
}

#[tokio::test]
async fn release_close_cancel_and_feedback() {
    let w = test_web(WebConfig::default());
    let auth = bearer(&w.commissioner);
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "转人工"})),
    )
    .await;
    let cookie = session_cookie(&r);
    let id = call(
        &w.app,
        "GET",
        "/api/tickets",
        &[("authorization", &auth)],
        None,
    )
    .await
    .json["tickets"][0]["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        call(
            &w.app,
            "POST",
            &format!("/api/tickets/{id}/claim"),
            &[("authorization", &auth)],
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        call(
            &w.app,
            "POST",
            &format!("/api/tickets/{id}/release"),
            &[("authorization", &auth)],
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let cancel = call(&w.app, "POST", "/api/cancel", &[("cookie", &cookie)], None).await;
    assert_eq!(cancel.json["cancelled"], true);
    let closed = call(
        &w.app,
        "POST",
        &format!("/api/tickets/{id}/close"),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(
        closed.status,
        StatusCode::CONFLICT,
        "a cancelled ticket stays closed"
    );

    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"text": "转人工"})),
    )
    .await;
    assert_eq!(r.json["state"], "waiting");
    let id2 = call(
        &w.app,
        "GET",
        "/api/tickets",
        &[("authorization", &auth)],
        None,
    )
    .await
    .json["tickets"][0]["id"]
        .as_u64()
        .unwrap();
    call(
        &w.app,
        "POST",
        &format!("/api/tickets/{id2}/claim"),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(
        call(
            &w.app,
            "POST",
            &format!("/api/tickets/{id2}/close"),
            &[("authorization", &auth)],
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    let a = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"text": "高新技术企业的企业所得税税率是多少？"})),
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
    let stats = call(
        &w.app,
        "GET",
        "/api/admin/stats",
        &[("authorization", &bearer(&w.admin))],
        None,
    )
    .await;
    assert_eq!(stats.json["thumbs_up"], 1);
}

#[tokio::test]
async fn staff_and_admin_routes_need_the_right_role() {
    let w = test_web(WebConfig::default());
    let staff_routes = [
        ("GET", "/api/tickets"),
        ("GET", "/api/tickets/1"),
        ("POST", "/api/tickets/1/claim"),
        ("POST", "/api/tickets/1/handback"),
        ("POST", "/api/tickets/1/close"),
        ("POST", "/api/tickets/1/release"),
        ("GET", "/api/me"),
    ];
    let admin_routes = [
        ("POST", "/api/admin/reindex"),
        ("GET", "/api/admin/unanswered"),
        ("GET", "/api/admin/stats"),
    ];
    for (m, uri) in staff_routes.iter().chain(admin_routes.iter()) {
        let r = call(&w.app, m, uri, &[], None).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{m} {uri} without a token"
        );
        let r = call(
            &w.app,
            m,
            uri,
            &[("authorization", "Bearer not-a-token")],
            None,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{m} {uri} with a bad token"
        );
    }
    let reply = call(
        &w.app,
        "POST",
        "/api/tickets/1/reply",
        &[],
        Some(serde_json::json!({"text": "x"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    for (m, uri) in admin_routes {
        let r = call(
            &w.app,
            m,
            uri,
            &[("authorization", &bearer(&w.commissioner))],
            None,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{m} {uri} as a commissioner"
        );
    }
    let r = call(
        &w.app,
        "GET",
        "/api/admin/stats",
        &[("authorization", &bearer(&w.admin))],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // The console signs in with the token and then uses an HttpOnly cookie.
    let login = call(
        &w.app,
        "POST",
        "/api/staff/login",
        &[],
        Some(serde_json::json!({"token": w.commissioner})),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK);
    let cookie = login
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me = call(&w.app, "GET", "/api/me", &[("cookie", &cookie)], None).await;
    assert_eq!(me.json["name"], "alice");
    let bad = call(
        &w.app,
        "POST",
        "/api/staff/login",
        &[],
        Some(serde_json::json!({"token": "guess"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn investors_see_only_their_own_conversation() {
    let w = test_web(WebConfig::default());
    let a = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "我的公司叫甲公司，秘密项目A"})),
    )
    .await;
    let b = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "乙公司的问题"})),
    )
    .await;
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

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_markup_stays_text() {
    let w = test_web(WebConfig::default());
    let huge = "税".repeat(5000);
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": huge})),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json["error"].as_str().unwrap().contains("过长"));
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "a".repeat(40_000)})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "over the body limit"
    );
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("content-type", "application/json")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let req = Request::builder()
        .method("POST")
        .uri("/api/messages")
        .header("content-type", "application/json")
        .body(Body::from(vec![0xff, 0xfe, 0x00]))
        .unwrap();
    assert_eq!(
        w.app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    for text in [
        "",
        "🙂",
        "\" : AND * (",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "a\u{0}b",
    ] {
        let r = call(
            &w.app,
            "POST",
            "/api/messages",
            &[],
            Some(serde_json::json!({"text": text})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{text:?}: {}", r.text);
    }
    // Markup comes back as data, exactly as typed; the page renders it with textContent.
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "<img src=x onerror=alert(1)>"})),
    )
    .await;
    let cookie = session_cookie(&r);
    let m = call(&w.app, "GET", "/api/messages", &[("cookie", &cookie)], None).await;
    assert_eq!(
        m.json["messages"][0]["text"],
        "<img src=x onerror=alert(1)>"
    );
    let page = call(&w.app, "GET", "/", &[], None).await;
    assert!(
        !page.text.contains("innerHTML"),
        "the page must not render server text as HTML"
    );
}

#[tokio::test]
async fn rate_limits_per_session_and_per_address() {
    let w = test_web(WebConfig {
        session_messages_per_minute: 3,
        ..WebConfig::default()
    });
    let first = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "你好"})),
    )
    .await;
    let cookie = session_cookie(&first);
    for _ in 0..2 {
        assert_eq!(
            call(
                &w.app,
                "POST",
                "/api/messages",
                &[("cookie", &cookie)],
                Some(serde_json::json!({"text": "你好"}))
            )
            .await
            .status,
            StatusCode::OK
        );
    }
    let limited = call(
        &w.app,
        "POST",
        "/api/messages",
        &[("cookie", &cookie)],
        Some(serde_json::json!({"text": "你好"})),
    )
    .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    // Another session is not affected.
    assert_eq!(
        call(
            &w.app,
            "POST",
            "/api/messages",
            &[],
            Some(serde_json::json!({"text": "你好"}))
        )
        .await
        .status,
        StatusCode::OK
    );

    // Per address: requests carry the peer address as the real server provides it.
    let w = test_web(WebConfig {
        address_messages_per_minute: 2,
        ..WebConfig::default()
    });
    let peer = std::net::SocketAddr::from(([127, 0, 0, 9], 5555));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/messages")
            .header("content-type", "application/json")
            .body(Body::from("{\"text\":\"你好\"}"))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        statuses.push(w.app.clone().oneshot(req).await.unwrap().status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn admin_reindexes_reads_unanswered_and_drafts_a_faq() {
    let w = test_web(WebConfig::default());
    let admin = bearer(&w.admin);
    let r = call(
        &w.app,
        "POST",
        "/api/admin/reindex",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["ok"], true, "{}", r.text);
    assert!(r.json["faqs"].as_u64().unwrap() >= 250);
    call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "明天无锡会下雨吗"})),
    )
    .await;
    let u = call(
        &w.app,
        "GET",
        "/api/admin/unanswered",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(u.json["groups"][0]["count"], 1);
    let d = call(&w.app, "POST", "/api/admin/drafts", &[("authorization", &admin)], Some(serde_json::json!({"question": "明天无锡会下雨吗", "alternatives": ["无锡天气"], "answer": "天气请查询气象台。"}))).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let path = d.json["path"].as_str().unwrap();
    assert!(path.starts_with(w.corpus.join("faqs/drafts").to_str().unwrap()));
    let text = std::fs::read_to_string(path).unwrap();
    let faqs = xiaoer::corpus::parse_faqs(&text, std::path::Path::new(path)).unwrap();
    assert_eq!(faqs[0].answer, "天气请查询气象台。");
}

#[tokio::test]
async fn a_failed_admin_reindex_reports_file_and_line_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    super::copy_dir(&super::tiny_corpus(), &corpus);
    let (_d, desk) = desk_for(&corpus);
    let admin = desk.add_staff("root", Role::Admin, &[], &[]).unwrap();
    let serving = desk.engine().generation().name.clone();
    std::fs::write(
        corpus.join("faqs/broken.toml"),
        "[[faq]]\nid = \"x\"\nquestion = \"q\"\n",
    )
    .unwrap();
    let app = app(WebState::new(
        Arc::clone(&desk),
        WebConfig::default(),
        corpus.clone(),
    ));
    let r = call(
        &app,
        "POST",
        "/api/admin/reindex",
        &[("authorization", &bearer(&admin))],
        None,
    )
    .await;
    assert_eq!(r.json["ok"], false);
    assert!(
        r.json["errors"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("broken.toml")
    );
    assert!(r.json["errors"][0]["line"].as_u64().unwrap() >= 1);
    assert_eq!(r.json["serving"], serving.as_str());
}

#[tokio::test]
async fn event_streams_and_logout() {
    let w = test_web(WebConfig::default());
    // Investor events need a session; staff events need a token.
    assert_eq!(
        call(&w.app, "GET", "/api/events", &[], None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call_head(&w.app, "/api/staff/events", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = call(
        &w.app,
        "POST",
        "/api/messages",
        &[],
        Some(serde_json::json!({"text": "你好"})),
    )
    .await;
    let cookie = session_cookie(&r);
    let (status, content_type) = call_head(&w.app, "/api/events", &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let auth = bearer(&w.commissioner);
    let (status, content_type) =
        call_head(&w.app, "/api/staff/events", &[("authorization", &auth)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/event-stream"));
    let out = call(&w.app, "POST", "/api/staff/logout", &[], None).await;
    assert_eq!(out.status, StatusCode::OK);
    let cleared = out
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cleared.starts_with("xiaoer_staff=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

/// Status and content type only: an event stream never ends, so its body is not read.
async fn call_head(app: &Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut req = Request::builder().method("GET").uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (resp.status(), ct)
}
