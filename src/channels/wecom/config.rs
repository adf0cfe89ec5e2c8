//! WeCom (企业微信) settings for commissioners (`[wecom]` in the config; the secret, the
//! token and the EncodingAESKey may come from `XIAOER_WECOM_*` instead, and those win).
//! The secrets, the group robot's key among them, never appear in Debug output.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WecomConfig {
    /// The organisation's CorpID: callbacks are sealed to it and tokens are asked with it.
    pub corp_id: Option<String>,
    /// The self-built app's AgentId, which every sent message names.
    pub agent_id: Option<i64>,
    /// The app's Secret (for the access token).
    pub secret: Option<String>,
    /// The Token set for the app's callback: it signs every callback.
    pub token: Option<String>,
    /// The callback's 43-character EncodingAESKey (WeCom always encrypts).
    pub encoding_aes_key: Option<String>,
    /// The API base URL (`https://qyapi.weixin.qq.com` when unset; a test's fake server).
    pub api_base: Option<String>,
    /// Where a new-ticket card's link leads: the staff console, e.g. `https://host/staff`.
    pub console_url: Option<String>,
    /// A group robot's webhook (群机器人, `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`):
    /// each new ticket is also posted to the team's group. Its key is a secret.
    pub robot_webhook: Option<String>,
}

impl std::fmt::Debug for WecomConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("WecomConfig")
            .field("corp_id", &self.corp_id)
            .field("agent_id", &self.agent_id)
            .field("secret", &hidden(&self.secret))
            .field("token", &hidden(&self.token))
            .field("encoding_aes_key", &hidden(&self.encoding_aes_key))
            .field("api_base", &self.api_base)
            .field("console_url", &self.console_url)
            .field(
                "robot_webhook",
                &self.robot_webhook.as_deref().map(super::robot::redacted),
            )
            .finish()
    }
}

impl WecomConfig {
    /// Applies `XIAOER_WECOM_SECRET`, `XIAOER_WECOM_TOKEN`,
    /// `XIAOER_WECOM_ENCODING_AES_KEY` and `XIAOER_WECOM_ROBOT_WEBHOOK`: secrets can stay
    /// out of the config file.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let fields: [(&str, &mut Option<String>); 4] = [
            ("XIAOER_WECOM_SECRET", &mut self.secret),
            ("XIAOER_WECOM_TOKEN", &mut self.token),
            ("XIAOER_WECOM_ENCODING_AES_KEY", &mut self.encoding_aes_key),
            ("XIAOER_WECOM_ROBOT_WEBHOOK", &mut self.robot_webhook),
        ];
        for (name, field) in fields {
            if let Some(v) = var(name).filter(|v| !v.trim().is_empty()) {
                *field = Some(v);
            }
        }
    }

    /// The settings still missing before WeCom can run (empty: it is on). Callbacks need
    /// the CorpID, token and key; answering needs the secret and AgentId, and a channel
    /// that could take commands but never answer would only confuse, so all five count.
    pub fn missing(&self) -> Vec<&'static str> {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        if !set(&self.corp_id) {
            missing.push("corp_id");
        }
        if self.agent_id.is_none() {
            missing.push("agent_id");
        }
        if !set(&self.secret) {
            missing.push("secret");
        }
        if !set(&self.token) {
            missing.push("token");
        }
        if !set(&self.encoding_aes_key) {
            missing.push("encoding_aes_key");
        }
        missing
    }

    /// Whether every setting WeCom needs is there.
    pub fn enabled(&self) -> bool {
        self.missing().is_empty()
    }

    /// The group robot's webhook, when one is set (the robot needs none of the app's
    /// settings: an office may use it alone).
    pub fn robot(&self) -> Option<&str> {
        self.robot_webhook
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// Whether any WeCom app setting was given (an office half-way through setting it up is
    /// told what is missing; one that never started is not nagged).
    pub fn started(&self) -> bool {
        self.corp_id.is_some()
            || self.agent_id.is_some()
            || self.secret.is_some()
            || self.token.is_some()
            || self.encoding_aes_key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output_and_the_environment_wins() {
        let mut c = WecomConfig {
            corp_id: Some("ww1".into()),
            agent_id: Some(1000002),
            secret: Some("APP-SECRET".into()),
            token: Some("TOKEN-SECRET".into()),
            encoding_aes_key: Some("KEY-SECRET".into()),
            robot_webhook: Some(
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOT-SECRET".into(),
            ),
            ..WecomConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("ww1"), "{shown}");
        assert!(shown.contains("qyapi.weixin.qq.com"), "{shown}");
        assert!(c.enabled());
        c.apply_env(|k| match k {
            "XIAOER_WECOM_TOKEN" => Some("other".to_string()),
            "XIAOER_WECOM_ROBOT_WEBHOOK" => Some("https://example.com/hook?key=k2".to_string()),
            _ => None,
        });
        assert_eq!(c.token.as_deref(), Some("other"));
        assert_eq!(c.robot(), Some("https://example.com/hook?key=k2"));
        let off = WecomConfig::default();
        assert!(!off.enabled() && !off.started() && off.robot().is_none());
        let half = WecomConfig {
            corp_id: Some("ww1".into()),
            ..WecomConfig::default()
        };
        assert!(half.started());
        assert_eq!(
            half.missing(),
            ["agent_id", "secret", "token", "encoding_aes_key"]
        );
    }
}
