//! A fake WeCom API on 127.0.0.1 for the WeCom tests: hands out tokens, records every
//! message the app sends, and can refuse the first send as expired; and a group robot's
//! webhook that records every post and can refuse posts for the rate limit (45009).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;

use super::wecom::{CORP_ID, SECRET};

pub(super) type Sends = Arc<Mutex<Vec<(String, String, serde_json::Value)>>>;

/// Robot posts: (the webhook's key, the body, the errcode answered).
pub(super) type Posts = Arc<Mutex<Vec<(String, serde_json::Value, i64)>>>;

/// The path of the fake robot's webhook (Tencent's own).
pub(super) const ROBOT_PATH: &str = "/cgi-bin/webhook/send";

/// A fake WeCom API: `gettoken` hands out T1, T2, … (for the right corpid and secret);
/// `message/send` records (token, touser, body) and, when `expire_first`, refuses the first
/// send with T1 as expired (42001). The robot's webhook records (key, body, errcode) and
/// answers 45009 while `robot_busy` is above zero (counting it down).
pub(super) struct FakeApi {
    pub(super) url: String,
    pub(super) sends: Sends,
    pub(super) tokens: Arc<AtomicUsize>,
    pub(super) posts: Posts,
    pub(super) robot_busy: Arc<AtomicUsize>,
}

pub(super) async fn fake_api(expire_first: bool) -> FakeApi {
    use axum::extract::{Query, State};
    use axum::routing::{get, post};
    use std::collections::HashMap;
    type Shared = (Sends, Arc<AtomicUsize>, Arc<AtomicBool>);
    let sends: Sends = Arc::new(Mutex::new(Vec::new()));
    let tokens = Arc::new(AtomicUsize::new(0));
    let expire = Arc::new(AtomicBool::new(expire_first));
    let posts: Posts = Arc::new(Mutex::new(Vec::new()));
    let robot_busy = Arc::new(AtomicUsize::new(0));
    let robot = Router::new()
        .route(
            ROBOT_PATH,
            post(
                |State((posts, busy)): State<(Posts, Arc<AtomicUsize>)>,
                 Query(q): Query<HashMap<String, String>>,
                 axum::Json(body): axum::Json<serde_json::Value>| async move {
                    let refuse = busy
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let code = if refuse { 45009 } else { 0 };
                    let key = q.get("key").cloned().unwrap_or_default();
                    posts.lock().unwrap().push((key, body, code));
                    axum::Json(serde_json::json!({"errcode": code, "errmsg": if refuse { "api freq out of limit" } else { "ok" }}))
                },
            ),
        )
        .with_state((posts.clone(), robot_busy.clone()));
    let app =
        Router::new()
            .route(
                "/cgi-bin/gettoken",
                get(
                    |State((_, tokens, _)): State<Shared>,
                     Query(q): Query<HashMap<String, String>>| async move {
                        if q.get("corpid").map(String::as_str) != Some(CORP_ID)
                            || q.get("corpsecret").map(String::as_str) != Some(SECRET)
                        {
                            return axum::Json(
                                serde_json::json!({"errcode": 40013, "errmsg": "invalid corpid"}),
                            );
                        }
                        let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
                        axum::Json(serde_json::json!({
                            "errcode": 0, "errmsg": "ok",
                            "access_token": format!("T{n}"), "expires_in": 7200
                        }))
                    },
                ),
            )
            .route(
                "/cgi-bin/message/send",
                post(
                    |State((sends, _, expire)): State<Shared>,
                     Query(q): Query<HashMap<String, String>>,
                     axum::Json(body): axum::Json<serde_json::Value>| async move {
                        let token = q.get("access_token").cloned().unwrap_or_default();
                        let to = body["touser"].as_str().unwrap_or("").to_string();
                        let refuse = token == "T1" && expire.swap(false, Ordering::SeqCst);
                        sends.lock().unwrap().push((token, to, body));
                        axum::Json(if refuse {
                            serde_json::json!({"errcode": 42001, "errmsg": "access_token expired"})
                        } else {
                            serde_json::json!({"errcode": 0, "errmsg": "ok"})
                        })
                    },
                ),
            )
            .with_state((sends.clone(), tokens.clone(), expire))
            .merge(robot);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeApi {
        url,
        sends,
        tokens,
        posts,
        robot_busy,
    }
}

/// The robot's markdown contents so far that it accepted (errcode 0).
pub(super) fn robot_accepted(fake: &FakeApi) -> Vec<String> {
    fake.posts
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.2 == 0)
        .filter_map(|p| p.1["markdown"]["content"].as_str().map(str::to_string))
        .collect()
}

/// Waits (at most `within`) until the robot has accepted posts naming every one of
/// `tickets` (as `#12 ·`); returns what it accepted.
pub(super) async fn robot_named(fake: &FakeApi, tickets: &[u64], within: Duration) -> Vec<String> {
    let named = |posts: &[String]| {
        tickets.iter().all(|t| {
            let mark = format!("#{t} ·");
            posts.iter().any(|p| p.contains(&mark))
        })
    };
    let arrived = async {
        loop {
            let posts = robot_accepted(fake);
            if named(&posts) {
                return posts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(within, arrived)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "robot posts naming {tickets:?}: {:?}",
                fake.posts.lock().unwrap()
            )
        })
}

/// The bodies sent to `user` so far.
pub(super) fn sent_to(fake: &FakeApi, user: &str) -> Vec<serde_json::Value> {
    fake.sends
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.1 == user)
        .map(|s| s.2.clone())
        .collect()
}

/// How many texts sent to `user` so far satisfy `which`.
pub(super) fn texts_counted(fake: &FakeApi, user: &str, which: impl Fn(&str) -> bool) -> usize {
    sent_to(fake, user)
        .iter()
        .filter(|b| b["text"]["content"].as_str().is_some_and(&which))
        .count()
}

/// Waits (at most 10 s) until `user` has been sent a text containing `part`; returns it.
pub(super) async fn text_to(fake: &FakeApi, user: &str, part: &str) -> String {
    let found = async {
        loop {
            if let Some(t) = sent_to(fake, user)
                .iter()
                .filter_map(|b| b["text"]["content"].as_str())
                .find(|t| t.contains(part))
            {
                return t.to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), found)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no text with {part:?} to {user}: {:?}",
                fake.sends.lock().unwrap()
            )
        })
}

/// Waits (at most 10 s) until `user` has had `n` messages.
pub(super) async fn messages_to(fake: &FakeApi, user: &str, n: usize) -> Vec<serde_json::Value> {
    let arrived = async {
        loop {
            let sent = sent_to(fake, user);
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), arrived)
        .await
        .unwrap_or_else(|_| panic!("{n} messages to {user}: {:?}", fake.sends.lock().unwrap()))
}
