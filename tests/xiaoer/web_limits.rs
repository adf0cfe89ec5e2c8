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
