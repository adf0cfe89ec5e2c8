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

/// Signs in to the console with `token` from `site` (host and origin headers); the
/// response and the cookie it set (`name=value`).
async fn console_login(app: &Router, token: &str, site: &[(&str, &str)]) -> (Resp, String) {
    let login = call(
        app,
        "POST",
        "/api/staff/login",
        site,
        Some(serde_json::json!({ "token": token })),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let cookie = login.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (login, cookie)
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

#[tokio::test]
async fn a_forged_cross_site_form_post_is_refused_and_the_console_still_works() {
    let w = test_web(WebConfig::default());
    say(&w.app, None, "转人工").await;
    let site = [
        ("host", "xiaoer.example"),
        ("origin", "http://xiaoer.example"),
    ];
    let (_, cookie) = console_login(&w.app, &w.commissioner, &site).await;
    let post = |ctype: &'static str, origin: Option<&'static str>, body: &'static str| {
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/tickets/1/claim")
            .header("host", "xiaoer.example")
            .header("cookie", cookie.as_str())
            .header("content-type", ctype);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        w.app.clone().oneshot(req.body(Body::from(body)).unwrap())
    };
    // What a page on another site can make the commissioner's browser send: a form.
    let forged = post(
        "application/x-www-form-urlencoded",
        Some("http://evil.example"),
        "a=1",
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let json_from_elsewhere = post("application/json", Some("http://evil.example"), "{}")
        .await
        .unwrap();
    assert_eq!(json_from_elsewhere.status(), StatusCode::FORBIDDEN);
    let no_origin = post("application/json", None, "{}").await.unwrap();
    assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);
    // The console itself: JSON from this origin.
    let own = post("application/json", Some("http://xiaoer.example"), "{}")
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    // Tools with a token are not browsers and need no Origin.
    let tool = call(
        &w.app,
        "POST",
        "/api/tickets/1/release",
        &[("authorization", &bearer(&w.commissioner))],
        None,
    )
    .await;
    assert_eq!(tool.status, StatusCode::OK, "{}", tool.text);
}

#[tokio::test]
async fn the_console_cookie_is_a_server_side_session_that_logout_ends() {
    let w = test_web(WebConfig::default());
    let site = [
        ("host", "xiaoer.example"),
        ("origin", "https://xiaoer.example"),
        ("x-forwarded-proto", "https"),
    ];
    let (login, cookie) = console_login(&w.app, &w.commissioner, &site).await;
    let set = login.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("Secure"), "{set}");
    assert!(
        !cookie.contains(&w.commissioner),
        "the API token never goes in a cookie"
    );
    let me = call(&w.app, "GET", "/api/me", &[("cookie", &cookie)], None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["name"], "alice");

    let mut out_headers = site.to_vec();
    out_headers.push(("cookie", &cookie));
    let out = call(
        &w.app,
        "POST",
        "/api/staff/logout",
        &out_headers,
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    // The same cookie, replayed after sign-out (say, copied from another machine): refused.
    let replay = call(&w.app, "GET", "/api/me", &[("cookie", &cookie)], None).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    // The API token itself still works for tools.
    let tool = staff_get(&w.app, "/api/me", &bearer(&w.commissioner)).await;
    assert_eq!(tool.status, StatusCode::OK);
}

#[tokio::test]
async fn staff_sign_in_with_name_and_password_and_guessing_is_slowed() {
    let (_dir, desk) = desk_for(&super::shipped_corpus());
    desk.add_staff("carol", Role::Commissioner, &[], &[])
        .unwrap();
    assert!(desk.set_password("carol", "short").is_err(), "too short");
    desk.set_password("carol", "correct horse battery").unwrap();
    let app = app(WebState::new(
        desk.clone(),
        WebConfig {
            sign_ins_per_minute: 5,
            ..WebConfig::default()
        },
        std::path::PathBuf::from("unused"),
    ));
    let login = |name: &str, password: &str| {
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/staff/login")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({"name": name, "password": password}).to_string(),
            ))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 5],
                4000,
            ))));
        app.clone().oneshot(req)
    };
    let ok = login("carol", "correct horse battery").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers().contains_key(header::SET_COOKIE));
    assert_eq!(
        login("carol", "wrong horse battery")
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login("nobody", "correct horse battery")
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let stored = desk.staff_accounts().unwrap();
    let carol = stored.iter().find(|a| a.name == "carol").unwrap();
    assert!(
        carol
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with("$argon2id$"),
        "stored as an Argon2id hash only"
    );
    // Five attempts a minute from one address: the sixth waits, even with the right password.
    login("carol", "guess one").await.unwrap();
    login("carol", "guess two").await.unwrap();
    assert_eq!(
        login("carol", "correct horse battery")
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn admins_list_disable_enable_and_rotate_accounts() {
    let w = test_web(WebConfig::default());
    let admin = bearer(&w.admin);
    let list = staff_get(&w.app, "/api/admin/staff", &admin).await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> = list.json["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"root"),
        "{names:?}"
    );
    assert!(
        !list.text.contains("token_hash") && !list.text.contains("$argon2"),
        "no secrets"
    );
    let forbidden = staff_get(&w.app, "/api/admin/staff", &bearer(&w.commissioner)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    let post = |uri: String| {
        let admin = admin.clone();
        let app = w.app.clone();
        async move { call(&app, "POST", &uri, &[("authorization", &admin)], None).await }
    };
    // Disabled: the token stops working at once; re-enabled: it works again.
    assert_eq!(
        post("/api/admin/staff/alice/disable".into()).await.status,
        StatusCode::OK
    );
    let me = staff_get(&w.app, "/api/me", &bearer(&w.commissioner)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post("/api/admin/staff/alice/enable".into()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        staff_get(&w.app, "/api/me", &bearer(&w.commissioner))
            .await
            .status,
        StatusCode::OK
    );
    // Rotated: the old token is dead, the new one works.
    let rotated = post("/api/admin/staff/alice/rotate-token".into()).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_token = rotated.json["token"].as_str().unwrap().to_string();
    assert_eq!(
        staff_get(&w.app, "/api/me", &bearer(&w.commissioner))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        staff_get(&w.app, "/api/me", &bearer(&new_token))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post("/api/admin/staff/nobody/disable".into()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post("/api/admin/staff/root/disable".into()).await.status,
        StatusCode::BAD_REQUEST,
        "not oneself"
    );
}

#[tokio::test]
async fn disabling_an_account_ends_its_console_sessions() {
    let w = test_web(WebConfig::default());
    let site = [("host", "x.example"), ("origin", "http://x.example")];
    let (_, cookie) = console_login(&w.app, &w.commissioner, &site).await;
    assert_eq!(
        call(&w.app, "GET", "/api/me", &[("cookie", &cookie)], None)
            .await
            .status,
        StatusCode::OK
    );
    let off = call(
        &w.app,
        "POST",
        "/api/admin/staff/alice/disable",
        &[("authorization", &bearer(&w.admin))],
        None,
    )
    .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(
        call(&w.app, "GET", "/api/me", &[("cookie", &cookie)], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}
