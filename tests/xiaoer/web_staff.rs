//! The web channel's staff and admin side through `oneshot`: roles, re-index, unanswered
//! questions and drafts, event streams, sign-out.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;
use xiaoer::channels::web::{WebState, app};
use xiaoer::config::WebConfig;
use xiaoer::desk::Role;

use super::desk_for;
use super::web::*;

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
    let r = staff_get(&w.app, "/api/admin/stats", &bearer(&w.admin)).await;
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
    say(&w.app, None, "明天无锡会下雨吗").await;
    let u = staff_get(&w.app, "/api/admin/unanswered", &admin).await;
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
async fn concurrent_drafts_each_get_their_own_file() {
    let w = test_web(WebConfig::default());
    let admin = bearer(&w.admin);
    let posts = (0..20).map(|i| {
        let (app, admin) = (w.app.clone(), admin.clone());
        tokio::spawn(async move {
            let body =
                serde_json::json!({"question": format!("问题{i}"), "answer": format!("回答{i}")});
            call(
                &app,
                "POST",
                "/api/admin/drafts",
                &[("authorization", &admin)],
                Some(body),
            )
            .await
        })
    });
    let mut ids = std::collections::HashSet::new();
    for p in posts {
        let r = p.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        ids.insert(r.json["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 20, "every draft has its own id");
    let files = std::fs::read_dir(w.corpus.join("faqs/drafts"))
        .unwrap()
        .count();
    assert_eq!(files, 20, "and its own file");
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
    let r = say(&w.app, None, "你好").await;
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
