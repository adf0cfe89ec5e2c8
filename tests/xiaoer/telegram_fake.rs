//! A fake Telegram Bot API server on 127.0.0.1: feeds updates to the real teloxide client
//! and records what the bot sends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Default)]
pub(super) struct Fake {
    pub(super) updates: Vec<Value>,
    pub(super) sent: Vec<(String, Value)>,
    pub(super) next_message_id: i64,
    /// The next N sendMessage calls answer 429 retry_after 1.
    pub(super) rate_limit_next: u32,
    /// Chats whose user blocked the bot.
    pub(super) blocked: Vec<i64>,
    /// getUpdates calls per fake server (its URL): which instance polls.
    pub(super) polls: std::collections::HashMap<String, usize>,
    /// The highest offset a getUpdates confirmed: as in Telegram, confirmed updates are
    /// never served again, to any poller.
    pub(super) confirmed: i64,
}

#[derive(Clone)]
pub(super) struct FakeTelegram {
    pub(super) state: Arc<Mutex<Fake>>,
    pub(super) url: String,
}

pub(super) fn bot_user() -> Value {
    json!({"id": 999, "is_bot": true, "first_name": "xiaoer", "username": "xiaoer_bot",
           "can_join_groups": true, "can_read_all_group_messages": true,
           "supports_inline_queries": false, "has_main_web_app": false})
}

pub(super) fn chat(id: i64) -> Value {
    if id < 0 {
        json!({"id": id, "type": "supergroup", "title": "招商护商专员"})
    } else {
        json!({"id": id, "type": "private", "first_name": "Kenji"})
    }
}

pub(super) fn user(id: u64, name: &str, lang: &str) -> Value {
    json!({"id": id, "is_bot": false, "first_name": name, "username": name, "language_code": lang})
}

pub(super) async fn api(
    State(fake): State<FakeTelegram>,
    Path((_token, method)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Json<Value> {
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    let method = method.to_ascii_lowercase();
    if method == "getupdates" {
        let offset = {
            let mut s = fake.state.lock().unwrap();
            *s.polls.entry(fake.url.clone()).or_default() += 1;
            s.confirmed = s.confirmed.max(body["offset"].as_i64().unwrap_or(0));
            s.confirmed
        };
        let deadline = Instant::now() + Duration::from_millis(300);
        loop {
            let ready: Vec<Value> = fake
                .state
                .lock()
                .unwrap()
                .updates
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                .cloned()
                .collect();
            if !ready.is_empty() || Instant::now() > deadline {
                return Json(json!({"ok": true, "result": ready}));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut s = fake.state.lock().unwrap();
    match method.as_str() {
        "getme" => Json(json!({"ok": true, "result": bot_user()})),
        "createforumtopic" => {
            let name = body["name"].clone();
            s.sent.push((method, body));
            Json(
                json!({"ok": true, "result": {"message_thread_id": 555, "name": name, "icon_color": 7322096}}),
            )
        }
        "getwebhookinfo" => Json(
            json!({"ok": true, "result": {"url": "", "has_custom_certificate": false, "pending_update_count": 0}}),
        ),
        "sendmessage" => {
            let chat_id = body["chat_id"].as_i64().unwrap_or(0);
            if s.blocked.contains(&chat_id) {
                s.sent.push(("blocked".into(), body));
                return Json(
                    json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
                );
            }
            if s.rate_limit_next > 0 {
                s.rate_limit_next -= 1;
                s.sent.push(("429".into(), body));
                return Json(
                    json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
                );
            }
            s.next_message_id += 1;
            let mut message = json!({"message_id": 10_000 + s.next_message_id, "date": 1_800_000_000, "chat": chat(chat_id), "from": bot_user(), "text": body["text"]});
            if let Some(markup) = body.get("reply_markup") {
                message["reply_markup"] = markup.clone();
            }
            s.sent.push(("sendmessage".into(), body));
            Json(json!({"ok": true, "result": message}))
        }
        _ => {
            s.sent.push((method, body));
            Json(json!({"ok": true, "result": true}))
        }
    }
}

impl FakeTelegram {
    pub(super) async fn start() -> FakeTelegram {
        FakeTelegram::serve(Arc::default()).await
    }

    /// A second server on the same state (the same bot): for a second instance, so the
    /// test can tell which one polls.
    pub(super) async fn sharing(&self) -> FakeTelegram {
        FakeTelegram::serve(self.state.clone()).await
    }

    /// How many times instances polled through this server.
    pub(super) fn polls(&self) -> usize {
        let s = self.state.lock().unwrap();
        s.polls.get(&self.url).copied().unwrap_or(0)
    }

    async fn serve(state: Arc<Mutex<Fake>>) -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeTelegram { state, url };
        let app = Router::new()
            .route("/{token}/{method}", post(api))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub(super) fn push(&self, mut update: Value) {
        let mut s = self.state.lock().unwrap();
        update["update_id"] = json!(s.updates.len() as i64 + 1);
        s.updates.push(update);
    }

    pub(super) fn message(&self, chat_id: i64, from: Value, text: &str, reply_to: Option<Value>) {
        let mut m = json!({"message_id": 1 + self.state.lock().unwrap().updates.len() as i64, "date": 1_800_000_000, "chat": chat(chat_id), "from": from, "text": text});
        if let Some(r) = reply_to {
            m["reply_to_message"] = r;
        }
        self.push(json!({"message": m}));
    }

    pub(super) fn press(&self, from: Value, message: Value, data: &str) {
        let id = format!("cb{}", self.state.lock().unwrap().updates.len());
        self.push(json!({"callback_query": {"id": id, "from": from, "message": message, "chat_instance": "ci", "data": data}}));
    }

    pub(super) fn sent(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().sent.clone()
    }

    /// Waits for a sent request matching `pred` after the first `skip` recorded ones.
    pub(super) async fn wait_for(
        &self,
        what: &str,
        skip: usize,
        pred: impl Fn(&str, &Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            if let Some((_, v)) = self.sent().into_iter().skip(skip).find(|(m, v)| pred(m, v)) {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "timed out waiting for {what}; sent: {:#?}",
                self.sent()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub(super) fn text_to(chat_id: i64, needle: &'static str) -> impl Fn(&str, &Value) -> bool {
    move |m, v| {
        m == "sendmessage"
            && v["chat_id"].as_i64() == Some(chat_id)
            && v["text"].as_str().is_some_and(|t| t.contains(needle))
    }
}

/// The message the bot sent (as Telegram would echo it back in a reply or a callback).
pub(super) fn as_message(sent: &Value) -> Value {
    json!({"message_id": 777, "date": 1_800_000_000, "chat": chat(sent["chat_id"].as_i64().unwrap()), "from": bot_user(), "text": sent["text"]})
}
