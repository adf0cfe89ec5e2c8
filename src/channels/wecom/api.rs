//! The WeCom app's HTTP API, as far as xiaoer needs it: the access token through
//! `gettoken` and `message/send` as the app (text and text cards). Checking answers and
//! sharing the token is `channels::tencent`, as for WeChat.

use serde::Serialize;

pub use crate::channels::tencent::ApiError;
use crate::channels::tencent::{Answer, Client};

/// A text message holds at most 2,048 bytes.
pub const MAX_TEXT_BYTES: usize = 2048;

/// What the app sends one member of staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum Outgoing {
    Text {
        text: TextBody,
    },
    /// A card with a title, a short description and a button to a link.
    Textcard {
        textcard: Card,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextBody {
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub title: String,
    pub description: String,
    pub url: String,
    pub btntxt: String,
}

impl Outgoing {
    pub fn text(content: &str) -> Outgoing {
        Outgoing::Text {
            text: TextBody {
                content: content.to_string(),
            },
        }
    }
}

pub struct Api {
    client: Client,
    base: String,
    corp_id: String,
    secret: String,
    agent_id: i64,
}

impl Api {
    pub fn new(base: &str, corp_id: &str, secret: &str, agent_id: i64) -> Api {
        Api {
            client: Client::new("wecom"),
            base: base.trim_end_matches('/').to_string(),
            corp_id: corp_id.to_string(),
            secret: secret.to_string(),
            agent_id,
        }
    }

    /// A new access token from `gettoken` (WeCom has no forced refresh: a new request is
    /// the refresh).
    async fn fetch_token(&self, _refused: bool) -> Result<Answer, ApiError> {
        let request = self
            .client
            .http()
            .get(format!("{}/cgi-bin/gettoken", self.base))
            .query(&[("corpid", &self.corp_id), ("corpsecret", &self.secret)]);
        self.client.checked(request).await
    }

    /// Sends `message` to the member of staff `user` (their WeCom UserID) as the app.
    pub async fn send(&self, user: &str, message: &Outgoing) -> Result<(), ApiError> {
        let mut body = serde_json::to_value(message)
            .map_err(|e| self.client.transport(format!("message not encodable: {e}")))?;
        body["touser"] = user.into();
        body["agentid"] = self.agent_id.into();
        let url = format!("{}/cgi-bin/message/send", self.base);
        let build = |token: &str| {
            self.client
                .http()
                .post(&url)
                .query(&[("access_token", token)])
                .json(&body)
        };
        self.client
            .with_token(|refused| self.fetch_token(refused), build)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_shaped_as_wecom_expects() {
        let card = Outgoing::Textcard {
            textcard: Card {
                title: "工单 #3".into(),
                description: "d".into(),
                url: "https://x/staff".into(),
                btntxt: "认领".into(),
            },
        };
        let v = serde_json::to_value(&card).unwrap();
        assert_eq!(v["msgtype"], "textcard");
        assert_eq!(v["textcard"]["btntxt"], "认领");
        let v = serde_json::to_value(Outgoing::text("hi")).unwrap();
        assert_eq!(v["msgtype"], "text");
        assert_eq!(v["text"]["content"], "hi");
    }
}
