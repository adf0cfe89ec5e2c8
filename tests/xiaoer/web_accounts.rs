//! Staff accounts through the web: console sessions that logout ends, sign-in by name and
//! password, admins managing accounts, and the cross-site check on cookie-borne writes.

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
        let req = Request::builder()
            .method("POST")
            .uri("/api/staff/login")
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({"name": name, "password": password}).to_string(),
            ))
            .unwrap();
        app.clone().oneshot(from_peer(req, [127, 0, 0, 5]))
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
