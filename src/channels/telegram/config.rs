//! Telegram settings (`[telegram]` in the config; `TELOXIDE_TOKEN` and `TELOXIDE_API_URL`
//! from the environment win). The token is a secret: it never appears in Debug output.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot token. Without one, Telegram is off.
    pub token: Option<String>,
    /// Bot API base URL, for offices running Telegram's local Bot API server.
    pub api_url: Option<String>,
    /// Chat id of the commissioners' staff group (negative for groups).
    pub staff_group: Option<i64>,
    /// The staff group is a forum: each ticket gets its own topic, and any message in that
    /// topic answers the investor.
    pub staff_group_forum: bool,
    /// Telegram user ids allowed to /reindex and /stats.
    pub admins: Vec<u64>,
    /// `polling` (default) or `webhook` (behind HTTPS).
    pub mode: String,
    /// Webhook mode: the public HTTPS URL Telegram posts to.
    pub webhook_url: Option<String>,
    /// Webhook mode: the local address the webhook listens on.
    pub webhook_listen: Option<String>,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("staff_group", &self.staff_group)
            .field("staff_group_forum", &self.staff_group_forum)
            .field("admins", &self.admins)
            .field("mode", &self.mode)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_listen", &self.webhook_listen)
            .finish()
    }
}

impl TelegramConfig {
    /// Applies `TELOXIDE_TOKEN` and `TELOXIDE_API_URL`, the variables teloxide itself reads.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(t) = var("TELOXIDE_TOKEN").filter(|t| !t.trim().is_empty()) {
            self.token = Some(t);
        }
        if let Some(u) = var("TELOXIDE_API_URL").filter(|u| !u.trim().is_empty()) {
            self.api_url = Some(u);
        }
    }

    pub fn enabled(&self) -> bool {
        self.token.as_deref().is_some_and(|t| !t.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let c = TelegramConfig {
            token: Some("123456:SECRET-TOKEN".into()),
            ..TelegramConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
