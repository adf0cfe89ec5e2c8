//! A fake WeChat API on 127.0.0.1 for the WeChat tests (in-process and through a real
//! `serve`), and the wait for what it received.

use std::time::Duration;

use axum::Router;

/// One attempt the fake received: (access token, touser, content).
pub(super) type Send = (String, String, String);

/// A fake WeChat API on 127.0.0.1: `stable_token` hands out T1, T2, …; the first
/// customer-service send with T1 is refused as expired (42001); sends to `o_closed` are
/// refused with 45015. Every attempt is recorded as (token, touser, content).
pub(super) struct FakeApi {
    pub(super) url: String,
    pub(super) sends: std::sync::Arc<std::sync::Mutex<Vec<Send>>>,
    pub(super) tokens: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

pub(super) async fn fake_api() -> FakeApi {
    use axum::extract::{Query, State};
    use axum::routing::post;
    use std::sync::atomic::Ordering;
    type Shared = (
        std::sync::Arc<std::sync::Mutex<Vec<Send>>>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    );
    let sends = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let tokens = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/cgi-bin/stable_token",
            post(|State((_, tokens)): State<Shared>| async move {
                let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(serde_json::json!({"access_token": format!("T{n}"), "expires_in": 7200}))
            }),
        )
        .route(
            "/cgi-bin/message/custom/send",
            post(
                |State((sends, _)): State<Shared>,
                 Query(q): Query<std::collections::HashMap<String, String>>,
                 axum::Json(body): axum::Json<serde_json::Value>| async move {
                    let (token, to) = who(&q, &body);
                    let content = body["text"]["content"].as_str().unwrap_or("").to_string();
                    let mut sends = sends.lock().unwrap();
                    let first_with_t1 = token == "T1" && !sends.iter().any(|s| s.0 == "T1");
                    sends.push((token, to.clone(), content));
                    let answer = if first_with_t1 {
                        serde_json::json!({"errcode": 42001, "errmsg": "access_token expired"})
                    } else if to == "o_closed" {
                        serde_json::json!({"errcode": 45015, "errmsg": "response out of time limit"})
                    } else {
                        serde_json::json!({"errcode": 0, "errmsg": "ok"})
                    };
                    axum::Json(answer)
                },
            ),
        )
        .route(
            "/cgi-bin/message/custom/typing",
            post(
                |State((sends, _)): State<Shared>,
                 Query(q): Query<std::collections::HashMap<String, String>>,
                 axum::Json(body): axum::Json<serde_json::Value>| async move {
                    // Recorded beside the sends, marked, with no content.
                    let (token, to) = who(&q, &body);
                    assert_eq!(body["command"], "Typing");
                    sends
                        .lock()
                        .unwrap()
                        .push((format!("typing:{token}"), to, String::new()));
                    axum::Json(serde_json::json!({"errcode": 0, "errmsg": "ok"}))
                },
            ),
        )
        .with_state((sends.clone(), tokens.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeApi { url, sends, tokens }
}

/// The token a call carried and the user it was for.
fn who(
    q: &std::collections::HashMap<String, String>,
    body: &serde_json::Value,
) -> (String, String) {
    let token = q.get("access_token").cloned().unwrap_or_default();
    let to = body["touser"].as_str().unwrap_or("").to_string();
    (token, to)
}

/// Everything the fake has received once `ready` holds of it (looked at every 20 ms);
/// fails the test, naming `what` and showing the sends, after 10 s.
pub(super) async fn sends_when(
    fake: &FakeApi,
    what: &str,
    ready: impl Fn(&[Send]) -> bool,
) -> Vec<Send> {
    let arrived = async {
        loop {
            let sends = fake.sends.lock().unwrap().clone();
            if ready(&sends) {
                return sends;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), arrived).await {
        Ok(sends) => sends,
        Err(_) => panic!(
            "{what} never reached the fake WeChat API: {:?}",
            fake.sends.lock().unwrap()
        ),
    }
}
