//! The web channel against bad input and abuse: size limits, malformed bodies, markup,
//! rate limits per session and per address.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use xiaoer::config::WebConfig;

use super::web::*;

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_markup_stays_text() {
    let w = test_web(WebConfig::default());
    let huge = "税".repeat(5000);
    let r = say(&w.app, None, &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json["error"].as_str().unwrap().contains("过长"));
    let r = say(&w.app, None, &"a".repeat(40_000)).await;
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
        let r = say(&w.app, None, text).await;
        assert_eq!(r.status, StatusCode::OK, "{text:?}: {}", r.text);
    }
    // Markup comes back as data, exactly as typed; the page renders it with textContent.
    let r = say(&w.app, None, "<img src=x onerror=alert(1)>").await;
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
    let first = say(&w.app, None, "你好").await;
    let cookie = session_cookie(&first);
    for _ in 0..2 {
        assert_eq!(
            say(&w.app, Some(cookie.as_str()), "你好").await.status,
            StatusCode::OK
        );
    }
    let limited = say(&w.app, Some(cookie.as_str()), "你好").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    // Another session is not affected.
    assert_eq!(say(&w.app, None, "你好").await.status, StatusCode::OK);

    // Per address: requests carry the peer address as the real server provides it.
    let w = test_web(WebConfig {
        address_messages_per_minute: 2,
        ..WebConfig::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let req = from([127, 0, 0, 9], None, None);
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

/// A message posted from `peer`, with a session cookie and `X-Forwarded-For` if given.
fn from(peer: [u8; 4], cookie: Option<&str>, forwarded: Option<&str>) -> Request<Body> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/messages")
        .header("content-type", "application/json");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    from_peer(req.body(Body::from("{\"text\":\"你好\"}")).unwrap(), peer)
}

#[tokio::test]
async fn a_spent_address_spares_established_sessions_and_rejected_requests_store_nothing() {
    let (_dir, desk) = super::desk_for(&super::shipped_corpus());
    let web = WebConfig {
        address_messages_per_minute: 5,
        ..WebConfig::default()
    };
    let app = xiaoer::channels::web::app(xiaoer::channels::web::WebState::new(
        desk.clone(),
        web,
        std::path::PathBuf::from("unused"),
    ));
    let peer = [127, 0, 0, 7];
    let first = app.clone().oneshot(from(peer, None, None)).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // A flood of cookie-less requests from the same address: four more sessions, then 429s.
    let mut ok = 0;
    for _ in 0..200 {
        match app
            .clone()
            .oneshot(from(peer, None, None))
            .await
            .unwrap()
            .status()
        {
            StatusCode::OK => ok += 1,
            s => assert_eq!(s, StatusCode::TOO_MANY_REQUESTS),
        }
    }
    assert_eq!(ok, 4);
    assert_eq!(
        desk.session_count().unwrap(),
        5,
        "rejected requests left no session"
    );
    // The investor who already had a session goes on being answered.
    let r = app
        .clone()
        .oneshot(from(peer, Some(&cookie), None))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let w = test_web(WebConfig {
        address_messages_per_minute: 1,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..WebConfig::default()
    });
    let proxy = [127, 0, 0, 1];
    let status = |r: axum::response::Response| r.status();
    let one = w
        .app
        .clone()
        .oneshot(from(proxy, None, Some("1.1.1.1")))
        .await
        .unwrap();
    assert_eq!(status(one), StatusCode::OK);
    let again = w
        .app
        .clone()
        .oneshot(from(proxy, None, Some("1.1.1.1")))
        .await
        .unwrap();
    assert_eq!(status(again), StatusCode::TOO_MANY_REQUESTS);
    let other = w
        .app
        .clone()
        .oneshot(from(proxy, None, Some("2.2.2.2")))
        .await
        .unwrap();
    assert_eq!(
        status(other),
        StatusCode::OK,
        "another client behind the same proxy"
    );
    // A client that is not the proxy cannot pick its address with the header.
    let direct = [10, 0, 0, 3];
    let a = w
        .app
        .clone()
        .oneshot(from(direct, None, Some("3.3.3.3")))
        .await
        .unwrap();
    assert_eq!(status(a), StatusCode::OK);
    let b = w
        .app
        .clone()
        .oneshot(from(direct, None, Some("4.4.4.4")))
        .await
        .unwrap();
    assert_eq!(status(b), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn every_rejection_is_a_json_error_including_the_frameworks() {
    let w = test_web(WebConfig {
        max_body_bytes: 1024,
        feedback_per_minute: 2,
        ..WebConfig::default()
    });
    let first = say(&w.app, None, "你好").await;
    let cookie = session_cookie(&first);
    let send = |method: &str, uri: &str, ctype: &str, body: String| {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", ctype)
            .header("cookie", cookie.as_str())
            .body(Body::from(body))
            .unwrap();
        w.app.clone().oneshot(req)
    };
    let cases = [
        (
            "POST",
            "/api/feedback",
            "text/plain",
            "{}".to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "POST",
            "/api/feedback",
            "application/json",
            "{\"seq\": \"x\"}".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/feedback",
            "application/json",
            "x".repeat(4096),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "GET",
            "/api/messages?after=abc",
            "application/json",
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/api/no-such-route",
            "application/json",
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            "DELETE",
            "/api/messages",
            "application/json",
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "POST",
            "/api/messages",
            "application/json",
            serde_json::json!({"text": "你好", "profile": {"company": "公".repeat(201)}})
                .to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, uri, ctype, body, want) in cases {
        let r = send(method, uri, ctype, body).await.unwrap();
        assert_eq!(r.status(), want, "{method} {uri}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {uri}"
        );
        let bytes = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap()
            .to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {uri}: {v}"
        );
    }
    // 👍/👎 are rate-limited per session too.
    let seq = first.json["reply"]["seq"].as_u64().unwrap_or(2);
    let vote = serde_json::json!({"seq": seq, "vote": "up"}).to_string();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            send("POST", "/api/feedback", "application/json", vote.clone())
                .await
                .unwrap()
                .status(),
        );
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn event_streams_per_session_are_capped_and_closing_one_frees_its_place() {
    let w = test_web(WebConfig {
        max_streams_per_session: 2,
        ..WebConfig::default()
    });
    let first = say(&w.app, None, "你好").await;
    let cookie = session_cookie(&first);
    let open = || {
        let req = Request::builder()
            .uri("/api/events")
            .header("cookie", cookie.as_str())
            .body(Body::empty())
            .unwrap();
        w.app.clone().oneshot(req)
    };
    let a = open().await.unwrap();
    let b = open().await.unwrap();
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let c = open().await.unwrap();
    assert_eq!(c.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another investor has their own allowance.
    let other = session_cookie(&say(&w.app, None, "你好").await);
    let req = Request::builder()
        .uri("/api/events")
        .header("cookie", other.as_str())
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        w.app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    drop(a);
    assert_eq!(
        open().await.unwrap().status(),
        StatusCode::OK,
        "a closed stream frees its place"
    );
    drop(b);
}
